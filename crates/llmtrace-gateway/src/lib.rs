//! The gateway's reading of a proxied LLM call: what crossed the wire (the request body, the
//! answer's status and body, or its server-sent events as they streamed) turned into one OTel
//! GenAI span. Pure and synchronous: the transport (`llmtrace-server`'s gateway route) forwards
//! every byte untouched and hands this crate a copy.
//!
//! Covered: Anthropic Messages (plain, streamed, tool use), OpenAI Chat Completions, Responses
//! and Embeddings (plain and streamed) and OpenAI-compatible servers. The span carries the OTel
//! GenAI attributes (provider, operation, request and response model, parameters, usage with
//! cache and reasoning tokens on the OTel convention, finish reasons, response id, error type,
//! HTTP status, time to first chunk) and, when content capture is on, the messages; its
//! instrumentation scope is `llmtrace.gateway`, which makes it the most authoritative copy of a
//! call's usage after a provider SDK's own span (`llmtrace_store::UsageAuthority::Gateway`).

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap
    )
)]

mod anthropic;
mod observed;
mod openai;
pub mod sse;
mod traceparent;

pub use observed::{Observed, Output, Part, MAX_CAPTURED_BYTES};
pub use traceparent::Traceparent;

use llmtrace_model::{AttrValue, Attributes, Span, SpanId, StatusCode, TraceId};
use llmtrace_semconv::gen_ai as g;
use serde_json::{json, Value};

/// The instrumentation scope of gateway spans.
pub const SCOPE: &str = "llmtrace.gateway";

/// The service of gateway spans when the request names none.
pub const DEFAULT_SERVICE: &str = "llmtrace-gateway";

/// Most bytes of one stream event read (larger events pass through unread).
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// An LLM API the gateway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Anthropic `POST /v1/messages`.
    AnthropicMessages,
    /// OpenAI `POST /v1/chat/completions`.
    OpenAiChat,
    /// OpenAI `POST /v1/responses`.
    OpenAiResponses,
    /// OpenAI `POST /v1/embeddings`.
    OpenAiEmbeddings,
}

impl Api {
    /// The API a request addresses (`path`: the upstream path, e.g. `/v1/messages`), or `None`
    /// for anything else (model lists, token counting, files), which is proxied without a span.
    pub fn of(method: &str, path: &str) -> Option<Api> {
        if !method.eq_ignore_ascii_case("POST") {
            return None;
        }
        let path = path.trim_end_matches('/');
        if path.ends_with("/messages") {
            Some(Api::AnthropicMessages)
        } else if path.ends_with("/chat/completions") {
            Some(Api::OpenAiChat)
        } else if path.ends_with("/responses") {
            Some(Api::OpenAiResponses)
        } else if path.ends_with("/embeddings") {
            Some(Api::OpenAiEmbeddings)
        } else {
            None
        }
    }

    /// `gen_ai.operation.name`.
    pub fn operation(self) -> &'static str {
        match self {
            Api::OpenAiEmbeddings => "embeddings",
            _ => "chat",
        }
    }
}

/// What the gateway knows of a call when it leaves for the provider.
#[derive(Debug, Clone)]
pub struct Call {
    /// The API addressed.
    pub api: Api,
    /// The upstream's name in the route (`anthropic`, `openai`, or a configured one): the
    /// provider name of the span.
    pub upstream: String,
    /// The upstream's host (`server.address`).
    pub server_address: String,
    /// The request body as JSON (`Null` when it is not JSON).
    pub request: Value,
    /// When the request arrived (Unix nanoseconds).
    pub start_unix_nano: u64,
    /// Whether prompts and completions are recorded.
    pub capture_content: bool,
    /// Project of the span.
    pub project: String,
    /// Service of the span.
    pub service: String,
    /// Session id (`X-Llmtrace-Session-Id`).
    pub session_id: Option<String>,
    /// User id (`X-Llmtrace-User-Id`).
    pub user_id: Option<String>,
    /// Trace of the span.
    pub trace_id: TraceId,
    /// The span's id.
    pub span_id: SpanId,
    /// Parent (the app's span from `traceparent`), if any.
    pub parent_span_id: Option<SpanId>,
}

