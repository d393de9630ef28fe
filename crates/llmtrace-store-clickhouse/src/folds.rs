//! Statistics that do not grow with the data: the calls of each minute and hour folded into
//! one row per dimensions (`call_folds`, schema version 10), read instead of the calls wherever
//! the fold is known to hold every call written there.
//!
//! - **Marks.** After a write's call rows are stored (`calls.rs`), it inserts a mark per minute
//!   and hour its rows fall in (`call_marks`: the wall-clock time, taken after the calls insert
//!   returned). A bucket whose newest mark is newer than its fold is dirty.
//! - **Folds.** A background task ([`fold_dirty`], every second per store) refolds each dirty
//!   minute from `calls` (`FINAL`, counted calls only) at a version taken before it reads, then
//!   records the fold's head (`fold_heads`, after its rows). A write whose mark is at or below
//!   that version had its calls stored before the fold read them, so a head at or above the
//!   newest mark means the fold holds every acknowledged call of the minute (rows of ten seconds
//!   are folded with it, under its head). An hour is folded from its minutes' folds once all of
//!   them are clean and its newest mark is older than [`HOUR_MARGIN_NANOS`]; its version is that
//!   long before the fold began (a mark younger than that may still be on its way, and must
//!   leave the hour dirty). A day (UTC) is folded from its hours the same way.
//! - **Reads** ([`stats`]). Whole days inside the range whose fold is clean are read from the
//!   day rows (when the query's buckets are whole days), then whole clean hours from the hour
//!   rows (buckets of whole hours), whole clean minutes from the minute rows (buckets of whole
//!   minutes; of whole ten seconds: their rows of ten seconds), everything else (dirty
//!   buckets, the range's partial minutes at its edges, other buckets) from `calls`; rows of a
//!   fold are read at its head's version only, so a key a newer fold no longer has is left
//!   out. Latency
//!   percentiles merge the sketch bins, as on SQLite.
//!
//! Rows written before a failed write's marks (its calls stored, the request failed) are folded
//! when its retry marks them. Retention: folds, marks and heads expire with the calls of their
//! bucket.

use crate::calls::{saturating_cost, saturating_sum, StatsRow};
use crate::client::{lit, Client};
use crate::Versions;
use llmtrace_store::{GroupBy, LatencySketch, StatsGroup, StatsQuery, StoreError, UnpricedModel};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Nanoseconds in a minute.
pub(crate) const MINUTE: u64 = 60 * 1_000_000_000;
/// Nanoseconds in an hour.
pub(crate) const HOUR: u64 = 60 * MINUTE;
/// How old an hour's newest mark must be before the hour is folded, and how far before the
/// fold its version is set: longer than any insert of a mark can take (requests time out after
/// a minute), so every mark older than the version is visible when the fold checks its minutes.
pub(crate) const HOUR_MARGIN_NANOS: u64 = 2 * MINUTE;
/// Nanoseconds in ten seconds.
pub(crate) const TEN_SECONDS: u64 = 10 * 1_000_000_000;
/// Level of the rows of ten seconds (folded with their minute, under its head).
const LEVEL_TEN_SECONDS: u8 = 0;
/// Level of a minute's rows, marks and heads.
const LEVEL_MINUTE: u8 = 1;
/// Level of an hour's.
const LEVEL_HOUR: u8 = 2;
/// Level of a day's (UTC).
const LEVEL_DAY: u8 = 3;
/// Nanoseconds in a day.
pub(crate) const DAY: u64 = 24 * HOUR;
/// Levels of the group folds' minutes, hours and days (`group_folds.rs`), kept apart from the
/// calls' in the same marks and heads tables.
pub(crate) const LEVEL_GROUP_MINUTE: u8 = 5;
/// See [`LEVEL_GROUP_MINUTE`].
pub(crate) const LEVEL_GROUP_HOUR: u8 = 6;
/// See [`LEVEL_GROUP_MINUTE`].
pub(crate) const LEVEL_GROUP_DAY: u8 = 7;

/// The levels of one kind of fold: its minutes, hours and days.
#[derive(Clone, Copy)]
pub(crate) struct Levels {
    pub(crate) minute: u8,
    pub(crate) hour: u8,
    pub(crate) day: u8,
}

/// The calls' levels.
const CALL_LEVELS: Levels = Levels {
    minute: LEVEL_MINUTE,
    hour: LEVEL_HOUR,
    day: LEVEL_DAY,
};

/// The sessions' and users' levels.
pub(crate) const GROUP_LEVELS: Levels = Levels {
    minute: LEVEL_GROUP_MINUTE,
    hour: LEVEL_GROUP_HOUR,
    day: LEVEL_GROUP_DAY,
};
/// Most buckets named in one statement.
const CHUNK: usize = 500;
/// Most runs of consecutive minutes one fold statement reads (a long `OR` of ranges is slow to
/// analyse on 18.16).
const MOST_RUNS: usize = 16;

/// Wall-clock nanoseconds.
pub(crate) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// One row of `call_marks`: calls of the bucket were written at `at`.
#[derive(Serialize)]
struct MarkRow<'a> {
    project: &'a str,
    level: u8,
    bucket: u64,
    at: u64,
    expire_at: u32,
}

