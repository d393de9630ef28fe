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
//! 5. **Usage authority.** Which copy of a call *counts* (rules 2 and 4) is decided for the tree;
//!    which copy *supplies the usage* is decided apart, by [`UsageSourceKey`] (smaller wins):
//!    among the nest-counting call spans carrying one response id, the copy closest to the
//!    provider's own response ([`UsageAuthority`]: the provider SDK's own span, then a gateway,
//!    then an instrumentation reading the provider's usage object, then counts reconstructed
//!    from stream chunks), ties broken by [`ResponseClaimKey`]. The counting span carries that
//!    copy's usage and cost (engines copy them into it), so trace totals, statistics and metrics
//!    all show the provider's figures, whichever copy arrives first.
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
    /// Calls that failed (status error).
    pub failed: u64,
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
            failed: u64::from(span.is_error()),
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

/// Instrumentation scopes of gateways and proxies that read the provider's answer on the wire
/// (llmtrace's own gateway), matched as prefixes.
pub const GATEWAY_SCOPES: &[&str] = &["llmtrace.gateway", "llmtrace-gateway"];

/// Instrumentation scopes that assemble a streamed call's usage from its chunks instead of
/// reading the provider's final usage object (OpenLLMetry adds `message_start`'s output token
/// to `message_delta`'s total on Anthropic streams, and counts OpenAI streams without
/// `include_usage` with a tokenizer: shared/reference/sdk-wire-notes.md), matched as prefixes.
pub const CHUNK_COUNTING_SCOPES: &[&str] = &["opentelemetry.instrumentation."];

/// How close a copy of a call's usage is to the provider's own figures (smaller is closer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UsageAuthority {
    /// The provider SDK's own client span: it copies the provider's usage object as received.
    ProviderSdk = 0,
    /// A gateway or proxy span: it reads the provider's answer on the wire.
    Gateway = 1,
    /// An instrumentation span that reads the provider's usage object from the SDK's response.
    Instrumentation = 2,
    /// Counts an instrumentation reconstructed from stream chunks.
    Reconstructed = 3,
}

impl UsageAuthority {
    /// The authority of a span's usage (see the constants above).
    pub fn of(span: &Span) -> Self {
        let scope = span.scope_name.as_str();
        if is_provider_sdk_span(span) {
            UsageAuthority::ProviderSdk
        } else if GATEWAY_SCOPES.iter().any(|p| scope.starts_with(p)) {
            UsageAuthority::Gateway
        } else if span.gen_ai.params.stream == Some(true)
            && CHUNK_COUNTING_SCOPES.iter().any(|p| scope.starts_with(p))
        {
            UsageAuthority::Reconstructed
        } else {
            UsageAuthority::Instrumentation
        }
    }

    /// The rank as stored (0 to 3).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The authority of a stored rank (unknown ranks read as instrumentation).
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => UsageAuthority::ProviderSdk,
            1 => UsageAuthority::Gateway,
            3 => UsageAuthority::Reconstructed,
            _ => UsageAuthority::Instrumentation,
        }
    }
}

/// Which of the copies of one call (one provider response id) supplies the usage the call
/// counts with (the smaller key), see rule 5 of the counting rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageSourceKey {
    /// How close the copy is to the provider's figures.
    pub authority: UsageAuthority,
    /// Ties: the claim key.
    pub claim: ResponseClaimKey,
}

impl UsageSourceKey {
    /// Length of [`UsageSourceKey::to_bytes`].
    pub const BYTES: usize = 28;

    /// The key of a span.
    pub fn of(span: &Span) -> Self {
        UsageSourceKey {
            authority: UsageAuthority::of(span),
            claim: ResponseClaimKey::of(span),
        }
    }

    /// The key as bytes that sort like the key (for engines that store it).
    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut b = [0u8; Self::BYTES];
        b[0] = self.authority.code();
        b[1] = self.claim.provider_sdk;
        b[2] = self.claim.parentless;
        b[3..19].copy_from_slice(&self.claim.trace_id.0);
        // Offset so that the signed key sorts as unsigned bytes.
        let key = self.claim.span_key.cast_unsigned() ^ (1 << 63);
        b[19..27].copy_from_slice(&key.to_be_bytes());
        b
    }

    /// Reads [`UsageSourceKey::to_bytes`]; `None` for anything else.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; Self::BYTES] = b.try_into().ok()?;
        let (head, rest) = b.split_first_chunk::<3>()?;
        let (trace, rest) = rest.split_first_chunk::<16>()?;
        let (key, _) = rest.split_first_chunk::<8>()?;
        Some(UsageSourceKey {
            authority: UsageAuthority::from_code(head[0]),
            claim: ResponseClaimKey {
                provider_sdk: head[1],
                parentless: head[2],
                trace_id: TraceId(*trace),
                span_key: (u64::from_be_bytes(*key) ^ (1 << 63)).cast_signed(),
            },
        })
    }
}

/// Copies the usage and cost of the copy of a call that supplies them (rule 5) into the span
/// that counts the call.
pub fn take_usage_from(counting: &mut Span, source: &Span) {
    counting.usage = source.usage;
    counting.cost = source.cost.clone();
    counting.counts_usage = source.counts_usage;
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
        s.span_count = s.span_count.saturating_add(1);
        s.start_unix_nano = s.start_unix_nano.min(span.start_unix_nano);
        s.end_unix_nano = s.end_unix_nano.max(span.end_unix_nano);
        if span.is_error() {
            s.error_count = s.error_count.saturating_add(1);
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
        // Counts come from clients: they saturate instead of overflowing.
        s.llm_call_count = s.llm_call_count.saturating_add(u.calls);
        s.input_tokens = s.input_tokens.saturating_add(u.input);
        s.output_tokens = s.output_tokens.saturating_add(u.output);
        s.cache_read_tokens = s.cache_read_tokens.saturating_add(u.cache_read);
        s.cache_write_tokens = s.cache_write_tokens.saturating_add(u.cache_write);
        s.reasoning_tokens = s.reasoning_tokens.saturating_add(u.reasoning);
        s.cost_pico = s.cost_pico.saturating_add(u.cost_pico);
        s.unpriced_span_count = s.unpriced_span_count.saturating_add(u.unpriced);
        s.reported_cost_span_count = s.reported_cost_span_count.saturating_add(u.reported);
        s.failed_call_count = s.failed_call_count.saturating_add(u.failed);
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
        s.failed_call_count = s.failed_call_count.saturating_sub(u.failed);
    }
}
