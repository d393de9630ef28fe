//! A fixed-bucket histogram: per-bucket counts (not cumulative) and a sum.

/// Counts per bucket (the last one is `+Inf`) and the sum of observations.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    /// Adds one observation (`le` semantics: a value equal to a bound falls in that bucket).
    pub(crate) fn observe(&mut self, v: f64) {
        let i = self.bounds.partition_point(|b| *b < v);
        self.counts[i] += 1;
        self.sum += v;
    }

    pub(crate) fn counts(&self) -> &[u64] {
        &self.counts
    }

    pub(crate) fn sum(&self) -> f64 {
        self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fall_in_le_buckets() {
        let mut h = Histogram::new(&[1.0, 10.0]);
        for v in [0.5, 1.0, 1.5, 10.0, 12.0] {
            h.observe(v);
        }
        assert_eq!(h.counts(), &[2, 2, 1]);
        assert_eq!(h.sum(), 25.0);
    }
}
