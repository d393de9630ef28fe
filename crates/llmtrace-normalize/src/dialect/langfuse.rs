//! Langfuse SDK attributes (`langfuse.*`, instrumentation scope `langfuse-sdk`), plus the helpers
//! the framework dialects share (generic input/output blobs, raw usage objects, JSON numbers).
//!
//! What the Langfuse SDKs send (reference §4.4, wire notes):
//!
//! * `langfuse.observation.type` → kind: `generation` → llm, `embedding`, `retriever`, `tool`,
//!   `agent`, `chain` as named; `span`, `event`, `guardrail`, `evaluator` → plain span. A `span`
//!   (or untyped) observation that carries generation keys (model, usage, cost, completion start,
//!   model parameters) is an llm call, like the Langfuse server's fix-up for Python SDK ≤ 3.3.
//!   The raw type is kept as the operation.
//! * `.model.name` → request model (Langfuse has one model field); `.model.parameters` (JSON) →
//!   request parameters, non-finite values such as `"max_tokens": "Infinity"` ignored.
//! * `.usage_details` (JSON) → usage. Langfuse's own convention is **exclusive**: `input` excludes
//!   the cache keys and `output` excludes reasoning, so both are added back. The OpenAI drop-in
//!   passes the raw OpenAI usage object instead (`prompt_tokens`, nested `*_details`; inclusive);
//!   raw Anthropic objects (`input_tokens` + `cache_*_input_tokens`; exclusive) and LangChain
//!   `usage_metadata` (inclusive) are recognized too ([`usage_from_object`]).
//! * `.cost_details` (JSON, `total`, else the sum of the parts) → reported cost.
//! * `.input` / `.output` (JSON strings) → messages, only when the span has no structured message
//!   keys (`gen_ai.input.messages`, `ai.prompt.messages`, flattened `llm.input_messages.*`, ...),
//!   which are preferred over generic I/O blobs (reference §5.1).
//! * `.level` = `ERROR` (or `FATAL` / `CRITICAL`) → error class (`error.type`, else the exception
//!   event's type, else `ERROR`); `.status_message` → the span status message when empty. The span
//!   status itself is never changed.
//! * `.completion_start_time` (ISO-8601, sometimes JSON-quoted) → time to first token, relative to
//!   the span start.
//! * user: `user.id` → `langfuse.user.id` → metadata `langfuse_user_id`; session: `session.id` →
//!   `langfuse.session.id` → `gen_ai.conversation.id` → metadata `langfuse_session_id`. Metadata
//!   values are JSON-encoded (`'"acme"'`) and decoded. Keys read by the generic fallbacks
//!   (`user.id`, `session.id`, ...) are only used to keep that order.
//! * tool / agent observations are named by the span (observation) name.
//!
//! `langfuse.trace.*` (name, tags, input/output), environment, release and prompt links have no
//! normalized field; they stay in the attributes.

use crate::alias::{canonical_finish_reason, canonical_provider};
use crate::messages::{message_from_json, normalize_arguments};
use crate::tokens::{InputCounting, OutputCounting, UsageCollector, UsageField};
use crate::value::{id_string, is_blank, json_of, non_empty_str};
use crate::Dialect;
use llmtrace_model::{
    AttrValue, GenAi, Message, Money, RequestParams, Span, SpanEvent, SpanKind, StatusCode, Usage,
};
use llmtrace_semconv::{gen_ai, general};
use serde_json::{Map, Value};

/// The Langfuse SDK dialect (`langfuse.*` attributes).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Langfuse;

const PREFIX: &str = "langfuse.";
const SCOPE: &str = "langfuse-sdk";
const OBSERVATION_TYPE: &str = "langfuse.observation.type";
const MODEL_NAME: &str = "langfuse.observation.model.name";
const MODEL_PARAMETERS: &str = "langfuse.observation.model.parameters";
const USAGE_DETAILS: &str = "langfuse.observation.usage_details";
const COST_DETAILS: &str = "langfuse.observation.cost_details";
const INPUT: &str = "langfuse.observation.input";
const OUTPUT: &str = "langfuse.observation.output";
const LEVEL: &str = "langfuse.observation.level";
const STATUS_MESSAGE: &str = "langfuse.observation.status_message";
const COMPLETION_START_TIME: &str = "langfuse.observation.completion_start_time";
const USER_ID: &str = "langfuse.user.id";
const SESSION_ID: &str = "langfuse.session.id";
const OBSERVATION_METADATA: &str = "langfuse.observation.metadata";
const TRACE_METADATA: &str = "langfuse.trace.metadata";
const META_USER_ID: &str = "langfuse_user_id";
const META_SESSION_ID: &str = "langfuse_session_id";

