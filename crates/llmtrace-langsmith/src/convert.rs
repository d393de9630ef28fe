//! One merged run to one normalized [`Span`].

use crate::ids::{format_uuid, parse_dotted_order, parse_uuid, span_id_for, trace_id_for, Uuid};
use crate::messages::{input_messages, output_messages};
use crate::time::parse_timestamp;
use crate::usage::usage_from_run;
use crate::value::{attr, count, float, id_text, json_text, path, text, truncate};
use crate::Run;
use llmtrace_model::{
    AttrValue, Attributes, GenAi, Span, SpanEvent, SpanKind, StatusCode, TraceId,
};
use serde_json::Value;
use std::sync::Arc;

/// Size and count limits of the conversion.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest `langsmith.inputs` / `langsmith.outputs` attribute (compact JSON), in bytes.
    pub io_bytes: usize,
    /// Largest other string attribute, in bytes.
    pub value_bytes: usize,
    /// Most `langsmith.metadata.*` attributes kept per run.
    pub metadata_keys: usize,
    /// Most run events kept per run.
    pub events: usize,
}

/// The limits in effect.
pub const LIMITS: Limits = Limits {
    io_bytes: 256 * 1024,
    value_bytes: 64 * 1024,
    metadata_keys: 128,
    events: 256,
};

/// The service name of runs without a LangSmith project (`session_name`).
const DEFAULT_SERVICE: &str = "langsmith";

/// Why a run cannot become a span.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The run has no id.
    #[error("run has no id")]
    MissingId,
    /// A field holds something unusable (the request is malformed).
    #[error("run {run}: {field} {value:?} is not {expected}")]
    Invalid {
        /// The run id as sent.
        run: String,
        /// The field.
        field: &'static str,
        /// Its value, shortened.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// Nothing places the run in a trace: no `trace_id`, no `dotted_order`, and a parent.
    #[error("run {0} has no trace_id or dotted_order")]
    MissingTrace(String),
    /// The run has no start time (`start_time` or `dotted_order`).
    #[error("run {0} has no start_time or dotted_order")]
    MissingStart(String),
}

impl ConvertError {
    /// Whether the run is malformed (answer 400) rather than merely incomplete (a patch sent
    /// without the fields that place it).
    pub fn is_malformed(&self) -> bool {
        matches!(self, ConvertError::MissingId | ConvertError::Invalid { .. })
    }
}

fn invalid(run: &str, field: &'static str, value: &str, expected: &'static str) -> ConvertError {
    ConvertError::Invalid {
        run: run.to_owned(),
        field,
        value: truncate(value.to_owned(), 80),
        expected,
    }
}

