//! The newest-first trace list without a scan of the project: it reads `trace_list` (schema
//! version 9, the summary rows ordered by trace start) from the newest start down, a time
//! window at a time, each window a primary-key range holding a bounded number of rows.
//!
//! Each step first counts the rows below the walk's position inside a window (the key columns
//! only) and, while it holds more than eight times the rows the step wants (a burst of traces in
//! one second), narrows it to the width its density says, then reads that window's summaries (`FINAL`, the query's filters
//! applied after it), newest first. A trace's current summary is at its current start; a row
//! at a start the trace left has a tombstone, which `FINAL` keeps and the walk skips, so every
//! trace is found once.
//!
//! Windows start at a minute below the newest position; each next one is as wide as the density
//! of the one before says the rows it wants need, growing at most eightfold, so a sparse project
//! reaches its oldest trace in a dozen steps. A
//! query whose filters keep few traces would walk much of the table: the rows each step wants
//! double, and past [`MAX_WALK`] rows (or [`MOST_PROBES`] counts) the caller falls back to the scan of the project's
//! summaries, which then costs what it cost before.

use crate::client::{lit, Client};
use crate::summaries::SummaryRow;
use llmtrace_store::StoreError;
use serde::Deserialize;

/// Nanoseconds in the first window.
const FIRST_WINDOW_NANOS: u64 = 60 * 1_000_000_000;
/// How much each window may grow over the one before.
const WINDOW_GROWTH: u64 = 8;
/// Rows the first step wants at least; each step wants twice the one before, up to
/// [`MOST_WANTED`].
const FEWEST_WANTED: u64 = 256;
/// Rows a step wants at most.
const MOST_WANTED: u64 = 8_192;
/// A window holding more than this many times the rows its step wants is narrowed.
const CROWDED: u64 = 8;
/// Counts the walk makes at most before it leaves the query to the scan.
const MOST_PROBES: u32 = 48;
/// Rows the walk reads before it leaves the query to the scan.
pub(crate) const MAX_WALK: u64 = 30_000;

/// A position in the list order (start, then trace id), exclusive: the walk continues below
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
struct Count {
    n: u64,
}

/// A row of `trace_list` as the walk reads it.
#[derive(Deserialize)]
struct ListRow {
    #[serde(flatten)]
    summary: SummaryRow,
    deleted: u8,
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

/// Walks the list newest first until `walk.wanted` summaries passed the conditions (then
/// `Some` of them, in order) or the project is exhausted (`Some` of fewer); `None` when it read
/// [`MAX_WALK`] rows first.
pub(crate) async fn walk(
    ch: &Client,
    walk: &Walk<'_>,
) -> Result<Option<Vec<SummaryRow>>, StoreError> {
    let mut below = walk.top.clone();
    let mut width = FIRST_WINDOW_NANOS;
    let mut step_wants = u64::try_from(walk.wanted)
        .unwrap_or(u64::MAX)
        .clamp(FEWEST_WANTED, MOST_WANTED);
    let mut read = 0u64;
    let mut probes = 0u32;
    // The bottom of the last window found crowded above an empty one: the rows start between it
    // and the empty window, and the walk halves that gap instead of growing into the crowd.
    let mut crowded_from: Option<u64> = None;
    let mut out: Vec<SummaryRow> = Vec::new();
    loop {
        let anchor = if below.t_start == u64::MAX {
            walk.now
        } else {
            below.t_start
        };
        let cap = step_wants.saturating_mul(CROWDED);
        let (low, rows) = loop {
            let low = anchor.saturating_sub(width).max(walk.since);
            let n = count(ch, walk, low, &below).await?;
            probes = probes.saturating_add(1);
            if probes > MOST_PROBES {
                return Ok(None);
            }
            if n > cap && width > 1 {
                crowded_from = Some(low);
                width = fitted(width, n, step_wants);
                continue;
            }
            break (low, n);
        };
        if rows > 0 {
            crowded_from = None;
        }
        read = read.saturating_add(rows);
        if rows > 0 {
            let need = walk.wanted.saturating_sub(out.len());
            out.extend(window(ch, walk, low, &below, need).await?);
            if out.len() >= walk.wanted {
                return Ok(Some(out));
            }
        }
        if low <= walk.since {
            return Ok(Some(out));
        }
        if read >= MAX_WALK {
            return Ok(None);
        }
        step_wants = step_wants.saturating_mul(2).min(MOST_WANTED);
        // The next window as wide as this one's density says its rows need, growing at most
        // eightfold (an empty window says nothing of what is below it).
        width = match crowded_from {
            Some(bottom) if rows == 0 => low.saturating_sub(bottom).checked_div(2).unwrap_or(1),
            _ => fitted(width, rows, step_wants).min(width.saturating_mul(WINDOW_GROWTH)),
        }
        .max(1);
        below = Below {
            t_start: low,
            trace_id: None,
        };
    }
}

/// The width of a window expected to hold about twice `wanted` rows, where `width` held
/// `rows` (as if they were spread evenly); at least a nanosecond.
fn fitted(width: u64, rows: u64, wanted: u64) -> u64 {
    if rows == 0 {
        return u64::MAX;
    }
    let scaled = u128::from(width)
        .saturating_mul(u128::from(wanted).saturating_mul(2))
        .checked_div(u128::from(rows))
        .unwrap_or(u128::MAX);
    u64::try_from(scaled).unwrap_or(u64::MAX).max(1)
}

/// The key conditions of the window from `low` (inclusive) to `below` (exclusive).
fn window_keys(low: u64, below: &Below) -> String {
    let mut keys = format!(" AND t_start >= {low}");
    if let Some(c) = below.condition() {
        keys.push_str(" AND ");
        keys.push_str(&c);
    }
    keys
}

/// How many rows of the project's `trace_list` the window holds (versions and tombstones
/// included: an estimate of what reading it costs; the key columns only).
async fn count(ch: &Client, walk: &Walk<'_>, low: u64, below: &Below) -> Result<u64, StoreError> {
    let rows: Vec<Count> = ch
        .select(&format!(
            "SELECT toUInt64(count()) AS n FROM {}.trace_list WHERE project = {}{}",
            walk.db,
            lit(walk.project),
            window_keys(low, below)
        ))
        .await?;
    Ok(rows.first().map_or(0, |c| c.n))
}

/// The window's current summaries that pass the query's conditions, newest first, at most
/// `need`.
async fn window(
    ch: &Client,
    walk: &Walk<'_>,
    low: u64,
    below: &Below,
    need: usize,
) -> Result<Vec<SummaryRow>, StoreError> {
    let mut conditions: Vec<String> = vec!["deleted = 0".into()];
    conditions.extend(walk.conditions.iter().cloned());
    // The conditions apply after `FINAL` has picked each row's latest version.
    let sql = format!(
        "SELECT * FROM ({}) WHERE {} ORDER BY t_start DESC, trace_id DESC LIMIT {need}",
        crate::summaries::list_sql(walk.db, walk.project, &window_keys(low, below)),
        conditions.join(" AND ")
    );
    let rows: Vec<ListRow> = ch.select(&sql).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.deleted == 0)
        .map(|r| r.summary)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_fit_the_density_seen() {
        assert_eq!(fitted(1_000, 100, 50), 1_000);
        assert_eq!(fitted(1_000, 10_000, 50), 10);
        assert_eq!(fitted(1_000, 1_000_000_000, 1), 1);
        assert_eq!(fitted(1_000, 0, 50), u64::MAX);
        assert_eq!(fitted(u64::MAX, 1, 8_192), u64::MAX);
    }

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