impl Dialect for Langfuse {
    fn name(&self) -> &'static str {
        "langfuse"
    }

    fn detect(&self, span: &Span) -> bool {
        span.scope_name == SCOPE || span.attributes.iter().any(|kv| kv.key.starts_with(PREFIX))
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            name,
            start_unix_nano,
            end_unix_nano,
            status,
            status_message,
            attributes,
            events,
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

        // Kind and operation.
        let obs_type = f.obs_type.map(|t| t.trim().to_ascii_lowercase());
        let typed_kind = obs_type.as_deref().and_then(kind_for_observation_type);
        let generation_keys = f.model.is_some()
            || f.usage_details.is_some()
            || f.cost_details.is_some()
            || f.completion_start.is_some()
            || f.params.is_some();
        // Python SDK <= 3.3 sent generations as `span` observations (Langfuse server fix-up).
        let untyped = matches!(obs_type.as_deref(), None | Some("span"));
        let resolved = if untyped && generation_keys {
            Some(SpanKind::Llm)
        } else {
            typed_kind
        };
        // OpenInference's explicit kind (`EMBEDDING` on a Langfuse `generation`) wins.
        if *kind == SpanKind::Span && !f.has_openinference_kind {
            if let Some(k) = resolved {
                *kind = k;
            }
        }
        if g.operation.is_none() {
            g.operation = obs_type.filter(|t| !t.is_empty());
        }

        // Model and parameters.
        if g.request_model.is_none() {
            g.request_model = f.model.and_then(decoded_str);
        }
        if let Some(Value::Object(m)) = f.params.and_then(json_of) {
            params_from_json(&m, &mut g.params);
        }

        // Usage and cost.
        let mut total_mismatch = false;
        if let Some(Value::Object(m)) = f.usage_details.and_then(json_of) {
            if let Some(u) = usage_from_object(&m) {
                total_mismatch = u.fill(usage);
            }
        }
        if cost.reported.is_none() {
            cost.reported = f
                .cost_details
                .and_then(json_of)
                .and_then(|v| cost_total(&v));
        }

        // Messages, unless a structured message key is present.
        if g.input_messages.is_empty() && !f.structured_input {
            if let Some(v) = f.input {
                g.input_messages = io_messages(v, "user");
            }
        }
        if g.output_messages.is_empty() && !f.structured_output {
            if let Some(v) = f.output {
                g.output_messages = io_messages(v, "assistant");
            }
        }

        // Error level: the call failed, as through the ingestion API (an unset status becomes
        // an error; an explicit OK is kept).
        let error_level = f.level.is_some_and(is_error_level);
        if error_level && *status == StatusCode::Unset {
            *status = StatusCode::Error;
        }
        if error_level && g.error_type.is_none() {
            g.error_type = Some(
                f.error_type
                    .and_then(non_empty_str)
                    .map(str::to_owned)
                    .or_else(|| exception_type(events))
                    .unwrap_or_else(|| "ERROR".to_owned()),
            );
        }
        if status_message.is_empty() {
            if let Some(m) = f.status_message.and_then(decoded_str) {
                *status_message = m;
            }
        }

        // Time to first token.
        if g.time_to_first_token_s.is_none() {
            g.time_to_first_token_s = f
                .completion_start
                .and_then(decoded_str)
                .and_then(|t| parse_timestamp_nanos(&t))
                .and_then(|ts| seconds_since(*start_unix_nano, *end_unix_nano, ts));
        }

        // User and session, keeping the reference order around the generic keys.
        if g.user_id.is_none() && !f.has_user_attr {
            g.user_id = f
                .user_id
                .and_then(decoded_id)
                .or_else(|| f.meta_user_id.and_then(decoded_id));
        }
        if g.session_id.is_none() && !f.has_session_attr {
            g.session_id = f.session_id.and_then(decoded_id).or_else(|| {
                if f.has_conversation_attr {
                    None
                } else {
                    f.meta_session_id.and_then(decoded_id)
                }
            });
        }
        if g.user_id.is_none() && !f.has_user_attr {
            g.user_id = f
                .metadata_objects()
                .find_map(|m| json_id(m.get(META_USER_ID)?));
        }
        if g.session_id.is_none() && !f.has_session_attr && !f.has_conversation_attr {
            g.session_id = f
                .metadata_objects()
                .find_map(|m| json_id(m.get(META_SESSION_ID)?));
        }

        // Tool and agent observations are named by their observation name.
        let obs_name = Some(name.trim()).filter(|n| !n.is_empty());
        match *kind {
            SpanKind::Tool if g.tool_name.is_none() && !f.has_tool_name_attr => {
                g.tool_name = obs_name.map(str::to_owned);
            }
            SpanKind::Agent if g.agent_name.is_none() && !f.has_agent_name_attr => {
                g.agent_name = obs_name.map(str::to_owned);
            }
            _ => {}
        }
        if total_mismatch {
            attributes.push(
                llmtrace_semconv::llmtrace::USAGE_TOTAL_MISMATCH,
                AttrValue::Bool(true),
            );
        }
    }
}

/// The values the dialect reads, found in one pass.
#[derive(Default)]
struct Found<'a> {
    obs_type: Option<&'a str>,
    model: Option<&'a AttrValue>,
    params: Option<&'a AttrValue>,
    usage_details: Option<&'a AttrValue>,
    cost_details: Option<&'a AttrValue>,
    input: Option<&'a AttrValue>,
    output: Option<&'a AttrValue>,
    level: Option<&'a str>,
    status_message: Option<&'a AttrValue>,
    has_openinference_kind: bool,
    completion_start: Option<&'a AttrValue>,
    user_id: Option<&'a AttrValue>,
    session_id: Option<&'a AttrValue>,
    meta_user_id: Option<&'a AttrValue>,
    meta_session_id: Option<&'a AttrValue>,
    observation_metadata: Option<&'a AttrValue>,
    trace_metadata: Option<&'a AttrValue>,
    error_type: Option<&'a AttrValue>,
    has_user_attr: bool,
    has_session_attr: bool,
    has_conversation_attr: bool,
    has_tool_name_attr: bool,
    has_agent_name_attr: bool,
    structured_input: bool,
    structured_output: bool,
}

fn offer<'a>(slot: &mut Option<&'a AttrValue>, v: &'a AttrValue) {
    if slot.is_none() && !is_blank(v) {
        *slot = Some(v);
    }
}

