//! Automatic instrumentation of provider calls: a `reqwest-middleware` middleware.
//!
//! It recognizes, by request (POST and the URL path):
//!
//! | path ends with | provider | operation |
//! |---|---|---|
//! | `/v1/messages` (or any `/messages` with an `anthropic-version` header) | `anthropic` | `chat` |
//! | `/chat/completions` | `openai` | `chat` |
//! | `/responses` | `openai` | `chat` (`openai.api.type=responses`) |
//! | `/embeddings` | `openai` | `embeddings` |
//!
//! For those it makes a `{operation} {model}` CLIENT span with the request parameters, the
//! response id, model, finish reasons and usage (normalized: input includes cached tokens; for
//! Anthropic the cache parts are added), an error with `error.type` = the HTTP status code or the
//! transport error, and for streaming (SSE) responses the time to the first chunk and the final
//! usage, read by observing the body as the caller consumes it: nothing is buffered for the
//! caller and nothing is delayed. Every request (recognized or not) carries a W3C `traceparent`.
//! Messages are recorded only when content capture is on ([`crate::capture_content`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());
//! let resp = client
//!     .post("https://api.anthropic.com/v1/messages")
//!     .header("anthropic-version", "2023-06-01")
//!     .body(r#"{"model":"claude-sonnet-4-6","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}"#)
//!     .send()
//!     .await?;
//! # let _ = resp; Ok(()) }
//! ```

use crate::genai::{GenAiSpan, Message, Part, RequestParams, Usage};
use bytes::Bytes;
use http::Extensions;
use http_body::{Body as HttpBody, Frame, SizeHint};
use llmtrace_semconv::{general, operation};
use reqwest::{Request, Response};
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};
use serde_json::Value;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Largest non-streaming response body copied for usage parsing; larger ones are not parsed.
pub const MAX_OBSERVED_BODY_BYTES: usize = 8 << 20;

/// The middleware. Add it to a `reqwest_middleware::ClientBuilder`, or use [`traced_client`].
#[derive(Debug, Clone, Default)]
pub struct LlmTraceMiddleware {
    _private: (),
}

impl LlmTraceMiddleware {
    /// A middleware with the defaults.
    pub fn new() -> Self {
        LlmTraceMiddleware::default()
    }
}

/// `client` with [`LlmTraceMiddleware`].
pub fn traced_client(client: reqwest::Client) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(client)
        .with(LlmTraceMiddleware::new())
        .build()
}

/// Which API a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Anthropic Messages.
    AnthropicMessages,
    /// OpenAI Chat Completions.
    OpenAiChat,
    /// OpenAI Responses.
    OpenAiResponses,
    /// OpenAI Embeddings.
    OpenAiEmbeddings,
}

impl Api {
    /// Recognizes a request (POST only) by its path and headers.
    pub fn detect(req: &Request) -> Option<Api> {
        if req.method() != reqwest::Method::POST {
            return None;
        }
        let path = req.url().path().trim_end_matches('/');
        if path.ends_with("/v1/messages")
            || (path.ends_with("/messages") && req.headers().contains_key("anthropic-version"))
        {
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

    fn provider(self) -> &'static str {
        match self {
            Api::AnthropicMessages => "anthropic",
            _ => "openai",
        }
    }

    fn operation(self) -> &'static str {
        match self {
            Api::OpenAiEmbeddings => operation::EMBEDDINGS,
            _ => operation::CHAT,
        }
    }
}

