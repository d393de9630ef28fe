//! Parsing of every chat-message form into [`Message`] / [`MessagePart`].
//!
//! Accepted shapes, as a JSON string (double-encoded JSON is unwrapped) or a structured OTLP value
//! (array / kvlist, converted with [`AttrValue::to_json`]):
//!
//! * OTel v1.37+ messages `{role, parts: [{type, ...}], name?, finish_reason?}` and parts
//!   (`text`, `tool_call`, `tool_call_response` with `response` or `result`, `reasoning`; any other
//!   type is kept as [`MessagePart::Other`]);
//! * legacy `[{role, content}]` where `content` is a string (one text part) or a list of content
//!   blocks (OpenAI / Anthropic `{type: "text", text}`, `tool_use`, `tool_result`, `thinking`),
//!   OpenAI `tool_calls` / `function_call`, and `tool`-role messages with `tool_call_id`;
//! * v1.28 choice bodies `{index, finish_reason, message: {role?, content}, tool_calls?}`;
//! * wrappers `{messages: [...]}` and nested arrays of messages (LangChain batches).

use crate::alias::canonical_finish_reason;
use crate::value::{json_of, looks_like_json_container, parse_json_str};
use crate::wire;
use llmtrace_model::{AttrValue, Message, MessagePart};
use serde_json::{Map, Value};

/// Nesting limit when unwrapping arrays and `{messages: ...}` wrappers.
const MAX_DEPTH: u8 = 6;

type Obj = Map<String, Value>;

/// Parses messages from an attribute value; messages without a role get `default_role`.
/// Returns an empty list when the value holds no messages (or is a string that is not JSON).
pub fn parse_messages(value: &AttrValue, default_role: &str) -> Vec<Message> {
    if let AttrValue::Str(s) = value {
        if s.contains("\"parts\"") {
            if let Some(msgs) = wire::otel_messages(s, default_role) {
                return msgs;
            }
        }
    }
    match json_of(value) {
        Some(v) => messages_from_json(v, default_role),
        None => Vec::new(),
    }
}

/// Converts a JSON value (one message, a list, or a `{messages}` wrapper) into messages.
pub fn messages_from_json(value: Value, default_role: &str) -> Vec<Message> {
    let mut out = Vec::new();
    collect_messages(value, default_role, &mut out, 0);
    out
}

/// Converts one JSON message object into a message; `None` when it carries neither a role nor
/// any content.
pub fn message_from_json(value: Value, default_role: &str) -> Option<Message> {
    match value {
        Value::Object(m) => message_from_map(m, default_role),
        Value::String(s) if !s.trim().is_empty() => Some(Message::text(default_role, s)),
        _ => None,
    }
}

/// Parses a list of parts (`gen_ai.system_instructions`): a JSON array of parts, a structured
/// value, or plain text (one text part).
pub fn parse_parts(value: &AttrValue) -> Vec<MessagePart> {
    match value {
        AttrValue::Str(s) => {
            if s.trim().is_empty() {
                return Vec::new();
            }
            if let Some(parts) = wire::otel_parts(s) {
                return parts;
            }
            match parse_json_str(s) {
                Some(v @ (Value::Array(_) | Value::Object(_))) => parts_from_json(v),
                Some(Value::String(t)) => vec![MessagePart::Text { content: t }],
                _ => vec![MessagePart::Text { content: s.clone() }],
            }
        }
        other => match json_of(other) {
            Some(v) => parts_from_json(v),
            None => Vec::new(),
        },
    }
}

/// Converts a JSON value (one part, a list of parts, or text) into parts. A list element that is
/// a message (`{role, ...}` without `type`) contributes its parts.
pub fn parts_from_json(value: Value) -> Vec<MessagePart> {
    let mut out = Vec::new();
    collect_parts(value, &mut out);
    out
}

