//! Full-text search (`TraceQuery::text`) over `span_text` (schema version 12): one row per
//! searchable span, ordered by the span's start (`(project, start_ns, trace_id, span_id)`),
//! holding its normalized text (`llmtrace_store::search::span_search_text`, with a space in
//! front so that `LIKE '% word%'` finds a word start anywhere, the first word included).
//!
//! Why a table of its own, in start order: a newest-first search (the default page) walks the
//! trace list newest window first (`newest.rs`) and keeps the window's traces that have a
//! matching span starting at or after the window's low end, which is a primary-key range of
//! this table: a common word fills its page from the newest window and stops there, instead of
//! reading every span's text of the project (the scan that `spans.search_text` needed: 0.5 s at
//! 1M spans and 1.9 s at 3M on 18.16, which has no skip indexes). A trace's spans all start at
//! or after the trace's start, so the range from the window's low end up holds every match of
//! every trace in the window. Other sorts, and a walk that gives up, scan this table instead of
//! `spans`; on current ClickHouse its `search_ngrams` n-gram bloom filter narrows that scan
//! (n-grams, not a token bloom filter: a query word matches the start of a stored word, and a
//! token filter only answers whole tokens).
//!
//! **Kept exact** by the writer: each stored copy of a searchable span writes its row at the
//! span's version; a copy that moves the span's start, or replaces it by a copy without text,
//! writes a tombstone (`deleted = 1`, same version) at the key the span leaves, known from the
//! stored structure the writer loaded. Reads judge each key by its latest version (see
//! [`traces_matching`]). Retention: each row expires with its span (`TTL expire_at`). The spans' own
//! `search_text` column is no longer written (rows stored before keep theirs, unread).

use crate::client::{lit, Client};
use crate::retention::{now_secs, Retention};
use crate::rows::SpanRow;
use llmtrace_store::search::search_words;
use llmtrace_store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A span's identity: (project, trace id, span id).
pub(crate) type SpanKey = (String, String, String);

/// One row of `span_text`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextRow {
    project: String,
    start_ns: u64,
    trace_id: String,
    span_id: String,
    text: String,
    deleted: u8,
    version: u64,
    expire_at: u32,
}

/// The `span_text` rows of a write: for each span the write stores (its last copy in `rows`
/// when it holds several), a row with its text at its start, and a tombstone at every other
/// start the span had (in `stored`, the starts of the stored copies the writer loaded, or in an
/// earlier copy of the same write) or at its own start when it has no text but had a copy.
pub(crate) fn rows_of(
    rows: &[SpanRow],
    stored: &HashMap<SpanKey, u64>,
    retention: &Retention,
) -> Vec<TextRow> {
    let now = now_secs();
    // Per span: the starts of its other copies, and its last copy (the highest version).
    let mut spans: HashMap<SpanKey, (Vec<u64>, &SpanRow)> = HashMap::new();
    for r in rows {
        let key = (r.project.clone(), r.trace_id.clone(), r.span_id.clone());
        match spans.get_mut(&key) {
            Some((starts, last)) => {
                if r.version >= last.version {
                    starts.push(last.start_ns);
                    *last = r;
                } else {
                    starts.push(r.start_ns);
                }
            }
            None => {
                let starts = stored.get(&key).copied().into_iter().collect();
                spans.insert(key, (starts, r));
            }
        }
    }
    let mut out = Vec::new();
    for (_, (mut starts, last)) in spans {
        let live = !last.search_text.is_empty();
        if live {
            starts.retain(|s| *s != last.start_ns);
            out.push(TextRow {
                project: last.project.clone(),
                start_ns: last.start_ns,
                trace_id: last.trace_id.clone(),
                span_id: last.span_id.clone(),
                text: last.search_text.clone(),
                deleted: 0,
                version: last.version,
                expire_at: last.expire_at,
            });
        }
        starts.sort_unstable();
        starts.dedup();
        out.extend(starts.into_iter().map(|start_ns| {
            TextRow {
                project: last.project.clone(),
                start_ns,
                trace_id: last.trace_id.clone(),
                span_id: last.span_id.clone(),
                text: String::new(),
                deleted: 1,
                version: last.version,
                expire_at: retention
                    .expire_at(&last.project, start_ns, now)
                    .max(last.expire_at),
            }
        }));
    }
    out
}

