//! The read path: trace search over the `traces` rollups, trace detail by the narrow trace key,
//! and model-call statistics over the partial index of call spans.

use crate::int::{int, int_of_len, position};
use crate::rows::{decode_blob, set_member_pattern, SpanDetail, SpanRow};
use crate::traces::{rollup_from_row, TRACE_COLUMNS};
use llmtrace_model::{Money, SpanCost, TraceId};
use llmtrace_store::{
    StoreError, StoredSpan, TraceCursor, TraceDetail, TracePage, TraceQuery, TraceSort,
    MAX_PAGE_SIZE,
};
use rusqlite::{params, types::Value, Connection, OptionalExtension};
use std::collections::HashMap;

pub(crate) fn project_id(conn: &Connection, project: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM projects WHERE name = ?1")?
        .query_row([project], |r| r.get(0))
        .optional()
}

/// Trace summaries, newest first.
/// The WHERE clause (and its arguments) selecting the traces of project `pid` that `q`'s
/// filters (not its sort, cursor or limit) select.
fn trace_filter(pid: i64, q: &TraceQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("project_id = ?");
    let mut args: Vec<Value> = vec![Value::Integer(pid)];
    let mut push = |sql: &mut String, clause: &str, v: Value| {
        sql.push_str(clause);
        args.push(v);
    };
    if let Some(s) = &q.service {
        push(
            &mut sql,
            " AND instr(services, ?) > 0",
            Value::Text(set_member_pattern(s)),
        );
    }
    if let Some(m) = &q.model {
        push(
            &mut sql,
            " AND instr(models, ?) > 0",
            Value::Text(set_member_pattern(m)),
        );
    }
    if let Some(p) = &q.provider {
        push(
            &mut sql,
            " AND instr(providers, ?) > 0",
            Value::Text(set_member_pattern(p)),
        );
    }
    if let Some(u) = &q.user_id {
        push(&mut sql, " AND user_id = ?", Value::Text(u.clone()));
    }
    if let Some(s) = &q.session_id {
        push(&mut sql, " AND session_id = ?", Value::Text(s.clone()));
    }
    if let Some(t) = q.since_unix_nano {
        push(&mut sql, " AND start_ns >= ?", Value::Integer(int(t)));
    }
    if let Some(t) = q.until_unix_nano {
        push(&mut sql, " AND start_ns < ?", Value::Integer(int(t)));
    }
    if let Some(d) = q.min_duration_nanos {
        push(
            &mut sql,
            " AND end_ns - start_ns >= ?",
            Value::Integer(int(d)),
        );
    }
    if let Some(c) = q.min_cost_pico {
        push(&mut sql, " AND cost_pico >= ?", Value::Integer(c));
    }
    if q.errors_only {
        sql.push_str(" AND error_count > 0");
    }
    if let Some(name) = &q.without_score {
        push(
            &mut sql,
            " AND trace_id NOT IN (SELECT unhex(trace_id) FROM scores WHERE project_id = ?",
            Value::Integer(pid),
        );
        push(
            &mut sql,
            " AND json_extract(CAST(detail AS TEXT), '$.name') = ?)",
            Value::Text(name.clone()),
        );
    }
    for f in &q.scores {
        // Score rows keep the trace id as hex text and the score as JSON (see `write_tx`).
        push(
            &mut sql,
            " AND trace_id IN (SELECT unhex(trace_id) FROM scores WHERE project_id = ?",
            Value::Integer(pid),
        );
        push(
            &mut sql,
            " AND json_extract(CAST(detail AS TEXT), '$.name') = ?",
            Value::Text(f.name.clone()),
        );
        if let Some(min) = f.min {
            push(
                &mut sql,
                " AND json_extract(CAST(detail AS TEXT), '$.value') >= ?",
                Value::Real(min),
            );
        }
        if let Some(max) = f.max {
            push(
                &mut sql,
                " AND json_extract(CAST(detail AS TEXT), '$.value') <= ?",
                Value::Real(max),
            );
        }
        if let Some(label) = &f.label {
            push(
                &mut sql,
                " AND json_extract(CAST(detail AS TEXT), '$.string_value') = ?",
                Value::Text(label.clone()),
            );
        }
        sql.push(')');
    }
    if let Some(expr) = text_match(q) {
        push(
            &mut sql,
            " AND id IN (SELECT trace_ref FROM spans WHERE id IN \
             (SELECT rowid FROM span_text WHERE span_text MATCH ?))",
            Value::Text(expr),
        );
    }
    (sql, args)
}

