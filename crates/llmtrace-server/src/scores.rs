//! `POST /api/scores`: scores in llmtrace's own shape (docs/api.md), one object or an array; the
//! transport only, the conversion is `llmtrace_model::score_from_api_json`.

use crate::error::api_error;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// Request body size limit.
const MAX_BODY: usize = 8 * 1024 * 1024;

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new().route("/api/scores", axum::routing::post(create))
}

/// The id of a score sent without one: a digest of what it says, so the same score sent twice
/// (a retry) is stored once.
fn content_id(s: &llmtrace_model::Score) -> String {
    llmtrace_model::digest_id(
        "api",
        &[
            s.trace_id.as_str(),
            s.observation_id.as_deref().unwrap_or(""),
            s.name.as_str(),
            &s.value.map(|v| v.to_string()).unwrap_or_default(),
            s.string_value.as_deref().unwrap_or(""),
            s.comment.as_deref().unwrap_or(""),
            s.author.as_deref().unwrap_or(""),
            s.source.as_str(),
            &s.timestamp_unix_nano.to_string(),
        ],
    )
}

/// `POST /api/scores`.
async fn create(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let project = match st.auth.project(&headers) {
        Ok(p) => p.to_string(),
        Err(e) => return crate::api::unauthorized(e),
    };
    let limits = st.ingest.decode_limits();
    let json = match crate::request_limits::read_json_body(body, MAX_BODY, limits).await {
        Ok(v) => v,
        Err(refused) => return *refused,
    };
    let (items, single) = match json {
        serde_json::Value::Array(a) => (a, false),
        other => (vec![other], true),
    };
    if let Some(refused) = crate::request_limits::check_items(limits, items.len(), "scores") {
        return refused;
    }
    // A score without a time gets this request's time, which a retry would not repeat: its
    // content id leaves the time out.
    let now = crate::langfuse::unix_now();
    let mut scores = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let timed = item.get("timestamp").is_some_and(|t| !t.is_null());
        let mut fallback = |s: &llmtrace_model::Score| {
            if timed {
                content_id(s)
            } else {
                content_id(&llmtrace_model::Score {
                    timestamp_unix_nano: 0,
                    ..s.clone()
                })
            }
        };
        match llmtrace_model::score_from_api_json(&project, item, now, &mut fallback) {
            Ok(s) => scores.push(s),
            Err(m) => return api_error(StatusCode::BAD_REQUEST, format!("score {i}: {m}")),
        }
    }
    // A score whose name has a config (`/api/score-configs`) must fit it.
    let configs = match st.query.score_configs(&project).await {
        Ok(c) => c.configs,
        Err(e) => return crate::api::query_error(e),
    };
    for (i, s) in scores.iter().enumerate() {
        if let Some(c) = configs.iter().find(|c| c.name == s.name) {
            if let Err(m) = llmtrace_query::check_score_against(c, s) {
                return api_error(StatusCode::BAD_REQUEST, format!("score {i}: {m}"));
            }
        }
    }
    let ids: Vec<String> = scores.iter().map(|s| s.id.clone()).collect();
    match st.ingest.export_scores(scores).await {
        Ok(_) if single => Json(serde_json::json!({ "id": ids.first() })).into_response(),
        Ok(_) => Json(serde_json::json!({ "ids": ids })).into_response(),
        Err(e) => crate::error::otlp_http_error(&e, None),
    }
}
