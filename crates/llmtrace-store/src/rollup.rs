//! Per-trace rollups and the rule that counts each model call's usage once.
//!
//! # Counting rule
//! A trace's `llm_call_count` and token totals add up the **counted calls** of the trace:
//! 1. Only model-call spans (kind `llm` or `embedding`) are calls. Aggregate spans (an agent span
//!    that sums its children's usage, a Vercel `ai.generateText` outer span, a workflow) are never
//!    calls, so their repeated usage is never added (the normalizer also leaves their
//!    `counts_usage` false).
//! 2. A call span that has a call span as a direct child is a **wrapper** of that same call:
//!    an instrumentation span around the provider SDK's own client span (the anthropic SDK's
//!    `anthropic.messages.create` under a hand-made `llm_call`, sdk-wire-notes "Two LLM spans per
//!    call"). The innermost span counts and the wrapper does not. The innermost is chosen because
//!    it is the one closest to the provider's response (the SDK span reports cache-inclusive
//!    input where a hand-made wrapper often reports the raw figure).
//! 3. The rule is applied whatever the arrival order: when a child call arrives after its wrapper
//!    was counted, engines subtract the wrapper's usage ([`TraceRollup::sub_usage`]) and mark it
//!    uncounted.
//!
//! Cost follows the same rule: a trace's cost is the sum of its counted calls' effective costs
//! (a cost the client reported wins over the computed one), so a wrapper's cost and an agent
//! span's aggregated cost are never added twice.
//!
//! 4. Two counted call spans of one project carrying the same provider response id
//!    (`gen_ai.response.id`) that are not parent and child report the same call: the anthropic
//!    SDK's own span orphaned into a second trace beside OpenLLMetry's or LangSmith's, sibling
//!    spans under LangChain's `.batch()` context leak. One of them counts, whatever the arrival
//!    order, by [`ResponseClaimKey`] (smaller wins): a span of the app's instrumentation beats
//!    the provider SDK's own client span ([`is_provider_sdk_span`], which lands in a trace of
//!    its own), then a span with a parent beats a parentless one (the app's trace keeps the
//!    call), then the smaller trace id, then the smaller `SpanId::key_i64`. When the preferred
//!    span arrives second, the other stops counting in its own trace.
//!
//! Retried spans never reach the rollup: engines add a span only when it was newly stored.
//! Spans without a response id that report one call in different traces cannot be recognised
//! and count twice.

use crate::TraceSummary;
use llmtrace_model::{Span, SpanId, TraceId};
use std::collections::BTreeSet;

/// Usage of counted calls, as added to or removed from a rollup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    /// Counted calls.
    pub calls: u64,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache-read tokens.
    pub cache_read: u64,
    /// Cache-write tokens.
    pub cache_write: u64,
    /// Reasoning tokens.
    pub reasoning: u64,
    /// Effective cost (reported wins over computed), pico-dollars.
    pub cost_pico: i64,
    /// Calls whose cost is unknown (unpriced model, nothing reported).
    pub unpriced: u64,
    /// Calls whose cost was reported by the client.
    pub reported: u64,
}

impl UsageTotals {
    /// The contribution of one call span (one call, plus its usage when it counts usage).
    pub fn of_call(span: &Span) -> Self {
        let u = if span.counts_usage {
            span.usage
        } else {
            Default::default()
        };
        UsageTotals {
            calls: 1,
            input: u.input.unwrap_or(0),
            output: u.output.unwrap_or(0),
            cache_read: u.cache_read.unwrap_or(0),
            cache_write: u.cache_write.unwrap_or(0),
            reasoning: u.reasoning.unwrap_or(0),
            cost_pico: span.cost.effective().map_or(0, |m| m.pico_usd),
            unpriced: u64::from(span.cost.effective().is_none() && span.cost.unpriced),
            reported: u64::from(span.cost.reported.is_some()),
        }
    }
}

/// Instrumentation scopes of provider SDKs' own client spans (the anthropic Python SDK's
/// `com.anthropic.sdk.python`), matched as prefixes.
pub const PROVIDER_SDK_SCOPES: &[&str] = &["com.anthropic.sdk"];

/// Whether a span is a provider SDK's own client span (see [`PROVIDER_SDK_SCOPES`]).
pub fn is_provider_sdk_span(span: &Span) -> bool {
    PROVIDER_SDK_SCOPES
        .iter()
        .any(|p| span.scope_name.starts_with(p))
}

/// Which of two call spans reporting one provider response counts (the smaller key), see rule 4
/// of the counting rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResponseClaimKey {
    /// 1 for a provider SDK's own span.
    pub provider_sdk: u8,
    /// 1 for a parentless span.
    pub parentless: u8,
    /// Trace id.
    pub trace_id: TraceId,
    /// `SpanId::key_i64` of the span.
    pub span_key: i64,
}

impl ResponseClaimKey {
    /// The key of a span.
    pub fn of(span: &Span) -> Self {
        ResponseClaimKey {
            provider_sdk: u8::from(is_provider_sdk_span(span)),
            parentless: u8::from(span.parent_span_id.is_none()),
            trace_id: span.trace_id,
            span_key: span.span_id.key_i64(),
        }
    }
}