fn traceparent(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

fn inject(req: &mut Request, span: &tracing::Span) {
    if let Some(tp) = traceparent(span) {
        if let Ok(v) = http::HeaderValue::from_str(&tp) {
            req.headers_mut().insert("traceparent", v);
        }
    }
}

fn num_u64(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn params_of(api: Api, body: &Value) -> RequestParams {
    let f = |k: &str| body.get(k).and_then(Value::as_f64);
    let i = |k: &str| body.get(k).and_then(Value::as_i64);
    let stop = match body.get(if api == Api::AnthropicMessages {
        "stop_sequences"
    } else {
        "stop"
    }) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    RequestParams {
        max_tokens: i("max_tokens")
            .or_else(|| i("max_completion_tokens"))
            .or_else(|| i("max_output_tokens")),
        temperature: f("temperature"),
        top_p: f("top_p"),
        top_k: f("top_k"),
        frequency_penalty: f("frequency_penalty"),
        presence_penalty: f("presence_penalty"),
        seed: i("seed"),
        stop_sequences: stop,
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
    }
}

/// Text of an Anthropic/OpenAI content value: a string, or the text of its text blocks.
fn content_parts(content: &Value) -> Vec<Part> {
    match content {
        Value::String(s) => vec![Part::Text { content: s.clone() }],
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| {
                let ty = b.get("type").and_then(Value::as_str).unwrap_or("");
                match ty {
                    "text" | "input_text" | "output_text" => Some(Part::Text {
                        content: b.get("text")?.as_str()?.to_string(),
                    }),
                    "thinking" => Some(Part::Reasoning {
                        content: b.get("thinking")?.as_str()?.to_string(),
                    }),
                    "tool_use" => Some(Part::ToolCall {
                        id: b.get("id").and_then(Value::as_str).map(str::to_string),
                        name: b.get("name")?.as_str()?.to_string(),
                        arguments: b.get("input").cloned().unwrap_or(Value::Null),
                    }),
                    "tool_result" => Some(Part::ToolCallResponse {
                        id: b
                            .get("tool_use_id")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        response: b.get("content").cloned().unwrap_or(Value::Null),
                    }),
                    _ => None,
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn input_messages(api: Api, body: &Value) -> (Vec<Message>, Option<String>) {
    let mut system = None;
    let mut out = Vec::new();
    match api {
        Api::AnthropicMessages | Api::OpenAiChat => {
            if let Some(s) = body.get("system") {
                let text: Vec<String> = content_parts(s)
                    .into_iter()
                    .filter_map(|p| match p {
                        Part::Text { content } => Some(content),
                        _ => None,
                    })
                    .collect();
                system = Some(text.join("\n"));
            }
            for m in body
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
                let mut parts = m.get("content").map(content_parts).unwrap_or_default();
                for tc in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    parts.push(openai_tool_call(tc));
                }
                if let Some(id) = m.get("tool_call_id").and_then(Value::as_str) {
                    parts = vec![Part::ToolCallResponse {
                        id: Some(id.to_string()),
                        response: m.get("content").cloned().unwrap_or(Value::Null),
                    }];
                }
                out.push(Message {
                    role: role.to_string(),
                    parts,
                    finish_reason: None,
                });
            }
        }
        Api::OpenAiResponses => {
            system = body
                .get("instructions")
                .and_then(Value::as_str)
                .map(str::to_string);
            match body.get("input") {
                Some(Value::String(s)) => out.push(Message::text("user", s.clone())),
                Some(Value::Array(items)) => {
                    for m in items {
                        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
                        out.push(Message {
                            role: role.to_string(),
                            parts: m.get("content").map(content_parts).unwrap_or_default(),
                            finish_reason: None,
                        });
                    }
                }
                _ => {}
            }
        }
        Api::OpenAiEmbeddings => {}
    }
    (out, system)
}

fn openai_tool_call(tc: &Value) -> Part {
    let f = tc.get("function").unwrap_or(&Value::Null);
    let args = f
        .get("arguments")
        .and_then(Value::as_str)
        .map(|s| serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string())))
        .unwrap_or(Value::Null);
    Part::ToolCall {
        id: tc.get("id").and_then(Value::as_str).map(str::to_string),
        name: f
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        arguments: args,
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl Middleware for LlmTraceMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let Some(api) = Api::detect(&req) else {
            inject(&mut req, &tracing::Span::current());
            return next.run(req, extensions).await;
        };
        let body: Value = req
            .body()
            .and_then(|b| b.as_bytes())
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let (call, params) = start_call(api, api.provider(), &body);
        if let Some(host) = req.url().host_str() {
            call.set(general::SERVER_ADDRESS, host.to_string());
        }
        if let Some(port) = req.url().port_or_known_default() {
            call.set("server.port", i64::from(port));
        }
        inject(&mut req, call.span());
        let start = Instant::now();
        let result = next
            .run(req, extensions)
            .instrument(call.span().clone())
            .await;
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                let ty = match &e {
                    reqwest_middleware::Error::Reqwest(r) if r.is_timeout() => "timeout",
                    reqwest_middleware::Error::Reqwest(r) if r.is_connect() => "connect_error",
                    reqwest_middleware::Error::Reqwest(_) => "request_error",
                    reqwest_middleware::Error::Middleware(_) => "middleware_error",
                };
                call.record_error(ty, &e.to_string());
                return Err(e);
            }
        };
        let status = resp.status();
        if !status.is_success() {
            call.record_error(status.as_str(), &format!("HTTP {status}"));
            return Ok(resp);
        }
        let streaming = params.stream
            || resp
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
        Ok(wrap_response(
            resp,
            Observer::new(call, api, streaming, start),
        ))
    }
}

