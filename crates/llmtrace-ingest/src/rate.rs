//! Spans accepted and refused per 10-second slot over the last hour, in memory, for the ingest
//! rate chart of the health page and `GET /api/ingest`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Width of one slot, seconds.
pub const RATE_SLOT_SECONDS: u64 = 10;
/// Slots kept (one hour).
const SLOTS: usize = 360;
/// From the start of the oldest slot of the hour to the start of the current one.
const HOUR_SPAN_SECONDS: u64 = (SLOTS as u64 - 1) * RATE_SLOT_SECONDS;

/// One slot of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateSlot {
    /// Start of the slot, Unix seconds (a multiple of [`RATE_SLOT_SECONDS`]).
    pub start_unix_secs: u64,
    /// Spans acknowledged as stored in the slot.
    pub accepted: u64,
    /// Spans refused in the slot.
    pub rejected: u64,
}

/// The history (a mutex around a small ring: updated once per request, not per span).
#[derive(Debug, Default)]
pub(crate) struct RateHistory {
    slots: Mutex<VecDeque<RateSlot>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl RateHistory {
    /// Adds spans to the slot of `at_unix_secs`.
    pub(crate) fn add_at(&self, at_unix_secs: u64, accepted: u64, rejected: u64) {
        let start = at_unix_secs.saturating_sub(at_unix_secs % RATE_SLOT_SECONDS);
        let Ok(mut slots) = self.slots.lock() else {
            return;
        };
        match slots.back_mut() {
            Some(last) if last.start_unix_secs == start => {
                last.accepted = last.accepted.saturating_add(accepted);
                last.rejected = last.rejected.saturating_add(rejected);
            }
            Some(last) if last.start_unix_secs > start => {
                // A request that started before a slot boundary and finished after it: count it
                // in the latest slot.
                last.accepted = last.accepted.saturating_add(accepted);
                last.rejected = last.rejected.saturating_add(rejected);
            }
            _ => {
                slots.push_back(RateSlot {
                    start_unix_secs: start,
                    accepted,
                    rejected,
                });
                while slots.len() > SLOTS {
                    slots.pop_front();
                }
            }
        }
    }

    /// Adds spans to the current slot.
    pub(crate) fn add(&self, accepted: u64, rejected: u64) {
        self.add_at(now_secs(), accepted, rejected);
    }

    /// The last hour ending at `now_unix_secs`, one entry per slot, oldest first, empty slots
    /// included.
    pub(crate) fn last_hour_at(&self, now_unix_secs: u64) -> Vec<RateSlot> {
        let current = now_unix_secs.saturating_sub(now_unix_secs % RATE_SLOT_SECONDS);
        let first = current.saturating_sub(HOUR_SPAN_SECONDS);
        let slots = self.slots.lock().map(|s| s.clone()).unwrap_or_default();
        let mut out: Vec<RateSlot> = (0..SLOTS as u64)
            .map(|i| RateSlot {
                start_unix_secs: first.saturating_add(i.saturating_mul(RATE_SLOT_SECONDS)),
                ..Default::default()
            })
            .collect();
        for s in slots.iter().filter(|s| s.start_unix_secs >= first) {
            let i = usize::try_from(s.start_unix_secs.saturating_sub(first) / RATE_SLOT_SECONDS)
                .unwrap_or(usize::MAX);
            if let Some(slot) = out.get_mut(i) {
                *slot = *s;
            }
        }
        out
    }

    /// The last hour ending now.
    pub(crate) fn last_hour(&self) -> Vec<RateSlot> {
        self.last_hour_at(now_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fill_gaps_and_keep_one_hour() {
        let h = RateHistory::default();
        h.add_at(1_000_003, 5, 0);
        h.add_at(1_000_009, 2, 1);
        h.add_at(1_000_031, 7, 0);
        let last = h.last_hour_at(1_000_035);
        assert_eq!(last.len(), SLOTS);
        let tail: Vec<(u64, u64, u64)> = last[SLOTS - 4..]
            .iter()
            .map(|s| (s.start_unix_secs, s.accepted, s.rejected))
            .collect();
        assert_eq!(
            tail,
            vec![
                (1_000_000, 7, 1),
                (1_000_010, 0, 0),
                (1_000_020, 0, 0),
                (1_000_030, 7, 0)
            ]
        );
        // An hour later the old slots are gone.
        let later = h.last_hour_at(1_000_035 + 3600);
        assert!(later.iter().all(|s| s.accepted == 0));
        for i in 0..1000 {
            h.add_at(2_000_000 + i * 10, 1, 0);
        }
        assert!(h.slots.lock().unwrap().len() <= SLOTS);
    }
}