impl Call {
    /// Whether the request asks for a streamed answer.
    pub fn streamed(&self) -> bool {
        self.request.get("stream").and_then(Value::as_bool) == Some(true)
    }
}

/// How a call ended, beyond what its answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The answer arrived whole.
    Complete,
    /// The gateway could not get an answer, or lost it midway: an error class
    /// (`error.type`) and a message.
    Failed {
        /// `error.type`.
        error_type: String,
        /// Status message.
        message: String,
    },
}

/// Reads an answer as it passes: feed it every chunk, then [`Collector::finish`].
#[derive(Debug)]
pub struct Collector {
    api: Api,
    capture: bool,
    sse: Option<sse::Splitter>,
    body: Vec<u8>,
    max_body: usize,
    observed: Observed,
}

impl Collector {
    /// A collector for an answer of `content_type`; a body (not a stream) is kept up to
    /// `max_body` bytes for reading.
    pub fn new(api: Api, content_type: &str, max_body: usize, capture: bool) -> Self {
        let streamed = content_type
            .to_ascii_lowercase()
            .starts_with("text/event-stream");
        Collector {
            api,
            capture,
            sse: streamed.then(|| sse::Splitter::new(MAX_EVENT_BYTES)),
            body: Vec::new(),
            max_body,
            observed: Observed::default(),
        }
    }

    /// Reads one chunk of the answer, received at `now_unix_nano`.
    pub fn feed(&mut self, chunk: &[u8], now_unix_nano: u64) {
        let (api, capture) = (self.api, self.capture);
        let obs = &mut self.observed;
        match &mut self.sse {
            Some(splitter) => {
                splitter.feed(chunk, &mut |e| {
                    read_event(api, obs, &e, now_unix_nano, capture)
                });
            }
            None => {
                if self.body.len().saturating_add(chunk.len()) > self.max_body {
                    obs.unread = true;
                } else {
                    self.body.extend_from_slice(chunk);
                }
            }
        }
    }

    /// Everything the answer told.
    pub fn finish(mut self, now_unix_nano: u64) -> Observed {
        let (api, capture) = (self.api, self.capture);
        let obs = &mut self.observed;
        match &mut self.sse {
            Some(splitter) => {
                splitter.finish(&mut |e| read_event(api, obs, &e, now_unix_nano, capture));
                if splitter.dropped > 0 {
                    obs.unread = true;
                }
            }
            None if !obs.unread => match serde_json::from_slice::<Value>(&self.body) {
                Ok(body) => read_body(api, obs, &body, capture),
                Err(_) => obs.unread = !self.body.is_empty(),
            },
            None => {}
        }
        self.observed
    }
}

fn read_body(api: Api, obs: &mut Observed, body: &Value, capture: bool) {
    match api {
        Api::AnthropicMessages => anthropic::read_body(obs, body, capture),
        Api::OpenAiChat => openai::read_chat_body(obs, body, capture),
        Api::OpenAiResponses => openai::read_responses_body(obs, body, capture),
        Api::OpenAiEmbeddings => openai::read_embeddings_body(obs, body),
    }
}

fn read_event(api: Api, obs: &mut Observed, e: &sse::Event, now: u64, capture: bool) {
    if e.data.is_empty() || e.data == "[DONE]" {
        return;
    }
    let Ok(data) = serde_json::from_str::<Value>(&e.data) else {
        return;
    };
    match api {
        Api::AnthropicMessages => anthropic::read_event(obs, &data, now, capture),
        Api::OpenAiChat => openai::read_chat_chunk(obs, &data, now, capture),
        Api::OpenAiResponses => openai::read_responses_event(obs, &data, now, capture),
        Api::OpenAiEmbeddings => {}
    }
}

fn set(attrs: &mut Attributes, key: &str, v: Option<AttrValue>) {
    if let Some(v) = v {
        attrs.push(key, v);
    }
}

fn json_param(req: &Value, keys: &[&str]) -> Option<AttrValue> {
    let v = keys
        .iter()
        .find_map(|k| req.get(*k).filter(|v| !v.is_null()))?;
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(AttrValue::Int)
            .or_else(|| n.as_f64().map(AttrValue::Double)),
        Value::String(s) => Some(AttrValue::Str(s.clone())),
        Value::Bool(b) => Some(AttrValue::Bool(*b)),
        Value::Array(a) => Some(AttrValue::Array(
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| AttrValue::Str(s.to_string()))
                .collect(),
        )),
        _ => None,
    }
}

