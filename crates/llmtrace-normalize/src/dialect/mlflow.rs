//! MLflow tracing (`mlflow.*`, `mlflow-tracing` 3.x), reference §4.5. MLflow JSON-encodes **every**
//! attribute value, so strings arrive quoted (`mlflow.spanType = "\"LLM\""`) and are decoded first.
//!
//! * `mlflow.spanType` → kind: `LLM`, `CHAT_MODEL` → llm; `EMBEDDING`, `RETRIEVER`, `RERANKER`,
//!   `TOOL`, `AGENT` as named; `CHAIN`, `WORKFLOW`, `TASK` → chain; `PARSER`, `MEMORY`, `GUARDRAIL`,
//!   `EVALUATOR`, `UNKNOWN` → plain span. The raw type is kept as the operation.
//! * `mlflow.chat.tokenUsage` (JSON `{input_tokens, output_tokens, total_tokens,
//!   cache_read_input_tokens, cache_creation_input_tokens, cache_creation_input_tokens_above_1hr}`):
//!   input is already cache-inclusive; the `…_above_1hr` part is the 1-hour-TTL cache write.
//! * `mlflow.llm.provider`, `mlflow.llm.model` (one model field → request model).
//! * `mlflow.spanInputs` / `mlflow.spanOutputs` → messages when no message key exists (request
//!   bodies, OpenAI / Anthropic responses, LangChain messages; other values as one text message),
//!   plus request parameters and the model from the inputs' `model`.
//! * `mlflow.llm.cost` (JSON, `total_cost` USD) → reported cost.
//! * `user.id` / `session.id` (root spans), JSON-decoded when quoted.

use super::langfuse::{
    decoded_id, decoded_str, fill_provider, io_messages, json_count, json_f64, params_from_json,
    put, usd,
};
use crate::tokens::{InputCounting, OutputCounting, UsageCollector, UsageField};
use crate::value::{is_blank, json_of};
use crate::Dialect;
use llmtrace_model::{AttrValue, Span, SpanKind};
use llmtrace_semconv::{gen_ai, general};
use serde_json::Value;

/// The MLflow dialect.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mlflow;

const PREFIX: &str = "mlflow.";
const SPAN_TYPE: &str = "mlflow.spanType";
const TOKEN_USAGE: &str = "mlflow.chat.tokenUsage";
const PROVIDER: &str = "mlflow.llm.provider";
const MODEL: &str = "mlflow.llm.model";
const SPAN_INPUTS: &str = "mlflow.spanInputs";
const SPAN_OUTPUTS: &str = "mlflow.spanOutputs";
const COST: &str = "mlflow.llm.cost";

