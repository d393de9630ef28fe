//! OpenLIT (`telemetry.sdk.name = openlit` on the resource or the span; tracer
//! `openlit.otel.tracing`), reference §4.3. OpenLIT writes the OTel GenAI keys, with different
//! meanings for a few of them, so it runs before the OTel dialect:
//!
//! * `gen_ai.usage.input_tokens` is the provider's raw count: for Anthropic it **excludes** the
//!   cache (reference §5.4), so cache reads and writes are added (API input 120 + read 30 + write
//!   10 → 160); other providers' counts are inclusive already.
//! * `gen_ai.client.token.usage` and `gen_ai.usage.total_tokens` are totals and never used for
//!   input or output.
//! * `gen_ai.usage.cost` (USD, OpenLIT's price table) → reported cost.
//! * `gen_ai.server.time_to_first_token` (seconds, a metric name used as a span attribute) → TTFT.
//! * Error spans carry no attributes at all: the model is only in the span name
//!   (`chat claude-overloaded`), so `{operation} {model}` names give the request model when no
//!   model attribute exists.
//!
//! Everything else (messages, parameters, finish reasons) is read by the OTel dialect.

use super::langfuse::{fill_provider, usd};
use crate::alias::canonical_provider;
use crate::keys;
use crate::kind::name_target;
use crate::tokens::{InputCounting, OutputCounting, UsageCollector};
use crate::value::{finite_f64, is_blank, non_empty_str};
use crate::Dialect;
use llmtrace_model::{AttrValue, Span};
use llmtrace_semconv::{gen_ai, operation as op};

/// The OpenLIT dialect.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenLit;

const SDK_NAME: &str = "telemetry.sdk.name";
const OPENLIT: &str = "openlit";
const SCOPE_PREFIX: &str = "openlit";
const GEN_AI_USAGE_PREFIX: &str = "gen_ai.usage.";

/// Span-name operations whose target is the model (`chat claude-sonnet-4-6`).
const MODEL_NAME_OPERATIONS: &[&str] = &[
    op::CHAT,
    op::TEXT_COMPLETION,
    op::GENERATE_CONTENT,
    op::EMBEDDINGS,
];

fn is_openlit(v: Option<&AttrValue>) -> bool {
    v.and_then(AttrValue::as_str)
        .is_some_and(|s| s.trim().eq_ignore_ascii_case(OPENLIT))
}

impl Dialect for OpenLit {
    fn name(&self) -> &'static str {
        "openlit"
    }

    fn detect(&self, span: &Span) -> bool {
        span.scope_name.starts_with(SCOPE_PREFIX)
            || is_openlit(span.resource_attributes.get(SDK_NAME))
            || is_openlit(span.attributes.get(SDK_NAME))
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            name,
            attributes,
            gen_ai: g,
            usage,
            cost,
            ..
        } = span;
        let mut counts = UsageCollector::default();
        let mut provider: Option<&str> = None;
        let mut system: Option<&str> = None;
        let mut has_model = false;
        let mut reported = None;
        let mut ttft = None;
        for kv in attributes.iter() {
            let v = &kv.value;
            match kv.key.as_str() {
                gen_ai::PROVIDER_NAME => provider = provider.or(non_empty_str(v)),
                gen_ai::SYSTEM => system = system.or(non_empty_str(v)),
                gen_ai::REQUEST_MODEL | gen_ai::RESPONSE_MODEL => has_model |= !is_blank(v),
                keys::GEN_AI_USAGE_COST => reported = reported.or_else(|| finite_f64(v)),
                keys::SERVER_TIME_TO_FIRST_TOKEN => {
                    ttft = ttft.or_else(|| finite_f64(v).filter(|s| *s >= 0.0));
                }
                key => {
                    if let Some(suffix) = key.strip_prefix(GEN_AI_USAGE_PREFIX) {
                        counts.offer_gen_ai_usage(suffix, v);
                    }
                }
            }
        }

        if let Some(raw) = provider.or(system) {
            fill_provider(g, raw);
        }
        let canonical = g.provider.clone().or_else(|| {
            provider
                .or(system)
                .and_then(canonical_provider)
                .map(|c| c.into_owned())
        });
        let input = if canonical.as_deref() == Some("anthropic") {
            InputCounting::ExcludesCache
        } else {
            InputCounting::IncludesCache
        };
        counts.fill(usage, input, OutputCounting::IncludesReasoning);

        if cost.reported.is_none() {
            cost.reported = reported.and_then(usd);
        }
        if g.time_to_first_token_s.is_none() {
            g.time_to_first_token_s = ttft;
        }
        if !has_model && g.request_model.is_none() && g.response_model.is_none() {
            g.request_model = MODEL_NAME_OPERATIONS
                .iter()
                .find_map(|o| name_target(name, o))
                .map(str::to_owned);
        }
    }
}
