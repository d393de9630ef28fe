//! pydantic-ai (scope `pydantic-ai`) and Pydantic Logfire specifics (reference §4.2) that the OTel
//! dialect does not read. Model-request spans are plain OTel GenAI spans; this dialect adds:
//!
//! * agent runs (`invoke_agent {agent}`, format v2 `agent run`, or any span carrying
//!   `pydantic_ai.all_messages`, `final_result` or `gen_ai.aggregated_usage.*`) are agents with the
//!   `invoke_agent` operation: their usage (`gen_ai.aggregated_usage.*`, else the `gen_ai.usage.*`
//!   they repeat) is the **sum** of their model calls and is never counted;
//! * agent messages: `pydantic_ai.all_messages` (the whole history) as input, `final_result` as
//!   the output; v2 `agent_name`;
//! * tool spans named `running tool` (v2; name from `logfire.msg` `running tool: {name}` when no
//!   `gen_ai.tool.name`);
//! * `operation.cost` (USD, computed by genai-prices) → reported cost;
//! * usage detail keys `gen_ai.usage.details.*` the shared table lacks (raw Anthropic
//!   `cache_read_input_tokens` / `cache_creation_input_tokens`, OpenAI `cached_tokens`); input
//!   counts are cache-inclusive;
//! * Logfire's direct integrations without semantic-convention keys (older Logfire):
//!   `request_data` (model, parameters, messages) and `response_data` (message, raw usage, where
//!   Anthropic input excludes the cache). `logfire.msg` is a display template, never content.

use super::langfuse::{blob_messages, fill_provider, params_from_json, usage_from_object, usd};
use crate::tokens::{InputCounting, OutputCounting, UsageCollector, UsageField};
use crate::value::{finite_f64, is_blank, json_of, non_empty_str, parse_json_str};
use crate::Dialect;
use llmtrace_model::{AttrValue, Message, Span, SpanKind};
use llmtrace_semconv::{gen_ai, operation as op};
use serde_json::Value;

/// The pydantic-ai / Logfire dialect.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PydanticAi;

const SCOPE: &str = "pydantic-ai";
const LOGFIRE_SCOPE: &str = "logfire";
const ALL_MESSAGES: &str = "pydantic_ai.all_messages";
const FINAL_RESULT: &str = "final_result";
const OPERATION_COST: &str = "operation.cost";
const AGGREGATED_USAGE_PREFIX: &str = "gen_ai.aggregated_usage.";
const USAGE_PREFIX: &str = "gen_ai.usage.";
const LOGFIRE_PREFIX: &str = "logfire.";
const LOGFIRE_MSG: &str = "logfire.msg";
const V2_AGENT_NAME: &str = "agent_name";
const REQUEST_DATA: &str = "request_data";
const RESPONSE_DATA: &str = "response_data";
const AGENT_RUN: &str = "agent run";
const RUNNING_TOOL: &str = "running tool";

/// Provider-specific `gen_ai.usage.details.*` keys missing from the shared usage table, ranked
/// after it.
const DETAIL_KEYS: &[(&str, UsageField, u8)] = &[
    ("details.cache_read_input_tokens", UsageField::CacheRead, 10),
    ("details.cached_tokens", UsageField::CacheRead, 11),
    (
        "details.cache_creation_input_tokens",
        UsageField::CacheWrite,
        10,
    ),
    ("details.reasoning", UsageField::Reasoning, 10),
];

impl Dialect for PydanticAi {
    fn name(&self) -> &'static str {
        "pydantic_ai"
    }

    fn detect(&self, span: &Span) -> bool {
        span.scope_name == SCOPE
            || span.scope_name.starts_with(LOGFIRE_SCOPE)
            || span.name == AGENT_RUN
            || span.name == RUNNING_TOOL
            || span.attributes.iter().any(|kv| {
                let k = kv.key.as_str();
                k == ALL_MESSAGES
                    || k == FINAL_RESULT
                    || k == OPERATION_COST
                    || k.starts_with(AGGREGATED_USAGE_PREFIX)
                    || k.starts_with(LOGFIRE_PREFIX)
            })
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            name,
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

        let is_agent = name == AGENT_RUN
            || name.starts_with("invoke_agent")
            || f.operation.is_some_and(|o| o == op::INVOKE_AGENT)
            || f.all_messages.is_some()
            || f.final_result.is_some()
            || !f.aggregated.is_empty();
        let is_tool = !is_agent && name.starts_with(RUNNING_TOOL);
        if *kind == SpanKind::Span {
            if is_agent {
                *kind = SpanKind::Agent;
            } else if is_tool {
                *kind = SpanKind::Tool;
            }
        }
        if g.operation.is_none() {
            if is_agent {
                g.operation = Some(op::INVOKE_AGENT.to_owned());
            } else if is_tool && f.operation.is_none() {
                g.operation = Some(op::EXECUTE_TOOL.to_owned());
            }
        }

        // Names.
        if is_agent && g.agent_name.is_none() {
            g.agent_name = f.agent_name.and_then(non_empty_str).map(str::to_owned);
        }
        if is_tool && g.tool_name.is_none() && !f.has_tool_name {
            g.tool_name = f
                .logfire_msg
                .and_then(|m| m.strip_prefix("running tool:"))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
        }

        // Usage: aggregated names first on agent spans; inclusive counts.
        let counts = if is_agent && !f.aggregated.is_empty() {
            &f.aggregated
        } else {
            &f.usage
        };
        counts.fill(
            usage,
            InputCounting::IncludesCache,
            OutputCounting::IncludesReasoning,
        );

        if cost.reported.is_none() {
            cost.reported = f.cost.and_then(finite_f64).and_then(usd);
        }

        // Agent messages.
        if g.input_messages.is_empty() {
            if let Some(v) = f.all_messages {
                g.input_messages = crate::messages::parse_messages(v, "user")
                    .into_iter()
                    .filter(|m| !m.parts.is_empty())
                    .collect();
            }
        }
        if g.output_messages.is_empty() {
            if let Some(v) = f.final_result {
                g.output_messages = final_result_messages(v);
            }
        }

        // Older Logfire integrations: request_data / response_data.
        if f.logfire {
            if let Some(Value::Object(req)) = f.request_data.and_then(json_of) {
                if g.request_model.is_none() {
                    g.request_model = req
                        .get("model")
                        .and_then(Value::as_str)
                        .filter(|m| !m.trim().is_empty())
                        .map(str::to_owned);
                }
                params_from_json(&req, &mut g.params);
                if g.input_messages.is_empty() && !f.has_input_messages {
                    g.input_messages = blob_messages(&Value::Object(req), "user");
                }
            }
            if let Some(Value::Object(resp)) = f.response_data.and_then(json_of) {
                if g.output_messages.is_empty() && !f.has_output_messages {
                    if let Some(msg) = resp.get("message") {
                        g.output_messages = blob_messages(msg, "assistant");
                    }
                }
                if let Some(Value::Object(u)) = resp.get("usage") {
                    if let Some(u) = usage_from_object(u) {
                        u.fill(usage);
                    }
                }
            }
            if g.provider.is_none() {
                if let Some(p) = f.logfire_provider() {
                    fill_provider(g, p);
                }
            }
        }
    }
}

