//! Integers at the SQLite boundary. SQLite stores `i64`; counts, times and sizes are `u64` or
//! `usize` here. The conversions saturate, they never wrap.

/// A count or time as a stored integer, clamped to SQLite's range.
pub(crate) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A length, limit or offset as a stored integer, clamped to SQLite's range.
pub(crate) fn int_of_len(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored integer as a count or time (a negative one, which no writer stores, reads as 0).
pub(crate) fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A stored position or version as a `usize`; a negative one (which no writer stores) reads as
/// `usize::MAX`, so looking it up finds nothing rather than the first item.
pub(crate) fn position(v: i64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// A query's time range `[since, until)` in Unix nanoseconds: open ends are the epoch and the
/// largest stored time.
pub(crate) fn range(since: Option<u64>, until: Option<u64>) -> (u64, u64) {
    let max = i64::MAX.unsigned_abs();
    (since.unwrap_or(0), until.unwrap_or(max).min(max))
}
