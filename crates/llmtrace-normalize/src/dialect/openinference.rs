//! OpenInference (Arize / Phoenix) attributes: `openinference.span.kind`, `llm.*`,
//! `embedding.*`, `reranker.*`, `input.value` / `output.value` (reference §3).
//!
//! * Kind: `openinference.span.kind` (UPPERCASE, required on every OpenInference span and
//!   authoritative): `LLM`, `EMBEDDING`, `RETRIEVER`, `RERANKER`, `TOOL`, `AGENT`, `CHAIN` map to
//!   their kinds; `GUARDRAIL`, `EVALUATOR`, `PROMPT`, `DECISION`, `UNKNOWN` are plain spans.
//!   The operation is derived (`chat` / `text_completion` for LLM spans from the message keys,
//!   `embeddings` for EMBEDDING spans) unless the span carries `gen_ai.operation.name`.
//! * Provider: `llm.provider` (hosting provider), else `llm.system` (model family), through the
//!   alias map (`aws` → `aws.bedrock`, `azure` → `azure.ai.openai`, `vertexai` →
//!   `gcp.vertex_ai`); the raw value is kept when it differs.
//! * Models: request `llm.request.model_name` → `model` in the invocation parameters →
//!   `llm.model_name` → `embedding.model_name` → `reranker.model_name`; response
//!   `llm.response.model_name` → `llm.model_name`.
//! * Tokens: `llm.token_count.prompt` (inclusive of cache, no fix-up), `.completion`,
//!   `.prompt_details.cache_read` / `.cache_write`, `.completion_details.reasoning`; `.total`
//!   only derives a missing prompt or completion count. Audio and `cache_input` details are
//!   ignored.
//! * Parameters: the `llm.invocation_parameters` JSON (else `embedding.invocation_parameters`):
//!   temperature, max tokens (`max_tokens`, `max_completion_tokens`, `max_output_tokens`,
//!   `max_tokens_to_sample`), top_p, top_k, penalties, seed, stop sequences, stream.
//! * Messages, first source that yields any, per direction: flattened
//!   `llm.{input,output}_messages.{i}.message.*` (index-path reassembly, sparse indices ordered by
//!   index), then `llm.prompts.{i}.prompt.text` / `llm.choices.{i}.completion.text` (or a
//!   `llm.prompts` string array), then `input.value` / `output.value` (JSON per
//!   `*.mime_type`, else one text message).
//! * `llm.finish_reason`, `llm.cost.total` (USD, else prompt + completion cost) as the reported
//!   cost, `session.id`, `user.id`, `tool.name`, `agent.name`, and the time to first token from
//!   the `First Token Stream Event` span event.
//!
//! Retrieval documents, reranker documents, embedding vectors and tool definitions stay in the raw
//! attributes.
//!
//! The index-path helpers are shared with the OpenLLMetry legacy dialect.

