//! Sessions and users answered from their hourly summary rows (`trace_group_hours`, migration
//! 12, kept by triggers on `traces`): whole hours of the range from the rows, the partial hours
//! at its edges from the traces themselves unless no trace of the hour falls outside the range.

use crate::call_rollups::{edge_bucket, saturated};
use crate::int::{count, int, range};
use crate::reader::project_id;
use llmtrace_store::rollup_plan::whole_buckets;
use llmtrace_store::{TraceGroup, TraceGroupBy, TraceGroupQuery, MAX_PAGE_SIZE};
use rusqlite::{params, Connection, Row};
use std::collections::HashMap;

/// Width of a session or user summary row.
const HOUR: u64 = 3_600_000_000_000;

/// Traces grouped by session or user, most recently active first (the contract of
/// [`llmtrace_store::TraceReader::trace_groups`]).
pub(crate) fn trace_groups(
    conn: &Connection,
    q: &TraceGroupQuery,
) -> rusqlite::Result<Vec<TraceGroup>> {
    let Some(pid) = project_id(conn, &q.project)? else {
        return Ok(Vec::new());
    };
    let (since, until) = range(q.since_unix_nano, q.until_unix_nano);
    let mut groups: HashMap<String, TraceGroup> = HashMap::new();
    if since < until {
        let edges = match whole_buckets(since, until, HOUR) {
            Some((first_hour, last_hour)) => {
                add_hours(conn, pid, q.by, first_hour, last_hour, &mut groups)?;
                vec![(since, first_hour), (last_hour, until)]
            }
            None => vec![(since, until)],
        };
        for (from, to) in edges.into_iter().filter(|(from, to)| from < to) {
            match whole_hour(conn, pid, q.by, from, to)? {
                Some(hour) => add_hours(
                    conn,
                    pid,
                    q.by,
                    hour,
                    hour.saturating_add(HOUR),
                    &mut groups,
                )?,
                None => add_traces(conn, pid, q.by, from, to, &mut groups)?,
            }
        }
    }
    let mut out: Vec<TraceGroup> = groups.into_values().collect();
    out.sort_by(|a, b| {
        b.last_start_unix_nano
            .cmp(&a.last_start_unix_nano)
            .then_with(|| b.key.cmp(&a.key))
    });
    Ok(out
        .into_iter()
        .skip(q.offset)
        .take(q.limit.clamp(1, MAX_PAGE_SIZE))
        .collect())
}

fn column(by: TraceGroupBy) -> (&'static str, i64) {
    match by {
        TraceGroupBy::Session => ("session_id", 0),
        TraceGroupBy::User => ("user_id", 1),
    }
}

/// When `[from, to)` lies in one hour and no trace of the group kind in that hour starts
/// outside it, the hour's start: its summary rows are exactly the piece.
fn whole_hour(
    conn: &Connection,
    pid: i64,
    by: TraceGroupBy,
    from: u64,
    to: u64,
) -> rusqlite::Result<Option<u64>> {
    let (col, _) = column(by);
    let probe = format!(
        "SELECT 1 FROM traces WHERE project_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 \
         AND {col} IS NOT NULL LIMIT 1"
    );
    edge_bucket(conn, &probe, pid, HOUR, (from, to))
}

/// Folds one part (a summary row or a trace) into its group.
fn fold(groups: &mut HashMap<String, TraceGroup>, key: String, part: TraceGroup) {
    let g = groups.entry(key.clone()).or_insert_with(|| TraceGroup {
        key,
        first_start_unix_nano: u64::MAX,
        ..Default::default()
    });
    g.user_id = match (g.user_id.take(), part.user_id) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    g.trace_count = g.trace_count.saturating_add(part.trace_count);
    g.first_start_unix_nano = g.first_start_unix_nano.min(part.first_start_unix_nano);
    g.last_start_unix_nano = g.last_start_unix_nano.max(part.last_start_unix_nano);
    g.last_end_unix_nano = g.last_end_unix_nano.max(part.last_end_unix_nano);
    g.span_count = g.span_count.saturating_add(part.span_count);
    g.llm_call_count = g.llm_call_count.saturating_add(part.llm_call_count);
    g.input_tokens = g.input_tokens.saturating_add(part.input_tokens);
    g.output_tokens = g.output_tokens.saturating_add(part.output_tokens);
    g.cache_read_tokens = g.cache_read_tokens.saturating_add(part.cache_read_tokens);
    g.error_count = g.error_count.saturating_add(part.error_count);
    g.cost_pico = g.cost_pico.saturating_add(part.cost_pico);
    g.unpriced_span_count = g
        .unpriced_span_count
        .saturating_add(part.unpriced_span_count);
}

/// A part read from columns starting at 1: traces, first start, last start, last end, spans,
/// calls, input, output, cache-read tokens, errors, cost, unpriced, user.
fn part(r: &Row<'_>) -> rusqlite::Result<TraceGroup> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(count(saturated(r.get_ref(i)?))) };
    Ok(TraceGroup {
        key: String::new(),
        trace_count: n(1)?,
        first_start_unix_nano: n(2)?,
        last_start_unix_nano: n(3)?,
        last_end_unix_nano: n(4)?,
        span_count: n(5)?,
        llm_call_count: n(6)?,
        input_tokens: n(7)?,
        output_tokens: n(8)?,
        cache_read_tokens: n(9)?,
        error_count: n(10)?,
        cost_pico: saturated(r.get_ref(11)?),
        unpriced_span_count: n(12)?,
        user_id: r.get(13)?,
    })
}

fn add_hours(
    conn: &Connection,
    pid: i64,
    by: TraceGroupBy,
    from: u64,
    to: u64,
    groups: &mut HashMap<String, TraceGroup>,
) -> rusqlite::Result<()> {
    let (_, dim) = column(by);
    let mut stmt = conn.prepare_cached(
        "SELECT key, traces, first_start, last_start, last_end, spans, calls, input_tokens, \
         output_tokens, cache_read_tokens, errors, cost_pico, unpriced, user_id \
         FROM trace_group_hours WHERE project_id = ?1 AND dim = ?2 AND hour_ns >= ?3 \
         AND hour_ns < ?4",
    )?;
    let rows = stmt.query(params![pid, dim, int(from), int(to)])?;
    fold_rows(rows, groups)
}

/// Folds every row of `rows` (the key, then the columns of [`part`]) with traces.
fn fold_rows(
    mut rows: rusqlite::Rows<'_>,
    groups: &mut HashMap<String, TraceGroup>,
) -> rusqlite::Result<()> {
    while let Some(r) = rows.next()? {
        let p = part(r)?;
        if p.trace_count > 0 {
            fold(groups, r.get(0)?, p);
        }
    }
    Ok(())
}

fn add_traces(
    conn: &Connection,
    pid: i64,
    by: TraceGroupBy,
    from: u64,
    to: u64,
    groups: &mut HashMap<String, TraceGroup>,
) -> rusqlite::Result<()> {
    let (col, dim) = column(by);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {col}, 1, start_ns, start_ns, end_ns, span_count, llm_call_count, \
         input_tokens, output_tokens, cache_read_tokens, error_count, cost_pico, \
         unpriced_span_count, CASE WHEN ?4 = 0 THEN user_id END FROM traces \
         WHERE project_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 AND {col} IS NOT NULL"
    ))?;
    let rows = stmt.query(params![pid, int(from), int(to), dim])?;
    fold_rows(rows, groups)
}