/// `final_result`: text, or JSON (a JSON string literal is unwrapped) kept as its compact text.
fn final_result_messages(v: &AttrValue) -> Vec<Message> {
    let text = match v {
        AttrValue::Str(s) if s.trim().is_empty() => return Vec::new(),
        AttrValue::Str(s) => match parse_json_str(s) {
            Some(Value::String(inner)) => inner,
            _ => s.clone(),
        },
        other => other.to_json().to_string(),
    };
    vec![Message::text("assistant", text)]
}

/// Everything the dialect reads, found in one pass.
#[derive(Default)]
struct Found<'a> {
    operation: Option<&'a str>,
    all_messages: Option<&'a AttrValue>,
    final_result: Option<&'a AttrValue>,
    cost: Option<&'a AttrValue>,
    agent_name: Option<&'a AttrValue>,
    logfire_msg: Option<&'a str>,
    request_data: Option<&'a AttrValue>,
    response_data: Option<&'a AttrValue>,
    usage: UsageCollector,
    aggregated: UsageCollector,
    has_tool_name: bool,
    has_input_messages: bool,
    has_output_messages: bool,
    logfire: bool,
    logfire_span_name: Option<&'a str>,
}

fn offer<'a>(slot: &mut Option<&'a AttrValue>, v: &'a AttrValue) {
    if slot.is_none() && !is_blank(v) {
        *slot = Some(v);
    }
}

impl<'a> Found<'a> {
    fn offer(&mut self, key: &str, v: &'a AttrValue) {
        match key {
            gen_ai::OPERATION_NAME => self.operation = self.operation.or(non_empty_str(v)),
            ALL_MESSAGES => offer(&mut self.all_messages, v),
            FINAL_RESULT => offer(&mut self.final_result, v),
            OPERATION_COST => offer(&mut self.cost, v),
            V2_AGENT_NAME => offer(&mut self.agent_name, v),
            REQUEST_DATA => offer(&mut self.request_data, v),
            RESPONSE_DATA => offer(&mut self.response_data, v),
            gen_ai::TOOL_NAME => self.has_tool_name |= !is_blank(v),
            gen_ai::INPUT_MESSAGES => self.has_input_messages |= !is_blank(v),
            gen_ai::OUTPUT_MESSAGES => self.has_output_messages |= !is_blank(v),
            LOGFIRE_MSG => {
                self.logfire = true;
                self.logfire_msg = self.logfire_msg.or(non_empty_str(v));
            }
            "logfire.msg_template" => {
                self.logfire = true;
                self.logfire_span_name = self.logfire_span_name.or(non_empty_str(v));
            }
            _ => {
                if let Some(suffix) = key.strip_prefix(USAGE_PREFIX) {
                    if !self.usage.offer_gen_ai_usage(suffix, v) {
                        if let Some((_, field, rank)) =
                            DETAIL_KEYS.iter().find(|(k, _, _)| *k == suffix)
                        {
                            self.usage.offer(*field, *rank, v);
                        }
                    }
                } else if let Some(suffix) = key.strip_prefix(AGGREGATED_USAGE_PREFIX) {
                    self.aggregated.offer_gen_ai_usage(suffix, v);
                } else if key.starts_with(LOGFIRE_PREFIX) {
                    self.logfire = true;
                }
            }
        }
    }

    /// The provider of an older Logfire integration span, from its message template
    /// (`Chat Completion with {request_data[model]!r}` is OpenAI, `Message with ...` Anthropic).
    fn logfire_provider(&self) -> Option<&'static str> {
        let template = self.logfire_span_name?;
        if template.starts_with("Chat Completion with") || template.starts_with("Completion with") {
            Some("openai")
        } else if template.starts_with("Message with") {
            Some("anthropic")
        } else {
            None
        }
    }
}