/// The FTS5 query of `q`'s search words, when it has any.
fn text_match(q: &TraceQuery) -> Option<String> {
    let words = q
        .text
        .as_deref()
        .map(llmtrace_store::search::search_words)
        .unwrap_or_default();
    crate::search_index::match_expression(&words)
}

/// How many traces, and spans in them, `q`'s filters select (its cursor and limit ignored).
pub(crate) fn count_traces(conn: &Connection, q: &TraceQuery) -> rusqlite::Result<(u64, u64)> {
    let Some(pid) = project_id(conn, &q.project)? else {
        return Ok((0, 0));
    };
    let (filter, args) = trace_filter(pid, q);
    let sql = format!("SELECT count(*), coalesce(sum(span_count), 0) FROM traces WHERE {filter}");
    conn.prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(args), |r| {
            Ok((
                crate::int::count(r.get::<_, i64>(0)?),
                crate::int::count(r.get::<_, i64>(1)?),
            ))
        })
}

pub(crate) fn list_traces(conn: &Connection, q: &TraceQuery) -> rusqlite::Result<TracePage> {
    let Some(pid) = project_id(conn, &q.project)? else {
        return Ok(TracePage::default());
    };
    let limit = q.limit.clamp(1, MAX_PAGE_SIZE);
    if q.sort == TraceSort::Time {
        if let Some(expr) = text_match(q) {
            let others = TraceQuery {
                text: None,
                ..q.clone()
            };
            let (filter, args) = trace_filter(pid, &others);
            return crate::search_walk::newest_matching(
                conn,
                &expr,
                &filter,
                &args,
                q.cursor.as_ref(),
                limit,
            );
        }
    }
    let (mut filter, mut args) = trace_filter(pid, q);
    if q.sort != TraceSort::Time && dense_range(conn, pid, q)? {
        // Walk the sort's index and skip traces outside the range, instead of sorting every
        // trace of the range: a range this full has its page near the top of the index.
        filter = filter.replace(" AND start_ns ", " AND +start_ns ");
    }
    let mut sql = format!("SELECT {TRACE_COLUMNS} FROM traces WHERE {filter}");
    let key = match q.sort {
        TraceSort::Time => "start_ns",
        TraceSort::Cost => "cost_pico",
        TraceSort::Duration => "(end_ns - start_ns)",
    };
    if let Some(c) = &q.cursor {
        sql.push_str(&format!(" AND ({key} < ? OR ({key} = ? AND trace_id < ?))"));
        args.push(Value::Integer(c.sort_key));
        args.push(Value::Integer(c.sort_key));
        args.push(Value::Blob(c.trace_id.0.to_vec()));
    }
    sql.push_str(&format!(" ORDER BY {key} DESC, trace_id DESC LIMIT ?"));
    args.push(Value::Integer(int_of_len(limit).saturating_add(1)));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut traces = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            rollup_from_row(r).map(|(_, rollup)| rollup.summary)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_cursor = if traces.len() > limit {
        traces.truncate(limit);
        traces.last().map(|t| TraceCursor {
            sort_key: q.sort.key_of(t),
            trace_id: t.trace_id,
        })
    } else {
        None
    };
    Ok(TracePage {
        traces,
        next_cursor,
    })
}