/// One row of `fold_heads`: the bucket's fold at `version` is complete.
#[derive(Serialize)]
struct HeadRow<'a> {
    project: &'a str,
    level: u8,
    bucket: u64,
    version: u64,
    expire_at: u32,
}

/// The minutes and hours of some call rows: (project, level, bucket) → latest expiry.
pub(crate) type Touched = BTreeMap<(String, u8, u64), u32>;

/// Records that calls starting at `start_ns` (expiring at `expire_at`) of `project` were
/// written.
pub(crate) fn touch(touched: &mut Touched, project: &str, start_ns: u64, expire_at: u32) {
    touch_levels(touched, CALL_LEVELS, project, start_ns, expire_at);
}

/// Records that rows starting at `start_ns` of `project` were written, in the minute, hour and
/// day of `levels`.
pub(crate) fn touch_levels(
    touched: &mut Touched,
    levels: Levels,
    project: &str,
    start_ns: u64,
    expire_at: u32,
) {
    for (level, width) in [
        (levels.minute, MINUTE),
        (levels.hour, HOUR),
        (levels.day, DAY),
    ] {
        let bucket = start_ns.saturating_sub(start_ns.checked_rem(width).unwrap_or(0));
        let e = touched
            .entry((project.to_string(), level, bucket))
            .or_insert(0);
        *e = (*e).max(expire_at);
    }
}

/// Inserts the marks of the buckets a write's call rows touched (after those rows are stored).
pub(crate) async fn mark(ch: &Client, db: &str, touched: &Touched) -> Result<(), StoreError> {
    let at = now_nanos();
    let rows: Vec<MarkRow<'_>> = touched
        .iter()
        .map(|((project, level, bucket), expire_at)| MarkRow {
            project,
            level: *level,
            bucket: *bucket,
            at,
            expire_at: *expire_at,
        })
        .collect();
    ch.insert(&format!("{db}.call_marks"), &rows).await
}

/// A bucket whose newest mark is newer than its fold.
#[derive(Deserialize)]
pub(crate) struct Dirty {
    /// Its project.
    pub(crate) project: String,
    /// Its start.
    pub(crate) bucket: u64,
    /// Its newest mark.
    pub(crate) at: u64,
    /// The latest expiry of its rows.
    pub(crate) e: u32,
}

/// The buckets of `level` with a mark at or after `since_at` newer than their fold's head.
pub(crate) async fn dirty(
    ch: &Client,
    db: &str,
    level: u8,
    since_at: u64,
) -> Result<Vec<Dirty>, StoreError> {
    ch.select(&format!(
        "SELECT project, bucket, newest AS at, e FROM \
         (SELECT project, bucket, max(at) AS newest, toUInt32(max(expire_at)) AS e \
          FROM {db}.call_marks WHERE level = {level} AND at >= {since_at} \
          GROUP BY project, bucket) AS marks \
         GLOBAL ANY LEFT JOIN \
         (SELECT project, bucket, max(version) AS v FROM {db}.fold_heads \
          WHERE level = {level} AND (project, bucket) GLOBAL IN \
          (SELECT project, bucket FROM {db}.call_marks WHERE level = {level} AND at >= {since_at}) \
          GROUP BY project, bucket) AS heads \
         USING (project, bucket) WHERE newest > v"
    ))
    .await
}

/// `(column >= a AND column < b) OR ...` for the runs of consecutive buckets of `width` in
/// `buckets` (sorted).
pub(crate) fn runs(column: &str, buckets: &[u64], width: u64) -> String {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for b in buckets {
        let end = b.saturating_add(width);
        match out.last_mut() {
            Some((_, last_end)) if *last_end == *b => *last_end = end,
            _ => out.push((*b, end)),
        }
    }
    let parts: Vec<String> = out
        .iter()
        .map(|(a, b)| format!("({column} >= {a} AND {column} < {b})"))
        .collect();
    if parts.is_empty() {
        "0".to_string()
    } else {
        parts.join(" OR ")
    }
}

/// `column >= first AND column < last + width`: the range holding all of `buckets` (sorted), for
/// reads whose (bucket, version) pairs then pick the rows (one range analyses much faster than
/// hundreds of `OR`ed ones on 18.16).
pub(crate) fn hull(column: &str, buckets: &[u64], width: u64) -> String {
    match (buckets.first(), buckets.last()) {
        (Some(a), Some(b)) => format!("{column} >= {a} AND {column} < {}", b.saturating_add(width)),
        _ => "0".to_string(),
    }
}

/// The sums of fold rows under a `GROUP BY`, named as [`StatsRow`]'s fields (names that are
/// not columns: an alias shadows a column of its own name in ClickHouse).
fn fold_sums() -> String {
    format!(
        "{} AS n_calls, {} AS n_errors, {} AS t_input, {} AS t_output, \
         {} AS t_cache_read, {} AS t_cache_write, {} AS t_reasoning, {} AS t_cost, \
         {} AS t_unpriced",
        saturating_sum("calls"),
        saturating_sum("errors"),
        saturating_sum("input_tokens"),
        saturating_sum("output_tokens"),
        saturating_sum("cache_read_tokens"),
        saturating_sum("cache_write_tokens"),
        saturating_sum("reasoning_tokens"),
        saturating_cost("cost"),
        saturating_sum("unpriced"),
    )
}