/// Converts one (merged) run into a span of `project`.
///
/// Ids: see [`crate::ids`]. Placement falls back on `dotted_order` (its first segment is the
/// trace's root, its second-to-last the parent, its last the run's own start). A run without an
/// end time or an error is unfinished: it ends at its start, has status unset, `incomplete`
/// set and the attribute `langsmith.unfinished = true`.
pub fn run_to_span(run: &Run, project: &str) -> Result<Span, ConvertError> {
    let raw_id = run.id.as_deref().map(str::trim).unwrap_or_default();
    if raw_id.is_empty() {
        return Err(ConvertError::MissingId);
    }
    let run_uuid = parse_uuid(raw_id).ok_or_else(|| invalid(raw_id, "id", raw_id, "a UUID"))?;
    let run_id = format_uuid(&run_uuid);
    let span_id =
        span_id_for(&run_uuid).ok_or_else(|| invalid(raw_id, "id", raw_id, "a non-nil UUID"))?;

    let dotted = match run
        .dotted_order
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(d) => Some(
            parse_dotted_order(d)
                .ok_or_else(|| invalid(&run_id, "dotted_order", d, "a dotted order"))?,
        ),
        None => None,
    };
    let uuid_field = |field: &'static str, v: Option<&str>| -> Result<Option<Uuid>, ConvertError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => parse_uuid(s)
                .map(Some)
                .ok_or_else(|| invalid(&run_id, field, s, "a UUID")),
            None => Ok(None),
        }
    };
    let parent_uuid = uuid_field("parent_run_id", run.parent_run_id.as_deref())?
        .or_else(|| {
            let d = dotted.as_ref()?;
            d.iter().nth_back(1).map(|s| s.run_id)
        })
        .filter(|p| *p != run_uuid);
    let trace_uuid = uuid_field("trace_id", run.trace_id.as_deref())?
        .or_else(|| dotted.as_ref().and_then(|d| d.first()).map(|s| s.run_id))
        .or_else(|| parent_uuid.is_none().then_some(run_uuid))
        .ok_or_else(|| ConvertError::MissingTrace(run_id.clone()))?;
    let trace_id: TraceId = trace_id_for(&trace_uuid).ok_or_else(|| {
        invalid(
            &run_id,
            "trace_id",
            &format_uuid(&trace_uuid),
            "a non-nil UUID",
        )
    })?;

    let time_field =
        |field: &'static str, v: Option<&Value>| -> Result<Option<u64>, ConvertError> {
            match v.filter(|v| !v.is_null()) {
                Some(v) => parse_timestamp(v)
                    .map(Some)
                    .ok_or_else(|| invalid(&run_id, field, &v.to_string(), "a timestamp")),
                None => Ok(None),
            }
        };
    let start = time_field("start_time", run.start_time.as_ref())?
        .or_else(|| {
            dotted
                .as_ref()
                .and_then(|d| d.last())
                .filter(|s| s.run_id == run_uuid)
                .map(|s| s.start_unix_nano)
        })
        .ok_or_else(|| ConvertError::MissingStart(run_id.clone()))?;
    let end = time_field("end_time", run.end_time.as_ref())?;
    let error = run.error_text();
    let finished = end.is_some() || error.is_some();

    let run_type = run
        .run_type
        .as_deref()
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty());
    let kind = run_type
        .as_deref()
        .map_or(SpanKind::Span, kind_for_run_type);
    let session_name = run
        .session_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let name = run
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .or(run_type.as_deref())
        .unwrap_or("run")
        .to_owned();

    let mut span = Span {
        project: project.to_owned(),
        trace_id,
        span_id,
        parent_span_id: parent_uuid.and_then(|p| span_id_for(&p)),
        name,
        service: session_name.unwrap_or(DEFAULT_SERVICE).to_owned(),
        start_unix_nano: start,
        end_unix_nano: end.unwrap_or(start).max(start),
        otel_kind: if kind.is_model_call() { 3 } else { 1 },
        status: if error.is_some() {
            StatusCode::Error
        } else if finished {
            StatusCode::Ok
        } else {
            StatusCode::Unset
        },
        kind,
        incomplete: !finished,
        scope_name: "langsmith".to_owned(),
        ..Span::default()
    };
    span.gen_ai = gen_ai(run, kind, run_type.as_deref(), &span.name);
    if kind.is_model_call() {
        if let Some(u) = usage_from_run(run) {
            span.usage = u;
        }
    }
    span.counts_usage = llmtrace_normalize::aggregate::counts_usage(&span);
    if let Some(e) = error.as_deref() {
        apply_error(&mut span, e, end.unwrap_or(start));
    }
    span.events.extend(events(run, &mut span.gen_ai, start));
    span.attributes = attributes(
        run,
        &run_id,
        &trace_uuid,
        parent_uuid.as_ref(),
        run_type.as_deref(),
        session_name,
        finished,
    );
    span.resource_attributes = Arc::new(resource(run, &span.service));
    if let Some(v) = runtime(run, "sdk_version") {
        span.scope_version = v.to_owned();
    }
    Ok(span)
}

