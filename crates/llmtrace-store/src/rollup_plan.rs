//! Which call rollups answer a statistics query: the levels of time buckets the stores keep
//! (ten seconds, minute, hour, day) and how a query's range splits into whole buckets of those levels and
//! the partial minutes at its edges, read from the spans themselves.
//!
//! A store keeps, per project, level, bucket and dimensions (service, model, provider,
//! operation), the sums of its counted model calls and a [`crate::LatencySketch`], maintained
//! at commit. A range `[since, until)` is answered from the widest level whose whole buckets
//! fit inside it, then narrower levels at the sides, then raw spans for what is left (less than
//! ten seconds at each end). With query buckets of width `W`, only levels whose width divides
//! `W` are used (a day of rollup would straddle two 6-hour buckets otherwise); a width that is
//! not a whole number of ten seconds is answered from the spans.

/// One level of rollup buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RollupLevel {
    /// Buckets of ten seconds (the dashboard's finest bucket).
    TenSeconds,
    /// Buckets of a minute.
    Minute,
    /// Buckets of an hour.
    Hour,
    /// Buckets of a day (UTC).
    Day,
}

impl RollupLevel {
    /// Every level, narrowest first.
    pub const ALL: [RollupLevel; 4] = [
        RollupLevel::TenSeconds,
        RollupLevel::Minute,
        RollupLevel::Hour,
        RollupLevel::Day,
    ];

    /// The level's number as stored (0 ten seconds, 1 minute, 2 hour, 3 day).
    pub fn code(self) -> u8 {
        match self {
            RollupLevel::TenSeconds => 0,
            RollupLevel::Minute => 1,
            RollupLevel::Hour => 2,
            RollupLevel::Day => 3,
        }
    }

    /// Width of a bucket in nanoseconds.
    pub fn width_nanos(self) -> u64 {
        match self {
            RollupLevel::TenSeconds => 10_000_000_000,
            RollupLevel::Minute => 60_000_000_000,
            RollupLevel::Hour => 3_600_000_000_000,
            RollupLevel::Day => 86_400_000_000_000,
        }
    }

    /// The start of the bucket holding `unix_nano`.
    pub fn bucket_of(self, unix_nano: u64) -> u64 {
        unix_nano.saturating_sub(unix_nano.checked_rem(self.width_nanos()).unwrap_or(0))
    }

    /// The next narrower level.
    fn narrower(self) -> Option<Self> {
        match self {
            RollupLevel::TenSeconds => None,
            RollupLevel::Minute => Some(RollupLevel::TenSeconds),
            RollupLevel::Hour => Some(RollupLevel::Minute),
            RollupLevel::Day => Some(RollupLevel::Hour),
        }
    }
}

/// A part of a query's range and where it is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangePiece {
    /// Whole buckets of `level` starting in `[from, to)` (both bucket-aligned).
    Rollup {
        /// The level.
        level: RollupLevel,
        /// First bucket start.
        from: u64,
        /// End (exclusive), a bucket boundary.
        to: u64,
    },
    /// Calls starting in `[from, to)`, read from the spans (less than ten seconds, or
    /// everything when no level fits the query's buckets).
    Spans {
        /// Start (inclusive).
        from: u64,
        /// End (exclusive).
        to: u64,
    },
}

/// The widest level usable with query buckets of `bucket_nanos` (every level without
/// buckets); `None` when the buckets are not a whole number of ten seconds.
pub fn widest_level(bucket_nanos: Option<u64>) -> Option<RollupLevel> {
    let Some(width) = bucket_nanos else {
        return Some(RollupLevel::Day);
    };
    if width == 0 {
        return None;
    }
    RollupLevel::ALL
        .into_iter()
        .rev()
        .find(|l| width.checked_rem(l.width_nanos()) == Some(0))
}

/// Splits `[since, until)` into pieces, widest levels first (see the module doc).
pub fn plan(since: u64, until: u64, bucket_nanos: Option<u64>) -> Vec<RangePiece> {
    let mut pieces = Vec::new();
    if since >= until {
        return pieces;
    }
    match widest_level(bucket_nanos) {
        Some(level) => cover(since, until, level, &mut pieces),
        None => pieces.push(RangePiece::Spans {
            from: since,
            to: until,
        }),
    }
    pieces
}

