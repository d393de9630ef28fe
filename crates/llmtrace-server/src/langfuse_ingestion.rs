//! Langfuse's batch ingestion API, `POST /api/public/ingestion` (what Langfuse SDKs before the
//! OpenTelemetry-based v3 send): events that create and update traces, observations and scores.
//!
//! Events of one batch are merged per entity (creates, then updates, by timestamp) and turned
//! into spans carrying the attributes the Langfuse SDK itself puts on OpenTelemetry spans
//! (`langfuse.observation.*`), so the Langfuse dialect of the normalizer interprets both forms
//! the same way. A trace becomes a root span; an observation becomes a child of its parent
//! observation, or of the trace's root. An observation without an end time is stored
//! incomplete, and its next copy replaces it, merged with it by the store: an update sent in a
//! later batch than its create (Langfuse SDK v2's usual flow) needs no start time, name or model,
//! and an update of an observation never created is stored (Langfuse upserts too). An update of
//! an observation stored complete (its create had an end time) changes nothing. The answer is
//! Langfuse's 207 multi-status.

use crate::error::api_error;
use crate::request_limits;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmtrace_model::{AttrValue, Attributes, Span, SpanId, StatusCode as SpanStatus, TraceId};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest ingestion body (Langfuse documents 3.5 MB and enforces 4.5 MB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// FNV-1a over `s` from `basis`: a stable fallback id for entity ids that are not hex.
fn fnv(s: &str, basis: u64) -> u64 {
    let mut h = basis;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.max(1)
}

/// A Langfuse trace id as an OpenTelemetry trace id: 32 hex characters (the OTel-based SDKs, or
/// a UUID without dashes) are used as they are; any other id is hashed.
pub(crate) fn trace_id_of(id: &str) -> TraceId {
    let compact: String = id.chars().filter(|c| *c != '-').collect();
    if let Ok(t) = TraceId::from_hex(&compact) {
        return t;
    }
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&fnv(id, 0xcbf2_9ce4_8422_2325).to_be_bytes());
    b[8..].copy_from_slice(&fnv(id, 0x8422_2325_cbf2_9ce4).to_be_bytes());
    TraceId(b)
}

/// A Langfuse observation id as a span id: 16 hex characters are used as they are, a UUID by
/// its last 8 bytes (the random part of v4 and v7 UUIDs), anything else hashed.
pub(crate) fn span_id_of(id: &str) -> SpanId {
    let compact: String = id.chars().filter(|c| *c != '-').collect();
    if let Ok(s) = SpanId::from_hex(&compact) {
        return s;
    }
    // `get`: a 32-byte id of multi-byte characters has no char boundary at 16.
    if let Some(Ok(s)) = compact
        .get(16..)
        .filter(|_| compact.len() == 32)
        .map(SpanId::from_hex)
    {
        return s;
    }
    SpanId(fnv(id, 0xcbf2_9ce4_8422_2325).to_be_bytes())
}

/// The root span standing for a Langfuse trace.
fn root_span_id(trace_id: &str) -> SpanId {
    SpanId(fnv(&format!("langfuse-trace:{trace_id}"), 0xcbf2_9ce4_8422_2325).to_be_bytes())
}

/// An ISO-8601 timestamp field as Unix nanoseconds (a missing offset is read as UTC).
pub(crate) fn time_of(v: Option<&Value>) -> Option<u64> {
    let s = v?.as_str()?;
    llmtrace_query::parse_rfc3339(s)
        .or_else(|_| llmtrace_query::parse_rfc3339(&format!("{s}Z")))
        .ok()
}

/// A JSON value as an attribute: strings as they are, anything else as JSON text.
pub(crate) fn json_attr(v: &Value) -> AttrValue {
    match v {
        Value::String(s) => AttrValue::Str(s.clone()),
        other => AttrValue::Str(other.to_string()),
    }
}

