//! Per-model sliding windows of call statistics, kept as time buckets keyed by arrival time.

use crate::CallSample;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Upper bounds of the `llm_call_seconds` histogram buckets, seconds (`+Inf` is implicit).
pub(super) const DURATION_BOUNDS: [f64; 13] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

/// Number of histogram buckets, `+Inf` included.
const HIST_LEN: usize = DURATION_BOUNDS.len() + 1;

/// Label of the model series that absorbs models past the cap.
pub(super) const OTHER_MODEL: &str = "other";

/// Sums over some calls of one model.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Stats {
    /// Calls.
    pub(super) calls: u64,
    /// Failed calls.
    pub(super) errors: u64,
    /// Input tokens.
    pub(super) input_tokens: u64,
    /// Output tokens.
    pub(super) output_tokens: u64,
    /// Cache-read tokens.
    pub(super) cache_read_tokens: u64,
    /// Cost, USD.
    pub(super) cost_usd: f64,
    /// Call durations per `llm_call_seconds` bucket (not cumulative; last is `+Inf`).
    pub(super) durations: [u64; HIST_LEN],
}

impl Stats {
    fn add_call(&mut self, call: &CallSample) {
        self.calls += 1;
        if call.error {
            self.errors += 1;
        }
        self.input_tokens = self.input_tokens.saturating_add(call.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(call.output_tokens);
        self.cache_read_tokens = self
            .cache_read_tokens
            .saturating_add(call.cache_read_tokens);
        if call.cost_usd.is_finite() && call.cost_usd > 0.0 {
            self.cost_usd += call.cost_usd;
        }
        let d = if call.duration_seconds.is_nan() {
            0.0
        } else {
            call.duration_seconds
        };
        let slot = DURATION_BOUNDS
            .iter()
            .position(|&upper| d <= upper)
            .unwrap_or(DURATION_BOUNDS.len());
        self.durations[slot] += 1;
    }

    fn merge(&mut self, other: &Stats) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cache_read_tokens = self
            .cache_read_tokens
            .saturating_add(other.cache_read_tokens);
        self.cost_usd += other.cost_usd;
        for (a, b) in self.durations.iter_mut().zip(other.durations.iter()) {
            *a += b;
        }
    }

    /// The `q`-quantile of call durations, estimated like Prometheus' `histogram_quantile`:
    /// linear interpolation inside the bucket holding the rank; the highest finite bound when
    /// the rank falls in `+Inf`. `None` without observations.
    pub(super) fn duration_quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.durations.iter().sum();
        if total == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * total as f64;
        let mut cumulative = 0u64;
        for (i, &upper) in DURATION_BOUNDS.iter().enumerate() {
            let count = self.durations[i];
            let next = cumulative + count;
            if next as f64 >= rank && count > 0 {
                let lower = if i == 0 { 0.0 } else { DURATION_BOUNDS[i - 1] };
                let within = (rank - cumulative as f64) / count as f64;
                return Some(lower + (upper - lower) * within);
            }
            cumulative = next;
        }
        Some(DURATION_BOUNDS[DURATION_BOUNDS.len() - 1])
    }
}

/// One time bucket of one model.
#[derive(Debug)]
struct Bucket {
    /// `(arrival - origin) / bucket width`.
    index: u64,
    stats: Stats,
}

/// The buckets of one model, oldest first.
#[derive(Debug, Default)]
struct ModelWindow {
    buckets: VecDeque<Bucket>,
    /// Whether the model has had cache reads since the evaluator started.
    cache_seen: bool,
}

impl ModelWindow {
    /// Drops buckets before `first` (the oldest index still inside the window).
    fn prune(&mut self, first: u64) {
        while self.buckets.front().is_some_and(|b| b.index < first) {
            self.buckets.pop_front();
        }
    }

    fn is_idle(&self, first: u64) -> bool {
        self.buckets.back().is_none_or(|b| b.index < first)
    }
}

/// One series of windows: a model of a project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Series {
    /// Project label.
    pub(super) project: String,
    /// Model label.
    pub(super) model: String,
}

/// The window totals of one model of one project at an evaluation.
#[derive(Debug, Clone)]
pub(super) struct ModelTotals {
    /// Project and model.
    pub(super) series: Series,
    /// Sums over the calls that arrived inside the window.
    pub(super) stats: Stats,
    /// Whether the model has had cache reads since the evaluator started.
    pub(super) cache_seen: bool,
}

