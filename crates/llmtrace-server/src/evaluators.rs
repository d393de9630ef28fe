//! `GET /api/evaluators` (the configured evaluators with what they did since start) and
//! `POST /api/evaluators/{name}/run` (an evaluator over the caller's traces of a past time
//! range, or with `dry_run` the count and the estimated cost). The transport only: the
//! evaluators run behind [`llmtrace_evaluators::EvaluatorControl`]; a body declared as anything
//! but JSON is refused by the access gate (`access.rs`).

use crate::error::api_error;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmtrace_evaluators::{RunError, RunRequest};
use std::sync::Arc;

/// Request body size limit.
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/evaluators", axum::routing::get(list))
        .route("/api/evaluators/{name}/run", axum::routing::post(run))
}

/// `GET /api/evaluators`.
async fn list(State(st): State<Arc<AppState>>) -> Response {
    let evaluators = st
        .evaluators
        .as_ref()
        .map(|e| e.statuses())
        .unwrap_or_default();
    Json(serde_json::json!({ "evaluators": evaluators })).into_response()
}

/// `POST /api/evaluators/{name}/run`.
async fn run(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: axum::body::Body,
) -> Response {
    let project = match st.auth.project(&headers) {
        Ok(p) => p.to_string(),
        Err(e) => return crate::api::unauthorized(e),
    };
    let bytes = match crate::body_read::read_body(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return crate::error::class_error(e.class, e.message),
    };
    let request: RunRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                format!("body must be {{\"since\": ..., \"until\": ..., \"dry_run\": ...}}: {e}"),
            )
        }
    };
    let Some(control) = &st.evaluators else {
        return api_error(
            StatusCode::NOT_FOUND,
            format!("no evaluator {name:?}: this server has no evaluators configured"),
        );
    };
    match control.run(&project, &name, request).await {
        Ok(report) => Json(report).into_response(),
        Err(RunError::NotFound(m)) => api_error(StatusCode::NOT_FOUND, m),
        Err(RunError::BadRequest(m)) => api_error(StatusCode::BAD_REQUEST, m),
        Err(RunError::Unavailable(m)) => api_error(StatusCode::SERVICE_UNAVAILABLE, m),
    }
}
