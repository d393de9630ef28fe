//! LangSmith-compatible endpoints, so the LangSmith SDKs work by pointing `LANGSMITH_ENDPOINT`
//! at llmtrace (`x-api-key` maps to a project like every other key):
//!
//! * `GET /info` — advertises the multipart endpoint and zstd compression (what makes the Python
//!   SDK send `POST /runs/multipart` with `Content-Encoding: zstd`), batch limits and a version;
//! * `POST /runs/multipart` — `multipart/form-data`, plain or zstd (bounded by the body limit);
//! * `POST /runs/batch` — `{"post": [...], "patch": [...]}`;
//! * `POST /runs` and `PATCH /runs/{run_id}` — one run;
//! * `POST /otel/v1/traces` — the SDK's OTel mode, the same as `/v1/traces`.
//!
//! Runs become spans through [`llmtrace_langsmith`]; they are priced and stored like any other.
//! Successful answers are `202` with `{"accepted", "unfinished", "skipped"}`; malformed input
//! gets `400`, a missing key `401`, an unknown content type or encoding `415`, an oversized body
//! `413`, overload `503` with `Retry-After` (the ingest error mapping).
//!
//! Posts and patches of one run are merged within one request. Across requests, a posted run is
//! stored unfinished and replaced by the later patch when that patch carries the run's trace and
//! start time (the Python SDK repeats them); the store merges the two copies, so the post's
//! inputs, name and model stay (`llmtrace_store::merge_incomplete`). A bare patch (no trace id)
//! is acknowledged but not stored.

use crate::error::otlp_http_error;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use llmtrace_ingest::{ErrorClass, IngestError};
use llmtrace_langsmith::{Op, RunSet};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/info", get(info))
        .route("/runs/multipart", post(multipart))
        .route("/runs/batch", post(batch))
        .route("/runs", post(create_run))
        .route("/runs/{run_id}", patch(update_run))
        .route("/feedback", post(create_feedback))
        .route("/otel/v1/traces", post(crate::otlp_http::export_traces))
}

/// `GET /info`: what the SDK reads before tracing. `zstd_compression_enabled` and
/// `use_multipart_endpoint` turn on compressed multipart ingestion; every batch key is present
/// because the SDK indexes them directly. `size_limit_bytes` (compared by the SDK with the
/// uncompressed size of its queued runs) is half the body limit, leaving room for part headers
/// and the last run added past the threshold.
async fn info(State(st): State<Arc<AppState>>) -> Response {
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "license_expiration_time": null,
        "instance_flags": {
            "zstd_compression_enabled": true,
        },
        "batch_ingest_config": {
            "use_multipart_endpoint": true,
            "size_limit": 100,
            "size_limit_bytes": st.max_body_bytes / 2,
            "scale_up_qsize_trigger": 200,
            "scale_up_nthreads_limit": 32,
            "scale_down_nempty_trigger": 4,
        },
    }))
    .into_response()
}

/// A request failure, answered through the ingest error mapping.
fn fail(class: ErrorClass, message: impl Into<String>) -> Response {
    otlp_http_error(&IngestError::new(class, message), None)
}

fn ls_error(e: llmtrace_langsmith::Error) -> Response {
    match e {
        llmtrace_langsmith::Error::TooLarge { .. } => {
            fail(ErrorClass::PayloadTooLarge, e.to_string())
        }
        other => fail(ErrorClass::BadRequest, other.to_string()),
    }
}

/// The media type of the request, lowercased, without parameters.
fn mime(headers: &HeaderMap) -> (String, String) {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (essence, ct)
}

/// Reads the body (at most `max_body_bytes`) and undoes `Content-Encoding: zstd` with the same
/// bound on the decompressed size.
async fn read_body(st: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let zstd = match encoding.as_str() {
        "" | "identity" => false,
        "zstd" => true,
        other => {
            return Err(fail(
                ErrorClass::UnsupportedMediaType,
                format!("unsupported content encoding {other:?}: send zstd or none"),
            ))
        }
    };
    let bytes = crate::body_read::read_body(body, st.max_body_bytes)
        .await
        .map_err(|e| otlp_http_error(&e, None))?;
    if !zstd {
        return Ok(bytes);
    }
    llmtrace_langsmith::decompress_zstd(&bytes, st.max_body_bytes)
        .map(Bytes::from)
        .map_err(ls_error)
}