/// The columns of `call_folds` an insert names, in the order the folds select them.
const FOLD_COLUMNS: &str = "project, level, bucket, service, model, provider, operation, calls, \
    errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, \
    reasoning_tokens, cost, unpriced, lat_bins, lat_counts, no_price_calls, last_no_price, \
    version, expire_at";

/// Folds every dirty minute (from `calls`) and every dirty hour ready to fold (from its
/// minutes' folds), see the module doc. `since_at`: marks older than this were folded by an
/// earlier call (0 the first time); returns the value for the next call. `margin`: how old an
/// hour's newest mark must be ([`HOUR_MARGIN_NANOS`] but in tests).
pub(crate) async fn fold_dirty(
    ch: &Client,
    db: &str,
    versions: &Versions,
    since_at: u64,
    margin: u64,
) -> Result<u64, StoreError> {
    let started = now_nanos();
    // The calls' minutes, then the sessions' and users'.
    for level in [LEVEL_MINUTE, LEVEL_GROUP_MINUTE] {
        let minutes = dirty(ch, db, level, since_at).await?;
        let mut by_project: HashMap<&str, Vec<&Dirty>> = HashMap::new();
        for d in &minutes {
            by_project.entry(&d.project).or_default().push(d);
        }
        for (project, mut list) in by_project {
            list.sort_by_key(|d| d.bucket);
            for chunk in run_chunks(&list) {
                if level == LEVEL_MINUTE {
                    fold_minutes(ch, db, versions, project, chunk).await?;
                } else {
                    crate::group_folds::fold_minutes(ch, db, versions, project, chunk).await?;
                }
            }
        }
    }
    // Hours from their minutes, then days from their hours; a bucket with a mark younger than
    // the margin stays dirty (read by its parts) for now.
    let version = started.saturating_sub(margin);
    let mut oldest_pending = u64::MAX;
    for (level, finer) in [
        (LEVEL_HOUR, LEVEL_MINUTE),
        (LEVEL_DAY, LEVEL_HOUR),
        (LEVEL_GROUP_HOUR, LEVEL_GROUP_MINUTE),
        (LEVEL_GROUP_DAY, LEVEL_GROUP_HOUR),
    ] {
        for d in &dirty(ch, db, level, since_at).await? {
            let folded = d.at <= version
                && match level {
                    LEVEL_HOUR | LEVEL_DAY => {
                        fold_from_parts(ch, db, version, d, level, finer).await?
                    }
                    _ => {
                        crate::group_folds::fold_from_parts(ch, db, version, d, level, finer)
                            .await?
                    }
                };
            if !folded {
                oldest_pending = oldest_pending.min(d.at);
            }
        }
    }
    // Marks inserted while this ran, or on their way (an insert takes at most a minute), are
    // looked at again next time; so are the buckets left dirty.
    let next = started.saturating_sub(2 * MINUTE);
    Ok(next.min(oldest_pending).max(since_at))
}

/// The width of a level's buckets.
pub(crate) fn level_width(level: u8) -> u64 {
    match level {
        LEVEL_TEN_SECONDS => TEN_SECONDS,
        LEVEL_MINUTE | LEVEL_GROUP_MINUTE => MINUTE,
        LEVEL_HOUR | LEVEL_GROUP_HOUR => HOUR,
        _ => DAY,
    }
}

/// Splits dirty minutes (sorted) into chunks of at most [`CHUNK`] minutes in at most
/// [`MOST_RUNS`] runs of consecutive minutes.
pub(crate) fn run_chunks<'a, 'b>(minutes: &'a [&'b Dirty]) -> Vec<&'a [&'b Dirty]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut runs = 0;
    let mut last: Option<u64> = None;
    for (i, d) in minutes.iter().enumerate() {
        let new_run = last.is_none_or(|l| l.saturating_add(MINUTE) != d.bucket);
        let len = i.saturating_sub(start);
        if (new_run && runs == MOST_RUNS) || len == CHUNK {
            out.extend(minutes.get(start..i));
            start = i;
            runs = 0;
        }
        if new_run || len == CHUNK {
            runs = runs.saturating_add(1);
        }
        last = Some(d.bucket);
    }
    out.extend(minutes.get(start..).filter(|rest| !rest.is_empty()));
    out
}