use crate::alias::{canonical_finish_reason, canonical_provider};
use crate::messages::{message_from_json, messages_from_json, parse_messages};
use crate::tokens::{InputCounting, OutputCounting, UsageCollector, UsageField};
use crate::value::{
    finite_f64, id_string, is_blank, json_of, looks_like_json_container, non_empty_str,
    parse_json_str, token_count,
};
use crate::Dialect;
use llmtrace_model::{
    AttrValue, Attributes, GenAi, Message, Money, RequestParams, Span, SpanCost, SpanEvent,
    SpanKind, Usage,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The OpenInference dialect (`openinference.span.kind`, `llm.*`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenInference;

const SPAN_KIND: &str = "openinference.span.kind";
const LLM_PREFIX: &str = "llm.";
const LLM_PROVIDER: &str = "llm.provider";
const LLM_SYSTEM: &str = "llm.system";
const LLM_MODEL_NAME: &str = "llm.model_name";
const LLM_REQUEST_MODEL_NAME: &str = "llm.request.model_name";
const LLM_RESPONSE_MODEL_NAME: &str = "llm.response.model_name";
const EMBEDDING_MODEL_NAME: &str = "embedding.model_name";
const RERANKER_MODEL_NAME: &str = "reranker.model_name";
const LLM_INVOCATION_PARAMETERS: &str = "llm.invocation_parameters";
const EMBEDDING_INVOCATION_PARAMETERS: &str = "embedding.invocation_parameters";
const TOKEN_PROMPT: &str = "llm.token_count.prompt";
const TOKEN_COMPLETION: &str = "llm.token_count.completion";
const TOKEN_TOTAL: &str = "llm.token_count.total";
const TOKEN_CACHE_READ: &str = "llm.token_count.prompt_details.cache_read";
const TOKEN_CACHE_WRITE: &str = "llm.token_count.prompt_details.cache_write";
const TOKEN_REASONING: &str = "llm.token_count.completion_details.reasoning";
const LLM_PROMPTS: &str = "llm.prompts";
const LLM_FINISH_REASON: &str = "llm.finish_reason";
const COST_TOTAL: &str = "llm.cost.total";
const COST_PROMPT: &str = "llm.cost.prompt";
const COST_COMPLETION: &str = "llm.cost.completion";
const INPUT_VALUE: &str = "input.value";
const INPUT_MIME_TYPE: &str = "input.mime_type";
const OUTPUT_VALUE: &str = "output.value";
const OUTPUT_MIME_TYPE: &str = "output.mime_type";
const SESSION_ID: &str = "session.id";
const USER_ID: &str = "user.id";
const TOOL_NAME: &str = "tool.name";
const AGENT_NAME: &str = "agent.name";
const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// Span event the OpenInference instrumentors add on the first streamed chunk.
const FIRST_TOKEN_EVENT: &str = "First Token Stream Event";

/// Whether a key can only come from OpenInference (checked for every attribute of every span, so
/// it rejects most keys on their first bytes).
fn is_marker(key: &str) -> bool {
    match key.strip_prefix(LLM_PREFIX) {
        Some(rest) => {
            rest.starts_with("token_count.")
                || rest.starts_with("input_messages.")
                || rest.starts_with("output_messages.")
                || matches!(
                    rest,
                    "model_name"
                        | "request.model_name"
                        | "response.model_name"
                        | "invocation_parameters"
                )
        }
        None => key == SPAN_KIND,
    }
}

impl Dialect for OpenInference {
    fn name(&self) -> &'static str {
        "openinference"
    }

    fn detect(&self, span: &Span) -> bool {
        span.attributes.iter().any(|kv| is_marker(&kv.key))
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            attributes,
            events,
            start_unix_nano,
            gen_ai: g,
            usage,
            kind,
            cost,
            ..
        } = span;
        let mut f = Found::default();
        f.scan(attributes);
        f.fill_kind(kind, g);
        f.fill_scalars(g, usage, cost);
        f.fill_messages(g);
        if g.time_to_first_token_s.is_none() {
            g.time_to_first_token_s =
                first_event_offset_s(*start_unix_nano, events, |n| n == FIRST_TOKEN_EVENT);
        }
    }
}

/// The map of `openinference.span.kind` values (matched case-insensitively). `None` for values
/// the spec does not define.
fn kind_for_openinference(value: &str) -> Option<SpanKind> {
    const KINDS: &[(&str, SpanKind)] = &[
        ("LLM", SpanKind::Llm),
        ("EMBEDDING", SpanKind::Embedding),
        ("RETRIEVER", SpanKind::Retriever),
        ("RERANKER", SpanKind::Reranker),
        ("TOOL", SpanKind::Tool),
        ("AGENT", SpanKind::Agent),
        ("CHAIN", SpanKind::Chain),
        ("GUARDRAIL", SpanKind::Span),
        ("EVALUATOR", SpanKind::Span),
        ("PROMPT", SpanKind::Span),
        ("DECISION", SpanKind::Span),
        ("UNKNOWN", SpanKind::Span),
    ];
    let value = value.trim();
    KINDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(value))
        .map(|(_, kind)| *kind)
}

