//! RFC 3339 timestamps of the API: always UTC with nine fractional digits on output; any offset
//! and precision on input.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Formats Unix nanoseconds as `2026-01-01T00:00:00.123456789Z`.
pub fn format_rfc3339_nanos(unix_nano: u64) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    OffsetDateTime::from_unix_timestamp_nanos(unix_nano as i128)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000000000Z".into())
}

/// Parses an RFC 3339 timestamp into Unix nanoseconds (times before 1970 are refused).
pub fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format!("invalid RFC 3339 time {s:?}: {e}"))?;
    u64::try_from(t.unix_timestamp_nanos()).map_err(|_| format!("time {s:?} is before 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_nanos_and_parses_offsets() {
        assert_eq!(
            format_rfc3339_nanos(1_767_225_600_000_000_001),
            "2026-01-01T00:00:00.000000001Z"
        );
        assert_eq!(
            parse_rfc3339("2026-01-01T01:00:00+01:00").unwrap(),
            1_767_225_600_000_000_000
        );
        assert_eq!(
            parse_rfc3339("2026-01-01T00:00:00.5Z").unwrap(),
            1_767_225_600_500_000_000
        );
        assert!(parse_rfc3339("yesterday").is_err());
    }
}
