//! Chat messages from run inputs and outputs, best effort.
//!
//! Shapes understood (anything else yields no messages; the raw JSON stays in the
//! `langsmith.inputs` / `langsmith.outputs` attributes):
//! * LangChain chat-model inputs `{"messages": [[msg, ...]]}` (a list of lists), where a message
//!   is serialized (`{"lc": 1, "type": "constructor", "id": [..., "HumanMessage"], "kwargs":
//!   {...}}`), a dict with `type` (`human`, `ai`, `system`, `tool`, optionally under `data`), or
//!   an OpenAI-style `{role, content}`; LangChain LLM inputs `{"prompts": ["..."]}`;
//! * raw provider request bodies (`wrap_openai`, `wrap_anthropic`, `@traceable`): `{"messages":
//!   [...]}` with Anthropic's `system` (which becomes the system instructions);
//! * outputs: LangChain `{"generations": [[{text, message}]]}`, an OpenAI response
//!   (`choices`), an Anthropic response or a message (`role` + `content` blocks, `stop_reason`,
//!   tool calls), or `{"output": "text" | message}` (what `@traceable` records for a function
//!   returning a non-dict).
//!
//! Content blocks, tool calls and tool results are parsed by [`llmtrace_normalize::messages`].

use llmtrace_model::{Message, MessagePart};
use llmtrace_normalize::messages::{message_from_json, parts_from_json};
use serde_json::{Map, Value};

const MAX_DEPTH: u8 = 5;

/// Input messages and system instructions of a run's `inputs`.
pub fn input_messages(inputs: &Value) -> (Vec<Message>, Vec<MessagePart>) {
    let system = inputs
        .get("system")
        .filter(|s| !s.is_null())
        .filter(|_| inputs.get("messages").is_some())
        .map(|s| parts_from_json(s.clone()))
        .unwrap_or_default();
    (collect(inputs, "user", 0), system)
}

/// Output messages of a run's `outputs`.
pub fn output_messages(outputs: &Value) -> Vec<Message> {
    collect(outputs, "assistant", 0)
}

fn collect(v: &Value, role: &str, depth: u8) -> Vec<Message> {
    if depth > MAX_DEPTH {
        return Vec::new();
    }
    match v {
        Value::Array(items) => items
            .iter()
            .flat_map(|item| match item {
                Value::Array(_) => collect(item, role, depth.saturating_add(1)),
                Value::Object(m) if is_message(m) => convert(m, role).into_iter().collect(),
                Value::String(s) if !s.trim().is_empty() => vec![Message::text(role, s.clone())],
                _ => Vec::new(),
            })
            .collect(),
        Value::Object(m) => {
            if is_message(m) {
                return convert(m, role).into_iter().collect();
            }
            if let Some(Value::Array(choices)) = m.get("choices") {
                return choices
                    .iter()
                    .filter_map(|c| message_from_json(c.clone(), "assistant"))
                    .filter(has_content)
                    .collect();
            }
            if let Some(gens) = m.get("generations") {
                let mut out = Vec::new();
                generations(gens, &mut out, depth);
                return out;
            }
            if let Some(msgs) = m.get("messages") {
                return collect(msgs, role, depth.saturating_add(1));
            }
            if let Some(Value::Array(prompts)) = m.get("prompts") {
                return collect(
                    &Value::Array(prompts.clone()),
                    role,
                    depth.saturating_add(1),
                );
            }
            match m.get("output") {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    vec![Message::text(role, s.clone())]
                }
                Some(o @ (Value::Object(_) | Value::Array(_))) => {
                    collect(o, role, depth.saturating_add(1))
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// LangChain `LLMResult.generations`: lists of `{text, message?, generation_info?}`.
fn generations(v: &Value, out: &mut Vec<Message>, depth: u8) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                generations(item, out, depth.saturating_add(1));
            }
        }
        Value::Object(g) => {
            if let Some(Value::Object(msg)) = g.get("message") {
                if let Some(mut m) = convert(msg, "assistant") {
                    if m.finish_reason.is_none() {
                        m.finish_reason = g
                            .get("generation_info")
                            .and_then(|i| i.get("finish_reason").or_else(|| i.get("stop_reason")))
                            .and_then(Value::as_str)
                            .and_then(llmtrace_normalize::alias::canonical_finish_reason);
                    }
                    out.push(m);
                    return;
                }
            }
            if let Some(t) = g.get("text").and_then(Value::as_str) {
                if !t.is_empty() {
                    out.push(Message::text("assistant", t));
                }
            }
        }
        _ => {}
    }
}

