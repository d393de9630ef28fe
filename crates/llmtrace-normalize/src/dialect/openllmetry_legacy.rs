//! OpenLLMetry legacy and transitional attributes (instrumentations ≤ 0.53, semconv-ai ≤ 0.4.x)
//! and the Traceloop SDK's workflow attributes (reference §2.1, §2.3).
//!
//! Only what the OTel GenAI dialect does not read: the keys both share (`gen_ai.system` with its
//! capitalized legacy values, `gen_ai.request.*`, `gen_ai.response.*`, `gen_ai.usage.prompt_tokens`
//! / `completion_tokens` / `cache_read_input_tokens` / `cache_creation_input_tokens` /
//! `reasoning_tokens`) mean the same thing in both and are left to it; this dialect runs after it.
//!
//! * Kind: `traceloop.span.kind` (`workflow` / `task` → chain, `agent`, `tool`; `unknown` says
//!   nothing), else `llm.request.type` (`chat` / `completion` → llm, `embedding`, `rerank` →
//!   reranker). The operation follows `llm.request.type`: `chat`, `embeddings`, `rerank`, and for
//!   `completion` `chat` when the prompts carry roles (legacy Anthropic marks Messages API calls
//!   `completion`), else `text_completion`.
//! * Messages: flattened `gen_ai.prompt.{i}.role|content|tool_call_id|tool_calls.{j}.id|name|arguments`
//!   (and the completions API's `gen_ai.prompt.{i}.user`), `gen_ai.completion.{i}.role|content|
//!   finish_reason|refusal|tool_calls.{j}.*|function_call.*`, reassembled in index order (sparse
//!   indices allowed); content may be a JSON text of content blocks. A completion with role
//!   `thinking` (Claude extended thinking) becomes a reasoning part of the next completion. Finish
//!   reasons are mapped to OTel values. As a last fallback, `traceloop.entity.input` / `.output`
//!   (`{"args": [...], "kwargs": {...}}` JSON): the messages they hold, else the value as one text
//!   message.
//! * Usage: `llm.usage.reasoning_tokens` (0.4.14–0.4.16), the early `llm.usage.prompt_tokens` /
//!   `completion_tokens`, and `llm.usage.total_tokens` to derive a missing side; inclusive
//!   convention (legacy Anthropic already sums cache into the prompt count).
//! * Parameters: `llm.frequency_penalty`, `llm.presence_penalty`, `llm.top_k`,
//!   `llm.chat.stop_sequences`, `llm.is_streaming`.
//! * User and session: `user.id` → `enduser.id` → `traceloop.association.properties.user_id`;
//!   `session.id` → `gen_ai.conversation.id` → `traceloop.association.properties.session_id`
//!   (reference §5.1 order).
//! * `traceloop.entity.name` is the tool name of `tool` spans and the agent name of `agent` spans.
//! * Time to first token: the first `llm.content.completion.chunk` (legacy) or
//!   `gen_ai.content.completion.chunk` span event − span start.

use super::openinference::{
    fill_from_total, first_event_offset_s, io_messages, unflatten, with_parts, Flat,
};
use crate::messages::{message_from_json, messages_from_json};
use crate::tokens::{InputCounting, OutputCounting, UsageCollector, UsageField};
use crate::value::{
    finite_f64, id_string, is_blank, non_empty_str, parse_json_str, string_list, token_count,
};
use crate::Dialect;
use llmtrace_model::{AttrValue, Attributes, GenAi, Message, MessagePart, Span, SpanKind, Usage};
use serde_json::{Map, Value};

/// The OpenLLMetry legacy / Traceloop SDK dialect.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenLlmetryLegacy;

