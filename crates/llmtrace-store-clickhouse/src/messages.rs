//! The message table on ClickHouse (`llmtrace_store::messages`): each distinct long message of a
//! project, keyed by `(project, hash)` in a `ReplacingMergeTree(expire_at)`.
//!
//! Every write inserts the messages its span rows refer to (once per batch), with the latest
//! `expire_at` of those rows, before the rows themselves: a reader that sees a span finds its
//! messages. Copies of one message collapse in merges to the one that expires last; on servers
//! with TTL each copy is deleted when its own `expire_at` passes, so a message lives as long
//! as the longest-kept span that was written referring to it.

use crate::client::{lit, Client};
use crate::rows::SpanRow;
use llmtrace_store::messages::{parse_hash, Bodies, MessageHash};
use llmtrace_store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// Hashes looked up per query.
const LOOKUP_CHUNK: usize = 1_000;

/// One row of `messages`, as inserted.
#[derive(Serialize)]
pub(crate) struct MessageInsert<'a> {
    project: &'a str,
    hash: String,
    body: &'a str,
    expire_at: u32,
}

/// The message rows of `rows` (the span rows a write inserts), one per project and hash, each
/// with the latest `expire_at` of the rows referring to it.
pub(crate) fn rows_of(rows: &[SpanRow]) -> Result<Vec<MessageInsert<'_>>, StoreError> {
    let mut at: HashMap<(&str, MessageHash), usize> = HashMap::new();
    let mut out: Vec<MessageInsert<'_>> = Vec::new();
    for row in rows {
        for m in &row.messages {
            match at.entry((row.project.as_str(), m.hash)) {
                std::collections::hash_map::Entry::Occupied(o) => {
                    if let Some(r) = out.get_mut(*o.get()) {
                        r.expire_at = r.expire_at.max(row.expire_at);
                    }
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(out.len());
                    out.push(MessageInsert {
                        project: &row.project,
                        hash: hex::encode(m.hash),
                        body: std::str::from_utf8(&m.body).map_err(|e| {
                            StoreError::Permanent(format!("message JSON is not UTF-8: {e}"))
                        })?,
                        expire_at: row.expire_at,
                    });
                }
            }
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct BodyRow {
    hash: String,
    body: String,
}

/// Adds to `into` the messages the details of `rows` (read with every column) refer to.
pub(crate) async fn load(
    ch: &Client,
    db: &str,
    rows: &[SpanRow],
    into: &mut Bodies,
) -> Result<(), StoreError> {
    let mut refs = Vec::new();
    for row in rows {
        let mut of_row = Vec::new();
        row.detail()
            .and_then(|d| d.message_refs(&mut of_row))
            .map_err(StoreError::Permanent)?;
        refs.extend(of_row.into_iter().map(|h| (row.project.as_str(), h)));
    }
    load_refs(ch, db, refs, into).await
}

/// Adds to `into` the messages `refs` (project, hash) name that it lacks.
pub(crate) async fn load_refs(
    ch: &Client,
    db: &str,
    refs: impl IntoIterator<Item = (&str, MessageHash)>,
    into: &mut Bodies,
) -> Result<(), StoreError> {
    let mut wanted: HashMap<&str, BTreeSet<MessageHash>> = HashMap::new();
    for (project, hash) in refs {
        if !into.contains_key(&hash) {
            wanted.entry(project).or_default().insert(hash);
        }
    }
    for (project, hashes) in wanted {
        let hashes: Vec<String> = hashes.iter().map(|h| lit(&hex::encode(h))).collect();
        for chunk in hashes.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT hash, any(body) AS body FROM {db}.messages WHERE project = {} \
                 AND hash IN ({}) GROUP BY hash",
                lit(project),
                chunk.join(", ")
            );
            for r in ch.select::<BodyRow>(&sql).await? {
                let hash = parse_hash(&r.hash).map_err(StoreError::Permanent)?;
                into.insert(hash, r.body.into_bytes());
            }
        }
    }
    Ok(())
}