/// Sliding windows of all models.
#[derive(Debug)]
pub(super) struct Windows {
    origin: Instant,
    bucket_ms: u64,
    buckets_per_window: u64,
    max_models: usize,
    models: HashMap<Series, ModelWindow>,
}

impl Windows {
    /// Windows of length `window` made of buckets of `max(1 s, window / 60)`, at most
    /// `max_models` distinct models (plus [`OTHER_MODEL`]).
    pub(super) fn new(window: Duration, origin: Instant, max_models: usize) -> Self {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let bucket_ms = (window_ms / 60).max(1000);
        let buckets_per_window = window_ms.div_ceil(bucket_ms).max(1);
        Windows {
            origin,
            bucket_ms,
            buckets_per_window,
            max_models,
            models: HashMap::new(),
        }
    }

    fn index(&self, at: Instant) -> u64 {
        let ms = u64::try_from(at.saturating_duration_since(self.origin).as_millis())
            .unwrap_or(u64::MAX);
        ms / self.bucket_ms
    }

    /// Oldest bucket index inside the window ending in bucket `current`.
    fn first(&self, current: u64) -> u64 {
        (current + 1).saturating_sub(self.buckets_per_window)
    }

    /// Adds one call that arrived at `at`.
    pub(super) fn record(&mut self, call: &CallSample, at: Instant) {
        let index = self.index(at);
        let first = self.first(index);
        let series = Series {
            project: call.project.clone(),
            model: call.model.clone(),
        };
        let window = if self.models.contains_key(&series) {
            self.models.get_mut(&series)
        } else {
            let key = if call.model == OTHER_MODEL || self.make_room(first) {
                series
            } else {
                Series {
                    model: OTHER_MODEL.to_string(),
                    ..series
                }
            };
            Some(self.models.entry(key).or_default())
        };
        let Some(window) = window else { return };
        window.prune(first);
        if call.cache_read_tokens > 0 {
            window.cache_seen = true;
        }
        // Arrivals are monotonic in practice; an injected clock may go back, so look for the
        // bucket from the newest end.
        let pos = window.buckets.iter().rposition(|b| b.index <= index);
        match pos {
            Some(p) if window.buckets[p].index == index => window.buckets[p].stats.add_call(call),
            _ => {
                let mut stats = Stats::default();
                stats.add_call(call);
                let at = pos.map_or(0, |p| p + 1);
                window.buckets.insert(at, Bucket { index, stats });
            }
        }
    }

    /// Whether a new model may get its own series: under the cap, or after evicting a model
    /// without calls in the window.
    fn make_room(&mut self, first: u64) -> bool {
        let counted = self
            .models
            .keys()
            .filter(|k| k.model != OTHER_MODEL)
            .count();
        if counted < self.max_models {
            return true;
        }
        let idle = self
            .models
            .iter()
            .find(|(k, w)| k.model != OTHER_MODEL && w.is_idle(first))
            .map(|(k, _)| k.clone());
        match idle {
            Some(k) => {
                self.models.remove(&k);
                true
            }
            None => false,
        }
    }

    /// The totals of every model with calls in the window ending at `now`, sorted by model;
    /// drops expired buckets and forgets idle models that never used the cache.
    pub(super) fn totals(&mut self, now: Instant) -> Vec<ModelTotals> {
        let current = self.index(now);
        let first = self.first(current);
        let mut out = Vec::new();
        self.models.retain(|series, window| {
            window.prune(first);
            if window.buckets.is_empty() {
                return window.cache_seen;
            }
            let mut stats = Stats::default();
            for bucket in window.buckets.iter().filter(|b| b.index <= current) {
                stats.merge(&bucket.stats);
            }
            if stats.calls > 0 {
                out.push(ModelTotals {
                    series: series.clone(),
                    stats,
                    cache_seen: window.cache_seen,
                });
            }
            true
        });
        out.sort_by(|a, b| a.series.cmp(&b.series));
        out
    }

