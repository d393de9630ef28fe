//! Cost recomputation: re-prices stored model-call spans in batches (keyset-paginated by
//! trace and span id). A changed span is written again in full with a higher version, so
//! `FINAL` reads see only the new copy; the changed traces' summary rows are written again.

use crate::client::{lit, Client};
use crate::retention::{now_secs, Retention};
use crate::rows::{SpanRow, ALL_COLUMNS};
use crate::Versions;
use llmtrace_model::{Money, Span, SpanCost};
use llmtrace_store::{RecomputeReport, RecomputeRequest, StoreError};

/// Where a recomputation is: the last (trace id, span id) done.
#[derive(Default)]
pub(crate) struct Progress {
    after: Option<(String, String)>,
    pub(crate) done: bool,
}

/// Re-prices one batch of spans after `progress`, adding to `report`; rewritten spans get
/// new versions from `versions` and their expiry from `retention`.
pub(crate) async fn batch(
    ch: &Client,
    db: &str,
    (versions, retention): (&Versions, &Retention),
    req: &RecomputeRequest,
    pricer: &(dyn Fn(&Span) -> SpanCost + Send + Sync),
    progress: &mut Progress,
    report: &mut RecomputeReport,
) -> Result<(), StoreError> {
    let mut sql = format!(
        "SELECT {ALL_COLUMNS} FROM {db}.spans FINAL WHERE project = {} AND is_call = 1",
        lit(&req.project)
    );
    if let Some(t) = req.since_unix_nano {
        sql.push_str(&format!(" AND start_ns >= {t}"));
    }
    if let Some(m) = &req.model {
        sql.push_str(&format!(" AND model = {}", lit(m)));
    }
    if let Some((t, s)) = &progress.after {
        let (t, s) = (lit(t), lit(s));
        sql.push_str(&format!(
            " AND (trace_id > {t} OR (trace_id = {t} AND span_id > {s}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY trace_id, span_id LIMIT {}",
        req.batch_spans.max(1)
    ));
    let rows: Vec<SpanRow> = ch.select(&sql).await?;
    if rows.len() < req.batch_spans.max(1) {
        progress.done = true;
    }
    let mut changed_rows = Vec::new();
    for mut row in rows {
        progress.after = Some((row.trace_id.clone(), row.span_id.clone()));
        // Pricing needs no messages: the row is written back with its detail as stored.
        let span = row.to_span(None).map_err(StoreError::Permanent)?;
        let old = row.cost();
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
        // `None` and an empty effective date mean the same (as in the SQLite store).
        let from = |c: &SpanCost| c.price_effective_from.clone().unwrap_or_default();
        let changed = old.computed != new.computed
            || old.unpriced != new.unpriced
            || old.price_id != new.price_id
            || (new.price_id.is_some() && from(&old) != from(&new));
        if !changed {
            continue;
        }
        report.spans_changed = report.spans_changed.saturating_add(1);
        row.set_cost(&new);
        row.version = versions.next().max(row.version.saturating_add(1));
        row.expire_at = retention.expire_at(&row.project, row.start_ns, now_secs());
        changed_rows.push(row);
    }
    if !req.dry_run && !changed_rows.is_empty() {
        let mut keys: Vec<crate::world::Key> = changed_rows
            .iter()
            .map(|r| (r.project.clone(), r.trace_id.clone()))
            .collect();
        keys.dedup();
        // Key rows first, so that a writer racing on these traces reads them back.
        let key_rows = crate::writer::trace_key_rows(
            &keys,
            &changed_rows,
            versions.writer(),
            versions.next(),
            retention,
        );
        ch.insert(&format!("{db}.trace_keys"), &key_rows).await?;
        ch.insert(&format!("{db}.spans"), &changed_rows).await?;
        // The changed traces' summaries follow, from the spans as now stored.
        crate::summaries::write(ch, db, &keys, versions, retention, &Default::default()).await?;
    }
    Ok(())
}