/// Converts one JSON part into a [`MessagePart`]; unknown or incomplete parts are kept as
/// [`MessagePart::Other`].
pub fn part_from_json(value: Value) -> MessagePart {
    match value {
        Value::Object(m) => part_from_map(m),
        Value::String(s) => MessagePart::Text { content: s },
        other => MessagePart::Other(other),
    }
}

fn collect_messages(value: Value, default_role: &str, out: &mut Vec<Message>, depth: u8) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            out.reserve(items.len());
            for item in items {
                collect_messages(item, default_role, out, depth.saturating_add(1));
            }
        }
        Value::Object(mut m) => {
            if !is_message_like(&m) {
                if let Some(inner) = m.remove("messages") {
                    collect_messages(inner, default_role, out, depth.saturating_add(1));
                    return;
                }
            }
            if let Some(msg) = message_from_map(m, default_role) {
                out.push(msg);
            }
        }
        Value::String(s) => {
            if looks_like_json_container(&s) {
                if let Ok(v) = serde_json::from_str::<Value>(s.trim()) {
                    collect_messages(v, default_role, out, depth.saturating_add(1));
                    return;
                }
            }
            if !s.trim().is_empty() {
                out.push(Message::text(default_role, s));
            }
        }
        _ => {}
    }
}

fn is_message_like(m: &Obj) -> bool {
    m.contains_key("role") || m.contains_key("parts") || m.contains_key("content")
}

fn message_from_map(mut m: Obj, default_role: &str) -> Option<Message> {
    // A choice body nests the message; its fields win over the outer ones except where absent.
    match m.remove("message") {
        Some(Value::Object(inner)) => merge_under(&mut m, inner),
        Some(Value::String(s)) if looks_like_json_container(&s) => {
            if let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(s.trim()) {
                merge_under(&mut m, inner);
            }
        }
        Some(other) => {
            m.insert("message".to_owned(), other);
        }
        None => {}
    }
    let role = take_string(&mut m, "role").unwrap_or_else(|| default_role.to_owned());
    let name = take_string(&mut m, "name");
    let finish_reason =
        take_string(&mut m, "finish_reason").and_then(|r| canonical_finish_reason(&r));
    let mut parts = Vec::new();
    if let Some(p) = m.remove("parts") {
        collect_parts(p, &mut parts);
    } else {
        let content = m.remove("content").or_else(|| m.remove("text"));
        let tool_call_id = take_string(&mut m, "tool_call_id").or_else(|| {
            if role == "tool" {
                take_string(&mut m, "id")
            } else {
                None
            }
        });
        match (tool_call_id, content) {
            (Some(id), content) if role == "tool" => parts.push(MessagePart::ToolCallResponse {
                id: Some(id),
                response: content.unwrap_or(Value::Null),
            }),
            (_, Some(content)) => collect_content(content, &mut parts),
            (_, None) => {}
        }
        if let Some(calls) = m.remove("tool_calls") {
            collect_tool_calls(calls, &mut parts);
        }
        if let Some(call) = m.remove("function_call") {
            if let Some(p) = openai_tool_call(call) {
                parts.push(p);
            }
        }
    }
    if parts.is_empty() && role.is_empty() {
        return None;
    }
    Some(Message {
        role,
        parts,
        name,
        finish_reason,
    })
}

/// Moves the entries of `inner` into `m` where `m` has no such key.
fn merge_under(m: &mut Obj, inner: Obj) {
    for (k, v) in inner {
        m.entry(k).or_insert(v);
    }
}

/// Message `content`: a string (one text part, or a JSON list of content blocks), a list of
/// blocks, or one block.
fn collect_content(content: Value, out: &mut Vec<MessagePart>) {
    match content {
        Value::String(s) => {
            if looks_like_json_container(&s) {
                if let Ok(Value::Array(blocks)) = serde_json::from_str::<Value>(s.trim()) {
                    if !blocks.is_empty() && blocks.iter().all(is_typed_block) {
                        for b in blocks {
                            out.push(part_from_json(b));
                        }
                        return;
                    }
                }
            }
            if !s.is_empty() {
                out.push(MessagePart::Text { content: s });
            }
        }
        Value::Null => {}
        other => collect_parts(other, out),
    }
}

