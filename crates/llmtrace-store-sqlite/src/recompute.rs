//! Cost recomputation: re-prices stored model-call spans in batches, each in its own
//! transaction on the writer connection, so ingest commits between batches.

use crate::int::{count, int, int_of_len, position};
use crate::prices::{price_ref, PriceRefs};
use crate::rows::{decode_blob, SpanDetail, SpanRow};
use llmtrace_model::{Money, Span, SpanCost, TraceId};
use llmtrace_store::{RecomputeReport, RecomputeRequest, UnpricedModel};
use rusqlite::{params, types::Value, Connection};
use std::collections::HashMap;

/// Where a recomputation is: the last span row id done.
pub(crate) struct Progress {
    pub(crate) after_id: i64,
    pub(crate) done: bool,
}

struct Row {
    id: i64,
    trace_ref: i64,
    counted: bool,
    price_ref: Option<i64>,
    blob: (i64, usize),
    span: SpanRow,
    /// The usage columns: what the span counts with (another copy's, see `claims.rs`).
    tokens: [Option<u64>; 5],
}

fn project_id(conn: &Connection, project: &str) -> rusqlite::Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT id FROM projects WHERE name = ?1", [project], |r| {
        r.get(0)
    })
    .optional()
}

/// Re-prices one batch of spans after `progress.after_id`, adding to `report`.
pub(crate) fn batch(
    conn: &mut Connection,
    price_refs: &mut PriceRefs,
    req: &RecomputeRequest,
    pricer: &(dyn Fn(&Span) -> SpanCost + Send + Sync),
    progress: &mut Progress,
    report: &mut RecomputeReport,
) -> Result<(), String> {
    let e = |e: rusqlite::Error| e.to_string();
    let Some(pid) = project_id(conn, &req.project).map_err(e)? else {
        progress.done = true;
        return Ok(());
    };
    let tx = conn.transaction().map_err(e)?;
    let mut sql = String::from(
        "SELECT id, trace_ref, counted, price_ref, blob_id, blob_index, span_key, parent_key, \
         name, service, kind, start_ns, end_ns, status, counts_usage, cost_pico, reported_pico, \
         unpriced, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, \
         reasoning_tokens FROM spans WHERE project_id = ? AND kind IN (0, 1) AND id > ?",
    );
    let mut args = vec![Value::Integer(pid), Value::Integer(progress.after_id)];
    if let Some(t) = req.since_unix_nano {
        sql.push_str(" AND start_ns >= ?");
        args.push(Value::Integer(int(t)));
    }
    if let Some(m) = &req.model {
        sql.push_str(" AND model = ?");
        args.push(Value::Text(m.clone()));
    }
    sql.push_str(" ORDER BY id LIMIT ?");
    args.push(Value::Integer(int_of_len(req.batch_spans.max(1))));
    let rows: Vec<Row> = {
        let mut stmt = tx.prepare(&sql).map_err(e)?;
        let mapped = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok(Row {
                    id: r.get(0)?,
                    trace_ref: r.get(1)?,
                    counted: r.get(2)?,
                    price_ref: r.get(3)?,
                    blob: (r.get(4)?, position(r.get::<_, i64>(5)?)),
                    span: SpanRow {
                        project: req.project.clone(),
                        trace_id: TraceId::default(),
                        span_key: r.get(6)?,
                        parent_key: r.get(7)?,
                        name: r.get(8)?,
                        service: r.get(9)?,
                        kind: r.get(10)?,
                        start_ns: r.get(11)?,
                        end_ns: r.get(12)?,
                        status: r.get(13)?,
                        counts_usage: r.get(14)?,
                        incomplete: false,
                        cost: SpanCost {
                            computed: r.get::<_, Option<i64>>(15)?.map(Money::from_pico),
                            reported: r.get::<_, Option<i64>>(16)?.map(Money::from_pico),
                            unpriced: r.get(17)?,
                            price_id: None,
                            price_effective_from: None,
                        },
                        resource_attributes: Default::default(),
                    },
                    tokens: [
                        crate::reader::tokens(r, 18)?,
                        crate::reader::tokens(r, 19)?,
                        crate::reader::tokens(r, 20)?,
                        crate::reader::tokens(r, 21)?,
                        crate::reader::tokens(r, 22)?,
                    ],
                })
            })
            .map_err(e)?;
        mapped.collect::<rusqlite::Result<_>>().map_err(e)?
    };
    if rows.is_empty() {
        progress.done = true;
        return Ok(());
    }
    let mut blobs: HashMap<i64, Vec<Option<SpanDetail>>> = HashMap::new();
    let mut trace_deltas: HashMap<i64, (i64, i64)> = HashMap::new();
    for row in rows {
        progress.after_id = row.id;
        if let std::collections::hash_map::Entry::Vacant(v) = blobs.entry(row.blob.0) {
            let data: Vec<u8> = tx
                .query_row(
                    "SELECT data FROM span_blobs WHERE id = ?1",
                    [row.blob.0],
                    |r| r.get(0),
                )
                .map_err(e)?;
            v.insert(decode_blob(&data)?.into_iter().map(Some).collect());
        }
        let detail = blobs
            .get_mut(&row.blob.0)
            .and_then(|b| b.get_mut(row.blob.1))
            .and_then(Option::take)
            .ok_or_else(|| format!("span row {}: detail missing", row.id))?;
        let old = row.span.cost.clone();
        let mut span = row.span.into_span(detail)?;
        // Priced from the usage it counts with, as the trace totals are.
        let [input, output, cache_read, cache_write, reasoning] = row.tokens;
        let u = &mut span.usage;
        (u.input, u.output, u.cache_read, u.cache_write, u.reasoning) =
            (input, output, cache_read, cache_write, reasoning);
        let mut new = pricer(&span);
        new.reported = old.reported;
        let (old_eff, new_eff) = (old.effective(), new.effective());
        let old_unpriced = old_eff.is_none() && old.unpriced;
        let new_unpriced = new_eff.is_none() && new.unpriced;
        report.spans_examined = report.spans_examined.saturating_add(1);
        report.total_before = report
            .total_before
            .saturating_add(old_eff.unwrap_or(Money::ZERO));
        report.total_after = report
            .total_after
            .saturating_add(new_eff.unwrap_or(Money::ZERO));
        report.unpriced_before = report
            .unpriced_before
            .saturating_add(u64::from(old_unpriced));
        report.unpriced_after = report
            .unpriced_after
            .saturating_add(u64::from(new_unpriced));
        let new_ref = match &new.price_id {
            Some(id) => Some(
                price_ref(
                    &tx,
                    price_refs,
                    id,
                    new.price_effective_from.as_deref().unwrap_or(""),
                )
                .map_err(e)?,
            ),
            None => None,
        };
        let changed = old.computed != new.computed
            || old.unpriced != new.unpriced
            || row.price_ref != new_ref;
        if !changed {
            continue;
        }
        report.spans_changed = report.spans_changed.saturating_add(1);
        tx.prepare_cached(
            "UPDATE spans SET cost_pico = ?1, unpriced = ?2, price_ref = ?3 WHERE id = ?4",
        )
        .map_err(e)?
        .execute(params![
            new.computed.map(|m| m.pico_usd),
            new.unpriced,
            new_ref,
            row.id
        ])
        .map_err(e)?;
        if row.counted {
            let d = trace_deltas.entry(row.trace_ref).or_default();
            let cost_delta = new_eff
                .map_or(0, |m| m.pico_usd)
                .saturating_sub(old_eff.map_or(0, |m| m.pico_usd));
            d.0 = d.0.saturating_add(cost_delta);
            d.1 =
                d.1.saturating_add(i64::from(new_unpriced).saturating_sub(i64::from(old_unpriced)));
        }
    }
    for (trace_ref, (cost, unpriced)) in trace_deltas {
        tx.prepare_cached(
            "UPDATE traces SET cost_pico = cost_pico + ?1, \
             unpriced_span_count = max(unpriced_span_count + ?2, 0) WHERE id = ?3",
        )
        .map_err(e)?
        .execute(params![cost, unpriced, trace_ref])
        .map_err(e)?;
    }
    if req.dry_run {
        // Price references inserted in a rolled-back transaction do not exist.
        price_refs.clear();
        tx.rollback().map_err(e)
    } else {
        crate::rollup_fold::fold(&tx).map_err(e)?;
        tx.commit().map_err(e)
    }
}

/// Models seen on model calls without a price.
pub(crate) fn unpriced_models(
    conn: &Connection,
    project: &str,
) -> rusqlite::Result<Vec<UnpricedModel>> {
    let Some(pid) = project_id(conn, project)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(model, ''), provider, count(*), max(start_ns) FROM spans \
         WHERE project_id = ?1 AND unpriced = 1 GROUP BY model, provider ORDER BY 4 DESC",
    )?;
    let rows = stmt.query_map([pid], |r| {
        Ok(UnpricedModel {
            model: r.get(0)?,
            provider: r.get(1)?,
            spans: count(r.get::<_, i64>(2)?),
            last_seen_unix_nano: count(r.get::<_, i64>(3)?),
        })
    })?;
    rows.collect()
}
