//! Folds the rollup logs into the rollups, in the writing transaction, before it commits.
//!
//! The writer connection's triggers append one row per change to `call_rollup_log` and
//! `trace_group_log` ([`crate::rollup_log`]). The fold touches each rollup row once per
//! transaction instead of once per span:
//!
//! - call rollups: the dimension rows the log names are created, then every level's bucket
//!   gets the log's sums and merged latency sketch, and rows left without calls are dropped;
//! - session and user hours: the sums and the additions' extremes are applied, rows left
//!   without traces are dropped, and the extremes a removal may have taken with it (first and
//!   last start through the start-ordered session and user indexes; the latest end and a
//!   session's user only when no addition covers them) are read again from `traces`.
//!
//! Every transaction of this crate that changes spans or traces calls [`fold`] before its
//! commit, so the rollups a reader sees match the spans it sees.

use rusqlite::Connection;

/// Folds both logs and empties them.
pub(crate) fn fold(conn: &Connection) -> rusqlite::Result<()> {
    for sql in CALL_FOLD.iter().chain(GROUP_FOLD) {
        conn.prepare_cached(sql)?.execute([])?;
    }
    Ok(())
}

/// A log row's dimension row.
macro_rules! dims_of_log {
    () => {
        "d.project_id = l.project_id AND d.service = l.service AND d.model IS l.model \
         AND d.provider IS l.provider AND d.operation IS l.operation"
    };
}

const CALL_FOLD: &[&str] = &[
    concat!(
        "INSERT INTO rollup_dims (project_id, service, model, provider, operation) \
         SELECT DISTINCT project_id, service, model, provider, operation FROM call_rollup_log l \
         WHERE NOT EXISTS (SELECT 1 FROM rollup_dims d WHERE ",
        dims_of_log!(),
        ")"
    ),
    concat!(
        "INSERT INTO call_rollups (project_id, level, bucket_ns, dims_id, calls, errors, \
         input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
         cost_pico, unpriced_calls, latency) \
         SELECT l.project_id, v.level, l.start_ns - l.start_ns % v.width, d.id, \
         llmtrace_sat_sum(l.sign), llmtrace_sat_sum(l.sign * l.errors), \
         llmtrace_sat_sum(l.sign * l.input_tokens), llmtrace_sat_sum(l.sign * l.output_tokens), \
         llmtrace_sat_sum(l.sign * l.cache_read_tokens), \
         llmtrace_sat_sum(l.sign * l.cache_write_tokens), \
         llmtrace_sat_sum(l.sign * l.reasoning_tokens), llmtrace_sat_sum(l.sign * l.cost_pico), \
         llmtrace_sat_sum(l.sign * l.unpriced), llmtrace_sketch_agg(l.duration_ns, l.sign) \
         FROM call_rollup_log l, rollup_dims d, rollup_levels v WHERE ",
        dims_of_log!(),
        " GROUP BY 1, 2, 3, 4 \
         ON CONFLICT (project_id, level, bucket_ns, dims_id) DO UPDATE SET \
         calls = calls + excluded.calls, errors = errors + excluded.errors, \
         input_tokens = input_tokens + excluded.input_tokens, \
         output_tokens = output_tokens + excluded.output_tokens, \
         cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, \
         cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, \
         reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, \
         cost_pico = cost_pico + excluded.cost_pico, \
         unpriced_calls = unpriced_calls + excluded.unpriced_calls, \
         latency = llmtrace_sketch_merge(latency, excluded.latency)"
    ),
    concat!(
        "DELETE FROM call_rollups WHERE calls <= 0 AND (project_id, level, bucket_ns, dims_id) \
         IN (SELECT l.project_id, v.level, l.start_ns - l.start_ns % v.width, d.id \
         FROM call_rollup_log l, rollup_dims d, rollup_levels v WHERE l.sign < 0 AND ",
        dims_of_log!(),
        ")"
    ),
    "DELETE FROM call_rollup_log",
];

/// Reads an extreme of a session's (`$col` `session_id`) or user's hour again from `traces`.
macro_rules! hour_extreme {
    ($agg:literal, $col:literal) => {
        concat!(
            "(SELECT ",
            $agg,
            " FROM traces t WHERE t.project_id = h.project_id AND t.",
            $col,
            " = h.key AND t.start_ns >= h.hour_ns AND t.start_ns < h.hour_ns + 3600000000000)"
        )
    };
}

