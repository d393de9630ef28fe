//! The write path: one transaction per group commit. Spans are inserted idempotently, the
//! counting rule of `llmtrace_store::TraceRollup` is applied with two narrow lookups per model
//! call, and each touched trace's rollup is read and written once per commit.

use crate::rows::{encode_log, encode_span_detail};
use crate::traces;
#[cfg(test)]
use llmtrace_model::SpanKind;
use llmtrace_model::{Span, TraceId};
use llmtrace_store::{TraceRollup, UsageTotals, WriteBatch, WriteOutcome};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashMap;

/// Kind codes of model calls (llm, embedding), as stored.
const CALL_KINDS: &str = "(0, 1)";

/// A failure inside the write transaction.
#[derive(Debug)]
pub(crate) enum WriteFailure {
    /// SQLite refused.
    Sql(rusqlite::Error),
    /// A value could not be encoded.
    Encode(String),
}

impl From<rusqlite::Error> for WriteFailure {
    fn from(e: rusqlite::Error) -> Self {
        WriteFailure::Sql(e)
    }
}

/// The writer's connection and the state it keeps between commits.
pub(crate) struct Writer {
    conn: Connection,
    project_ids: HashMap<String, i64>,
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> Self {
        Writer {
            conn,
            project_ids: HashMap::new(),
        }
    }

    /// Writes one batch in one transaction, committed durably before returning.
    pub(crate) fn write(&mut self, batch: &WriteBatch) -> Result<WriteOutcome, WriteFailure> {
        let tx = self.conn.transaction()?;
        let mut outcome = WriteOutcome::default();
        let mut rollups: HashMap<(i64, TraceId), (Option<i64>, TraceRollup)> = HashMap::new();
        let mut new_projects = Vec::new();
        for span in &batch.spans {
            let pid = project_id(&tx, &mut self.project_ids, &mut new_projects, &span.project)?;
            if !insert_span(&tx, pid, span, &mut rollups)? {
                outcome.spans_duplicate += 1;
                continue;
            }
            outcome.spans_written += 1;
        }
        for ((pid, _), (row_id, rollup)) in &rollups {
            traces::save(&tx, *pid, *row_id, rollup)?;
        }
        for log in &batch.logs {
            let pid = project_id(&tx, &mut self.project_ids, &mut new_projects, &log.project)?;
            let detail = encode_log(log).map_err(WriteFailure::Encode)?;
            tx.prepare_cached(
                "INSERT INTO logs (project_id, trace_key, trace_id, span_id, time_ns, event_name, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                pid,
                log.trace_id.map(|t| t.key_i64()),
                log.trace_id.map(|t| t.0.to_vec()),
                log.span_id.map(|s| s.0.to_vec()),
                log.time_unix_nano as i64,
                log.event_name,
                detail
            ])?;
            outcome.logs_written += 1;
        }
        match tx.commit() {
            Ok(()) => Ok(outcome),
            Err(e) => {
                // Ids cached during a rolled-back transaction do not exist.
                for p in new_projects {
                    self.project_ids.remove(&p);
                }
                Err(e.into())
            }
        }
    }
}

fn project_id(
    tx: &Transaction<'_>,
    cache: &mut HashMap<String, i64>,
    new_projects: &mut Vec<String>,
    name: &str,
) -> rusqlite::Result<i64> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    tx.prepare_cached("INSERT OR IGNORE INTO projects (name) VALUES (?1)")?
        .execute([name])?;
    let id: i64 = tx
        .prepare_cached("SELECT id FROM projects WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?;
    cache.insert(name.to_string(), id);
    new_projects.push(name.to_string());
    Ok(id)
}

