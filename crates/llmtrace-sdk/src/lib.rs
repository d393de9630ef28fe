//! # llmtrace-sdk
//!
//! Instrument a Rust LLM application in three lines:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let _guard = llmtrace_sdk::init()?;                       // OTLP export from OTEL_* variables
//! let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new()); // provider calls traced
//! // every Anthropic / OpenAI call made with `client` is now a `chat {model}` span with usage
//! # let _ = client; Ok(()) }
//! ```
//!
//! - [`init`] / [`Builder`]: OTLP/HTTP protobuf export (gRPC with the `grpc` feature), a batch
//!   processor that never blocks (a full queue drops and counts, and the count reaches the
//!   backend as `llmtrace.sdk.dropped_spans`), and a [`Guard`] that flushes on drop and on panic.
//!   `tracing` spans are exported too, so `#[tracing::instrument]` just works.
//! - [`genai`]: span helpers on the GenAI semantic conventions.
//! - [`middleware`]: a `reqwest-middleware` middleware recognizing Anthropic Messages and OpenAI
//!   Chat Completions, Responses and Embeddings, streaming included.
//! - [`observe`]: the `#[observe]` attribute macro.
//! - [`spawn_traced`] and [`Instrument`]: keep spans of spawned tasks in their parent trace.

mod metrics;
mod processor;
mod setup;

pub mod genai;
pub mod middleware;
pub mod task;

pub use setup::{
    capture_content, init, set_capture_content, Builder, Guard, Protocol, SdkError,
    CAPTURE_CONTENT_ENV, DEFAULT_ENDPOINT, DEFAULT_FILTER, DEFAULT_MAX_EXPORT_BATCH_SIZE,
    DEFAULT_MAX_QUEUE_SIZE, DEFAULT_SCHEDULED_DELAY, FILTER_ENV,
};
pub use task::{spawn_traced, Instrument};

/// Wraps a sync or async function in a span, like Langfuse's `@observe`.
///
/// ```ignore
/// #[llmtrace_sdk::observe]                                 // span named after the function
/// async fn answer(q: String) -> Result<String, MyError> { ... }
///
/// #[llmtrace_sdk::observe(name = "search", kind = "tool")] // `execute_tool search`
/// fn search(query: &str) -> Vec<Doc> { ... }
/// ```
///
/// Arguments: `name = "..."` (default: the function name), `kind = "span" | "llm" | "tool" |
/// "agent" | "retrieval" | "rerank" | "embedding" | "chain"`, `capture = true | false`
/// (default: [`capture_content`] at run time). When capture is on, serializable arguments are
/// recorded as `input.value` (a JSON object by argument name) and a serializable return value as
/// `output.value`; other values are skipped. A returned `Err` marks the span failed with
/// `error.type` = the error's type name.
pub use llmtrace_sdk_macros::observe;

#[doc(hidden)]
pub mod __private {
    //! Support code of `#[observe]`; not a public API.
    pub use crate::observe_support::*;
    pub use serde_json;
    pub use tracing;
}

mod observe_support;