const GEN_AI_PREFIX: &str = "gen_ai.";
const LLM_PREFIX: &str = "llm.";
const TRACELOOP_PREFIX: &str = "traceloop.";
const TRACELOOP_SPAN_KIND: &str = "traceloop.span.kind";
const TRACELOOP_ENTITY_NAME: &str = "traceloop.entity.name";
const TRACELOOP_ENTITY_INPUT: &str = "traceloop.entity.input";
const TRACELOOP_ENTITY_OUTPUT: &str = "traceloop.entity.output";
const ASSOCIATION_USER_ID: &str = "traceloop.association.properties.user_id";
const ASSOCIATION_SESSION_ID: &str = "traceloop.association.properties.session_id";
const LLM_REQUEST_TYPE: &str = "llm.request.type";
const LLM_USAGE_TOTAL_TOKENS: &str = "llm.usage.total_tokens";
const LLM_USAGE_PROMPT_TOKENS: &str = "llm.usage.prompt_tokens";
const LLM_USAGE_COMPLETION_TOKENS: &str = "llm.usage.completion_tokens";
const LLM_USAGE_REASONING_TOKENS: &str = "llm.usage.reasoning_tokens";
const LLM_FREQUENCY_PENALTY: &str = "llm.frequency_penalty";
const LLM_PRESENCE_PENALTY: &str = "llm.presence_penalty";
const LLM_TOP_K: &str = "llm.top_k";
const LLM_STOP_SEQUENCES: &str = "llm.chat.stop_sequences";
const LLM_IS_STREAMING: &str = "llm.is_streaming";
const USER_ID: &str = "user.id";
const ENDUSER_ID: &str = "enduser.id";
const SESSION_ID: &str = "session.id";
/// After `gen_ai.`.
const CONVERSATION_ID_SUFFIX: &str = "conversation.id";
/// After `gen_ai.`, followed by an index.
const PROMPT_SUFFIX: &str = "prompt.";
/// After `gen_ai.`, followed by an index.
const COMPLETION_SUFFIX: &str = "completion.";
/// Per-chunk streaming events (legacy name, then the OpenLLMetry ≥ 0.5 name).
const CHUNK_EVENTS: [&str; 2] = [
    "llm.content.completion.chunk",
    "gen_ai.content.completion.chunk",
];

fn starts_with_index(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

/// Whether a key can only come from OpenLLMetry legacy or the Traceloop SDK.
fn is_marker(key: &str) -> bool {
    if let Some(rest) = key.strip_prefix(GEN_AI_PREFIX) {
        rest.strip_prefix(PROMPT_SUFFIX)
            .or_else(|| rest.strip_prefix(COMPLETION_SUFFIX))
            .is_some_and(starts_with_index)
    } else if let Some(rest) = key.strip_prefix(LLM_PREFIX) {
        rest == "request.type" || rest.starts_with("usage.") || rest == "is_streaming"
    } else {
        key.starts_with(TRACELOOP_PREFIX)
    }
}

impl Dialect for OpenLlmetryLegacy {
    fn name(&self) -> &'static str {
        "openllmetry_legacy"
    }

    fn detect(&self, span: &Span) -> bool {
        span.attributes.iter().any(|kv| is_marker(&kv.key))
            || span
                .events
                .iter()
                .any(|e| CHUNK_EVENTS.contains(&e.name.as_str()))
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            attributes,
            events,
            start_unix_nano,
            gen_ai: g,
            usage,
            kind,
            ..
        } = span;
        let mut f = Found::default();
        f.scan(attributes);
        f.fill_kind(kind, g);
        f.fill_scalars(g, usage);
        f.fill_messages(g);
        if g.time_to_first_token_s.is_none() {
            g.time_to_first_token_s =
                first_event_offset_s(*start_unix_nano, events, |n| CHUNK_EVENTS.contains(&n));
        }
    }
}

/// `traceloop.span.kind` → kind; `unknown` (and anything else) gives no kind.
fn traceloop_kind(value: &str) -> Option<SpanKind> {
    match value.trim().to_ascii_lowercase().as_str() {
        "workflow" | "task" => Some(SpanKind::Chain),
        "agent" => Some(SpanKind::Agent),
        "tool" => Some(SpanKind::Tool),
        _ => None,
    }
}