/// The span of a call about to be made, as a child of the current span, with the request's
/// parameters and (when content capture is on) its messages; `body` is the request as JSON.
pub(crate) fn start_call(api: Api, provider: &str, body: &Value) -> (GenAiSpan, RequestParams) {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    let call = GenAiSpan::inference(api.operation(), provider, model);
    let params = params_of(api, body);
    call.record_params(&params);
    match api {
        Api::OpenAiChat => call.set("openai.api.type", "chat_completions"),
        Api::OpenAiResponses => call.set("openai.api.type", "responses"),
        _ => {}
    }
    if crate::capture_content() {
        let (messages, system) = input_messages(api, body);
        if !messages.is_empty() {
            call.record_input_messages(&messages);
        }
        if let Some(s) = system.filter(|s| !s.is_empty()) {
            call.record_system_instructions(&s);
        }
    }
    (call, params)
}

fn wrap_response(resp: Response, observer: Observer) -> Response {
    use reqwest::ResponseBuilderExt as _;
    let url = resp.url().clone();
    let http_resp: http::Response<reqwest::Body> = resp.into();
    let (mut parts, body) = http_resp.into_parts();
    if let Ok(with_url) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(with_url.into_parts().0.extensions);
    }
    let observed = ObservedBody {
        inner: body,
        observer: Some(observer),
    };
    Response::from(http::Response::from_parts(
        parts,
        reqwest::Body::wrap(observed),
    ))
}

/// What the response told so far.
#[derive(Debug, Default)]
struct StreamState {
    id: Option<String>,
    model: Option<String>,
    finish_reasons: Vec<String>,
    usage: Usage,
    text: String,
    reasoning: String,
    tool_calls: Vec<Part>,
    error: Option<(String, String)>,
}

/// Reads a call's answer as it passes (a whole JSON body, or server-sent events) and records
/// it on the call's span when it ends.
pub(crate) struct Observer {
    call: Option<GenAiSpan>,
    api: Api,
    streaming: bool,
    start: Instant,
    first_chunk: bool,
    /// Partial SSE line (streaming).
    line: Vec<u8>,
    /// Copy of a non-streaming body, up to [`MAX_OBSERVED_BODY_BYTES`].
    body: Vec<u8>,
    state: StreamState,
    capture: bool,
}

impl Observer {
    /// An observer of `call`'s answer (`streaming`: server-sent events), started at `start`.
    pub(crate) fn new(call: GenAiSpan, api: Api, streaming: bool, start: Instant) -> Self {
        Observer {
            call: Some(call),
            api,
            streaming,
            start,
            first_chunk: false,
            line: Vec::new(),
            body: Vec::new(),
            state: StreamState::default(),
            capture: crate::capture_content(),
        }
    }

    /// Whether the first chunk of a stream has arrived.
    pub(crate) fn started(&self) -> bool {
        self.first_chunk
    }

