//! OpenAI Chat Completions, Responses and Embeddings (and OpenAI-compatible servers): the
//! request's messages, the answer's usage and output, plain or streamed.

use crate::observed::{count, str_of, string, Observed, Part};
use serde_json::{json, Value};

fn apply_error(obs: &mut Observed, body: &Value) {
    if let Some(e) = body.get("error").filter(|e| !e.is_null()) {
        obs.error = Some((
            string(e.get("type"))
                .or_else(|| string(e.get("code")))
                .unwrap_or_else(|| "error".into()),
            string(e.get("message")).unwrap_or_default(),
        ));
    }
}

/// Chat Completions and Embeddings usage.
fn apply_chat_usage(obs: &mut Observed, u: &Value) {
    obs.input_tokens = count(u.get("prompt_tokens")).or(obs.input_tokens);
    obs.output_tokens = count(u.get("completion_tokens")).or(obs.output_tokens);
    obs.cache_read_tokens = count(
        u.get("prompt_tokens_details")
            .and_then(|d| d.get("cached_tokens")),
    )
    .or(obs.cache_read_tokens);
    obs.reasoning_tokens = count(
        u.get("completion_tokens_details")
            .and_then(|d| d.get("reasoning_tokens")),
    )
    .or(obs.reasoning_tokens);
}

/// Responses usage.
fn apply_responses_usage(obs: &mut Observed, u: &Value) {
    obs.input_tokens = count(u.get("input_tokens")).or(obs.input_tokens);
    obs.output_tokens = count(u.get("output_tokens")).or(obs.output_tokens);
    obs.cache_read_tokens = count(
        u.get("input_tokens_details")
            .and_then(|d| d.get("cached_tokens")),
    )
    .or(obs.cache_read_tokens);
    obs.reasoning_tokens = count(
        u.get("output_tokens_details")
            .and_then(|d| d.get("reasoning_tokens")),
    )
    .or(obs.reasoning_tokens);
}

fn choice_index(c: &Value) -> usize {
    c.get("index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(0)
}

/// A whole chat completion.
pub(crate) fn read_chat_body(obs: &mut Observed, body: &Value, capture: bool) {
    apply_error(obs, body);
    obs.response_id = string(body.get("id"));
    obs.response_model = string(body.get("model"));
    if let Some(u) = body.get("usage") {
        apply_chat_usage(obs, u);
    }
    for c in body
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let i = choice_index(c);
        let finish = string(c.get("finish_reason"));
        if let Some(out) = obs.output(i) {
            out.finish_reason = finish;
        }
        let Some(m) = c.get("message") else { continue };
        if !capture {
            continue;
        }
        obs.append_text(i, str_of(m, "reasoning_content"), true);
        obs.append_text(i, str_of(m, "content"), false);
        for t in m
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            push_tool_call(obs, i, t);
        }
    }
}

fn push_tool_call(obs: &mut Observed, choice: usize, t: &Value) {
    let f = t.get("function");
    let part = Part::ToolCall {
        id: string(t.get("id")).unwrap_or_default(),
        name: string(f.and_then(|f| f.get("name"))).unwrap_or_default(),
        arguments: string(f.and_then(|f| f.get("arguments"))).unwrap_or_default(),
    };
    let len = match &part {
        Part::ToolCall { arguments, .. } => arguments.len(),
        _ => 0,
    };
    if obs.take_budget(len) {
        if let Some(out) = obs.output(choice) {
            out.parts.push(part);
        }
    }
}

/// One chat completion chunk.
pub(crate) fn read_chat_chunk(
    obs: &mut Observed,
    chunk: &Value,
    now_unix_nano: u64,
    capture: bool,
) {
    apply_error(obs, chunk);
    if obs.response_id.is_none() {
        obs.response_id = string(chunk.get("id"));
    }
    if let Some(m) = string(chunk.get("model")) {
        obs.response_model = Some(m);
    }
    if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
        apply_chat_usage(obs, u);
    }
    for c in chunk
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let i = choice_index(c);
        if let Some(r) = string(c.get("finish_reason")) {
            if let Some(out) = obs.output(i) {
                out.finish_reason = Some(r);
            }
        }
        let Some(d) = c.get("delta") else { continue };
        let text = str_of(d, "content");
        let reasoning = str_of(d, "reasoning_content");
        let calls = d.get("tool_calls").and_then(Value::as_array);
        if !text.is_empty() || !reasoning.is_empty() || calls.is_some_and(|c| !c.is_empty()) {
            obs.first_chunk(now_unix_nano);
        }
        if !capture {
            let _ = obs.output(i);
            continue;
        }
        obs.append_text(i, reasoning, true);
        obs.append_text(i, text, false);
        for t in calls.into_iter().flatten() {
            // A new call carries its id; later deltas of it only argument pieces.
            if t.get("id").is_some_and(|id| !id.is_null()) {
                push_tool_call(obs, i, t);
            } else {
                let piece = t
                    .get("function")
                    .map(|f| str_of(f, "arguments"))
                    .unwrap_or("");
                if obs.take_budget(piece.len()) {
                    if let Some(Part::ToolCall { arguments, .. }) = obs.output(i).and_then(|o| {
                        o.parts
                            .iter_mut()
                            .rev()
                            .find(|p| matches!(p, Part::ToolCall { .. }))
                    }) {
                        arguments.push_str(piece);
                    }
                }
            }
        }
    }
}