/// `llm.request.type` → kind and OTel operation; `unknown` gives nothing.
fn request_type(value: &str, prompts_have_roles: bool) -> Option<(SpanKind, &'static str)> {
    match value.trim().to_ascii_lowercase().as_str() {
        "chat" => Some((SpanKind::Llm, "chat")),
        "completion" if prompts_have_roles => Some((SpanKind::Llm, "chat")),
        "completion" => Some((SpanKind::Llm, "text_completion")),
        "embedding" | "embeddings" => Some((SpanKind::Embedding, "embeddings")),
        "rerank" => Some((SpanKind::Reranker, "rerank")),
        _ => None,
    }
}

/// Every legacy value the dialect reads, found in one pass.
#[derive(Default)]
struct Found<'a> {
    traceloop_kind: Option<&'a AttrValue>,
    request_type: Option<&'a AttrValue>,
    entity_name: Option<&'a AttrValue>,
    entity_input: Option<&'a AttrValue>,
    entity_output: Option<&'a AttrValue>,
    total_tokens: Option<&'a AttrValue>,
    association_user_id: Option<&'a AttrValue>,
    association_session_id: Option<&'a AttrValue>,
    user_id: Option<&'a AttrValue>,
    enduser_id: Option<&'a AttrValue>,
    session_id: Option<&'a AttrValue>,
    conversation_id: Option<&'a AttrValue>,
    frequency_penalty: Option<&'a AttrValue>,
    presence_penalty: Option<&'a AttrValue>,
    top_k: Option<&'a AttrValue>,
    stop_sequences: Option<&'a AttrValue>,
    is_streaming: Option<&'a AttrValue>,
    usage: UsageCollector,
    /// `gen_ai.prompt.<rest>` entries (`rest` starts with the index).
    prompts: Vec<Flat<'a>>,
    completions: Vec<Flat<'a>>,
}

fn offer<'a>(slot: &mut Option<&'a AttrValue>, v: &'a AttrValue) {
    if slot.is_none() && !is_blank(v) {
        *slot = Some(v);
    }
}

fn set<T>(slot: &mut Option<T>, value: impl FnOnce() -> Option<T>) {
    if slot.is_none() {
        *slot = value();
    }
}