/// The `LIKE` patterns (SQL literals) that the text of a span must match, one per query word
/// (a word start: `'% word%'`); empty when the query has no text or no words.
pub(crate) fn word_patterns(text: Option<&str>) -> Vec<String> {
    text.map(search_words)
        .unwrap_or_default()
        .iter()
        .map(|w| lit(&format!("% {}%", like_escaped(w))))
        .collect()
}

/// `column LIKE p` for every pattern, joined by `AND`.
fn all_like(column: &str, patterns: &[String]) -> String {
    patterns
        .iter()
        .map(|p| format!("{column} LIKE {p}"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The condition keeping the traces of `project` with a span starting at or after `from` whose
/// latest row holds every query word (`patterns`, from [`word_patterns`]; not empty).
///
/// In two steps, so that the words' condition is on a plain read of the table (where a skip
/// index can answer it): the keys of rows whose text matches (any version), then those keys'
/// latest rows (`argMax` by version: a tombstone, which has no text, wins over the text it
/// replaced), read by primary key. `GLOBAL IN`, so that through `Distributed` tables each set
/// is computed once and sent to every shard.
pub(crate) fn traces_matching(db: &str, project: &str, from: u64, patterns: &[String]) -> String {
    format!(
        "trace_id GLOBAL IN ({})",
        matching_sql(db, project, from, patterns)
    )
}

/// The query of [`traces_matching`]'s set: the trace id of each matching span (a trace once per
/// matching span).
fn matching_sql(db: &str, project: &str, from: u64, patterns: &[String]) -> String {
    let mut keys = format!("project = {}", lit(project));
    if from > 0 {
        keys.push_str(&format!(" AND start_ns >= {from}"));
    }
    format!(
        "SELECT trace_id FROM (SELECT trace_id, \
         argMax(deleted, version) AS gone, argMax(text, version) AS latest \
         FROM {db}.span_text WHERE {keys} AND (start_ns, trace_id, span_id) GLOBAL IN \
         (SELECT start_ns, trace_id, span_id FROM {db}.span_text WHERE {keys} AND {}) \
         GROUP BY start_ns, trace_id, span_id) WHERE gone = 0 AND {}",
        all_like("text", patterns),
        all_like("latest", patterns)
    )
}

/// Matching traces a scan's filter names one by one; with more, the filter is the set's query.
const MOST_LISTED: usize = 4_000;

/// The full-text filter of a scan of the project's summaries (` AND ` and a condition on
/// `trace_id`), or empty without words. The matching traces are found first, and when they are
/// at most [`MOST_LISTED`] the filter lists them, so that the summaries are read by primary key
/// (18.16 does not use the key for a `GLOBAL IN` set: 2.5 s instead of 0.6 s for a word in no
/// span at 10M spans); with more it is [`traces_matching`] itself.
pub(crate) async fn scan_filter(
    ch: &Client,
    db: &str,
    project: &str,
    text: Option<&str>,
) -> Result<String, StoreError> {
    #[derive(Deserialize)]
    struct Match {
        trace_id: String,
    }
    let patterns = word_patterns(text);
    if patterns.is_empty() {
        return Ok(String::new());
    }
    let found: Vec<Match> = ch
        .select(&format!(
            "SELECT DISTINCT trace_id FROM ({}) LIMIT {}",
            matching_sql(db, project, 0, &patterns),
            MOST_LISTED.saturating_add(1)
        ))
        .await?;
    Ok(match found.len() {
        0 => " AND 0".to_string(),
        n if n <= MOST_LISTED => {
            let ids: Vec<String> = found.iter().map(|m| lit(&m.trace_id)).collect();
            format!(" AND trace_id IN ({})", ids.join(", "))
        }
        _ => format!(" AND {}", traces_matching(db, project, 0, &patterns)),
    })
}

/// `text` with the characters `LIKE` gives a meaning (`%`, `_` and the escape `\`) escaped.
/// Normalized search words have none (they are letters and digits), so this only guards.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Fills `span_text` from the spans of a database created before it (their `search_text`), at
/// each span's version, on one node (`local` is `_local` in a cluster: each node its own
/// shard's spans).
pub(crate) const BACKFILL: &str = r#"INSERT INTO {db}.span_text{local}
(project, start_ns, trace_id, span_id, text, deleted, version, expire_at)
SELECT project, start_ns, trace_id, span_id, search_text, toUInt8(0), version, expire_at
FROM {db}.spans{local} FINAL WHERE search_text != ''"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(like_escaped("weather"), "weather");
        assert_eq!(like_escaped("a%b_c\\"), "a\\%b\\_c\\\\");
    }

    fn row(span: &str, start: u64, text: &str, version: u64) -> SpanRow {
        let mut r: SpanRow = serde_json::from_value(serde_json::json!({
            "project": "p", "trace_id": "t", "span_id": span, "parent_span_id": "",
            "name": "n", "service": "s", "kind": 0, "is_call": 0, "not_root": 0,
            "root_key": "", "start_ns": start, "end_ns": start, "status": 0, "provider": "",
            "operation": "", "model": "", "request_model": "", "response_model": "",
            "user_id": "", "session_id": "", "input_tokens": 0, "output_tokens": 0,
            "cache_read_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0,
            "counts_usage": 0, "cost_computed": null, "cost_reported": null, "unpriced": 0,
            "price_id": null, "price_effective_from": null, "incomplete": 0,
            "response_id": "", "claim_key": "", "version": version
        }))
        .expect("a span row");
        r.search_text = text.to_string();
        r
    }

    fn key(span: &str) -> SpanKey {
        ("p".into(), "t".into(), span.into())
    }

    /// (span, start, deleted, version) of each row, sorted.
    fn shape(rows: &[TextRow]) -> Vec<(String, u64, u8, u64)> {
        let mut out: Vec<_> = rows
            .iter()
            .map(|r| (r.span_id.clone(), r.start_ns, r.deleted, r.version))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn rows_follow_each_spans_last_copy_and_bury_the_keys_it_left() {
        let retention = Retention::default();
        let stored = HashMap::from([(key("a"), 5), (key("b"), 7), (key("c"), 9)]);
        let rows = [
            // New span with text, no copy before: one live row.
            row("n", 1, " hello", 10),
            // New span without text and no copy: nothing.
            row("q", 2, "", 11),
            // `a` moves from 5 to 6: live at 6, tombstone at 5.
            row("a", 6, " moved", 12),
            // `b` keeps its start but loses its text: tombstone at 7.
            row("b", 7, "", 13),
            // `c` twice in the batch: 8 (older) then 9 (newer, the stored start): live at 9,
            // tombstone at 8.
            row("c", 8, " first", 14),
            row("c", 9, " second", 15),
        ];
        let out = rows_of(&rows, &stored, &retention);
        assert_eq!(
            shape(&out),
            vec![
                ("a".into(), 5, 1, 12),
                ("a".into(), 6, 0, 12),
                ("b".into(), 7, 1, 13),
                ("c".into(), 8, 1, 15),
                ("c".into(), 9, 0, 15),
                ("n".into(), 1, 0, 10),
            ]
        );
        let c = out.iter().find(|r| r.span_id == "c" && r.deleted == 0);
        assert_eq!(c.map(|r| r.text.as_str()), Some(" second"));
    }

    #[test]
    fn words_become_conditions_on_the_latest_rows() {
        assert!(word_patterns(None).is_empty());
        assert!(word_patterns(Some("  ")).is_empty());
        let m = word_patterns(Some("Rotate KEYS"));
        assert_eq!(m, vec!["'% rotate%'".to_string(), "'% keys%'".to_string()]);
        let f = traces_matching("db", "p", 42, &m);
        assert!(f.contains(
            "FROM db.span_text WHERE project = 'p' AND start_ns >= 42 AND text LIKE '% rotate%' \
             AND text LIKE '% keys%')"
        ));
        assert!(f.contains("WHERE gone = 0 AND latest LIKE '% rotate%' AND latest LIKE"));
        assert!(!traces_matching("db", "p", 0, &m).contains("start_ns >="));
    }
}
