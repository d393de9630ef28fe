//! Retention on the embedded store: traces that started before their project's cutoff are
//! deleted with everything that belongs to them (spans, span blobs, search entries, logs,
//! scores, provider-response claims, the messages no remaining span refers to), a bounded batch per writer transaction, so ingest's group
//! commits run between batches and the writer is never held long. SQLite puts the freed pages on
//! its free list and the next writes reuse them: under steady traffic the file stops growing.

use crate::int::int;
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

/// Which traces have expired: those that started before the cutoff of their project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expiry {
    /// Cutoff (Unix nanoseconds) of a project not in `projects`; `None`: kept forever.
    pub default_before_ns: Option<u64>,
    /// Cutoff per project name; wins over the default.
    pub projects: BTreeMap<String, u64>,
}

impl Expiry {
    /// The cutoff of `project`, if it has one.
    fn before(&self, project: &str) -> Option<u64> {
        self.projects
            .get(project)
            .copied()
            .or(self.default_before_ns)
    }
}

/// What a retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Traces deleted.
    pub traces: u64,
    /// Spans deleted with them.
    pub spans: u64,
}

impl Expired {
    /// Adds what another batch deleted.
    pub(crate) fn add(&mut self, other: Expired) {
        self.traces = self.traces.saturating_add(other.traces);
        self.spans = self.spans.saturating_add(other.spans);
    }
}