    /// Number of model series held.
    #[cfg(test)]
    pub(super) fn model_count(&self) -> usize {
        self.models.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(model: &str, secs: f64) -> CallSample {
        CallSample {
            project: "default".into(),
            model: model.into(),
            provider: "openai".into(),
            duration_seconds: secs,
            error: false,
            input_tokens: 10,
            output_tokens: 5,
            cache_read_tokens: 0,
            cost_usd: 0.01,
        }
    }

    #[test]
    fn quantile_interpolates_like_histogram_quantile() {
        let mut s = Stats::default();
        for _ in 0..100 {
            s.add_call(&call("m", 12.0));
        }
        // All in (10, 15]: 10 + 5 * 0.99.
        let p99 = s.duration_quantile(0.99).unwrap();
        assert!((p99 - 14.95).abs() < 1e-9, "{p99}");
        let mut s = Stats::default();
        for _ in 0..99 {
            s.add_call(&call("m", 0.05));
        }
        s.add_call(&call("m", 400.0));
        // Rank 99 of 100 falls at the top of the first bucket.
        assert!((s.duration_quantile(0.99).unwrap() - 0.1).abs() < 1e-9);
        // The +Inf bucket yields the highest finite bound.
        let mut s = Stats::default();
        s.add_call(&call("m", 1000.0));
        assert_eq!(s.duration_quantile(0.99), Some(300.0));
        assert_eq!(Stats::default().duration_quantile(0.99), None);
        // Half in (0.1, 0.25], half in (1, 2.5]: p50 at the top of the first populated bucket.
        let mut s = Stats::default();
        for _ in 0..50 {
            s.add_call(&call("m", 0.2));
            s.add_call(&call("m", 2.0));
        }
        assert!((s.duration_quantile(0.5).unwrap() - 0.25).abs() < 1e-9);
        assert!((s.duration_quantile(0.75).unwrap() - 1.75).abs() < 1e-9);
    }

    #[test]
    fn buckets_expire_with_the_window() {
        let t0 = Instant::now();
        let mut w = Windows::new(Duration::from_secs(60), t0, 10);
        w.record(&call("a", 1.0), t0);
        w.record(&call("a", 1.0), t0 + Duration::from_secs(30));
        let totals = w.totals(t0 + Duration::from_secs(45));
        assert_eq!(totals.len(), 1);
        assert_eq!(totals[0].stats.calls, 2);
        let totals = w.totals(t0 + Duration::from_secs(75));
        assert_eq!(totals[0].stats.calls, 1);
        assert!(w.totals(t0 + Duration::from_secs(100)).is_empty());
        // Idle and never cached: forgotten.
        assert_eq!(w.model_count(), 0);
    }

    #[test]
    fn out_of_order_arrivals_land_in_their_bucket() {
        let t0 = Instant::now();
        let mut w = Windows::new(Duration::from_secs(60), t0, 10);
        w.record(&call("a", 1.0), t0 + Duration::from_secs(10));
        w.record(&call("a", 1.0), t0 + Duration::from_secs(2));
        w.record(&call("a", 1.0), t0 + Duration::from_secs(10));
        w.record(&call("a", 1.0), t0 + Duration::from_secs(5));
        let totals = w.totals(t0 + Duration::from_secs(20));
        assert_eq!(totals[0].stats.calls, 4);
        let totals = w.totals(t0 + Duration::from_secs(63));
        assert_eq!(totals[0].stats.calls, 3);
    }

    #[test]
    fn models_past_the_cap_go_to_other() {
        let t0 = Instant::now();
        let mut w = Windows::new(Duration::from_secs(60), t0, 2);
        w.record(&call("a", 1.0), t0);
        w.record(&call("b", 1.0), t0);
        w.record(&call("c", 1.0), t0);
        w.record(&call("d", 1.0), t0);
        let totals = w.totals(t0 + Duration::from_secs(1));
        let names: Vec<_> = totals.iter().map(|t| t.series.model.as_str()).collect();
        assert_eq!(names, ["a", "b", "other"]);
        assert_eq!(totals[2].stats.calls, 2);
        // Once "a" and "b" are idle, a new model evicts one of them.
        w.record(&call("e", 1.0), t0 + Duration::from_secs(120));
        let names: Vec<_> = w
            .totals(t0 + Duration::from_secs(121))
            .into_iter()
            .map(|t| t.series.model)
            .collect();
        assert_eq!(names, ["e"]);
    }
}
