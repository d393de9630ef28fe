//! Vercel AI SDK (`ai` package, instrumentation scope `ai`): the `ai.*` attributes (reference
//! §4.1).
//!
//! * Kind from `ai.operationId`: the provider-call spans `ai.*.doGenerate` / `ai.*.doStream` are
//!   llm calls, `ai.embed.doEmbed` / `ai.embedMany.doEmbed` embeddings, `ai.toolCall` a tool; every
//!   other `ai.*` operation (the outer `ai.generateText`, `ai.streamText`, `ai.generateObject`,
//!   `ai.streamObject`, `ai.embed`, `ai.embedMany` spans) is a **chain**: it repeats the usage of
//!   its `do*` children, so its usage is kept for display but never counted. The operation id is
//!   kept as the operation. AI SDK 7 (`@ai-sdk/otel`) `agent_step` spans are agents, for the same
//!   reason.
//! * Provider from `ai.model.provider` (`openai.chat`, `anthropic.messages`, ...: the alias table,
//!   else the text before the first `.`), models from `ai.model.id` / `ai.response.model`.
//! * Usage from `ai.usage.*` (v6 `inputTokens` / `outputTokens` / `inputTokenDetails.*` /
//!   `outputTokenDetails.reasoningTokens`; older `promptTokens` / `completionTokens` /
//!   `cachedInputTokens` / `reasoningTokens`; `tokens` for embeddings), then `gen_ai.usage.*`, then
//!   `ai.response.providerMetadata` (Anthropic / OpenAI / Bedrock cache and reasoning counts, the
//!   Anthropic 1-hour cache writes). Reference §5.4: v6 input counts (recognized by
//!   `ai.usage.inputTokens` or any `*TokenDetails.*` key) include the cache; older input counts
//!   come from the provider package and are taken as cache-**exclusive** for Anthropic and Bedrock
//!   when cache counts are present, inclusive otherwise.
//! * Messages: `ai.prompt.messages` (the `do*` spans), else `ai.prompt` (`{system, prompt,
//!   messages}` on the outer spans); output = one assistant message from `ai.response.reasoning`,
//!   `ai.response.text` and `ai.response.toolCalls` (else `ai.response.object`), pre-4.0
//!   `ai.result.*` too; AI SDK part types (`tool-call`, `tool-result`) are converted.
//! * `ai.response.finishReason` (AI SDK values, mapped), `ai.response.msToFirstChunk` (ms → s;
//!   older `ai.stream.msToFirstChunk`), `ai.response.id`, `ai.toolCall.name`.
//! * Parameters from `ai.settings.*` (`maxOutputTokens` / v4 `maxTokens`, `temperature`, `topP`,
//!   `topK`, `presencePenalty`, `frequencyPenalty`, `stopSequences`, `seed`); streaming from the
//!   operation id.
//! * `ai.telemetry.metadata.userId` / `.sessionId`, after `user.id` / `enduser.id` and
//!   `session.id` / `gen_ai.conversation.id` (reference §5.1 order).

use super::langfuse::{fill_provider, json_count};
use crate::alias::{canonical_finish_reason, canonical_provider};
use crate::messages::{messages_from_json, normalize_arguments};
use crate::tokens::{UsageCollector, UsageField};
use crate::value::{finite_f64, id_string, is_blank, json_of, non_empty_str, string_list};
use crate::Dialect;
use llmtrace_model::{AttrValue, GenAi, Message, MessagePart, Span, SpanKind, Usage};
use llmtrace_semconv::{gen_ai, general};
use serde_json::{Map, Value};

/// The Vercel AI SDK dialect (`ai.*` attributes).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct VercelAi;

const SCOPE: &str = "ai";
const OPERATION_ID: &str = "ai.operationId";
const AGENT_STEP: &str = "agent_step";
const USAGE_PREFIX: &str = "ai.usage.";
const SETTINGS_PREFIX: &str = "ai.settings.";
const GEN_AI_USAGE_PREFIX: &str = "gen_ai.usage.";