/// Deletes at most `max_traces` expired traces, with what belongs to them, in one transaction.
pub(crate) fn expire_batch(
    conn: &mut Connection,
    expiry: &Expiry,
    max_traces: usize,
) -> rusqlite::Result<Expired> {
    let tx = conn.transaction()?;
    let projects: Vec<(i64, String)> = tx
        .prepare_cached("SELECT id, name FROM projects")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Expired::default();
    let mut left = i64::try_from(max_traces).unwrap_or(i64::MAX);
    for (pid, name) in projects {
        let Some(before) = expiry.before(&name) else {
            continue;
        };
        if left <= 0 {
            break;
        }
        let expired: Vec<(i64, i64, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT id, trace_key, trace_id FROM traces \
                 WHERE project_id = ?1 AND start_ns < ?2 ORDER BY start_ns LIMIT ?3",
            )?
            .query_map(params![pid, int(before), left], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        for (trace_ref, trace_key, trace_id) in expired {
            out.spans = out
                .spans
                .saturating_add(delete_trace(&tx, pid, trace_ref, trace_key, &trace_id)?);
            out.traces = out.traces.saturating_add(1);
            left = left.saturating_sub(1);
        }
        crate::messages::collect(&tx, pid)?;
    }
    crate::rollup_fold::fold(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// Bytes of the database's pages in use (the file less its free pages; the WAL is not counted:
/// it is checkpointed back into those pages).
pub(crate) fn used_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pragma = |name: &str| -> rusqlite::Result<i64> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
    };
    let pages = pragma("page_count")?.saturating_sub(pragma("freelist_count")?);
    let bytes = pages.saturating_mul(pragma("page_size")?);
    Ok(u64::try_from(bytes).unwrap_or(0))
}

/// Deletes the at most `max_traces` oldest traces of the project whose oldest trace is the
/// oldest of all, in one transaction (each project's traces are indexed by start time).
pub(crate) fn expire_oldest_batch(
    conn: &mut Connection,
    max_traces: usize,
) -> rusqlite::Result<Expired> {
    let tx = conn.transaction()?;
    let projects: Vec<i64> = tx
        .prepare_cached("SELECT id FROM projects")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut oldest: Option<(i64, i64)> = None;
    for pid in projects {
        let first: Option<i64> = tx
            .prepare_cached("SELECT min(start_ns) FROM traces WHERE project_id = ?1")?
            .query_row([pid], |r| r.get(0))?;
        if let Some(start) = first {
            if oldest.is_none_or(|(_, s)| start < s) {
                oldest = Some((pid, start));
            }
        }
    }
    let mut out = Expired::default();
    if let Some((pid, _)) = oldest {
        let limit = i64::try_from(max_traces).unwrap_or(i64::MAX);
        let victims: Vec<(i64, i64, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT id, trace_key, trace_id FROM traces WHERE project_id = ?1 \
                 ORDER BY start_ns LIMIT ?2",
            )?
            .query_map(params![pid, limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        for (trace_ref, trace_key, trace_id) in victims {
            out.spans = out
                .spans
                .saturating_add(delete_trace(&tx, pid, trace_ref, trace_key, &trace_id)?);
            out.traces = out.traces.saturating_add(1);
        }
        crate::messages::collect(&tx, pid)?;
    }
    crate::rollup_fold::fold(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// Deletes one trace and everything that belongs to it; the number of spans it had.
fn delete_trace(
    tx: &rusqlite::Transaction<'_>,
    pid: i64,
    trace_ref: i64,
    trace_key: i64,
    trace_id: &[u8],
) -> rusqlite::Result<u64> {
    tx.prepare_cached(
        "DELETE FROM span_text WHERE rowid IN (SELECT id FROM spans WHERE trace_ref = ?1)",
    )?
    .execute([trace_ref])?;
    tx.prepare_cached(
        "DELETE FROM span_blobs WHERE id IN (SELECT blob_id FROM spans WHERE trace_ref = ?1)",
    )?
    .execute([trace_ref])?;
    let spans = tx
        .prepare_cached("DELETE FROM spans WHERE trace_ref = ?1")?
        .execute([trace_ref])?;
    tx.prepare_cached("DELETE FROM call_responses WHERE project_id = ?1 AND trace_ref = ?2")?
        .execute([pid, trace_ref])?;
    tx.prepare_cached(
        "DELETE FROM logs WHERE project_id = ?1 AND trace_key = ?2 AND trace_id = ?3",
    )?
    .execute(params![pid, trace_key, trace_id])?;
    tx.prepare_cached("DELETE FROM scores WHERE project_id = ?1 AND trace_id = ?2")?
        .execute(params![pid, lower_hex(trace_id)])?;
    tx.prepare_cached("DELETE FROM traces WHERE id = ?1")?
        .execute([trace_ref])?;
    Ok(u64::try_from(spans).unwrap_or(u64::MAX))
}

/// Bytes as lowercase hex (scores name their trace by its hex id).
fn lower_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::{LogRecord, Score, Span, SpanId, TraceId};
    use llmtrace_store::{SpanWriter, TraceReader, WriteBatch};
    use std::sync::Arc;

    fn count(store: &crate::SqliteStore, table: &str) -> i64 {
        let c = Connection::open(store.path()).unwrap();
        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn an_expired_trace_leaves_nothing_behind_and_a_recent_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open_dir(dir.path()).unwrap();
        // Model calls, so their call rollups must follow them out.
        let span = |trace: u8, start: u64| {
            let mut s = Span {
                project: "p".into(),
                trace_id: TraceId([trace; 16]),
                span_id: SpanId([1; 8]),
                name: "s".into(),
                kind: llmtrace_model::SpanKind::Llm,
                start_unix_nano: start,
                end_unix_nano: start + 1,
                counts_usage: true,
                ..Default::default()
            };
            s.gen_ai.request_model = Some("m".into());
            s.gen_ai.session_id = Some(format!("session-{trace}"));
            s.gen_ai.user_id = Some("user".into());
            s.usage.input = Some(5);
            s
        };
        const TWO_DAYS: u64 = 2 * 86_400 * 1_000_000_000;
        let log = LogRecord {
            project: "p".into(),
            time_unix_nano: 1_000,
            trace_id: Some(TraceId([1; 16])),
            span_id: Some(SpanId([1; 8])),
            event_name: "gen_ai.user.message".into(),
            ..Default::default()
        };
        let score = Score {
            project: "p".into(),
            id: "s1".into(),
            trace_id: TraceId([1; 16]).to_hex(),
            name: "quality".into(),
            value: Some(1.0),
            data_type: "NUMERIC".into(),
            source: "API".into(),
            timestamp_unix_nano: 1_000,
            ..Default::default()
        };
        store
            .write(Arc::new(WriteBatch {
                spans: vec![span(1, 1_000), span(2, TWO_DAYS)],
                logs: vec![log],
                scores: vec![score],
            }))
            .await
            .unwrap();
        // Ten seconds, a minute, an hour and a day of rollup per call.
        assert_eq!(count(&store, "call_rollups"), 8);
        // An hour of each session and two of the user.
        assert_eq!(count(&store, "trace_group_hours"), 4);
        let expiry = Expiry {
            default_before_ns: None,
            projects: [("p".to_string(), 1_000_000)].into(),
        };
        let done = store.expire(&expiry, 1).await.unwrap();
        assert_eq!(
            done,
            Expired {
                traces: 1,
                spans: 1
            }
        );
        for (table, left) in [
            ("traces", 1),
            ("spans", 1),
            ("span_blobs", 1),
            ("logs", 0),
            ("scores", 0),
            ("call_rollups", 4),
            ("trace_group_hours", 2),
        ] {
            assert_eq!(count(&store, table), left, "{table}");
        }
        let stats = store
            .stats(&llmtrace_store::StatsQuery {
                project: "p".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            stats
                .iter()
                .map(|g| (g.calls, g.input_tokens))
                .collect::<Vec<_>>(),
            vec![(1, 5)]
        );
        // Nothing else has expired; a project without retention keeps everything.
        assert_eq!(store.expire(&expiry, 10).await.unwrap(), Expired::default());
        let none = Expiry::default();
        assert_eq!(store.expire(&none, 10).await.unwrap(), Expired::default());
    }
}