/// `run_type` → kind (reference §5.2): `prompt`, `parser` and unknown types are plain spans.
fn kind_for_run_type(t: &str) -> SpanKind {
    match t {
        "llm" => SpanKind::Llm,
        "embedding" => SpanKind::Embedding,
        "retriever" => SpanKind::Retriever,
        "tool" => SpanKind::Tool,
        "chain" => SpanKind::Chain,
        _ => SpanKind::Span,
    }
}

fn gen_ai(run: &Run, kind: SpanKind, run_type: Option<&str>, name: &str) -> GenAi {
    let meta = |k: &str| run.metadata_value(k);
    let meta_str = |k: &str| meta(k).and_then(text).map(str::to_owned);
    let mut g = GenAi {
        operation: run_type.map(str::to_owned),
        ..GenAi::default()
    };
    if let Some(raw) = meta("ls_provider").and_then(text) {
        match llmtrace_normalize::alias::canonical_provider(raw) {
            Some(c) => {
                if c != raw {
                    g.provider_raw = Some(raw.to_owned());
                }
                g.provider = Some(c.into_owned());
            }
            None => g.provider_raw = Some(raw.to_owned()),
        }
    }
    let inputs = run.inputs.as_ref();
    let outputs = run.outputs.as_ref();
    let invocation = run.extra_value("invocation_params");
    g.request_model = meta_str("ls_model_name")
        .or_else(|| {
            let p = invocation?;
            p.get("model")
                .and_then(text)
                .or_else(|| p.get("model_name").and_then(text))
                .map(str::to_owned)
        })
        .or_else(|| {
            kind.is_model_call()
                .then(|| inputs?.get("model").and_then(text).map(str::to_owned))
                .flatten()
        });
    if kind.is_model_call() {
        g.response_model = outputs.and_then(response_model);
        g.response_id = outputs
            .and_then(|o| o.get("id"))
            .and_then(text)
            .map(str::to_owned);
    }

    let p = &mut g.params;
    let param = |k: &str, alt: &str| {
        meta(k).or_else(|| invocation.and_then(|i| i.get(alt)).filter(|v| !v.is_null()))
    };
    p.temperature = param("ls_temperature", "temperature").and_then(float);
    p.max_tokens = param("ls_max_tokens", "max_tokens")
        .and_then(count)
        .and_then(|n| i64::try_from(n).ok());
    p.stop_sequences = match param("ls_stop", "stop") {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    p.stream = meta("ls_invocation_params")
        .or(invocation)
        .and_then(|i| i.get("stream"))
        .and_then(Value::as_bool);

    if let Some(i) = inputs {
        let (msgs, system) = input_messages(i);
        g.input_messages = msgs;
        g.system_instructions = system;
    }
    if let Some(o) = outputs {
        g.output_messages = output_messages(o);
    }
    g.finish_reasons = g
        .output_messages
        .iter()
        .filter_map(|m| m.finish_reason.clone())
        .collect();

    g.user_id = meta("user_id").and_then(id_text);
    g.session_id = ["session_id", "thread_id", "conversation_id"]
        .iter()
        .find_map(|k| meta(k).and_then(id_text));
    if kind == SpanKind::Tool {
        g.tool_name = Some(name.to_owned());
    }
    g
}

/// The model that answered: a provider response's `model`, LangChain `response_metadata`, or
/// the `llm_output` of a LangChain LLM result.
fn response_model(o: &Value) -> Option<String> {
    fn from_meta(m: &Value) -> Option<&str> {
        path(m, &["response_metadata", "model_name"])
            .or_else(|| path(m, &["response_metadata", "model"]))
            .and_then(text)
    }
    o.get("model")
        .and_then(text)
        .or_else(|| from_meta(o))
        .or_else(|| {
            let gens = o.get("generations")?.as_array()?;
            gens.iter()
                .flat_map(|g| g.as_array().map_or(std::slice::from_ref(g), Vec::as_slice))
                .filter_map(|g| g.get("message"))
                .find_map(|m| m.get("kwargs").and_then(from_meta).or_else(|| from_meta(m)))
        })
        .or_else(|| {
            path(o, &["llm_output", "model_name"])
                .or_else(|| path(o, &["llm_output", "model"]))
                .and_then(text)
        })
        .map(str::to_owned)
}

/// Error status, message (the first line of the error text), class, and an `exception` event
/// holding the whole text (Python `repr` plus traceback).
fn apply_error(span: &mut Span, error: &str, at: u64) {
    let first = error
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(error);
    span.status_message = truncate(first.to_owned(), 1024);
    let class = error_class(first);
    span.gen_ai.error_type = class.clone();
    let mut attrs = Attributes::default();
    if let Some(c) = class {
        attrs.push("exception.type", AttrValue::Str(c));
    }
    attrs.push(
        "exception.message",
        AttrValue::Str(span.status_message.clone()),
    );
    attrs.push(
        "exception.stacktrace",
        AttrValue::Str(truncate(error.to_owned(), LIMITS.value_bytes)),
    );
    span.events.push(SpanEvent {
        time_unix_nano: at,
        name: "exception".to_owned(),
        attributes: attrs,
    });
}

/// The exception class of `ValueError('boom')`, `anthropic.APIStatusError: ...` or
/// `KeyError`, when the text starts with a (dotted) identifier.
fn error_class(first_line: &str) -> Option<String> {
    let end = first_line
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(first_line.len());
    let (ident, rest) = first_line.split_at_checked(end)?;
    let looks_like_class = ident.chars().next().is_some_and(char::is_alphabetic)
        && (rest.is_empty() || rest.starts_with('(') || rest.starts_with(':'));
    looks_like_class.then(|| ident.to_owned())
}

/// Run events (`[{name, time, kwargs}]`) as span events; the first `new_token` event also gives
/// the time to first token.
fn events(run: &Run, g: &mut GenAi, start: u64) -> Vec<SpanEvent> {
    let Some(Value::Array(items)) = run.events.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in items {
        let Some(name) = e.get("name").and_then(text) else {
            continue;
        };
        let time = e.get("time").and_then(parse_timestamp).unwrap_or(start);
        if name == "new_token" && g.time_to_first_token_s.is_none() && time >= start {
            g.time_to_first_token_s = Some(time.saturating_sub(start) as f64 / 1e9);
        }
        if out.len() >= LIMITS.events {
            continue;
        }
        let mut attrs = Attributes::default();
        if let Some(Value::Object(kw)) = e.get("kwargs") {
            for (k, v) in kw {
                if let Some(a) = attr(v, LIMITS.value_bytes) {
                    attrs.push(k.clone(), a);
                }
            }
        }
        out.push(SpanEvent {
            time_unix_nano: time,
            name: name.to_owned(),
            attributes: attrs,
        });
    }
    out
}

fn attributes(
    run: &Run,
    run_id: &str,
    trace: &Uuid,
    parent: Option<&Uuid>,
    run_type: Option<&str>,
    session_name: Option<&str>,
    finished: bool,
) -> Attributes {
    let mut a = Attributes::default();
    let s = |v: &str| AttrValue::Str(truncate(v.to_owned(), LIMITS.value_bytes));
    a.push("langsmith.run_id", s(run_id));
    a.push("langsmith.trace_id", s(&format_uuid(trace)));
    if let Some(p) = parent {
        a.push("langsmith.parent_run_id", s(&format_uuid(p)));
    }
    if let Some(d) = run.dotted_order.as_deref() {
        a.push("langsmith.dotted_order", s(d));
    }
    if let Some(t) = run_type {
        a.push("langsmith.run_type", s(t));
    }
    if let Some(p) = session_name {
        a.push("langsmith.project", s(p));
    }
    if let Some(id) = run.session_id.as_deref().filter(|x| !x.trim().is_empty()) {
        a.push("langsmith.session_id", s(id));
    }
    match run.tags.as_ref() {
        Some(Value::Array(tags)) if !tags.is_empty() => a.push(
            "langsmith.tags",
            AttrValue::Array(
                tags.iter()
                    .filter_map(|t| attr(t, LIMITS.value_bytes))
                    .collect(),
            ),
        ),
        Some(Value::String(t)) if !t.is_empty() => a.push("langsmith.tags", s(t)),
        _ => {}
    }
    if let Some(meta) = run.metadata() {
        for (k, v) in meta.iter().take(LIMITS.metadata_keys) {
            if let Some(value) = attr(v, LIMITS.value_bytes) {
                a.push(format!("langsmith.metadata.{k}"), value);
            }
        }
    }
    for (key, v) in [
        ("langsmith.inputs", &run.inputs),
        ("langsmith.outputs", &run.outputs),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !is_empty_json(v)) {
            a.push(key, AttrValue::Str(json_text(v, LIMITS.io_bytes)));
        }
    }
    if !finished {
        a.push("langsmith.unfinished", AttrValue::Bool(true));
    }
    a
}

