//! Sessions and users from their own summary rows (`group_folds`, schema version 11): per
//! minute, hour and day (UTC) of trace starts, one row per session and per user with its
//! traces, first and last start, last end, spans, counted calls, tokens, errors, cost and
//! unpriced calls, so `/sessions` and `/users` read rows per group and bucket instead of every
//! trace of the range.
//!
//! The rows are kept like the calls' folds (`folds.rs`), with their own levels in the same
//! marks and heads tables: each insert into `trace_list` (a trace's summary at its start, or
//! the tombstone of a start it left) marks the minute, hour and day of the row's start; the
//! background folder refolds each dirty minute from `trace_list` (`FINAL`, live rows with a
//! session or user) at a version taken before it reads, then records the head; hours fold from
//! their clean minutes and days from their clean hours after the same margin as the calls'.
//! Reads take clean days, hours and minutes from the folds at their heads, everything else
//! (dirty buckets, the range's partial minutes) from `trace_list`, and merge per group.
//!
//! The same folds keep each bucket's costliest and longest traces (`top_folds`, the first
//! [`TOP_PER_BUCKET`] by cost and by duration, ties by trace id), so the dashboard's lists of a
//! range (no filter but time) read those instead of every trace of the range: a trace of the
//! range's first `n` is among the first `n` of its own bucket.

use crate::calls::{saturating_cost, saturating_sum};
use crate::client::{lit, Client};
use crate::folds::{self, Dirty, GROUP_LEVELS, MINUTE};
use crate::summaries::SummaryRow;
use crate::Versions;
use llmtrace_store::{
    StoreError, TraceGroup, TraceGroupBy, TraceGroupQuery, TraceQuery, TraceSort, MAX_PAGE_SIZE,
};
use serde::Deserialize;

/// The columns of `group_folds` an insert names, in the order the folds select them.
const GROUP_COLUMNS: &str = "project, level, bucket, dim, key, g_user, traces, first_start, \
    last_start, last_end, spans, calls, input_tokens, output_tokens, cache_read_tokens, errors, \
    cost, unpriced, version, expire_at";

/// Traces kept per bucket and order in `top_folds`: pages of up to one less are answered from
/// the folds (one more tells whether a page follows).
pub(crate) const TOP_PER_BUCKET: usize = 51;

/// The orders `top_folds` keeps: (kind, the sort key over `trace_list` columns).
const TOP_ORDERS: [(TraceSort, u8, &str); 2] = [
    (TraceSort::Cost, 0, "t_cost"),
    (
        TraceSort::Duration,
        1,
        "toInt64(greatest(t_end, t_start) - t_start)",
    ),
];

/// The columns of `top_folds` an insert names.
const TOP_COLUMNS: &str = "project, level, bucket, kind, trace_id, t_start, sort_key, version, \
    expire_at";

/// The `dim` of a grouping, and the `trace_list` column it groups by.
fn dimension(by: TraceGroupBy) -> (u8, &'static str) {
    match by {
        TraceGroupBy::Session => (0, "t_session"),
        TraceGroupBy::User => (1, "t_user"),
    }
}

/// Records that a `trace_list` row starting at `t_start` of `project` was written.
pub(crate) fn touch(touched: &mut folds::Touched, project: &str, t_start: u64, expire_at: u32) {
    folds::touch_levels(touched, GROUP_LEVELS, project, t_start, expire_at);
}

/// The merge of group rows under a `GROUP BY`, from `g_user` to `unpriced` in
/// [`GROUP_COLUMNS`]' order.
fn merged() -> [String; 13] {
    [
        "max(g_user)".into(),
        "toUInt64(sum(traces))".into(),
        "min(first_start)".into(),
        "max(last_start)".into(),
        "max(last_end)".into(),
        "toUInt64(sum(spans))".into(),
        "toUInt64(sum(calls))".into(),
        saturating_sum("input_tokens"),
        saturating_sum("output_tokens"),
        saturating_sum("cache_read_tokens"),
        "toUInt64(sum(errors))".into(),
        saturating_cost("cost"),
        "toUInt64(sum(unpriced))".into(),
    ]
}