/// One event of a batch, validated: envelope id, type, timestamp, body, whether it creates its
/// entity, and the entity kind.
struct Event<'a> {
    id: &'a str,
    kind: &'a str,
    time: u64,
    body: &'a Map<String, Value>,
    create: bool,
    entity: &'static str,
}

/// One merged entity: its body (later fields win) and the time of its first event.
struct Entity {
    body: Map<String, Value>,
    first_event: u64,
    created: bool,
}

fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        if !v.is_null() {
            into.insert(k.clone(), v.clone());
        }
    }
}

/// What kind of entity an event type touches, and whether it creates it.
fn classify(kind: &str) -> Option<(&'static str, bool)> {
    Some(match kind {
        "trace-create" => ("trace", true),
        "span-create" | "generation-create" | "event-create" | "observation-create"
        | "agent-create" | "tool-create" | "chain-create" | "retriever-create"
        | "evaluator-create" | "embedding-create" | "guardrail-create" => ("observation", true),
        "span-update" | "generation-update" | "observation-update" => ("observation", false),
        "score-create" => ("score", true),
        "sdk-log" => ("log", true),
        _ => return None,
    })
}

/// The Langfuse observation type of a create event (`generation-create` → `generation`).
fn observation_type(kind: &str, body: &Map<String, Value>) -> String {
    match kind
        .strip_suffix("-create")
        .or_else(|| kind.strip_suffix("-update"))
    {
        Some("observation") | None => body
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("span")
            .to_ascii_lowercase(),
        Some(t) => t.to_string(),
    }
}

fn trace_span(project: &str, id: &str, e: &Entity) -> Span {
    let b = &e.body;
    let start = time_of(b.get("timestamp")).unwrap_or(e.first_event);
    let mut attrs = Attributes::default();
    attrs.push("langfuse.observation.type", AttrValue::Str("span".into()));
    let str_key = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(n) = str_key("name") {
        attrs.push("langfuse.trace.name", AttrValue::Str(n));
    }
    if let Some(u) = str_key("userId") {
        attrs.push("user.id", AttrValue::Str(u));
    }
    if let Some(s) = str_key("sessionId") {
        attrs.push("session.id", AttrValue::Str(s));
    }
    for (key, attr) in [
        ("input", "langfuse.observation.input"),
        ("output", "langfuse.observation.output"),
        ("metadata", "langfuse.trace.metadata"),
        ("tags", "langfuse.trace.tags"),
        ("release", "langfuse.release"),
        ("version", "langfuse.version"),
        ("environment", "langfuse.environment"),
    ] {
        if let Some(v) = b.get(key).filter(|v| !v.is_null()) {
            attrs.push(attr, json_attr(v));
        }
    }
    Span {
        project: project.to_string(),
        trace_id: trace_id_of(id),
        span_id: root_span_id(id),
        parent_span_id: None,
        name: str_key("name").unwrap_or_else(|| "trace".into()),
        service: "langfuse".into(),
        start_unix_nano: start,
        end_unix_nano: start,
        attributes: attrs,
        scope_name: "langfuse-ingestion".into(),
        // A trace has no end of its own; a later trace event for it replaces this copy.
        incomplete: true,
        ..Default::default()
    }
}

