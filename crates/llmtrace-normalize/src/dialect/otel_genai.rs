//! The OpenTelemetry GenAI conventions, every version from v1.26 to v1.41.1 plus the post-move
//! (`semantic-conventions-genai`) names.
//!
//! Per field, newer spellings win over older ones whatever the attribute order:
//! `gen_ai.provider.name` over `gen_ai.system`, `input_tokens` over `prompt_tokens`, and so on.
//! Span attributes win over the attributes of a `gen_ai.client.inference.operation.details`
//! event. Messages are taken from the first source that yields any, in this order:
//!
//! 1. `gen_ai.input.messages` / `gen_ai.output.messages` (span, then the operation-details event);
//! 2. per-message span events `gen_ai.{system,user,assistant,tool}.message` / `gen_ai.choice`
//!    (v1.28-v1.36), content in the event attributes;
//! 3. span events `gen_ai.content.prompt` / `gen_ai.content.completion` (v1.26-v1.27), carrying
//!    `gen_ai.prompt` / `gen_ai.completion` (or, OpenLIT 1.45, `gen_ai.input/output.messages`);
//! 4. `gen_ai.prompt` / `gen_ai.completion` span attributes (JSON `[{role, content}]`; other text
//!    is kept as one text message).
//!
//! The session is `session.id` (general registry), else `gen_ai.conversation.id` (reference §5.1
//! order). Token counts are inclusive in these conventions ([`InputCounting::IncludesCache`]).

use crate::alias::{canonical_finish_reason, canonical_provider};
use crate::keys;
use crate::kind::kind_for_operation;
use crate::messages::{message_from_json, parse_messages, parse_parts};
use crate::tokens::{InputCounting, OutputCounting, UsageCollector};
use crate::value::{
    finite_f64, id_string, is_blank, json_of, looks_like_json_container, non_empty_str,
    parse_json_str, string_list,
};
use crate::Dialect;
use llmtrace_model::{AttrValue, Attributes, GenAi, Message, Span, SpanEvent, SpanKind, Usage};
use llmtrace_semconv::{gen_ai, general};
use serde_json::{Map, Value};

/// The OpenTelemetry GenAI dialect (`gen_ai.*` attributes and events).
#[derive(Debug, Clone, Copy, Default)]
pub struct OtelGenAi;

/// Attribute prefix of the dialect.
const PREFIX: &str = "gen_ai.";
/// Prefix of the usage keys.
const USAGE_PREFIX: &str = "gen_ai.usage.";

impl Dialect for OtelGenAi {
    fn name(&self) -> &'static str {
        "otel_genai"
    }

    fn detect(&self, span: &Span) -> bool {
        span.attributes.iter().any(|kv| kv.key.starts_with(PREFIX))
            || span.events.iter().any(|e| e.name.starts_with(PREFIX))
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            attributes,
            events,
            gen_ai: g,
            usage,
            kind,
            ..
        } = span;
        let ev = EventIndex::build(events);
        let mut f = Found::default();
        f.scan(attributes);
        if let Some(e) = ev.details.and_then(|i| events.get(i)) {
            f.scan(&e.attributes);
        }
        f.fill_scalars(g, usage, kind);
        f.fill_messages(&ev, events, g);
    }
}

/// Where the content-carrying events are (first of each), found in one pass.
#[derive(Default)]
struct EventIndex {
    details: Option<usize>,
    content_prompt: Option<usize>,
    content_completion: Option<usize>,
    message_events: bool,
    choice_events: bool,
}

impl EventIndex {
    fn build(events: &[SpanEvent]) -> Self {
        let mut ix = EventIndex::default();
        for (i, e) in events.iter().enumerate() {
            match e.name.as_str() {
                gen_ai::EVENT_OPERATION_DETAILS => {
                    ix.details.get_or_insert(i);
                }
                gen_ai::EVENT_CONTENT_PROMPT => {
                    ix.content_prompt.get_or_insert(i);
                }
                gen_ai::EVENT_CONTENT_COMPLETION => {
                    ix.content_completion.get_or_insert(i);
                }
                keys::EVENT_SYSTEM_MESSAGE
                | keys::EVENT_USER_MESSAGE
                | keys::EVENT_ASSISTANT_MESSAGE
                | keys::EVENT_TOOL_MESSAGE => ix.message_events = true,
                keys::EVENT_CHOICE => ix.choice_events = true,
                _ => {}
            }
        }
        ix
    }
}