/// The stop sequences, always as a string array (OpenAI allows a single string).
fn stop_sequences(req: &Value) -> Option<AttrValue> {
    match json_param(req, &["stop_sequences", "stop"])? {
        AttrValue::Str(s) => Some(AttrValue::Array(vec![AttrValue::Str(s)])),
        other => Some(other),
    }
}

/// Output messages as `gen_ai.output.messages`.
fn output_messages(outputs: &[Output]) -> Value {
    Value::Array(
        outputs
            .iter()
            .map(|o| {
                let parts: Vec<Value> = o
                    .parts
                    .iter()
                    .map(|p| match p {
                        Part::Text(t) => json!({"type": "text", "content": t}),
                        Part::Reasoning(t) => json!({"type": "reasoning", "content": t}),
                        Part::ToolCall {
                            id,
                            name,
                            arguments,
                        } => json!({
                            "type": "tool_call",
                            "id": id,
                            "name": name,
                            "arguments": serde_json::from_str::<Value>(arguments)
                                .unwrap_or_else(|_| Value::String(arguments.clone())),
                        }),
                    })
                    .collect();
                let mut m = json!({"role": o.role, "parts": parts});
                if let (Some(r), Some(obj)) = (&o.finish_reason, m.as_object_mut()) {
                    obj.insert("finish_reason".into(), json!(r));
                }
                m
            })
            .collect(),
    )
}

