//! The newest-first trace list without a scan of the project: it reads `trace_list` (schema
//! version 9, the summary rows ordered by trace start) from the newest start down, a time
//! window at a time, each window a primary-key range holding a bounded number of rows.
//!
//! Windows are planned from `trace_counts`, the number of list rows per hour of starts (one
//! small read per walk), and per minute and second inside an hour or minute that alone holds
//! more rows than a window wants (a burst of traces): each window reaches down to where about
//! twice the rows the step wants lie below the walk's position, so empty hours are skipped. Each
//! step then counts the window's keys and narrows it while it holds more than eight times the
//! rows wanted, and reads its summaries (`FINAL`, the query's filters applied after it), newest
//! first. A trace's current summary is at its current start; a row at a start the trace left
//! has a tombstone, which `FINAL` keeps and the walk skips, so every trace is found once.
//!
//! A query whose filters keep few traces would walk much of the table: the rows each step wants
//! double, and past [`MAX_WALK`] rows (or [`MOST_PROBES`] counts) the caller falls back to the
//! scan of the project's summaries, which then costs what it cost before.

use crate::client::{lit, Client};
use crate::summaries::SummaryRow;
use llmtrace_store::StoreError;
use serde::Deserialize;

/// How much a window grows over the one before when that one came back empty.
const EMPTY_GROWTH: u64 = 8;
/// Nanoseconds in an hour.
const HOUR_NANOS: u64 = 3_600 * 1_000_000_000;
/// The widths of the buckets of `trace_counts`, by `unit`: an hour, a minute, a second.
pub(crate) const UNITS: [u64; 3] = [HOUR_NANOS, 60 * 1_000_000_000, 1_000_000_000];
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
const MAX_WALK: u64 = 30_000;
/// Rows a search's walk reads before it leaves the query to the scan: each step reads the text
/// of every span from its window up (`search.rs`), so a rare word is cheaper scanned at once
/// (at 10M spans on 18.16: 0.6 s scanned, 2.5 s when walked to [`MAX_WALK`] first).
const MAX_TEXT_WALK: u64 = 4_096;

/// A position in the list order (start, then trace id), exclusive: the walk continues below
/// it. `trace_id: None` is below every trace starting at `t_start`.
#[derive(Debug, Clone)]
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
    /// The `LIKE` patterns of a search's words (`search.rs`), if any: a window keeps the
    /// traces with a matching span starting at or after its low end.
    pub(crate) text: &'a [String],
    /// How many summaries are wanted (a page and one more, to know whether a next page
    /// exists).
    pub(crate) wanted: usize,
}