/// LangChain message types (a dict's `type`, or a serialized message's class name) → role;
/// `Some("")` for `ChatMessage`, whose role is its own `role` field.
fn langchain_role(t: &str) -> Option<&'static str> {
    Some(match t {
        "human" | "HumanMessage" | "HumanMessageChunk" => "user",
        "ai" | "AIMessage" | "AIMessageChunk" => "assistant",
        "system" | "SystemMessage" | "SystemMessageChunk" => "system",
        "tool" | "ToolMessage" | "ToolMessageChunk" | "function" | "FunctionMessage" => "tool",
        "chat" | "ChatMessage" | "ChatMessageChunk" => "",
        _ => return None,
    })
}

fn is_message(m: &Map<String, Value>) -> bool {
    m.get("role").is_some_and(Value::is_string)
        || (m.contains_key("lc") && m.get("kwargs").is_some_and(Value::is_object))
        || (m
            .get("type")
            .and_then(Value::as_str)
            .and_then(langchain_role)
            .is_some()
            && (m.contains_key("content") || m.get("data").is_some_and(Value::is_object)))
}

fn has_content(m: &Message) -> bool {
    !m.parts.is_empty() || m.finish_reason.is_some()
}

/// One message of any of the accepted shapes; `None` when it has no content.
fn convert(m: &Map<String, Value>, default_role: &str) -> Option<Message> {
    let (body, role) = match (m.get("lc"), m.get("kwargs")) {
        (Some(_), Some(Value::Object(kw))) => {
            let class = m
                .get("id")
                .and_then(Value::as_array)
                .and_then(|id| id.last())
                .and_then(Value::as_str);
            let role = class.and_then(langchain_role).or_else(|| {
                kw.get("type")
                    .and_then(Value::as_str)
                    .and_then(langchain_role)
            });
            (kw, role)
        }
        _ if !m.contains_key("role") => {
            let role = m
                .get("type")
                .and_then(Value::as_str)
                .and_then(langchain_role);
            match m.get("data") {
                Some(Value::Object(data)) if role.is_some() => (data, role),
                _ => (m, role),
            }
        }
        _ => (m, None),
    };
    let mut obj = body.clone();
    if let Some(role) = role.filter(|r| !r.is_empty()) {
        obj.insert("role".into(), Value::String(role.into()));
    }
    if obj.get("role").is_none_or(|r| !r.is_string()) {
        obj.insert("role".into(), Value::String(default_role.into()));
    }
    obj.remove("type");
    // LangChain tool calls `{name, args, id}`; Anthropic AI messages repeat their `tool_use`
    // content blocks there, so those are dropped.
    if let Some(Value::Array(calls)) = obj.get("tool_calls") {
        let in_content: Vec<String> = match obj.get("content") {
            Some(Value::Array(blocks)) => blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
                .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let calls: Vec<Value> = calls
            .iter()
            .filter(|c| {
                c.get("id")
                    .and_then(Value::as_str)
                    .is_none_or(|id| !in_content.iter().any(|x| x == id))
            })
            .map(langchain_tool_call)
            .collect();
        obj.insert("tool_calls".into(), Value::Array(calls));
    }
    let finish = obj
        .get("finish_reason")
        .or_else(|| obj.get("stop_reason"))
        .or_else(|| path_str(body, &["response_metadata", "finish_reason"]))
        .or_else(|| path_str(body, &["response_metadata", "stop_reason"]))
        .cloned();
    if let Some(f) = finish.filter(Value::is_string) {
        obj.insert("finish_reason".into(), f);
    }
    let msg = message_from_json(Value::Object(obj), default_role)?;
    has_content(&msg).then_some(msg)
}

fn path_str<'a>(m: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    let (first, rest) = keys.split_first()?;
    crate::value::path(m.get(*first)?, rest)
}