/// A whole Responses answer (also the `response` of `response.completed` and its siblings).
pub(crate) fn read_responses_body(obs: &mut Observed, body: &Value, capture: bool) {
    apply_error(obs, body);
    obs.response_id = string(body.get("id"));
    obs.response_model = string(body.get("model"));
    if let Some(u) = body.get("usage").filter(|u| !u.is_null()) {
        apply_responses_usage(obs, u);
    }
    let finish = match str_of(body, "status") {
        "completed" => Some("stop".to_string()),
        "incomplete" => body
            .get("incomplete_details")
            .and_then(|d| string(d.get("reason")))
            .or_else(|| Some("incomplete".into())),
        "failed" => Some("error".into()),
        _ => None,
    };
    let Some(out) = obs.output(0) else { return };
    out.finish_reason = finish;
    // The streamed text deltas already captured what a completed event repeats.
    let already = !out.parts.is_empty();
    if !capture || already {
        return;
    }
    for item in body
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match str_of(item, "type") {
            "message" => {
                for c in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    obs.append_text(0, str_of(c, "text"), false);
                }
            }
            "reasoning" => {
                for s in item
                    .get("summary")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    obs.append_text(0, str_of(s, "text"), true);
                }
            }
            "function_call" => {
                let args = str_of(item, "arguments");
                if obs.take_budget(args.len()) {
                    if let Some(out) = obs.output(0) {
                        out.parts.push(Part::ToolCall {
                            id: str_of(item, "call_id").to_string(),
                            name: str_of(item, "name").to_string(),
                            arguments: args.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

/// One Responses stream event.
pub(crate) fn read_responses_event(
    obs: &mut Observed,
    data: &Value,
    now_unix_nano: u64,
    capture: bool,
) {
    let kind = str_of(data, "type");
    match kind {
        "response.output_text.delta" | "response.reasoning_summary_text.delta" => {
            obs.first_chunk(now_unix_nano);
            if capture {
                obs.append_text(
                    0,
                    str_of(data, "delta"),
                    kind == "response.reasoning_summary_text.delta",
                );
            }
        }
        "response.function_call_arguments.delta" => obs.first_chunk(now_unix_nano),
        "response.created" | "response.in_progress" => {
            if let Some(r) = data.get("response") {
                obs.response_id = string(r.get("id"));
                obs.response_model = string(r.get("model"));
            }
        }
        "response.completed" | "response.incomplete" | "response.failed" => {
            if let Some(r) = data.get("response") {
                read_responses_body(obs, r, capture);
            }
        }
        "error" => {
            obs.error = Some((
                string(data.get("code")).unwrap_or_else(|| "error".into()),
                str_of(data, "message").to_string(),
            ))
        }
        _ => {}
    }
}

/// A whole embeddings answer.
pub(crate) fn read_embeddings_body(obs: &mut Observed, body: &Value) {
    apply_error(obs, body);
    obs.response_model = string(body.get("model"));
    if let Some(u) = body.get("usage") {
        apply_chat_usage(obs, u);
    }
}

/// A chat message's `content` (a string or parts) as OTel parts.
fn content_parts(content: Option<&Value>) -> Vec<Value> {
    match content {
        Some(Value::String(s)) => vec![json!({"type": "text", "content": s})],
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match str_of(p, "type") {
                "text" | "input_text" | "output_text" => {
                    json!({"type": "text", "content": str_of(p, "text")})
                }
                other => json!({"type": other}),
            })
            .collect(),
        _ => vec![],
    }
}

/// Chat Completions request messages as `gen_ai.input.messages`.
pub(crate) fn chat_input_messages(req: &Value) -> Value {
    Value::Array(
        req.get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| {
                let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
                let mut parts = content_parts(m.get("content"));
                for t in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let f = t.get("function");
                    parts.push(json!({
                        "type": "tool_call",
                        "id": t.get("id"),
                        "name": f.and_then(|f| f.get("name")),
                        "arguments": f.and_then(|f| f.get("arguments")),
                    }));
                }
                if role == "tool" {
                    parts = vec![json!({
                        "type": "tool_call_response",
                        "id": m.get("tool_call_id"),
                        "response": m.get("content"),
                    })];
                }
                json!({"role": role, "parts": parts})
            })
            .collect(),
    )
}

/// Responses request input (and `instructions`) as system instructions and input messages.
pub(crate) fn responses_input_messages(req: &Value) -> (Option<Value>, Value) {
    let system = req
        .get("instructions")
        .and_then(Value::as_str)
        .map(|s| json!([{"type": "text", "content": s}]));
    let messages = match req.get("input") {
        Some(Value::String(s)) => {
            vec![json!({"role": "user", "parts": [{"type": "text", "content": s}]})]
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match str_of(item, "type") {
                "function_call_output" => json!({
                    "role": "tool",
                    "parts": [{"type": "tool_call_response", "id": item.get("call_id"),
                               "response": item.get("output")}],
                }),
                "function_call" => json!({
                    "role": "assistant",
                    "parts": [{"type": "tool_call", "id": item.get("call_id"),
                               "name": item.get("name"), "arguments": item.get("arguments")}],
                }),
                _ => json!({
                    "role": item.get("role").and_then(Value::as_str).unwrap_or("user"),
                    "parts": content_parts(item.get("content")),
                }),
            })
            .collect(),
        _ => vec![],
    };
    (system, Value::Array(messages))
}