/// The first non-blank value of every key the dialect reads, found in one pass per attribute set.
#[derive(Default)]
struct Found<'a> {
    provider_name: Option<&'a AttrValue>,
    system: Option<&'a AttrValue>,
    operation: Option<&'a AttrValue>,
    request_model: Option<&'a AttrValue>,
    response_model: Option<&'a AttrValue>,
    response_id: Option<&'a AttrValue>,
    temperature: Option<&'a AttrValue>,
    max_tokens: Option<&'a AttrValue>,
    max_completion_tokens: Option<&'a AttrValue>,
    top_p: Option<&'a AttrValue>,
    top_k: Option<&'a AttrValue>,
    frequency_penalty: Option<&'a AttrValue>,
    presence_penalty: Option<&'a AttrValue>,
    seed: Option<&'a AttrValue>,
    openai_seed: Option<&'a AttrValue>,
    stop_sequences: Option<&'a AttrValue>,
    stream: Option<&'a AttrValue>,
    is_streaming: Option<&'a AttrValue>,
    finish_reasons: Option<&'a AttrValue>,
    ttft: Option<&'a AttrValue>,
    ttft_client: Option<&'a AttrValue>,
    ttft_server: Option<&'a AttrValue>,
    input_messages: Option<&'a AttrValue>,
    output_messages: Option<&'a AttrValue>,
    system_instructions: Option<&'a AttrValue>,
    prompt: Option<&'a AttrValue>,
    completion: Option<&'a AttrValue>,
    session_id: Option<&'a AttrValue>,
    conversation_id: Option<&'a AttrValue>,
    tool_name: Option<&'a AttrValue>,
    agent_name: Option<&'a AttrValue>,
    usage: UsageCollector,
}

fn offer<'a>(slot: &mut Option<&'a AttrValue>, v: &'a AttrValue) {
    if slot.is_none() && !is_blank(v) {
        *slot = Some(v);
    }
}