impl<'a> Found<'a> {
    fn offer(&mut self, key: &str, v: &'a AttrValue) {
        if key.starts_with(PREFIX) {
            match key {
                OBSERVATION_TYPE => {
                    if self.obs_type.is_none() {
                        self.obs_type = non_empty_str(v);
                    }
                }
                MODEL_NAME => offer(&mut self.model, v),
                MODEL_PARAMETERS => offer(&mut self.params, v),
                USAGE_DETAILS => offer(&mut self.usage_details, v),
                COST_DETAILS => offer(&mut self.cost_details, v),
                INPUT => offer(&mut self.input, v),
                OUTPUT => offer(&mut self.output, v),
                LEVEL => {
                    if self.level.is_none() {
                        self.level = non_empty_str(v);
                    }
                }
                STATUS_MESSAGE => offer(&mut self.status_message, v),
                COMPLETION_START_TIME => offer(&mut self.completion_start, v),
                USER_ID => offer(&mut self.user_id, v),
                SESSION_ID => offer(&mut self.session_id, v),
                OBSERVATION_METADATA => offer(&mut self.observation_metadata, v),
                TRACE_METADATA => offer(&mut self.trace_metadata, v),
                _ => {
                    if let Some(meta_key) = key
                        .strip_prefix("langfuse.observation.metadata.")
                        .or_else(|| key.strip_prefix("langfuse.trace.metadata."))
                    {
                        match meta_key {
                            META_USER_ID => offer(&mut self.meta_user_id, v),
                            META_SESSION_ID => offer(&mut self.meta_session_id, v),
                            _ => {}
                        }
                    }
                }
            }
            return;
        }
        match key {
            "openinference.span.kind" => self.has_openinference_kind |= !is_blank(v),
            general::USER_ID | general::ENDUSER_ID => self.has_user_attr |= !is_blank(v),
            general::SESSION_ID => self.has_session_attr |= !is_blank(v),
            gen_ai::CONVERSATION_ID => self.has_conversation_attr |= !is_blank(v),
            general::ERROR_TYPE => offer(&mut self.error_type, v),
            gen_ai::TOOL_NAME => self.has_tool_name_attr = true,
            gen_ai::AGENT_NAME => self.has_agent_name_attr = true,
            gen_ai::INPUT_MESSAGES | gen_ai::PROMPT | "ai.prompt.messages" => {
                self.structured_input = true
            }
            gen_ai::OUTPUT_MESSAGES
            | gen_ai::COMPLETION
            | "ai.response.text"
            | "ai.response.toolCalls" => self.structured_output = true,
            _ => {
                if key.starts_with("llm.input_messages.") || key.starts_with("gen_ai.prompt.") {
                    self.structured_input = true;
                } else if key.starts_with("llm.output_messages.")
                    || key.starts_with("gen_ai.completion.")
                {
                    self.structured_output = true;
                }
            }
        }
    }

    /// The JSON metadata objects (`langfuse.observation.metadata`, `langfuse.trace.metadata`).
    fn metadata_objects(&self) -> impl Iterator<Item = Map<String, Value>> + '_ {
        [self.observation_metadata, self.trace_metadata]
            .into_iter()
            .flatten()
            .filter_map(|v| match json_of(v) {
                Some(Value::Object(m)) => Some(m),
                _ => None,
            })
    }
}

/// `langfuse.observation.type` → kind; `Some(SpanKind::Span)` for the known non-kind types.
fn kind_for_observation_type(t: &str) -> Option<SpanKind> {
    Some(match t {
        "generation" => SpanKind::Llm,
        "embedding" => SpanKind::Embedding,
        "retriever" => SpanKind::Retriever,
        "tool" => SpanKind::Tool,
        "agent" => SpanKind::Agent,
        "chain" => SpanKind::Chain,
        "span" | "event" | "guardrail" | "evaluator" => SpanKind::Span,
        _ => return None,
    })
}

fn is_error_level(level: &str) -> bool {
    let l = level.trim();
    ["ERROR", "FATAL", "CRITICAL"]
        .iter()
        .any(|e| e.eq_ignore_ascii_case(l))
}

/// `exception.type` of the first `exception` event that has one, whatever the status.
fn exception_type(events: &[SpanEvent]) -> Option<String> {
    events
        .iter()
        .filter(|e| e.name == general::EXCEPTION_EVENT)
        .find_map(|e| e.attributes.get_str(general::EXCEPTION_TYPE))
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned)
}

/// `cost_details`: `total`, else the sum of the numeric parts; negative totals are ignored.
fn cost_total(v: &Value) -> Option<Money> {
    match v {
        Value::Object(m) => match m.get("total").and_then(json_f64) {
            Some(total) => usd(total),
            None => {
                let parts: Vec<f64> = m.values().filter_map(json_f64).collect();
                if parts.is_empty() {
                    None
                } else {
                    usd(parts.iter().sum())
                }
            }
        },
        other => json_f64(other).and_then(usd),
    }
}

