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
//! - [`typed`]: typed clients (`async-openai`, any client with `serde` request and answer types)
//!   traced by wrapping the call, for clients that take a plain `reqwest::Client`.
//! - [`observe`]: the `#[observe]` attribute macro.
//! - [`spawn_traced`] and [`Instrument`]: keep spans of spawned tasks in their parent trace.
//!
//! # Features
//!
//! - `grpc` (off by default): OTLP/gRPC export through `tonic`, chosen with
//!   `Builder::protocol(Protocol::Grpc)` or `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`. Without it the
//!   SDK exports OTLP/HTTP protobuf only and asking for gRPC fails with [`SdkError::Config`].
//!
//! # With your own `tracing` subscriber
//!
//! [`init`] installs a global `tracing` subscriber. A service that already has one keeps it and
//! adds the SDK's layer ([`Guard::tracing_layer`]) to it; the SDK then installs no subscriber
//! ([`Builder::install_subscriber`]`(false)`) and your other layers see every span and event as
//! before:
//!
//! ```no_run
//! use tracing_subscriber::filter::LevelFilter;
//! use tracing_subscriber::prelude::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = llmtrace_sdk::Builder::from_env()
//!     .install_subscriber(false) // your subscriber stays the only global one
//!     .install()?; // still sets the OTel tracer provider, propagator and panic hook
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::EnvFilter::new("my_app=debug,info"))
//!     .with(tracing_subscriber::fmt::layer()) // your layers, unchanged
//!     .with(guard.tracing_layer().with_filter(LevelFilter::INFO)) // + llmtrace, INFO and above
//!     .init();
//! # Ok(()) }
//! ```
//!
//! The per-layer filter is optional: it keeps DEBUG spans and library noise in your log and out
//! of llmtrace (a span it filters out is skipped: its children hang off the nearest exported
//! ancestor). Without [`Builder::install_subscriber`]`(false)`, [`Builder::install`] refuses
//! to replace an existing global subscriber with [`SdkError::SubscriberAlreadySet`].
//!
//! A subscriber holds **one** OpenTelemetry layer: two `tracing_opentelemetry` layers in the same
//! registry panic on the first span. If your stack already exports to a backend through
//! `tracing_opentelemetry::layer()`, replace that layer with [`Guard::tracing_layer`] and keep
//! the backend as a second destination of the SDK (next section).
//!
//! # Sending to llmtrace and to another OTLP backend
//!
//! [`Builder::also_export_to`] (or [`Builder::also_export_to_with_headers`] for the other
//! backend's credentials) adds a destination to the same tracer provider: every span goes to
//! both, each through its own queue and export thread, so a slow or dead second backend neither
//! blocks the application nor delays llmtrace.
//!
//! ```no_run
//! let _guard = llmtrace_sdk::Builder::from_env() // llmtrace from OTEL_EXPORTER_OTLP_ENDPOINT
//!     .also_export_to_with_headers("http://otel-collector:4318", [("x-api-key", "KEY")])
//!     .install()?;
//! # Ok::<(), llmtrace_sdk::SdkError>(())
//! ```

mod metrics;
mod processor;
mod setup;

pub mod genai;
pub mod middleware;
pub mod task;
pub mod typed;

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