/// Refolds some dirty minutes of one project (sorted by bucket) from `calls`.
async fn fold_minutes(
    ch: &Client,
    db: &str,
    versions: &Versions,
    project: &str,
    minutes: &[&Dirty],
) -> Result<(), StoreError> {
    let version = versions.next();
    let buckets: Vec<u64> = minutes.iter().map(|d| d.bucket).collect();
    let p = lit(project);
    let range = runs("start_ns", &buckets, MINUTE);
    // Every call of the minutes (counted or not: the unpriced models count them all); the
    // statistics' sums and sketch bins of the counted ones.
    for (level, width) in [(LEVEL_TEN_SECONDS, TEN_SECONDS), (LEVEL_MINUTE, MINUTE)] {
        let sql = format!(
            "INSERT INTO {db}.call_folds ({FOLD_COLUMNS}) \
             SELECT {p}, toUInt8({level}), intDiv(start_ns, {width}) * {width} AS b, \
             service, model, provider, operation, toUInt64(sum(counted)), \
             toUInt64(sum(counted * error)), {}, {}, {}, {}, {}, {}, \
             toUInt64(sum(counted * unpriced)), \
             tupleElement(sumMap([lat_bin], [toInt64(counted)]) AS m, 1), tupleElement(m, 2), \
             toUInt64(sum(no_price)), maxIf(start_ns, no_price = 1), \
             toUInt64({version}), max(expire_at) \
             FROM (SELECT * FROM {db}.calls FINAL WHERE project = {p} AND ({range})) \
             WHERE deleted = 0 \
             GROUP BY b, service, model, provider, operation",
            saturating_sum("counted * input_tokens"),
            saturating_sum("counted * output_tokens"),
            saturating_sum("counted * cache_read_tokens"),
            saturating_sum("counted * cache_write_tokens"),
            saturating_sum("counted * reasoning_tokens"),
            saturating_cost("counted * cost"),
        );
        ch.execute(&sql).await?;
    }
    write_minute_heads(ch, db, project, LEVEL_MINUTE, minutes, version).await
}

/// Records that the folds of some minutes of `project` at `level` are complete at `version`
/// (after their rows).
pub(crate) async fn write_minute_heads(
    ch: &Client,
    db: &str,
    project: &str,
    level: u8,
    minutes: &[&Dirty],
    version: u64,
) -> Result<(), StoreError> {
    let heads: Vec<HeadRow<'_>> = minutes
        .iter()
        .map(|d| HeadRow {
            project,
            level,
            bucket: d.bucket,
            version,
            expire_at: d.e,
        })
        .collect();
    ch.insert(&format!("{db}.fold_heads"), &heads).await
}

#[derive(Deserialize)]
struct Stamp {
    bucket: u64,
    v: u64,
}

/// The newest mark (`call_marks`) or head (`fold_heads`) of each bucket of `level` of a
/// project with one, among the buckets kept by `keys` (a condition on `bucket`).
async fn stamps(
    ch: &Client,
    db: &str,
    table: &str,
    project: &str,
    level: u8,
    keys: &str,
) -> Result<BTreeMap<u64, u64>, StoreError> {
    let column = if table == "call_marks" {
        "at"
    } else {
        "version"
    };
    let rows: Vec<Stamp> = ch
        .select(&format!(
            "SELECT bucket, max({column}) AS v FROM {db}.{table} WHERE project = {} \
             AND level = {level} AND ({keys}) GROUP BY bucket",
            lit(project)
        ))
        .await?;
    Ok(rows.into_iter().map(|s| (s.bucket, s.v)).collect())
}

/// The newest mark and head of each bucket of `level` of a project kept by `keys`.
pub(crate) async fn marks_and_heads(
    ch: &Client,
    db: &str,
    project: &str,
    level: u8,
    keys: &str,
) -> Result<(BTreeMap<u64, u64>, BTreeMap<u64, u64>), StoreError> {
    tokio::try_join!(
        stamps(ch, db, "call_marks", project, level, keys),
        stamps(ch, db, "fold_heads", project, level, keys),
    )
}

/// The fold rows of `level` of a project at the given heads (bucket, version), as a query:
/// the rows of each minute, hour or day at its head's version (rows of ten seconds at their
/// minute's), read from one key range of `call_folds`.
fn rows_at_heads(db: &str, project: &str, level: u8, heads: &[(u64, u64)]) -> String {
    rows_at_heads_of(db, "call_folds", project, level, heads)
}

/// [`rows_at_heads`] of a fold table (`call_folds` or `group_folds`).
pub(crate) fn rows_at_heads_of(
    db: &str,
    table: &str,
    project: &str,
    level: u8,
    heads: &[(u64, u64)],
) -> String {
    let (width, head_bucket) = match level {
        LEVEL_TEN_SECONDS => (MINUTE, format!("intDiv(bucket, {MINUTE}) * {MINUTE}")),
        other => (level_width(other), "bucket".to_string()),
    };
    let buckets: Vec<u64> = heads.iter().map(|(b, _)| *b).collect();
    // (0, 0), which no fold has, keeps a single pair from reading as a tuple of two values.
    let mut pairs: Vec<String> = vec!["(0, 0)".to_string()];
    pairs.extend(heads.iter().map(|(b, v)| format!("({b}, {v})")));
    format!(
        "SELECT * FROM (SELECT * FROM {db}.{table} FINAL WHERE project = {} \
         AND level = {level} AND ({})) WHERE ({head_bucket}, version) IN ({})",
        lit(project),
        hull("bucket", &buckets, width),
        pairs.join(", ")
    )
}