/// `ai.usage.*` spellings (suffix), with their field and rank (lower wins).
const AI_USAGE_KEYS: &[(&str, UsageField, u8)] = &[
    ("inputTokens", UsageField::Input, 0),
    ("promptTokens", UsageField::Input, 1),
    ("tokens", UsageField::Input, 2),
    ("outputTokens", UsageField::Output, 0),
    ("completionTokens", UsageField::Output, 1),
    (
        "inputTokenDetails.cacheReadTokens",
        UsageField::CacheRead,
        0,
    ),
    ("cachedInputTokens", UsageField::CacheRead, 1),
    (
        "inputTokenDetails.cacheWriteTokens",
        UsageField::CacheWrite,
        0,
    ),
    (
        "outputTokenDetails.reasoningTokens",
        UsageField::Reasoning,
        0,
    ),
    ("reasoningTokens", UsageField::Reasoning, 1),
];

/// Vercel provider-id prefixes the shared alias table does not know.
const PROVIDER_PREFIXES: &[(&str, &str)] = &[("vertex", "gcp.vertex_ai")];

impl Dialect for VercelAi {
    fn name(&self) -> &'static str {
        "vercel_ai"
    }

    fn detect(&self, span: &Span) -> bool {
        span.scope_name == SCOPE
            || span.attributes.iter().any(|kv| {
                kv.key == OPERATION_ID
                    || (kv.key == gen_ai::OPERATION_NAME && kv.value.as_str() == Some(AGENT_STEP))
            })
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            attributes,
            gen_ai: g,
            usage,
            kind,
            ..
        } = span;
        let mut f = Found::default();
        for kv in attributes.iter() {
            f.offer(kv.key.as_str(), &kv.value);
        }

        // Kind, operation, streaming.
        let op = f.operation_id.and_then(non_empty_str).map(str::trim);
        let op_kind = op.and_then(kind_for_operation_id).or_else(|| {
            f.gen_operation
                .is_some_and(|o| o == AGENT_STEP)
                .then_some(SpanKind::Agent)
        });
        if *kind == SpanKind::Span {
            if let Some(k) = op_kind {
                *kind = k;
            }
        }
        if g.operation.is_none() {
            g.operation = op.map(str::to_owned);
        }
        if g.params.stream.is_none() {
            g.params.stream = op.and_then(streaming);
        }

        // Provider and models.
        if let Some(raw) = f.provider.and_then(non_empty_str) {
            fill_vercel_provider(g, raw);
        }
        set_string(&mut g.request_model, f.model_id);
        set_string(&mut g.response_model, f.response_model);
        set_string(&mut g.response_id, f.response_id);
        set_string(&mut g.tool_name, f.tool_name);

        // Usage.
        let provider_metadata = f.provider_metadata.and_then(json_of);
        let provider = g.provider.clone().or_else(|| {
            f.gen_provider
                .and_then(non_empty_str)
                .and_then(|p| canonical_provider(p).map(|c| c.into_owned()))
        });
        fill_usage(&f, provider_metadata.as_ref(), provider.as_deref(), usage);

        // Messages.
        if g.input_messages.is_empty() {
            if let Some(v) = f.prompt_messages {
                g.input_messages = vercel_messages(v, "user");
            }
        }
        if g.input_messages.is_empty() {
            if let Some(v) = f.prompt {
                fill_prompt(v, g);
            }
        }
        let finish_reason = f
            .finish_reason
            .and_then(non_empty_str)
            .and_then(canonical_finish_reason);
        if g.output_messages.is_empty() {
            if let Some(m) = output_message(&f, finish_reason.clone()) {
                g.output_messages = vec![m];
            }
        }
        if g.finish_reasons.is_empty() {
            if let Some(r) = finish_reason {
                g.finish_reasons = vec![r];
            }
        }

        // Time to first chunk, parameters, user and session.
        if g.time_to_first_token_s.is_none() {
            g.time_to_first_token_s = f
                .ms_to_first_chunk
                .and_then(finite_f64)
                .filter(|ms| *ms >= 0.0)
                .map(|ms| ms / 1000.0);
        }
        f.fill_params(g);
        if g.user_id.is_none() && !f.has_user_attr {
            g.user_id = f.user_id.and_then(id_string);
        }
        if g.session_id.is_none() && !f.has_session_attr {
            g.session_id = f.session_id.and_then(id_string);
        }
    }
}

