//! LiteLLM's own tracing callbacks (`litellm` 1.110; `otel` in its default, semconv and V2
//! variants, `langfuse_otel`): what no other dialect reads.
//!
//! * Reported cost: LiteLLM prices every call with its own table and sends the total as
//!   `gen_ai.cost.total_cost` (default `otel` callback), `litellm.cost.total` (V2) or
//!   `llm.cost.total` (`langfuse_otel`, read by the OpenInference dialect). Its parts
//!   (`gen_ai.cost.input_cost` already includes the cache costs) are not added.
//! * Cache tokens: the default `otel` callback sends none as attributes; they exist only inside
//!   the Python-repr string `metadata.usage_object` (an OpenAI-shaped usage: `prompt_tokens`
//!   includes the cache, `prompt_tokens_details.cached_tokens` / `cache_write_tokens`, and
//!   Anthropic's `cache_read_input_tokens` / `cache_creation_input_tokens`).
//! * Operation names: LiteLLM's call types (`acompletion`, `aembedding`, ...) are mapped to the
//!   OTel operations by [`crate::kind::canonical_operation`] for every dialect.
//!
//! Detected by the instrumentation scope `litellm` or any of the keys above.

use super::langfuse::{json_count, usage_from_object, usd};
use super::langsmith::python_dict;
use crate::value::finite_f64;
use crate::Dialect;
use llmtrace_model::Span;
use serde_json::Value;

/// The LiteLLM callbacks dialect.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LiteLlm;

const SCOPE: &str = "litellm";
const COST_TOTAL: &str = "gen_ai.cost.total_cost";
const V2_COST_TOTAL: &str = "litellm.cost.total";
const USAGE_OBJECT: &str = "metadata.usage_object";

impl Dialect for LiteLlm {
    fn name(&self) -> &'static str {
        "litellm"
    }

    fn detect(&self, span: &Span) -> bool {
        span.scope_name == SCOPE
            || [COST_TOTAL, V2_COST_TOTAL, USAGE_OBJECT]
                .iter()
                .any(|k| span.attributes.get(k).is_some())
    }

    fn apply(&self, span: &mut Span) {
        let attrs = &span.attributes;
        if span.cost.reported.is_none() {
            span.cost.reported = [COST_TOTAL, V2_COST_TOTAL]
                .iter()
                .find_map(|k| attrs.get(k).and_then(finite_f64))
                .and_then(usd);
        }
        let Some(Value::Object(usage)) = attrs.get(USAGE_OBJECT).and_then(python_dict) else {
            return;
        };
        if let Some(u) = usage_from_object(&usage) {
            u.fill(&mut span.usage);
        }
        // LiteLLM's own name for the cache writes of an OpenAI-shaped usage.
        if span.usage.cache_write.is_none() {
            span.usage.cache_write = usage
                .get("prompt_tokens_details")
                .and_then(|d| d.get("cache_write_tokens"))
                .and_then(json_count)
                .filter(|n| *n > 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::{AttrValue, Money};

    #[test]
    fn reads_cost_and_the_usage_object_repr() {
        let mut s = Span {
            scope_name: "litellm".into(),
            ..Default::default()
        };
        s.attributes
            .push("gen_ai.cost.total_cost", AttrValue::Double(0.0010815));
        s.attributes.push(
            "metadata.usage_object",
            AttrValue::Str(
                "{'completion_tokens': 45, 'prompt_tokens': 160, 'total_tokens': 205, \
                 'prompt_tokens_details': {'audio_tokens': None, 'cache_write_tokens': 10, \
                 'cached_tokens': 30, 'text_tokens': 120}}"
                    .into(),
            ),
        );
        LiteLlm.apply(&mut s);
        assert_eq!(s.cost.reported, Some(Money::from_pico(1_081_500_000)));
        assert_eq!(
            (
                s.usage.input,
                s.usage.output,
                s.usage.cache_read,
                s.usage.cache_write
            ),
            (Some(160), Some(45), Some(30), Some(10))
        );
    }
}