fn is_typed_block(v: &Value) -> bool {
    v.get("type").is_some_and(Value::is_string)
}

fn collect_parts(value: Value, out: &mut Vec<MessagePart>) {
    match value {
        Value::Array(items) => {
            out.reserve(items.len());
            for item in items {
                match item {
                    Value::Object(m) if !m.contains_key("type") && m.contains_key("role") => {
                        if let Some(msg) = message_from_map(m, "") {
                            out.extend(msg.parts);
                        }
                    }
                    other => out.push(part_from_json(other)),
                }
            }
        }
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        other => out.push(part_from_json(other)),
    }
}

#[derive(Clone, Copy)]
enum PartType {
    Text,
    ToolCall,
    ToolCallResponse,
    Reasoning,
    Other,
}

fn part_type(m: &Obj) -> PartType {
    match m.get("type").and_then(Value::as_str) {
        Some("text" | "input_text" | "output_text") => PartType::Text,
        Some("tool_call" | "tool_use" | "function_call") => PartType::ToolCall,
        Some("tool_call_response" | "tool_result" | "function_call_output") => {
            PartType::ToolCallResponse
        }
        Some("reasoning" | "thinking") => PartType::Reasoning,
        _ => PartType::Other,
    }
}

fn part_from_map(mut m: Obj) -> MessagePart {
    match part_type(&m) {
        PartType::Text => match take_first_string(&mut m, &["content", "text"]) {
            Some(content) => MessagePart::Text { content },
            None => MessagePart::Other(Value::Object(m)),
        },
        PartType::Reasoning => match take_first_string(&mut m, &["content", "thinking", "text"]) {
            Some(content) => MessagePart::Reasoning { content },
            None => MessagePart::Other(Value::Object(m)),
        },
        PartType::ToolCall => {
            if !matches!(m.get("name"), Some(Value::String(_))) {
                return MessagePart::Other(Value::Object(m));
            }
            let name = take_string(&mut m, "name").unwrap_or_default();
            let id = take_first_string(&mut m, &["id", "call_id", "tool_call_id"]);
            let arguments = m
                .remove("arguments")
                .or_else(|| m.remove("input"))
                .and_then(normalize_arguments);
            MessagePart::ToolCall {
                id,
                name,
                arguments,
            }
        }
        PartType::ToolCallResponse => {
            const RESPONSE_KEYS: [&str; 4] = ["response", "result", "content", "output"];
            let Some(key) = RESPONSE_KEYS.into_iter().find(|k| m.contains_key(*k)) else {
                return MessagePart::Other(Value::Object(m));
            };
            let response = m.remove(key).unwrap_or(Value::Null);
            let id = take_first_string(&mut m, &["id", "tool_use_id", "call_id", "tool_call_id"]);
            MessagePart::ToolCallResponse { id, response }
        }
        PartType::Other => MessagePart::Other(Value::Object(m)),
    }
}

/// Tool-call arguments: an object when the source gave one or a JSON text of one; other text is
/// kept as a string; null is absent.
pub(crate) fn normalize_arguments(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if looks_like_json_container(&s) => {
            Some(serde_json::from_str(s.trim()).unwrap_or(Value::String(s)))
        }
        other => Some(other),
    }
}

/// OpenAI `tool_calls`: a list (or a JSON text of one) of `{id, type, function: {name, arguments}}`.
fn collect_tool_calls(calls: Value, out: &mut Vec<MessagePart>) {
    let calls = match calls {
        Value::String(s) if looks_like_json_container(&s) => {
            match serde_json::from_str::<Value>(s.trim()) {
                Ok(v) => v,
                Err(_) => return,
            }
        }
        other => other,
    };
    match calls {
        Value::Array(items) => out.extend(items.into_iter().filter_map(openai_tool_call)),
        v @ Value::Object(_) => out.extend(openai_tool_call(v)),
        _ => {}
    }
}

