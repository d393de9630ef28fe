//! The full-text index of span content (`span_text`, FTS5): one row per span that has
//! searchable text, keyed by the span's row id, holding the text normalized by
//! `llmtrace_store::search`; and the query side, which turns search words into FTS5 prefix
//! phrases.

use rusqlite::{params, Connection, Transaction};

/// Indexes (or re-indexes) the span stored in row `row_id` of `spans` with `text`; empty text
/// leaves it unindexed. `replaced` says whether the span row existed before this write (its
/// old text is removed first).
pub(crate) fn index_span(
    tx: &Transaction<'_>,
    row_id: i64,
    replaced: bool,
    text: &str,
) -> rusqlite::Result<()> {
    if replaced {
        tx.prepare_cached("DELETE FROM span_text WHERE rowid = ?1")?
            .execute([row_id])?;
    }
    if !text.is_empty() {
        tx.prepare_cached("INSERT INTO span_text (rowid, text) VALUES (?1, ?2)")?
            .execute(params![row_id, text])?;
    }
    Ok(())
}

/// The FTS5 query for search words (each already normalized, see
/// `llmtrace_store::search::search_words`): every word as a phrase whose last token may be a
/// prefix. `None` when there are no words. Normalized words hold only letters, digits and
/// spaces, so quoting them needs no escaping.
pub(crate) fn match_expression(words: &[String]) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    Some(
        words
            .iter()
            .map(|w| format!("\"{}\"*", w.replace('"', "")))
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// Indexes every stored span (a file written before the index existed), in one transaction.
/// Such a file predates the message table too, so its details hold their messages inline.
pub(crate) fn backfill(conn: &mut Connection) -> Result<(), String> {
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    {
        let mut blobs = tx
            .prepare("SELECT id, data FROM span_blobs ORDER BY id")
            .map_err(|e| e.to_string())?;
        let mut spans = tx
            .prepare("SELECT id, blob_index FROM spans WHERE blob_id = ?1")
            .map_err(|e| e.to_string())?;
        let mut insert = tx
            .prepare("INSERT INTO span_text (rowid, text) VALUES (?1, ?2)")
            .map_err(|e| e.to_string())?;
        let mut rows = blobs.query([]).map_err(|e| e.to_string())?;
        while let Some(r) = rows.next().map_err(|e| e.to_string())? {
            let blob_id: i64 = r.get(0).map_err(|e| e.to_string())?;
            let data: Vec<u8> = r.get(1).map_err(|e| e.to_string())?;
            let details = crate::rows::decode_blob(&data)?;
            let refs = spans
                .query_map([blob_id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .and_then(|it| it.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| e.to_string())?;
            for (row_id, index) in refs {
                let Some(d) = details.get(crate::int::position(index)) else {
                    continue;
                };
                let text = d.search_text();
                if !text.is_empty() {
                    insert
                        .execute(params![row_id, text])
                        .map_err(|e| e.to_string())?;
                }
            }
        }
    }
    tx.commit().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_prefix_phrases() {
        assert_eq!(match_expression(&[]), None);
        assert_eq!(
            match_expression(&["天 气".into(), "weath".into()]).as_deref(),
            Some("\"天 气\"* AND \"weath\"*")
        );
    }
}
