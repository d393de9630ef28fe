//! Fast path for the standard OTel v1.37+ message JSON (`[{role, parts: [{type, ...}], ...}]`):
//! deserializes straight into model types, without building a `serde_json::Value` tree (keys are
//! matched borrowed, no map is allocated).
//!
//! It accepts only the exact standard shape and declines (returns `None`) on anything else —
//! messages without `parts`, choice bodies, untyped parts, non-string roles — so the caller falls
//! back to the generic path in [`crate::messages`]. Parts it cannot convert with certainty are
//! handed to the generic part conversion, so both paths give identical results.

use crate::alias::canonical_finish_reason;
use crate::messages::{normalize_arguments, part_from_json};
use llmtrace_model::{Message, MessagePart};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// Messages in the standard OTel shape, or `None` when the text is not exactly that shape.
pub(crate) fn otel_messages(json: &str, default_role: &str) -> Option<Vec<Message>> {
    let wire: Vec<WireMessage> = serde_json::from_str(json).ok()?;
    Some(
        wire.into_iter()
            .filter_map(|w| w.into_message(default_role))
            .collect(),
    )
}

/// A list of typed parts (`gen_ai.system_instructions`), or `None` when not exactly that shape.
pub(crate) fn otel_parts(json: &str) -> Option<Vec<MessagePart>> {
    let wire: Vec<WirePart> = serde_json::from_str(json).ok()?;
    Some(wire.into_iter().map(|p| p.0).collect())
}

struct WireMessage {
    role: Option<String>,
    parts: Vec<WirePart>,
    name: Option<String>,
    finish_reason: Option<String>,
}

impl WireMessage {
    /// Same rules as the generic path: default role, canonical finish reason, and a message with
    /// neither role nor parts is dropped.
    fn into_message(self, default_role: &str) -> Option<Message> {
        let role = self.role.unwrap_or_else(|| default_role.to_owned());
        if self.parts.is_empty() && role.is_empty() {
            return None;
        }
        Some(Message {
            role,
            parts: self.parts.into_iter().map(|p| p.0).collect(),
            name: self.name,
            finish_reason: self.finish_reason.and_then(|r| canonical_finish_reason(&r)),
        })
    }
}

enum MessageKey {
    Role,
    Parts,
    Name,
    FinishReason,
    /// A key that makes the generic path read the message differently (`message` wrapper).
    Decline,
    Ignored,
}

