//! The read path. The trace list, sessions and users read the writers' per-trace summary rows
//! (`summaries.rs`), statistics the writers' call rows (`calls.rs`); the backfills of both
//! compute rollups from `spans` (`FINAL`, so each span's latest copy only), applying the
//! counting rule in SQL: a call span
//! counts unless a call span of the same trace names it as parent (an `ANY LEFT JOIN` against
//! the set of call parents). The SQL aggregates mirror `rows::summarize`, which computes the
//! same summary in Rust for one trace. The full-text filter picks trace ids from `span_text`
//! (`search.rs`).

use crate::client::{lit, Client};
use crate::newest::{Below, Walk};
use crate::rows::{SpanRow, ALL_COLUMNS, KEY_COLUMNS_USED};
use crate::summaries::SummaryRow;
use crate::world::World;
use llmtrace_model::{LogRecord, TraceId};
use llmtrace_store::{
    StoreError, StoredSpan, TraceCursor, TraceDetail, TracePage, TraceQuery, TraceSort,
    MAX_PAGE_SIZE,
};
use serde::Deserialize;

/// Columns of `spans` the trace rollup needs.
const ROLLUP_COLUMNS: &str = "trace_id, span_id, name, service, root_key, not_root, start_ns, \
    end_ns, status, is_call, counts_usage, input_tokens, output_tokens, cache_read_tokens, \
    cache_write_tokens, reasoning_tokens, cost_computed, cost_reported, unpriced, user_id, \
    session_id, provider, request_model, response_model";

/// Spans of a project (restricted by `filter`, a SQL condition) with `nest_counted`: a call
/// span that no call span of its trace names as parent. `parents` restricts the call spans
/// looked at as parents (a condition that keeps every trace `filter` keeps).
fn nest_counted_spans(db: &str, p: &str, columns: &str, filter: &str, parents: &str) -> String {
    format!(
        "SELECT {columns}, toUInt8(is_call = 1 AND has_call_child = 0) AS nest_counted FROM \
         (SELECT {columns} FROM {db}.spans FINAL WHERE project = {p}{filter}) AS l \
         ANY LEFT JOIN \
         (SELECT trace_id, parent_span_id AS span_id, toUInt8(1) AS has_call_child \
          FROM {db}.spans FINAL WHERE project = {p} AND is_call = 1 AND parent_span_id != ''{parents} \
          GROUP BY trace_id, span_id) AS r \
         USING (trace_id, span_id)"
    )
}

/// Spans of a project (restricted by `filter`) with their `counted` flag, the counting rule of
/// `world.rs` in SQL: nest-counting, and for a span carrying a provider response id, the
/// smallest claim key among the project's nest-counting call spans with that id. `columns` must
/// name neither `response_id` nor `claim_key`.
///
/// `scope`, when not empty, is a condition keeping whole traces that every span `filter` keeps
/// satisfies (a trace-id filter): the joins then read only the call spans of those traces and,
/// for the claims, of the traces sharing a response id with them, instead of the whole
/// project's.
fn counted_spans(db: &str, project: &str, columns: &str, filter: &str, scope: &str) -> String {
    let p = lit(project);
    let with_claims = format!("{columns}, response_id, claim_key");
    let nest = nest_counted_spans(db, &p, &with_claims, filter, scope);
    let (claim_filter, claim_parents) = if scope.is_empty() {
        (String::new(), String::new())
    } else {
        let rids = format!(
            "SELECT response_id FROM {db}.spans WHERE project = {p} AND is_call = 1 \
             AND response_id != ''{scope}"
        );
        (
            format!(" AND response_id GLOBAL IN ({rids})"),
            format!(
                " AND trace_id GLOBAL IN (SELECT trace_id FROM {db}.spans WHERE project = {p} \
                 AND is_call = 1 AND response_id GLOBAL IN ({rids}))"
            ),
        )
    };
    let claimants = nest_counted_spans(
        db,
        &p,
        "trace_id, span_id, is_call, response_id, claim_key",
        &format!(" AND is_call = 1 AND response_id != ''{claim_filter}"),
        &claim_parents,
    );
    format!(
        "SELECT {columns}, \
         toUInt8(nest_counted = 1 AND (response_id = '' OR claim_key = owner_key)) AS counted \
         FROM ({nest}) AS l \
         ANY LEFT JOIN \
         (SELECT response_id, min(claim_key) AS owner_key FROM ({claimants}) \
          WHERE nest_counted = 1 GROUP BY response_id) AS r \
         USING (response_id)"
    )
}

