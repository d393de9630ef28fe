//! The OpenAI Agents SDK's tracing wire (`POST /v1/traces/ingest`, a JSON `{"data": [...]}` of
//! `trace` and `trace.span` objects, not OpenTelemetry) converted into llmtrace spans: pure,
//! synchronous, no IO. Each object becomes a span carrying OTel GenAI attributes, so the
//! normalizer reads them like any other GenAI span: a trace becomes the root span (named after
//! the workflow), agent spans `invoke_agent`, generation and response spans model calls,
//! function spans tool executions. Ids are mapped as Langfuse's are ([`llmtrace_langfuse::ids`]).

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap
    )
)]

use llmtrace_langfuse::ids::{span_id_of, trace_id_of};
use llmtrace_langfuse::{json_attr, time_of};
use llmtrace_model::{AttrValue, Attributes, Span, SpanId, StatusCode as SpanStatus};
use serde_json::Value;
use std::collections::HashMap;

/// The hex part of an Agents SDK id (`trace_<32 hex>`, `span_<24 hex>`).
fn hex_part(id: &str) -> &str {
    id.split_once('_').map_or(id, |(_, h)| h)
}

/// The span id of an Agents SDK span: the last 16 hex digits of its id, else a hash.
fn agents_span_id(id: &str) -> SpanId {
    let h = hex_part(id);
    // `get`: the last 16 bytes of a non-ASCII id may not start at a char boundary.
    let tail = h
        .len()
        .checked_sub(16)
        .and_then(|from| h.get(from..))
        .unwrap_or(h);
    span_id_of(tail)
}

/// The root span standing for an Agents SDK trace.
fn root_id(trace: &str) -> SpanId {
    span_id_of(&format!("openai-agents-trace:{trace}"))
}

fn span_of(project: &str, o: &Value) -> Option<Span> {
    let id = o.get("id")?.as_str()?;
    let trace = o.get("trace_id")?.as_str()?;
    let start = time_of(o.get("started_at"))?;
    let end = time_of(o.get("ended_at"));
    let data = o.get("span_data").cloned().unwrap_or(Value::Null);
    let ty = data.get("type").and_then(Value::as_str).unwrap_or("custom");
    let dname = data.get("name").and_then(Value::as_str);
    let mut a = Attributes::default();
    a.push("openai.agents.span_type", AttrValue::Str(ty.into()));
    let name = match ty {
        "agent" => {
            a.push(
                "gen_ai.operation.name",
                AttrValue::Str("invoke_agent".into()),
            );
            if let Some(n) = dname {
                a.push("gen_ai.agent.name", AttrValue::Str(n.into()));
            }
            format!("invoke_agent {}", dname.unwrap_or("agent"))
        }
        "generation" | "response" => {
            a.push("gen_ai.operation.name", AttrValue::Str("chat".into()));
            a.push("gen_ai.provider.name", AttrValue::Str("openai".into()));
            let model = data
                .get("model")
                .and_then(Value::as_str)
                .or_else(|| data.pointer("/response/model").and_then(Value::as_str));
            if let Some(m) = model {
                a.push("gen_ai.request.model", AttrValue::Str(m.into()));
            }
            if let Some(r) = data.get("response_id").and_then(Value::as_str) {
                a.push("gen_ai.response.id", AttrValue::Str(r.into()));
            }
            let usage = data
                .get("usage")
                .or_else(|| data.pointer("/response/usage"));
            if let Some(u) = usage {
                let n = |p: &str| u.pointer(p).and_then(Value::as_i64);
                if let Some(x) = n("/input_tokens").or(n("/prompt_tokens")) {
                    a.push("gen_ai.usage.input_tokens", AttrValue::Int(x));
                }
                if let Some(x) = n("/output_tokens").or(n("/completion_tokens")) {
                    a.push("gen_ai.usage.output_tokens", AttrValue::Int(x));
                }
                if let Some(x) = n("/input_tokens_details/cached_tokens").or(n("/cached_tokens")) {
                    a.push("gen_ai.usage.cache_read.input_tokens", AttrValue::Int(x));
                }
                if let Some(x) = n("/output_tokens_details/reasoning_tokens") {
                    a.push("gen_ai.usage.reasoning.output_tokens", AttrValue::Int(x));
                }
            }
            if let Some(i) = data.get("input").filter(|v| !v.is_null()) {
                a.push("gen_ai.prompt", json_attr(i));
            }
            if let Some(o) = data.get("output").filter(|v| !v.is_null()) {
                a.push("gen_ai.completion", json_attr(o));
            }
            format!("chat {}", model.unwrap_or(ty))
        }
        "function" => {
            a.push(
                "gen_ai.operation.name",
                AttrValue::Str("execute_tool".into()),
            );
            if let Some(n) = dname {
                a.push("gen_ai.tool.name", AttrValue::Str(n.into()));
            }
            for (k, attr) in [
                ("input", "gen_ai.tool.call.arguments"),
                ("output", "gen_ai.tool.call.result"),
            ] {
                if let Some(v) = data.get(k).filter(|v| !v.is_null()) {
                    a.push(attr, json_attr(v));
                }
            }
            format!("execute_tool {}", dname.unwrap_or("function"))
        }
        other => {
            if let Some(d) = data.get("data").filter(|v| !v.is_null()) {
                a.push("openai.agents.data", json_attr(d));
            }
            dname.unwrap_or(other).to_string()
        }
    };
    let error = o.get("error").filter(|e| !e.is_null());
    let (status, message) = match error {
        Some(e) => {
            let m = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("error")
                .to_string();
            a.push("error.type", AttrValue::Str("agents_error".into()));
            if let Some(d) = e.get("data").filter(|v| !v.is_null()) {
                a.push("openai.agents.error.data", json_attr(d));
            }
            (SpanStatus::Error, m)
        }
        None => (SpanStatus::Unset, String::new()),
    };
    Some(Span {
        project: project.to_string(),
        trace_id: trace_id_of(hex_part(trace)),
        span_id: agents_span_id(id),
        parent_span_id: Some(match o.get("parent_id").and_then(Value::as_str) {
            Some(p) => agents_span_id(p),
            None => root_id(trace),
        }),
        name,
        service: "openai-agents".into(),
        start_unix_nano: start,
        end_unix_nano: end.unwrap_or(start).max(start),
        status,
        status_message: message,
        attributes: a,
        scope_name: "openai-agents".into(),
        incomplete: end.is_none(),
        ..Default::default()
    })
}

