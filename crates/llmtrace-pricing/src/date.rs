//! Calendar days (UTC) for `effective_from`: parsed from and shown as `YYYY-MM-DD`, compared as
//! day numbers since 1970-01-01.

use crate::PricingError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Nanoseconds in one day.
const NANOS_PER_DAY: u64 = 86_400 * 1_000_000_000;

/// A UTC calendar day, stored as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Day(i32);

impl Day {
    /// 1970-01-01: the `effective_from` of the built-in table and of entries that give none, so
    /// that they apply to spans of any time.
    pub const EPOCH: Day = Day(0);

    /// Days since 1970-01-01.
    pub const fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// The day a Unix-nanosecond timestamp falls on (UTC).
    pub fn from_unix_nanos(nanos: u64) -> Day {
        // u64::MAX / NANOS_PER_DAY is about 213,503, well inside i32.
        Day((nanos / NANOS_PER_DAY) as i32)
    }

    /// Parses `YYYY-MM-DD` (a real calendar date, years 1970..=9999).
    pub fn parse(text: &str) -> Result<Day, PricingError> {
        let bad = || PricingError::InvalidDate(text.to_string());
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i32, PricingError> {
            let s = &text[r];
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m)
        {
            return Err(bad());
        }
        Ok(Day(days_from_civil(y, m, d)))
    }

    /// `(year, month, day)`.
    pub fn ymd(self) -> (i32, i32, i32) {
        civil_from_days(self.0)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: i32) -> i32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i32, m: i32, d: i32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i32) -> (i32, i32, i32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i32::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        for s in [
            "1970-01-01",
            "2024-02-29",
            "2025-06-01",
            "2026-11-25",
            "9999-12-31",
        ] {
            assert_eq!(
                Day::parse(s).map(|d| d.to_string()).ok(),
                Some(s.to_string())
            );
        }
        assert_eq!(Day::parse("1970-01-02").map(|d| d.0).ok(), Some(1));
        assert_eq!(Day::parse("2025-01-01").map(|d| d.0).ok(), Some(20_089));
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "20250101",
            "1969-12-31",
            "x",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn from_timestamps() {
        // 2025-01-01T00:00:00Z = 1_735_689_600 s
        let start = 1_735_689_600u64 * 1_000_000_000;
        assert_eq!(Day::from_unix_nanos(start).to_string(), "2025-01-01");
        assert_eq!(Day::from_unix_nanos(start - 1).to_string(), "2024-12-31");
        assert_eq!(Day::from_unix_nanos(0), Day::EPOCH);
    }
}
