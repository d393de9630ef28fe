//! The dashboard's range: the query string's preset or custom range (an unknown preset is
//! refused), the bucket width, and the default that fits the data: a young project's range
//! starts at its first call, and a project quiet for the whole default range shows the last hour
//! that has data. The server does the reads (the bucketed series it charts anyway, and trace
//! lists of one trace); the decisions are here.

use crate::traces::{set, RangePreset};
use serde::Deserialize;

/// Nanoseconds per second.
const S: u64 = 1_000_000_000;

/// The presets the dashboard offers, in the order of its menu.
pub(crate) const PRESETS: [RangePreset; 4] = [
    RangePreset::M15,
    RangePreset::H1,
    RangePreset::H24,
    RangePreset::D7,
];

/// The length of the range shown when the query string gives none (before it is fitted to the
/// data), in seconds.
pub const DEFAULT_RANGE_SECONDS: u64 = 86_400;

/// A fitted range is at least this long, in seconds.
pub const MIN_FITTED_SECONDS: u64 = 15 * 60;

/// The dashboard's query string (empty values mean unset).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DashboardForm {
    /// Range preset (`15m`, `1h`, `24h`, `7d`); unset, the range fits the data (at most the
    /// last 24 hours); a custom `since` wins.
    pub range: Option<String>,
    /// Custom range start, RFC 3339.
    pub since: Option<String>,
    /// Custom range end, RFC 3339.
    pub until: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Provider.
    pub provider: Option<String>,
}

/// Bucket widths the dashboard chooses from, in seconds (each divides the next).
const BUCKET_WIDTHS: [u64; 12] = [
    10, 30, 60, 300, 900, 1800, 3600, 10_800, 21_600, 43_200, 86_400, 604_800,
];

/// About this many buckets per chart.
const TARGET_BUCKETS: u64 = 60;

impl DashboardForm {
    /// The range preset chosen: `None` when unset (the range then fits the data), an error
    /// naming the valid presets for any other value ("all time" is not a dashboard range).
    pub fn preset(&self) -> Result<Option<RangePreset>, String> {
        let Some(v) = set(&self.range) else {
            return Ok(None);
        };
        // The time control's own value: the custom `since`/`until` decide.
        if v == "custom" {
            return Ok(None);
        }
        PRESETS
            .into_iter()
            .find(|p| p.key() == v)
            .map(Some)
            .ok_or_else(|| {
                let valid: Vec<&str> = PRESETS.iter().map(|p| p.key()).collect();
                format!(
                    "unknown range {v:?}: the dashboard's ranges are {} (or none, for a range that fits the data; or a custom since and until)",
                    valid.join(", ")
                )
            })
    }

    /// Whether the range is left to the dashboard (no preset, `since` or `until`), so that it
    /// may fit the data.
    pub fn fits_data(&self) -> bool {
        set(&self.range).is_none() && set(&self.since).is_none() && set(&self.until).is_none()
    }

    /// The range asked for, in Unix nanoseconds, given the clock: the custom `since`/`until`
    /// when set (an unset end is now), else the preset (24 hours when unset) ending then. An
    /// unknown preset, an unreadable time or an empty range is an error.
    pub fn window(&self, now_unix_nano: u64) -> Result<(u64, u64), String> {
        let preset = self.preset()?;
        let parse = |name: &str, v: &Option<String>| -> Result<Option<u64>, String> {
            set(v)
                .map(|s| {
                    llmtrace_query::parse_rfc3339(&crate::traces::utc_time(&s))
                        .map_err(|e| format!("{name}: {e}"))
                })
                .transpose()
        };
        let until = parse("until", &self.until)?.unwrap_or(now_unix_nano);
        let seconds = preset
            .and_then(RangePreset::seconds)
            .unwrap_or(DEFAULT_RANGE_SECONDS);
        let since = match parse("since", &self.since)? {
            Some(s) => s,
            None => until.saturating_sub(seconds.saturating_mul(S)),
        };
        if since >= until {
            return Err("the range must start before it ends".into());
        }
        Ok((since, until))
    }

    /// Filters as `(service, model, provider)`.
    pub fn filters(&self) -> (Option<String>, Option<String>, Option<String>) {
        (set(&self.service), set(&self.model), set(&self.provider))
    }
}

/// The bucket width for a range: the smallest of [`BUCKET_WIDTHS`] giving at most about
/// [`TARGET_BUCKETS`] buckets.
pub fn bucket_seconds(since_unix_nano: u64, until_unix_nano: u64) -> u64 {
    let secs = until_unix_nano.saturating_sub(since_unix_nano) / S;
    BUCKET_WIDTHS
        .into_iter()
        .find(|w| secs / w <= TARGET_BUCKETS)
        .unwrap_or(604_800)
}

