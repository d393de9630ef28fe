//! A mergeable quantile sketch of durations (DDSketch-style, logarithmic bins), the latency part
//! of the call rollups.
//!
//! A duration of `d` nanoseconds falls into bin `1 + ceil(ln d / ln γ)` with
//! γ = (1 + α) / (1 − α) and α = [`RELATIVE_ACCURACY`]; durations of zero (or less, a clock that
//! went back) fall into bin 0. A bin reads back as `2 γ^(k−1) / (γ + 1)`, the value whose
//! relative distance to both ends of the bin is α, so a quantile read from the sketch is within
//! α (0.99 %) of the exact nearest-rank quantile ([`crate::percentile`]) of the same durations:
//! the estimate is taken from the bin holding the element of that rank.
//!
//! Sketches merge by adding bin counts, and a duration is removed by adding it with a negative
//! count, so a rollup follows a span whose duration, status or counting changed. Bins are at
//! most about 2,200 (up to `i64::MAX` nanoseconds) and in practice a few hundred.
//!
//! Written by hand: the DDSketch crates of the registry carry their own float encodings and
//! no removal; this needs integer-keyed bins that SQL engines can also sum (ClickHouse maps).

use std::collections::BTreeMap;

/// Relative accuracy α of every quantile read from a sketch (a little under 1 %, so float
/// rounding at bin edges stays inside 1 %).
pub const RELATIVE_ACCURACY: f64 = 0.0099;

/// γ of the bins.
fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

/// The bin of a duration in nanoseconds.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "the logarithm of a positive i64 over ln γ is below 2,300; float to int `as` \
              saturates"
)]
pub fn bin_of(duration_ns: i64) -> u16 {
    if duration_ns <= 0 {
        return 0;
    }
    let index = ((duration_ns as f64).ln() / gamma().ln()).ceil();
    (index as u16).saturating_add(1)
}

/// The duration in nanoseconds a bin reads back as.
pub fn value_of(bin: u16) -> f64 {
    match bin.checked_sub(1) {
        None => 0.0,
        Some(k) => 2.0 * gamma().powi(i32::from(k)) / (gamma() + 1.0),
    }
}

/// Counts of durations per bin. Counts may go negative transiently (a removal merged before
/// the addition it undoes); quantiles ignore bins that are not positive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencySketch {
    bins: BTreeMap<u16, i64>,
}

impl LatencySketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `count` durations of `duration_ns` (a negative count removes them).
    pub fn add(&mut self, duration_ns: i64, count: i64) {
        self.add_to_bin(bin_of(duration_ns), count);
    }

    /// Adds `count` durations to bin `bin` (see [`bin_of`]; a store that sums the bins itself
    /// rebuilds the sketch with this).
    pub fn add_to_bin(&mut self, bin: u16, count: i64) {
        if count == 0 {
            return;
        }
        let entry = self.bins.entry(bin).or_insert(0);
        *entry = entry.saturating_add(count);
        if *entry == 0 {
            self.bins.remove(&bin);
        }
    }

    /// Adds every count of another sketch.
    pub fn merge(&mut self, other: &LatencySketch) {
        for (bin, count) in &other.bins {
            self.add_to_bin(*bin, *count);
        }
    }

    /// The number of durations (positive bins only).
    pub fn count(&self) -> u64 {
        self.bins
            .values()
            .filter(|c| **c > 0)
            .map(|c| c.unsigned_abs())
            .fold(0, u64::saturating_add)
    }

    /// Whether no bin holds a count.
    pub fn is_empty(&self) -> bool {
        self.bins.is_empty()
    }

    /// The nearest-rank `q` quantile (0..=1) in nanoseconds, within [`RELATIVE_ACCURACY`] of
    /// the exact one; 0 for an empty sketch.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "rank arithmetic in floats as `percentile` does; float to int `as` saturates"
    )]
    pub fn quantile_ns(&self, q: f64) -> f64 {
        let n = self.count();
        if n == 0 {
            return 0.0;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        for (bin, count) in &self.bins {
            if *count <= 0 {
                continue;
            }
            seen = seen.saturating_add(count.unsigned_abs());
            if seen >= rank {
                return value_of(*bin);
            }
        }
        0.0
    }

    /// The compact encoding: per bin in ascending order, the gap from the previous bin and
    /// the count, as LEB128 varints (the count zigzag-encoded).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bins.len().saturating_mul(3));
        let mut previous = 0u16;
        for (bin, count) in &self.bins {
            put_varint(&mut out, u64::from(bin.saturating_sub(previous)));
            put_varint(&mut out, zigzag(*count));
            previous = *bin;
        }
        out
    }

    /// Reads [`LatencySketch::encode`]'s bytes; `None` when they are not such an encoding.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut sketch = LatencySketch::new();
        let mut rest = bytes;
        let mut bin = 0u16;
        while !rest.is_empty() {
            let gap = take_varint(&mut rest)?;
            let count = unzigzag(take_varint(&mut rest)?);
            bin = bin.checked_add(u16::try_from(gap).ok()?)?;
            sketch.add_to_bin(bin, count);
        }
        Some(sketch)
    }
}

