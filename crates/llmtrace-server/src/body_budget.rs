//! Memory bounded before work: a request body is admitted before it is read, against a budget
//! of body bytes in flight for the whole server (four times `--max-body-bytes`). A body declared
//! larger than the limit gets 413 at once; one that does not fit the budget now gets 503 with
//! `Retry-After` (counted as an overloaded request); a body of unknown length (chunked) is
//! charged the whole limit. The charge is held until the response is ready (the body read,
//! converted and acknowledged), so N slow or huge uploads cannot hold N times the limit.

use crate::error::class_error;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use llmtrace_ingest::ErrorClass;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Body bytes that may be in flight at once, and the limit of one body.
pub(crate) struct BodyBudget {
    bytes: Arc<Semaphore>,
    max_body: usize,
}

impl BodyBudget {
    /// A budget of four bodies of `max_body` bytes.
    pub(crate) fn new(max_body: usize) -> Self {
        let total = max_body.saturating_mul(4).min(Semaphore::MAX_PERMITS);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total)),
            max_body,
        }
    }
}

/// Admits a request's body against the budget (see the module doc).
pub(crate) async fn admit(
    State((budget, st)): State<(Arc<BodyBudget>, Arc<crate::AppState>)>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared {
        if n > u64::try_from(budget.max_body).unwrap_or(u64::MAX) {
            let class = ErrorClass::PayloadTooLarge;
            st.ingest.counters().request_rejected(class);
            return class_error(
                class,
                format!(
                    "body of {n} bytes exceeds the limit of {} bytes",
                    budget.max_body
                ),
            );
        }
    }
    let charge = declared
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(budget.max_body)
        .max(1);
    let permits = u32::try_from(charge).unwrap_or(u32::MAX);
    let Ok(_held) = budget.bytes.clone().try_acquire_many_owned(permits) else {
        let class = ErrorClass::Overloaded;
        st.ingest.counters().request_rejected(class);
        return class_error(class, "too many request bodies in flight; retry");
    };
    // The charge is held until the answer: the body must arrive in time to give it back.
    let req = req.map(|body| {
        axum::body::Body::new(crate::body_read::DeadlineBody::new(
            body,
            crate::body_read::BODY_READ_DEADLINE,
        ))
    });
    next.run(req).await
}