/// Traces in a range at least this full are listed by cost or duration through the sort's
/// index rather than sorted: sorting reads every trace of the range, the walk stops at a page.
const DENSE_RANGE_TRACES: i64 = 5_000;

/// Whether the query's time range (when it has one) holds at least [`DENSE_RANGE_TRACES`]
/// traces, counted through the start index up to that bound.
fn dense_range(conn: &Connection, pid: i64, q: &TraceQuery) -> rusqlite::Result<bool> {
    if q.since_unix_nano.is_none() && q.until_unix_nano.is_none() {
        return Ok(false);
    }
    let since = int(q.since_unix_nano.unwrap_or(0));
    let until = q.until_unix_nano.map(int).unwrap_or(i64::MAX);
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM traces WHERE project_id = ?1 \
             AND start_ns >= ?2 AND start_ns < ?3 LIMIT ?4)",
        )?
        .query_row(params![pid, since, until, DENSE_RANGE_TRACES], |r| r.get(0))?;
    Ok(n >= DENSE_RANGE_TRACES)
}

/// One trace with its spans.
pub(crate) fn get_trace(
    conn: &Connection,
    project: &str,
    trace_id: TraceId,
) -> Result<Option<TraceDetail>, StoreError> {
    let e = crate::classify;
    let Some(pid) = project_id(conn, project).map_err(e)? else {
        return Ok(None);
    };
    let Some((trace_ref, rollup)) = crate::traces::load(conn, pid, &trace_id).map_err(e)? else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT span_key, parent_key, name, service, kind, start_ns, end_ns, \
             status, counts_usage, blob_id, blob_index, counted, resource_id, \
             cost_pico, reported_pico, unpriced, price_ref, incomplete, input_tokens, \
             output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens FROM spans \
             WHERE trace_ref = ?1 ORDER BY start_ns, id",
        )
        .map_err(e)?;
    let rows = stmt
        .query_map(params![trace_ref], |r| {
            Ok((
                SpanRow {
                    project: project.to_string(),
                    trace_id,
                    span_key: r.get(0)?,
                    parent_key: r.get(1)?,
                    name: r.get(2)?,
                    service: r.get(3)?,
                    kind: r.get(4)?,
                    start_ns: r.get(5)?,
                    end_ns: r.get(6)?,
                    status: r.get(7)?,
                    counts_usage: r.get(8)?,
                    incomplete: r.get(17)?,
                    cost: SpanCost {
                        computed: r.get::<_, Option<i64>>(13)?.map(Money::from_pico),
                        reported: r.get::<_, Option<i64>>(14)?.map(Money::from_pico),
                        unpriced: r.get(15)?,
                        price_id: None,
                        price_effective_from: None,
                    },
                    resource_attributes: Default::default(),
                },
                (r.get::<_, i64>(9)?, position(r.get::<_, i64>(10)?)),
                r.get::<_, bool>(11)?,
                r.get::<_, i64>(12)?,
                r.get::<_, Option<i64>>(16)?,
                // The usage columns: the counted usage, which for a call counted with another
                // copy's usage (rule 5 of the counting rule) differs from the detail's.
                [
                    tokens(r, 18)?,
                    tokens(r, 19)?,
                    tokens(r, 20)?,
                    tokens(r, 21)?,
                    tokens(r, 22)?,
                ],
            ))
        })
        .map_err(e)?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)?;
    let resources = crate::resources::load(conn, rows.iter().map(|r| r.3)).map_err(e)?;
    let mut prices: HashMap<i64, Option<(String, String)>> = HashMap::new();
    let mut blobs = load_blobs(conn, pid, rows.iter().map(|r| r.1 .0)).map_err(|m| {
        StoreError::Permanent(format!("stored spans of trace {trace_id} unreadable: {m}"))
    })?;
    let mut spans = Vec::with_capacity(rows.len());
    for (mut row, (blob_id, blob_index), usage_counted, resource_id, price_ref, usage) in rows {
        if let Some(p) = price_ref {
            let price = match prices.entry(p) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(crate::prices::load(conn, p).map_err(e)?)
                }
            };
            if let Some((id, from)) = price {
                row.cost.price_id = Some(id.clone());
                row.cost.price_effective_from = (!from.is_empty()).then(|| from.clone());
            }
        }
        let detail = blobs
            .get_mut(&blob_id)
            .and_then(|b| b.get_mut(blob_index))
            .and_then(Option::take)
            .ok_or_else(|| {
                StoreError::Permanent(format!(
                    "trace {trace_id}: detail {blob_id}/{blob_index} missing"
                ))
            })?;
        if let Some(r) = resources.get(&resource_id) {
            row.resource_attributes = r.clone();
        }
        let mut span = row.into_span(detail).map_err(|m| {
            StoreError::Permanent(format!("stored span of trace {trace_id} unreadable: {m}"))
        })?;
        let [input, output, cache_read, cache_write, reasoning] = usage;
        let u = &mut span.usage;
        (u.input, u.output, u.cache_read, u.cache_write, u.reasoning) =
            (input, output, cache_read, cache_write, reasoning);
        spans.push(StoredSpan {
            span,
            usage_counted,
        });
    }
    let scores = load_scores(conn, pid, &trace_id).map_err(e)?;
    let logs = load_logs(conn, pid, &trace_id)
        .map_err(|m| StoreError::Permanent(format!("logs of trace {trace_id} unreadable: {m}")))?;
    Ok(Some(TraceDetail {
        scores,
        logs,
        summary: rollup.summary,
        spans,
    }))
}

