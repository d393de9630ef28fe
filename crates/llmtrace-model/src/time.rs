//! Timestamps of the JSON wires (LangSmith runs, Langfuse events, OpenAI Agents items, the
//! Langfuse OTel attributes) to Unix nanoseconds: the one parser every receiver uses.
//!
//! Accepted: ISO-8601 / RFC 3339 with a `Z` or `±HH:MM` / `±HHMM` offset, or without one
//! (naive times are UTC, as the Python SDK's `datetime.isoformat()` of a UTC time); a space
//! instead of `T`; 0–9 fractional digits; the compact `%Y%m%dT%H%M%S%fZ` form used in
//! `dotted_order`; and numbers (epoch seconds, milliseconds, microseconds or nanoseconds, told
//! apart by magnitude, as the JS SDK sends milliseconds).

use serde_json::Value;

/// `f` as a whole number: the fraction dropped, negative and NaN to 0, beyond `u64::MAX` to
/// `u64::MAX` (what a float-to-integer `as` does).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn f64_to_u64(f: f64) -> u64 {
    f as u64
}

/// A timestamp value (string or number) in Unix nanoseconds; `None` when it is not one.
pub fn parse_timestamp(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => parse_time_str(s),
        Value::Number(n) => {
            let f = n.as_f64()?;
            if !f.is_finite() || f < 0.0 {
                return None;
            }
            // Seconds until year ~5000, then milliseconds, microseconds, nanoseconds.
            let scale: u64 = if f < 1e11 {
                1_000_000_000
            } else if f < 1e14 {
                1_000_000
            } else if f < 1e17 {
                1_000
            } else {
                1
            };
            if let Some(i) = n.as_u64() {
                return i.checked_mul(scale);
            }
            let whole = f.trunc();
            let frac = f64_to_u64(((f - whole) * scale as f64).round());
            (whole < u64::MAX as f64)
                .then(|| f64_to_u64(whole).checked_mul(scale)?.checked_add(frac))
                .flatten()
        }
        _ => None,
    }
}

/// An ISO-8601 or compact (`20260101T000000123456Z`) timestamp in Unix nanoseconds.
pub fn parse_time_str(s: &str) -> Option<u64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() >= 15
        && b.get(8) == Some(&b'T')
        && b.get(..8).is_some_and(|p| p.iter().all(u8::is_ascii_digit))
    {
        return parse_compact(b);
    }
    parse_iso(b)
}

