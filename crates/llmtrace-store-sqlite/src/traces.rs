//! The `traces` rollup row: reading it into a [`TraceRollup`] and writing it back.

use crate::int::{count, int};
use crate::rows::{join_set, split_set};
use llmtrace_model::{SpanId, TraceId};
use llmtrace_store::RootKey;
use llmtrace_store::{TraceRollup, TraceSummary};
use rusqlite::{params, Connection, Row};

/// Columns read by [`rollup_from_row`], in order.
pub(crate) const TRACE_COLUMNS: &str = "id, trace_id, root_name, has_root, service, start_ns, end_ns, \
    span_count, llm_call_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, \
    reasoning_tokens, error_count, user_id, session_id, root_not_root, root_start_ns, root_span_id, \
    models, providers, services, cost_pico, unpriced_span_count, reported_cost_span_count, \
    failed_call_count";

/// Reads a row selected with [`TRACE_COLUMNS`] into (row id, rollup).
pub(crate) fn rollup_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, TraceRollup)> {
    let trace_id: Vec<u8> = r.get(1)?;
    let trace_id = TraceId::from_bytes(&trace_id).unwrap_or_default();
    let root_span_id: Vec<u8> = r.get(19)?;
    let summary = TraceSummary {
        trace_id,
        root_name: r.get(2)?,
        has_root: r.get(3)?,
        service: r.get(4)?,
        start_unix_nano: count(r.get::<_, i64>(5)?),
        end_unix_nano: count(r.get::<_, i64>(6)?),
        span_count: count(r.get::<_, i64>(7)?),
        llm_call_count: count(r.get::<_, i64>(8)?),
        input_tokens: count(r.get::<_, i64>(9)?),
        output_tokens: count(r.get::<_, i64>(10)?),
        cache_read_tokens: count(r.get::<_, i64>(11)?),
        cache_write_tokens: count(r.get::<_, i64>(12)?),
        reasoning_tokens: count(r.get::<_, i64>(13)?),
        error_count: count(r.get::<_, i64>(14)?),
        cost_pico: r.get(23)?,
        unpriced_span_count: count(r.get::<_, i64>(24)?),
        reported_cost_span_count: count(r.get::<_, i64>(25)?),
        failed_call_count: u64::try_from(r.get::<_, i64>(26)?).unwrap_or(0),
        user_id: r.get(15)?,
        session_id: r.get(16)?,
    };
    let root_key = RootKey {
        not_root: u8::try_from(r.get::<_, i64>(17)?).unwrap_or(u8::MAX),
        start_unix_nano: count(r.get::<_, i64>(18)?),
        span_id: SpanId::from_bytes(&root_span_id).unwrap_or_default(),
    };
    Ok((
        r.get(0)?,
        TraceRollup {
            summary,
            root_key: Some(root_key),
            models: split_set(&r.get::<_, String>(20)?),
            providers: split_set(&r.get::<_, String>(21)?),
            services: split_set(&r.get::<_, String>(22)?),
        },
    ))
}

/// Loads the rollup of a trace, if stored.
pub(crate) fn load(
    conn: &Connection,
    project_id: i64,
    trace_id: &TraceId,
) -> rusqlite::Result<Option<(i64, TraceRollup)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TRACE_COLUMNS} FROM traces WHERE project_id = ?1 AND trace_key = ?2 AND trace_id = ?3"
    ))?;
    let mut rows = stmt.query(params![project_id, trace_id.key_i64(), &trace_id.0[..]])?;
    match rows.next()? {
        Some(r) => Ok(Some(rollup_from_row(r)?)),
        None => Ok(None),
    }
}

/// Inserts (when `exists` is false, with the id the writer allocated) or updates a rollup.
pub(crate) fn save(
    conn: &Connection,
    project_id: i64,
    row_id: i64,
    exists: bool,
    r: &TraceRollup,
) -> rusqlite::Result<()> {
    let s = &r.summary;
    let key = r.root_key.unwrap_or(RootKey {
        not_root: 1,
        start_unix_nano: 0,
        span_id: SpanId::default(),
    });
    let values = params![
        project_id,
        s.trace_id.key_i64(),
        &s.trace_id.0[..],
        s.root_name,
        s.has_root,
        s.service,
        int(s.start_unix_nano),
        int(s.end_unix_nano),
        int(s.span_count),
        int(s.llm_call_count),
        int(s.input_tokens),
        int(s.output_tokens),
        int(s.cache_read_tokens),
        int(s.cache_write_tokens),
        int(s.reasoning_tokens),
        int(s.error_count),
        s.user_id,
        s.session_id,
        key.not_root as i64,
        int(key.start_unix_nano),
        &key.span_id.0[..],
        join_set(&r.models),
        join_set(&r.providers),
        join_set(&r.services),
        s.cost_pico,
        int(s.unpriced_span_count),
        int(s.reported_cost_span_count),
        row_id,
        i64::try_from(s.failed_call_count).unwrap_or(i64::MAX),
    ];
    match exists {
        false => conn
            .prepare_cached(
                "INSERT INTO traces (project_id, trace_key, trace_id, root_name, has_root, service, \
                 start_ns, end_ns, span_count, llm_call_count, input_tokens, output_tokens, \
                 cache_read_tokens, cache_write_tokens, reasoning_tokens, error_count, user_id, \
                 session_id, root_not_root, root_start_ns, root_span_id, models, providers, services, \
                 cost_pico, unpriced_span_count, reported_cost_span_count, id, failed_call_count) \
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29)",
            )?
            .execute(values)
            .map(|_| ()),
        true => conn
            .prepare_cached(
                "UPDATE traces SET root_name=?4, has_root=?5, service=?6, start_ns=?7, end_ns=?8, \
                 span_count=?9, llm_call_count=?10, input_tokens=?11, output_tokens=?12, \
                 cache_read_tokens=?13, cache_write_tokens=?14, reasoning_tokens=?15, \
                 error_count=?16, user_id=?17, session_id=?18, root_not_root=?19, \
                 root_start_ns=?20, root_span_id=?21, models=?22, providers=?23, services=?24, \
                 cost_pico=?25, unpriced_span_count=?26, reported_cost_span_count=?27, \
                 failed_call_count=?29 WHERE id=?28 AND project_id=?1 AND trace_key=?2 AND trace_id=?3",
            )?
            .execute(values)
            .map(|_| ()),
    }
}
