//! Tracing for typed LLM clients that take a plain `reqwest::Client` (`async-openai`, and any
//! client whose requests and answers are `serde` types): wrap the call, not the client.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use async_openai::types::chat::{
//!     ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
//! };
//! use llmtrace_sdk::typed::{self, Api};
//! # let client = async_openai::Client::new();
//! let question = ChatCompletionRequestUserMessageArgs::default().content("Hi").build()?;
//! let request = CreateChatCompletionRequestArgs::default()
//!     .model("gpt-4o-mini")
//!     .messages([question.into()])
//!     .build()?;
//! // Before: client.chat().create(request).await?
//! let answer = typed::call(Api::OpenAiChat, &request, client.chat().create(request.clone())).await?;
//! # let _ = answer; Ok(()) }
//! ```
//!
//! **Prefer the middleware where the client lets you.** [`crate::middleware`] sees the wire of
//! every client built on `reqwest-middleware` (rig's: pass it
//! [`crate::middleware::traced_client`]) or that executes its requests through a service you
//! give it (`async-openai` 0.43+ with its `middleware` feature: `with_http_service`, see
//! `examples/async_openai.rs`); the calls stay as they are.
//!
//! **Why wrappers otherwise.** A client that takes only a plain `reqwest::Client` offers no hook
//! per request, and a loopback
//! forwarder in front of it (the other way to see its wire without changing the call) runs in
//! another task: it cannot know which of the app's spans made a call, so its spans would not be
//! children of the caller's. A wrapper runs in the caller's task, so the call's span is a child
//! of the current span, like every other span of the SDK.
//!
//! **How it reads the call.** The request and the answer (or each streamed chunk) are serialized
//! back to JSON and read by the same code that reads the wire in the middleware: the same span
//! name (`{operation} {model}`), parameters, messages (when content capture is on), response id
//! and model, finish reasons, usage (cache and reasoning tokens included), time to the first
//! streamed chunk, and errors (`error.type` = the error's type name). A field a typed client
//! drops on decoding is not seen.

use crate::middleware::{start_call, Observer};
use serde::Serialize;
use serde_json::Value;
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument as _;

pub use crate::middleware::Api;

/// The provider a call is recorded under: Anthropic for [`Api::AnthropicMessages`], OpenAI
/// otherwise (name another one with [`call_with_provider`] and [`stream_with_provider`]).
fn default_provider(api: Api) -> &'static str {
    match api {
        Api::AnthropicMessages => "anthropic",
        _ => "openai",
    }
}

/// The short type name of an error (`OpenAIError` for `async_openai::error::OpenAIError`):
/// `error.type`, low-cardinality as OpenTelemetry asks.
fn error_type<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Traces one call: `future` is the typed client's call (for example
/// `client.chat().create(request.clone())`), `request` what it sends.
pub async fn call<Req, F, R, E>(api: Api, request: &Req, future: F) -> Result<R, E>
where
    Req: Serialize + ?Sized,
    F: IntoFuture<Output = Result<R, E>>,
    R: Serialize,
    E: std::fmt::Display,
{
    call_with_provider(api, default_provider(api), request, future).await
}

/// [`call`] for an OpenAI-compatible provider named `provider` (`groq`, `ollama`, ...).
pub async fn call_with_provider<Req, F, R, E>(
    api: Api,
    provider: &str,
    request: &Req,
    future: F,
) -> Result<R, E>
where
    Req: Serialize + ?Sized,
    F: IntoFuture<Output = Result<R, E>>,
    R: Serialize,
    E: std::fmt::Display,
{
    let body = serde_json::to_value(request).unwrap_or(Value::Null);
    let (span, _) = start_call(api, provider, &body);
    let start = Instant::now();
    let result = future.into_future().instrument(span.span().clone()).await;
    match &result {
        Ok(answer) => {
            let mut observer = Observer::new(span, api, false, start);
            if let Ok(bytes) = serde_json::to_vec(answer) {
                observer.on_data(&bytes);
            }
            observer.finish(None);
        }
        Err(e) => span.record_error(error_type::<E>(), &e.to_string()),
    }
    result
}

/// Traces one streamed call: `future` opens the stream (for example
/// `client.chat().create_stream(request.clone())`); the span ends when the returned stream
/// ends, fails or is dropped, with the time to its first chunk and the usage of its last.
pub async fn stream<Req, F, S, E>(api: Api, request: &Req, future: F) -> Result<TracedStream<S>, E>
where
    Req: Serialize + ?Sized,
    F: IntoFuture<Output = Result<S, E>>,
    E: std::fmt::Display,
{
    stream_with_provider(api, default_provider(api), request, future).await
}

/// [`stream`] for an OpenAI-compatible provider named `provider`.
pub async fn stream_with_provider<Req, F, S, E>(
    api: Api,
    provider: &str,
    request: &Req,
    future: F,
) -> Result<TracedStream<S>, E>
where
    Req: Serialize + ?Sized,
    F: IntoFuture<Output = Result<S, E>>,
    E: std::fmt::Display,
{
    let body = serde_json::to_value(request).unwrap_or(Value::Null);
    let (span, _) = start_call(api, provider, &body);
    let start = Instant::now();
    match future.into_future().instrument(span.span().clone()).await {
        Ok(inner) => Ok(TracedStream {
            inner,
            observer: Some(Observer::new(span, api, true, start)),
        }),
        Err(e) => {
            span.record_error(error_type::<E>(), &e.to_string());
            Err(e)
        }
    }
}

/// A typed client's stream of chunks, read as it is consumed (nothing is buffered or delayed).
pub struct TracedStream<S> {
    inner: S,
    observer: Option<Observer>,
}

impl<S, C, E> futures_core::Stream for TracedStream<S>
where
    S: futures_core::Stream<Item = Result<C, E>> + Unpin,
    C: Serialize,
    E: std::fmt::Display,
{
    type Item = Result<C, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = Pin::new(&mut this.inner).poll_next(cx);
        if let Some(observer) = this.observer.as_mut() {
            match &next {
                Poll::Ready(Some(Ok(chunk))) => {
                    // One server-sent event, as the provider sent it.
                    if let Ok(json) = serde_json::to_vec(chunk) {
                        let mut event = Vec::with_capacity(json.len().saturating_add(8));
                        event.extend_from_slice(b"data: ");
                        event.extend_from_slice(&json);
                        event.extend_from_slice(b"\n\n");
                        observer.on_data(&event);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    observer.finish(Some(format!("{}: {e}", error_type::<E>())));
                    this.observer = None;
                }
                Poll::Ready(None) => {
                    observer.finish(None);
                    this.observer = None;
                }
                Poll::Pending => {}
            }
        }
        next
    }
}

impl<S> Drop for TracedStream<S> {
    fn drop(&mut self) {
        if let Some(mut observer) = self.observer.take() {
            if observer.started() {
                observer.finish(None);
            } else {
                observer.finish(Some("stream dropped before its first chunk".into()));
            }
        }
    }
}