// Token and cost sums saturate instead of wrapping around (ClickHouse's integer sums wrap, and
// the counts come from clients): `if(sum(toFloat64(x)) >= max, max, sum(x))`.

/// The effective cost of a row (reported wins), 0 when unknown.
pub(crate) const EFFECTIVE_COST: &str = "ifNull(cost_reported, ifNull(cost_computed, toInt64(0)))";
/// Whether a row's cost is unknown although it is a priced-model call (1/0).
pub(crate) const UNPRICED: &str =
    "unpriced * toUInt8(isNull(cost_reported) AND isNull(cost_computed))";

/// The per-trace rollup query: one row per trace of the project with a span matching
/// `filter` (a SQL condition on `spans` that must keep or drop whole traces, as a trace id
/// filter does).
///
/// `filter` also serves as the scope of [`counted_spans`], so it must keep or drop whole traces.
fn trace_rollups(db: &str, project: &str, filter: &str) -> String {
    let inner = counted_spans(db, project, ROLLUP_COLUMNS, filter, filter);
    format!(
        "SELECT trace_id, \
         argMin(name, root_key) AS root_name, \
         toUInt8(min(not_root) = 0) AS has_root, \
         argMin(service, root_key) AS root_service, \
         min(start_ns) AS t_start, \
         max(end_ns) AS t_end, \
         toInt64(greatest(t_end, t_start) - t_start) AS t_duration, \
         count() AS span_count, \
         toUInt64(sum(counted)) AS llm_call_count, \
         if(sum(toFloat64(counted * counts_usage * input_tokens)) >= 18446744073709551615., toUInt64(18446744073709551615), toUInt64(sum(counted * counts_usage * input_tokens))) AS t_input, \
         if(sum(toFloat64(counted * counts_usage * output_tokens)) >= 18446744073709551615., toUInt64(18446744073709551615), toUInt64(sum(counted * counts_usage * output_tokens))) AS t_output, \
         if(sum(toFloat64(counted * counts_usage * cache_read_tokens)) >= 18446744073709551615., toUInt64(18446744073709551615), toUInt64(sum(counted * counts_usage * cache_read_tokens))) AS t_cache_read, \
         if(sum(toFloat64(counted * counts_usage * cache_write_tokens)) >= 18446744073709551615., toUInt64(18446744073709551615), toUInt64(sum(counted * counts_usage * cache_write_tokens))) AS t_cache_write, \
         if(sum(toFloat64(counted * counts_usage * reasoning_tokens)) >= 18446744073709551615., toUInt64(18446744073709551615), toUInt64(sum(counted * counts_usage * reasoning_tokens))) AS t_reasoning, \
         toUInt64(countIf(status = 2)) AS error_count, \
         if(sum(toFloat64(if(counted = 1, {EFFECTIVE_COST}, toInt64(0)))) >= 9223372036854775807., toInt64(9223372036854775807), toInt64(sum(if(counted = 1, {EFFECTIVE_COST}, toInt64(0))))) AS t_cost, \
         toUInt64(sum(counted * {UNPRICED})) AS t_unpriced, \
         toUInt64(sum(counted * toUInt8(isNotNull(cost_reported)))) AS t_reported, \
         toUInt64(sum(counted * toUInt8(status = 2))) AS t_failed_calls, \
         argMinIf(user_id, root_key, user_id != '') AS t_user, \
         argMinIf(session_id, root_key, session_id != '') AS t_session, \
         groupUniqArray(service) AS t_services, \
         groupUniqArrayIf(request_model, is_call = 1 AND request_model != '') AS t_req_models, \
         groupUniqArrayIf(response_model, is_call = 1 AND response_model != '') AS t_resp_models, \
         groupUniqArrayIf(provider, is_call = 1 AND provider != '') AS t_providers \
         FROM ({inner}) GROUP BY trace_id"
    )
}