/// The first of `candidates` that converts.
fn first<'a, T: 'a>(
    candidates: &[Option<&'a AttrValue>],
    conv: impl Fn(&'a AttrValue) -> Option<T>,
) -> Option<T> {
    candidates.iter().flatten().find_map(|v| conv(v))
}

fn set_string(slot: &mut Option<String>, v: Option<&AttrValue>) {
    if slot.is_none() {
        *slot = v.and_then(non_empty_str).map(str::to_owned);
    }
}

fn set<T>(slot: &mut Option<T>, value: impl FnOnce() -> Option<T>) {
    if slot.is_none() {
        *slot = value();
    }
}

impl<'a> Found<'a> {
    /// One pass over an attribute set; values already found are kept.
    fn scan(&mut self, attrs: &'a Attributes) {
        for kv in attrs.iter() {
            let key = kv.key.as_str();
            let v = &kv.value;
            if !key.starts_with(PREFIX) {
                if key == general::SESSION_ID {
                    offer(&mut self.session_id, v);
                }
                continue;
            }
            let slot = match key {
                gen_ai::PROVIDER_NAME => &mut self.provider_name,
                gen_ai::SYSTEM => &mut self.system,
                gen_ai::OPERATION_NAME => &mut self.operation,
                gen_ai::REQUEST_MODEL => &mut self.request_model,
                gen_ai::RESPONSE_MODEL => &mut self.response_model,
                gen_ai::RESPONSE_ID => &mut self.response_id,
                gen_ai::REQUEST_TEMPERATURE => &mut self.temperature,
                gen_ai::REQUEST_MAX_TOKENS => &mut self.max_tokens,
                keys::REQUEST_MAX_COMPLETION_TOKENS => &mut self.max_completion_tokens,
                gen_ai::REQUEST_TOP_P => &mut self.top_p,
                gen_ai::REQUEST_TOP_K => &mut self.top_k,
                gen_ai::REQUEST_FREQUENCY_PENALTY => &mut self.frequency_penalty,
                gen_ai::REQUEST_PRESENCE_PENALTY => &mut self.presence_penalty,
                gen_ai::REQUEST_SEED => &mut self.seed,
                keys::OPENAI_REQUEST_SEED => &mut self.openai_seed,
                gen_ai::REQUEST_STOP_SEQUENCES => &mut self.stop_sequences,
                gen_ai::REQUEST_STREAM => &mut self.stream,
                keys::IS_STREAMING => &mut self.is_streaming,
                gen_ai::RESPONSE_FINISH_REASONS => &mut self.finish_reasons,
                gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK => &mut self.ttft,
                keys::CLIENT_TIME_TO_FIRST_CHUNK => &mut self.ttft_client,
                keys::SERVER_TIME_TO_FIRST_TOKEN => &mut self.ttft_server,
                gen_ai::INPUT_MESSAGES => &mut self.input_messages,
                gen_ai::OUTPUT_MESSAGES => &mut self.output_messages,
                gen_ai::SYSTEM_INSTRUCTIONS => &mut self.system_instructions,
                gen_ai::PROMPT => &mut self.prompt,
                gen_ai::COMPLETION => &mut self.completion,
                gen_ai::CONVERSATION_ID => &mut self.conversation_id,
                gen_ai::TOOL_NAME => &mut self.tool_name,
                gen_ai::AGENT_NAME => &mut self.agent_name,
                _ => {
                    if let Some(suffix) = key.strip_prefix(USAGE_PREFIX) {
                        self.usage.offer_gen_ai_usage(suffix, v);
                    }
                    continue;
                }
            };
            offer(slot, v);
        }
    }

    /// Fills every non-message field that is still unset.
    fn fill_scalars(&self, g: &mut GenAi, usage: &mut Usage, kind: &mut SpanKind) {
        if g.provider.is_none() {
            if let Some(raw) = first(&[self.provider_name, self.system], non_empty_str) {
                let raw = raw.trim();
                match canonical_provider(raw) {
                    Some(canonical) => {
                        if canonical != raw && g.provider_raw.is_none() {
                            g.provider_raw = Some(raw.to_owned());
                        }
                        g.provider = Some(canonical.into_owned());
                    }
                    None => {
                        g.provider_raw.get_or_insert_with(|| raw.to_owned());
                    }
                }
            }
        }

        set_string(&mut g.operation, self.operation);
        if *kind == SpanKind::Span {
            if let Some(k) = self
                .operation
                .and_then(non_empty_str)
                .and_then(kind_for_operation)
            {
                *kind = k;
            }
        }
        set_string(&mut g.request_model, self.request_model);
        set_string(&mut g.response_model, self.response_model);
        set_string(&mut g.response_id, self.response_id);
        set_string(&mut g.tool_name, self.tool_name);
        set_string(&mut g.agent_name, self.agent_name);
        set(&mut g.session_id, || {
            first(&[self.session_id, self.conversation_id], id_string)
        });

        let p = &mut g.params;
        set(&mut p.temperature, || {
            first(&[self.temperature], finite_f64)
        });
        set(&mut p.max_tokens, || {
            first(
                &[self.max_tokens, self.max_completion_tokens],
                AttrValue::as_i64,
            )
        });
        set(&mut p.top_p, || first(&[self.top_p], finite_f64));
        set(&mut p.top_k, || first(&[self.top_k], finite_f64));
        set(&mut p.frequency_penalty, || {
            first(&[self.frequency_penalty], finite_f64)
        });
        set(&mut p.presence_penalty, || {
            first(&[self.presence_penalty], finite_f64)
        });
        set(&mut p.seed, || {
            first(&[self.seed, self.openai_seed], AttrValue::as_i64)
        });
        set(&mut p.stream, || {
            first(&[self.stream, self.is_streaming], AttrValue::as_bool)
        });
        if p.stop_sequences.is_empty() {
            if let Some(v) = self.stop_sequences {
                p.stop_sequences = string_list(v);
            }
        }

        if g.finish_reasons.is_empty() {
            if let Some(v) = self.finish_reasons {
                g.finish_reasons = string_list(v)
                    .iter()
                    .filter_map(|r| canonical_finish_reason(r))
                    .collect();
            }
        }
        set(&mut g.time_to_first_token_s, || {
            first(&[self.ttft, self.ttft_client, self.ttft_server], |v| {
                finite_f64(v).filter(|s| *s >= 0.0)
            })
        });

        self.usage.fill(
            usage,
            InputCounting::IncludesCache,
            OutputCounting::IncludesReasoning,
        );
    }

    /// Fills the message fields that are still empty, from the first source that yields any.
    fn fill_messages(&self, ev: &EventIndex, events: &[SpanEvent], g: &mut GenAi) {
        if g.input_messages.is_empty() {
            g.input_messages = resolve_messages(
                self.input_messages,
                ev.message_events.then(|| input_events(events)),
                ev.content_prompt
                    .and_then(|i| events.get(i))
                    .map(|e| &e.attributes)
                    .and_then(|a| {
                        a.get(gen_ai::PROMPT)
                            .or_else(|| a.get(gen_ai::INPUT_MESSAGES))
                    }),
                self.prompt,
                "user",
            );
        }
        if g.output_messages.is_empty() {
            g.output_messages = resolve_messages(
                self.output_messages,
                ev.choice_events.then(|| choice_events(events)),
                ev.content_completion
                    .and_then(|i| events.get(i))
                    .map(|e| &e.attributes)
                    .and_then(|a| {
                        a.get(gen_ai::COMPLETION)
                            .or_else(|| a.get(gen_ai::OUTPUT_MESSAGES))
                    }),
                self.completion,
                "assistant",
            );
        }
        if g.system_instructions.is_empty() {
            if let Some(v) = self.system_instructions {
                g.system_instructions = parse_parts(v);
            }
        }
    }
}

/// Messages from the first source that yields any (see the module docs for the order).
fn resolve_messages(
    attribute: Option<&AttrValue>,
    from_events: Option<Vec<Message>>,
    content_event: Option<&AttrValue>,
    legacy_attribute: Option<&AttrValue>,
    default_role: &str,
) -> Vec<Message> {
    if let Some(v) = attribute {
        let msgs = parse_messages(v, default_role);
        if !msgs.is_empty() {
            return msgs;
        }
    }
    if let Some(msgs) = from_events {
        if !msgs.is_empty() {
            return msgs;
        }
    }
    for v in [content_event, legacy_attribute].into_iter().flatten() {
        let msgs = parse_messages_or_text(v, default_role);
        if !msgs.is_empty() {
            return msgs;
        }
    }
    Vec::new()
}

/// Legacy prompt/completion values: JSON messages, else the text itself as one message.
fn parse_messages_or_text(v: &AttrValue, default_role: &str) -> Vec<Message> {
    let msgs = parse_messages(v, default_role);
    if !msgs.is_empty() {
        return msgs;
    }
    match non_empty_str(v) {
        Some(text) => vec![Message::text(default_role, text)],
        None => Vec::new(),
    }
}

/// Input messages from the v1.28 per-message span events, in event order.
fn input_events(events: &[SpanEvent]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| {
            let role = match e.name.as_str() {
                keys::EVENT_SYSTEM_MESSAGE => "system",
                keys::EVENT_USER_MESSAGE => "user",
                keys::EVENT_ASSISTANT_MESSAGE => "assistant",
                keys::EVENT_TOOL_MESSAGE => "tool",
                _ => return None,
            };
            message_from_json(event_body(&e.attributes), role).filter(|m| !m.parts.is_empty())
        })
        .collect()
}

/// Output messages from the v1.28 `gen_ai.choice` span events, ordered by their `index`.
fn choice_events(events: &[SpanEvent]) -> Vec<Message> {
    let mut choices: Vec<(i64, Message)> = events
        .iter()
        .filter(|e| e.name == keys::EVENT_CHOICE)
        .enumerate()
        .filter_map(|(pos, e)| {
            let body = event_body(&e.attributes);
            let index = body
                .get("index")
                .and_then(|i| i.as_i64().or_else(|| i.as_str()?.parse().ok()))
                .unwrap_or(i64::try_from(pos).unwrap_or(i64::MAX));
            message_from_json(body, "assistant")
                .filter(|m| !m.parts.is_empty() || m.finish_reason.is_some())
                .map(|m| (index, m))
        })
        .collect();
    choices.sort_by_key(|(index, _)| *index);
    choices.into_iter().map(|(_, m)| m).collect()
}

/// The body of a per-message event rebuilt from its attributes: the whole body under
/// `gen_ai.event.content` (Azure AI Inference), else every attribute but the provider keys, with
/// `tool_calls` / `message` JSON texts decoded.
fn event_body(attrs: &Attributes) -> Value {
    if let Some(body @ Value::Object(_)) = attrs.get(keys::EVENT_CONTENT).and_then(json_of) {
        return body;
    }
    let mut m = Map::new();
    for kv in attrs.iter() {
        let k = kv.key.as_str();
        if matches!(
            k,
            gen_ai::SYSTEM | gen_ai::PROVIDER_NAME | "event.name" | keys::EVENT_CONTENT
        ) {
            continue;
        }
        let v = match (&kv.value, k) {
            (AttrValue::Str(s), "tool_calls" | "message") if looks_like_json_container(s) => {
                parse_json_str(s).unwrap_or_else(|| Value::String(s.clone()))
            }
            (other, _) => other.to_json(),
        };
        m.insert(k.to_owned(), v);
    }
    Value::Object(m)
}
