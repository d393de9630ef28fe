//! Resource attributes stored once per distinct resource, referenced by id from span rows.
//!
//! Spans of one OTLP resource share one `Arc<Attributes>`, so within a commit the writer knows
//! them by pointer; across commits a small cache keyed by content hash avoids a lookup per span.

use llmtrace_model::Attributes;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Most resources remembered across commits before the cache is emptied.
const CACHE_LIMIT: usize = 4096;

/// Stored resources by (project, content hash): (row id, attribute JSON) candidates.
type ByContent = HashMap<(i64, u64), Vec<(i64, Vec<u8>)>>;

/// The writer's memory of stored resources.
#[derive(Default)]
pub(crate) struct ResourceCache {
    by_content: ByContent,
    len: usize,
}

/// Per-commit memory of resources by `Arc` pointer (valid while the batch is alive).
pub(crate) type BatchResources = HashMap<(i64, usize), i64>;

fn content_hash(json: &[u8]) -> u64 {
    // Only used to find candidates: equality is always checked on the stored bytes, so a change
    // of hash function between versions costs a duplicate row at worst.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    json.hash(&mut h);
    h.finish()
}

impl ResourceCache {
    /// Forgets everything (after a rolled-back commit, ids may not exist).
    pub(crate) fn clear(&mut self) {
        self.by_content.clear();
        self.len = 0;
    }

    /// The id of a resource, storing it if new.
    pub(crate) fn id_of(
        &mut self,
        conn: &Connection,
        batch: &mut BatchResources,
        project_id: i64,
        attrs: &Arc<Attributes>,
    ) -> rusqlite::Result<i64> {
        let ptr_key = (project_id, Arc::as_ptr(attrs) as usize);
        if let Some(id) = batch.get(&ptr_key) {
            return Ok(*id);
        }
        let json = serde_json::to_vec(&**attrs)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
        let hash = content_hash(&json);
        let key = (project_id, hash);
        let cached = self
            .by_content
            .get(&key)
            .and_then(|v| v.iter().find(|(_, j)| *j == json).map(|(id, _)| *id));
        let id = match cached {
            Some(id) => id,
            None => {
                let stored = conn
                    .prepare_cached(
                        "SELECT id FROM resources WHERE project_id = ?1 AND hash = ?2 AND attributes = ?3",
                    )?
                    .query_row(params![project_id, hash.cast_signed(), json], |r| r.get(0))
                    .optional()?;
                let id = match stored {
                    Some(id) => id,
                    None => {
                        conn.prepare_cached(
                            "INSERT INTO resources (project_id, hash, attributes) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![project_id, hash.cast_signed(), json])?;
                        conn.last_insert_rowid()
                    }
                };
                if self.len >= CACHE_LIMIT {
                    self.clear();
                }
                self.len = self.len.saturating_add(1);
                self.by_content.entry(key).or_default().push((id, json));
                id
            }
        };
        batch.insert(ptr_key, id);
        Ok(id)
    }
}

/// Loads resources by id for the read path.
pub(crate) fn load(
    conn: &Connection,
    ids: impl IntoIterator<Item = i64>,
) -> rusqlite::Result<HashMap<i64, Arc<Attributes>>> {
    let mut out = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT attributes FROM resources WHERE id = ?1")?;
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let json: Vec<u8> = stmt.query_row([id], |r| r.get(0))?;
        let attrs: Attributes = serde_json::from_slice(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, e.into())
        })?;
        out.insert(id, Arc::new(attrs));
    }
    Ok(out)
}