/// Splits a multipart body into its parts and collects the run operations.
async fn parse_multipart(
    body: Bytes,
    boundary: String,
    limits: llmtrace_ingest::DecodeLimits,
) -> Result<RunSet, Response> {
    if let Some(refused) = crate::request_limits::check_json_values(limits, &body) {
        return Err(refused);
    }
    let mut count = 0usize;
    let stream = tokio_stream::once(Ok::<Bytes, std::convert::Infallible>(body));
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut set = RunSet::new();
    loop {
        let field = parts.next_field().await.map_err(|e| {
            fail(
                ErrorClass::BadRequest,
                format!("malformed multipart body: {e}"),
            )
        })?;
        let Some(field) = field else {
            break;
        };
        count = count.saturating_add(1);
        if let Some(refused) = crate::request_limits::check_items(limits, count, "multipart parts")
        {
            return Err(refused);
        }
        let name = field.name().unwrap_or_default().to_owned();
        let data = field.bytes().await.map_err(|e| {
            fail(
                ErrorClass::BadRequest,
                format!("malformed multipart part {name:?}: {e}"),
            )
        })?;
        set.add_part(&name, &data).map_err(ls_error)?;
    }
    Ok(set)
}

/// `POST /runs/multipart`.
async fn multipart(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let project = match st.auth.project(&headers) {
        Ok(p) => p.to_owned(),
        Err(e) => return otlp_http_error(&e, None),
    };
    let (essence, ct) = mime(&headers);
    if essence != "multipart/form-data" {
        return fail(
            ErrorClass::UnsupportedMediaType,
            format!("unsupported content type {ct:?}: send multipart/form-data"),
        );
    }
    let boundary = match multer::parse_boundary(&ct) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                ErrorClass::BadRequest,
                format!("bad multipart content type: {e}"),
            )
        }
    };
    let bytes = match read_body(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let size = bytes.len();
    let set = match parse_multipart(bytes, boundary, st.ingest.decode_limits()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    ingest(&st, &project, set, size).await
}

/// Reads a JSON body (`application/json`, or no content type).
async fn json_body(st: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let (essence, ct) = mime(headers);
    if !(essence.is_empty() || essence == "application/json" || essence.ends_with("+json")) {
        return Err(fail(
            ErrorClass::UnsupportedMediaType,
            format!("unsupported content type {ct:?}: send application/json"),
        ));
    }
    let bytes = read_body(st, headers, body).await?;
    match crate::request_limits::check_json_values(st.ingest.decode_limits(), &bytes) {
        Some(refused) => Err(refused),
        None => Ok(bytes),
    }
}

/// `POST /runs/batch`.
async fn batch(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let project = match st.auth.project(&headers) {
        Ok(p) => p.to_owned(),
        Err(e) => return otlp_http_error(&e, None),
    };
    let bytes = match json_body(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match llmtrace_langsmith::runs_from_batch(&bytes) {
        Ok(set) => ingest(&st, &project, set, bytes.len()).await,
        Err(e) => ls_error(e),
    }
}

/// `POST /runs`: one run.
async fn create_run(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    single(st, headers, body, Op::Post, None).await
}

/// `PATCH /runs/{run_id}`: one patch. Without its post in the same request it is stored as a
/// finished span when it carries the trace and start time (replacing the unfinished copy of
/// the post, if stored); otherwise it is acknowledged and reported as skipped, because merging
/// it into a stored post needs store support.
async fn update_run(
    State(st): State<Arc<AppState>>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    single(st, headers, body, Op::Patch, Some(run_id)).await
}

async fn single(
    st: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    op: Op,
    path_id: Option<String>,
) -> Response {
    let project = match st.auth.project(&headers) {
        Ok(p) => p.to_owned(),
        Err(e) => return otlp_http_error(&e, None),
    };
    let bytes = match json_body(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match llmtrace_langsmith::run_from_json(&bytes, op, path_id.as_deref()) {
        Ok(set) => ingest(&st, &project, set, bytes.len()).await,
        Err(e) => ls_error(e),
    }
}

/// `POST /feedback`: one LangSmith feedback (the SDK's `create_feedback`) as a score; it must
/// name its `trace_id`.
async fn create_feedback(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let project = match st.auth.project(&headers) {
        Ok(p) => p.to_owned(),
        Err(e) => return otlp_http_error(&e, None),
    };
    let bytes = match json_body(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return crate::error::api_error(
                StatusCode::BAD_REQUEST,
                format!("body is not JSON: {e}"),
            )
        }
    };
    let score = match llmtrace_langsmith::feedback_to_score(
        &project,
        &value,
        crate::langfuse::unix_now(),
    ) {
        Ok(s) => s,
        Err(e) => return ls_error(e),
    };
    let id = score.id.clone();
    match st.ingest.export_scores(vec![score]).await {
        Ok(_) => Json(serde_json::json!({ "id": id })).into_response(),
        Err(e) => otlp_http_error(&e, None),
    }
}

/// Converts the runs and stores the spans (and the feedback parts as scores); answers 202 with
/// what was accepted.
async fn ingest(st: &AppState, project: &str, mut set: RunSet, wire_bytes: usize) -> Response {
    let ignored_parts = set.ignored_parts();
    let now = crate::langfuse::unix_now();
    let mut scores = Vec::new();
    for f in set.take_feedback() {
        match llmtrace_langsmith::feedback_to_score(project, &f, now) {
            Ok(s) => scores.push(s),
            Err(e) => tracing::debug!(error = %e, "langsmith feedback part not stored"),
        }
    }
    let conv = match set.to_spans(project) {
        Ok(c) => c,
        Err(e) => return ls_error(e),
    };
    for s in &conv.skipped {
        tracing::debug!(run_id = %s.run_id, reason = %s.reason, "langsmith run not stored");
    }
    let skipped: Vec<serde_json::Value> = conv
        .skipped
        .iter()
        .map(|s| serde_json::json!({ "run_id": s.run_id, "reason": s.reason }))
        .collect();
    let stored = match st.ingest.export_spans(conv.spans, wire_bytes).await {
        Ok(outcome) if !scores.is_empty() => st.ingest.export_scores(scores).await.map(|_| outcome),
        other => other,
    };
    match stored {
        Ok(outcome) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "accepted": outcome.accepted,
                "unfinished": conv.unfinished,
                "skipped": skipped,
                "ignored_parts": ignored_parts,
            })),
        )
            .into_response(),
        Err(e) => {
            if e.class == ErrorClass::Internal {
                tracing::error!(error = %e, "langsmith ingest failed");
            }
            otlp_http_error(&e, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01a213b5-3f2a-7953-adfc-36650a1daf2d";

    fn body(boundary: &str) -> Vec<u8> {
        let post = serde_json::json!({"id": ID, "trace_id": ID, "name": "root", "run_type": "chain",
            "start_time": "2026-01-01T00:00:00Z"});
        let mut b = Vec::new();
        for (name, data) in [
            (format!("post.{ID}"), post.to_string()),
            (format!("post.{ID}.inputs"), r#"{"q":"hi"}"#.to_owned()),
            (
                format!("patch.{ID}"),
                r#"{"end_time":"2026-01-01T00:00:01Z"}"#.to_owned(),
            ),
        ] {
            b.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{data}\r\n",
                    data.len()
                )
                .as_bytes(),
            );
        }
        b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        b
    }

    #[tokio::test]
    async fn zstd_multipart_body_decodes_into_merged_runs() {
        let plain = body("24825503b20949f2a7382f4a0d2c8cb2");
        let z = zstd::stream::encode_all(&plain[..], 1).unwrap();
        let decoded = llmtrace_langsmith::decompress_zstd(&z, 1 << 20).unwrap();
        let set = parse_multipart(
            Bytes::from(decoded),
            "24825503b20949f2a7382f4a0d2c8cb2".into(),
            Default::default(),
        )
        .await
        .unwrap();
        let runs = set.into_runs();
        assert_eq!(runs.len(), 1);
        assert!(runs[0].posted && runs[0].patched);
        assert!(runs[0].run.is_finished());
        assert_eq!(runs[0].run.inputs, Some(serde_json::json!({"q": "hi"})));
    }

    #[tokio::test]
    async fn malformed_multipart_is_a_400() {
        let mut b = body("xyz");
        b.truncate(b.len() / 2);
        let r = parse_multipart(Bytes::from(b), "xyz".into(), Default::default())
            .await
            .unwrap_err();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = parse_multipart(
            Bytes::from_static(b"no parts here"),
            "xyz".into(),
            Default::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}