fn digits(b: &[u8], from: usize, n: usize) -> Option<u32> {
    let part = b.get(from..from.checked_add(n)?)?;
    let mut v: u32 = 0;
    for c in part {
        let d = char::from(*c).to_digit(10)?;
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(v)
}

/// Fractional seconds starting at `b[i]` (after the dot): nanoseconds and the index after them.
fn fraction(b: &[u8], i: usize) -> (u32, usize) {
    let rest = b.get(i..).unwrap_or_default();
    let run = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    // The first nine digits, padded with zeros to nine (at most 999_999_999: no saturation).
    let nanos = rest
        .iter()
        .take(run.min(9))
        .filter_map(|c| char::from(*c).to_digit(10))
        .chain(std::iter::repeat(0))
        .take(9)
        .fold(0u32, |acc, d| acc.saturating_mul(10).saturating_add(d));
    (nanos, i.saturating_add(run))
}

/// `YYYYMMDDTHHMMSS[ffffff]Z`.
fn parse_compact(b: &[u8]) -> Option<u64> {
    let (y, mo, d) = (digits(b, 0, 4)?, digits(b, 4, 2)?, digits(b, 6, 2)?);
    let (h, mi, sec) = (digits(b, 9, 2)?, digits(b, 11, 2)?, digits(b, 13, 2)?);
    let (nanos, end) = fraction(b, 15);
    match b.get(end..) {
        Some(b"" | b"Z" | b"z") => {}
        _ => return None,
    }
    to_nanos(y, mo, d, h, mi, sec, nanos, 0)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f][Z|±HH:MM|±HHMM]`, or a bare date.
fn parse_iso(b: &[u8]) -> Option<u64> {
    let y = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (mo, d) = (digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.len() == 10 {
        return to_nanos(y, mo, d, 0, 0, 0, 0, 0);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let h = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let mi = digits(b, 14, 2)?;
    let (sec, mut i) = if b.get(16) == Some(&b':') {
        (digits(b, 17, 2)?, 19)
    } else {
        (0, 16)
    };
    let mut nanos = 0;
    if matches!(b.get(i), Some(b'.' | b',')) {
        (nanos, i) = fraction(b, i.saturating_add(1));
    }
    let offset_s: i64 = match b.get(i..) {
        Some(b"" | b"Z" | b"z") => 0,
        Some([sign @ (b'+' | b'-'), rest @ ..]) => {
            let (oh, om) = match rest.len() {
                5 if rest.get(2) == Some(&b':') => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                2 => (digits(rest, 0, 2)?, 0),
                _ => return None,
            };
            let off = i64::from(oh.checked_mul(3600)?.checked_add(om.checked_mul(60)?)?);
            if *sign == b'+' {
                off
            } else {
                off.checked_neg()?
            }
        }
        _ => return None,
    };
    to_nanos(y, mo, d, h, mi, sec, nanos, offset_s)
}

#[allow(clippy::too_many_arguments)]
fn to_nanos(
    y: u32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    nanos: u32,
    offset_s: i64,
) -> Option<u64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), i64::from(mo), i64::from(d))?;
    let day_secs = h
        .checked_mul(3600)?
        .checked_add(mi.checked_mul(60)?)?
        .checked_add(s)?;
    let secs = days
        .checked_mul(86_400)?
        .checked_add(i64::from(day_secs))?
        .checked_sub(offset_s)?;
    let secs = u64::try_from(secs).ok()?;
    secs.checked_mul(1_000_000_000)?
        .checked_add(u64::from(nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm); `None`
/// on overflow, which the callers' four-digit years and checked months and days rule out.
fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = m.checked_add(9)?.rem_euclid(12);
    let doy = mp
        .checked_mul(153)?
        .checked_add(2)?
        .checked_div(5)?
        .checked_add(d)?
        .checked_sub(1)?;
    let doe = yoe
        .checked_mul(365)?
        .checked_add(yoe.checked_div(4)?)?
        .checked_sub(yoe.checked_div(100)?)?
        .checked_add(doy)?;
    era.checked_mul(146_097)?
        .checked_add(doe)?
        .checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: u64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

    #[test]
    fn iso_forms() {
        assert_eq!(parse_time_str("2026-01-01T00:00:00Z"), Some(T));
        assert_eq!(
            parse_time_str("2026-01-01T00:00:00.018569+00:00"),
            Some(T + 18_569_000)
        );
        assert_eq!(
            parse_time_str("2026-01-01T00:00:00.018569"),
            Some(T + 18_569_000)
        );
        assert_eq!(parse_time_str("2026-01-01 01:00:00+01:00"), Some(T));
        assert_eq!(parse_time_str("2025-12-31T23:00:00-0100"), Some(T));
        assert_eq!(
            parse_time_str("2026-01-01T00:00:00.123456789123Z"),
            Some(T + 123_456_789)
        );
        assert_eq!(parse_time_str("2026-01-01"), Some(T));
        assert_eq!(
            parse_time_str("2024-02-29T12:00:00Z"),
            Some(1_709_208_000_000_000_000)
        );
    }

    #[test]
    fn compact_dotted_order_form() {
        assert_eq!(
            parse_time_str("20260101T000000018569Z"),
            Some(T + 18_569_000)
        );
        assert_eq!(parse_time_str("20260101T000000Z"), Some(T));
    }

    #[test]
    fn numbers_and_garbage() {
        assert_eq!(parse_timestamp(&json!(1_767_225_600)), Some(T));
        assert_eq!(
            parse_timestamp(&json!(1_767_225_600_500u64)),
            Some(T + 500_000_000)
        );
        assert_eq!(
            parse_timestamp(&json!(1_767_225_600.25)),
            Some(T + 250_000_000)
        );
        assert_eq!(parse_timestamp(&json!(T)), Some(T));
        assert_eq!(parse_timestamp(&json!(-1)), None);
        assert_eq!(parse_timestamp(&json!(true)), None);
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-01-01T25:00:00Z",
            "2026-01-01T00:00:00+5",
            "2026-01-01T00:00:00Zjunk",
            "1969-12-31T23:59:59Z",
            "20260101T000000123456Q",
        ] {
            assert_eq!(parse_time_str(bad), None, "{bad}");
        }
    }
}