fn zigzag(v: i64) -> u64 {
    (v.wrapping_shl(1) ^ (v >> 63)).cast_unsigned()
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1).cast_signed() ^ (v & 1).cast_signed().wrapping_neg()
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let low = u8::try_from(v & 0x7f).unwrap_or(0);
        v >>= 7;
        if v == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn take_varint(rest: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (first, tail) = rest.split_first()?;
        *rest = tail;
        v |= u64::from(first & 0x7f).checked_shl(shift)?;
        if first & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percentile;

    #[test]
    fn quantiles_are_within_the_relative_accuracy_of_the_exact_ones() {
        // Durations from 1 ns to about 100 s, spread over many orders of magnitude.
        let mut values: Vec<i64> = (0..5_000)
            .map(|i: i64| 1 + (i * i * 7919 + i * 104_729) % 100_000_000_000)
            .collect();
        let mut sketch = LatencySketch::new();
        for v in &values {
            sketch.add(*v, 1);
        }
        values.sort_unstable();
        let sorted: Vec<f64> = values.iter().map(|v| *v as f64).collect();
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0] {
            let exact = percentile(&sorted, q);
            let estimate = sketch.quantile_ns(q);
            assert!(
                (estimate - exact).abs() <= exact * 0.01,
                "q {q}: estimate {estimate} exact {exact}"
            );
        }
        assert_eq!(sketch.count(), 5_000);
    }

    #[test]
    fn a_removed_duration_leaves_the_sketch_it_was_added_to() {
        let mut a = LatencySketch::new();
        a.add(1_000_000, 1);
        a.add(2_000_000, 3);
        let before = a.clone();
        a.add(5_000_000_000, 1);
        a.add(5_000_000_000, -1);
        assert_eq!(a, before);
        let mut removal = LatencySketch::new();
        removal.add(2_000_000, -3);
        removal.add(1_000_000, -1);
        a.merge(&removal);
        assert!(a.is_empty());
        assert_eq!(a.quantile_ns(0.5), 0.0);
    }

    #[test]
    fn the_encoding_reads_back_and_garbage_is_refused() {
        let mut s = LatencySketch::new();
        for (v, n) in [(0, 2), (1, 1), (999, 5), (i64::MAX, 1), (42, -1)] {
            s.add(v, n);
        }
        assert_eq!(LatencySketch::decode(&s.encode()), Some(s));
        assert_eq!(LatencySketch::decode(&[]), Some(LatencySketch::new()));
        assert_eq!(LatencySketch::decode(&[0x80]), None);
        assert_eq!(LatencySketch::decode(&[0xff, 0xff, 0x07, 0x02]), None);
        assert_eq!(value_of(bin_of(0)), 0.0);
        assert_eq!(bin_of(-5), 0);
        let one = value_of(bin_of(1));
        assert!((one - 1.0).abs() <= 0.01, "{one}");
    }
}