/// The group of live `trace_list` rows under a `GROUP BY` of the grouping column, from
/// `g_user` to `unpriced` in [`GROUP_COLUMNS`]' order.
fn from_traces(by: TraceGroupBy) -> [String; 13] {
    let user = match by {
        TraceGroupBy::Session => "max(t_user)",
        TraceGroupBy::User => "''",
    };
    [
        user.into(),
        "toUInt64(count())".into(),
        "min(t_start)".into(),
        "max(t_start)".into(),
        "max(t_end)".into(),
        "toUInt64(sum(span_count))".into(),
        "toUInt64(sum(llm_call_count))".into(),
        saturating_sum("t_input"),
        saturating_sum("t_output"),
        saturating_sum("t_cache_read"),
        "toUInt64(sum(error_count))".into(),
        saturating_cost("t_cost"),
        "toUInt64(sum(t_unpriced))".into(),
    ]
}

/// The latest version of each `trace_list` row of `project` whose start `range` (a condition on
/// `t_start`) keeps, with the columns the groups sum.
fn list_rows(db: &str, project: &str, range: &str) -> String {
    format!(
        "SELECT trace_id, t_start, t_end, span_count, llm_call_count, t_input, t_output, t_cache_read, \
         error_count, t_cost, t_unpriced, t_user, t_session, deleted, expire_at \
         FROM {db}.trace_list FINAL WHERE project = {} AND ({range})",
        lit(project)
    )
}

/// Refolds some dirty minutes of one project (sorted by bucket) from `trace_list`.
pub(crate) async fn fold_minutes(
    ch: &Client,
    db: &str,
    versions: &Versions,
    project: &str,
    minutes: &[&Dirty],
) -> Result<(), StoreError> {
    let version = versions.next();
    let buckets: Vec<u64> = minutes.iter().map(|d| d.bucket).collect();
    let p = lit(project);
    let range = folds::runs("t_start", &buckets, MINUTE);
    for by in [TraceGroupBy::Session, TraceGroupBy::User] {
        let (dim, column) = dimension(by);
        let sql = format!(
            "INSERT INTO {db}.group_folds ({GROUP_COLUMNS}) \
             SELECT {p}, toUInt8({}), intDiv(t_start, {MINUTE}) * {MINUTE} AS b, toUInt8({dim}), \
             {column}, {}, toUInt64({version}), max(expire_at) \
             FROM ({}) WHERE deleted = 0 AND {column} != '' GROUP BY b, {column}",
            GROUP_LEVELS.minute,
            from_traces(by).join(", "),
            list_rows(db, project, &range),
        );
        ch.execute(&sql).await?;
    }
    for (_, kind, key) in TOP_ORDERS {
        let sql = format!(
            "INSERT INTO {db}.top_folds ({TOP_COLUMNS}) \
             SELECT {p}, toUInt8({}), intDiv(t_start, {MINUTE}) * {MINUTE} AS b, toUInt8({kind}), \
             trace_id, t_start, {key} AS k, toUInt64({version}), expire_at \
             FROM ({}) WHERE deleted = 0 ORDER BY b, k DESC, trace_id DESC \
             LIMIT {TOP_PER_BUCKET} BY b",
            GROUP_LEVELS.minute,
            list_rows(db, project, &range),
        );
        ch.execute(&sql).await?;
    }
    folds::write_minute_heads(ch, db, project, GROUP_LEVELS.minute, minutes, version).await
}

/// Folds one dirty hour (or day) of groups from the folds of its minutes (or hours), `finer`,
/// at `version`, when every one of them is clean; whether it did.
pub(crate) async fn fold_from_parts(
    ch: &Client,
    db: &str,
    version: u64,
    bucket: &Dirty,
    level: u8,
    finer: u8,
) -> Result<bool, StoreError> {
    let Some(parts) = folds::clean_parts(ch, db, bucket, level, finer).await? else {
        return Ok(false);
    };
    if !parts.is_empty() {
        let sql = format!(
            "INSERT INTO {db}.group_folds ({GROUP_COLUMNS}) \
             SELECT {}, toUInt8({level}), toUInt64({}), dim, key, {}, toUInt64({version}), \
             max(expire_at) FROM ({}) GROUP BY dim, key",
            lit(&bucket.project),
            bucket.bucket,
            merged().join(", "),
            folds::rows_at_heads_of(db, "group_folds", &bucket.project, finer, &parts),
        );
        ch.execute(&sql).await?;
        let sql = format!(
            "INSERT INTO {db}.top_folds ({TOP_COLUMNS}) \
             SELECT project, toUInt8({level}), toUInt64({}), kind, trace_id, t_start, sort_key, \
             toUInt64({version}), expire_at FROM ({}) \
             ORDER BY kind, sort_key DESC, trace_id DESC LIMIT {TOP_PER_BUCKET} BY kind",
            bucket.bucket,
            folds::rows_at_heads_of(db, "top_folds", &bucket.project, finer, &parts),
        );
        ch.execute(&sql).await?;
    }
    folds::write_head(ch, db, bucket, level, version).await?;
    Ok(true)
}