    /// Reads the next bytes of the answer.
    pub(crate) fn on_data(&mut self, data: &[u8]) {
        if !self.first_chunk && !data.is_empty() {
            self.first_chunk = true;
            if self.streaming {
                if let Some(call) = &self.call {
                    call.record_time_to_first_chunk(self.start.elapsed().as_secs_f64());
                }
            }
        }
        if !self.streaming {
            if self.body.len() + data.len() <= MAX_OBSERVED_BODY_BYTES {
                self.body.extend_from_slice(data);
            }
            return;
        }
        let mut rest = data;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..pos]);
            let line = std::mem::take(&mut self.line);
            self.on_line(&line);
            rest = &rest[pos + 1..];
        }
        if self.line.len() + rest.len() <= MAX_OBSERVED_BODY_BYTES {
            self.line.extend_from_slice(rest);
        }
    }

    fn on_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let data = data.trim_ascii();
        if data.is_empty() || data == b"[DONE]" {
            return;
        }
        if let Ok(event) = serde_json::from_slice::<Value>(data) {
            self.on_event(&event);
        }
    }

    fn on_event(&mut self, ev: &Value) {
        let st = &mut self.state;
        match self.api {
            Api::AnthropicMessages => match ev.get("type").and_then(Value::as_str) {
                Some("message_start") => {
                    if let Some(m) = ev.get("message") {
                        read_anthropic_message(st, m, false);
                    }
                }
                Some("message_delta") => {
                    if let Some(r) = ev
                        .get("delta")
                        .and_then(|d| d.get("stop_reason"))
                        .and_then(Value::as_str)
                    {
                        st.finish_reasons = vec![r.to_string()];
                    }
                    if let Some(u) = ev.get("usage") {
                        merge_anthropic_usage(st, u);
                    }
                }
                Some("content_block_delta") => {
                    let d = ev.get("delta").unwrap_or(&Value::Null);
                    if self.capture {
                        if let Some(t) = d.get("text").and_then(Value::as_str) {
                            st.text.push_str(t);
                        }
                        if let Some(t) = d.get("thinking").and_then(Value::as_str) {
                            st.reasoning.push_str(t);
                        }
                    }
                }
                Some("error") => {
                    let e = ev.get("error").unwrap_or(&Value::Null);
                    st.error = Some((
                        e.get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("stream_error")
                            .to_string(),
                        e.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    ));
                }
                _ => {}
            },
            Api::OpenAiChat => {
                if let Some(id) = ev.get("id").and_then(Value::as_str) {
                    st.id = Some(id.to_string());
                }
                if let Some(m) = ev.get("model").and_then(Value::as_str) {
                    st.model = Some(m.to_string());
                }
                for c in ev
                    .get("choices")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(r) = c.get("finish_reason").and_then(Value::as_str) {
                        st.finish_reasons.push(r.to_string());
                    }
                    if self.capture {
                        if let Some(t) = c
                            .get("delta")
                            .and_then(|d| d.get("content"))
                            .and_then(Value::as_str)
                        {
                            st.text.push_str(t);
                        }
                    }
                }
                if let Some(u) = ev.get("usage").filter(|u| u.is_object()) {
                    st.usage = openai_usage(u);
                }
                if let Some(e) = ev.get("error") {
                    st.error = Some(openai_error(e));
                }
            }
            Api::OpenAiResponses => match ev.get("type").and_then(Value::as_str) {
                Some("response.created") | Some("response.in_progress") => {
                    if let Some(r) = ev.get("response") {
                        st.id = r.get("id").and_then(Value::as_str).map(str::to_string);
                        st.model = r.get("model").and_then(Value::as_str).map(str::to_string);
                    }
                }
                Some("response.output_text.delta") if self.capture => {
                    if let Some(t) = ev.get("delta").and_then(Value::as_str) {
                        st.text.push_str(t);
                    }
                }
                Some("response.completed")
                | Some("response.incomplete")
                | Some("response.failed") => {
                    if let Some(r) = ev.get("response") {
                        let text = std::mem::take(&mut st.text);
                        read_responses_object(st, r, self.capture);
                        if st.text.is_empty() {
                            st.text = text;
                        }
                    }
                }
                Some("error") => {
                    st.error = Some(openai_error(ev));
                }
                _ => {}
            },
            Api::OpenAiEmbeddings => {}
        }
    }

    /// Records everything on the span and ends it.
    pub(crate) fn finish(&mut self, error: Option<String>) {
        let Some(call) = self.call.take() else {
            return;
        };
        if !self.streaming {
            if let Ok(v) = serde_json::from_slice::<Value>(&self.body) {
                let st = &mut self.state;
                match self.api {
                    Api::AnthropicMessages => read_anthropic_message(st, &v, self.capture),
                    Api::OpenAiChat => {
                        st.id = v.get("id").and_then(Value::as_str).map(str::to_string);
                        st.model = v.get("model").and_then(Value::as_str).map(str::to_string);
                        for c in v
                            .get("choices")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(r) = c.get("finish_reason").and_then(Value::as_str) {
                                st.finish_reasons.push(r.to_string());
                            }
                            if self.capture {
                                let m = c.get("message").unwrap_or(&Value::Null);
                                if let Some(t) = m.get("content").and_then(Value::as_str) {
                                    st.text.push_str(t);
                                }
                                for tc in m
                                    .get("tool_calls")
                                    .and_then(Value::as_array)
                                    .into_iter()
                                    .flatten()
                                {
                                    st.tool_calls.push(openai_tool_call(tc));
                                }
                            }
                        }
                        if let Some(u) = v.get("usage") {
                            st.usage = openai_usage(u);
                        }
                    }
                    Api::OpenAiResponses => read_responses_object(st, &v, self.capture),
                    Api::OpenAiEmbeddings => {
                        st.model = v.get("model").and_then(Value::as_str).map(str::to_string);
                        if let Some(u) = v.get("usage") {
                            st.usage.input_tokens =
                                num_u64(u, "prompt_tokens").or_else(|| num_u64(u, "input_tokens"));
                        }
                    }
                }
            }
        }
        let st = &self.state;
        if let Some(id) = &st.id {
            call.record_response_id(id);
        }
        if let Some(m) = &st.model {
            call.record_response_model(m);
        }
        if !st.finish_reasons.is_empty() {
            call.record_finish_reasons(&st.finish_reasons);
        }
        call.record_usage(&st.usage);
        if self.capture && self.api != Api::OpenAiEmbeddings {
            let mut parts = Vec::new();
            if !st.reasoning.is_empty() {
                parts.push(Part::Reasoning {
                    content: st.reasoning.clone(),
                });
            }
            if !st.text.is_empty() {
                parts.push(Part::Text {
                    content: st.text.clone(),
                });
            }
            parts.extend(st.tool_calls.iter().cloned());
            if !parts.is_empty() {
                call.record_output_messages(&[Message {
                    role: "assistant".into(),
                    parts,
                    finish_reason: st.finish_reasons.first().cloned(),
                }]);
            }
        }
        if let Some((ty, msg)) = &st.error {
            call.record_error(ty, msg);
        } else if let Some(e) = error {
            call.record_error("stream_interrupted", &e);
        }
        // tracing-opentelemetry ends a span at its last exit, not when it is dropped: enter it
        // once more so a streamed call ends when its stream did, not when its headers came.
        call.span().in_scope(|| {});
    }
}

