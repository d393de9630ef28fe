//! Run-time support of `#[observe]`.

use crate::genai::{new_span, OtelKind};
use llmtrace_semconv::{gen_ai, operation};
use serde::Serialize;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Attribute with the captured input (JSON).
pub const INPUT_VALUE: &str = "input.value";
/// Attribute with the captured output (JSON).
pub const OUTPUT_VALUE: &str = "output.value";

/// Starts the span of an observed function. `kind` is one of the macro's kinds.
pub fn start_span(name: &str, kind: &str) -> tracing::Span {
    let (op, span_name, otel_kind) = match kind {
        "llm" | "generation" => (
            Some(operation::CHAT),
            format!("chat {name}"),
            OtelKind::Client,
        ),
        "tool" => (
            Some(operation::EXECUTE_TOOL),
            format!("execute_tool {name}"),
            OtelKind::Internal,
        ),
        "agent" => (
            Some(operation::INVOKE_AGENT),
            format!("invoke_agent {name}"),
            OtelKind::Internal,
        ),
        "retrieval" | "retriever" => (
            Some(operation::RETRIEVAL),
            format!("retrieval {name}"),
            OtelKind::Client,
        ),
        "embedding" | "embeddings" => (
            Some(operation::EMBEDDINGS),
            format!("embeddings {name}"),
            OtelKind::Client,
        ),
        "rerank" | "reranker" => (Some("rerank"), format!("rerank {name}"), OtelKind::Internal),
        "chain" | "workflow" => (
            Some(operation::INVOKE_WORKFLOW),
            format!("invoke_workflow {name}"),
            OtelKind::Internal,
        ),
        _ => (None, name.to_string(), OtelKind::Internal),
    };
    let span = new_span(&span_name, otel_kind);
    if let Some(op) = op {
        span.set_attribute(gen_ai::OPERATION_NAME, op);
        match kind {
            "tool" => span.set_attribute(gen_ai::TOOL_NAME, name.to_string()),
            "agent" => span.set_attribute(gen_ai::AGENT_NAME, name.to_string()),
            "chain" | "workflow" => span.set_attribute(gen_ai::WORKFLOW_NAME, name.to_string()),
            _ => {}
        }
    }
    span
}

/// Whether the observed function records its input and output.
pub fn capture(explicit: Option<bool>) -> bool {
    explicit.unwrap_or_else(crate::capture_content)
}

/// Holds a reference for the autoref-specialization capture below.
pub struct Capture<'a, T: ?Sized>(pub &'a T);

/// Picked for serializable values.
pub trait CaptureSerialize {
    /// The value as JSON.
    fn capture_json(&self) -> Option<serde_json::Value>;
}

impl<T: Serialize + ?Sized> CaptureSerialize for Capture<'_, T> {
    fn capture_json(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self.0).ok()
    }
}

/// Picked for anything else: nothing is captured.
pub trait CaptureFallback {
    /// Always `None`.
    fn capture_json(&self) -> Option<serde_json::Value>;
}

impl<T: ?Sized> CaptureFallback for &Capture<'_, T> {
    fn capture_json(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Records the captured arguments as `input.value`.
pub fn record_input(span: &tracing::Span, args: Vec<(&'static str, Option<serde_json::Value>)>) {
    let map: serde_json::Map<String, serde_json::Value> = args
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect();
    span.set_attribute(INPUT_VALUE, serde_json::Value::Object(map).to_string());
}

/// Records the captured return value as `output.value`.
pub fn record_output(span: &tracing::Span, value: Option<serde_json::Value>) {
    if let Some(v) = value {
        let s = match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        span.set_attribute(OUTPUT_VALUE, s);
    }
}

/// Marks the span failed with the error's type name and message.
pub fn record_err<E: std::fmt::Display + ?Sized>(span: &tracing::Span, error: &E) {
    let type_name = std::any::type_name_of_val(error);
    crate::genai::record_error(span, type_name, &error.to_string());
}

/// Implemented for `Result`, so the macro can mark `Err` without knowing the type.
pub trait ObservedResult {
    /// Marks the span failed when `self` is an `Err`.
    fn observe_err(&self, span: &tracing::Span);
}

impl<T, E: std::fmt::Display> ObservedResult for Result<T, E> {
    fn observe_err(&self, span: &tracing::Span) {
        if let Err(e) = self {
            record_err(span, e);
        }
    }
}