/// One group of [`trace_groups`]' answer.
#[derive(Deserialize)]
struct GroupRow {
    g_key: String,
    g_user: String,
    g_traces: u64,
    g_first: u64,
    g_last: u64,
    g_end: u64,
    g_spans: u64,
    g_calls: u64,
    g_input: u64,
    g_output: u64,
    g_cache_read: u64,
    g_errors: u64,
    g_cost: i64,
    g_unpriced: u64,
}

impl GroupRow {
    fn into_group(self, by: TraceGroupBy) -> TraceGroup {
        TraceGroup {
            key: self.g_key,
            user_id: match by {
                TraceGroupBy::Session => (!self.g_user.is_empty()).then_some(self.g_user),
                TraceGroupBy::User => None,
            },
            trace_count: self.g_traces,
            first_start_unix_nano: self.g_first,
            last_start_unix_nano: self.g_last,
            last_end_unix_nano: self.g_end,
            span_count: self.g_spans,
            llm_call_count: self.g_calls,
            input_tokens: self.g_input,
            output_tokens: self.g_output,
            cache_read_tokens: self.g_cache_read,
            error_count: self.g_errors,
            cost_pico: self.g_cost,
            unpriced_span_count: self.g_unpriced,
        }
    }
}

/// The names every part of a read gives its columns (after the key).
const PART_NAMES: [&str; 13] = [
    "u", "n", "f", "l", "e", "sp", "ca", "i", "o", "cr", "er", "co", "up",
];