impl<'de> Deserialize<'de> for MessageKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MessageKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<MessageKey, E> {
                Ok(match k {
                    "role" => MessageKey::Role,
                    "parts" => MessageKey::Parts,
                    "name" => MessageKey::Name,
                    "finish_reason" => MessageKey::FinishReason,
                    "message" => MessageKey::Decline,
                    _ => MessageKey::Ignored,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

impl<'de> Deserialize<'de> for WireMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WireMessage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTel chat message")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireMessage, A::Error> {
                let mut role = None;
                let mut parts = None;
                let mut name = None;
                let mut finish_reason = None;
                while let Some(key) = map.next_key::<MessageKey>()? {
                    match key {
                        MessageKey::Role => role = Some(map.next_value::<String>()?),
                        MessageKey::Parts => parts = Some(map.next_value::<Vec<WirePart>>()?),
                        MessageKey::Name => name = Some(map.next_value::<String>()?),
                        MessageKey::FinishReason => {
                            finish_reason = Some(map.next_value::<String>()?);
                        }
                        MessageKey::Decline => return Err(de::Error::custom("not standard")),
                        MessageKey::Ignored => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(WireMessage {
                    role,
                    parts: parts.ok_or_else(|| de::Error::custom("no parts"))?,
                    name,
                    finish_reason,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// One part, already converted.
struct WirePart(MessagePart);

enum PartKey {
    Type,
    Content,
    Name,
    Id,
    Arguments,
    Response,
    Result,
    Other(String),
}

impl<'de> Deserialize<'de> for PartKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PartKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a part key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<PartKey, E> {
                Ok(match k {
                    "type" => PartKey::Type,
                    "content" => PartKey::Content,
                    "name" => PartKey::Name,
                    "id" => PartKey::Id,
                    "arguments" => PartKey::Arguments,
                    "response" => PartKey::Response,
                    "result" => PartKey::Result,
                    other => PartKey::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// The fields of a part as read; converted by [`PartFields::into_part`].
#[derive(Default)]
struct PartFields {
    ty: Option<Value>,
    content: Option<Value>,
    name: Option<Value>,
    id: Option<Value>,
    arguments: Option<Value>,
    response: Option<Value>,
    result: Option<Value>,
    rest: Map<String, Value>,
}

impl PartFields {
    /// The standard parts are converted here; anything else goes through the generic part
    /// conversion on the rebuilt object, so the result is the same as the generic path's.
    fn into_part(self) -> MessagePart {
        let ty = self.ty.as_ref().and_then(Value::as_str).unwrap_or("");
        let simple = self.rest.is_empty();
        match ty {
            "text" if matches!(self.content, Some(Value::String(_))) => {
                if let Some(Value::String(content)) = self.content {
                    return MessagePart::Text { content };
                }
            }
            "reasoning" if matches!(self.content, Some(Value::String(_))) => {
                if let Some(Value::String(content)) = self.content {
                    return MessagePart::Reasoning { content };
                }
            }
            "tool_call"
                if simple
                    && matches!(self.name, Some(Value::String(_)))
                    && matches!(self.id, None | Some(Value::String(_))) =>
            {
                if let Some(Value::String(name)) = self.name {
                    return MessagePart::ToolCall {
                        id: self.id.and_then(into_string),
                        name,
                        arguments: self.arguments.and_then(normalize_arguments),
                    };
                }
            }
            "tool_call_response"
                if simple
                    && (self.response.is_some()
                        || self.result.is_some()
                        || self.content.is_some())
                    && matches!(self.id, None | Some(Value::String(_))) =>
            {
                let response = self
                    .response
                    .or(self.result)
                    .or(self.content)
                    .unwrap_or(Value::Null);
                return MessagePart::ToolCallResponse {
                    id: self.id.and_then(into_string),
                    response,
                };
            }
            _ => {}
        }
        part_from_json(Value::Object(self.into_map()))
    }

    fn into_map(self) -> Map<String, Value> {
        let mut m = self.rest;
        for (k, v) in [
            ("type", self.ty),
            ("content", self.content),
            ("name", self.name),
            ("id", self.id),
            ("arguments", self.arguments),
            ("response", self.response),
            ("result", self.result),
        ] {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        }
        m
    }
}

fn into_string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for WirePart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WirePart;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTel message part")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WirePart, A::Error> {
                let mut p = PartFields::default();
                while let Some(key) = map.next_key::<PartKey>()? {
                    let v = map.next_value::<Value>()?;
                    match key {
                        PartKey::Type => p.ty = Some(v),
                        PartKey::Content => p.content = Some(v),
                        PartKey::Name => p.name = Some(v),
                        PartKey::Id => p.id = Some(v),
                        PartKey::Arguments => p.arguments = Some(v),
                        PartKey::Response => p.response = Some(v),
                        PartKey::Result => p.result = Some(v),
                        PartKey::Other(k) => {
                            p.rest.insert(k, v);
                        }
                    }
                }
                // Untyped objects may be messages inside a part list: the generic path decides.
                if p.ty.is_none() {
                    return Err(de::Error::custom("untyped part"));
                }
                Ok(WirePart(p.into_part()))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<WirePart, E> {
                if s.is_empty() {
                    return Err(E::custom("empty text part"));
                }
                Ok(WirePart(MessagePart::Text {
                    content: s.to_owned(),
                }))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<WirePart, E> {
                if s.is_empty() {
                    return Err(E::custom("empty text part"));
                }
                Ok(WirePart(MessagePart::Text { content: s }))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{messages_from_json, parts_from_json};

    /// Inputs covering the standard shape and every reason to decline or fall back.
    const MESSAGE_CORPUS: &[&str] = &[
        r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#,
        r#"[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"f","arguments":{"a":1}}],"finish_reason":"end_turn"}]"#,
        r#"[{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":"{\"a\":1}"}]}]"#,
        r#"[{"role":"assistant","parts":[{"type":"tool_call","call_id":"c2","name":"f","input":{"x":2}}]}]"#,
        r#"[{"role":"assistant","parts":[{"type":"tool_call","id":7,"name":"f"}]}]"#,
        r#"[{"role":"assistant","parts":[{"type":"tool_call","id":"c3"}]}]"#,
        r#"[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","result":"ok"}]}]"#,
        r#"[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":{"t":1},"result":"x"}]}]"#,
        r#"[{"role":"tool","parts":[{"type":"tool_call_response","tool_use_id":"u","output":"o"}]}]"#,
        r#"[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1"}]}]"#,
        r#"[{"role":"assistant","parts":[{"type":"reasoning","content":"r"},{"type":"thinking","thinking":"t"}]}]"#,
        r#"[{"role":"user","parts":[{"type":"blob","modality":"image","mime_type":"image/png","content":"AA=="}]}]"#,
        r#"[{"role":"user","parts":[{"type":"text","text":"alt"},{"type":"text","content":5}]}]"#,
        r#"[{"role":"user","parts":["plain",""]}]"#,
        r#"[{"role":"user","parts":[{"role":"system","content":"nested"}]}]"#,
        r#"[{"parts":[{"type":"text","content":"no role"}],"name":"bob"}]"#,
        r#"[{"role":"","parts":[]}]"#,
        r#"[{"role":null,"parts":[{"type":"text","content":"x"}]}]"#,
        r#"[{"role":"assistant","message":{"content":"x"},"parts":[]}]"#,
        r#"[{"role":"user","content":"legacy"}]"#,
        r#"[{"role":"user","parts":{"type":"text","content":"object parts"}}]"#,
        r#"{"role":"user","parts":[{"type":"text","content":"single"}]}"#,
        r#"[{"role":"user","parts":[{"type":"text","content":"a"}],"content":"ignored","parts":[{"type":"text","content":"last"}]}]"#,
    ];

    #[test]
    fn fast_path_matches_generic_path() {
        let mut fast_hits = 0;
        for input in MESSAGE_CORPUS {
            let generic = messages_from_json(serde_json::from_str(input).unwrap(), "user");
            if let Some(fast) = otel_messages(input, "user") {
                fast_hits += 1;
                assert_eq!(fast, generic, "{input}");
            }
        }
        // The standard inputs must take the fast path.
        assert!(fast_hits >= 15, "{fast_hits}");
        assert!(otel_messages(MESSAGE_CORPUS[0], "user").is_some());
        assert!(otel_messages(r#"[{"role":"user","content":"legacy"}]"#, "user").is_none());
    }

    #[test]
    fn fast_parts_match_generic_parts() {
        for input in [
            r#"[{"type":"text","content":"sys"}]"#,
            r#"["a","b"]"#,
            r#"[{"type":"custom","x":1},{"type":"text","content":"y"}]"#,
            r#"[{"role":"system","content":"legacy"}]"#,
        ] {
            let generic = parts_from_json(serde_json::from_str(input).unwrap());
            if let Some(fast) = otel_parts(input) {
                assert_eq!(fast, generic, "{input}");
            }
        }
        assert!(otel_parts(r#"[{"role":"system","content":"legacy"}]"#).is_none());
    }
}