/// Seconds from `start` to `ts`, when `ts` lies within the span.
fn seconds_since(start: u64, end: u64, ts: u64) -> Option<f64> {
    if start == 0 || ts < start || (end > start && ts > end) {
        return None;
    }
    Some(ts.saturating_sub(start) as f64 / 1e9)
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the framework dialects (Vercel AI, pydantic-ai, MLflow, LangSmith, OpenLIT).

/// Fills `g.provider` (canonical) and `g.provider_raw` (as sent, when it differs) from a raw
/// provider value, unless the provider is already set.
pub(super) fn fill_provider(g: &mut GenAi, raw: &str) {
    if g.provider.is_some() {
        return;
    }
    let raw = raw.trim();
    match canonical_provider(raw) {
        Some(canonical) => {
            if canonical != raw && g.provider_raw.is_none() {
                g.provider_raw = Some(raw.to_owned());
            }
            g.provider = Some(canonical.into_owned());
        }
        None if !raw.is_empty() => {
            g.provider_raw.get_or_insert_with(|| raw.to_owned());
        }
        None => {}
    }
}

/// A non-negative, finite dollar amount as money.
pub(super) fn usd(amount: f64) -> Option<Money> {
    if amount.is_finite() && amount >= 0.0 {
        Money::from_f64_usd(amount)
    } else {
        None
    }
}

/// A non-blank string that may arrive JSON-encoded (`"\"acme\""`, MLflow and Langfuse metadata):
/// the decoded text.
pub(super) fn decoded_str(v: &AttrValue) -> Option<String> {
    let s = non_empty_str(v)?.trim();
    if s.starts_with('"') {
        if let Ok(Value::String(inner)) = serde_json::from_str::<Value>(s) {
            let inner = inner.trim();
            return (!inner.is_empty()).then(|| inner.to_owned());
        }
    }
    Some(s.to_owned())
}

/// An identifier that may arrive JSON-encoded: a decoded string, or an integer.
pub(super) fn decoded_id(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::Str(_) => decoded_str(v),
        other => id_string(other),
    }
}

/// An identifier inside a JSON document: a non-blank string or an integer.
pub(super) fn json_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A finite float from a JSON number or numeric string (`"Infinity"` and `NaN` are rejected).
pub(super) fn json_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// An integer from a JSON number (integral floats accepted) or numeric string.
pub(super) fn json_i64(v: &Value) -> Option<i64> {
    fn integral(f: f64) -> Option<i64> {
        (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18)
            .then_some(crate::value::f64_to_i64(f))
    }
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(integral)),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().and_then(integral))
        }
        _ => None,
    }
}

/// A token count (non-negative integer) from a JSON value.
pub(super) fn json_count(v: &Value) -> Option<u64> {
    json_i64(v).and_then(|i| u64::try_from(i).ok())
}

/// A boolean from a JSON bool or a `true` / `false` string.
fn json_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" | "True" => Some(true),
            "false" | "False" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Offers a count to a collector (no-op for `None`).
pub(super) fn put(c: &mut UsageCollector, field: UsageField, rank: u8, n: Option<u64>) {
    if let Some(n) = n {
        c.offer(
            field,
            rank,
            &AttrValue::Int(i64::try_from(n).unwrap_or(i64::MAX)),
        );
    }
}

/// The first key of `keys` whose value converts.
fn first_of<T>(
    m: &Map<String, Value>,
    keys: &[&str],
    conv: impl Fn(&Value) -> Option<T>,
) -> Option<T> {
    keys.iter().find_map(|k| m.get(*k).and_then(&conv))
}