fn is_empty_json(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn runtime<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.extra_value("runtime")?.get(key).and_then(text)
}

/// Resource attributes: `service.name`, the SDK from `extra.runtime` as `telemetry.sdk.*`,
/// and every other runtime entry as `langsmith.runtime.<key>`.
fn resource(run: &Run, service: &str) -> Attributes {
    let mut a = Attributes::default();
    a.push("service.name", AttrValue::Str(service.to_owned()));
    let Some(Value::Object(rt)) = run.extra_value("runtime") else {
        return a;
    };
    for (key, k) in [
        ("telemetry.sdk.name", "sdk"),
        ("telemetry.sdk.version", "sdk_version"),
        ("telemetry.sdk.language", "runtime"),
    ] {
        if let Some(v) = rt.get(k).and_then(text) {
            a.push(key, AttrValue::Str(v.to_owned()));
        }
    }
    for (k, v) in rt.iter().take(LIMITS.metadata_keys) {
        if matches!(k.as_str(), "sdk" | "sdk_version" | "runtime") {
            continue;
        }
        if let Some(value) = attr(v, LIMITS.value_bytes) {
            a.push(format!("langsmith.runtime.{k}"), value);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_classes() {
        assert_eq!(
            error_class("ValueError('boom')").as_deref(),
            Some("ValueError")
        );
        assert_eq!(
            error_class("anthropic.APIStatusError: overloaded").as_deref(),
            Some("anthropic.APIStatusError")
        );
        assert_eq!(error_class("KeyError").as_deref(), Some("KeyError"));
        assert_eq!(error_class("something went wrong"), None);
        assert_eq!(error_class("'quoted'"), None);
    }

    #[test]
    fn errors_say_malformed_or_incomplete() {
        let r = |v: Value| serde_json::from_value::<Run>(v).unwrap();
        let e = run_to_span(&r(json!({"id": "nope"})), "p").unwrap_err();
        assert!(e.is_malformed(), "{e}");
        assert!(run_to_span(&r(json!({})), "p").unwrap_err().is_malformed());
        let id = "01a213b5-3f2a-7953-adfc-36650a1daf2d";
        let e = run_to_span(&r(json!({"id": id, "start_time": "soon"})), "p").unwrap_err();
        assert!(
            e.is_malformed() && e.to_string().contains("start_time"),
            "{e}"
        );
        let e = run_to_span(
            &r(
                json!({"id": id, "parent_run_id": "01a213b5-3f33-793c-80be-70c7d82c2a38",
                "start_time": "2026-01-01T00:00:00Z"}),
            ),
            "p",
        )
        .unwrap_err();
        assert_eq!(e, ConvertError::MissingTrace(id.into()));
        assert!(!e.is_malformed());
        let e = run_to_span(
            &r(json!({"id": id, "end_time": "2026-01-01T00:00:00Z"})),
            "p",
        )
        .unwrap_err();
        assert_eq!(e, ConvertError::MissingStart(id.into()));
    }
}