fn read_anthropic_message(st: &mut StreamState, m: &Value, capture: bool) {
    if let Some(id) = m.get("id").and_then(Value::as_str) {
        st.id = Some(id.to_string());
    }
    if let Some(model) = m.get("model").and_then(Value::as_str) {
        st.model = Some(model.to_string());
    }
    if let Some(r) = m.get("stop_reason").and_then(Value::as_str) {
        st.finish_reasons = vec![r.to_string()];
    }
    if let Some(u) = m.get("usage") {
        merge_anthropic_usage(st, u);
    }
    if capture {
        for p in m.get("content").map(content_parts).unwrap_or_default() {
            match p {
                Part::Text { content } => st.text.push_str(&content),
                Part::Reasoning { content } => st.reasoning.push_str(&content),
                other => st.tool_calls.push(other),
            }
        }
    }
}

/// Anthropic usage: `input_tokens` excludes the cache, so the total input is recomputed from the
/// latest values of the three parts. Later events (`message_delta`) override earlier ones.
fn merge_anthropic_usage(st: &mut StreamState, u: &Value) {
    let prev_uncached = st.usage.input_tokens.map(|i| {
        i.saturating_sub(
            st.usage.cache_read_input_tokens.unwrap_or(0)
                + st.usage.cache_creation_input_tokens.unwrap_or(0),
        )
    });
    let uncached = num_u64(u, "input_tokens").or(prev_uncached);
    let read = num_u64(u, "cache_read_input_tokens").or(st.usage.cache_read_input_tokens);
    let creation =
        num_u64(u, "cache_creation_input_tokens").or(st.usage.cache_creation_input_tokens);
    if let Some(out) = num_u64(u, "output_tokens") {
        st.usage.output_tokens = Some(out);
    }
    st.usage.cache_read_input_tokens = read;
    st.usage.cache_creation_input_tokens = creation;
    st.usage.input_tokens = uncached.map(|i| i + read.unwrap_or(0) + creation.unwrap_or(0));
}