/// Folds one dirty hour (or day) from the folds of its minutes (or hours), `finer`, at
/// `version`, when every one of them is clean; whether it did.
async fn fold_from_parts(
    ch: &Client,
    db: &str,
    version: u64,
    bucket: &Dirty,
    level: u8,
    finer: u8,
) -> Result<bool, StoreError> {
    let Some(parts) = clean_parts(ch, db, bucket, level, finer).await? else {
        return Ok(false);
    };
    let p = lit(&bucket.project);
    if !parts.is_empty() {
        let sql = format!(
            "INSERT INTO {db}.call_folds ({FOLD_COLUMNS}) \
             SELECT {p}, toUInt8({level}), toUInt64({}), service, model, provider, \
             operation, {}, tupleElement(sumMap(lat_bins, lat_counts) AS m, 1), tupleElement(m, 2), \
             toUInt64(sum(no_price_calls)), max(last_no_price), toUInt64({version}), \
             max(expire_at) \
             FROM ({}) GROUP BY service, model, provider, operation",
            bucket.bucket,
            fold_sums(),
            rows_at_heads(db, &bucket.project, finer, &parts),
        );
        ch.execute(&sql).await?;
    }
    write_head(ch, db, bucket, level, version).await?;
    Ok(true)
}

/// The parts (bucket, head version) of level `finer` of a dirty bucket of `level`, when every
/// one of them is clean; `None` when one is not.
pub(crate) async fn clean_parts(
    ch: &Client,
    db: &str,
    bucket: &Dirty,
    level: u8,
    finer: u8,
) -> Result<Option<Vec<(u64, u64)>>, StoreError> {
    let keys = hull("bucket", &[bucket.bucket], level_width(level));
    let (marks, heads) = marks_and_heads(ch, db, &bucket.project, finer, &keys).await?;
    let mut parts = Vec::with_capacity(marks.len());
    for (part, at) in &marks {
        match heads.get(part) {
            Some(v) if v >= at => parts.push((*part, *v)),
            _ => return Ok(None),
        }
    }
    Ok(Some(parts))
}

/// Records that the fold of `bucket` at `level` is complete at `version` (after its rows).
pub(crate) async fn write_head(
    ch: &Client,
    db: &str,
    bucket: &Dirty,
    level: u8,
    version: u64,
) -> Result<(), StoreError> {
    let head = [HeadRow {
        project: &bucket.project,
        level,
        bucket: bucket.bucket,
        version,
        expire_at: bucket.e,
    }];
    ch.insert(&format!("{db}.fold_heads"), &head).await
}

/// Where each part of a statistics query's range is read from.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ReadPlan {
    /// Days read from their day rows: (bucket, head version).
    pub(crate) days: Vec<(u64, u64)>,
    /// Hours read from their hour rows: (bucket, head version).
    pub(crate) hours: Vec<(u64, u64)>,
    /// Minutes read from their minute rows (or their rows of ten seconds, per
    /// `minute_level`): (bucket, head version).
    pub(crate) minutes: Vec<(u64, u64)>,
    /// The level the minutes are read at (of the calls' levels).
    minute_level: u8,
    /// Ranges of starts read from the rows folded (`calls`, or `trace_list` for groups).
    pub(crate) calls: Vec<(u64, u64)>,
}

impl ReadPlan {
    fn calls(&mut self, from: u64, to: u64) {
        if from >= to {
            return;
        }
        match self.calls.last_mut() {
            Some((_, end)) if *end == from => *end = to,
            _ => self.calls.push((from, to)),
        }
    }
}

/// The buckets' newest marks and heads a plan is made from.
#[derive(Default)]
struct Stamps {
    day_marks: BTreeMap<u64, u64>,
    day_heads: BTreeMap<u64, u64>,
    hour_marks: BTreeMap<u64, u64>,
    hour_heads: BTreeMap<u64, u64>,
    minute_marks: BTreeMap<u64, u64>,
    minute_heads: BTreeMap<u64, u64>,
}

/// Whether a bucket's fold holds all its calls: (head version) when it does.
fn clean(marks: &BTreeMap<u64, u64>, heads: &BTreeMap<u64, u64>, bucket: u64) -> Option<u64> {
    let head = *heads.get(&bucket)?;
    (marks.get(&bucket).copied().unwrap_or(0) <= head).then_some(head)
}

/// Plans `[since, until)` with query buckets of `width` (see the module doc). Buckets without
/// any mark have no calls and are skipped.
fn plan(since: u64, until: u64, width: Option<u64>, s: &Stamps) -> ReadPlan {
    let mut p = ReadPlan::default();
    let use_days = width.is_none_or(|w| w.checked_rem(DAY) == Some(0));
    let use_hours = width.is_none_or(|w| w.checked_rem(HOUR) == Some(0));
    let use_minutes = width.is_none_or(|w| w.checked_rem(MINUTE) == Some(0));
    let use_tens = width.is_none_or(|w| w.checked_rem(TEN_SECONDS) == Some(0));
    if !use_tens {
        p.calls(since, until);
        return p;
    }
    p.minute_level = if use_minutes {
        LEVEL_MINUTE
    } else {
        LEVEL_TEN_SECONDS
    };
    // Whole minutes inside the range, by the hours holding them.
    let Some((first_minute, end_minute)) =
        llmtrace_store::rollup_plan::whole_buckets(since, until, MINUTE)
    else {
        p.calls(since, until);
        return p;
    };
    p.calls(since, first_minute);
    let whole = |width: u64, bucket: u64| {
        llmtrace_store::rollup_plan::whole_buckets(since, until, width)
            .is_some_and(|(a, b)| bucket >= a && bucket < b)
    };
    // The days, then hours, with calls that overlap the whole minutes, in order.
    let floor = |t: u64, width: u64| t.saturating_sub(t.checked_rem(width).unwrap_or(0));
    for (&day, _) in s.day_marks.range(floor(first_minute, DAY)..end_minute) {
        if use_days && whole(DAY, day) {
            if let Some(v) = clean(&s.day_marks, &s.day_heads, day) {
                p.days.push((day, v));
                continue;
            }
        }
        let from = day.max(floor(first_minute, HOUR));
        let to = day.saturating_add(DAY).min(end_minute);
        for (&hour, _) in s.hour_marks.range(from..to) {
            if use_hours && whole(HOUR, hour) {
                if let Some(v) = clean(&s.hour_marks, &s.hour_heads, hour) {
                    p.hours.push((hour, v));
                    continue;
                }
            }
            let from = hour.max(first_minute);
            let to = hour.saturating_add(HOUR).min(end_minute);
            for (&minute, _) in s.minute_marks.range(from..to) {
                match clean(&s.minute_marks, &s.minute_heads, minute) {
                    Some(v) => p.minutes.push((minute, v)),
                    None => p.calls(minute, minute.saturating_add(MINUTE)),
                }
            }
        }
    }
    p.calls(end_minute, until);
    p
}