/// Inserts one span unless stored already; returns whether it was new, and folds it into the
/// trace rollup following the counting rule.
fn insert_span(
    tx: &Transaction<'_>,
    pid: i64,
    span: &Span,
    rollups: &mut HashMap<(i64, TraceId), (Option<i64>, TraceRollup)>,
) -> Result<bool, WriteFailure> {
    let trace_key = span.trace_id.key_i64();
    let is_call = span.kind.is_model_call();
    // A call that already has a call child is a wrapper: it does not count.
    let has_call_child = is_call
        && tx
            .prepare_cached(&format!(
                "SELECT 1 FROM spans WHERE project_id = ?1 AND trace_key = ?2 AND trace_id = ?3 \
                 AND parent_span_id = ?4 AND kind IN {CALL_KINDS} LIMIT 1"
            ))?
            .exists(params![
                pid,
                trace_key,
                &span.trace_id.0[..],
                &span.span_id.0[..]
            ])?;
    let counted = is_call && !has_call_child;
    let detail = encode_span_detail(span).map_err(WriteFailure::Encode)?;
    let u = &span.usage;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO spans (project_id, trace_key, span_key, trace_id, span_id, parent_span_id, \
             name, service, kind, start_ns, end_ns, status, provider, operation, model, \
             input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
             counts_usage, counted, detail) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23) \
             ON CONFLICT (project_id, trace_key, span_key, trace_id) DO NOTHING",
        )?
        .execute(params![
            pid,
            trace_key,
            span.span_id.key_i64(),
            &span.trace_id.0[..],
            &span.span_id.0[..],
            span.parent_span_id.map(|p| p.0.to_vec()),
            span.name,
            span.service,
            span.kind.code(),
            span.start_unix_nano as i64,
            span.end_unix_nano as i64,
            span.status.code(),
            span.gen_ai.provider,
            span.gen_ai.operation,
            span.model(),
            u.input.map(|v| v as i64),
            u.output.map(|v| v as i64),
            u.cache_read.map(|v| v as i64),
            u.cache_write.map(|v| v as i64),
            u.reasoning.map(|v| v as i64),
            span.counts_usage,
            counted,
            detail,
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    let entry = match rollups.entry((pid, span.trace_id)) {
        std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            let loaded = traces::load(tx, pid, &span.trace_id)?;
            v.insert(match loaded {
                Some((id, r)) => (Some(id), r),
                None => (None, TraceRollup::new(span.trace_id)),
            })
        }
    };
    let rollup = &mut entry.1;
    rollup.add_span(span);
    if !is_call {
        return Ok(true);
    }
    if counted {
        rollup.add_usage(&UsageTotals::of_call(span));
    }
    // A counted call parent of this call is a wrapper: stop counting it.
    if let Some(parent) = span.parent_span_id {
        let wrapper = tx
            .prepare_cached(&format!(
                "SELECT id, counts_usage, input_tokens, output_tokens, cache_read_tokens, \
                 cache_write_tokens, reasoning_tokens FROM spans \
                 WHERE project_id = ?1 AND trace_key = ?2 AND span_key = ?3 AND trace_id = ?4 \
                 AND kind IN {CALL_KINDS} AND counted = 1"
            ))?
            .query_row(
                params![pid, trace_key, parent.key_i64(), &span.trace_id.0[..]],
                |r| {
                    let n = |i: usize| -> rusqlite::Result<u64> {
                        Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0) as u64)
                    };
                    let counts_usage: bool = r.get(1)?;
                    let usage = if counts_usage {
                        UsageTotals {
                            calls: 1,
                            input: n(2)?,
                            output: n(3)?,
                            cache_read: n(4)?,
                            cache_write: n(5)?,
                            reasoning: n(6)?,
                        }
                    } else {
                        UsageTotals {
                            calls: 1,
                            ..Default::default()
                        }
                    };
                    Ok((r.get::<_, i64>(0)?, usage))
                },
            )
            .optional()?;
        if let Some((row_id, usage)) = wrapper {
            tx.prepare_cached("UPDATE spans SET counted = 0 WHERE id = ?1")?
                .execute([row_id])?;
            rollup.sub_usage(&usage);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_kind_codes_match_the_model() {
        assert_eq!(
            CALL_KINDS,
            format!("({}, {})", SpanKind::Llm.code(), SpanKind::Embedding.code())
        );
    }
}
