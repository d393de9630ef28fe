//! Langfuse's batch ingestion API, `POST /api/public/ingestion` (what Langfuse SDKs before the
//! OpenTelemetry-based v3 send): the transport (key, body, gzip, limits, the 207 multi-status
//! answer); the conversion of its events is `llmtrace_langfuse::convert_batch`.

use crate::error::api_error;
use crate::langfuse::{new_score_id, unix_now};
use crate::request_limits;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

/// Largest ingestion body (Langfuse documents 3.5 MB and enforces 4.5 MB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// `POST /api/public/ingestion`.
pub(crate) async fn ingestion(
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
    // A gzip body (Langfuse SDKs behind a compressing proxy) is inflated, bounded like OTLP's.
    let encoding = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "" | "identity" => bytes.to_vec(),
        "gzip" => match llmtrace_otlp::gunzip_limited(&bytes, MAX_BODY) {
            Ok(b) => b,
            Err(e) => return bad_shape(format!("gzip body cannot be read: {e}")),
        },
        other => {
            return api_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content encoding {other:?}: send gzip or none"),
            )
        }
    };
    let limits = st.ingest.decode_limits();
    if let Some(refused) = request_limits::check_json_values(limits, &bytes) {
        return refused;
    }
    let top: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return bad_shape(format!("body is not JSON: {e}")),
    };
    let Some(batch) = top.get("batch").and_then(Value::as_array) else {
        return bad_shape("body must be {\"batch\": [events...]}".into());
    };
    if let Some(refused) = request_limits::check_items(limits, batch.len(), "events") {
        return refused;
    }
    let llmtrace_langfuse::Conversion {
        spans,
        scores,
        successes,
        mut errors,
    } = llmtrace_langfuse::convert_batch(&project, batch, unix_now(), &mut new_score_id);
    if let Err(e) = st.ingest.export_raw_spans(spans, scores, bytes.len()).await {
        return crate::error::otlp_http_error(&e, None);
    }
    // A batch of thousands of bad events answers with the first errors and a count of the rest.
    let unlisted = request_limits::truncate_errors(&mut errors);
    let mut answer = serde_json::Map::new();
    answer.insert("successes".into(), successes.into());
    answer.insert("errors".into(), errors.into());
    if unlisted > 0 {
        answer.insert("errorsNotListed".into(), unlisted.into());
    }
    (StatusCode::MULTI_STATUS, Json(answer)).into_response()
}

fn bad_shape(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "message": message, "errors": [message] })),
    )
        .into_response()
}