/// The columns of a part, named.
fn named(columns: [String; 13]) -> String {
    columns
        .iter()
        .zip(PART_NAMES)
        .map(|(c, n)| format!("{c} AS {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The days, hours and minutes a plan reads from the folds (level, heads), those it has.
fn planned_folds(plan: &folds::ReadPlan) -> Vec<(u8, &[(u64, u64)])> {
    [
        (GROUP_LEVELS.day, plan.days.as_slice()),
        (GROUP_LEVELS.hour, plan.hours.as_slice()),
        (GROUP_LEVELS.minute, plan.minutes.as_slice()),
    ]
    .into_iter()
    .filter(|(_, heads)| !heads.is_empty())
    .collect()
}

/// The condition on `t_start` of the ranges a plan reads from `trace_list`, when it has any.
fn list_ranges(plan: &folds::ReadPlan) -> Option<String> {
    (!plan.calls.is_empty()).then(|| {
        plan.calls
            .iter()
            .map(|(from, to)| format!("(t_start >= {from} AND t_start < {to})"))
            .collect::<Vec<_>>()
            .join(" OR ")
    })
}

/// Traces grouped by session or user, most recently active first: the folds where they are
/// clean, `trace_list` elsewhere (see the module doc).
pub(crate) async fn trace_groups(
    ch: &Client,
    db: &str,
    q: &TraceGroupQuery,
) -> Result<Vec<TraceGroup>, StoreError> {
    let since = q.since_unix_nano.unwrap_or(0);
    let until = q.until_unix_nano.unwrap_or(u64::MAX);
    if since >= until {
        return Ok(Vec::new());
    }
    let plan = folds::read_plan_at(ch, db, GROUP_LEVELS, &q.project, (since, until), None).await?;
    let (dim, column) = dimension(q.by);
    let mut parts = Vec::new();
    for (level, heads) in planned_folds(&plan) {
        parts.push(format!(
            "SELECT key AS k, {} FROM ({}) WHERE dim = {dim} GROUP BY key",
            named(merged()),
            folds::rows_at_heads_of(db, "group_folds", &q.project, level, heads),
        ));
    }
    if let Some(ranges) = list_ranges(&plan) {
        parts.push(format!(
            "SELECT {column} AS k, {} FROM ({}) WHERE deleted = 0 AND {column} != '' \
             GROUP BY {column}",
            named(from_traces(q.by)),
            list_rows(db, &q.project, &ranges),
        ));
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let limit = q.limit.clamp(1, MAX_PAGE_SIZE);
    let sql = format!(
        "SELECT k AS g_key, max(u) AS g_user, toUInt64(sum(n)) AS g_traces, min(f) AS g_first, \
         max(l) AS g_last, max(e) AS g_end, toUInt64(sum(sp)) AS g_spans, \
         toUInt64(sum(ca)) AS g_calls, {} AS g_input, {} AS g_output, {} AS g_cache_read, \
         toUInt64(sum(er)) AS g_errors, {} AS g_cost, toUInt64(sum(up)) AS g_unpriced \
         FROM ({}) GROUP BY k ORDER BY g_last DESC, g_key DESC LIMIT {}, {limit}",
        saturating_sum("i"),
        saturating_sum("o"),
        saturating_sum("cr"),
        saturating_cost("co"),
        parts.join(" UNION ALL "),
        q.offset,
    );
    let rows: Vec<GroupRow> = ch.select(&sql).await?;
    Ok(rows.into_iter().map(|r| r.into_group(q.by)).collect())
}

/// A trace a top list names: its start and id.
#[derive(Deserialize)]
struct TopKey {
    ts: u64,
    tid: String,
}

/// The first `limit + 1` traces of `q` by cost or duration from the top folds where they are
/// clean and `trace_list` elsewhere, when `q` is such a list with no filter but its time range,
/// no text and no cursor, and `limit + 1` is at most [`TOP_PER_BUCKET`]; `None` otherwise.
pub(crate) async fn top_traces(
    ch: &Client,
    db: &str,
    q: &TraceQuery,
    limit: usize,
    only_time_filters: bool,
) -> Result<Option<Vec<SummaryRow>>, StoreError> {
    let Some((_, kind, key)) = TOP_ORDERS.iter().find(|(sort, ..)| *sort == q.sort) else {
        return Ok(None);
    };
    if !only_time_filters || q.text.is_some() || q.cursor.is_some() || limit >= TOP_PER_BUCKET {
        return Ok(None);
    }
    let since = q.since_unix_nano.unwrap_or(0);
    let until = q.until_unix_nano.unwrap_or(u64::MAX);
    if since >= until {
        return Ok(Some(Vec::new()));
    }
    let plan = folds::read_plan_at(ch, db, GROUP_LEVELS, &q.project, (since, until), None).await?;
    let mut parts = Vec::new();
    for (level, heads) in planned_folds(&plan) {
        parts.push(format!(
            "SELECT trace_id AS tid, t_start AS ts, sort_key AS sk FROM ({}) WHERE kind = {kind}",
            folds::rows_at_heads_of(db, "top_folds", &q.project, level, heads),
        ));
    }
    if let Some(ranges) = list_ranges(&plan) {
        parts.push(format!(
            "SELECT trace_id AS tid, t_start AS ts, {key} AS sk FROM ({}) WHERE deleted = 0",
            list_rows(db, &q.project, &ranges),
        ));
    }
    if parts.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let keys: Vec<TopKey> = ch
        .select(&format!(
            "SELECT ts, tid FROM ({}) ORDER BY sk DESC, tid DESC LIMIT {}",
            parts.join(" UNION ALL "),
            limit.saturating_add(1)
        ))
        .await?;
    if keys.is_empty() {
        return Ok(Some(Vec::new()));
    }
    // The traces' summary rows, by their keys in `trace_list` ('' is no trace id: a sentinel
    // so that one key still reads as a list of tuples).
    let mut pairs = vec!["(0, '')".to_string()];
    pairs.extend(keys.iter().map(|k| format!("({}, {})", k.ts, lit(&k.tid))));
    let first = keys.iter().map(|k| k.ts).min().unwrap_or(0);
    let last = keys.iter().map(|k| k.ts).max().unwrap_or(0);
    let filter = format!(
        " AND t_start >= {first} AND t_start <= {last} AND (t_start, trace_id) IN ({})",
        pairs.join(", ")
    );
    let column = crate::reader::sort_column(q.sort);
    let rows: Vec<SummaryRow> = ch
        .select(&format!(
            "SELECT * FROM ({}) WHERE deleted = 0 ORDER BY {column} DESC, trace_id DESC",
            crate::summaries::list_sql(db, &q.project, &filter)
        ))
        .await?;
    Ok(Some(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_name_every_column() {
        let n = named(from_traces(TraceGroupBy::User));
        assert!(n.starts_with("'' AS u, toUInt64(count()) AS n, "), "{n}");
        assert!(n.ends_with("toUInt64(sum(t_unpriced)) AS up"), "{n}");
        assert_eq!(GROUP_COLUMNS.split(", ").count(), 5 + PART_NAMES.len() + 2);
    }
}
