//! The model calls, one row each (`calls`, schema version 10), from which the statistics are
//! read (directly, or through their folds per minute and hour, `folds.rs`): time-ordered (`(project, start_ns, trace_id, span_id)`), with the counting rule already
//! decided by the writer, so a statistics query reads the calls of its range and nothing else,
//! instead of joining the project's spans with themselves at query time (wrappers, claims) as
//! `reader.rs` did before.
//!
//! A row holds what the statistics sum: the call's dimensions (service, model, provider,
//! operation), whether it counts, its error flag, its usage (zero unless the span carries the
//! usage it counts), its effective cost (reported wins), whether it is an unpriced call, and
//! the bin of its duration in [`LatencySketch`] (the percentiles merge the bins, within the
//! sketch's 1 %, the same figures the SQLite rollups give).
//!
//! **Kept exact** like `trace_summaries`, and written with them (`summaries.rs`), at the same
//! version from the same loaded or read-back traces: every write rewrites the rows of every call
//! span of every trace it changes (`ReplacingMergeTree(version)`, so a call that stopped
//! counting, moved cost or changed status is replaced), and a call whose row key moved (an
//! incomplete copy replaced by a complete one with another start, or by a span that is no
//! longer a call) gets a tombstone (`deleted = 1`, same version) at its old key, which the
//! writer that replaced the copy knows from what it loaded. Retention: each row expires with its
//! span (`TTL expire_at`).

use crate::client::{lit, Client};
use crate::reader::{EFFECTIVE_COST, UNPRICED};
use crate::retention::{now_secs, Retention};
use crate::world::{Key, World};
use llmtrace_store::{StatsQuery, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// Where a call's row is keyed within its trace: (start, span id).
pub(crate) type CallKey = (u64, String);

/// The call keys of some traces as stored before a write.
pub(crate) type StoredCalls = HashMap<Key, BTreeSet<CallKey>>;

/// One row of `calls`.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub(crate) struct CallRecord {
    project: String,
    start_ns: u64,
    trace_id: String,
    span_id: String,
    service: String,
    model: String,
    provider: String,
    operation: String,
    counted: u8,
    error: u8,
    lat_bin: u16,
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
    reasoning_tokens: u64,
    cost: i64,
    unpriced: u8,
    /// The pricer found no price for the call's model (whatever its cost): the models page's
    /// unpriced models.
    no_price: u8,
    deleted: u8,
    version: u64,
    expire_at: u32,
}

/// The call keys of the loaded traces `keys` (before a write changes them).
pub(crate) fn stored_keys(world: &World, keys: &[Key]) -> StoredCalls {
    keys.iter()
        .filter_map(|k| {
            let state = world.traces.get(k)?;
            let calls: BTreeSet<CallKey> = state
                .rows
                .values()
                .filter(|r| r.is_call != 0)
                .map(|r| (r.start_ns, r.span_id.clone()))
                .collect();
            (!calls.is_empty()).then(|| (k.clone(), calls))
        })
        .collect()
}

/// The rows of every call span of the traces `keys` of the world (which must hold every span of
/// them and every span claiming their calls' response ids), at `version`, and a tombstone for
/// each key in `before` that the trace no longer has.
pub(crate) fn records(
    world: &World,
    keys: &[Key],
    version: u64,
    retention: &Retention,
    before: &StoredCalls,
) -> Vec<CallRecord> {
    let now = now_secs();
    let mut out = Vec::new();
    for key in keys {
        let Some(state) = world.traces.get(key) else {
            continue;
        };
        let mut present: BTreeSet<(u64, &str)> = BTreeSet::new();
        for r in state.rows.values().filter(|r| r.is_call != 0) {
            present.insert((r.start_ns, r.span_id.as_str()));
            let counted = world.counts((&key.0, &key.1, &r.span_id));
            let usage = |n: u64| if r.counts_usage != 0 { n } else { 0 };
            let duration = i64::try_from(r.end_ns.saturating_sub(r.start_ns)).unwrap_or(i64::MAX);
            out.push(CallRecord {
                project: key.0.clone(),
                start_ns: r.start_ns,
                trace_id: key.1.clone(),
                span_id: r.span_id.clone(),
                service: r.service.clone(),
                model: r.model.clone(),
                provider: r.provider.clone(),
                operation: r.operation.clone(),
                counted: u8::from(counted),
                error: u8::from(r.status == 2),
                lat_bin: llmtrace_store::bin_of(duration),
                input_tokens: usage(r.input_tokens),
                output_tokens: usage(r.output_tokens),
                cache_read_tokens: usage(r.cache_read_tokens),
                cache_write_tokens: usage(r.cache_write_tokens),
                reasoning_tokens: usage(r.reasoning_tokens),
                cost: r.cost_reported.or(r.cost_computed).unwrap_or(0),
                unpriced: u8::from(
                    r.unpriced != 0 && r.cost_reported.is_none() && r.cost_computed.is_none(),
                ),
                no_price: u8::from(r.unpriced != 0),
                deleted: 0,
                version,
                expire_at: retention.expire_at(&key.0, r.start_ns, now),
            });
        }
        for (start, span) in before.get(key).into_iter().flatten() {
            if !present.contains(&(*start, span.as_str())) {
                out.push(tombstone(
                    key,
                    *start,
                    span,
                    version,
                    retention.expire_at(&key.0, *start, now),
                ));
            }
        }
    }
    out
}