/// The group-by column of a query.
pub(crate) fn group_column(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Model => "model",
        GroupBy::Provider => "provider",
        GroupBy::Service => "service",
        GroupBy::Operation => "operation",
    }
}

/// The query's filters on the dimensions (` AND ...`).
pub(crate) fn dimension_filter(q: &StatsQuery) -> String {
    let mut filter = String::new();
    for (name, value) in [
        ("service", &q.service),
        ("model", &q.model),
        ("provider", &q.provider),
    ] {
        if let Some(v) = value {
            filter.push_str(&format!(" AND {name} = {}", lit(v)));
        }
    }
    filter
}

/// The query bucket of a start column (`toUInt64(0)` without buckets).
pub(crate) fn bucket_of(column: &str, width: Option<u64>) -> String {
    match width {
        Some(w) => format!("toUInt64(intDiv({column}, toUInt64({w})) * toUInt64({w}))"),
        None => "toUInt64(0)".to_string(),
    }
}

/// The groups of the fold rows of `level` at the given (bucket, version) heads.
async fn fold_groups(
    ch: &Client,
    db: &str,
    q: &StatsQuery,
    level: u8,
    heads: &[(u64, u64)],
) -> Result<Vec<StatsRow>, StoreError> {
    if heads.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {} AS b, toString({}) AS k, {}, tupleElement(sumMap(lat_bins, lat_counts) AS m, 1) \
         AS bins, tupleElement(m, 2) AS counts \
         FROM ({}) WHERE 1{} GROUP BY b, k",
        bucket_of("bucket", q.bucket_nanos.filter(|w| *w > 0)),
        group_column(q.group_by),
        fold_sums(),
        rows_at_heads(db, &q.project, level, heads),
        dimension_filter(q),
    );
    ch.select(&sql).await
}

/// One group being merged.
#[derive(Default)]
struct Acc {
    group: StatsGroup,
    latency: LatencySketch,
}

/// Plans where `[since, until)` of `project` is read from, with query buckets of `width`: the
/// buckets' marks and heads, then [`plan`].
async fn read_plan(
    ch: &Client,
    db: &str,
    project: &str,
    range: (u64, u64),
    width: Option<u64>,
) -> Result<ReadPlan, StoreError> {
    read_plan_at(ch, db, CALL_LEVELS, project, range, width).await
}

/// [`read_plan`] of the folds of `levels`.
pub(crate) async fn read_plan_at(
    ch: &Client,
    db: &str,
    levels: Levels,
    project: &str,
    (since, until): (u64, u64),
    width: Option<u64>,
) -> Result<ReadPlan, StoreError> {
    let floor = |t: u64, w: u64| t.saturating_sub(t.checked_rem(w).unwrap_or(0));
    let day_keys = format!("bucket >= {} AND bucket < {until}", floor(since, DAY));
    let (day_marks, day_heads) = marks_and_heads(ch, db, project, levels.day, &day_keys).await?;
    let mut s = Stamps {
        day_marks,
        day_heads,
        ..Stamps::default()
    };
    // The parts of the buckets not read whole (dirty, at the edges, or too wide for the
    // query's buckets): a day's hours, an hour's minutes.
    let open = |marks: &BTreeMap<u64, u64>, heads: &BTreeMap<u64, u64>, w: u64| -> Vec<u64> {
        let usable = width.is_none_or(|q| q.checked_rem(w) == Some(0));
        let whole = llmtrace_store::rollup_plan::whole_buckets(since, until, w);
        marks
            .keys()
            .copied()
            .filter(|b| {
                !usable
                    || !whole.is_some_and(|(x, y)| *b >= x && *b < y)
                    || clean(marks, heads, *b).is_none()
            })
            .collect()
    };
    let open_days = open(&s.day_marks, &s.day_heads, DAY);
    if open_days.is_empty() {
        return Ok(plan(since, until, width, &s));
    }
    let keys = hull("bucket", &open_days, DAY);
    (s.hour_marks, s.hour_heads) = marks_and_heads(ch, db, project, levels.hour, &keys).await?;
    let open_hours = open(&s.hour_marks, &s.hour_heads, HOUR);
    if !open_hours.is_empty() {
        let keys = hull("bucket", &open_hours, HOUR);
        (s.minute_marks, s.minute_heads) =
            marks_and_heads(ch, db, project, levels.minute, &keys).await?;
    }
    Ok(plan(since, until, width, &s))
}

