//! OTLP/HTTP: `POST /v1/traces`, `/v1/logs`, `/v1/metrics` with protobuf or JSON bodies,
//! optionally gzip; the answer is an `Export*ServiceResponse` in the request's encoding.

use crate::error::otlp_http_error;
use crate::AppState;
use axum::body::Body as AxumBody;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use llmtrace_ingest::{Body, ErrorClass, ExportOutcome, Format, IngestError};
use opentelemetry_proto::tonic::collector::{
    logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse},
    metrics::v1::{ExportMetricsPartialSuccess, ExportMetricsServiceResponse},
    trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse},
};
use prost::Message;
use std::sync::Arc;

/// The signal an endpoint receives.
#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Logs,
    Metrics,
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    let method_not_allowed = |path: &'static str| {
        move || async move {
            let mut r = crate::error::api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{path} accepts only POST (OTLP/HTTP export)"),
            );
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            r
        }
    };
    Router::new()
        .route(
            "/v1/traces",
            post(|s, h, b| export(s, h, b, Signal::Traces))
                .fallback(method_not_allowed("/v1/traces")),
        )
        .route(
            "/v1/logs",
            post(|s, h, b| export(s, h, b, Signal::Logs)).fallback(method_not_allowed("/v1/logs")),
        )
        .route(
            "/v1/metrics",
            post(|s, h, b| export(s, h, b, Signal::Metrics))
                .fallback(method_not_allowed("/v1/metrics")),
        )
}

/// Reads the content type; `None` when unsupported.
fn format_of(headers: &HeaderMap) -> Result<Format, IngestError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
        "application/json" => Ok(Format::Json),
        _ => Err(IngestError::new(
            ErrorClass::UnsupportedMediaType,
            format!(
                "unsupported content type {ct:?}: send application/x-protobuf or application/json"
            ),
        )),
    }
}

fn gzip_of(headers: &HeaderMap) -> Result<bool, IngestError> {
    let enc = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match enc.as_str() {
        "" | "identity" => Ok(false),
        "gzip" => Ok(true),
        other => Err(IngestError::new(
            ErrorClass::UnsupportedMediaType,
            format!("unsupported content encoding {other:?}: send gzip or none"),
        )),
    }
}

/// Bodies at least this large are decoded and converted on the blocking pool, so a few large
/// exports cannot stall the async workers that answer every other request.
pub(crate) const OFFLOAD_BYTES: usize = 64 * 1024;

/// Decodes, converts, normalizes and prices a trace export: inline when small, on the blocking
/// pool when large.
async fn prepare_off_workers(
    st: &Arc<AppState>,
    project: &str,
    bytes: &axum::body::Bytes,
    format: Format,
    gzip: bool,
) -> Result<llmtrace_ingest::PreparedTraces, IngestError> {
    if bytes.len() < OFFLOAD_BYTES {
        return st.ingest.prepare_traces_body(
            project,
            Body {
                bytes,
                format,
                gzip,
            },
        );
    }
    let (ingest, bytes, project) = (st.ingest.clone(), bytes.clone(), project.to_owned());
    tokio::task::spawn_blocking(move || {
        ingest.prepare_traces_body(
            &project,
            Body {
                bytes: &bytes,
                format,
                gzip,
            },
        )
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "decoding an export failed on the blocking pool");
        Err(IngestError::new(
            ErrorClass::Internal,
            "the export could not be decoded (the server's log has the cause)",
        ))
    })
}

/// `POST` of an OTLP trace export (also mounted at Langfuse's OTLP path).
pub(crate) async fn export_traces(
    st: State<Arc<AppState>>,
    headers: HeaderMap,
    body: AxumBody,
) -> Response {
    export(st, headers, body, Signal::Traces).await
}

async fn export(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: AxumBody,
    signal: Signal,
) -> Response {
    let format = match format_of(&headers) {
        Ok(f) => f,
        Err(e) => return otlp_http_error(&e, None),
    };
    let gzip = match gzip_of(&headers) {
        Ok(g) => g,
        Err(e) => return otlp_http_error(&e, Some(format)),
    };
    let bytes = match crate::body_read::read_body(body, st.max_body_bytes).await {
        Ok(b) => b,
        Err(err) => return otlp_http_error(&err, Some(format)),
    };
    let body = Body {
        bytes: &bytes,
        format,
        gzip,
    };
    let project = match st.auth.project(&headers) {
        Ok(p) => p,
        Err(e) => return otlp_http_error(&e, Some(format)),
    };
    let result = match signal {
        Signal::Traces => match prepare_off_workers(&st, project, &bytes, format, gzip).await {
            Ok(prepared) => st.ingest.store_prepared(prepared).await,
            Err(e) => Err(e),
        },
        Signal::Logs => st.ingest.export_logs_body(project, body).await,
        Signal::Metrics => st.ingest.export_metrics_body(body).await,
    };
    match result {
        Ok(outcome) => success(signal, format, &outcome),
        Err(e) => {
            if e.class == ErrorClass::Internal {
                tracing::error!(error = %e, "export failed");
            }
            otlp_http_error(&e, Some(format))
        }
    }
}

/// The `Export*ServiceResponse`, with `partial_success` when something was rejected.
fn success(signal: Signal, format: Format, outcome: &ExportOutcome) -> Response {
    let rejected = i64::try_from(outcome.rejected.count).unwrap_or(i64::MAX);
    let message = outcome.rejected.first_reason.clone().unwrap_or_default();
    let has_partial = rejected > 0;
    match format {
        Format::Protobuf => {
            let body = match signal {
                Signal::Traces => ExportTraceServiceResponse {
                    partial_success: has_partial.then_some(ExportTracePartialSuccess {
                        rejected_spans: rejected,
                        error_message: message,
                    }),
                }
                .encode_to_vec(),
                Signal::Logs => ExportLogsServiceResponse {
                    partial_success: has_partial.then_some(ExportLogsPartialSuccess {
                        rejected_log_records: rejected,
                        error_message: message,
                    }),
                }
                .encode_to_vec(),
                Signal::Metrics => ExportMetricsServiceResponse {
                    partial_success: has_partial.then_some(ExportMetricsPartialSuccess {
                        rejected_data_points: rejected,
                        error_message: message,
                    }),
                }
                .encode_to_vec(),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                body,
            )
                .into_response()
        }
        Format::Json => {
            // OTLP/JSON: camelCase field names, int64 as a string.
            let count_field = match signal {
                Signal::Traces => "rejectedSpans",
                Signal::Logs => "rejectedLogRecords",
                Signal::Metrics => "rejectedDataPoints",
            };
            let body = if has_partial {
                serde_json::json!({
                    "partialSuccess": { count_field: rejected.to_string(), "errorMessage": message }
                })
            } else {
                serde_json::json!({})
            };
            (StatusCode::OK, axum::Json(body)).into_response()
        }
    }
}