/// Kind of an `ai.operationId`; `None` for values outside the `ai.` namespace.
fn kind_for_operation_id(op: &str) -> Option<SpanKind> {
    if !op.starts_with("ai.") {
        return None;
    }
    Some(if op == "ai.toolCall" {
        SpanKind::Tool
    } else if op.ends_with(".doEmbed") {
        SpanKind::Embedding
    } else if op.ends_with(".doGenerate") || op.ends_with(".doStream") {
        SpanKind::Llm
    } else {
        // Outer spans aggregate their provider calls.
        SpanKind::Chain
    })
}

/// Whether an operation streams (`streamText`, `doStream`) or not (`generateText`, `doGenerate`).
fn streaming(op: &str) -> Option<bool> {
    if op.contains("stream") || op.contains("Stream") {
        Some(true)
    } else if op.contains("generate") || op.contains("Generate") {
        Some(false)
    } else {
        None
    }
}

/// Provider from a Vercel provider id: the alias table (`openai.chat` → `openai`,
/// `google.vertex.chat` → `gcp.vertex_ai`), else the text before the first `.`.
fn fill_vercel_provider(g: &mut GenAi, raw: &str) {
    let raw = raw.trim();
    let lower = raw.to_ascii_lowercase();
    let known = canonical_provider(raw).is_some_and(|c| c != lower);
    if known || !raw.contains('.') {
        fill_provider(g, raw);
        return;
    }
    let head = lower.split('.').next().unwrap_or_default();
    let canonical = PROVIDER_PREFIXES
        .iter()
        .find(|(p, _)| *p == head)
        .map(|(_, c)| (*c).to_owned())
        .or_else(|| canonical_provider(head).map(|c| c.into_owned()));
    if g.provider.is_none() {
        if let Some(c) = canonical {
            g.provider = Some(c);
            g.provider_raw.get_or_insert_with(|| raw.to_owned());
        }
    }
}

fn set_string(slot: &mut Option<String>, v: Option<&AttrValue>) {
    if slot.is_none() {
        *slot = v.and_then(non_empty_str).map(|s| s.trim().to_owned());
    }
}

/// Everything the dialect reads, found in one pass.
#[derive(Default)]
struct Found<'a> {
    operation_id: Option<&'a AttrValue>,
    gen_operation: Option<&'a str>,
    provider: Option<&'a AttrValue>,
    gen_provider: Option<&'a AttrValue>,
    model_id: Option<&'a AttrValue>,
    response_model: Option<&'a AttrValue>,
    response_id: Option<&'a AttrValue>,
    provider_metadata: Option<&'a AttrValue>,
    prompt_messages: Option<&'a AttrValue>,
    prompt: Option<&'a AttrValue>,
    response_text: Option<&'a AttrValue>,
    response_tool_calls: Option<&'a AttrValue>,
    response_object: Option<&'a AttrValue>,
    response_reasoning: Option<&'a AttrValue>,
    finish_reason: Option<&'a AttrValue>,
    ms_to_first_chunk: Option<&'a AttrValue>,
    user_id: Option<&'a AttrValue>,
    session_id: Option<&'a AttrValue>,
    tool_name: Option<&'a AttrValue>,
    temperature: Option<&'a AttrValue>,
    max_output_tokens: Option<&'a AttrValue>,
    max_tokens: Option<&'a AttrValue>,
    top_p: Option<&'a AttrValue>,
    top_k: Option<&'a AttrValue>,
    presence_penalty: Option<&'a AttrValue>,
    frequency_penalty: Option<&'a AttrValue>,
    stop_sequences: Option<&'a AttrValue>,
    seed: Option<&'a AttrValue>,
    ai_usage: UsageCollector,
    gen_usage: UsageCollector,
    no_cache: Option<u64>,
    /// v6 usage keys seen (input counts are cache-inclusive).
    v6_usage: bool,
    has_user_attr: bool,
    has_session_attr: bool,
}

fn offer<'a>(slot: &mut Option<&'a AttrValue>, v: &'a AttrValue) {
    if slot.is_none() && !is_blank(v) {
        *slot = Some(v);
    }
}