/// Fills the request parameters still unset from a JSON object of model parameters (Langfuse
/// `model.parameters`, MLflow span inputs, request bodies), accepting snake and camel case.
pub(super) fn params_from_json(m: &Map<String, Value>, p: &mut RequestParams) {
    if p.temperature.is_none() {
        p.temperature = first_of(m, &["temperature"], json_f64);
    }
    if p.max_tokens.is_none() {
        p.max_tokens = first_of(
            m,
            &[
                "max_tokens",
                "max_completion_tokens",
                "max_output_tokens",
                "maxTokens",
                "maxOutputTokens",
                "max_new_tokens",
            ],
            json_i64,
        );
    }
    if p.top_p.is_none() {
        p.top_p = first_of(m, &["top_p", "topP"], json_f64);
    }
    if p.top_k.is_none() {
        p.top_k = first_of(m, &["top_k", "topK"], json_f64);
    }
    if p.frequency_penalty.is_none() {
        p.frequency_penalty = first_of(m, &["frequency_penalty", "frequencyPenalty"], json_f64);
    }
    if p.presence_penalty.is_none() {
        p.presence_penalty = first_of(m, &["presence_penalty", "presencePenalty"], json_f64);
    }
    if p.seed.is_none() {
        p.seed = first_of(m, &["seed"], json_i64);
    }
    if p.stream.is_none() {
        p.stream = first_of(m, &["stream"], json_bool);
    }
    if p.stop_sequences.is_empty() {
        p.stop_sequences = first_of(m, &["stop", "stop_sequences", "stopSequences"], |v| {
            let list = match v {
                Value::String(s) if !s.is_empty() => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            (!list.is_empty()).then_some(list)
        })
        .unwrap_or_default();
    }
}

/// Token counts read from one usage object, with how its source counts them.
pub(super) struct ObjectUsage {
    counts: UsageCollector,
    input: InputCounting,
    output: OutputCounting,
    cache_write_1h: Option<u64>,
    /// The object's own total (`total`, `total_tokens`), when it has one.
    total: Option<u64>,
}

impl ObjectUsage {
    /// Converts to the llmtrace convention and fills the fields of `usage` still unset.
    ///
    /// Where the object gives a total, input + output must equal it; when they do not, the total
    /// decides the input (total − output): LiteLLM's Langfuse callback sends an `input` that
    /// already holds the cache writes it also lists apart. Returns whether that happened.
    pub(super) fn fill(&self, usage: &mut Usage) -> bool {
        let input_was_set = usage.input.is_some();
        self.counts.fill(usage, self.input, self.output);
        if usage.cache_write_1h.is_none() {
            if let Some(h) = self.cache_write_1h {
                usage.cache_write_1h = Some(usage.cache_write.map_or(h, |w| h.min(w)));
            }
        }
        let (Some(total), false) = (self.total, input_was_set) else {
            return false;
        };
        match (usage.input, usage.output) {
            (Some(i), Some(o)) if i.saturating_add(o) != total && total >= o => {
                usage.input = Some(total.saturating_sub(o));
                true
            }
            _ => false,
        }
    }
}

/// Sum of the present values; `None` when none is present.
fn sum_present(values: &[Option<u64>]) -> Option<u64> {
    values.iter().flatten().copied().reduce(u64::saturating_add)
}

/// Reads a usage object in any of the shapes SDKs pass around:
///
/// * Langfuse convention (`input`, `output`, `input_cached_tokens` / `cache_read_input_tokens` /
///   `input_cache_read`, `input_cache_creation` (+ `_5m`, `_1h`) / `cache_creation_input_tokens`,
///   `output_reasoning_tokens` / `output_reasoning`): input **excludes** cache, output excludes
///   reasoning;
/// * OpenAI chat (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`,
///   `completion_tokens_details.reasoning_tokens`): inclusive;
/// * OpenAI Responses (`input_tokens` with `input_tokens_details` / `output_tokens_details`):
///   inclusive;
/// * LangChain `usage_metadata` (`input_tokens` with `input_token_details.{cache_read,
///   cache_creation, ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}`,
///   `output_token_details.reasoning`): inclusive;
/// * raw Anthropic (`input_tokens` with `cache_read_input_tokens` / `cache_creation_input_tokens`
///   / `cache_creation.ephemeral_*`): input **excludes** cache.
///
/// `None` when the object holds no known count.
pub(super) fn usage_from_object(m: &Map<String, Value>) -> Option<ObjectUsage> {
    let get = |k: &str| m.get(k).and_then(json_count);
    let nested =
        |outer: &str, inner: &str| m.get(outer).and_then(|o| o.get(inner)).and_then(json_count);
    let mut c = UsageCollector::default();
    let mut input = InputCounting::IncludesCache;
    let mut output = OutputCounting::IncludesReasoning;
    let mut cache_write_1h = None;

    if get("input").is_some() || get("output").is_some() {
        // Langfuse's own keys.
        input = InputCounting::ExcludesCache;
        output = OutputCounting::ExcludesReasoning;
        put(&mut c, UsageField::Input, 0, get("input"));
        put(&mut c, UsageField::Output, 0, get("output"));
        for (rank, k) in [
            "input_cached_tokens",
            "cache_read_input_tokens",
            "input_cache_read",
            "cached_tokens",
        ]
        .iter()
        .enumerate()
        {
            put(
                &mut c,
                UsageField::CacheRead,
                u8::try_from(rank).unwrap_or(u8::MAX),
                get(k),
            );
        }
        put(
            &mut c,
            UsageField::CacheWrite,
            0,
            get("input_cache_creation"),
        );
        put(
            &mut c,
            UsageField::CacheWrite,
            1,
            get("cache_creation_input_tokens"),
        );
        put(
            &mut c,
            UsageField::CacheWrite,
            2,
            sum_present(&[
                get("input_cache_creation_5m"),
                get("input_cache_creation_1h"),
            ]),
        );
        for (rank, k) in [
            "output_reasoning_tokens",
            "output_reasoning",
            "reasoning_tokens",
        ]
        .iter()
        .enumerate()
        {
            put(
                &mut c,
                UsageField::Reasoning,
                u8::try_from(rank).unwrap_or(u8::MAX),
                get(k),
            );
        }
        cache_write_1h = get("input_cache_creation_1h");
    } else if get("prompt_tokens").is_some() || get("completion_tokens").is_some() {
        // OpenAI chat completions usage.
        put(&mut c, UsageField::Input, 0, get("prompt_tokens"));
        put(&mut c, UsageField::Output, 0, get("completion_tokens"));
        put(
            &mut c,
            UsageField::CacheRead,
            0,
            nested("prompt_tokens_details", "cached_tokens"),
        );
        put(
            &mut c,
            UsageField::CacheRead,
            1,
            get("cache_read_input_tokens"),
        );
        put(
            &mut c,
            UsageField::CacheWrite,
            0,
            get("cache_creation_input_tokens"),
        );
        put(
            &mut c,
            UsageField::Reasoning,
            0,
            nested("completion_tokens_details", "reasoning_tokens"),
        );
    } else if get("input_tokens").is_some() || get("output_tokens").is_some() {
        put(&mut c, UsageField::Input, 0, get("input_tokens"));
        put(&mut c, UsageField::Output, 0, get("output_tokens"));
        if m.contains_key("input_tokens_details") || m.contains_key("output_tokens_details") {
            // OpenAI Responses API.
            put(
                &mut c,
                UsageField::CacheRead,
                0,
                nested("input_tokens_details", "cached_tokens"),
            );
            put(
                &mut c,
                UsageField::Reasoning,
                0,
                nested("output_tokens_details", "reasoning_tokens"),
            );
        } else if m.contains_key("input_token_details") || m.contains_key("output_token_details") {
            // LangChain usage_metadata.
            let d = "input_token_details";
            put(&mut c, UsageField::CacheRead, 0, nested(d, "cache_read"));
            put(
                &mut c,
                UsageField::CacheWrite,
                0,
                nested(d, "cache_creation"),
            );
            put(
                &mut c,
                UsageField::CacheWrite,
                1,
                sum_present(&[
                    nested(d, "ephemeral_5m_input_tokens"),
                    nested(d, "ephemeral_1h_input_tokens"),
                ]),
            );
            cache_write_1h = nested(d, "ephemeral_1h_input_tokens");
            put(
                &mut c,
                UsageField::Reasoning,
                0,
                nested("output_token_details", "reasoning"),
            );
        } else {
            // Raw Anthropic usage: input excludes the cache.
            let has_cache = [
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
                "cache_creation",
            ]
            .iter()
            .any(|k| m.contains_key(*k));
            if has_cache {
                input = InputCounting::ExcludesCache;
            }
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
            put(
                &mut c,
                UsageField::CacheWrite,
                1,
                sum_present(&[
                    nested("cache_creation", "ephemeral_5m_input_tokens"),
                    nested("cache_creation", "ephemeral_1h_input_tokens"),
                ]),
            );
            cache_write_1h = nested("cache_creation", "ephemeral_1h_input_tokens");
        }
    } else {
        return None;
    }
    if c.is_empty() {
        return None;
    }
    let total = if input == InputCounting::ExcludesCache && get("input").is_some() {
        get("total")
    } else {
        get("total_tokens")
    };
    Some(ObjectUsage {
        counts: c,
        input,
        output,
        cache_write_1h,
        total,
    })
}

/// Messages from a generic input/output blob (Langfuse observation I/O, MLflow span inputs and
/// outputs, LangSmith inputs and outputs, request/response bodies): message lists, `{messages}`
/// request bodies (with an Anthropic `system`), OpenAI responses (`choices`), Anthropic
/// responses, LangChain serialized messages and `generations`. Anything else becomes one text
/// message holding the text (or the compact JSON) so it can still be shown. Empty for blanks.
pub(super) fn io_messages(v: &AttrValue, default_role: &str) -> Vec<Message> {
    if is_blank(v) {
        return Vec::new();
    }
    match json_of(v) {
        Some(json) => blob_messages(&json, default_role),
        None => non_empty_str(v)
            .map(|t| vec![Message::text(default_role, t)])
            .unwrap_or_default(),
    }
}

/// [`io_messages`] over a decoded JSON value.
pub(super) fn blob_messages(json: &Value, default_role: &str) -> Vec<Message> {
    if let Some(msgs) = structured_messages(json, default_role, 0) {
        if !msgs.is_empty() {
            return msgs;
        }
    }
    match json {
        Value::Null => Vec::new(),
        Value::String(s) if s.trim().is_empty() => Vec::new(),
        Value::String(s) => vec![Message::text(default_role, s.clone())],
        Value::Object(m) if m.is_empty() => Vec::new(),
        Value::Array(a) if a.is_empty() => Vec::new(),
        other => vec![Message::text(default_role, other.to_string())],
    }
}

/// LangChain message types (`type` of a message dict, or the class name of a serialized one).
fn langchain_role(t: &str) -> Option<&'static str> {
    Some(match t {
        "human" | "HumanMessage" | "HumanMessageChunk" => "user",
        "ai" | "AIMessage" | "AIMessageChunk" => "assistant",
        "system" | "SystemMessage" | "SystemMessageChunk" => "system",
        "tool" | "ToolMessage" | "ToolMessageChunk" | "function" | "FunctionMessage" => "tool",
        "chat" | "ChatMessage" | "ChatMessageChunk" => "",
        _ => return None,
    })
}