/// The first of `candidates` that converts.
fn first<'a, T>(
    candidates: &[Option<&'a AttrValue>],
    conv: impl Fn(&'a AttrValue) -> Option<T>,
) -> Option<T> {
    candidates.iter().flatten().find_map(|v| conv(v))
}

impl<'a> Found<'a> {
    fn scan(&mut self, attrs: &'a Attributes) {
        for kv in attrs.iter() {
            let key = kv.key.as_str();
            let v = &kv.value;
            if let Some(rest) = key.strip_prefix(GEN_AI_PREFIX) {
                if let Some(r) = rest.strip_prefix(PROMPT_SUFFIX) {
                    if starts_with_index(r) {
                        self.prompts.push((r, v));
                    }
                } else if let Some(r) = rest.strip_prefix(COMPLETION_SUFFIX) {
                    if starts_with_index(r) {
                        self.completions.push((r, v));
                    }
                } else if rest == CONVERSATION_ID_SUFFIX {
                    offer(&mut self.conversation_id, v);
                }
                continue;
            }
            let slot = match key {
                TRACELOOP_SPAN_KIND => &mut self.traceloop_kind,
                TRACELOOP_ENTITY_NAME => &mut self.entity_name,
                TRACELOOP_ENTITY_INPUT => &mut self.entity_input,
                TRACELOOP_ENTITY_OUTPUT => &mut self.entity_output,
                ASSOCIATION_USER_ID => &mut self.association_user_id,
                ASSOCIATION_SESSION_ID => &mut self.association_session_id,
                LLM_REQUEST_TYPE => &mut self.request_type,
                LLM_USAGE_TOTAL_TOKENS => &mut self.total_tokens,
                LLM_FREQUENCY_PENALTY => &mut self.frequency_penalty,
                LLM_PRESENCE_PENALTY => &mut self.presence_penalty,
                LLM_TOP_K => &mut self.top_k,
                LLM_STOP_SEQUENCES => &mut self.stop_sequences,
                LLM_IS_STREAMING => &mut self.is_streaming,
                USER_ID => &mut self.user_id,
                ENDUSER_ID => &mut self.enduser_id,
                SESSION_ID => &mut self.session_id,
                LLM_USAGE_PROMPT_TOKENS => {
                    self.usage.offer(UsageField::Input, 0, v);
                    continue;
                }
                LLM_USAGE_COMPLETION_TOKENS => {
                    self.usage.offer(UsageField::Output, 0, v);
                    continue;
                }
                LLM_USAGE_REASONING_TOKENS => {
                    self.usage.offer(UsageField::Reasoning, 0, v);
                    continue;
                }
                _ => continue,
            };
            offer(slot, v);
        }
    }

    fn fill_kind(&self, kind: &mut SpanKind, g: &mut GenAi) {
        let tl_kind = self
            .traceloop_kind
            .and_then(non_empty_str)
            .and_then(traceloop_kind);
        let prompts_have_roles = self.prompts.iter().any(|(r, _)| r.ends_with(".role"));
        let request = self
            .request_type
            .and_then(non_empty_str)
            .and_then(|t| request_type(t, prompts_have_roles));
        if *kind == SpanKind::Span {
            if let Some(k) = tl_kind.or(request.map(|(k, _)| k)) {
                *kind = k;
            }
        }
        if g.operation.is_none() {
            g.operation = request.map(|(_, op)| op.to_owned());
        }
        let entity_name = || {
            self.entity_name
                .and_then(non_empty_str)
                .map(|n| n.trim().to_owned())
        };
        match tl_kind {
            Some(SpanKind::Tool) => set(&mut g.tool_name, entity_name),
            Some(SpanKind::Agent) => set(&mut g.agent_name, entity_name),
            _ => {}
        }
    }

    fn fill_scalars(&self, g: &mut GenAi, usage: &mut Usage) {
        let p = &mut g.params;
        set(&mut p.frequency_penalty, || {
            first(&[self.frequency_penalty], finite_f64)
        });
        set(&mut p.presence_penalty, || {
            first(&[self.presence_penalty], finite_f64)
        });
        set(&mut p.top_k, || first(&[self.top_k], finite_f64));
        set(&mut p.stream, || {
            first(&[self.is_streaming], AttrValue::as_bool)
        });
        if p.stop_sequences.is_empty() {
            if let Some(v) = self.stop_sequences {
                p.stop_sequences = string_list(v);
            }
        }

        set(&mut g.user_id, || {
            first(
                &[self.user_id, self.enduser_id, self.association_user_id],
                id_string,
            )
        });
        set(&mut g.session_id, || {
            first(
                &[
                    self.session_id,
                    self.conversation_id,
                    self.association_session_id,
                ],
                id_string,
            )
        });

        self.usage.fill(
            usage,
            InputCounting::IncludesCache,
            OutputCounting::IncludesReasoning,
        );
        fill_from_total(usage, self.total_tokens.and_then(token_count));
    }

    fn fill_messages(&self, g: &mut GenAi) {
        if g.input_messages.is_empty() {
            let mut msgs: Vec<Message> = unflatten(&self.prompts)
                .into_iter()
                .filter_map(|m| legacy_message(m, "user"))
                .collect();
            if msgs.is_empty() {
                if let Some(v) = self.entity_input {
                    msgs = entity_messages(v, "user");
                }
            }
            g.input_messages = msgs;
        }
        if g.output_messages.is_empty() {
            let mut msgs = completion_messages(&self.completions);
            if msgs.is_empty() {
                if let Some(v) = self.entity_output {
                    msgs = entity_messages(v, "assistant");
                }
            }
            g.output_messages = msgs;
        }
        if g.finish_reasons.is_empty() {
            g.finish_reasons = g
                .output_messages
                .iter()
                .filter_map(|m| m.finish_reason.clone())
                .collect();
        }
    }
}

/// One reassembled `gen_ai.prompt.{i}` / `gen_ai.completion.{i}` object, parsed with the shared
/// message rules (string or content-block content, OpenAI-style tool calls, tool results).
fn legacy_message(mut m: Map<String, Value>, default_role: &str) -> Option<Message> {
    if !m.contains_key("content") {
        // Completions API prompts (`gen_ai.prompt.0.user`), OpenAI refusals.
        if let Some(text) = m.remove("user").or_else(|| m.remove("refusal")) {
            m.insert("content".to_owned(), text);
        }
    }
    message_from_json(Value::Object(m), default_role)
}

/// Output messages; `thinking` completions become reasoning parts of the next completion (or of
/// the previous one when none follows).
fn completion_messages(entries: &[Flat<'_>]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut thinking: Vec<MessagePart> = Vec::new();
    for m in unflatten(entries) {
        let Some(mut msg) = legacy_message(m, "assistant") else {
            continue;
        };
        if msg.role.trim().eq_ignore_ascii_case("thinking") {
            thinking.extend(msg.parts.into_iter().map(|p| match p {
                MessagePart::Text { content } => MessagePart::Reasoning { content },
                other => other,
            }));
            continue;
        }
        if !thinking.is_empty() {
            msg.parts.splice(0..0, thinking.drain(..));
        }
        out.push(msg);
    }
    if !thinking.is_empty() {
        match out.last_mut() {
            Some(last) => last.parts.append(&mut thinking),
            None => out.push(Message {
                role: "assistant".to_owned(),
                parts: thinking,
                name: None,
                finish_reason: None,
            }),
        }
    }
    out
}

/// Messages from `traceloop.entity.input` / `.output`: inside a decorator's
/// `{"args": [...], "kwargs": {...}}`, `kwargs.messages` else the positional arguments; otherwise
/// the generic I/O rules (a message JSON, else the value as one text message).
fn entity_messages(v: &AttrValue, default_role: &str) -> Vec<Message> {
    if let Some(Value::Object(mut m)) = non_empty_str(v).and_then(parse_json_str) {
        if !m.contains_key("role") && (m.contains_key("args") || m.contains_key("kwargs")) {
            let inner = m
                .get_mut("kwargs")
                .and_then(Value::as_object_mut)
                .and_then(|k| k.remove("messages"))
                .or_else(|| m.remove("args"));
            if let Some(inner) = inner {
                let msgs = with_parts(messages_from_json(inner, default_role));
                if !msgs.is_empty() {
                    return msgs;
                }
            }
        }
    }
    io_messages(v, None, default_role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert!(is_marker("gen_ai.prompt.0.role"));
        assert!(is_marker("gen_ai.completion.12.content"));
        assert!(!is_marker("gen_ai.prompt"));
        assert!(!is_marker("gen_ai.prompt.prompt_filter_results"));
        assert!(!is_marker("gen_ai.completion"));
        assert!(is_marker("llm.request.type"));
        assert!(is_marker("llm.usage.total_tokens"));
        assert!(is_marker("traceloop.span.kind"));
        assert!(!is_marker("llm.token_count.prompt"));
        assert!(!is_marker("gen_ai.usage.input_tokens"));
    }

    #[test]
    fn kind_maps() {
        assert_eq!(traceloop_kind("workflow"), Some(SpanKind::Chain));
        assert_eq!(traceloop_kind("task"), Some(SpanKind::Chain));
        assert_eq!(traceloop_kind("unknown"), None);
        assert_eq!(
            request_type("completion", true),
            Some((SpanKind::Llm, "chat"))
        );
        assert_eq!(
            request_type("completion", false),
            Some((SpanKind::Llm, "text_completion"))
        );
        assert_eq!(
            request_type("rerank", false),
            Some((SpanKind::Reranker, "rerank"))
        );
        assert_eq!(request_type("unknown", false), None);
    }
}
