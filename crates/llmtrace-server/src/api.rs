//! The JSON query API (`docs/api.md`) and `/healthz`.

use crate::error::api_error;
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use llmtrace_query::{QueryError, RecomputeParams, StatsParams, TraceGroupParams, TraceListParams};
use llmtrace_store::StoreError;
use llmtrace_store::TraceGroupBy;
use serde::Serialize;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/traces", get(list_traces))
        .route("/api/traces/{trace_id}", get(get_trace))
        .route("/api/stats", get(stats))
        .route("/api/sessions", get(sessions))
        .route("/api/users", get(users))
        .route("/api/prices", get(prices))
        .route("/api/prices/unpriced", get(unpriced))
        .route("/api/pricing/recompute", axum::routing::post(recompute))
}

pub(crate) async fn not_found(uri: Uri) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", uri.path()),
    )
}

/// Why the server cannot store what it receives, if it cannot: the writer stopped, or the last
/// group commits failed (a full disk, a lost database); `None` when healthy.
pub(crate) fn unhealthy_reason(st: &AppState) -> Option<String> {
    let p = st.ingest.pipeline().stats();
    if !p.writer_running {
        return Some("the writer has stopped (shutting down)".into());
    }
    (p.failing_commits > 0).then(|| {
        format!(
            "the last {} group commit(s) failed: {}",
            p.failing_commits,
            p.last_error.as_deref().unwrap_or("unknown error")
        )
    })
}

async fn healthz(State(st): State<Arc<AppState>>) -> Response {
    let p = st.ingest.pipeline().stats();
    let queue = serde_json::json!({ "items": p.queued_items, "capacity_items": p.capacity_items });
    match unhealthy_reason(&st) {
        None => Json(serde_json::json!({ "status": "ok", "queue": queue })).into_response(),
        Some(reason) => {
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "reason": reason, "queue": queue })),
            )
                .into_response();
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
            r
        }
    }
}

/// A query's answer: its view as JSON, or the status its error maps to.
pub(crate) fn respond<T: Serialize>(r: Result<T, QueryError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => query_error(e),
    }
}

/// The answer to a failed query: 400, 404, 503 (transient store failure) or 500.
pub(crate) fn query_error(e: QueryError) -> Response {
    match e {
        QueryError::BadRequest(m) => api_error(StatusCode::BAD_REQUEST, m),
        QueryError::NotFound(m) => api_error(StatusCode::NOT_FOUND, m),
        QueryError::Store(e @ StoreError::Transient(_)) => {
            api_error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        QueryError::Store(e) => {
            tracing::error!(error = %e, "query failed");
            api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

/// The request's project.
fn project<'a>(
    st: &'a AppState,
    headers: &'a HeaderMap,
) -> Result<&'a str, llmtrace_ingest::IngestError> {
    st.auth.project(headers)
}

/// The 401 answer of the query API.
pub(crate) fn unauthorized(e: llmtrace_ingest::IngestError) -> Response {
    if e.class != llmtrace_ingest::ErrorClass::Unauthenticated {
        return crate::error::class_error(e.class, e.message);
    }
    let mut r = api_error(StatusCode::UNAUTHORIZED, e.message);
    r.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Basic realm=\"llmtrace\""),
    );
    r
}

pub(crate) fn bad_query(e: QueryRejection) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        format!("invalid query parameters: {}", e.body_text()),
    )
}

async fn list_traces(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    params: Result<Query<TraceListParams>, QueryRejection>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(e) => return unauthorized(e),
    };
    match params {
        Ok(Query(mut p)) => {
            p.scores = llmtrace_query::score_params(uri.query().unwrap_or(""));
            respond(st.query.list_traces(project, &p).await)
        }
        Err(e) => bad_query(e),
    }
}

/// `?download=1` of a trace: the same JSON as a file (`trace-{id}.json`).
#[derive(serde::Deserialize)]
struct TraceDownload {
    download: Option<String>,
}

async fn get_trace(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
    params: Result<Query<TraceDownload>, QueryRejection>,
) -> Response {
    let download = match params {
        Ok(Query(d)) => d
            .download
            .is_some_and(|v| !matches!(v.trim(), "" | "0" | "false")),
        Err(e) => return bad_query(e),
    };
    let p = match project(&st, &headers) {
        Ok(p) => p,
        Err(e) => return unauthorized(e),
    };
    match st.query.get_trace(p, &trace_id).await {
        Ok(d) => {
            // The canonical id (32 hex characters) names the file: safe in a header.
            let file = format!("attachment; filename=\"trace-{}.json\"", d.trace.trace_id);
            let mut r = Json(d).into_response();
            if download {
                if let Ok(v) = axum::http::HeaderValue::from_str(&file) {
                    r.headers_mut()
                        .insert(axum::http::header::CONTENT_DISPOSITION, v);
                }
            }
            r
        }
        Err(e) => query_error(e),
    }
}

async fn stats(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(e) => return unauthorized(e),
    };
    match params {
        Ok(Query(p)) => respond(st.query.stats(project, &p).await),
        Err(e) => bad_query(e),
    }
}

async fn sessions(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<TraceGroupParams>, QueryRejection>,
) -> Response {
    trace_groups(st, headers, params, TraceGroupBy::Session).await
}

async fn users(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<TraceGroupParams>, QueryRejection>,
) -> Response {
    trace_groups(st, headers, params, TraceGroupBy::User).await
}

async fn trace_groups(
    st: Arc<AppState>,
    headers: HeaderMap,
    params: Result<Query<TraceGroupParams>, QueryRejection>,
    by: TraceGroupBy,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(e) => return unauthorized(e),
    };
    match params {
        Ok(Query(p)) => respond(st.query.trace_groups(project, by, &p).await),
        Err(e) => bad_query(e),
    }
}

async fn prices(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(e) => return unauthorized(e),
    };
    let book = st.ingest.prices().current();
    // The project's own overrides and the shared tables: never another project's prices.
    let entries: Vec<&llmtrace_pricing::PriceEntry> = book.entries_for(project).collect();
    Json(serde_json::json!({ "count": entries.len(), "entries": entries })).into_response()
}

async fn unpriced(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match project(&st, &headers) {
        Ok(p) => respond(st.query.unpriced_models(p).await),
        Err(e) => unauthorized(e),
    }
}

async fn recompute(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<RecomputeParams>, QueryRejection>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p.to_string(),
        Err(e) => return unauthorized(e),
    };
    let p = match params {
        Ok(Query(p)) => p,
        Err(e) => return bad_query(e),
    };
    if let Some(reload) = &st.reload_prices {
        match reload() {
            Ok(book) => st.ingest.prices().replace(book),
            Err(m) => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    format!("cannot reload prices, nothing recomputed: {m}"),
                )
            }
        }
    }
    let pricer = st.ingest.prices().pricer();
    respond(st.query.recompute_costs(&project, &p, pricer).await)
}
