//! Keeping spans of other tasks in their parent trace.
//!
//! A `tracing` span is attached to a future, not to a thread: a future handed to `tokio::spawn`
//! starts with no current span, so its spans would become roots of new traces. Either spawn with
//! [`spawn_traced`] or attach the span yourself with [`Instrument::in_current_span`]:
//!
//! ```no_run
//! use llmtrace_sdk::Instrument;
//! # async fn work() {}
//! # async fn demo() {
//! let a = llmtrace_sdk::spawn_traced(work());                  // child of the current span
//! let b = tokio::spawn(work().in_current_span());              // the same, by hand
//! let _ = (a.await, b.await);
//! // Futures polled by the current task (`join_all`, `join!`, `select!`) need nothing: their
//! // spans are made while the parent span is entered.
//! futures_util::future::join_all(vec![work(), work()]).await;
//! # }
//! ```

pub use tracing::Instrument;

/// `tokio::spawn` keeping the current span as the parent of the task's spans.
pub fn spawn_traced<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_span())
}

/// `tokio::task::spawn_blocking` keeping the current span as the parent of the closure's spans.
pub fn spawn_blocking_traced<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}