impl<'a> Found<'a> {
    fn offer(&mut self, key: &str, v: &'a AttrValue) {
        let slot = match key {
            OPERATION_ID => &mut self.operation_id,
            "ai.model.provider" => &mut self.provider,
            "ai.model.id" => &mut self.model_id,
            "ai.response.model" => &mut self.response_model,
            "ai.response.id" => &mut self.response_id,
            "ai.response.providerMetadata" => &mut self.provider_metadata,
            "ai.prompt.messages" => &mut self.prompt_messages,
            "ai.prompt" => &mut self.prompt,
            "ai.response.text" | "ai.result.text" => &mut self.response_text,
            "ai.response.toolCalls" | "ai.result.toolCalls" => &mut self.response_tool_calls,
            "ai.response.object" | "ai.result.object" => &mut self.response_object,
            "ai.response.reasoning" => &mut self.response_reasoning,
            "ai.response.finishReason" | "ai.finishReason" => &mut self.finish_reason,
            "ai.response.msToFirstChunk" | "ai.stream.msToFirstChunk" => {
                &mut self.ms_to_first_chunk
            }
            "ai.telemetry.metadata.userId" => &mut self.user_id,
            "ai.telemetry.metadata.sessionId" => &mut self.session_id,
            "ai.toolCall.name" => &mut self.tool_name,
            gen_ai::SYSTEM | gen_ai::PROVIDER_NAME => &mut self.gen_provider,
            gen_ai::OPERATION_NAME => {
                if self.gen_operation.is_none() {
                    self.gen_operation = non_empty_str(v);
                }
                return;
            }
            general::USER_ID | general::ENDUSER_ID => {
                self.has_user_attr |= !is_blank(v);
                return;
            }
            general::SESSION_ID | gen_ai::CONVERSATION_ID => {
                self.has_session_attr |= !is_blank(v);
                return;
            }
            _ => {
                if let Some(suffix) = key.strip_prefix(USAGE_PREFIX) {
                    self.offer_usage(suffix, v);
                } else if let Some(suffix) = key.strip_prefix(GEN_AI_USAGE_PREFIX) {
                    self.gen_usage.offer_gen_ai_usage(suffix, v);
                } else if let Some(setting) = key.strip_prefix(SETTINGS_PREFIX) {
                    let slot = match setting {
                        "temperature" => &mut self.temperature,
                        "maxOutputTokens" => &mut self.max_output_tokens,
                        "maxTokens" => &mut self.max_tokens,
                        "topP" => &mut self.top_p,
                        "topK" => &mut self.top_k,
                        "presencePenalty" => &mut self.presence_penalty,
                        "frequencyPenalty" => &mut self.frequency_penalty,
                        "stopSequences" => &mut self.stop_sequences,
                        "seed" => &mut self.seed,
                        _ => return,
                    };
                    offer(slot, v);
                }
                return;
            }
        };
        offer(slot, v);
    }

    fn offer_usage(&mut self, suffix: &str, v: &AttrValue) {
        if suffix == "inputTokens"
            || suffix.starts_with("inputTokenDetails.")
            || suffix.starts_with("outputTokenDetails.")
        {
            self.v6_usage |= !is_blank(v);
        }
        if suffix == "inputTokenDetails.noCacheTokens" {
            if self.no_cache.is_none() {
                self.no_cache = crate::value::token_count(v);
            }
            return;
        }
        if let Some((_, field, rank)) = AI_USAGE_KEYS.iter().find(|(k, _, _)| *k == suffix) {
            self.ai_usage.offer(*field, *rank, v);
        }
    }

    fn fill_params(&self, g: &mut GenAi) {
        let p = &mut g.params;
        if p.temperature.is_none() {
            p.temperature = self.temperature.and_then(finite_f64);
        }
        if p.max_tokens.is_none() {
            p.max_tokens = [self.max_output_tokens, self.max_tokens]
                .into_iter()
                .flatten()
                .find_map(AttrValue::as_i64);
        }
        if p.top_p.is_none() {
            p.top_p = self.top_p.and_then(finite_f64);
        }
        if p.top_k.is_none() {
            p.top_k = self.top_k.and_then(finite_f64);
        }
        if p.presence_penalty.is_none() {
            p.presence_penalty = self.presence_penalty.and_then(finite_f64);
        }
        if p.frequency_penalty.is_none() {
            p.frequency_penalty = self.frequency_penalty.and_then(finite_f64);
        }
        if p.seed.is_none() {
            p.seed = self.seed.and_then(AttrValue::as_i64);
        }
        if p.stop_sequences.is_empty() {
            if let Some(v) = self.stop_sequences {
                p.stop_sequences = string_list(v);
            }
        }
    }
}