impl Dialect for Mlflow {
    fn name(&self) -> &'static str {
        "mlflow"
    }

    fn detect(&self, span: &Span) -> bool {
        span.attributes.iter().any(|kv| kv.key.starts_with(PREFIX))
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            attributes,
            gen_ai: g,
            usage,
            kind,
            cost,
            ..
        } = span;
        let mut f = Found::default();
        for kv in attributes.iter() {
            f.offer(kv.key.as_str(), &kv.value);
        }

        let span_type = f.span_type.and_then(decoded_str);
        if let Some(t) = span_type.as_deref() {
            if *kind == SpanKind::Span {
                if let Some(k) = kind_for_span_type(t) {
                    *kind = k;
                }
            }
            if g.operation.is_none() {
                g.operation = Some(t.to_owned());
            }
        }

        if let Some(p) = f.provider.and_then(decoded_str) {
            fill_provider(g, &p);
        }
        if g.request_model.is_none() {
            g.request_model = f.model.and_then(decoded_str);
        }

        if let Some(Value::Object(m)) = f.token_usage.and_then(json_of) {
            let get = |k: &str| m.get(k).and_then(json_count);
            let mut c = UsageCollector::default();
            put(&mut c, UsageField::Input, 0, get("input_tokens"));
            put(&mut c, UsageField::Input, 1, get("prompt_tokens"));
            put(&mut c, UsageField::Output, 0, get("output_tokens"));
            put(&mut c, UsageField::Output, 1, get("completion_tokens"));
            put(
                &mut c,
                UsageField::CacheRead,
                0,
                get("cache_read_input_tokens"),
            );
            put(
                &mut c,
                UsageField::CacheWrite,
                0,
                get("cache_creation_input_tokens"),
            );
            put(&mut c, UsageField::Reasoning, 0, get("reasoning_tokens"));
            c.fill(
                usage,
                InputCounting::IncludesCache,
                OutputCounting::IncludesReasoning,
            );
            if usage.cache_write_1h.is_none() {
                usage.cache_write_1h = get("cache_creation_input_tokens_above_1hr")
                    .map(|h| usage.cache_write.map_or(h, |w| h.min(w)));
            }
        }

        if cost.reported.is_none() {
            cost.reported = f.cost.and_then(json_of).and_then(|v| match v {
                Value::Object(m) => m.get("total_cost").and_then(json_f64).and_then(usd),
                other => json_f64(&other).and_then(usd),
            });
        }

        // Inputs: parameters and model of request bodies, then messages.
        let inputs = f.inputs.and_then(json_of);
        if let Some(Value::Object(m)) = &inputs {
            params_from_json(m, &mut g.params);
            if g.request_model.is_none() {
                g.request_model = m
                    .get("model")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned);
            }
        }
        if g.input_messages.is_empty() && !f.has_input_messages {
            if let Some(v) = f.inputs {
                g.input_messages = io_messages(v, "user");
            }
        }
        if g.output_messages.is_empty() && !f.has_output_messages {
            if let Some(v) = f.outputs {
                g.output_messages = io_messages(v, "assistant");
            }
        }

        if g.user_id.is_none() {
            g.user_id = f.user_id.and_then(decoded_id);
        }
        if g.session_id.is_none() {
            g.session_id = f.session_id.and_then(decoded_id);
        }
    }
}

/// `mlflow.spanType` → kind; `Some(SpanKind::Span)` for known types that are no model step.
fn kind_for_span_type(t: &str) -> Option<SpanKind> {
    let t = t.trim().to_ascii_uppercase();
    Some(match t.as_str() {
        "LLM" | "CHAT_MODEL" => SpanKind::Llm,
        "EMBEDDING" => SpanKind::Embedding,
        "RETRIEVER" => SpanKind::Retriever,
        "RERANKER" => SpanKind::Reranker,
        "TOOL" => SpanKind::Tool,
        "AGENT" => SpanKind::Agent,
        "CHAIN" | "WORKFLOW" | "TASK" => SpanKind::Chain,
        "PARSER" | "MEMORY" | "GUARDRAIL" | "EVALUATOR" | "UNKNOWN" => SpanKind::Span,
        _ => return None,
    })
}

/// Everything the dialect reads, found in one pass.
#[derive(Default)]
struct Found<'a> {
    span_type: Option<&'a AttrValue>,
    token_usage: Option<&'a AttrValue>,
    provider: Option<&'a AttrValue>,
    model: Option<&'a AttrValue>,
    inputs: Option<&'a AttrValue>,
    outputs: Option<&'a AttrValue>,
    cost: Option<&'a AttrValue>,
    user_id: Option<&'a AttrValue>,
    session_id: Option<&'a AttrValue>,
    has_input_messages: bool,
    has_output_messages: bool,
}

fn offer<'a>(slot: &mut Option<&'a AttrValue>, v: &'a AttrValue) {
    if slot.is_none() && !is_blank(v) {
        *slot = Some(v);
    }
}

impl<'a> Found<'a> {
    fn offer(&mut self, key: &str, v: &'a AttrValue) {
        let slot = match key {
            SPAN_TYPE => &mut self.span_type,
            TOKEN_USAGE => &mut self.token_usage,
            PROVIDER => &mut self.provider,
            MODEL => &mut self.model,
            SPAN_INPUTS => &mut self.inputs,
            SPAN_OUTPUTS => &mut self.outputs,
            COST => &mut self.cost,
            general::USER_ID => &mut self.user_id,
            general::SESSION_ID => &mut self.session_id,
            gen_ai::INPUT_MESSAGES => {
                self.has_input_messages |= !is_blank(v);
                return;
            }
            gen_ai::OUTPUT_MESSAGES => {
                self.has_output_messages |= !is_blank(v);
                return;
            }
            _ => return,
        };
        offer(slot, v);
    }
}