/// Log records correlated to a trace, oldest first.
fn load_logs(
    conn: &Connection,
    pid: i64,
    trace_id: &TraceId,
) -> Result<Vec<llmtrace_model::LogRecord>, String> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT detail FROM logs WHERE project_id = ?1 AND trace_key = ?2 AND trace_id = ?3 \
             ORDER BY time_ns, id",
        )
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map(params![pid, trace_id.key_i64(), &trace_id.0[..]], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for row in rows {
        out.push(crate::rows::decode_log(&row.map_err(|e| e.to_string())?)?);
    }
    Ok(out)
}

/// Scores of a trace, oldest first.
fn load_scores(
    conn: &Connection,
    pid: i64,
    trace_id: &TraceId,
) -> rusqlite::Result<Vec<llmtrace_model::Score>> {
    let mut stmt = conn.prepare_cached(
        "SELECT detail FROM scores WHERE project_id = ?1 AND trace_id = ?2 ORDER BY time_ns, id",
    )?;
    let rows = stmt.query_map(params![pid, trace_id.to_hex()], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for row in rows {
        let json = row?;
        out.push(serde_json::from_slice(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, e.into())
        })?);
    }
    Ok(out)
}

/// Loads and decodes blobs of project `pid` by id, with their messages: each becomes its
/// details in index order.
fn load_blobs(
    conn: &Connection,
    pid: i64,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, Vec<Option<SpanDetail>>>, String> {
    let mut out = HashMap::new();
    let mut stmt = conn
        .prepare_cached("SELECT data FROM span_blobs WHERE id = ?1")
        .map_err(|e| e.to_string())?;
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let data: Vec<u8> = stmt
            .query_row([id], |r| r.get(0))
            .map_err(|e| format!("blob {id}: {e}"))?;
        let mut details = decode_blob(&data)?;
        crate::messages::resolve(conn, pid, &mut details)?;
        out.insert(id, details.into_iter().map(Some).collect());
    }
    Ok(out)
}

/// A token count column.
pub(crate) fn tokens(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<u64>> {
    Ok(r.get::<_, Option<i64>>(i)?
        .and_then(|v| u64::try_from(v).ok()))
}