/// OpenAI usage (chat `prompt_tokens`, responses `input_tokens`): input already includes cached.
fn openai_usage(u: &Value) -> Usage {
    let input = num_u64(u, "prompt_tokens").or_else(|| num_u64(u, "input_tokens"));
    let output = num_u64(u, "completion_tokens").or_else(|| num_u64(u, "output_tokens"));
    let cached = u
        .get("prompt_tokens_details")
        .or_else(|| u.get("input_tokens_details"))
        .and_then(|d| num_u64(d, "cached_tokens"));
    let reasoning = u
        .get("completion_tokens_details")
        .or_else(|| u.get("output_tokens_details"))
        .and_then(|d| num_u64(d, "reasoning_tokens"));
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: None,
        reasoning_output_tokens: reasoning,
    }
}

fn openai_error(e: &Value) -> (String, String) {
    let e = e.get("error").unwrap_or(e);
    (
        e.get("type")
            .or_else(|| e.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("stream_error")
            .to_string(),
        e.get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    )
}

fn read_responses_object(st: &mut StreamState, r: &Value, capture: bool) {
    if let Some(id) = r.get("id").and_then(Value::as_str) {
        st.id = Some(id.to_string());
    }
    if let Some(m) = r.get("model").and_then(Value::as_str) {
        st.model = Some(m.to_string());
    }
    let reason = match r.get("status").and_then(Value::as_str) {
        Some("completed") => Some("stop".to_string()),
        Some("incomplete") => Some(
            r.get("incomplete_details")
                .and_then(|d| d.get("reason"))
                .and_then(Value::as_str)
                .unwrap_or("incomplete")
                .to_string(),
        ),
        Some("failed") => Some("error".to_string()),
        _ => None,
    };
    if let Some(reason) = reason {
        st.finish_reasons = vec![reason];
    }
    if let Some(e) = r.get("error").filter(|e| e.is_object()) {
        st.error = Some(openai_error(e));
    }
    if let Some(u) = r.get("usage").filter(|u| u.is_object()) {
        st.usage = openai_usage(u);
    }
    if capture {
        for item in r
            .get("output")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    for p in item.get("content").map(content_parts).unwrap_or_default() {
                        if let Part::Text { content } = p {
                            st.text.push_str(&content);
                        }
                    }
                }
                Some("function_call") => st.tool_calls.push(Part::ToolCall {
                    id: item
                        .get("call_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    name: item
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    arguments: item
                        .get("arguments")
                        .and_then(Value::as_str)
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or(Value::Null),
                }),
                _ => {}
            }
        }
    }
}

/// The response body, observed as the caller reads it.
struct ObservedBody {
    inner: reqwest::Body,
    observer: Option<Observer>,
}

impl HttpBody for ObservedBody {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        if let Some(obs) = this.observer.as_mut() {
            match &r {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        obs.on_data(data);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    obs.finish(Some(e.to_string()));
                    this.observer = None;
                }
                Poll::Ready(None) => {
                    obs.finish(None);
                    this.observer = None;
                }
                Poll::Pending => {}
            }
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        if let Some(mut obs) = self.observer.take() {
            if !obs.streaming || obs.first_chunk {
                obs.finish(None);
            } else {
                obs.finish(Some("response dropped before it was read".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_stream_usage_merges() {
        let mut st = StreamState::default();
        merge_anthropic_usage(
            &mut st,
            &serde_json::json!({"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 1}),
        );
        merge_anthropic_usage(&mut st, &serde_json::json!({"output_tokens": 42}));
        assert_eq!(st.usage.input_tokens, Some(115));
        assert_eq!(st.usage.output_tokens, Some(42));
        assert_eq!(st.usage.cache_read_input_tokens, Some(100));
    }

    #[test]
    fn openai_usage_details() {
        let u = openai_usage(
            &serde_json::json!({"prompt_tokens": 50, "completion_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 30}, "completion_tokens_details": {"reasoning_tokens": 7}}),
        );
        assert_eq!(u.input_tokens, Some(50));
        assert_eq!(u.cache_read_input_tokens, Some(30));
        assert_eq!(u.reasoning_output_tokens, Some(7));
    }
}