/// A LangChain tool call `{name, args, id}` as the `{name, arguments, id}` the message parser
/// reads (OpenAI `{function: {...}}` calls pass through).
fn langchain_tool_call(c: &Value) -> Value {
    match c {
        Value::Object(m) if m.contains_key("args") && !m.contains_key("arguments") => {
            let mut m = m.clone();
            if let Some(args) = m.remove("args") {
                m.insert("arguments".into(), args);
            }
            Value::Object(m)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(msgs: &[Message]) -> Vec<(String, String)> {
        msgs.iter()
            .map(|m| (m.role.clone(), m.text_content()))
            .collect()
    }

    #[test]
    fn langchain_chat_model_inputs_and_generations() {
        let inputs = json!({"messages": [[
            {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "SystemMessage"],
             "kwargs": {"content": "Be brief.", "type": "system"}},
            {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"],
             "kwargs": {"content": "capital of France?", "type": "human"}}
        ]]});
        let (msgs, system) = input_messages(&inputs);
        assert!(system.is_empty());
        assert_eq!(
            texts(&msgs),
            [
                ("system".into(), "Be brief.".into()),
                ("user".into(), "capital of France?".into())
            ]
        );
        let outputs = json!({"generations": [[{"text": "Paris.", "generation_info": {"finish_reason": "stop"},
            "message": {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
                "kwargs": {"content": [{"type": "text", "text": "Paris."}, {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"q": "x"}}],
                    "tool_calls": [{"name": "lookup", "args": {"q": "x"}, "id": "t1", "type": "tool_call"}],
                    "response_metadata": {"stop_reason": "tool_use"}}}}]], "llm_output": {}});
        let out = output_messages(&outputs);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].role, "assistant");
        assert_eq!(out[0].parts.len(), 2, "{:?}", out[0].parts);
        assert!(matches!(&out[0].parts[1], MessagePart::ToolCall { name, .. } if name == "lookup"));
        assert_eq!(out[0].finish_reason.as_deref(), Some("tool_call"));
    }

    #[test]
    fn dict_messages_with_type_and_tool_calls() {
        let inputs = json!({"messages": [
            {"type": "human", "data": {"content": "hi"}},
            {"type": "ai", "content": "", "tool_calls": [{"name": "f", "args": {"a": 1}, "id": "c1"}]},
            {"type": "tool", "content": "42", "tool_call_id": "c1"}
        ]});
        let (msgs, _) = input_messages(&inputs);
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0], Message::text("user", "hi"));
        assert!(
            matches!(&msgs[1].parts[0], MessagePart::ToolCall { id: Some(id), arguments: Some(a), .. } if id == "c1" && a == &json!({"a": 1}))
        );
        assert_eq!(msgs[2].role, "tool");
        assert!(
            matches!(&msgs[2].parts[0], MessagePart::ToolCallResponse { id: Some(id), .. } if id == "c1")
        );
    }

    #[test]
    fn raw_provider_bodies() {
        // wrap_anthropic: request body with a system prompt, response with content blocks.
        let (msgs, system) = input_messages(
            &json!({"model": "claude-sonnet-4-6", "max_tokens": 64,
            "system": "Answer in one word.", "messages": [{"role": "user", "content": "capital of France?"}]}),
        );
        assert_eq!(texts(&msgs), [("user".into(), "capital of France?".into())]);
        assert_eq!(
            system,
            vec![MessagePart::Text {
                content: "Answer in one word.".into()
            }]
        );
        let out = output_messages(
            &json!({"id": "msg_1", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn"}),
        );
        assert_eq!(texts(&out), [("assistant".into(), "Paris.".into())]);
        assert_eq!(out[0].finish_reason.as_deref(), Some("stop"));
        // wrap_openai: choices.
        let out = output_messages(&json!({"choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Paris."}}]}));
        assert_eq!(texts(&out), [("assistant".into(), "Paris.".into())]);
        assert_eq!(out[0].finish_reason.as_deref(), Some("stop"));
        // @traceable returning a string; LangChain LLM prompts.
        assert_eq!(
            texts(&output_messages(&json!({"output": "Paris."}))),
            [("assistant".into(), "Paris.".into())]
        );
        assert_eq!(
            texts(&input_messages(&json!({"prompts": ["Q: hi"]})).0),
            [("user".into(), "Q: hi".into())]
        );
    }

    #[test]
    fn non_messages_give_nothing() {
        assert!(input_messages(&json!({"q": "capital of France?"}))
            .0
            .is_empty());
        assert!(
            output_messages(&json!({"output": [{"page_content": "x", "type": "Document"}]}))
                .is_empty()
        );
        assert!(output_messages(&json!({"output": null})).is_empty());
        assert!(output_messages(&json!({})).is_empty());
        let mut deep = json!("x");
        for _ in 0..50 {
            deep = json!({"output": [deep]});
        }
        assert!(output_messages(&deep).len() <= 1);
    }
}
