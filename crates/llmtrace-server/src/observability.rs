//! What llmtrace tells about the LLM traffic and itself: `GET /metrics` (Prometheus text, or
//! OpenMetrics when asked), `GET /api/ingest` (ingest health, SDK-reported drops) and
//! `GET /api/alerts` (rules, states and notifications of the built-in evaluator).

use crate::error::api_error;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use llmtrace_metrics::{Format, ScrapeStats};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/api/ingest", get(ingest))
        .route("/api/alerts", get(alerts))
}

/// Whether a request presents a key at all.
fn has_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key")
}

async fn scrape_stats(st: &AppState) -> ScrapeStats {
    let counts = st.ingest.counters().snapshot();
    let health = match st.query.store_health().await {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!(error = %e, "store health unavailable for /metrics");
            None
        }
    };
    ScrapeStats {
        spans_received: counts.spans_received,
        spans_accepted: counts.spans_accepted,
        spans_rejected: counts.spans_rejected,
        requests_rejected: counts.requests_rejected,
        queue: st.ingest.pipeline().stats(),
        store_size_bytes: health.as_ref().and_then(|h| h.size_bytes),
        orphan_traces: health.map(|h| h.orphan_traces),
        panics: crate::panic_guard::panics_total(),
        connection_limit_hits: crate::connections::connection_limit_hits(),
    }
}

async fn metrics(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(m) = &st.metrics else {
        return api_error(
            StatusCode::NOT_FOUND,
            "metrics are not enabled on this server",
        );
    };
    let format = Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    // With an admin key configured, a project key sees its own project's series only; the
    // admin key, a public /metrics (a Prometheus without credentials) and servers without an
    // admin key see the node.
    let presents_key = has_credentials(&headers) || !st.auth.public_metrics();
    let scope = if st.auth.has_admin_key() && presents_key {
        match st.auth.identify(&headers) {
            Ok(crate::Identity::Project(p)) => Some(p.to_owned()),
            _ => None,
        }
    } else {
        None
    };
    let stats = scrape_stats(&st).await;
    let body = match &scope {
        Some(project) => m.render_scoped(format, &stats, llmtrace_metrics::Scope::Project(project)),
        None => m.render(format, &stats),
    };
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

/// `{"key": count, ...}`.
fn by_reason(v: &[(String, u64)]) -> Value {
    Value::Object(
        v.iter()
            .map(|(k, n)| (k.clone(), json!(n)))
            .collect::<Map<_, _>>(),
    )
}

/// The ingest figures of the UI's health page.
pub(crate) async fn ingest_health(st: &AppState) -> llmtrace_ui::IngestHealth {
    let stats = scrape_stats(st).await;
    let q = &stats.queue;
    let (sdk_dropped, unpriced_calls, usage_total_mismatches) = match &st.metrics {
        Some(m) => (
            m.sdk_dropped_spans(),
            m.unpriced_calls(),
            m.usage_total_mismatches(),
        ),
        None => (vec![], vec![], vec![]),
    };
    let (retention_deleted_traces, disk_limit_deleted_traces) = st
        .metrics
        .as_ref()
        .map(|m| m.deleted_traces())
        .unwrap_or_default();
    let forwarding = st
        .metrics
        .as_ref()
        .map(|m| m.forwarding())
        .unwrap_or_default();
    let owned = |v: &[(&'static str, u64)]| v.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    llmtrace_ui::IngestHealth {
        spans_received: stats.spans_received,
        spans_accepted: stats.spans_accepted,
        spans_written: q.spans_written,
        spans_duplicate: q.spans_duplicate,
        spans_rejected: owned(&stats.spans_rejected),
        requests_rejected: owned(&stats.requests_rejected),
        queue_items: q.queued_items,
        queue_capacity: q.capacity_items,
        queue_bytes: q.queued_bytes,
        queue_capacity_bytes: q.capacity_bytes,
        commits: q.commits,
        last_commit_ms: q.last_commit_micros as f64 / 1000.0,
        store_size_bytes: stats.store_size_bytes,
        retention_deleted_traces,
        disk_limit_deleted_traces,
        forwarding,
        orphan_traces: stats.orphan_traces,
        sdk_dropped,
        unpriced_calls,
        usage_total_mismatches,
        rate_slot_seconds: llmtrace_ingest::RATE_SLOT_SECONDS,
        rate: st
            .ingest
            .counters()
            .rate_history()
            .iter()
            .map(|r| (r.start_unix_secs, r.accepted, r.rejected))
            .collect(),
    }
}

async fn ingest(State(st): State<Arc<AppState>>) -> Response {
    let h = ingest_health(&st).await;
    Json(json!({
        "spans_received": h.spans_received,
        "spans_accepted": h.spans_accepted,
        "spans_written": h.spans_written,
        "spans_duplicate": h.spans_duplicate,
        "spans_rejected": by_reason(&h.spans_rejected),
        "requests_rejected": by_reason(&h.requests_rejected),
        "queue": {
            "items": h.queue_items,
            "capacity_items": h.queue_capacity,
            "bytes": h.queue_bytes,
            "capacity_bytes": h.queue_capacity_bytes,
        },
        "commits": h.commits,
        "last_commit_ms": h.last_commit_ms,
        "rate": {
            "accepted_per_second_last_minute": h.accepted_per_second_last_minute(),
            "slot_seconds": h.rate_slot_seconds,
            "slots": h.rate.iter().filter(|r| r.1 > 0 || r.2 > 0).map(|r| json!({
                "start": llmtrace_query::format_rfc3339_nanos(r.0.saturating_mul(1_000_000_000)),
                "accepted": r.1,
                "rejected": r.2,
            })).collect::<Vec<_>>(),
        },
        "store": {
            "size_bytes": h.store_size_bytes,
            "orphan_traces": h.orphan_traces,
            "orphan_grace_seconds": llmtrace_query::ORPHAN_GRACE.as_secs(),
        },
        "sdk_dropped_spans": {
            "total": h.sdk_dropped.iter().map(|(_, n)| n).sum::<u64>(),
            "by_service": by_reason(&h.sdk_dropped),
        },
        "usage_total_mismatches": {
            "total": h.usage_total_mismatches.iter().map(|(_, n)| n).sum::<u64>(),
            "by_service": by_reason(&h.usage_total_mismatches),
        },
        "unpriced_calls": h.unpriced_calls.iter().map(|(m, p, n)| json!({"model": m, "provider": p, "calls": n})).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn alerts(State(st): State<Arc<AppState>>) -> Response {
    match &st.alerts {
        Some(ev) => Json(ev.snapshot()).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "the built-in alert evaluator is not enabled on this server",
        ),
    }
}