/// Statistics of counted model calls per group (and time bucket, when asked): folds where they
/// are clean, `calls` elsewhere (see the module doc).
pub(crate) async fn stats(
    ch: &Client,
    db: &str,
    q: &StatsQuery,
) -> Result<Vec<StatsGroup>, StoreError> {
    let width = q.bucket_nanos.filter(|w| *w > 0);
    let since = q.since_unix_nano.unwrap_or(0);
    let until = q.until_unix_nano.unwrap_or(u64::MAX);
    if since >= until {
        return Ok(Vec::new());
    }
    let p = read_plan(ch, db, &q.project, (since, until), width).await?;
    let (days, hours, minutes, calls) = tokio::try_join!(
        fold_groups(ch, db, q, LEVEL_DAY, &p.days),
        fold_groups(ch, db, q, LEVEL_HOUR, &p.hours),
        fold_groups(ch, db, q, p.minute_level, &p.minutes),
        crate::calls::groups(ch, db, q, &p.calls),
    )?;
    let mut groups: BTreeMap<(u64, String), Acc> = BTreeMap::new();
    for row in days.into_iter().chain(hours).chain(minutes).chain(calls) {
        let acc = groups.entry((row.b, row.k.clone())).or_default();
        let g = &mut acc.group;
        g.bucket_start_unix_nano = width.map(|_| row.b);
        g.key = (!row.k.is_empty()).then(|| row.k.clone());
        g.calls = g.calls.saturating_add(row.n_calls);
        g.errors = g.errors.saturating_add(row.n_errors);
        g.input_tokens = g.input_tokens.saturating_add(row.t_input);
        g.output_tokens = g.output_tokens.saturating_add(row.t_output);
        g.cache_read_tokens = g.cache_read_tokens.saturating_add(row.t_cache_read);
        g.cache_write_tokens = g.cache_write_tokens.saturating_add(row.t_cache_write);
        g.reasoning_tokens = g.reasoning_tokens.saturating_add(row.t_reasoning);
        g.cost_pico = g.cost_pico.saturating_add(row.t_cost);
        g.unpriced_calls = g.unpriced_calls.saturating_add(row.t_unpriced);
        for (bin, count) in row.bins.iter().zip(&row.counts) {
            acc.latency.add_to_bin(*bin, *count);
        }
    }
    Ok(groups
        .into_values()
        .filter(|a| a.group.calls > 0)
        .map(|mut a| {
            a.group.set_percentiles(&a.latency);
            a.group
        })
        .collect())
}

/// One model of [`unpriced_models`] from one source.
#[derive(Deserialize)]
struct UnpricedRow {
    m: String,
    pv: String,
    spans: u64,
    last_seen: u64,
}

