//! The newest-first trace list without a scan of the project: it walks the `trace_starts`
//! index (schema version 9) from the newest start down, a bounded step at a time, and reads
//! the summaries of each step's traces by primary key.
//!
//! Each step takes the newest index rows below the walk's position inside a time window (at
//! most a batch of them, ordered by start and trace id, a primary-key range of a narrow table),
//! then the summaries of those traces (`FINAL`, by `trace_id`, a primary-key lookup) whose own
//! start lies in the part of the key range the step covered, with the query's filters. A trace's
//! current summary always has an index row with its start (written before it), so every trace
//! is found in exactly one step; an index row left by a start that later moved earlier finds a
//! summary outside its step's range and is ignored.
//!
//! Windows start at a minute below the newest position and grow eightfold while they come back
//! without a full batch, so a sparse project reaches its oldest trace in a dozen steps and a
//! dense one reads a batch from its newest minute. A query whose filters keep few traces would
//! walk much of the index: past [`MAX_WALK`] index rows the caller falls back to the scan of the
//! project's summaries, which then costs what it cost before.

use crate::client::{lit, Client};
use crate::summaries::SummaryRow;
use llmtrace_store::StoreError;
use serde::Deserialize;

/// Nanoseconds in the first window.
const FIRST_WINDOW_NANOS: u64 = 60 * 1_000_000_000;
/// How much each window grows after one that held less than a batch.
const WINDOW_GROWTH: u64 = 8;
/// Index rows a step reads at most: its first batch, doubling each step up to this.
const MAX_BATCH: usize = 2_048;
/// Index rows the walk reads before it leaves the query to the scan.
pub(crate) const MAX_WALK: usize = 20_000;

/// A position in the index order (start, then trace id), exclusive: the walk continues below
/// it. `trace_id: None` is below every trace starting at `t_start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Below {
    /// The start.
    pub(crate) t_start: u64,
    /// The trace id (lowercase hex) at that start, or none.
    pub(crate) trace_id: Option<String>,
}

impl Below {
    /// The condition keeping keys below this position; `None` for the top of the index.
    fn condition(&self) -> Option<String> {
        match &self.trace_id {
            None if self.t_start == u64::MAX => None,
            None => Some(format!("t_start < {}", self.t_start)),
            Some(id) => Some(format!(
                "(t_start < {t} OR (t_start = {t} AND trace_id < {id}))",
                t = self.t_start,
                id = lit(id)
            )),
        }
    }
}

#[derive(Deserialize)]
struct IndexRow {
    t_start: u64,
    trace_id: String,
}

/// What the walk is asked.
pub(crate) struct Walk<'a> {
    /// The database.
    pub(crate) db: &'a str,
    /// The project.
    pub(crate) project: &'a str,
    /// Where the walk starts (the cursor, the range's end, or the top).
    pub(crate) top: Below,
    /// The oldest start wanted (the range's start, else 0).
    pub(crate) since: u64,
    /// The query's conditions on the summary columns (filters, range and cursor), each a SQL
    /// condition.
    pub(crate) conditions: &'a [String],
    /// How many summaries are wanted (a page and one more, to know whether a next page
    /// exists).
    pub(crate) wanted: usize,
    /// The current time, in nanoseconds since the epoch: the first window ends here when the
    /// walk starts at the top.
    pub(crate) now: u64,
}

/// Walks the index newest first until `walk.wanted` summaries passed the conditions (then
/// `Some` of them, in order) or the index is exhausted (`Some` of fewer); `None` when it read
/// [`MAX_WALK`] index rows first.
pub(crate) async fn walk(
    ch: &Client,
    walk: &Walk<'_>,
) -> Result<Option<Vec<SummaryRow>>, StoreError> {
    let p = lit(walk.project);
    let mut below = walk.top.clone();
    let mut width = FIRST_WINDOW_NANOS;
    let mut batch = walk.wanted.saturating_mul(2).clamp(64, MAX_BATCH);
    let mut read = 0usize;
    let mut out: Vec<SummaryRow> = Vec::new();
    loop {
        let anchor = if below.t_start == u64::MAX {
            walk.now
        } else {
            below.t_start
        };
        let low = anchor.saturating_sub(width).max(walk.since);
        let mut range = vec![format!("project = {p}"), format!("t_start >= {low}")];
        range.extend(below.condition());
        let rows: Vec<IndexRow> = ch
            .select(&format!(
                "SELECT DISTINCT t_start, trace_id FROM {db}.trace_starts WHERE {} \
                 ORDER BY t_start DESC, trace_id DESC LIMIT {batch}",
                range.join(" AND "),
                db = walk.db
            ))
            .await?;
        read = read.saturating_add(rows.len());
        let full = rows.len() >= batch;
        // Below the step: after a full batch, its last key; else the window's bottom.
        let next = match rows.last() {
            Some(last) if full => Below {
                t_start: last.t_start,
                trace_id: Some(last.trace_id.clone()),
            },
            _ => Below {
                t_start: low,
                trace_id: None,
            },
        };
        if !rows.is_empty() {
            let need = walk.wanted.saturating_sub(out.len());
            out.extend(summaries(ch, walk, &rows, &below, &next, need).await?);
            if out.len() >= walk.wanted {
                return Ok(Some(out));
            }
        }
        if !full {
            if low <= walk.since {
                return Ok(Some(out));
            }
            width = width.saturating_mul(WINDOW_GROWTH);
        }
        if read >= MAX_WALK {
            return Ok(None);
        }
        below = next;
        batch = batch.saturating_mul(2).min(MAX_BATCH);
    }
}

/// The summaries of the traces of one step's index rows whose start lies between `next`
/// (inclusive) and `below` (exclusive) and that pass the query's conditions, newest first, at
/// most `need`.
async fn summaries(
    ch: &Client,
    walk: &Walk<'_>,
    rows: &[IndexRow],
    below: &Below,
    next: &Below,
    need: usize,
) -> Result<Vec<SummaryRow>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| lit(&r.trace_id)).collect();
    let filter = format!(" AND trace_id IN ({})", ids.join(", "));
    let mut conditions: Vec<String> = walk.conditions.to_vec();
    conditions.extend(below.condition());
    // At or above `next`: not below it.
    conditions.extend(next.condition().map(|c| format!("NOT {c}")));
    let sql = format!(
        "SELECT * FROM ({}) WHERE {} ORDER BY t_start DESC, trace_id DESC LIMIT {need}",
        crate::summaries::summaries_sql(walk.db, walk.project, &filter),
        if conditions.is_empty() {
            "1".to_string()
        } else {
            conditions.join(" AND ")
        }
    );
    ch.select(&sql).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_name_the_keys_below_them() {
        let top = Below {
            t_start: u64::MAX,
            trace_id: None,
        };
        assert_eq!(top.condition(), None);
        let at = Below {
            t_start: 5,
            trace_id: None,
        };
        assert_eq!(at.condition().as_deref(), Some("t_start < 5"));
        let key = Below {
            t_start: 5,
            trace_id: Some("ab".into()),
        };
        assert_eq!(
            key.condition().as_deref(),
            Some("(t_start < 5 OR (t_start = 5 AND trace_id < 'ab'))")
        );
    }
}
