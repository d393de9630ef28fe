//! A handler that panics answers 500 instead of dropping the connection: the panic is caught,
//! logged with the request's method and path, and counted (`llmtrace_panics_total`). Requests
//! must never reach a panic; this is the net under that rule, not a way to handle errors.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};

/// Handler panics caught since start.
static PANICS: AtomicU64 = AtomicU64::new(0);

/// Handler panics caught since start (for `/metrics`).
pub fn panics_total() -> u64 {
    PANICS.load(Ordering::Relaxed)
}

/// Runs the rest of the stack, turning a panic into a logged, counted 500.
pub async fn catch_panics(req: Request, next: Next) -> Response {
    use futures_util::FutureExt;
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            PANICS.fetch_add(1, Ordering::Relaxed);
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            tracing::error!(%method, %path, panic = %message, "request handler panicked");
            crate::error::api_error(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_is_counted() {
        let app = axum::Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    let v: Vec<u8> = Vec::new();
                    // An out-of-bounds index, as a slicing bug would do.
                    v.get(3)
                        .copied()
                        .map(|_| ())
                        .unwrap_or_else(|| panic!("index 3 of 0"))
                }),
            )
            .route("/ok", axum::routing::get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(catch_panics));
        let before = panics_total();
        let res = app
            .clone()
            .oneshot(
                Request::get("/boom")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert!(panics_total() > before);
        let ok = app
            .oneshot(Request::get("/ok").body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            ok.status(),
            axum::http::StatusCode::OK,
            "the server goes on"
        );
    }
}
