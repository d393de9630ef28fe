//! Bounded label values: each label keeps the first N distinct values it sees, and every later
//! value is reported as `other`, so a flood of model names (or ids mistaken for them) cannot
//! blow up Prometheus. First-seen rather than most-frequent, because a series must not change
//! its labels once exported (a counter moving from `other` to its own series would reset).

use std::collections::HashSet;

/// The value reported for values past the limit.
pub const OTHER: &str = "other";
/// The value reported when a label is not known.
pub const UNKNOWN: &str = "unknown";

/// One label's admitted values.
#[derive(Debug)]
pub(crate) struct LabelLimiter {
    limit: usize,
    seen: HashSet<String>,
    /// Values mapped to `other` so far.
    pub(crate) overflowed: u64,
}

impl LabelLimiter {
    pub(crate) fn new(limit: usize) -> Self {
        LabelLimiter {
            limit,
            seen: HashSet::new(),
            overflowed: 0,
        }
    }

    /// The label value to export for `value`.
    pub(crate) fn admit(&mut self, value: Option<&str>) -> String {
        let v = match value {
            Some(v) if !v.is_empty() => v,
            _ => return UNKNOWN.to_string(),
        };
        if self.seen.contains(v) {
            return v.to_string();
        }
        if self.seen.len() < self.limit {
            self.seen.insert(v.to_string());
            return v.to_string();
        }
        self.overflowed += 1;
        OTHER.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_values_stay_and_the_rest_are_other() {
        let mut l = LabelLimiter::new(2);
        assert_eq!(l.admit(Some("a")), "a");
        assert_eq!(l.admit(Some("b")), "b");
        assert_eq!(l.admit(Some("c")), OTHER);
        assert_eq!(l.admit(Some("a")), "a");
        assert_eq!(l.admit(None), UNKNOWN);
        assert_eq!(l.admit(Some("")), UNKNOWN);
        assert_eq!(l.overflowed, 1);
    }
}
