//! The message table of the embedded store (`llmtrace_store::messages`): each distinct long
//! message (or raw attribute element) of a project once, keyed by its hash, its JSON
//! compressed like a blob.
//!
//! A row is kept while a span may refer to it: `keep_until_ns` is at least the start of every
//! span that referred to it (the latest such start, rounded up to a whole UTC day so a message
//! used all day long is rewritten once a day, not at every use). Every remaining trace of a
//! project started at or after the project's oldest remaining trace start, so a row whose
//! `keep_until_ns` is older than that start has no span left: retention deletes those
//! ([`collect`]). Until then a row no span refers to any more (a span replaced by its complete
//! copy) stays; it costs its bytes, never a wrong answer.

use crate::int::int;
use crate::rows::{json_of, SpanDetail};
use llmtrace_store::messages::{Bodies, MessageHash, MessageRow};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

const DAY_NS: u64 = 86_400_000_000_000;

/// The `keep_until_ns` of a message used by a span that started at `start_ns`: the start
/// rounded up to the next UTC day; forever (`i64::MAX`) for a span without a start, whose trace
/// may start at any time.
pub(crate) fn keep_until(start_ns: u64) -> i64 {
    if start_ns == 0 {
        return i64::MAX;
    }
    let day = start_ns / DAY_NS;
    int(day.saturating_add(1).saturating_mul(DAY_NS))
}

/// Inserts the message `hash` of a project with its stored bytes, or moves an existing row's
/// `keep_until_ns` later.
pub(crate) fn save(
    conn: &Connection,
    project_id: i64,
    hash: &MessageHash,
    keep_until_ns: i64,
    data: &[u8],
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO messages (project_id, hash, keep_until_ns, data) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (project_id, hash) DO UPDATE SET keep_until_ns = excluded.keep_until_ns \
         WHERE excluded.keep_until_ns > messages.keep_until_ns",
    )?
    .execute(params![project_id, &hash[..], keep_until_ns, data])?;
    Ok(())
}

/// Stores the rows of one span's detail written by the writer itself (a span stored changed,
/// which is rare), uncompressed: the compression context is encoding the batch meanwhile.
pub(crate) fn save_span_rows(
    conn: &Connection,
    project_id: i64,
    start_ns: u64,
    rows: Vec<MessageRow>,
) -> rusqlite::Result<()> {
    for row in rows {
        save(conn, project_id, &row.hash, keep_until(start_ns), &row.body)?;
    }
    Ok(())
}

/// Puts back the messages `details` (of project `project_id`) refer to.
pub(crate) fn resolve(
    conn: &Connection,
    project_id: i64,
    details: &mut [SpanDetail],
) -> Result<(), String> {
    let mut hashes = Vec::new();
    for d in details.iter() {
        d.message_refs(&mut hashes)?;
    }
    if hashes.is_empty() {
        return Ok(());
    }
    let bodies = load(conn, project_id, hashes)?;
    for d in details.iter_mut() {
        d.resolve_messages(&bodies)?;
    }
    Ok(())
}

/// The messages of `hashes` in the project's table (a missing one is left out).
fn load(
    conn: &Connection,
    project_id: i64,
    mut hashes: Vec<MessageHash>,
) -> Result<Bodies, String> {
    hashes.sort_unstable();
    hashes.dedup();
    let mut stmt = conn
        .prepare_cached("SELECT data FROM messages WHERE project_id = ?1 AND hash = ?2")
        .map_err(|e| e.to_string())?;
    let mut out = HashMap::with_capacity(hashes.len());
    for hash in hashes {
        let data: Option<Vec<u8>> = stmt
            .query_row(params![project_id, &hash[..]], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())?;
        if let Some(data) = data {
            out.insert(hash, json_of(&data)?.into_owned());
        }
    }
    Ok(out)
}

/// Deletes the messages of a project no remaining span can refer to (module doc); the number
/// deleted.
pub(crate) fn collect(conn: &Connection, project_id: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "DELETE FROM messages WHERE project_id = ?1 AND keep_until_ns < \
         coalesce((SELECT min(start_ns) FROM traces WHERE project_id = ?1), ?2)",
    )?
    .execute(params![project_id, i64::MAX])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_until_rounds_up_to_the_next_day() {
        assert_eq!(keep_until(0), i64::MAX);
        assert_eq!(keep_until(1), int(DAY_NS));
        assert_eq!(keep_until(DAY_NS - 1), int(DAY_NS));
        assert_eq!(keep_until(DAY_NS), int(2 * DAY_NS));
        assert_eq!(keep_until(u64::MAX), i64::MAX);
    }
}