/// Whether an object looks like one chat message of some SDK.
fn is_message_object(m: &Map<String, Value>) -> bool {
    m.get("role").is_some_and(Value::is_string)
        || (m.contains_key("lc") && m.get("kwargs").is_some_and(Value::is_object))
        || (m
            .get("type")
            .and_then(Value::as_str)
            .and_then(langchain_role)
            .is_some()
            && (m.contains_key("content") || m.contains_key("data")))
}

const MAX_BLOB_DEPTH: u8 = 4;

/// The messages of a structured blob, or `None` when it is not a known message shape.
fn structured_messages(json: &Value, default_role: &str, depth: u8) -> Option<Vec<Message>> {
    if depth > MAX_BLOB_DEPTH {
        return None;
    }
    match json {
        Value::Array(items) if !items.is_empty() => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Array(_) => out.extend(structured_messages(
                        item,
                        default_role,
                        depth.saturating_add(1),
                    )?),
                    Value::Object(m) if is_message_object(m) => {
                        out.extend(convert_message(m, default_role));
                    }
                    _ => return None,
                }
            }
            Some(out)
        }
        Value::Object(m) => {
            if let Some(Value::Array(choices)) = m.get("choices") {
                return Some(
                    choices
                        .iter()
                        .filter_map(|c| message_from_json(c.clone(), "assistant"))
                        .filter(has_content)
                        .collect(),
                );
            }
            if let Some(gens) = m.get("generations") {
                let mut out = Vec::new();
                collect_generations(gens, &mut out, depth);
                return Some(out);
            }
            if is_message_object(m) {
                return Some(convert_message(m, default_role).into_iter().collect());
            }
            if let Some(msgs) = m.get("messages") {
                let mut out = Vec::new();
                if let Some(system) = m.get("system").filter(|s| !s.is_null()) {
                    let mut sys = Map::new();
                    sys.insert("role".into(), Value::String("system".into()));
                    sys.insert("content".into(), system.clone());
                    out.extend(convert_message(&sys, "system"));
                }
                out.extend(structured_messages(
                    msgs,
                    default_role,
                    depth.saturating_add(1),
                )?);
                return Some(out);
            }
            if let Some(Value::Array(prompts)) = m.get("prompts") {
                let texts: Vec<Message> = prompts
                    .iter()
                    .filter_map(|p| p.as_str().filter(|s| !s.trim().is_empty()))
                    .map(|p| Message::text(default_role, p))
                    .collect();
                return (!texts.is_empty()).then_some(texts);
            }
            None
        }
        _ => None,
    }
}

