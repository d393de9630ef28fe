//! Trace list exports: `GET /api/traces/export?format=csv|json` with the filters of
//! `GET /api/traces`, every page walked (`Query::export_traces`) up to 10,000 traces, answered
//! as a download. A capped export says so in `X-Llmtrace-Truncated: true` and gives the cursor
//! to continue from in `X-Llmtrace-Next-Cursor`.

use crate::api::{bad_query, query_error, unauthorized};
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use llmtrace_query::{QueryError, TraceListParams, MAX_EXPORT_TRACES};
use serde::Deserialize;
use std::sync::Arc;

/// Whether the export stopped at its cap (`true`) or holds every selected trace (`false`).
const TRUNCATED: HeaderName = HeaderName::from_static("x-llmtrace-truncated");
/// Where a capped export stopped: pass it as `cursor` to continue.
const NEXT_CURSOR: HeaderName = HeaderName::from_static("x-llmtrace-next-cursor");

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/traces/export", get(export_traces))
}

/// `?format=` of an export (the filters are [`TraceListParams`]).
#[derive(Deserialize)]
struct ExportFormat {
    format: Option<String>,
}

/// The file formats of an export.
#[derive(Clone, Copy)]
enum Format {
    Csv,
    Json,
}

impl Format {
    fn parse(v: Option<&str>) -> Result<Format, QueryError> {
        match v.map(str::trim) {
            None | Some("") | Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            Some(other) => Err(QueryError::BadRequest(format!(
                "format must be csv or json, got {other:?}"
            ))),
        }
    }
}

async fn export_traces(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    params: Result<Query<TraceListParams>, QueryRejection>,
    format: Result<Query<ExportFormat>, QueryRejection>,
) -> Response {
    let project = match st.auth.project(&headers) {
        Ok(p) => p,
        Err(e) => return unauthorized(e),
    };
    let (mut p, format) = match (params, format) {
        (Ok(Query(p)), Ok(Query(f))) => (p, f.format),
        (Err(e), _) | (_, Err(e)) => return bad_query(e),
    };
    let format = match Format::parse(format.as_deref()) {
        Ok(f) => f,
        Err(e) => return query_error(e),
    };
    // `limit` caps the export (pages are the store's largest).
    let max = p.limit.take().unwrap_or(MAX_EXPORT_TRACES);
    if max == 0 || max > MAX_EXPORT_TRACES {
        return query_error(QueryError::BadRequest(format!(
            "limit must be between 1 and {MAX_EXPORT_TRACES}, got {max}"
        )));
    }
    p.scores = llmtrace_query::score_params(uri.query().unwrap_or(""));
    let export = match st.query.export_traces(project, &p, max).await {
        Ok(x) => x,
        Err(e) => return query_error(e),
    };
    let (mut response, file) = match format {
        Format::Csv => (
            (
                [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                llmtrace_query::traces_csv(&export.traces),
            )
                .into_response(),
            "attachment; filename=\"traces.csv\"",
        ),
        Format::Json => (
            Json(&export.traces).into_response(),
            "attachment; filename=\"traces.json\"",
        ),
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(file));
    h.insert(
        TRUNCATED,
        HeaderValue::from_static(if export.next_cursor.is_some() {
            "true"
        } else {
            "false"
        }),
    );
    if let Some(v) = export
        .next_cursor
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        h.insert(NEXT_CURSOR, v);
    }
    response
}