/// Every OpenInference value the dialect reads, found in one pass.
#[derive(Default)]
struct Found<'a> {
    span_kind: Option<&'a AttrValue>,
    provider: Option<&'a AttrValue>,
    system: Option<&'a AttrValue>,
    model_name: Option<&'a AttrValue>,
    request_model_name: Option<&'a AttrValue>,
    response_model_name: Option<&'a AttrValue>,
    embedding_model_name: Option<&'a AttrValue>,
    reranker_model_name: Option<&'a AttrValue>,
    invocation_parameters: Option<&'a AttrValue>,
    embedding_invocation_parameters: Option<&'a AttrValue>,
    total_tokens: Option<&'a AttrValue>,
    prompts_list: Option<&'a AttrValue>,
    finish_reason: Option<&'a AttrValue>,
    cost_total: Option<&'a AttrValue>,
    cost_prompt: Option<&'a AttrValue>,
    cost_completion: Option<&'a AttrValue>,
    input_value: Option<&'a AttrValue>,
    input_mime_type: Option<&'a AttrValue>,
    output_value: Option<&'a AttrValue>,
    output_mime_type: Option<&'a AttrValue>,
    session_id: Option<&'a AttrValue>,
    user_id: Option<&'a AttrValue>,
    tool_name: Option<&'a AttrValue>,
    agent_name: Option<&'a AttrValue>,
    has_gen_ai_operation: bool,
    usage: UsageCollector,
    /// `llm.input_messages.<rest>` entries (`rest` starts with the index).
    input_messages: Vec<Flat<'a>>,
    output_messages: Vec<Flat<'a>>,
    prompts: Vec<Flat<'a>>,
    choices: Vec<Flat<'a>>,
}

/// One entry of a flattened list attribute: the key after the list prefix (`0.message.role`) and
/// its value.
pub(super) type Flat<'a> = (&'a str, &'a AttrValue);

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

fn set_string(slot: &mut Option<String>, candidates: &[Option<&AttrValue>]) {
    if slot.is_none() {
        *slot = candidates
            .iter()
            .flatten()
            .find_map(|v| non_empty_str(v))
            .map(|s| s.trim().to_owned());
    }
}

impl<'a> Found<'a> {
    fn scan(&mut self, attrs: &'a Attributes) {
        for kv in attrs.iter() {
            let key = kv.key.as_str();
            let v = &kv.value;
            let slot = match key {
                SPAN_KIND => &mut self.span_kind,
                LLM_PROVIDER => &mut self.provider,
                LLM_SYSTEM => &mut self.system,
                LLM_MODEL_NAME => &mut self.model_name,
                LLM_REQUEST_MODEL_NAME => &mut self.request_model_name,
                LLM_RESPONSE_MODEL_NAME => &mut self.response_model_name,
                EMBEDDING_MODEL_NAME => &mut self.embedding_model_name,
                RERANKER_MODEL_NAME => &mut self.reranker_model_name,
                LLM_INVOCATION_PARAMETERS => &mut self.invocation_parameters,
                EMBEDDING_INVOCATION_PARAMETERS => &mut self.embedding_invocation_parameters,
                TOKEN_TOTAL => &mut self.total_tokens,
                LLM_PROMPTS => &mut self.prompts_list,
                LLM_FINISH_REASON => &mut self.finish_reason,
                COST_TOTAL => &mut self.cost_total,
                COST_PROMPT => &mut self.cost_prompt,
                COST_COMPLETION => &mut self.cost_completion,
                INPUT_VALUE => &mut self.input_value,
                INPUT_MIME_TYPE => &mut self.input_mime_type,
                OUTPUT_VALUE => &mut self.output_value,
                OUTPUT_MIME_TYPE => &mut self.output_mime_type,
                SESSION_ID => &mut self.session_id,
                USER_ID => &mut self.user_id,
                TOOL_NAME => &mut self.tool_name,
                AGENT_NAME => &mut self.agent_name,
                GEN_AI_OPERATION_NAME => {
                    self.has_gen_ai_operation |= !is_blank(v);
                    continue;
                }
                TOKEN_PROMPT => {
                    self.usage.offer(UsageField::Input, 0, v);
                    continue;
                }
                TOKEN_COMPLETION => {
                    self.usage.offer(UsageField::Output, 0, v);
                    continue;
                }
                TOKEN_CACHE_READ => {
                    self.usage.offer(UsageField::CacheRead, 0, v);
                    continue;
                }
                TOKEN_CACHE_WRITE => {
                    self.usage.offer(UsageField::CacheWrite, 0, v);
                    continue;
                }
                TOKEN_REASONING => {
                    self.usage.offer(UsageField::Reasoning, 0, v);
                    continue;
                }
                _ => {
                    if let Some(rest) = key.strip_prefix(LLM_PREFIX) {
                        let (list, rest) = if let Some(r) = rest.strip_prefix("input_messages.") {
                            (&mut self.input_messages, r)
                        } else if let Some(r) = rest.strip_prefix("output_messages.") {
                            (&mut self.output_messages, r)
                        } else if let Some(r) = rest.strip_prefix("prompts.") {
                            (&mut self.prompts, r)
                        } else if let Some(r) = rest.strip_prefix("choices.") {
                            (&mut self.choices, r)
                        } else {
                            continue;
                        };
                        list.push((rest, v));
                    }
                    continue;
                }
            };
            offer(slot, v);
        }
    }