/// The tombstone of a call row that moved or went.
fn tombstone(key: &Key, start_ns: u64, span_id: &str, version: u64, expire_at: u32) -> CallRecord {
    CallRecord {
        project: key.0.clone(),
        start_ns,
        trace_id: key.1.clone(),
        span_id: span_id.to_string(),
        service: String::new(),
        model: String::new(),
        provider: String::new(),
        operation: String::new(),
        counted: 0,
        error: 0,
        lat_bin: 0,
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        cost: 0,
        unpriced: 0,
        no_price: 0,
        deleted: 1,
        version,
        expire_at,
    }
}

/// Inserts call rows, then the marks of the minutes and hours they fall in
/// (`folds.rs`: those buckets' folds are refolded).
pub(crate) async fn insert(ch: &Client, db: &str, rows: &[CallRecord]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    ch.insert(&format!("{db}.calls"), rows).await?;
    let mut touched = crate::folds::Touched::new();
    for r in rows {
        crate::folds::touch(&mut touched, &r.project, r.start_ns, r.expire_at);
    }
    crate::folds::mark(ch, db, &touched).await
}

/// `sum(column)` of an `Int64` cost (a column or an expression), held at the largest `Int64`
/// instead of wrapping around.
pub(crate) fn saturating_cost(column: &str) -> String {
    format!(
        "if(sum(toFloat64({column})) >= 9223372036854775807., toInt64(9223372036854775807), \
         toInt64(sum({column})))"
    )
}

/// One group of a statistics read (from `calls` here, or from the folds), as ClickHouse
/// returns it.
#[derive(Deserialize)]
pub(crate) struct StatsRow {
    pub(crate) b: u64,
    pub(crate) k: String,
    pub(crate) n_calls: u64,
    pub(crate) n_errors: u64,
    pub(crate) t_input: u64,
    pub(crate) t_output: u64,
    pub(crate) t_cache_read: u64,
    pub(crate) t_cache_write: u64,
    pub(crate) t_reasoning: u64,
    pub(crate) t_cost: i64,
    pub(crate) t_unpriced: u64,
    pub(crate) bins: Vec<u16>,
    pub(crate) counts: Vec<i64>,
}

/// `sum(x)` of a `UInt64` column, saturating instead of wrapping around (ClickHouse's integer
/// sums wrap, and the counts come from clients).
pub(crate) fn saturating_sum(column: &str) -> String {
    format!(
        "if(sum(toFloat64({column})) >= 18446744073709551615., toUInt64(18446744073709551615), \
         toUInt64(sum({column})))"
    )
}

/// The groups (query buckets and group keys) of the counted calls starting in the `ranges`
/// (`[from, to)` each): each call's latest version (`FINAL` over the ranges, primary-key
/// ranges), the query's filters after that.
pub(crate) async fn groups(
    ch: &Client,
    db: &str,
    q: &StatsQuery,
    ranges: &[(u64, u64)],
) -> Result<Vec<StatsRow>, StoreError> {
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let column = crate::folds::group_column(q.group_by);
    let bucket = crate::folds::bucket_of("start_ns", q.bucket_nanos.filter(|w| *w > 0));
    let range: Vec<String> = ranges
        .iter()
        .map(|(a, b)| format!("(start_ns >= {a} AND start_ns < {b})"))
        .collect();
    let filter = crate::folds::dimension_filter(q);
    let sql = format!(
        "SELECT {bucket} AS b, toString({column}) AS k, count() AS n_calls, \
         toUInt64(sum(error)) AS n_errors, {} AS t_input, {} AS t_output, {} AS t_cache_read, \
         {} AS t_cache_write, {} AS t_reasoning, {} AS t_cost, \
         toUInt64(sum(unpriced)) AS t_unpriced, \
         sumMap([lat_bin], [toInt64(1)]) AS m, tupleElement(m, 1) AS bins, \
         tupleElement(m, 2) AS counts \
         FROM (SELECT * FROM {db}.calls FINAL WHERE project = {} AND ({})) \
         WHERE deleted = 0 AND counted = 1{filter} GROUP BY b, k",
        saturating_sum("input_tokens"),
        saturating_sum("output_tokens"),
        saturating_sum("cache_read_tokens"),
        saturating_sum("cache_write_tokens"),
        saturating_sum("reasoning_tokens"),
        saturating_cost("cost"),
        lit(&q.project),
        range.join(" OR "),
    );
    ch.select(&sql).await
}

