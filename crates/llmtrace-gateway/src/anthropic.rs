//! Anthropic Messages (`POST /v1/messages`): the request's messages, the answer's usage and
//! content, plain or streamed (`message_start`, `content_block_*`, `message_delta`, `error`).

use crate::observed::{count, str_of, string, Observed, Part};
use serde_json::{json, Value};

/// The usage object of a message (or of `message_start` / `message_delta`): fields present
/// replace earlier ones (`message_delta` carries the final output count, and in newer API
/// versions the final input and cache counts too).
fn apply_usage(obs: &mut Observed, u: &Value) {
    obs.input_excludes_cache = true;
    if let Some(n) = count(u.get("input_tokens")) {
        obs.input_tokens = Some(n);
    }
    if let Some(n) = count(u.get("output_tokens")) {
        obs.output_tokens = Some(n);
    }
    if let Some(n) = count(u.get("cache_read_input_tokens")) {
        obs.cache_read_tokens = Some(n);
    }
    if let Some(n) = count(u.get("cache_creation_input_tokens")) {
        obs.cache_write_tokens = Some(n);
    }
    if let Some(n) = count(
        u.get("cache_creation")
            .and_then(|c| c.get("ephemeral_1h_input_tokens")),
    ) {
        obs.cache_write_1h_tokens = Some(n);
    }
}

/// A content block as an output part.
fn block_part(b: &Value) -> Option<Part> {
    match b.get("type").and_then(Value::as_str)? {
        "text" => Some(Part::Text(string(b.get("text")).unwrap_or_default())),
        "thinking" => Some(Part::Reasoning(
            string(b.get("thinking")).unwrap_or_default(),
        )),
        "tool_use" | "server_tool_use" => Some(Part::ToolCall {
            id: string(b.get("id")).unwrap_or_default(),
            name: string(b.get("name")).unwrap_or_default(),
            arguments: b
                .get("input")
                .filter(|i| !i.as_object().is_some_and(|o| o.is_empty()))
                .map(Value::to_string)
                .unwrap_or_default(),
        }),
        _ => None,
    }
}

fn apply_error(obs: &mut Observed, body: &Value) {
    if let Some(e) = body.get("error") {
        obs.error = Some((
            string(e.get("type")).unwrap_or_else(|| "error".into()),
            string(e.get("message")).unwrap_or_default(),
        ));
    }
}

/// A whole (non-streamed) answer.
pub(crate) fn read_body(obs: &mut Observed, body: &Value, capture: bool) {
    apply_error(obs, body);
    obs.response_id = string(body.get("id"));
    obs.response_model = string(body.get("model"));
    if let Some(u) = body.get("usage") {
        apply_usage(obs, u);
    }
    if let Some(out) = obs.output(0) {
        out.finish_reason = string(body.get("stop_reason"));
    }
    if capture {
        for b in body
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = block_part(b) {
                let len = part_len(&p);
                if obs.take_budget(len) {
                    if let Some(out) = obs.output(0) {
                        out.parts.push(p);
                    }
                }
            }
        }
    }
}

fn part_len(p: &Part) -> usize {
    match p {
        Part::Text(t) | Part::Reasoning(t) => t.len(),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => id
            .len()
            .saturating_add(name.len())
            .saturating_add(arguments.len()),
    }
}

/// One stream event's data.
pub(crate) fn read_event(obs: &mut Observed, data: &Value, now_unix_nano: u64, capture: bool) {
    match data.get("type").and_then(Value::as_str).unwrap_or("") {
        "message_start" => {
            if let Some(m) = data.get("message") {
                obs.response_id = string(m.get("id"));
                obs.response_model = string(m.get("model"));
                if let Some(u) = m.get("usage") {
                    apply_usage(obs, u);
                }
                let _ = obs.output(0);
            }
        }
        "content_block_start" => {
            obs.first_chunk(now_unix_nano);
            if capture {
                if let Some(p) = data.get("content_block").and_then(block_part) {
                    if obs.take_budget(part_len(&p)) {
                        if let Some(out) = obs.output(0) {
                            out.parts.push(p);
                        }
                    }
                }
            }
        }
        "content_block_delta" => {
            obs.first_chunk(now_unix_nano);
            if !capture {
                return;
            }
            let Some(d) = data.get("delta") else { return };
            match d.get("type").and_then(Value::as_str).unwrap_or("") {
                "text_delta" => obs.append_text(0, str_of(d, "text"), false),
                "thinking_delta" => obs.append_text(0, str_of(d, "thinking"), true),
                "input_json_delta" => {
                    let piece = str_of(d, "partial_json");
                    if obs.take_budget(piece.len()) {
                        if let Some(Part::ToolCall { arguments, .. }) =
                            obs.output(0).and_then(|o| o.parts.last_mut())
                        {
                            arguments.push_str(piece);
                        }
                    }
                }
                _ => {}
            }
        }
        "message_delta" => {
            if let Some(u) = data.get("usage") {
                apply_usage(obs, u);
            }
            if let Some(r) = string(data.get("delta").and_then(|d| d.get("stop_reason"))) {
                if let Some(out) = obs.output(0) {
                    out.finish_reason = Some(r);
                }
            }
        }
        "error" => apply_error(obs, data),
        _ => {}
    }
}

/// Text parts of an Anthropic `content` (a string or blocks) as OTel message parts.
fn parts_of(content: &Value) -> Vec<Value> {
    match content {
        Value::String(s) => vec![json!({"type": "text", "content": s})],
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str)? {
                "text" => Some(json!({"type": "text", "content": b.get("text")?})),
                "thinking" => Some(json!({"type": "reasoning", "content": b.get("thinking")?})),
                "tool_use" => Some(json!({
                    "type": "tool_call",
                    "id": b.get("id"),
                    "name": b.get("name"),
                    "arguments": b.get("input"),
                })),
                "tool_result" => Some(json!({
                    "type": "tool_call_response",
                    "id": b.get("tool_use_id"),
                    "response": b.get("content"),
                })),
                other => Some(json!({"type": other})),
            })
            .collect(),
        _ => vec![],
    }
}

/// The request's system prompt (`gen_ai.system_instructions`) and messages
/// (`gen_ai.input.messages`).
pub(crate) fn input_messages(req: &Value) -> (Option<Value>, Value) {
    let system = req
        .get("system")
        .map(parts_of)
        .filter(|p| !p.is_empty())
        .map(Value::Array);
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| {
            json!({
                "role": m.get("role").and_then(Value::as_str).unwrap_or("user"),
                "parts": m.get("content").map(parts_of).unwrap_or_default(),
            })
        })
        .collect();
    (system, Value::Array(messages))
}
