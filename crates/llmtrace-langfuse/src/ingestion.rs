//! Langfuse's batch ingestion API (what Langfuse SDKs before the OpenTelemetry-based v3 send):
//! events that create and update traces, observations and scores, converted into spans.
//!
//! Events of one batch are merged per entity (creates, then updates, by timestamp) and turned
//! into spans carrying the attributes the Langfuse SDK itself puts on OpenTelemetry spans
//! (`langfuse.observation.*`), so the Langfuse dialect of the normalizer interprets both forms
//! the same way. A trace becomes a root span; an observation becomes a child of its parent
//! observation, or of the trace's root. An observation without an end time is stored
//! incomplete, and its next copy replaces it, merged with it by the store: an update sent in a
//! later batch than its create (Langfuse SDK v2's usual flow) needs no start time, name or model,
//! and an update of an observation never created is stored (Langfuse upserts too). An update of
//! an observation stored complete (its create had an end time) changes nothing.

use crate::ids::{root_span_id, span_id_of, trace_id_of};
use llmtrace_model::{AttrValue, Attributes, Score, Span, StatusCode as SpanStatus};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What a batch became: the spans and scores to store, and the per-event answers of Langfuse's
/// 207 multi-status (`{"id", "status": 201}` and `{"id", "status": 400, "message", "error"}`).
#[derive(Debug, Default)]
pub struct Conversion {
    /// Spans to store.
    pub spans: Vec<Span>,
    /// Scores to store.
    pub scores: Vec<Score>,
    /// One entry per event taken.
    pub successes: Vec<Value>,
    /// One entry per event refused, with the reason.
    pub errors: Vec<Value>,
}

/// An ISO-8601 timestamp field as Unix nanoseconds (a missing offset is read as UTC).
pub fn time_of(v: Option<&Value>) -> Option<u64> {
    llmtrace_model::time::parse_time_str(v?.as_str()?)
}

/// A JSON value as an attribute: strings as they are, anything else as JSON text.
pub fn json_attr(v: &Value) -> AttrValue {
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

/// Converts the events of one ingestion batch of `project`. `now_unix_nano` and `fresh_id` stand
/// in for the clock and an id generator, for scores that name no time or id.
pub fn convert_batch(
    project: &str,
    batch: &[Value],
    now_unix_nano: u64,
    fresh_id: &mut dyn FnMut() -> String,
) -> Conversion {
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
                match crate::score::score_from_json(
                    project,
                    &Value::Object(body.clone()),
                    now_unix_nano,
                    &mut *fresh_id,
                ) {
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
        spans.push(trace_span(project, id, e));
        successes.extend(
            event_ids
                .iter()
                .map(|i| serde_json::json!({ "id": i, "status": 201 })),
        );
    }
    for (id, (e, kind, event_ids)) in &observations {
        let built = observation_span(project, id, kind, e);
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
    Conversion {
        spans,
        scores,
        successes,
        errors,
    }
}
