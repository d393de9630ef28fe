//! Chat messages in the shape of the GenAI conventions (`gen_ai.input.messages`): a role and a
//! list of typed parts. Every dialect's message form is converted to this one.

use serde::{Deserialize, Serialize};

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, or whatever the source said.
    pub role: String,
    /// The content, in order.
    #[serde(default)]
    pub parts: Vec<MessagePart>,
    /// Participant name, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Why generation stopped (output messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// One part of a message, discriminated by `type` as in the GenAI JSON schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessagePart {
    /// Text.
    Text {
        /// The text.
        content: String,
    },
    /// A tool call the model asked for.
    ToolCall {
        /// Call id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Tool name.
        name: String,
        /// Arguments (an object when the source gave one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arguments: Option<serde_json::Value>,
    },
    /// The result of a tool call.
    ToolCallResponse {
        /// Call id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The result.
        response: serde_json::Value,
    },
    /// Model reasoning (thinking) text.
    Reasoning {
        /// The text.
        content: String,
    },
    /// Any other part (blob, file, uri, server tool call, custom), kept as sent.
    #[serde(untagged)]
    Other(serde_json::Value),
}

impl Message {
    /// A message with one text part.
    pub fn text(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            parts: vec![MessagePart::Text {
                content: content.into(),
            }],
            name: None,
            finish_reason: None,
        }
    }

    /// The concatenated text of the text and reasoning parts (for search and previews).
    pub fn text_content(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let MessagePart::Text { content } | MessagePart::Reasoning { content } = p {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(content);
            }
        }
        out
    }
}