/// LangChain `LLMResult.generations` (a list of lists of `{text, message?}`).
fn collect_generations(v: &Value, out: &mut Vec<Message>, depth: u8) {
    if depth > MAX_BLOB_DEPTH {
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                collect_generations(item, out, depth.saturating_add(1));
            }
        }
        Value::Object(m) => {
            if let Some(Value::Object(msg)) = m.get("message") {
                if let Some(message) = convert_message(msg, "assistant") {
                    out.push(message);
                    return;
                }
            }
            if let Some(t) = m
                .get("text")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                out.push(Message::text("assistant", t));
            }
        }
        _ => {}
    }
}

fn has_content(m: &Message) -> bool {
    !m.parts.is_empty() || m.finish_reason.is_some()
}

/// One message object of any SDK (OpenAI / Anthropic / OTel / LangChain) as a [`Message`];
/// `None` when it carries no content.
fn convert_message(m: &Map<String, Value>, default_role: &str) -> Option<Message> {
    let lc_kwargs = match (m.get("lc"), m.get("kwargs")) {
        (Some(_), Some(Value::Object(kw))) => Some(kw),
        _ => None,
    };
    let lc_type = lc_kwargs.map(|kw| {
        let class = m
            .get("id")
            .and_then(Value::as_array)
            .and_then(|id| id.last())
            .and_then(Value::as_str);
        class.and_then(langchain_role).or_else(|| {
            kw.get("type")
                .and_then(Value::as_str)
                .and_then(langchain_role)
        })
    });
    let dict_type = if m.contains_key("role") {
        None
    } else {
        m.get("type")
            .and_then(Value::as_str)
            .and_then(langchain_role)
    };
    let msg = match (lc_kwargs, lc_type.flatten().or(dict_type)) {
        (Some(kw), Some(role)) => message_from_json(langchain_message(kw, role), default_role)?,
        (None, Some(role)) => {
            let body = match m.get("data") {
                Some(Value::Object(data)) => data,
                _ => m,
            };
            message_from_json(langchain_message(body, role), default_role)?
        }
        _ => {
            let mut msg = message_from_json(Value::Object(m.clone()), default_role)?;
            if msg.finish_reason.is_none() {
                msg.finish_reason = m
                    .get("stop_reason")
                    .and_then(Value::as_str)
                    .and_then(canonical_finish_reason);
            }
            msg
        }
    };
    has_content(&msg).then_some(msg)
}