/// Walks the list newest first until `walk.wanted` summaries passed the conditions (then
/// `Some` of them, in order) or the project is exhausted (`Some` of fewer); `None`, for the
/// scan to answer, when it read [`MAX_WALK`] rows ([`MAX_TEXT_WALK`] for a search) or made [`MOST_PROBES`] counts first, or when
/// `trace_counts` has no row at all below the walk's top while `trace_list` has.
pub(crate) async fn walk(
    ch: &Client,
    walk: &Walk<'_>,
) -> Result<Option<Vec<SummaryRow>>, StoreError> {
    let mut below = walk.top.clone();
    let hours = buckets(ch, walk, 0, walk.since, below.t_start).await?;
    let mut step_wants = u64::try_from(walk.wanted)
        .unwrap_or(u64::MAX)
        .clamp(FEWEST_WANTED, MOST_WANTED);
    let mut read = 0u64;
    let max_walk = if walk.text.is_empty() {
        MAX_WALK
    } else {
        MAX_TEXT_WALK
    };
    let mut probes = 0u32;
    // The width of the window before when it was empty, and the bottom of the last window
    // found crowded since a window had rows.
    let mut empty_width: Option<u64> = None;
    let mut crowded_from: Option<u64> = None;
    let mut out: Vec<SummaryRow> = Vec::new();
    loop {
        let Some(planned) = plan(ch, walk, &hours, below.t_start, step_wants).await? else {
            // No list row starts below the position. When the counts had none at all, the
            // list's own keys below the top decide (counts that lag the list, a replica still
            // fetching, hide no trace): none, and the answer is empty (a key range with nothing
            // in it costs a millisecond); some, and the scan answers.
            if probes == 0 && count(ch, walk, walk.since, &below).await? > 0 {
                return Ok(None);
            }
            return Ok(Some(out));
        };
        let cap = step_wants.saturating_mul(CROWDED);
        // The plan, unless the window before came back empty (the rows of a crowded hour need
        // not be spread evenly): then eight times that window, or half the gap down to the
        // last crowded window seen.
        let mut width = below.t_start.saturating_sub(planned);
        if let Some(last) = empty_width {
            let grown = match crowded_from {
                Some(bottom) => below
                    .t_start
                    .saturating_sub(bottom)
                    .checked_div(2)
                    .unwrap_or(1),
                None => last.saturating_mul(EMPTY_GROWTH),
            };
            width = width.max(grown).max(1);
        }
        let (low, rows) = loop {
            let low = below.t_start.saturating_sub(width).max(walk.since);
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
        if rows == 0 {
            empty_width = Some(width);
        } else {
            empty_width = None;
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
        if read >= max_walk {
            return Ok(None);
        }
        step_wants = step_wants.saturating_mul(2).min(MOST_WANTED);
        below = Below {
            t_start: low,
            trace_id: None,
        };
    }
}

#[derive(Deserialize)]
struct BucketRow {
    bucket: u64,
    n: u64,
}

/// The buckets of `unit` (an index of [`UNITS`]) from the one holding `from` to the one holding
/// `to` with list rows, newest first, with their row counts (`trace_counts`).
async fn buckets(
    ch: &Client,
    walk: &Walk<'_>,
    unit: usize,
    from: u64,
    to: u64,
) -> Result<Vec<BucketRow>, StoreError> {
    let width = UNITS.get(unit).copied().unwrap_or(HOUR_NANOS);
    let first = from.checked_div(width).unwrap_or(0);
    let last = to.checked_div(width).unwrap_or(0);
    ch.select(&format!(
        "SELECT bucket, toUInt64(sum(rows)) AS n FROM {}.trace_counts WHERE project = {} \
         AND unit = {unit} AND bucket >= {first} AND bucket <= {last} GROUP BY bucket \
         HAVING n > 0 ORDER BY bucket DESC",
        walk.db,
        lit(walk.project)
    ))
    .await
}

/// Where a window below `below` should start to hold about twice `wanted` rows: planned from
/// the hours, and inside a crowded hour from its minutes, inside a crowded minute from its
/// seconds; `None` when no list row starts below `below`.
async fn plan(
    ch: &Client,
    walk: &Walk<'_>,
    hours: &[BucketRow],
    below: u64,
    wanted: u64,
) -> Result<Option<u64>, StoreError> {
    let mut plan = planned_low(hours, below, wanted, HOUR_NANOS);
    for (unit, width) in UNITS.iter().enumerate().skip(1) {
        let Some(Planned {
            crowded: Some(start),
            ..
        }) = plan
        else {
            break;
        };
        let finer = buckets(ch, walk, unit, start, below.saturating_sub(1)).await?;
        let inside = planned_low(&finer, below, wanted, *width);
        // Below this bucket there may be more, but the window ends in it.
        plan = inside.or(plan.map(|p| Planned { crowded: None, ..p }));
    }
    Ok(plan.map(|p| p.low))
}

/// A planned window start, and the start of the bucket it lies in when that bucket alone holds
/// more than the window wants (a finer unit can place it better).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planned {
    low: u64,
    crowded: Option<u64>,
}

/// Where a window below `below` should start to hold about twice `wanted` rows, by the counts
/// of buckets `width` wide (newest first): the start of the bucket where the counts below
/// `below` reach that, or inside it as its density says when that bucket alone holds more; the
/// oldest bucket's start when they never do; `None` when no bucket with rows starts below
/// `below`.
fn planned_low(buckets: &[BucketRow], below: u64, wanted: u64, width: u64) -> Option<Planned> {
    let wants = wanted.saturating_mul(2);
    let mut seen = 0u64;
    let mut oldest = None;
    for b in buckets {
        let start = b.bucket.saturating_mul(width);
        if start >= below {
            continue;
        }
        let end = start.saturating_add(width).min(below);
        oldest = Some(Planned {
            low: start,
            crowded: None,
        });
        seen = seen.saturating_add(b.n);
        if seen >= wants {
            if b.n > wants {
                let part = fitted(end.saturating_sub(start), b.n, wanted);
                return Some(Planned {
                    low: end.saturating_sub(part).max(start),
                    crowded: Some(start),
                });
            }
            return oldest;
        }
    }
    oldest
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
    if !walk.text.is_empty() {
        conditions.push(crate::search::traces_matching(
            walk.db,
            walk.project,
            low,
            walk.text,
        ));
    }
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

    fn bucket(bucket: u64, n: u64) -> BucketRow {
        BucketRow { bucket, n }
    }

    #[test]
    fn windows_are_planned_from_the_counts() {
        let h = HOUR_NANOS;
        let low = |b: &[BucketRow], below, wanted| planned_low(b, below, wanted, h).map(|p| p.low);
        // Newest first: 100 rows in hour 10, none in 9 to 6, 1,000 in hour 5, 50 in hour 2.
        let hours = [bucket(10, 100), bucket(5, 1_000), bucket(2, 50)];
        // 2 × 60 wanted: hour 10 holds fewer, hour 5 reaches it and holds more, so the window
        // goes into hour 5 as far as its density says (120 of 1,000 rows: 0.12 of it), and
        // hour 5 is crowded.
        assert_eq!(
            planned_low(&hours, 11 * h, 60, h),
            Some(Planned {
                low: 6 * h - h * 120 / 1_000,
                crowded: Some(5 * h)
            })
        );
        // Enough in hour 10 alone (it is not crowded for 2 × 50).
        assert_eq!(low(&hours, 11 * h, 50), Some(10 * h));
        // From the middle of hour 10 the same hour counts (an estimate), empty hours skipped.
        assert_eq!(low(&hours, 10 * h + 5, 500), Some(5 * h));
        // Never enough: down to the oldest hour; nothing below hour 2: none.
        assert_eq!(low(&hours, 11 * h, 10_000), Some(2 * h));
        assert_eq!(low(&hours, 2 * h, 10), None);
    }

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
