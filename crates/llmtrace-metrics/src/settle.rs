//! Calls held back until their usage is final, so the counters equal the store's totals.
//!
//! A counter cannot go down, but the store may still change what a call counts with after its
//! first copy arrived: a wrapper's count moves to its inner call, a preferred copy of the same
//! response takes the count, a copy closer to the provider supplies the usage
//! (`llmtrace_store::TraceRollup`, rules 2 to 5; reported as
//! [`llmtrace_store::WriteOutcome::call_corrections`]). Copies of one call come from one
//! process's exporter, within one export interval. So a counted call waits here for the settle
//! window (5 s by default, OTel's batch export interval), follows every correction meanwhile,
//! and only then adds to the counters. A correction for a call already added (a copy arriving
//! later than the window) cannot be applied to a counter and is counted as late instead.

use llmtrace_model::Span;
use llmtrace_store::{CallCorrection, CallRef, UsageTotals};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Most calls held at once; beyond it the oldest are added to the counters early.
pub(crate) const MAX_PENDING: usize = 200_000;

/// What the counters take from one counted call.
#[derive(Debug, Clone)]
pub(crate) struct CallObservation {
    /// The call's project (every `llm_*` series carries it).
    pub(crate) project: String,
    pub(crate) model: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) operation: Option<String>,
    pub(crate) service: String,
    pub(crate) request_model: Option<String>,
    pub(crate) response_model: Option<String>,
    pub(crate) seconds: f64,
    pub(crate) error: bool,
    pub(crate) error_type: Option<String>,
    pub(crate) ttft: Option<f64>,
    /// Input, output, cache read, cache write, reasoning (absent ones are not exported).
    pub(crate) tokens: [Option<u64>; 5],
    /// Effective cost, pico-dollars, when known.
    pub(crate) cost_pico: Option<i64>,
    /// Whether the cost is unknown for want of a price.
    pub(crate) unpriced: bool,
}

impl CallObservation {
    /// The observation of a counted call span.
    pub(crate) fn of(span: &Span) -> Self {
        let g = &span.gen_ai;
        let u = if span.counts_usage {
            span.usage
        } else {
            Default::default()
        };
        let cost = span.cost.effective();
        CallObservation {
            project: span.project.clone(),
            model: span.model().map(str::to_string),
            provider: g.provider.clone(),
            operation: g.operation.clone(),
            service: span.service.clone(),
            request_model: g.request_model.clone(),
            response_model: g.response_model.clone(),
            seconds: span.duration_nanos() as f64 / 1e9,
            error: span.is_error(),
            error_type: g.error_type.clone(),
            ttft: g.time_to_first_token_s,
            tokens: [u.input, u.output, u.cache_read, u.cache_write, u.reasoning],
            cost_pico: cost.map(|c| c.pico_usd),
            unpriced: cost.is_none() && span.cost.unpriced,
        }
    }

    /// Takes the usage and cost a correction says the call counts with.
    fn take_usage(&mut self, u: &UsageTotals) {
        let values = [u.input, u.output, u.cache_read, u.cache_write, u.reasoning];
        for (slot, v) in self.tokens.iter_mut().zip(values) {
            if v > 0 || slot.is_some() {
                *slot = Some(v);
            }
        }
        self.unpriced = u.unpriced > 0;
        self.cost_pico = if self.unpriced {
            None
        } else if u.cost_pico != 0 || self.cost_pico.is_some() {
            Some(u.cost_pico)
        } else {
            None
        };
    }
}

type Key = (String, CallRef);

/// Counted calls not yet added to the counters.
#[derive(Default)]
pub(crate) struct PendingCalls {
    calls: HashMap<Key, (Instant, CallObservation)>,
    /// Keys in the order they were held, with the time they were held.
    order: VecDeque<(Instant, Key)>,
    /// Corrections that came after their call was added to the counters.
    pub(crate) late_corrections: u64,
}

impl PendingCalls {
    /// Holds a newly counted call.
    pub(crate) fn hold(
        &mut self,
        project: &str,
        call: CallRef,
        obs: CallObservation,
        now: Instant,
    ) {
        let key = (project.to_string(), call);
        self.order.push_back((now, key.clone()));
        self.calls.insert(key, (now, obs));
    }

    /// Applies a correction; `batch_span` finds the span it moves to when that span is in the
    /// commit's batch.
    pub(crate) fn correct<'a>(
        &mut self,
        c: &CallCorrection,
        batch_span: impl Fn(&CallRef) -> Option<&'a Span>,
        now: Instant,
    ) {
        let Some((held, mut obs)) = self.calls.remove(&(c.project.clone(), c.was)) else {
            self.late_corrections += 1;
            return;
        };
        let Some(to) = c.now else {
            // Counted through another span already held or added.
            return;
        };
        if to != c.was {
            if let Some(span) = batch_span(&to) {
                obs = CallObservation::of(span);
            }
        }
        obs.take_usage(&c.usage);
        let key = (c.project.clone(), to);
        if to != c.was {
            self.order.push_back((now, key.clone()));
        }
        self.calls.insert(key, (held, obs));
    }

    /// Removes and returns the calls held longer than `settle` (and the oldest beyond
    /// [`MAX_PENDING`]), oldest first.
    pub(crate) fn settled(&mut self, settle: Duration, now: Instant) -> Vec<CallObservation> {
        let mut out = Vec::new();
        while let Some((at, _)) = self.order.front() {
            let due =
                now.saturating_duration_since(*at) >= settle || self.calls.len() > MAX_PENDING;
            if !due {
                break;
            }
            let Some((at, key)) = self.order.pop_front() else {
                break;
            };
            // A key moved or corrected since has a later entry, or none held any more.
            if let Some((held, _)) = self.calls.get(&key) {
                if *held <= at || now.saturating_duration_since(*held) >= settle {
                    if let Some((_, obs)) = self.calls.remove(&key) {
                        out.push(obs);
                    }
                }
            }
        }
        out
    }

    /// Calls held now.
    pub(crate) fn len(&self) -> usize {
        self.calls.len()
    }
}
