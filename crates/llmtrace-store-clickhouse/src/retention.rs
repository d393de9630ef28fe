//! Per-project retention: every row of `spans`, `logs`, `scores` and `responses` carries an
//! `expire_at DateTime` (schema version 4), filled by the writer from the row's project and
//! time; on ClickHouse 19.6 and later the tables have `TTL expire_at`, so the merges delete
//! expired rows.

use llmtrace_store::StoreError;
use std::collections::BTreeMap;

/// The `expire_at` of a row kept forever: the largest `DateTime`, 2106-02-07 06:28:15 UTC
/// (`u32::MAX` seconds since the epoch). Rows stored before schema version 4 get it too.
pub(crate) const NEVER: u32 = u32::MAX;

const SECONDS_PER_DAY: u64 = 86_400;

/// How long each project's data is kept: spans, logs, scores and the response index rows
/// older than this are deleted by ClickHouse (TTL). `None` / absent: kept forever.
///
/// A project listed in `projects` gets its own number of days (even when `default_days` is
/// set); any other project gets `default_days`. A row's age is counted from its own time: a
/// span's start, a log's time, a score's timestamp (a row without a time, from when it is
/// written). Deletion happens in ClickHouse's background merges, so expired rows may stay
/// visible for a while (hours) after they expire. Needs ClickHouse 19.6 or later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Days kept for a project not in `projects`; `None`: kept forever.
    pub default_days: Option<u32>,
    /// Days kept per project name; wins over `default_days`.
    pub projects: BTreeMap<String, u32>,
}

impl Retention {
    /// Whether every project is kept forever.
    pub fn is_empty(&self) -> bool {
        self.default_days.is_none() && self.projects.is_empty()
    }

    /// The days `project` is kept, `None` for forever.
    pub fn days_for(&self, project: &str) -> Option<u32> {
        self.projects.get(project).copied().or(self.default_days)
    }

    /// Refuses a retention of 0 days (it would delete rows as soon as they are merged).
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let zero = |d: &u32| *d == 0;
        if self.default_days.as_ref().is_some_and(zero) {
            return Err(StoreError::Permanent(
                "retention: default_days must be at least 1".into(),
            ));
        }
        match self.projects.iter().find(|(_, d)| zero(d)) {
            Some((p, _)) => Err(StoreError::Permanent(format!(
                "retention: project {p:?} must keep its data at least 1 day"
            ))),
            None => Ok(()),
        }
    }

    /// The `expire_at` (seconds since the epoch) of a row of `project` at `time_ns`
    /// (nanoseconds; 0 means unknown, counted from `now_secs`): [`NEVER`] when the project is
    /// kept forever, else the row's time plus the project's days, capped at [`NEVER`].
    pub(crate) fn expire_at(&self, project: &str, time_ns: u64, now_secs: u64) -> u32 {
        let Some(days) = self.days_for(project) else {
            return NEVER;
        };
        let secs = if time_ns == 0 {
            now_secs
        } else {
            time_ns / 1_000_000_000
        };
        let at = secs.saturating_add(u64::from(days) * SECONDS_PER_DAY);
        u32::try_from(at).unwrap_or(NEVER)
    }
}

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retention() -> Retention {
        Retention {
            default_days: Some(30),
            projects: [("short".to_string(), 1), ("long".to_string(), 365)].into(),
        }
    }

    #[test]
    fn project_entry_wins_over_default() {
        let r = retention();
        assert_eq!(r.days_for("short"), Some(1));
        assert_eq!(r.days_for("other"), Some(30));
        assert_eq!(Retention::default().days_for("short"), None);
        assert!(Retention::default().is_empty());
        assert!(!r.is_empty());
    }

    #[test]
    fn expire_at_adds_the_days_to_the_row_time() {
        let r = retention();
        let t = 1_700_000_000u64;
        assert_eq!(
            r.expire_at("short", t * 1_000_000_000 + 5, 0),
            (t + 86_400) as u32
        );
        assert_eq!(
            r.expire_at("other", t * 1_000_000_000, 0),
            (t + 30 * 86_400) as u32
        );
        assert_eq!(r.expire_at("short", 0, t), (t + 86_400) as u32);
        assert_eq!(Retention::default().expire_at("short", 1, 0), NEVER);
        assert_eq!(r.expire_at("long", u64::MAX, 0), NEVER);
    }

    #[test]
    fn zero_days_are_refused() {
        assert!(retention().validate().is_ok());
        let mut r = retention();
        r.projects.insert("now".into(), 0);
        assert!(r.validate().is_err());
        let r = Retention {
            default_days: Some(0),
            ..Default::default()
        };
        assert!(r.validate().is_err());
    }
}