/// Key that decides which span names the trace: a parentless span beats any other, then the
/// earliest start, then the smallest span id, so the choice does not depend on arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RootKey {
    /// 0 for a parentless span, 1 otherwise (smaller wins).
    pub not_root: u8,
    /// Start time (smaller wins).
    pub start_unix_nano: u64,
    /// Span id (smaller wins).
    pub span_id: SpanId,
}

impl RootKey {
    /// The key of a span.
    pub fn of(span: &Span) -> Self {
        RootKey {
            not_root: u8::from(span.parent_span_id.is_some()),
            start_unix_nano: span.start_unix_nano,
            span_id: span.span_id,
        }
    }
}

/// A trace rollup being built or updated: the summary plus the state needed to merge more spans
/// into it in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRollup {
    /// The summary.
    pub summary: TraceSummary,
    /// Key of the span currently naming the trace.
    pub root_key: Option<RootKey>,
    /// Distinct models of call spans.
    pub models: BTreeSet<String>,
    /// Distinct canonical providers of call spans.
    pub providers: BTreeSet<String>,
    /// Distinct services of all spans.
    pub services: BTreeSet<String>,
}

impl TraceRollup {
    /// An empty rollup of a trace.
    pub fn new(trace_id: TraceId) -> Self {
        TraceRollup {
            summary: TraceSummary {
                trace_id,
                start_unix_nano: u64::MAX,
                ..Default::default()
            },
            root_key: None,
            models: BTreeSet::new(),
            providers: BTreeSet::new(),
            services: BTreeSet::new(),
        }
    }

    /// Merges a newly stored span's structure (count, times, root, errors, user, session,
    /// dimension sets). Usage is added separately with [`TraceRollup::add_usage`].
    pub fn add_span(&mut self, span: &Span) {
        let s = &mut self.summary;
        s.span_count += 1;
        s.start_unix_nano = s.start_unix_nano.min(span.start_unix_nano);
        s.end_unix_nano = s.end_unix_nano.max(span.end_unix_nano);
        if span.is_error() {
            s.error_count += 1;
        }
        let key = RootKey::of(span);
        let is_new_root = self.root_key.is_none_or(|k| key < k);
        if is_new_root {
            self.root_key = Some(key);
            s.root_name = span.name.clone();
            s.service = span.service.clone();
            s.has_root = span.parent_span_id.is_none();
        }
        // The root's user and session win; until the root arrives the first one seen stays.
        let root_has_user = is_new_root && span.parent_span_id.is_none();
        if let Some(u) = &span.gen_ai.user_id {
            if s.user_id.is_none() || root_has_user {
                s.user_id = Some(u.clone());
            }
        }
        if let Some(v) = &span.gen_ai.session_id {
            if s.session_id.is_none() || root_has_user {
                s.session_id = Some(v.clone());
            }
        }
        self.services.insert(span.service.clone());
        if span.kind.is_model_call() {
            // Both names, so a filter on the model asked for (`gpt-4o`) finds calls answered by
            // a dated snapshot (`gpt-4o-2024-08-06`), and the other way round.
            for m in [&span.gen_ai.request_model, &span.gen_ai.response_model]
                .into_iter()
                .flatten()
            {
                self.models.insert(m.clone());
            }
            if let Some(p) = &span.gen_ai.provider {
                self.providers.insert(p.clone());
            }
        }
    }

    /// Adds a counted call's usage.
    pub fn add_usage(&mut self, u: &UsageTotals) {
        let s = &mut self.summary;
        s.llm_call_count += u.calls;
        s.input_tokens += u.input;
        s.output_tokens += u.output;
        s.cache_read_tokens += u.cache_read;
        s.cache_write_tokens += u.cache_write;
        s.reasoning_tokens += u.reasoning;
        s.cost_pico = s.cost_pico.saturating_add(u.cost_pico);
        s.unpriced_span_count += u.unpriced;
        s.reported_cost_span_count += u.reported;
    }

    /// Removes the usage of a call that turned out to be a wrapper.
    pub fn sub_usage(&mut self, u: &UsageTotals) {
        let s = &mut self.summary;
        s.llm_call_count = s.llm_call_count.saturating_sub(u.calls);
        s.input_tokens = s.input_tokens.saturating_sub(u.input);
        s.output_tokens = s.output_tokens.saturating_sub(u.output);
        s.cache_read_tokens = s.cache_read_tokens.saturating_sub(u.cache_read);
        s.cache_write_tokens = s.cache_write_tokens.saturating_sub(u.cache_write);
        s.reasoning_tokens = s.reasoning_tokens.saturating_sub(u.reasoning);
        s.cost_pico = s.cost_pico.saturating_sub(u.cost_pico);
        s.unpriced_span_count = s.unpriced_span_count.saturating_sub(u.unpriced);
        s.reported_cost_span_count = s.reported_cost_span_count.saturating_sub(u.reported);
    }
}
