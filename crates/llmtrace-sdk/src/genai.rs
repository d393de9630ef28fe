//! GenAI span helpers on the OpenTelemetry GenAI semantic conventions (keys from
//! `llmtrace-semconv`).
//!
//! Every helper makes a `tracing` span (exported through the OpenTelemetry layer), so it nests
//! under `#[tracing::instrument]` functions and `#[observe]` spans, and its children nest under it.
//!
//! ```no_run
//! use llmtrace_sdk::genai::{GenAiSpan, Message, RequestParams, Usage};
//! let call = GenAiSpan::chat("anthropic", "claude-sonnet-4-6")
//!     .with_params(&RequestParams { max_tokens: Some(1024), temperature: Some(0.2), ..Default::default() });
//! call.record_input_messages(&[Message::text("user", "hello")]);
//! // ... call the provider inside call.span() ...
//! call.record_usage(&Usage::new(120, 30).with_cache_read(100));
//! call.record_finish_reasons(&["end_turn"]);
//! ```

use llmtrace_semconv::{gen_ai, general, operation};
use opentelemetry::trace::Status;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use serde::Serialize;
use std::future::Future;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Span kind on the wire (OpenTelemetry `SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtelKind {
    /// A call to a remote service (model providers, vector stores).
    Client,
    /// In-process work (tools, in-process agents).
    Internal,
}

impl OtelKind {
    fn as_str(self) -> &'static str {
        match self {
            OtelKind::Client => "client",
            OtelKind::Internal => "internal",
        }
    }
}

/// Makes a `tracing` span named `name` (through `otel.name`) of the given kind, child of the
/// current span.
pub fn new_span(name: &str, kind: OtelKind) -> tracing::Span {
    tracing::info_span!(
        target: "llmtrace_sdk",
        "llmtrace_sdk.span",
        otel.name = name,
        otel.kind = kind.as_str()
    )
}

/// Request parameters of a model call (each one set only when present).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestParams {
    /// `gen_ai.request.max_tokens`
    pub max_tokens: Option<i64>,
    /// `gen_ai.request.temperature`
    pub temperature: Option<f64>,
    /// `gen_ai.request.top_p`
    pub top_p: Option<f64>,
    /// `gen_ai.request.top_k`
    pub top_k: Option<f64>,
    /// `gen_ai.request.frequency_penalty`
    pub frequency_penalty: Option<f64>,
    /// `gen_ai.request.presence_penalty`
    pub presence_penalty: Option<f64>,
    /// `gen_ai.request.seed`
    pub seed: Option<i64>,
    /// `gen_ai.request.stop_sequences`
    pub stop_sequences: Vec<String>,
    /// `gen_ai.request.stream` (set only when true)
    pub stream: bool,
}

/// Token usage on the convention: `input_tokens` INCLUDES cached tokens (read and written) and
/// `output_tokens` includes reasoning tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// All input tokens, cache read and cache creation included.
    pub input_tokens: Option<u64>,
    /// All output tokens, reasoning included.
    pub output_tokens: Option<u64>,
    /// Input tokens read from the provider cache.
    pub cache_read_input_tokens: Option<u64>,
    /// Input tokens written to the provider cache.
    pub cache_creation_input_tokens: Option<u64>,
    /// Reasoning (thinking) tokens.
    pub reasoning_output_tokens: Option<u64>,
}

impl Usage {
    /// Input (cache included) and output tokens.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens: Some(input_tokens),
            output_tokens: Some(output_tokens),
            ..Default::default()
        }
    }

    /// Adds cache-read tokens (already counted in `input_tokens`).
    pub fn with_cache_read(mut self, n: u64) -> Self {
        self.cache_read_input_tokens = Some(n);
        self
    }

    /// Adds cache-creation tokens (already counted in `input_tokens`).
    pub fn with_cache_creation(mut self, n: u64) -> Self {
        self.cache_creation_input_tokens = Some(n);
        self
    }

    /// Adds reasoning tokens (already counted in `output_tokens`).
    pub fn with_reasoning(mut self, n: u64) -> Self {
        self.reasoning_output_tokens = Some(n);
        self
    }

    /// From Anthropic's `usage`, whose `input_tokens` EXCLUDES the cache: the cache parts are
    /// added to the input.
    pub fn from_anthropic(
        input_tokens: u64,
        output_tokens: u64,
        cache_read_input_tokens: u64,
        cache_creation_input_tokens: u64,
    ) -> Self {
        Usage {
            input_tokens: Some(
                input_tokens + cache_read_input_tokens + cache_creation_input_tokens,
            ),
            output_tokens: Some(output_tokens),
            cache_read_input_tokens: Some(cache_read_input_tokens),
            cache_creation_input_tokens: Some(cache_creation_input_tokens),
            reasoning_output_tokens: None,
        }
    }
}

/// One part of a message (semconv `gen_ai.input.messages` / `gen_ai.output.messages` parts).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    /// Text.
    Text {
        /// The text.
        content: String,
    },
    /// A tool call the model asked for.
    ToolCall {
        /// Call id.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Tool name.
        name: String,
        /// Arguments (JSON).
        arguments: serde_json::Value,
    },
    /// The result of a tool call.
    ToolCallResponse {
        /// Call id.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Result (JSON).
        response: serde_json::Value,
    },
    /// Reasoning text.
    Reasoning {
        /// The reasoning.
        content: String,
    },
}

/// A chat message on the semconv message schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Parts of the message.
    pub parts: Vec<Part>,
    /// Finish reason (output messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

impl Message {
    /// A one-part text message.
    pub fn text(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            parts: vec![Part::Text {
                content: content.into(),
            }],
            finish_reason: None,
        }
    }

    /// Sets the finish reason.
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }
}

fn string_array<S: AsRef<str>>(items: &[S]) -> Value {
    Value::Array(Array::String(
        items
            .iter()
            .map(|s| StringValue::from(s.as_ref().to_string()))
            .collect(),
    ))
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A GenAI span (model call, embeddings, retrieval, rerank, tool, agent). It ends when dropped
/// (or with [`GenAiSpan::end`]).
#[derive(Debug, Clone)]
pub struct GenAiSpan {
    span: tracing::Span,
}

impl GenAiSpan {
    /// An inference span `{operation} {model}` (CLIENT) with `gen_ai.operation.name`,
    /// `gen_ai.provider.name` and `gen_ai.request.model`.
    pub fn inference(operation_name: &str, provider: &str, model: &str) -> Self {
        let name = if model.is_empty() {
            operation_name.to_string()
        } else {
            format!("{operation_name} {model}")
        };
        let s = GenAiSpan {
            span: new_span(&name, OtelKind::Client),
        };
        s.set(gen_ai::OPERATION_NAME, operation_name.to_string());
        if !provider.is_empty() {
            s.set(gen_ai::PROVIDER_NAME, provider.to_string());
        }
        if !model.is_empty() {
            s.set(gen_ai::REQUEST_MODEL, model.to_string());
        }
        s
    }

    /// A chat call: `chat {model}`.
    pub fn chat(provider: &str, model: &str) -> Self {
        Self::inference(operation::CHAT, provider, model)
    }

    /// An embeddings call: `embeddings {model}`.
    pub fn embeddings(provider: &str, model: &str) -> Self {
        Self::inference(operation::EMBEDDINGS, provider, model)
    }

    /// A retrieval: `retrieval {data_source}` (CLIENT) with `gen_ai.data_source.id`.
    pub fn retrieval(data_source: &str) -> Self {
        let name = if data_source.is_empty() {
            operation::RETRIEVAL.to_string()
        } else {
            format!("{} {data_source}", operation::RETRIEVAL)
        };
        let s = GenAiSpan {
            span: new_span(&name, OtelKind::Client),
        };
        s.set(gen_ai::OPERATION_NAME, operation::RETRIEVAL);
        if !data_source.is_empty() {
            s.set(gen_ai::DATA_SOURCE_ID, data_source.to_string());
        }
        s
    }

    /// A reranking step: `rerank {model}` (operation `rerank`, not an OTel value, read by llmtrace
    /// as a reranker span).
    pub fn rerank(provider: &str, model: &str) -> Self {
        Self::inference("rerank", provider, model)
    }

    /// A tool execution: `execute_tool {tool}` (INTERNAL) with `gen_ai.tool.name`.
    pub fn execute_tool(tool_name: &str) -> Self {
        let s = GenAiSpan {
            span: new_span(
                &format!("{} {tool_name}", operation::EXECUTE_TOOL),
                OtelKind::Internal,
            ),
        };
        s.set(gen_ai::OPERATION_NAME, operation::EXECUTE_TOOL);
        s.set(gen_ai::TOOL_NAME, tool_name.to_string());
        s
    }

    /// An in-process agent invocation: `invoke_agent {agent}` (INTERNAL) with `gen_ai.agent.name`.
    pub fn invoke_agent(agent_name: &str) -> Self {
        let name = if agent_name.is_empty() {
            operation::INVOKE_AGENT.to_string()
        } else {
            format!("{} {agent_name}", operation::INVOKE_AGENT)
        };
        let s = GenAiSpan {
            span: new_span(&name, OtelKind::Internal),
        };
        s.set(gen_ai::OPERATION_NAME, operation::INVOKE_AGENT);
        if !agent_name.is_empty() {
            s.set(gen_ai::AGENT_NAME, agent_name.to_string());
        }
        s
    }

    /// Wraps an existing `tracing` span.
    pub fn from_span(span: tracing::Span) -> Self {
        GenAiSpan { span }
    }

    /// The underlying `tracing` span (enter it, or `.instrument()` a future with it).
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Sets any attribute.
    pub fn set(&self, key: &'static str, value: impl Into<Value>) {
        self.span.set_attribute(key, value);
    }

    /// Records the request parameters.
    pub fn with_params(self, p: &RequestParams) -> Self {
        self.record_params(p);
        self
    }

    /// Records the request parameters.
    pub fn record_params(&self, p: &RequestParams) {
        if let Some(v) = p.max_tokens {
            self.set(gen_ai::REQUEST_MAX_TOKENS, v);
        }
        if let Some(v) = p.temperature {
            self.set(gen_ai::REQUEST_TEMPERATURE, v);
        }
        if let Some(v) = p.top_p {
            self.set(gen_ai::REQUEST_TOP_P, v);
        }
        if let Some(v) = p.top_k {
            self.set(gen_ai::REQUEST_TOP_K, v);
        }
        if let Some(v) = p.frequency_penalty {
            self.set(gen_ai::REQUEST_FREQUENCY_PENALTY, v);
        }
        if let Some(v) = p.presence_penalty {
            self.set(gen_ai::REQUEST_PRESENCE_PENALTY, v);
        }
        if let Some(v) = p.seed {
            self.set(gen_ai::REQUEST_SEED, v);
        }
        if !p.stop_sequences.is_empty() {
            self.set(
                gen_ai::REQUEST_STOP_SEQUENCES,
                string_array(&p.stop_sequences),
            );
        }
        if p.stream {
            self.set(gen_ai::REQUEST_STREAM, true);
        }
    }

    /// Records usage (each present field; see [`Usage`] for the convention).
    pub fn record_usage(&self, u: &Usage) {
        if let Some(v) = u.input_tokens {
            self.set(gen_ai::USAGE_INPUT_TOKENS, int(v));
        }
        if let Some(v) = u.output_tokens {
            self.set(gen_ai::USAGE_OUTPUT_TOKENS, int(v));
        }
        if let Some(v) = u.cache_read_input_tokens {
            self.set(gen_ai::USAGE_CACHE_READ_INPUT_TOKENS, int(v));
        }
        if let Some(v) = u.cache_creation_input_tokens {
            self.set(gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS, int(v));
        }
        if let Some(v) = u.reasoning_output_tokens {
            self.set(gen_ai::USAGE_REASONING_OUTPUT_TOKENS, int(v));
        }
    }

    /// Records `gen_ai.response.id`.
    pub fn record_response_id(&self, id: &str) {
        self.set(gen_ai::RESPONSE_ID, id.to_string());
    }

    /// Records `gen_ai.response.model`.
    pub fn record_response_model(&self, model: &str) {
        self.set(gen_ai::RESPONSE_MODEL, model.to_string());
    }

    /// Records `gen_ai.response.finish_reasons`.
    pub fn record_finish_reasons<S: AsRef<str>>(&self, reasons: &[S]) {
        self.set(gen_ai::RESPONSE_FINISH_REASONS, string_array(reasons));
    }

    /// Records `gen_ai.response.time_to_first_chunk` (seconds).
    pub fn record_time_to_first_chunk(&self, seconds: f64) {
        self.set(gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK, seconds);
    }

    /// Records `gen_ai.input.messages`, only when content capture is on.
    pub fn record_input_messages(&self, messages: &[Message]) {
        self.record_json_content(gen_ai::INPUT_MESSAGES, &messages);
    }

    /// Records `gen_ai.output.messages`, only when content capture is on.
    pub fn record_output_messages(&self, messages: &[Message]) {
        self.record_json_content(gen_ai::OUTPUT_MESSAGES, &messages);
    }

    /// Records `gen_ai.system_instructions` (a list of parts), only when content capture is on.
    pub fn record_system_instructions(&self, text: &str) {
        self.record_json_content(
            gen_ai::SYSTEM_INSTRUCTIONS,
            &[Part::Text {
                content: text.to_string(),
            }],
        );
    }

    /// Records `gen_ai.tool.call.id`.
    pub fn record_tool_call_id(&self, id: &str) {
        self.set(gen_ai::TOOL_CALL_ID, id.to_string());
    }

    /// Records tool arguments (`gen_ai.tool.call.arguments`), only when content capture is on.
    pub fn record_tool_arguments<T: Serialize + ?Sized>(&self, arguments: &T) {
        self.record_json_content(gen_ai::TOOL_CALL_ARGUMENTS, arguments);
    }

    /// Records a tool result (`gen_ai.tool.call.result`), only when content capture is on.
    pub fn record_tool_result<T: Serialize + ?Sized>(&self, result: &T) {
        self.record_json_content(gen_ai::TOOL_CALL_RESULT, result);
    }

    /// Records the retrieval query (`gen_ai.retrieval.query.text`), only when content capture is on.
    pub fn record_retrieval_query(&self, query: &str) {
        if crate::capture_content() {
            self.set(gen_ai::RETRIEVAL_QUERY_TEXT, query.to_string());
        }
    }

    /// Records `gen_ai.conversation.id`.
    pub fn record_conversation_id(&self, id: &str) {
        self.set(gen_ai::CONVERSATION_ID, id.to_string());
    }

    /// Serializes `value` to a JSON string attribute when content capture is on.
    pub fn record_json_content<T: Serialize + ?Sized>(&self, key: &'static str, value: &T) {
        if !crate::capture_content() {
            return;
        }
        match serde_json::to_string(value) {
            Ok(json) => self.set(key, json),
            Err(e) => {
                tracing::debug!(target: "llmtrace_sdk", key, error = %e, "cannot serialize content")
            }
        }
    }

    /// Marks the span failed: `error.type` and status ERROR with `message`.
    pub fn record_error(&self, error_type: &str, message: &str) {
        record_error(&self.span, error_type, message);
    }

    /// Runs `f` inside the span.
    pub fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        self.span.in_scope(f)
    }

    /// Runs a future inside the span.
    pub fn instrument<F: Future>(&self, fut: F) -> tracing::instrument::Instrumented<F> {
        fut.instrument(self.span.clone())
    }

    /// Ends the span now (it also ends when every clone is dropped).
    pub fn end(self) {}
}

/// Marks any `tracing` span failed: `error.type` and status ERROR.
pub fn record_error(span: &tracing::Span, error_type: &str, message: &str) {
    span.set_attribute(general::ERROR_TYPE, error_type.to_string());
    span.set_status(Status::error(message.to_string()));
}

/// Sets an attribute on the current span, e.g. `user.id` or `session.id`.
pub fn set_current_attribute(key: &'static str, value: impl Into<Value>) {
    tracing::Span::current().set_attribute(key, value);
}

/// A `KeyValue`, for APIs that take OpenTelemetry attributes (e.g. span events).
pub fn kv(key: &'static str, value: impl Into<Value>) -> KeyValue {
    KeyValue::new(key, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_usage_adds_cache_to_input() {
        let u = Usage::from_anthropic(10, 5, 100, 20);
        assert_eq!(u.input_tokens, Some(130));
        assert_eq!(u.cache_read_input_tokens, Some(100));
    }

    #[test]
    fn message_schema() {
        let m = Message::text("user", "hi");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"role":"user","parts":[{"type":"text","content":"hi"}]}"#
        );
    }
}
