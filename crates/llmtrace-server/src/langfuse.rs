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
        .route("/api/public/projects", get(projects))
        .route("/api/public/{*rest}", any(not_implemented))
}

async fn health() -> Response {
    Json(serde_json::json!({ "status": "OK", "version": env!("CARGO_PKG_VERSION") }))
        .into_response()
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