/// The columns of `calls` in the order [`backfill`] selects them.
const COLUMNS: &str = "project, start_ns, trace_id, span_id, service, model, provider, \
    operation, counted, error, lat_bin, input_tokens, output_tokens, cache_read_tokens, \
    cache_write_tokens, reasoning_tokens, cost, unpriced, no_price, deleted, version, expire_at";

/// Fills `calls` from the spans of a database created before it, each project's call spans
/// with the counting rule evaluated in SQL (`reader.rs`), at version 1 so that any row a writer
/// writes meanwhile wins. The duration's bin is computed by ClickHouse with the sketch's
/// formula (a duration on a bin's very edge may land in the next bin: within the sketch's
/// accuracy either way). In a cluster (`local` is `_local`) each node fills its own table with
/// its own shard's calls. Long: its own timeout; running it again is harmless.
pub(crate) async fn backfill(ch: &Client, db: &str, local: &str) -> Result<(), StoreError> {
    #[derive(Deserialize)]
    struct P {
        project: String,
    }
    let projects: Vec<P> = ch
        .select(&format!("SELECT DISTINCT project FROM {db}.spans{local}"))
        .await?;
    let gamma =
        (1.0 + llmtrace_store::RELATIVE_ACCURACY) / (1.0 - llmtrace_store::RELATIVE_ACCURACY);
    for p in projects {
        let project = lit(&p.project);
        let mut filter = String::from(" AND is_call = 1");
        if !local.is_empty() {
            filter.push_str(&format!(
                " AND trace_id GLOBAL IN (SELECT trace_id FROM {db}.spans{local} \
                 WHERE project = {project})"
            ));
        }
        let columns = "trace_id, span_id, is_call, status, start_ns, end_ns, service, model, \
            provider, operation, counts_usage, input_tokens, output_tokens, cache_read_tokens, \
            cache_write_tokens, reasoning_tokens, cost_computed, cost_reported, unpriced, \
            expire_at";
        let counted = crate::reader::counted_spans_sql(db, &p.project, columns, &filter);
        let sql = format!(
            "INSERT INTO {db}.calls{local} ({COLUMNS}) \
             SELECT {project}, start_ns, trace_id, span_id, service, model, provider, operation, \
             counted, toUInt8(status = 2), \
             if(end_ns <= start_ns, toUInt16(0), \
                toUInt16(ceil(log(toFloat64(end_ns - start_ns)) / log({gamma:.17})) + 1)), \
             counts_usage * input_tokens, counts_usage * output_tokens, \
             counts_usage * cache_read_tokens, counts_usage * cache_write_tokens, \
             counts_usage * reasoning_tokens, \
             {EFFECTIVE_COST}, {UNPRICED}, unpriced, \
             toUInt8(0), toUInt64(1), expire_at \
             FROM ({counted})"
        );
        ch.execute_with_timeout(&sql, crate::schema::BACKFILL_TIMEOUT)
            .await?;
    }
    // Every minute, hour and day with calls is marked (at 1, before any fold), so the folder folds
    // them.
    for (level, width) in [
        (1, crate::folds::MINUTE),
        (2, crate::folds::HOUR),
        (3, crate::folds::DAY),
    ] {
        ch.execute_with_timeout(
            &format!(
                "INSERT INTO {db}.call_marks{local} (project, level, bucket, at, expire_at) \
                 SELECT project, toUInt8({level}), intDiv(start_ns, {width}) * {width} AS b, \
                 toUInt64(1), max(expire_at) FROM {db}.calls{local} GROUP BY project, b"
            ),
            std::time::Duration::from_secs(3600),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_moved_gets_a_tombstone_at_its_old_key() {
        let world = World::default();
        let key: Key = ("p".into(), "t".into());
        let mut before = StoredCalls::new();
        before.insert(key.clone(), [(5, "s".to_string())].into_iter().collect());
        let rows = records(
            &world,
            std::slice::from_ref(&key),
            9,
            &Retention::default(),
            &before,
        );
        assert!(rows.is_empty(), "a trace not loaded writes nothing");
        let mut world = World::default();
        world.traces.entry(key.clone()).or_default();
        let rows = records(&world, &[key], 9, &Retention::default(), &before);
        assert_eq!(rows.len(), 1);
        let t = rows.first().expect("one row");
        assert_eq!(
            (t.start_ns, t.span_id.as_str(), t.deleted, t.version),
            (5, "s", 1, 9)
        );
    }
}