/// Models seen on model calls without a price, most recent first (ties by model and
/// provider): every call span the pricer found no price for, from the folds where they are
/// clean and `calls` elsewhere, like [`stats`] over all time.
pub(crate) async fn unpriced_models(
    ch: &Client,
    db: &str,
    project: &str,
) -> Result<Vec<UnpricedModel>, StoreError> {
    let p = read_plan(ch, db, project, (0, u64::MAX), None).await?;
    let project_lit = lit(project);
    let from_folds = |level: u8, heads: &[(u64, u64)]| {
        format!(
            "SELECT toString(model) AS m, toString(provider) AS pv, \
             toUInt64(sum(no_price_calls)) AS spans, max(last_no_price) AS last_seen \
             FROM ({}) WHERE no_price_calls > 0 GROUP BY m, pv",
            rows_at_heads(db, project, level, heads)
        )
    };
    let mut queries = Vec::new();
    if !p.days.is_empty() {
        queries.push(from_folds(LEVEL_DAY, &p.days));
    }
    if !p.hours.is_empty() {
        queries.push(from_folds(LEVEL_HOUR, &p.hours));
    }
    if !p.minutes.is_empty() {
        queries.push(from_folds(LEVEL_MINUTE, &p.minutes));
    }
    if !p.calls.is_empty() {
        let ranges: Vec<String> = p
            .calls
            .iter()
            .map(|(a, b)| format!("(start_ns >= {a} AND start_ns < {b})"))
            .collect();
        queries.push(format!(
            "SELECT toString(model) AS m, toString(provider) AS pv, count() AS spans, \
             max(start_ns) AS last_seen \
             FROM (SELECT * FROM {db}.calls FINAL WHERE project = {project_lit} AND ({})) \
             WHERE deleted = 0 AND no_price = 1 GROUP BY m, pv",
            ranges.join(" OR ")
        ));
    }
    let mut models: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for sql in queries {
        for r in ch.select::<UnpricedRow>(&sql).await? {
            let e = models.entry((r.m, r.pv)).or_default();
            e.0 = e.0.saturating_add(r.spans);
            e.1 = e.1.max(r.last_seen);
        }
    }
    let mut out: Vec<UnpricedModel> = models
        .into_iter()
        .map(|((model, pv), (spans, last_seen))| UnpricedModel {
            model,
            provider: (!pv.is_empty()).then_some(pv),
            spans,
            last_seen_unix_nano: last_seen,
        })
        .collect();
    out.sort_by(|a, b| {
        b.last_seen_unix_nano
            .cmp(&a.last_seen_unix_nano)
            .then_with(|| a.model.cmp(&b.model))
            .then_with(|| a.provider.cmp(&b.provider))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps(pairs: &[(u64, u64)]) -> BTreeMap<u64, u64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn dirty_minutes_are_chunked_by_runs() {
        let d = |bucket: u64| Dirty {
            project: "p".into(),
            bucket,
            at: 1,
            e: 0,
        };
        // 40 separate minutes, then 3 consecutive ones.
        let mut all: Vec<Dirty> = (0..40).map(|i| d(i * 10 * MINUTE)).collect();
        all.extend((0..3).map(|i| d(1_000 * MINUTE + i * MINUTE)));
        let refs: Vec<&Dirty> = all.iter().collect();
        let chunks = run_chunks(&refs);
        let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![16, 16, 11]);
        assert_eq!(sizes.iter().sum::<usize>(), 43);
        assert!(run_chunks(&[]).is_empty());
    }

    #[test]
    fn runs_join_consecutive_buckets() {
        assert_eq!(runs("b", &[], 10), "0");
        assert_eq!(
            runs("b", &[0, 10, 30], 10),
            "(b >= 0 AND b < 20) OR (b >= 30 AND b < 40)"
        );
    }

    #[test]
    fn clean_folds_are_read_dirty_buckets_and_edges_from_calls() {
        let h0 = 100 * HOUR;
        let h1 = h0 + HOUR;
        let day = 96 * HOUR;
        let mut s = Stamps {
            // The day written after its fold.
            day_marks: stamps(&[(day, 9)]),
            day_heads: stamps(&[(day, 8)]),
            // h0 folded after its last mark; h1 written after its fold.
            hour_marks: stamps(&[(h0, 5), (h1, 9)]),
            hour_heads: stamps(&[(h0, 6), (h1, 7)]),
            minute_marks: stamps(&[(h0 + MINUTE, 5), (h1, 9), (h1 + 2 * MINUTE, 3)]),
            minute_heads: stamps(&[(h0 + MINUTE, 6), (h1, 7), (h1 + 2 * MINUTE, 8)]),
        };
        let since = h0;
        let until = h1 + 2 * HOUR + 5;
        let p = plan(since, until, None, &s);
        assert_eq!(p.minute_level, LEVEL_MINUTE);
        assert_eq!(p.hours, vec![(h0, 6)]);
        assert_eq!(p.minutes, vec![(h1 + 2 * MINUTE, 8)]);
        assert_eq!(
            p.calls,
            vec![(h1, h1 + MINUTE), (h1 + 2 * HOUR, until)],
            "the dirty minute and the partial minute at the end"
        );
        // Buckets of 30 minutes: no hour rows, the minutes of h0 instead.
        let p = plan(since, until, Some(30 * MINUTE), &s);
        assert!(p.hours.is_empty());
        assert_eq!(p.minutes, vec![(h0 + MINUTE, 6), (h1 + 2 * MINUTE, 8)]);
        // Buckets of 30 s: the rows of ten seconds of the clean minutes.
        let p = plan(since, until, Some(30_000_000_000), &s);
        assert_eq!(p.minute_level, LEVEL_TEN_SECONDS);
        assert_eq!(p.minutes, vec![(h0 + MINUTE, 6), (h1 + 2 * MINUTE, 8)]);
        // Buckets of 45 s: all from the calls.
        let p = plan(since + 7, until, Some(45_000_000_000), &s);
        assert_eq!(p.calls, vec![(since + 7, until)]);
        assert!(p.hours.is_empty() && p.minutes.is_empty());
        // A range starting inside h0: its minutes, not its hour row.
        let p = plan(h0 + 30 * 1_000_000_000, h1, None, &s);
        assert!(p.hours.is_empty());
        assert_eq!(p.minutes, vec![(h0 + MINUTE, 6)]);
        assert_eq!(p.calls, vec![(h0 + 30 * 1_000_000_000, h0 + MINUTE)]);
        // The whole day, dirty: by its hours; folded again, from its day rows (but not with
        // buckets of hours).
        let p = plan(day, day + DAY, None, &s);
        assert!(p.days.is_empty());
        assert_eq!(p.hours, vec![(h0, 6)]);
        s.day_heads.insert(day, 10);
        let p = plan(day, day + DAY, None, &s);
        assert_eq!(p.days, vec![(day, 10)]);
        assert!(p.hours.is_empty() && p.minutes.is_empty() && p.calls.is_empty());
        let p = plan(day, day + DAY, Some(HOUR), &s);
        assert!(p.days.is_empty());
        assert_eq!(p.hours, vec![(h0, 6)]);
    }
}