/// Cache and reasoning counts from `ai.response.providerMetadata`.
#[derive(Default)]
struct MetadataCounts {
    cache_read: Option<u64>,
    cache_write: Option<u64>,
    cache_write_1h: Option<u64>,
    reasoning: Option<u64>,
}

fn metadata_counts(pm: &Value) -> MetadataCounts {
    let at = |path: &[&str]| -> Option<u64> {
        path.iter()
            .try_fold(pm, |v, k| v.get(*k))
            .and_then(json_count)
    };
    MetadataCounts {
        cache_read: at(&["anthropic", "usage", "cache_read_input_tokens"])
            .or_else(|| at(&["anthropic", "cacheReadInputTokens"]))
            .or_else(|| at(&["openai", "cachedPromptTokens"]))
            .or_else(|| at(&["bedrock", "usage", "cacheReadInputTokens"])),
        cache_write: at(&["anthropic", "usage", "cache_creation_input_tokens"])
            .or_else(|| at(&["anthropic", "cacheCreationInputTokens"]))
            .or_else(|| at(&["bedrock", "usage", "cacheWriteInputTokens"])),
        cache_write_1h: at(&[
            "anthropic",
            "usage",
            "cache_creation",
            "ephemeral_1h_input_tokens",
        ]),
        reasoning: at(&["openai", "reasoningTokens"]),
    }
}

/// Resolves the usage per reference §5.4 and fills the fields still unset.
fn fill_usage(
    f: &Found<'_>,
    provider_metadata: Option<&Value>,
    provider: Option<&str>,
    usage: &mut Usage,
) {
    let pm = provider_metadata.map(metadata_counts).unwrap_or_default();
    let pick = |field: UsageField| f.ai_usage.get(field).or_else(|| f.gen_usage.get(field));
    let cache_read = pick(UsageField::CacheRead).or(pm.cache_read);
    let cache_write = pick(UsageField::CacheWrite).or(pm.cache_write);
    let reasoning = pick(UsageField::Reasoning).or(pm.reasoning);
    let cached = cache_read
        .unwrap_or(0)
        .saturating_add(cache_write.unwrap_or(0));

    let input = if f.v6_usage {
        // v6: totals include the cache; rebuild from the breakdown when the total is missing.
        pick(UsageField::Input).or_else(|| f.no_cache.map(|n| n.saturating_add(cached)))
    } else {
        let exclusive = cached > 0 && matches!(provider, Some("anthropic" | "aws.bedrock"));
        pick(UsageField::Input).map(|n| {
            if exclusive {
                n.saturating_add(cached)
            } else {
                n
            }
        })
    };
    let fill = |slot: &mut Option<u64>, v: Option<u64>| {
        if slot.is_none() {
            *slot = v;
        }
    };
    fill(&mut usage.input, input);
    fill(&mut usage.output, pick(UsageField::Output));
    fill(&mut usage.cache_read, cache_read);
    fill(&mut usage.cache_write, cache_write);
    fill(&mut usage.reasoning, reasoning);
    if usage.cache_write_1h.is_none() {
        usage.cache_write_1h = pm
            .cache_write_1h
            .map(|h| usage.cache_write.map_or(h, |w| h.min(w)));
    }
}

/// AI SDK messages (`ai.prompt.messages`): AI SDK part types are rewritten to the OTel ones, then
/// parsed like any message list.
fn vercel_messages(v: &AttrValue, default_role: &str) -> Vec<Message> {
    match json_of(v) {
        Some(json) => messages_from_json(convert_parts(json), default_role)
            .into_iter()
            .filter(|m| !m.parts.is_empty())
            .collect(),
        None => Vec::new(),
    }
}

