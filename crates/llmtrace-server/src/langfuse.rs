//! Langfuse-compatible endpoints, so the Langfuse SDKs work by changing their host:
//! `POST /api/public/otel/v1/traces` (the OTLP endpoint of Langfuse SDK v3+), `GET
//! /api/public/health`, `GET /api/public/projects`, and a clear JSON 501 for every other
//! `/api/public/*` path (prompts, media, datasets, ...), never a crash or an HTML page.

use crate::error::api_error;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/public/otel/v1/traces",
            post(crate::otlp_http::export_traces),
        )
        .route("/api/public/health", get(health))
        .route("/api/public/scores", post(scores))
        .route(
            "/api/public/ingestion",
            post(crate::langfuse_ingestion::ingestion),
        )
        .route("/api/public/projects", get(projects))
        .route("/api/public/{*rest}", any(not_implemented))
}

async fn health(State(st): State<Arc<AppState>>) -> Response {
    match crate::api::unhealthy_reason(&st) {
        None => Json(serde_json::json!({ "status": "OK", "version": env!("CARGO_PKG_VERSION") }))
            .into_response(),
        Some(reason) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "status": "unavailable",
                "reason": reason,
                "version": env!("CARGO_PKG_VERSION")
            })),
        )
            .into_response(),
    }
}

async fn projects(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match st.auth.project(&headers) {
        Ok(p) => Json(serde_json::json!({
            "data": [{ "id": p, "name": p, "metadata": {} }]
        }))
        .into_response(),
        Err(e) => crate::api::unauthorized(e),
    }
}

async fn not_implemented(uri: Uri) -> Response {
    api_error(
        StatusCode::NOT_IMPLEMENTED,
        format!(
            "llmtrace does not implement the Langfuse endpoint {} yet; traces are accepted at \
             /api/public/otel/v1/traces",
            uri.path()
        ),
    )
}

/// Request body size limit of the scores endpoint.
const MAX_SCORES_BODY: usize = 8 * 1024 * 1024;

/// `POST /api/public/scores`: one score object, or (as the current Python SDK batches them) a
/// JSON array of them. Each needs `traceId`, `name` and `value`; `id` (generated when absent),
/// `observationId`, `dataType` (NUMERIC, CATEGORICAL, BOOLEAN; inferred from the value when
/// absent), `comment`, `source`, `environment`, `timestamp` are optional.
async fn scores(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let project = match st.auth.project(&headers) {
        Ok(p) => p.to_string(),
        Err(e) => return crate::api::unauthorized(e),
    };
    let bytes = match crate::body_read::read_body(body, MAX_SCORES_BODY).await {
        Ok(b) => b,
        Err(e) => return crate::error::class_error(e.class, e.message),
    };
    let json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    let (items, single) = match json {
        serde_json::Value::Array(a) => (a, false),
        other => (vec![other], true),
    };
    let mut scores = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match llmtrace_langfuse::score_from_json(&project, item, unix_now(), &mut new_score_id) {
            Ok(s) => scores.push(s),
            Err(m) => {
                return api_error(StatusCode::BAD_REQUEST, format!("score {i}: {m}"));
            }
        }
    }
    let ids: Vec<String> = scores.iter().map(|s| s.id.clone()).collect();
    match st.ingest.export_scores(scores).await {
        Ok(_) if single => Json(serde_json::json!({ "id": ids.first() })).into_response(),
        Ok(_) => Json(serde_json::json!({
            "data": ids.iter().map(|id| serde_json::json!({ "id": id })).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => crate::error::otlp_http_error(&e, None),
    }
}

/// Now, in Unix nanoseconds (the time of a score that names none).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// A fresh score id when the client sent none: the time and a counter.
pub(crate) fn new_score_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{:016x}{:08x}",
        unix_now(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