/// A LangChain message body (`content`, `tool_calls` with `args`, `tool_call_id`) rebuilt as an
/// OpenAI-style message the generic parser understands.
fn langchain_message(body: &Map<String, Value>, role: &str) -> Value {
    let mut out = Map::new();
    let role = if role.is_empty() {
        body.get("role")
            .and_then(Value::as_str)
            .unwrap_or("user")
            .to_owned()
    } else {
        role.to_owned()
    };
    out.insert("role".into(), Value::String(role));
    if let Some(content) = body.get("content") {
        out.insert("content".into(), content.clone());
    }
    for k in ["tool_call_id", "name"] {
        if let Some(v) = body.get(k).filter(|v| v.is_string()) {
            out.insert(k.into(), v.clone());
        }
    }
    if let Some(Value::Array(calls)) = body.get("tool_calls") {
        // Anthropic AI messages repeat their `tool_use` content blocks in `tool_calls`.
        let in_content: Vec<&str> = match body.get("content") {
            Some(Value::Array(blocks)) => blocks
                .iter()
                .filter(|b| {
                    matches!(
                        b.get("type").and_then(Value::as_str),
                        Some("tool_use" | "tool_call")
                    )
                })
                .filter_map(|b| b.get("id").and_then(Value::as_str))
                .collect(),
            _ => Vec::new(),
        };
        let calls: Vec<Value> = calls
            .iter()
            .filter(|c| {
                c.get("id")
                    .and_then(Value::as_str)
                    .is_none_or(|id| !in_content.contains(&id))
            })
            .filter_map(|c| {
                let name = c.get("name").and_then(Value::as_str)?;
                let mut call = Map::new();
                call.insert("name".into(), Value::String(name.to_owned()));
                if let Some(id) = c.get("id").filter(|v| v.is_string()) {
                    call.insert("id".into(), id.clone());
                }
                if let Some(args) = c
                    .get("args")
                    .or_else(|| c.get("arguments"))
                    .cloned()
                    .and_then(normalize_arguments)
                {
                    call.insert("arguments".into(), args);
                }
                Some(Value::Object(call))
            })
            .collect();
        if !calls.is_empty() {
            out.insert("tool_calls".into(), Value::Array(calls));
        }
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------
// ISO-8601 timestamps

/// Parses an RFC 3339 / ISO-8601 timestamp (`2025-01-02T03:04:05.678Z`, `+01:00` offsets, a
/// space instead of `T`, no zone = UTC) into Unix nanoseconds, with the parser every JSON wire
/// uses. `None` for anything else or for times before 1970.
pub(super) fn parse_timestamp_nanos(s: &str) -> Option<u64> {
    llmtrace_model::time::parse_time_str(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::MessagePart;
    use serde_json::json;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp_nanos("2023-11-14T22:13:20.35Z"),
            Some(1_700_000_000_350_000_000)
        );
        assert_eq!(
            parse_timestamp_nanos("2023-11-14T23:13:20.350000+01:00"),
            Some(1_700_000_000_350_000_000)
        );
        assert_eq!(
            parse_timestamp_nanos("2023-11-14 22:13:20"),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_timestamp_nanos("2023-11-14T22:13:20.123456789123Z"),
            Some(1_700_000_000_123_456_789)
        );
        assert_eq!(parse_timestamp_nanos("yesterday"), None);
        assert_eq!(parse_timestamp_nanos("2023-13-14T22:13:20Z"), None);
        assert_eq!(parse_timestamp_nanos("2023-11-14T22:13:20Zjunk"), None);
    }

    #[test]
    fn langfuse_usage_is_exclusive() {
        let m = json!({"input": 120, "output": 40, "cache_read_input_tokens": 30,
            "input_cache_creation_5m": 6, "input_cache_creation_1h": 4, "output_reasoning_tokens": 5});
        let u = usage_from_object(m.as_object().unwrap()).unwrap();
        let mut usage = Usage::default();
        u.fill(&mut usage);
        assert_eq!(usage.input, Some(160));
        assert_eq!(usage.output, Some(45));
        assert_eq!(usage.cache_write, Some(10));
        assert_eq!(usage.cache_write_1h, Some(4));
        assert_eq!(usage.reasoning, Some(5));
    }

    #[test]
    fn raw_usage_shapes() {
        let fill = |v: Value| {
            let mut usage = Usage::default();
            usage_from_object(v.as_object().unwrap())
                .unwrap()
                .fill(&mut usage);
            usage
        };
        let openai = fill(
            json!({"prompt_tokens": 90, "completion_tokens": 25, "total_tokens": 115,
            "prompt_tokens_details": {"cached_tokens": 40}, "completion_tokens_details": {"reasoning_tokens": 3}}),
        );
        assert_eq!(
            (
                openai.input,
                openai.output,
                openai.cache_read,
                openai.reasoning
            ),
            (Some(90), Some(25), Some(40), Some(3))
        );
        let anthropic = fill(
            json!({"input_tokens": 120, "output_tokens": 45, "cache_read_input_tokens": 30,
            "cache_creation_input_tokens": 10}),
        );
        assert_eq!(
            (anthropic.input, anthropic.cache_write),
            (Some(160), Some(10))
        );
        let langchain = fill(json!({"input_tokens": 160, "output_tokens": 45,
            "input_token_details": {"cache_read": 30, "ephemeral_5m_input_tokens": 10}}));
        assert_eq!(
            (langchain.input, langchain.cache_read, langchain.cache_write),
            (Some(160), Some(30), Some(10))
        );
        let responses = fill(json!({"input_tokens": 90, "output_tokens": 25,
            "input_tokens_details": {"cached_tokens": 40}}));
        assert_eq!(
            (responses.input, responses.cache_read),
            (Some(90), Some(40))
        );
        assert!(usage_from_object(json!({"foo": 1}).as_object().unwrap()).is_none());
    }

    #[test]
    fn blobs() {
        let langchain = json!({"messages": [[
            {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "SystemMessage"],
             "kwargs": {"content": "be brief", "type": "system"}},
            {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"],
             "kwargs": {"content": "hi", "type": "human"}}]]});
        assert_eq!(
            blob_messages(&langchain, "user"),
            vec![
                Message::text("system", "be brief"),
                Message::text("user", "hi")
            ]
        );
        let gens = json!({"generations": [[{"text": "x", "message": {"lc": 1, "type": "constructor",
            "id": ["langchain", "schema", "messages", "AIMessage"],
            "kwargs": {"content": "", "type": "ai", "tool_calls": [{"name": "f", "args": {"a": 1}, "id": "t1", "type": "tool_call"}]}}}]]});
        let out = blob_messages(&gens, "assistant");
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].parts,
            vec![MessagePart::ToolCall {
                id: Some("t1".into()),
                name: "f".into(),
                arguments: Some(json!({"a": 1}))
            }]
        );
        let openai = json!({"id": "c", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Paris"}}]});
        let out = blob_messages(&openai, "assistant");
        assert_eq!(out[0].text_content(), "Paris");
        assert_eq!(out[0].finish_reason.as_deref(), Some("stop"));
        let anthropic = json!({"system": "sys", "messages": [{"role": "user", "content": "q"}], "max_tokens": 5});
        assert_eq!(
            blob_messages(&anthropic, "user"),
            vec![Message::text("system", "sys"), Message::text("user", "q")]
        );
        let other = json!({"args": ["q"], "kwargs": {}});
        assert_eq!(
            blob_messages(&other, "user"),
            vec![Message::text("user", r#"{"args":["q"],"kwargs":{}}"#)]
        );
        assert_eq!(
            blob_messages(&json!("Paris"), "assistant"),
            vec![Message::text("assistant", "Paris")]
        );
        assert!(blob_messages(&Value::Null, "user").is_empty());
    }

    #[test]
    fn params_ignore_infinity() {
        let m =
            json!({"temperature": "0.2", "max_tokens": "Infinity", "top_p": 0.9, "stop": "END"});
        let mut p = RequestParams::default();
        params_from_json(m.as_object().unwrap(), &mut p);
        assert_eq!(p.temperature, Some(0.2));
        assert_eq!(p.max_tokens, None);
        assert_eq!(p.top_p, Some(0.9));
        assert_eq!(p.stop_sequences, vec!["END"]);
    }
}