/// The project's spans kept by `filter` with their `counted` flag (see [`counted_spans`];
/// `columns` must name neither `response_id` nor `claim_key`): the backfill of `calls`.
pub(crate) fn counted_spans_sql(db: &str, project: &str, columns: &str, filter: &str) -> String {
    counted_spans(db, project, columns, filter, "")
}

/// The rollups of the project's traces kept by `filter` (a condition keeping whole traces, or
/// empty for all), computed from their spans (the backfill of `trace_summaries`).
pub(crate) fn trace_rollups_sql(db: &str, project: &str, filter: &str) -> String {
    trace_rollups(db, project, filter)
}

/// The rollup column a trace search sorts by.
pub(crate) fn sort_column(sort: TraceSort) -> &'static str {
    match sort {
        TraceSort::Time => "t_start",
        TraceSort::Cost => "t_cost",
        TraceSort::Duration => "t_duration",
    }
}

/// The trace ids with a score matching `f` (the latest copy of each score id), as a condition.
fn score_condition(db: &str, project: &str, f: &llmtrace_store::ScoreFilter) -> String {
    // Score details are flat JSON objects (`llmtrace_model::Score`); the simple `visitParam`
    // functions read them on ClickHouse 18.16 and current releases alike.
    let mut parts = vec![
        format!("project = {}", lit(project)),
        format!("visitParamExtractString(detail, 'name') = {}", lit(&f.name)),
    ];
    let value_known = "visitParamExtractRaw(detail, 'value') NOT IN ('', 'null')";
    if let Some(min) = f.min.filter(|x| x.is_finite()) {
        parts.push(format!(
            "{value_known} AND visitParamExtractFloat(detail, 'value') >= {min:?}"
        ));
    }
    if let Some(max) = f.max.filter(|x| x.is_finite()) {
        parts.push(format!(
            "{value_known} AND visitParamExtractFloat(detail, 'value') <= {max:?}"
        ));
    }
    if let Some(label) = &f.label {
        parts.push(format!(
            "visitParamExtractString(detail, 'string_value') = {}",
            lit(label)
        ));
    }
    format!(
        "trace_id GLOBAL IN (SELECT trace_id FROM {db}.scores FINAL WHERE {})",
        parts.join(" AND ")
    )
}

/// A trace search's filters and cursor as conditions on the rollup's columns.
fn list_conditions(db: &str, q: &TraceQuery) -> Vec<String> {
    let mut conditions: Vec<String> = Vec::new();
    if let Some(s) = &q.service {
        conditions.push(format!("has(t_services, {})", lit(s)));
    }
    if let Some(m) = &q.model {
        let m = lit(m);
        conditions.push(format!(
            "(has(t_req_models, {m}) OR has(t_resp_models, {m}))"
        ));
    }
    if let Some(p) = &q.provider {
        conditions.push(format!("has(t_providers, {})", lit(p)));
    }
    if let Some(u) = &q.user_id {
        conditions.push(format!("t_user = {}", lit(u)));
    }
    if let Some(s) = &q.session_id {
        conditions.push(format!("t_session = {}", lit(s)));
    }
    conditions.extend(time_conditions(q.since_unix_nano, q.until_unix_nano));
    if let Some(d) = q.min_duration_nanos {
        conditions.push(format!("toInt64(t_end) - toInt64(t_start) >= {d}"));
    }
    if let Some(c) = q.min_cost_pico {
        conditions.push(format!("t_cost >= {c}"));
    }
    if q.errors_only {
        conditions.push("error_count > 0".into());
    }
    for f in &q.scores {
        conditions.push(score_condition(db, &q.project, f));
    }
    if let Some(name) = &q.without_score {
        conditions.push(format!(
            "trace_id GLOBAL NOT IN (SELECT trace_id FROM {db}.scores FINAL WHERE project = {} \
             AND visitParamExtractString(detail, 'name') = {})",
            lit(&q.project),
            lit(name)
        ));
    }
    if let Some(c) = &q.cursor {
        let key = sort_column(q.sort);
        let k = match q.sort {
            // Start times are unsigned; a negative cursor key is before every trace.
            TraceSort::Time if c.sort_key < 0 => "0".to_string(),
            _ => c.sort_key.to_string(),
        };
        let t = lit(&c.trace_id.to_hex());
        conditions.push(format!("({key} < {k} OR ({key} = {k} AND trace_id < {t}))"));
    }
    conditions
}