    /// The kind from `openinference.span.kind`, and the operation derived from it.
    fn fill_kind(&self, kind: &mut SpanKind, g: &mut GenAi) {
        let oi_kind = self
            .span_kind
            .and_then(non_empty_str)
            .and_then(kind_for_openinference);
        if *kind == SpanKind::Span {
            if let Some(k) = oi_kind {
                *kind = k;
            }
        }
        if g.operation.is_none() && !self.has_gen_ai_operation {
            let op = match oi_kind {
                Some(SpanKind::Llm) => {
                    if !self.input_messages.is_empty() || !self.output_messages.is_empty() {
                        Some("chat")
                    } else if !self.prompts.is_empty()
                        || !self.choices.is_empty()
                        || self.prompts_list.is_some()
                    {
                        Some("text_completion")
                    } else {
                        None
                    }
                }
                Some(SpanKind::Embedding) => Some("embeddings"),
                _ => None,
            };
            g.operation = op.map(str::to_owned);
        }
    }

    fn fill_scalars(&self, g: &mut GenAi, usage: &mut Usage, cost: &mut SpanCost) {
        if g.provider.is_none() {
            for raw in [self.provider, self.system]
                .into_iter()
                .flatten()
                .filter_map(non_empty_str)
            {
                if set_provider(g, raw) {
                    break;
                }
            }
        }

        let params = [
            self.invocation_parameters,
            self.embedding_invocation_parameters,
        ]
        .into_iter()
        .flatten()
        .find_map(|v| match json_of(v) {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        });

        // `llm.model_name` is whatever the instrumentor chose (request or response model), so the
        // `model` the request was sent with comes first.
        set_string(&mut g.request_model, &[self.request_model_name]);
        if g.request_model.is_none() {
            g.request_model = params
                .as_ref()
                .and_then(|p| p.get("model"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned);
        }
        set_string(
            &mut g.request_model,
            &[
                self.model_name,
                self.embedding_model_name,
                self.reranker_model_name,
            ],
        );
        set_string(
            &mut g.response_model,
            &[self.response_model_name, self.model_name],
        );
        if let Some(p) = &params {
            fill_params(&mut g.params, p);
        }

        set_string(&mut g.tool_name, &[self.tool_name]);
        set_string(&mut g.agent_name, &[self.agent_name]);
        set(&mut g.session_id, || self.session_id.and_then(id_string));
        set(&mut g.user_id, || self.user_id.and_then(id_string));

        if g.finish_reasons.is_empty() {
            if let Some(r) = self
                .finish_reason
                .and_then(non_empty_str)
                .and_then(canonical_finish_reason)
            {
                g.finish_reasons = vec![r];
            }
        }

        self.usage.fill(
            usage,
            InputCounting::IncludesCache,
            OutputCounting::IncludesReasoning,
        );
        fill_from_total(usage, self.total_tokens.and_then(token_count));

        set(&mut cost.reported, || {
            let usd = |v: Option<&AttrValue>| v.and_then(finite_f64).filter(|c| *c >= 0.0);
            usd(self.cost_total)
                .or_else(|| Some(usd(self.cost_prompt)? + usd(self.cost_completion)?))
                .and_then(Money::from_f64_usd)
        });
    }

    fn fill_messages(&self, g: &mut GenAi) {
        if g.input_messages.is_empty() {
            g.input_messages = self.messages(
                &self.input_messages,
                &self.prompts,
                "prompt",
                self.prompts_list,
                (self.input_value, self.input_mime_type),
                "user",
            );
        }
        if g.output_messages.is_empty() {
            g.output_messages = self.messages(
                &self.output_messages,
                &self.choices,
                "completion",
                None,
                (self.output_value, self.output_mime_type),
                "assistant",
            );
        }
    }

    /// Messages of one direction from the first source that yields any.
    fn messages(
        &self,
        structured: &[Flat<'a>],
        texts: &[Flat<'a>],
        text_object: &str,
        text_list: Option<&AttrValue>,
        (value, mime_type): (Option<&AttrValue>, Option<&AttrValue>),
        default_role: &str,
    ) -> Vec<Message> {
        if !structured.is_empty() {
            let msgs: Vec<Message> = unflatten(structured)
                .into_iter()
                .filter_map(|m| openinference_message(m, default_role))
                .collect();
            if !msgs.is_empty() {
                return msgs;
            }
        }
        if !texts.is_empty() {
            // `llm.prompts.{i}.prompt.text` / `llm.choices.{i}.completion.text`.
            let msgs: Vec<Message> = unflatten(texts)
                .into_iter()
                .filter_map(|mut m| match m.remove(text_object)? {
                    Value::Object(mut o) => match o.remove("text")? {
                        Value::String(t) if !t.is_empty() => Some(Message::text(default_role, t)),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            if !msgs.is_empty() {
                return msgs;
            }
        }
        if let Some(AttrValue::Array(items)) = text_list {
            let msgs: Vec<Message> = items
                .iter()
                .filter_map(non_empty_str)
                .map(|t| Message::text(default_role, t))
                .collect();
            if !msgs.is_empty() {
                return msgs;
            }
        }
        match value {
            Some(v) => io_messages(v, mime_type.and_then(non_empty_str), default_role),
            None => Vec::new(),
        }
    }
}

/// Sets the provider from a raw value through the alias map, keeping the raw value when it
/// differs. Returns whether a provider was set (framework names such as `langchain` are not
/// providers: only the raw value is kept).
pub(super) fn set_provider(g: &mut GenAi, raw: &str) -> bool {
    let raw = raw.trim();
    match canonical_provider(raw) {
        Some(canonical) => {
            if canonical != raw && g.provider_raw.is_none() {
                g.provider_raw = Some(raw.to_owned());
            }
            g.provider = Some(canonical.into_owned());
            true
        }
        None => {
            if !raw.is_empty() {
                g.provider_raw.get_or_insert_with(|| raw.to_owned());
            }
            false
        }
    }
}

/// Derives a missing input or output count from an explicit total (total = input + output in
/// every dialect that sends one).
pub(super) fn fill_from_total(usage: &mut Usage, total: Option<u64>) {
    let Some(total) = total else {
        return;
    };
    match (usage.input, usage.output) {
        (None, Some(output)) if total >= output => usage.input = Some(total.saturating_sub(output)),
        (Some(input), None) if total >= input => usage.output = Some(total.saturating_sub(input)),
        _ => {}
    }
}

/// Seconds from the span start to the earliest event whose name matches, when it is not before
/// the start.
pub(super) fn first_event_offset_s(
    start_unix_nano: u64,
    events: &[SpanEvent],
    matches: impl Fn(&str) -> bool,
) -> Option<f64> {
    let first = events
        .iter()
        .filter(|e| matches(&e.name))
        .map(|e| e.time_unix_nano)
        .min()?;
    (start_unix_nano > 0 && first >= start_unix_nano)
        .then(|| first.saturating_sub(start_unix_nano) as f64 / 1e9)
}

/// Reassembles a flattened list (`<i>.<path>` entries, the list prefix already removed) into one
/// JSON object per index, in index order (indices may be sparse; entries whose key does not start
/// with an index are ignored). Dotted paths become nested objects and objects whose keys are all
/// indices become arrays in index order. On duplicate paths the first value wins.
pub(super) fn unflatten(entries: &[Flat<'_>]) -> Vec<Map<String, Value>> {
    let mut by_index: BTreeMap<u32, Map<String, Value>> = BTreeMap::new();
    for (rest, value) in entries {
        let Some((index, path)) = rest.split_once('.') else {
            continue;
        };
        let Ok(index) = index.parse::<u32>() else {
            continue;
        };
        if path.is_empty() {
            continue;
        }
        insert_path(by_index.entry(index).or_default(), path, value.to_json());
    }
    by_index
        .into_values()
        .map(|m| match arrays(Value::Object(m)) {
            Value::Object(m) => m,
            _ => Map::new(),
        })
        .collect()
}

fn insert_path(map: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            map.entry(path.to_owned()).or_insert(value);
        }
        Some((head, tail)) => {
            let child = map
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(child) = child {
                insert_path(child, tail, value);
            }
        }
    }
}

fn is_index(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit())
}

/// Turns every object whose keys are all indices into an array ordered by index.
fn arrays(value: Value) -> Value {
    match value {
        Value::Object(m) if !m.is_empty() && m.keys().all(|k| is_index(k)) => {
            let mut items: Vec<(u64, Value)> = m
                .into_iter()
                .map(|(k, v)| (k.parse().unwrap_or(u64::MAX), arrays(v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            Value::Array(items.into_iter().map(|(_, v)| v).collect())
        }
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, arrays(v))).collect()),
        other => other,
    }
}

/// One reassembled `llm.*_messages.{i}` object (`{message: {role, content, contents, tool_calls,
/// ...}}`) converted to the generic message shape and parsed with the shared message rules.
fn openinference_message(mut entry: Map<String, Value>, default_role: &str) -> Option<Message> {
    let Value::Object(mut m) = entry.remove("message")? else {
        return None;
    };
    let mut out = Map::new();
    for key in ["role", "name", "tool_call_id"] {
        if let Some(v) = m.remove(key) {
            out.insert(key.to_owned(), v);
        }
    }
    let content = m.remove("content");
    let mut blocks: Vec<Value> = match m.remove("contents") {
        Some(Value::Array(items)) => items.into_iter().filter_map(content_block).collect(),
        _ => Vec::new(),
    };
    match content {
        Some(c) if blocks.is_empty() => {
            out.insert("content".to_owned(), c);
        }
        c => {
            if let Some(Value::String(text)) = c {
                if !text.is_empty() {
                    blocks.insert(0, serde_json::json!({"type": "text", "text": text}));
                }
            }
            if !blocks.is_empty() {
                out.insert("content".to_owned(), Value::Array(blocks));
            }
        }
    }
    if let Some(Value::Array(calls)) = m.remove("tool_calls") {
        // `{tool_call: {id, function: {name, arguments}}}` → the OpenAI shape.
        let calls: Vec<Value> = calls
            .into_iter()
            .filter_map(|mut c| c.as_object_mut()?.remove("tool_call"))
            .collect();
        if !calls.is_empty() {
            out.insert("tool_calls".to_owned(), Value::Array(calls));
        }
    }
    if let Some(name) = m.remove("function_call_name") {
        let mut call = Map::new();
        call.insert("name".to_owned(), name);
        if let Some(args) = m.remove("function_call_arguments_json") {
            call.insert("arguments".to_owned(), args);
        }
        out.insert("function_call".to_owned(), Value::Object(call));
    }
    message_from_json(Value::Object(out), default_role)
}

/// One `contents.{j}` entry (`{message_content: {type, text, image: {image: {url}}}}`) as a
/// typed content block: text and reasoning kept, an image as an OTel `uri` part, anything else
/// as sent.
fn content_block(mut entry: Value) -> Option<Value> {
    let Value::Object(mut c) = entry.as_object_mut()?.remove("message_content")? else {
        return None;
    };
    let ty = c.get("type").and_then(Value::as_str).unwrap_or("text");
    if ty == "image" {
        if let Some(url) = c
            .get("image")
            .and_then(|i| i.pointer("/image/url").or_else(|| i.get("url")))
            .and_then(Value::as_str)
        {
            return Some(serde_json::json!({"type": "uri", "modality": "image", "uri": url}));
        }
    }
    if !c.contains_key("type") {
        c.insert("type".to_owned(), Value::String("text".to_owned()));
    }
    Some(Value::Object(c))
}

/// Request parameters from an invocation-parameters JSON object (numbers may be strings).
pub(super) fn fill_params(p: &mut RequestParams, params: &Map<String, Value>) {
    let num = |keys: &[&str]| keys.iter().find_map(|k| params.get(*k).and_then(json_f64));
    let int = |keys: &[&str]| keys.iter().find_map(|k| params.get(*k).and_then(json_i64));
    set(&mut p.temperature, || num(&["temperature"]));
    set(&mut p.max_tokens, || {
        int(&[
            "max_tokens",
            "max_completion_tokens",
            "max_output_tokens",
            "max_tokens_to_sample",
        ])
    });
    set(&mut p.top_p, || num(&["top_p"]));
    set(&mut p.top_k, || num(&["top_k"]));
    set(&mut p.frequency_penalty, || num(&["frequency_penalty"]));
    set(&mut p.presence_penalty, || num(&["presence_penalty"]));
    set(&mut p.seed, || int(&["seed"]));
    set(&mut p.stream, || {
        params.get("stream").and_then(|v| match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    });
    if p.stop_sequences.is_empty() {
        p.stop_sequences = match params.get("stop_sequences").or_else(|| params.get("stop")) {
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
    }
}

fn json_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn json_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(crate::value::f64_to_i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Messages from a generic I/O value (`input.value`, `traceloop.entity.input`, ...): for JSON
/// (by mime type, or by shape when there is none) the messages it holds — a message list, a
/// `{messages}` request, a response message, an OpenAI `{choices}` response, or a JSON string;
/// otherwise, or when the JSON holds no message, the value as one text message.
pub(super) fn io_messages(
    v: &AttrValue,
    mime_type: Option<&str>,
    default_role: &str,
) -> Vec<Message> {
    let Some(text) = non_empty_str(v) else {
        // A structured OTLP value.
        return with_parts(parse_messages(v, default_role));
    };
    let is_json = match mime_type.map(str::trim) {
        Some(m) if m.eq_ignore_ascii_case("application/json") => true,
        Some(m) if m.eq_ignore_ascii_case("text/plain") => false,
        // No mime type: JSON containers and JSON string literals (`"text"`, as decorators dump
        // a returned string).
        _ => looks_like_json_container(text) || text.trim_start().starts_with('"'),
    };
    if is_json {
        if let Some(json) = parse_json_str(text) {
            let msgs = with_parts(messages_from_json(unwrap_choices(json), default_role));
            if !msgs.is_empty() {
                return msgs;
            }
        }
    }
    vec![Message::text(default_role, text)]
}

/// Only the messages that carry content (a request or response object that is not a message
/// parses into an empty one).
pub(super) fn with_parts(msgs: Vec<Message>) -> Vec<Message> {
    msgs.into_iter().filter(|m| !m.parts.is_empty()).collect()
}

/// An OpenAI chat-completion response (`{choices: [{message, finish_reason}]}`) → its choices.
fn unwrap_choices(json: Value) -> Value {
    match json {
        Value::Object(mut m) if !m.contains_key("role") && m.contains_key("choices") => {
            match m.remove("choices") {
                Some(choices @ Value::Array(_)) => choices,
                _ => Value::Object(m),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttrValue {
        AttrValue::Str(v.to_owned())
    }

    #[test]
    fn unflatten_orders_sparse_indices_and_builds_arrays() {
        let (a, b, c, d) = (s("a"), s("b"), s("c"), s("d"));
        let entries: Vec<Flat<'_>> = vec![
            ("10.message.role", &a),
            ("2.message.tool_calls.3.tool_call.id", &b),
            ("2.message.tool_calls.1.tool_call.id", &c),
            ("x.message.role", &d),
            ("0", &d),
        ];
        let out = unflatten(&entries);
        assert_eq!(out.len(), 2);
        assert_eq!(
            Value::Object(out[0].clone()),
            serde_json::json!({"message": {"tool_calls": [
                {"tool_call": {"id": "c"}}, {"tool_call": {"id": "b"}}
            ]}})
        );
        assert_eq!(out[1]["message"]["role"], "a");
    }

    #[test]
    fn kind_map() {
        assert_eq!(kind_for_openinference("LLM"), Some(SpanKind::Llm));
        assert_eq!(kind_for_openinference("reranker"), Some(SpanKind::Reranker));
        assert_eq!(kind_for_openinference("GUARDRAIL"), Some(SpanKind::Span));
        assert_eq!(kind_for_openinference("SOMETHING"), None);
    }

    #[test]
    fn markers() {
        assert!(is_marker("openinference.span.kind"));
        assert!(is_marker("llm.token_count.prompt"));
        assert!(is_marker("llm.input_messages.0.message.role"));
        assert!(!is_marker("llm.request.type"));
        assert!(!is_marker("llm.usage.total_tokens"));
        assert!(!is_marker("input.value"));
        assert!(!is_marker("gen_ai.request.model"));
    }

    #[test]
    fn total_derives_only_a_missing_side() {
        let mut u = Usage {
            output: Some(45),
            ..Usage::default()
        };
        fill_from_total(&mut u, Some(205));
        assert_eq!(u.input, Some(160));
        let mut u = Usage {
            input: Some(10),
            output: Some(2),
            ..Usage::default()
        };
        fill_from_total(&mut u, Some(99));
        assert_eq!((u.input, u.output), (Some(10), Some(2)));
    }
}
