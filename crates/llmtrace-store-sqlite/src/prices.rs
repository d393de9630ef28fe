//! Price provenance: the (price id, effective_from) pairs that priced spans, stored once and
//! referenced by id from span rows.

use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// The writer's memory of stored price references: price id → effective_from → row id (nested
/// so a lookup borrows the span's strings instead of allocating a key).
pub(crate) type PriceRefs = HashMap<String, HashMap<String, i64>>;

/// The row id of a price reference, storing it if new.
pub(crate) fn price_ref(
    conn: &Connection,
    cache: &mut PriceRefs,
    price_id: &str,
    effective_from: &str,
) -> rusqlite::Result<i64> {
    if let Some(id) = cache.get(price_id).and_then(|m| m.get(effective_from)) {
        return Ok(*id);
    }
    conn.prepare_cached("INSERT OR IGNORE INTO prices (price_id, effective_from) VALUES (?1, ?2)")?
        .execute(params![price_id, effective_from])?;
    let id = conn
        .prepare_cached("SELECT id FROM prices WHERE price_id = ?1 AND effective_from = ?2")?
        .query_row(params![price_id, effective_from], |r| r.get(0))?;
    cache
        .entry(price_id.to_string())
        .or_default()
        .insert(effective_from.to_string(), id);
    Ok(id)
}

/// Looks up a price reference for the read path: (price id, effective_from).
pub(crate) fn load(conn: &Connection, id: i64) -> rusqlite::Result<Option<(String, String)>> {
    conn.prepare_cached("SELECT price_id, effective_from FROM prices WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}