fn observation_span(project: &str, id: &str, kind: &str, e: &Entity) -> Result<Span, String> {
    let b = &e.body;
    let str_key = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
    let trace = str_key("traceId").ok_or("traceId is required")?;
    // An update whose create came in an earlier batch: what it lacks (start, name, parent,
    // model, input) is kept from the stored copy when the store merges the two
    // (`llmtrace_store::merge_incomplete`); start 0 means "not known here".
    let update_only = !e.created && !b.contains_key("startTime");
    let start = match time_of(b.get("startTime")) {
        Some(t) => t,
        None if update_only => 0,
        None => return Err("startTime is required".into()),
    };
    let end = time_of(b.get("endTime"));
    let ty = observation_type(kind, b);
    let mut attrs = Attributes::default();
    attrs.push("langfuse.observation.type", AttrValue::Str(ty.clone()));
    if let Some(m) = str_key("model") {
        attrs.push("langfuse.observation.model.name", AttrValue::Str(m));
    }
    for (key, attr) in [
        ("modelParameters", "langfuse.observation.model.parameters"),
        ("input", "langfuse.observation.input"),
        ("output", "langfuse.observation.output"),
        ("metadata", "langfuse.observation.metadata"),
        ("level", "langfuse.observation.level"),
        ("statusMessage", "langfuse.observation.status_message"),
        (
            "completionStartTime",
            "langfuse.observation.completion_start_time",
        ),
        ("promptName", "langfuse.observation.prompt.name"),
        ("version", "langfuse.version"),
        ("environment", "langfuse.environment"),
    ] {
        if let Some(v) = b.get(key).filter(|v| !v.is_null()) {
            attrs.push(attr, json_attr(v));
        }
    }
    // usageDetails (free map, Langfuse convention) wins; else the legacy `usage` object.
    if let Some(u) = b.get("usageDetails").filter(|v| v.is_object()) {
        attrs.push("langfuse.observation.usage_details", json_attr(u));
    } else if let Some(u) = b.get("usage").and_then(Value::as_object) {
        let n = |keys: &[&str]| keys.iter().find_map(|k| u.get(*k).and_then(Value::as_i64));
        let mut details = Map::new();
        if let Some(i) = n(&["input", "promptTokens", "prompt_tokens"]) {
            details.insert("input".into(), i.into());
        }
        if let Some(o) = n(&["output", "completionTokens", "completion_tokens"]) {
            details.insert("output".into(), o.into());
        }
        if !details.is_empty() {
            attrs.push(
                "langfuse.observation.usage_details",
                json_attr(&Value::Object(details)),
            );
        }
        if let Some(c) = u.get("totalCost").filter(|c| c.is_number()) {
            attrs.push(
                "langfuse.observation.cost_details",
                json_attr(&serde_json::json!({ "total": c })),
            );
        }
    }
    if let Some(c) = b.get("costDetails").filter(|v| v.is_object()) {
        attrs.push("langfuse.observation.cost_details", json_attr(c));
    }
    let error = str_key("level").as_deref() == Some("ERROR");
    Ok(Span {
        project: project.to_string(),
        trace_id: trace_id_of(&trace),
        span_id: span_id_of(id),
        parent_span_id: match str_key("parentObservationId") {
            Some(p) => Some(span_id_of(&p)),
            None if update_only => None,
            None => Some(root_span_id(&trace)),
        },
        name: match str_key("name") {
            Some(n) => n,
            None if update_only => String::new(),
            None => ty.clone(),
        },
        service: "langfuse".into(),
        start_unix_nano: start,
        // An update without times ends (so far) at its event time.
        end_unix_nano: end
            .unwrap_or(if update_only { e.first_event } else { start })
            .max(start),
        status: if error {
            SpanStatus::Error
        } else {
            SpanStatus::Unset
        },
        status_message: if error {
            str_key("statusMessage").unwrap_or_default()
        } else {
            String::new()
        },
        attributes: attrs,
        scope_name: "langfuse-ingestion".into(),
        incomplete: end.is_none() && ty != "event",
        ..Default::default()
    })
}

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
    let mut successes: Vec<Value> = Vec::new();
    let mut errors: Vec<Value> = Vec::new();
    let mut fail = |id: &str, message: String| {
        errors.push(
            serde_json::json!({ "id": id, "status": 400, "message": message, "error": message }),
        );
    };
    // Creates before updates, each by timestamp, as Langfuse processes them.
    let mut events: Vec<Event<'_>> = Vec::new();
    for ev in batch {
        let id = ev.get("id").and_then(Value::as_str).unwrap_or("");
        let kind = ev.get("type").and_then(Value::as_str).unwrap_or("");
        let Some(body) = ev.get("body").and_then(Value::as_object) else {
            fail(id, "event has no body object".into());
            continue;
        };
        if id.is_empty() {
            fail(id, "event id is required".into());
            continue;
        }
        let Some((entity, create)) = classify(kind) else {
            fail(id, format!("unknown event type {kind:?}"));
            continue;
        };
        let t = time_of(ev.get("timestamp")).unwrap_or(0);
        events.push(Event {
            id,
            kind,
            time: t,
            body,
            create,
            entity,
        });
    }
    events.sort_by_key(|e| (!e.create, e.time));
    let mut traces: HashMap<String, (Entity, Vec<String>)> = HashMap::new();
    let mut observations: HashMap<String, (Entity, String, Vec<String>)> = HashMap::new();
    let mut scores = Vec::new();
    for Event {
        id,
        kind,
        time: t,
        body,
        create,
        entity,
    } in events
    {
        let entity_id = body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match entity {
            "log" => successes.push(serde_json::json!({ "id": id, "status": 201 })),
            "score" => {
                match crate::langfuse::score_from_json(&project, &Value::Object(body.clone())) {
                    Ok(s) => {
                        scores.push(s);
                        successes.push(serde_json::json!({ "id": id, "status": 201 }));
                    }
                    Err(m) => fail(id, m),
                }
            }
            _ if entity_id.is_empty() => fail(id, "body.id is required".into()),
            "trace" => {
                let e = traces.entry(entity_id).or_insert_with(|| {
                    (
                        Entity {
                            body: Map::new(),
                            first_event: t,
                            created: true,
                        },
                        Vec::new(),
                    )
                });
                merge(&mut e.0.body, body);
                e.1.push(id.to_string());
            }
            _ => {
                let e = observations.entry(entity_id).or_insert_with(|| {
                    (
                        Entity {
                            body: Map::new(),
                            first_event: t,
                            created: create,
                        },
                        kind.to_string(),
                        Vec::new(),
                    )
                });
                merge(&mut e.0.body, body);
                e.2.push(id.to_string());
            }
        }
    }
    let mut spans = Vec::new();
    for (id, (e, event_ids)) in &traces {
        spans.push(trace_span(&project, id, e));
        successes.extend(
            event_ids
                .iter()
                .map(|i| serde_json::json!({ "id": i, "status": 201 })),
        );
    }
    for (id, (e, kind, event_ids)) in &observations {
        let built = observation_span(&project, id, kind, e);
        match built {
            Ok(s) => {
                spans.push(s);
                successes.extend(
                    event_ids
                        .iter()
                        .map(|i| serde_json::json!({ "id": i, "status": 201 })),
                );
            }
            Err(m) => {
                for i in event_ids {
                    fail(i, m.clone());
                }
            }
        }
    }
    if let Err(e) = st.ingest.export_raw_spans(spans, scores, bytes.len()).await {
        return crate::error::otlp_http_error(&e, None);
    }
    // A batch of thousands of bad events answers with the first errors and a count of the rest.
    let unlisted = request_limits::truncate_errors(&mut errors);
    let mut answer = serde_json::json!({ "successes": successes, "errors": errors });
    if unlisted > 0 {
        answer["errorsNotListed"] = unlisted.into();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32-byte id of multi-byte characters (no char boundary at 16) is hashed, not sliced.
    #[test]
    fn non_ascii_ids_never_panic() {
        for id in [
            "€€€€€€€€€€ab",
            "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€ab",
            "ab€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€",
        ] {
            let s = span_id_of(id);
            assert_eq!(s, span_id_of(id), "stable");
            let _ = trace_id_of(id);
        }
        assert_eq!(
            span_id_of("0123456789abcdef0123456789abcdef"),
            SpanId::from_hex("0123456789abcdef").unwrap()
        );
    }
}