/// How the range shown was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RangeFit {
    /// As asked (a preset, a custom range, or the default that the data did not narrow).
    #[default]
    Asked,
    /// Narrowed to a young project's data: nothing is older than the default range, and its
    /// first trace starts in the bucket that starts at `first_data` (Unix nanoseconds).
    Young {
        /// Start of the bucket of the first trace.
        first_data: u64,
    },
    /// Nothing in the default range: the last hour that has data, ending at the newest trace
    /// (which started at `newest`, Unix nanoseconds).
    LastHourWithData {
        /// Start of the newest trace.
        newest: u64,
    },
}

/// The start of a young project's range ending at `until` whose first call is at
/// `first_data`: that time, at least [`MIN_FITTED_SECONDS`] before the end, rounded down to the
/// bucket width of the range so that its first bucket is whole.
pub fn young_since(first_data: u64, until: u64) -> u64 {
    let since = first_data.min(until.saturating_sub(MIN_FITTED_SECONDS * S));
    let width = bucket_seconds(since, until).saturating_mul(S).max(1);
    since - since % width
}

/// The hour that ends at the newest data (`newest_end`, Unix nanoseconds: the end of the newest
/// trace), its end rounded up to the minute.
pub fn last_hour_with_data(newest_end: u64) -> (u64, u64) {
    let minute = 60 * S;
    let until = newest_end
        .div_ceil(minute)
        .saturating_mul(minute)
        .max(minute);
    (until.saturating_sub(3600 * S), until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_custom_pickers_are_utc() {
        let form = DashboardForm {
            range: Some("custom".into()),
            since: Some("1970-01-01T00:01".into()),
            until: Some("1970-01-01T00:02:30".into()),
            ..Default::default()
        };
        assert_eq!(form.window(100_000 * S), Ok((60 * S, 150 * S)));
    }

    #[test]
    fn buckets_fit_the_range() {
        assert_eq!(bucket_seconds(0, 900 * S), 30);
        assert_eq!(bucket_seconds(0, 3600 * S), 60);
        assert_eq!(bucket_seconds(0, 86_400 * S), 1800);
        assert_eq!(bucket_seconds(0, 7 * 86_400 * S), 10_800);
        assert_eq!(bucket_seconds(0, 1000 * 86_400 * S), 604_800);
    }

    #[test]
    fn window_from_presets_and_custom_range() {
        let now = 100_000 * S;
        let f = DashboardForm::default();
        assert!(f.fits_data());
        assert_eq!(f.window(now), Ok((now - 86_400 * S, now)));
        let f = DashboardForm {
            range: Some("1h".into()),
            ..Default::default()
        };
        assert!(!f.fits_data());
        assert_eq!(f.window(now), Ok((now - 3600 * S, now)));
        let f = DashboardForm {
            range: Some(" ".into()),
            ..Default::default()
        };
        assert!(f.fits_data(), "an empty value is unset");
        let f = DashboardForm {
            since: Some("1970-01-01T00:00:10Z".into()),
            until: Some("1970-01-01T00:00:20Z".into()),
            ..Default::default()
        };
        assert!(!f.fits_data());
        assert_eq!(f.window(now), Ok((10 * S, 20 * S)));
        let f = DashboardForm {
            since: Some("1970-01-01T00:00:30Z".into()),
            until: Some("1970-01-01T00:00:20Z".into()),
            ..Default::default()
        };
        assert!(f.window(now).is_err());
    }

    #[test]
    fn unknown_presets_are_refused_with_the_valid_ones() {
        for bad in ["forever", "all", "2h"] {
            let f = DashboardForm {
                range: Some(bad.into()),
                ..Default::default()
            };
            let e = f.window(1).err().unwrap_or_default();
            assert!(e.contains(&format!("unknown range \"{bad}\"")), "{e}");
            assert!(e.contains("15m, 1h, 24h, 7d"), "{e}");
        }
    }

    #[test]
    fn a_young_range_starts_at_the_first_data() {
        let now = 1_000_000 * S + 17 * S;
        // First call 3 minutes ago: the range is the last 15 minutes (30-second buckets).
        let since = young_since(now - 180 * S, now);
        assert_eq!(since % (30 * S), 0);
        assert!(since <= now - 900 * S && since > now - 930 * S, "{since}");
        // First call 5 hours ago: from then, rounded down to the range's bucket (5 min).
        let first = now - 5 * 3600 * S;
        let since = young_since(first, now);
        assert_eq!(bucket_seconds(since, now), 300);
        assert_eq!(since % (300 * S), 0);
        assert!(since <= first && first - since < 300 * S);
    }

    #[test]
    fn the_last_hour_with_data_ends_at_the_newest_trace() {
        let end = 5000 * S + 1;
        let (since, until) = last_hour_with_data(end);
        assert_eq!(until, 5040 * S);
        assert_eq!(until - since, 3600 * S);
        assert_eq!(last_hour_with_data(0), (0, 60 * S));
    }
}