/// Re-reads the extremes of the `$dim` hours a removal touched.
macro_rules! group_extremes {
    ($dim:literal, $col:literal, $user:literal) => {
        concat!(
            "UPDATE trace_group_hours AS h SET \
             first_start = coalesce(",
            hour_extreme!("min(t.start_ns)", $col),
            ", h.first_start), last_start = coalesce(",
            hour_extreme!("max(t.start_ns)", $col),
            ", h.last_start), last_end = CASE WHEN h.last_end = r.rem_end AND \
             coalesce(r.add_end, -1) < r.rem_end THEN coalesce(",
            hour_extreme!("max(t.end_ns)", $col),
            ", h.last_end) ELSE h.last_end END, user_id = ",
            $user,
            " FROM (SELECT project_id, key, hour_ns, \
             max(CASE WHEN sign < 0 THEN end_ns END) AS rem_end, \
             max(CASE WHEN sign > 0 THEN end_ns END) AS add_end, \
             max(CASE WHEN sign < 0 THEN user_id END) AS rem_user, \
             max(CASE WHEN sign > 0 THEN user_id END) AS add_user \
             FROM trace_group_log WHERE dim = ",
            $dim,
            " GROUP BY project_id, key, hour_ns HAVING min(sign) < 0) AS r \
             WHERE h.project_id = r.project_id AND h.dim = ",
            $dim,
            " AND h.key = r.key AND h.hour_ns = r.hour_ns"
        )
    };
}

const GROUP_FOLD: &[&str] = &[
    "INSERT INTO trace_group_hours (project_id, dim, key, hour_ns, traces, first_start, \
     last_start, last_end, spans, calls, input_tokens, output_tokens, cache_read_tokens, errors, \
     cost_pico, unpriced, user_id) \
     SELECT project_id, dim, key, hour_ns, llmtrace_sat_sum(sign), \
     coalesce(min(CASE WHEN sign > 0 THEN start_ns END), 9223372036854775807), \
     coalesce(max(CASE WHEN sign > 0 THEN start_ns END), -1), \
     coalesce(max(CASE WHEN sign > 0 THEN end_ns END), -1), \
     llmtrace_sat_sum(sign * spans), llmtrace_sat_sum(sign * calls), \
     llmtrace_sat_sum(sign * input_tokens), llmtrace_sat_sum(sign * output_tokens), \
     llmtrace_sat_sum(sign * cache_read_tokens), llmtrace_sat_sum(sign * errors), \
     llmtrace_sat_sum(sign * cost_pico), llmtrace_sat_sum(sign * unpriced), \
     max(CASE WHEN sign > 0 THEN user_id END) \
     FROM trace_group_log WHERE 1 GROUP BY project_id, dim, key, hour_ns \
     ON CONFLICT (project_id, dim, key, hour_ns) DO UPDATE SET \
     traces = traces + excluded.traces, \
     first_start = min(first_start, excluded.first_start), \
     last_start = max(last_start, excluded.last_start), \
     last_end = max(last_end, excluded.last_end), spans = spans + excluded.spans, \
     calls = calls + excluded.calls, input_tokens = input_tokens + excluded.input_tokens, \
     output_tokens = output_tokens + excluded.output_tokens, \
     cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, \
     errors = errors + excluded.errors, cost_pico = cost_pico + excluded.cost_pico, \
     unpriced = unpriced + excluded.unpriced, user_id = CASE \
     WHEN excluded.user_id IS NULL THEN user_id WHEN user_id IS NULL THEN excluded.user_id \
     ELSE max(user_id, excluded.user_id) END",
    "DELETE FROM trace_group_hours WHERE traces <= 0 AND (project_id, dim, key, hour_ns) IN \
     (SELECT project_id, dim, key, hour_ns FROM trace_group_log WHERE sign < 0)",
    group_extremes!(
        "0",
        "session_id",
        "CASE WHEN h.user_id IS r.rem_user AND (r.add_user IS NULL OR r.add_user < r.rem_user) \
         THEN (SELECT max(t.user_id) FROM traces t WHERE t.project_id = h.project_id AND \
         t.session_id = h.key AND t.start_ns >= h.hour_ns AND t.start_ns < h.hour_ns + \
         3600000000000) ELSE h.user_id END"
    ),
    group_extremes!("1", "user_id", "NULL"),
    "DELETE FROM trace_group_log",
];