/// The whole buckets of `width` inside `[since, until)`: the first bucket start and the end of
/// the last one, when there is at least one.
pub fn whole_buckets(since: u64, until: u64, width: u64) -> Option<(u64, u64)> {
    let first = match since.checked_rem(width)? {
        0 => since,
        r => since.checked_add(width.saturating_sub(r))?,
    };
    let last = until.saturating_sub(until.checked_rem(width)?);
    (first < last).then_some((first, last))
}

fn cover(since: u64, until: u64, level: RollupLevel, pieces: &mut Vec<RangePiece>) {
    let sides = match whole_buckets(since, until, level.width_nanos()) {
        Some((first, last)) => {
            pieces.push(RangePiece::Rollup {
                level,
                from: first,
                to: last,
            });
            vec![(since, first), (last, until)]
        }
        None => vec![(since, until)],
    };
    for (from, to) in sides.into_iter().filter(|(from, to)| from < to) {
        match level.narrower() {
            Some(narrower) => cover(from, to, narrower, pieces),
            None => pieces.push(RangePiece::Spans { from, to }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000_000;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;

    /// Every nanosecond of the range is covered by exactly one piece.
    fn assert_partition(since: u64, until: u64, pieces: &[RangePiece]) {
        let mut spans: Vec<(u64, u64)> = pieces
            .iter()
            .map(|p| match *p {
                RangePiece::Rollup { from, to, level } => {
                    assert_eq!(from % level.width_nanos(), 0);
                    assert_eq!(to % level.width_nanos(), 0);
                    (from, to)
                }
                RangePiece::Spans { from, to } => (from, to),
            })
            .collect();
        spans.sort_unstable();
        let mut at = since;
        for (from, to) in spans {
            assert_eq!(from, at, "{pieces:?}");
            assert!(from < to);
            at = to;
        }
        assert_eq!(at, until, "{pieces:?}");
    }

    #[test]
    fn a_range_splits_into_days_hours_minutes_and_raw_edges() {
        let since = 3 * DAY - 2 * HOUR - 5 * MIN - 7;
        let until = 33 * DAY + 3 * HOUR + 2 * MIN + 11;
        let pieces = plan(since, until, None);
        assert_partition(since, until, &pieces);
        assert!(pieces.contains(&RangePiece::Rollup {
            level: RollupLevel::Day,
            from: 3 * DAY,
            to: 33 * DAY
        }));
        let raw: u64 = pieces
            .iter()
            .map(|p| match p {
                RangePiece::Spans { from, to } => to - from,
                _ => 0,
            })
            .sum();
        assert!(raw < 20_000_000_000, "{pieces:?}");
        assert!(pieces.len() <= 9, "{pieces:?}");
    }

    #[test]
    fn query_buckets_limit_the_levels() {
        assert_eq!(widest_level(Some(30 * MIN)), Some(RollupLevel::Minute));
        assert_eq!(
            widest_level(Some(30_000_000_000)),
            Some(RollupLevel::TenSeconds)
        );
        assert_eq!(widest_level(Some(12 * HOUR)), Some(RollupLevel::Hour));
        assert_eq!(widest_level(Some(7 * DAY)), Some(RollupLevel::Day));
        assert_eq!(widest_level(Some(45_000_000_000)), None);
        assert_eq!(widest_level(Some(0)), None);
        let pieces = plan(0, 2 * DAY + 7, Some(45_000_000_000));
        assert_eq!(
            pieces,
            vec![RangePiece::Spans {
                from: 0,
                to: 2 * DAY + 7
            }]
        );
        let pieces = plan(5, 2 * DAY, Some(3 * HOUR));
        assert_partition(5, 2 * DAY, &pieces);
        assert!(pieces.iter().all(|p| !matches!(
            p,
            RangePiece::Rollup {
                level: RollupLevel::Day,
                ..
            }
        )));
    }

    #[test]
    fn open_and_tiny_ranges() {
        let until = i64::MAX.unsigned_abs();
        let pieces = plan(0, until, None);
        assert_partition(0, until, &pieces);
        assert!(plan(9, 9, None).is_empty());
        assert_eq!(
            plan(10, 20, None),
            vec![RangePiece::Spans { from: 10, to: 20 }]
        );
        let pieces = plan(MIN - 1, MIN + 1, None);
        assert_partition(MIN - 1, MIN + 1, &pieces);
        assert_eq!(
            pieces,
            vec![RangePiece::Spans {
                from: MIN - 1,
                to: MIN + 1
            }]
        );
    }
}