/// Rewrites AI SDK content parts in place: `tool-call` → `tool_call`, `tool-result` →
/// `tool_call_response` (unwrapping v5 `{type, value}` outputs); recurses through arrays and
/// message `content`.
fn convert_parts(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(convert_parts).collect()),
        Value::Object(mut m) => {
            match m.get("type").and_then(Value::as_str) {
                Some("tool-call") => return Value::Object(tool_call_part(&m)),
                Some("tool-result") => {
                    let mut out = Map::new();
                    out.insert("type".into(), "tool_call_response".into());
                    if let Some(id) = m.get("toolCallId").cloned() {
                        out.insert("id".into(), id);
                    }
                    let response = m
                        .remove("output")
                        .or_else(|| m.remove("result"))
                        .map(unwrap_tool_output)
                        .unwrap_or(Value::Null);
                    out.insert("response".into(), response);
                    return Value::Object(out);
                }
                _ => {}
            }
            if let Some(content) = m.remove("content") {
                m.insert("content".into(), convert_parts(content));
            }
            Value::Object(m)
        }
        other => other,
    }
}

/// A v5 tool output `{type: "json" | "text" | ..., value}` → its value.
fn unwrap_tool_output(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.contains_key("type") && m.contains_key("value") => {
            m.remove("value").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// An AI SDK tool call (`{toolCallId, toolName, args | input}`) as an OTel `tool_call` part.
fn tool_call_part(m: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("type".into(), "tool_call".into());
    if let Some(id) = m.get("toolCallId").cloned() {
        out.insert("id".into(), id);
    }
    if let Some(name) = m.get("toolName").cloned() {
        out.insert("name".into(), name);
    }
    if let Some(args) = m
        .get("input")
        .or_else(|| m.get("args"))
        .cloned()
        .and_then(normalize_arguments)
    {
        out.insert("arguments".into(), args);
    }
    out
}

/// `ai.prompt` (outer spans): `{system?, prompt?, messages?}`.
fn fill_prompt(v: &AttrValue, g: &mut GenAi) {
    let Some(Value::Object(m)) = json_of(v) else {
        return;
    };
    if g.system_instructions.is_empty() {
        if let Some(system) = m
            .get("system")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            g.system_instructions = vec![MessagePart::Text {
                content: system.to_owned(),
            }];
        }
    }
    let mut msgs = Vec::new();
    match m.get("prompt") {
        Some(Value::String(p)) if !p.is_empty() => msgs.push(Message::text("user", p.clone())),
        Some(p @ Value::Array(_)) => {
            msgs.extend(messages_from_json(convert_parts(p.clone()), "user"))
        }
        _ => {}
    }
    if let Some(list) = m.get("messages") {
        msgs.extend(messages_from_json(convert_parts(list.clone()), "user"));
    }
    msgs.retain(|m| !m.parts.is_empty());
    g.input_messages = msgs;
}

/// One assistant message from the response attributes, or `None` when there is no output.
fn output_message(f: &Found<'_>, finish_reason: Option<String>) -> Option<Message> {
    let mut parts = Vec::new();
    if let Some(r) = f.response_reasoning.and_then(non_empty_str) {
        parts.push(MessagePart::Reasoning {
            content: r.to_owned(),
        });
    }
    if let Some(t) = f
        .response_text
        .and_then(|v| v.as_str())
        .filter(|t| !t.is_empty())
    {
        parts.push(MessagePart::Text {
            content: t.to_owned(),
        });
    }
    if let Some(Value::Array(calls)) = f.response_tool_calls.and_then(json_of) {
        for call in calls {
            if let Value::Object(m) = call {
                let part = tool_call_part(&m);
                if part.get("name").is_some_and(Value::is_string) {
                    parts.push(crate::messages::part_from_json(Value::Object(part)));
                }
            }
        }
    }
    if !parts
        .iter()
        .any(|p| matches!(p, MessagePart::Text { .. } | MessagePart::ToolCall { .. }))
    {
        if let Some(obj) = f.response_object.and_then(non_empty_str) {
            parts.push(MessagePart::Text {
                content: obj.to_owned(),
            });
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(Message {
        role: "assistant".into(),
        parts,
        name: None,
        finish_reason,
    })
}
