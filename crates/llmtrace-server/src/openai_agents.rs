//! The OpenAI Agents SDK's tracing endpoint, `POST /v1/traces/ingest`: the transport (key, body,
//! limits, answer); the conversion is `llmtrace_openai_agents`.

use crate::error::api_error;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

const MAX_BODY: usize = 16 * 1024 * 1024;

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new().route("/v1/traces/ingest", axum::routing::post(ingest))
}

/// `POST /v1/traces/ingest`.
pub(crate) async fn ingest(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
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
    let limits = st.ingest.decode_limits();
    if let Some(refused) = crate::request_limits::check_json_values(limits, &bytes) {
        return refused;
    }
    let top: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    let Some(items) = top.get("data").and_then(Value::as_array) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "body must be {\"data\": [traces and spans]}",
        );
    };
    if let Some(refused) = crate::request_limits::check_items(limits, items.len(), "items") {
        return refused;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0);
    let spans = match llmtrace_openai_agents::convert(&project, items, now) {
        Ok(spans) => spans,
        Err(m) => return api_error(StatusCode::BAD_REQUEST, m),
    };
    match st.ingest.export_raw_spans(spans, vec![], bytes.len()).await {
        Ok(_) => Json(serde_json::json!({})).into_response(),
        Err(e) => crate::error::otlp_http_error(&e, None),
    }
}