/// The span of a call: `status` is the provider's HTTP status (`None` when none arrived).
pub fn span(
    call: &Call,
    status: Option<u16>,
    obs: &Observed,
    end_unix_nano: u64,
    ending: &Ending,
) -> Span {
    let req = &call.request;
    let request_model = req.get("model").and_then(Value::as_str);
    let mut a = Attributes::default();
    let s = |v: &str| Some(AttrValue::Str(v.to_string()));
    set(&mut a, g::OPERATION_NAME, s(call.api.operation()));
    set(&mut a, g::PROVIDER_NAME, s(&call.upstream));
    set(&mut a, g::REQUEST_MODEL, request_model.and_then(s));
    set(&mut a, "server.address", s(&call.server_address));
    if call.api != Api::OpenAiEmbeddings {
        set(
            &mut a,
            g::REQUEST_MAX_TOKENS,
            json_param(
                req,
                &["max_tokens", "max_completion_tokens", "max_output_tokens"],
            ),
        );
        set(
            &mut a,
            g::REQUEST_TEMPERATURE,
            json_param(req, &["temperature"]),
        );
        set(&mut a, g::REQUEST_TOP_P, json_param(req, &["top_p"]));
        set(&mut a, g::REQUEST_TOP_K, json_param(req, &["top_k"]));
        set(
            &mut a,
            g::REQUEST_FREQUENCY_PENALTY,
            json_param(req, &["frequency_penalty"]),
        );
        set(
            &mut a,
            g::REQUEST_PRESENCE_PENALTY,
            json_param(req, &["presence_penalty"]),
        );
        set(&mut a, g::REQUEST_SEED, json_param(req, &["seed"]));
        set(&mut a, g::REQUEST_STOP_SEQUENCES, stop_sequences(req));
        set(
            &mut a,
            "gen_ai.request.choice.count",
            json_param(req, &["n"]),
        );
        set(
            &mut a,
            g::REQUEST_STREAM,
            Some(AttrValue::Bool(call.streamed())),
        );
    }
    set(
        &mut a,
        g::RESPONSE_ID,
        obs.response_id.as_deref().and_then(s),
    );
    set(
        &mut a,
        g::RESPONSE_MODEL,
        obs.response_model.as_deref().and_then(s),
    );
    let reasons = obs.finish_reasons();
    if !reasons.is_empty() {
        a.push(
            g::RESPONSE_FINISH_REASONS,
            AttrValue::Array(reasons.into_iter().map(AttrValue::Str).collect()),
        );
    }
    // Usage on the OTel convention: input counts cache reads and writes.
    let input = match (obs.input_tokens, obs.input_excludes_cache) {
        (Some(n), true) => Some(
            n.saturating_add(obs.cache_read_tokens.unwrap_or(0))
                .saturating_add(obs.cache_write_tokens.unwrap_or(0)),
        ),
        (n, _) => n,
    };
    let int = |n: Option<i64>| n.map(AttrValue::Int);
    set(&mut a, g::USAGE_INPUT_TOKENS, int(input));
    set(&mut a, g::USAGE_OUTPUT_TOKENS, int(obs.output_tokens));
    set(
        &mut a,
        g::USAGE_CACHE_READ_INPUT_TOKENS,
        int(obs.cache_read_tokens),
    );
    set(
        &mut a,
        g::USAGE_CACHE_CREATION_INPUT_TOKENS,
        int(obs.cache_write_tokens),
    );
    set(
        &mut a,
        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens",
        int(obs.cache_write_1h_tokens.filter(|n| *n > 0)),
    );
    set(
        &mut a,
        g::USAGE_REASONING_OUTPUT_TOKENS,
        int(obs.reasoning_tokens),
    );
    if let Some(first) = obs.first_chunk_unix_nano {
        let nanos = first.saturating_sub(call.start_unix_nano);
        set(
            &mut a,
            g::RESPONSE_TIME_TO_FIRST_CHUNK,
            Some(AttrValue::Double(
                std::time::Duration::from_nanos(nanos).as_secs_f64(),
            )),
        );
    }
    if let Some(code) = status {
        a.push("http.response.status_code", AttrValue::Int(i64::from(code)));
    }
    if call.capture_content {
        let (system, input) = match call.api {
            Api::AnthropicMessages => anthropic::input_messages(req),
            Api::OpenAiChat => (None, openai::chat_input_messages(req)),
            Api::OpenAiResponses => openai::responses_input_messages(req),
            Api::OpenAiEmbeddings => (None, Value::Null),
        };
        if let Some(system) = system {
            a.push(g::SYSTEM_INSTRUCTIONS, AttrValue::Str(system.to_string()));
        }
        if input.as_array().is_some_and(|m| !m.is_empty()) {
            a.push(g::INPUT_MESSAGES, AttrValue::Str(input.to_string()));
        }
        if obs.outputs.iter().any(|o| !o.parts.is_empty()) {
            a.push(
                g::OUTPUT_MESSAGES,
                AttrValue::Str(output_messages(&obs.outputs).to_string()),
            );
        }
    }
    if let Some(v) = &call.session_id {
        a.push("session.id", AttrValue::Str(v.clone()));
    }
    if let Some(v) = &call.user_id {
        a.push("user.id", AttrValue::Str(v.clone()));
    }
    if obs.unread {
        a.push("llmtrace.gateway.unread", AttrValue::Bool(true));
    }
    // The error: the gateway's own, else the provider's answer, else a failing status.
    let error = match ending {
        Ending::Failed {
            error_type,
            message,
        } => Some((error_type.clone(), message.clone())),
        Ending::Complete => obs.error.clone().or_else(|| {
            status
                .filter(|c| *c >= 400)
                .map(|c| (c.to_string(), format!("HTTP {c}")))
        }),
    };
    let (status_code, status_message) = match &error {
        Some((error_type, message)) => {
            a.push(
                llmtrace_semconv::general::ERROR_TYPE,
                AttrValue::Str(error_type.clone()),
            );
            (StatusCode::Error, message.clone())
        }
        None => (StatusCode::Unset, String::new()),
    };
    let name = match request_model {
        Some(m) => format!("{} {m}", call.api.operation()),
        None => call.api.operation().to_string(),
    };
    let mut resource = Attributes::default();
    resource.push("service.name", AttrValue::Str(call.service.clone()));
    Span {
        project: call.project.clone(),
        trace_id: call.trace_id,
        span_id: call.span_id,
        parent_span_id: call.parent_span_id,
        name,
        service: call.service.clone(),
        start_unix_nano: call.start_unix_nano,
        end_unix_nano: end_unix_nano.max(call.start_unix_nano),
        otel_kind: 3,
        status: status_code,
        status_message,
        attributes: a,
        resource_attributes: std::sync::Arc::new(resource),
        scope_name: SCOPE.into(),
        scope_version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    }
}