/// Conditions on the trace start (`t_start`) for a time range.
fn time_conditions(since: Option<u64>, until: Option<u64>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = since {
        out.push(format!("t_start >= {t}"));
    }
    if let Some(t) = until {
        out.push(format!("t_start < {t}"));
    }
    out
}

/// Trace summaries, in the query's order (newest, costliest or longest first), read from the
/// per-trace summary rows the writers keep (`summaries.rs`).
pub(crate) async fn list_traces(
    ch: &Client,
    db: &str,
    q: &TraceQuery,
) -> Result<TracePage, StoreError> {
    let limit = q.limit.clamp(1, MAX_PAGE_SIZE);
    let list = list_conditions(db, q);
    let conditions = if list.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", list.join(" AND "))
    };
    let key = sort_column(q.sort);
    let walked = if q.sort == TraceSort::Time {
        newest_first(ch, db, q, &list, limit).await?
    } else {
        let only_time = list.len() == time_conditions(q.since_unix_nano, q.until_unix_nano).len();
        crate::group_folds::top_traces(ch, db, q, limit, only_time).await?
    };
    let rows: Vec<SummaryRow> = match walked {
        Some(rows) => rows,
        None => {
            let filter = crate::search::scan_filter(ch, db, &q.project, q.text.as_deref()).await?;
            // With a start time, the time-ordered copy of the summaries is read from there
            // only (a primary-key range), skipping the tombstones of moved starts.
            let source = match q.since_unix_nano {
                Some(since) => {
                    let mut keys = format!(" AND t_start >= {since}");
                    if let Some(until) = q.until_unix_nano {
                        keys.push_str(&format!(" AND t_start < {until}"));
                    }
                    keys.push_str(&filter);
                    format!(
                        "SELECT * FROM ({}) WHERE deleted = 0",
                        crate::summaries::list_sql(db, &q.project, &keys)
                    )
                }
                None => crate::summaries::summaries_sql(db, &q.project, &filter),
            };
            // The conditions apply after `FINAL` has picked each trace's latest summary.
            let sql = format!(
                "SELECT * FROM ({source}){conditions} ORDER BY {key} DESC, trace_id DESC \
                 LIMIT {}",
                limit.saturating_add(1)
            );
            ch.select(&sql).await?
        }
    };
    let mut traces = rows
        .into_iter()
        .map(SummaryRow::into_summary)
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::Permanent)?;
    let next_cursor = if traces.len() > limit {
        traces.truncate(limit);
        traces.last().map(|t| TraceCursor {
            sort_key: match q.sort {
                TraceSort::Time => i64::try_from(t.start_unix_nano).unwrap_or(i64::MAX),
                other => other.key_of(t),
            },
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

/// The newest-first page (and one more summary) read from `trace_list` (`newest.rs`); `None`
/// when the walk gave up and the scan must answer.
async fn newest_first(
    ch: &Client,
    db: &str,
    q: &TraceQuery,
    conditions: &[String],
    limit: usize,
) -> Result<Option<Vec<SummaryRow>>, StoreError> {
    let mut top = Below {
        t_start: u64::MAX,
        trace_id: None,
    };
    if let Some(c) = &q.cursor {
        let Ok(t_start) = u64::try_from(c.sort_key) else {
            // Start times are unsigned: nothing is below a negative cursor.
            return Ok(Some(Vec::new()));
        };
        top = Below {
            t_start,
            trace_id: Some(c.trace_id.to_hex()),
        };
    }
    if let Some(until) = q.until_unix_nano.filter(|u| *u <= top.t_start) {
        top = Below {
            t_start: until,
            trace_id: None,
        };
    }
    crate::newest::walk(
        ch,
        &Walk {
            db,
            project: &q.project,
            top,
            since: q.since_unix_nano.unwrap_or(0),
            conditions,
            text: &crate::search::word_patterns(q.text.as_deref()),
            wanted: limit.saturating_add(1),
        },
    )
    .await
}

#[derive(Deserialize)]
struct DetailRow {
    detail: String,
}

/// One trace with its spans, scores and logs: the three reads (each by primary key) at once,
/// then the response claims of its calls (the counting rule may involve other traces).
pub(crate) async fn get_trace(
    ch: &Client,
    db: &str,
    project: &str,
    trace_id: TraceId,
) -> Result<Option<TraceDetail>, StoreError> {
    let (p, t) = (lit(project), lit(&trace_id.to_hex()));
    let spans = format!(
        "SELECT {ALL_COLUMNS} FROM {db}.spans FINAL WHERE project = {p} AND trace_id = {t} \
         ORDER BY start_ns, span_id"
    );
    let scores = format!(
        "SELECT detail FROM {db}.scores FINAL WHERE project = {p} AND trace_id = {t} \
         ORDER BY time_ns, score_id"
    );
    let logs = format!(
        "SELECT detail FROM {db}.logs FINAL WHERE project = {p} AND trace_id = {t} \
         ORDER BY time_ns, log_hash"
    );
    let (rows, scores, logs): (Vec<SpanRow>, Vec<DetailRow>, Vec<DetailRow>) =
        tokio::try_join!(ch.select(&spans), ch.select(&scores), ch.select(&logs))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut world = World::default();
    for r in &rows {
        world.add(r.clone());
    }
    world.load_responses(ch, db, []).await?;
    let key = (project.to_string(), trace_id.to_hex());
    let Some((summary, counted)) = world.summarize(&key).map_err(StoreError::Permanent)? else {
        return Ok(None);
    };
    let unreadable = |m: String| StoreError::Permanent(format!("trace {trace_id}: {m}"));
    // Each detail parsed once: its references name the messages to load.
    let details = rows
        .iter()
        .map(SpanRow::detail)
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    let mut refs = Vec::new();
    for d in &details {
        d.message_refs(&mut refs).map_err(unreadable)?;
    }
    let mut bodies = Default::default();
    crate::messages::load_refs(ch, db, refs.into_iter().map(|h| (project, h)), &mut bodies).await?;
    let mut spans = Vec::with_capacity(rows.len());
    for (r, mut d) in rows.iter().zip(details) {
        d.resolve_messages(&bodies).map_err(unreadable)?;
        spans.push(StoredSpan {
            span: r.span_with(d).map_err(unreadable)?,
            usage_counted: counted.get(&r.span_id).copied().unwrap_or(false),
        });
    }
    let scores = crate::annotations::live_scores(scores.into_iter().map(|r| r.detail))?;
    let logs = logs
        .iter()
        .map(|r| serde_json::from_str::<LogRecord>(&r.detail))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Permanent(format!("logs of trace {trace_id}: {e}")))?;
    Ok(Some(TraceDetail {
        summary,
        spans,
        scores,
        logs,
    }))
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

/// Traces without a root span whose spans all ended before `before` (all projects).
pub(crate) async fn orphan_traces(ch: &Client, db: &str, before: u64) -> Result<u64, StoreError> {
    let rows: Vec<Count> = ch
        .select(&format!(
            "SELECT toUInt64(count()) AS n FROM (SELECT project, trace_id, min(not_root) AS nr, \
             max(end_ns) AS e FROM {db}.spans FINAL WHERE {KEY_COLUMNS_USED} \
             GROUP BY project, trace_id) \
             WHERE nr = 1 AND e < {before}"
        ))
        .await?;
    Ok(rows.first().map_or(0, |r| r.n))
}

/// Bytes on disk of the database's active parts.
pub(crate) async fn size_bytes(ch: &Client, db: &str) -> Result<u64, StoreError> {
    let rows: Vec<Count> = ch
        .select(&format!(
            "SELECT toUInt64(sum(bytes_on_disk)) AS n FROM system.parts \
             WHERE database = {} AND active",
            lit(db)
        ))
        .await?;
    Ok(rows.first().map_or(0, |r| r.n))
}