fn trace_of(project: &str, o: &Value, start: u64, end: u64) -> Option<Span> {
    let id = o.get("id")?.as_str()?;
    let mut a = Attributes::default();
    let name = o
        .get("workflow_name")
        .and_then(Value::as_str)
        .unwrap_or("agent workflow");
    a.push(
        "gen_ai.operation.name",
        AttrValue::Str("invoke_workflow".into()),
    );
    a.push("gen_ai.workflow.name", AttrValue::Str(name.into()));
    if let Some(g) = o.get("group_id").and_then(Value::as_str) {
        a.push("session.id", AttrValue::Str(g.into()));
    }
    if let Some(m) = o.get("metadata").and_then(Value::as_object) {
        for (k, v) in m {
            a.push(format!("openai.agents.metadata.{k}"), json_attr(v));
        }
        if let Some(u) = m.get("user_id").and_then(Value::as_str) {
            a.push("user.id", AttrValue::Str(u.into()));
        }
    }
    Some(Span {
        project: project.to_string(),
        trace_id: trace_id_of(hex_part(id)),
        span_id: root_id(id),
        parent_span_id: None,
        name: name.to_string(),
        service: "openai-agents".into(),
        start_unix_nano: start,
        end_unix_nano: end.max(start),
        attributes: a,
        scope_name: "openai-agents".into(),
        // The SDK sends no end for a trace; a later export of it replaces this copy.
        incomplete: true,
        ..Default::default()
    })
}

/// Converts the `data` items of one export of `project`; a trace whose spans are not in the same
/// export spans `now_unix_nano`. An item that is not a usable trace or span fails the whole
/// export, with a message naming it.
pub fn convert(project: &str, items: &[Value], now_unix_nano: u64) -> Result<Vec<Span>, String> {
    let mut spans = Vec::new();
    let mut bounds: HashMap<String, (u64, u64)> = HashMap::new();
    let mut traces = Vec::new();
    for (i, o) in items.iter().enumerate() {
        match o.get("object").and_then(Value::as_str) {
            Some("trace") => traces.push(o),
            Some("trace.span") => match span_of(project, o) {
                Some(s) => {
                    if let Some(t) = o.get("trace_id").and_then(Value::as_str) {
                        let b = bounds.entry(t.to_string()).or_insert((u64::MAX, 0));
                        b.0 = b.0.min(s.start_unix_nano);
                        b.1 = b.1.max(s.end_unix_nano);
                    }
                    spans.push(s);
                }
                None => {
                    return Err(format!(
                        "data[{i}]: a trace.span needs id, trace_id and started_at"
                    ))
                }
            },
            other => {
                return Err(format!(
                    "data[{i}]: unknown object {other:?} (expected trace or trace.span)"
                ))
            }
        }
    }
    let now = now_unix_nano;
    for o in traces {
        let id = o.get("id").and_then(Value::as_str).unwrap_or("");
        let (start, end) = bounds
            .get(id)
            .copied()
            .filter(|b| b.0 != u64::MAX)
            .unwrap_or((now, now));
        match trace_of(project, o, start, end) {
            Some(s) => spans.push(s),
            None => return Err("a trace needs an id".into()),
        }
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids whose last 16 bytes do not start at a char boundary are hashed, not sliced.
    #[test]
    fn non_ascii_ids_never_panic() {
        for id in ["span_€€€€€€", "span_a€€€€€€€", "€€€€€€€€€€€€"]
        {
            assert_eq!(agents_span_id(id), agents_span_id(id));
        }
        assert_eq!(
            agents_span_id("span_0000000011112222333344445555"),
            span_id_of("2222333344445555")
        );
    }
}
