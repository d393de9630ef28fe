//! The one translation of failure classes into HTTP responses and gRPC statuses, with the
//! retry hints (`Retry-After`, `RetryInfo`) exporters need to retry instead of dropping.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use llmtrace_ingest::{ErrorClass, Format, IngestError};
use prost::Message;

/// An HTTP error answer for an OTLP request: `google.rpc.Status` in the request's encoding
/// (protobuf or JSON), as the OTLP/HTTP specification asks, plus `Retry-After` when retryable.
pub fn otlp_http_error(err: &IngestError, format: Option<Format>) -> Response {
    let status =
        StatusCode::from_u16(err.class.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match format {
        Some(Format::Protobuf) => {
            let body = tonic_types::Status {
                code: err.class.grpc_code(),
                message: err.message.clone(),
                details: vec![],
            }
            .encode_to_vec();
            (
                status,
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                body,
            )
                .into_response()
        }
        _ => (
            status,
            axum::Json(serde_json::json!({
                "code": err.class.grpc_code(),
                "message": err.message,
            })),
        )
            .into_response(),
    };
    add_retry_after(&mut resp, err.class);
    resp
}

/// A JSON error answer of the query API: `{"error": message}`.
pub fn api_error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": message.into() })),
    )
        .into_response()
}

/// A JSON error answer (`{"error": message}`) whose status and `Retry-After` come from the
/// error class, for refusals outside an ingest request's own encoding.
pub fn class_error(class: ErrorClass, message: impl Into<String>) -> Response {
    let status =
        StatusCode::from_u16(class.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = api_error(status, message);
    add_retry_after(&mut resp, class);
    resp
}

fn add_retry_after(resp: &mut Response, class: ErrorClass) {
    if let Some(d) = class.retry_after() {
        if let Ok(v) = HeaderValue::from_str(&d.as_secs().max(1).to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
}

/// A gRPC status for an ingest error, with `RetryInfo` when a retry can succeed (the OTLP
/// specification has exporters treat `RESOURCE_EXHAUSTED` or `UNAVAILABLE` without it as final
/// in some SDKs).
pub fn grpc_status(err: &IngestError) -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt};
    let code = tonic::Code::from_i32(err.class.grpc_code());
    match err.class.retry_after() {
        Some(d) => tonic::Status::with_error_details(
            code,
            err.message.clone(),
            ErrorDetails::with_retry_info(Some(d)),
        ),
        None => tonic::Status::new(code, err.message.clone()),
    }
}