fn openai_tool_call(v: Value) -> Option<MessagePart> {
    let Value::Object(mut m) = v else {
        return None;
    };
    let id = take_string(&mut m, "id");
    let (name, arguments) = match m.remove("function") {
        Some(Value::Object(mut f)) => (take_string(&mut f, "name"), f.remove("arguments")),
        _ => (
            take_string(&mut m, "name"),
            m.remove("arguments").or_else(|| m.remove("input")),
        ),
    };
    Some(MessagePart::ToolCall {
        id,
        name: name?,
        arguments: arguments.and_then(normalize_arguments),
    })
}

/// Removes and returns `key` when it holds a string (or a number, as its text).
fn take_string(m: &mut Obj, key: &str) -> Option<String> {
    match m.get(key) {
        Some(Value::String(_)) => match m.remove(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        },
        Some(Value::Number(n)) => {
            let s = n.to_string();
            m.remove(key);
            Some(s)
        }
        _ => None,
    }
}

/// Removes and returns the first of `keys` that holds a string.
fn take_first_string(m: &mut Obj, keys: &[&str]) -> Option<String> {
    let key = keys
        .iter()
        .find(|k| matches!(m.get(**k), Some(Value::String(_))))?;
    match m.remove(*key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::Attributes;
    use serde_json::json;

    fn s(v: &str) -> AttrValue {
        AttrValue::Str(v.to_owned())
    }

    #[test]
    fn otel_parts_messages() {
        let v = s(
            r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]},
            {"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":{"city":"Paris"}}]},
            {"role":"tool","parts":[{"type":"tool_call_response","id":"c1","result":"sunny"}]},
            {"role":"assistant","parts":[{"type":"reasoning","content":"think"},{"type":"blob","modality":"image","content":"AAA"}],"finish_reason":"end_turn"}]"#,
        );
        let msgs = parse_messages(&v, "user");
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[0], Message::text("user", "hi"));
        assert_eq!(
            msgs[1].parts[0],
            MessagePart::ToolCall {
                id: Some("c1".into()),
                name: "get_weather".into(),
                arguments: Some(json!({"city": "Paris"})),
            }
        );
        assert_eq!(
            msgs[2].parts[0],
            MessagePart::ToolCallResponse {
                id: Some("c1".into()),
                response: json!("sunny"),
            }
        );
        assert_eq!(
            msgs[3].parts[0],
            MessagePart::Reasoning {
                content: "think".into()
            }
        );
        assert_eq!(
            msgs[3].parts[1],
            MessagePart::Other(json!({"type":"blob","modality":"image","content":"AAA"}))
        );
        assert_eq!(msgs[3].finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn legacy_role_content_forms() {
        let v = s(r#"[{"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},
            {"role":"tool","tool_call_id":"t1","content":"42"}]"#);
        let msgs = parse_messages(&v, "user");
        assert_eq!(msgs[0], Message::text("system", "be brief"));
        assert_eq!(
            msgs[1].parts,
            vec![
                MessagePart::Text {
                    content: "a".into()
                },
                MessagePart::Other(json!({"type":"image_url","image_url":{"url":"x"}})),
            ]
        );
        assert_eq!(
            msgs[2].parts,
            vec![MessagePart::ToolCall {
                id: Some("t1".into()),
                name: "f".into(),
                arguments: Some(json!({"x": 1})),
            }]
        );
        assert_eq!(
            msgs[3].parts,
            vec![MessagePart::ToolCallResponse {
                id: Some("t1".into()),
                response: json!("42"),
            }]
        );
    }

    #[test]
    fn anthropic_blocks() {
        let v = json!([{"role":"assistant","content":[
            {"type":"thinking","thinking":"hmm"},
            {"type":"text","text":"ok"},
            {"type":"tool_use","id":"tu1","name":"search","input":{"q":"rust"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":"found"}]}]);
        let msgs = messages_from_json(v, "user");
        assert_eq!(msgs[0].parts.len(), 3);
        assert_eq!(
            msgs[0].parts[2],
            MessagePart::ToolCall {
                id: Some("tu1".into()),
                name: "search".into(),
                arguments: Some(json!({"q":"rust"})),
            }
        );
        assert_eq!(
            msgs[1].parts[0],
            MessagePart::ToolCallResponse {
                id: Some("tu1".into()),
                response: json!("found"),
            }
        );
    }

    #[test]
    fn structured_kvlist_messages() {
        let mut part = Attributes::default();
        part.push("type", s("text"));
        part.push("content", s("hello"));
        let mut msg = Attributes::default();
        msg.push("role", s("user"));
        msg.push("parts", AttrValue::Array(vec![AttrValue::Map(part)]));
        let v = AttrValue::Array(vec![AttrValue::Map(msg)]);
        assert_eq!(
            parse_messages(&v, "user"),
            vec![Message::text("user", "hello")]
        );
    }

    #[test]
    fn choice_body_and_wrappers() {
        let choice = json!({"index":0,"finish_reason":"tool_calls","message":{"content":"x"},
            "tool_calls":[{"id":"a","function":{"name":"f","arguments":"not json"}}]});
        let m = message_from_json(choice, "assistant").unwrap();
        assert_eq!(m.role, "assistant");
        assert_eq!(m.finish_reason.as_deref(), Some("tool_call"));
        assert_eq!(m.parts.len(), 2);
        assert_eq!(
            m.parts[1],
            MessagePart::ToolCall {
                id: Some("a".into()),
                name: "f".into(),
                arguments: Some(json!("not json")),
            }
        );
        let wrapped = json!({"messages": [[{"role":"user","content":"q"}]]});
        assert_eq!(
            messages_from_json(wrapped, "user"),
            vec![Message::text("user", "q")]
        );
    }

    #[test]
    fn double_encoded_and_element_strings() {
        let inner = r#"[{"role":"user","content":"hi"}]"#;
        let v = s(&serde_json::to_string(inner).unwrap());
        assert_eq!(
            parse_messages(&v, "user"),
            vec![Message::text("user", "hi")]
        );
        let arr = AttrValue::Array(vec![s(r#"{"role":"user","content":"x"}"#), s("plain")]);
        assert_eq!(
            parse_messages(&arr, "user"),
            vec![Message::text("user", "x"), Message::text("user", "plain")]
        );
        assert!(parse_messages(&s("not json at all"), "user").is_empty());
    }

    #[test]
    fn content_as_json_text_of_blocks() {
        let v = json!([{"role":"user","content":"[{\"type\":\"text\",\"text\":\"inner\"}]"},
                       {"role":"user","content":"[1, 2]"}]);
        let msgs = messages_from_json(v, "user");
        assert_eq!(msgs[0], Message::text("user", "inner"));
        assert_eq!(msgs[1], Message::text("user", "[1, 2]"));
    }

    #[test]
    fn system_instruction_parts() {
        assert_eq!(
            parse_parts(&s(r#"[{"type":"text","content":"sys"}]"#)),
            vec![MessagePart::Text {
                content: "sys".into()
            }]
        );
        assert_eq!(
            parse_parts(&s("You are helpful.")),
            vec![MessagePart::Text {
                content: "You are helpful.".into()
            }]
        );
        assert_eq!(
            parse_parts(&s(r#"[{"role":"system","content":"legacy"}]"#)),
            vec![MessagePart::Text {
                content: "legacy".into()
            }]
        );
        assert!(parse_parts(&s("")).is_empty());
    }

    #[test]
    fn incomplete_known_parts_are_kept_as_other() {
        assert_eq!(
            part_from_json(json!({"type":"tool_call","id":"x"})),
            MessagePart::Other(json!({"type":"tool_call","id":"x"}))
        );
        assert_eq!(
            part_from_json(json!({"type":"tool_call_response","id":"x"})),
            MessagePart::Other(json!({"type":"tool_call_response","id":"x"}))
        );
    }
}
