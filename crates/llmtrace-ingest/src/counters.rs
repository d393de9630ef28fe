//! Counters of the ingest path (spans received, accepted, rejected by reason), read by
//! `/metrics` and the ingest health API.

use crate::ErrorClass;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why spans or requests were refused, as exported in the `reason` label.
const REASONS: [&str; 8] = [
    "invalid",
    "too_large",
    "unsupported_media_type",
    "unauthenticated",
    "overloaded",
    "unavailable",
    "internal",
    "quota",
];

fn reason_index(class: ErrorClass) -> usize {
    match class {
        ErrorClass::BadRequest => 0,
        ErrorClass::PayloadTooLarge => 1,
        ErrorClass::UnsupportedMediaType => 2,
        ErrorClass::Unauthenticated => 3,
        ErrorClass::Overloaded => 4,
        ErrorClass::Unavailable => 5,
        ErrorClass::Internal => 6,
        ErrorClass::QuotaExceeded => 7,
    }
}

/// Monotonic counters since start.
#[derive(Debug, Default)]
pub struct IngestCounters {
    received: AtomicU64,
    accepted: AtomicU64,
    spans_rejected: [AtomicU64; 8],
    requests_rejected: [AtomicU64; 8],
    history: crate::rate::RateHistory,
}

/// A copy of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Spans decoded and offered to the ingest path.
    pub spans_received: u64,
    /// Spans acknowledged as durably stored (retried deliveries included).
    pub spans_accepted: u64,
    /// Spans refused, by reason (every reason listed, zeros included).
    pub spans_rejected: Vec<(&'static str, u64)>,
    /// Requests refused as a whole before their spans could be read, by reason.
    pub requests_rejected: Vec<(&'static str, u64)>,
}

impl IngestCounters {
    pub(crate) fn received(&self, n: usize) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn accepted(&self, n: usize) {
        self.accepted.fetch_add(n as u64, Ordering::Relaxed);
        self.history.add(n as u64, 0);
    }

    /// Spans accepted and refused per 10-second slot over the last hour, oldest first.
    pub fn rate_history(&self) -> Vec<crate::RateSlot> {
        self.history.last_hour()
    }

    pub(crate) fn spans_rejected(&self, class: ErrorClass, n: u64) {
        if let Some(c) = self.spans_rejected.get(reason_index(class)) {
            c.fetch_add(n, Ordering::Relaxed);
        }
        self.history.add(0, n);
    }

    /// Counts a request refused before its spans were read (also called by transports for
    /// failures they detect themselves: authentication, body size, content type).
    pub fn request_rejected(&self, class: ErrorClass) {
        if let Some(c) = self.requests_rejected.get(reason_index(class)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The current values.
    pub fn snapshot(&self) -> IngestCounts {
        let by_reason = |a: &[AtomicU64; 8]| {
            REASONS
                .iter()
                .zip(a.iter())
                .map(|(r, c)| (*r, c.load(Ordering::Relaxed)))
                .collect()
        };
        IngestCounts {
            spans_received: self.received.load(Ordering::Relaxed),
            spans_accepted: self.accepted.load(Ordering::Relaxed),
            spans_rejected: by_reason(&self.spans_rejected),
            requests_rejected: by_reason(&self.requests_rejected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_reason() {
        let c = IngestCounters::default();
        c.received(5);
        c.accepted(3);
        c.spans_rejected(ErrorClass::Overloaded, 2);
        c.request_rejected(ErrorClass::BadRequest);
        let s = c.snapshot();
        assert_eq!((s.spans_received, s.spans_accepted), (5, 3));
        assert!(s.spans_rejected.contains(&("overloaded", 2)));
        assert!(s.requests_rejected.contains(&("invalid", 1)));
        assert_eq!(s.spans_rejected.len(), REASONS.len());
    }
}
