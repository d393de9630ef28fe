//! The detail of a stored span, shared by both stores: its JSON, with the long messages and
//! raw message attributes referred to by hash ([`crate::messages`]), and reading it back.

use crate::messages::{self, AttrRef, Bodies, MessageHash, MessageRow, StoredMessage};
use llmtrace_model::{Attributes, GenAi, Span, SpanEvent, SpanLink, Usage};
use serde::{Deserialize, Serialize};

/// The part of a span a store keeps as one JSON detail (SQLite: an element of a trace's blob;
/// ClickHouse: the `detail` column): everything but the columns it filters and sums on.
#[derive(Deserialize)]
pub struct SpanDetail {
    /// Status message.
    pub status_message: String,
    /// OTel span kind code.
    pub otel_kind: i32,
    /// GenAI fields (without the messages the table holds).
    pub gen_ai: GenAi,
    /// Usage as reported.
    pub usage: Usage,
    /// Span attributes.
    pub attributes: Attributes,
    /// Instrumentation scope name.
    pub scope_name: String,
    /// Instrumentation scope version.
    pub scope_version: String,
    /// Events.
    pub events: Vec<SpanEvent>,
    /// Links.
    pub links: Vec<SpanLink>,
    /// The input messages when some are in the message table (`gen_ai` then has none).
    #[serde(default)]
    input_messages: Vec<StoredMessage>,
    /// The output messages when some are in the message table.
    #[serde(default)]
    output_messages: Vec<StoredMessage>,
    /// The attributes stored by their JSON array's elements (an empty string in their place).
    #[serde(default)]
    attribute_refs: Vec<AttrRef>,
}

impl SpanDetail {
    /// The span's searchable text (see `llmtrace_store::search`); complete once the messages
    /// are resolved.
    pub fn search_text(&self) -> String {
        crate::search::gen_ai_search_text(&self.gen_ai)
    }

    /// Appends the hashes of the messages this detail refers to.
    pub fn message_refs(&self, out: &mut Vec<MessageHash>) -> Result<(), String> {
        messages::refs_of(&self.input_messages, out)?;
        messages::refs_of(&self.output_messages, out)?;
        messages::attribute_refs_of(&self.attribute_refs, out)
    }

    /// Puts the referred messages back into `gen_ai` and the attributes, from `bodies`.
    pub fn resolve_messages(&mut self, bodies: &Bodies) -> Result<(), String> {
        if !self.attribute_refs.is_empty() {
            messages::resolve_attributes(
                &mut self.attributes,
                std::mem::take(&mut self.attribute_refs),
                bodies,
            )?;
        }
        if !self.input_messages.is_empty() {
            self.gen_ai.input_messages =
                messages::resolve(std::mem::take(&mut self.input_messages), bodies)?;
        }
        if !self.output_messages.is_empty() {
            self.gen_ai.output_messages =
                messages::resolve(std::mem::take(&mut self.output_messages), bodies)?;
        }
        Ok(())
    }
}

/// Appends the JSON of a span's detail to `out`. With
/// `message_rows`, the messages long enough for the message table are referred to by hash and
/// their rows appended there; without, every message stays inline.
pub fn write_span_detail(
    out: &mut Vec<u8>,
    span: &Span,
    message_rows: Option<&mut Vec<MessageRow>>,
) -> Result<(), String> {
    #[derive(Serialize)]
    struct Ref<'a> {
        status_message: &'a str,
        otel_kind: i32,
        gen_ai: &'a GenAi,
        usage: &'a Usage,
        attributes: &'a Attributes,
        scope_name: &'a str,
        scope_version: &'a str,
        events: &'a [SpanEvent],
        links: &'a [SpanLink],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        input_messages: &'a [StoredMessage],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        output_messages: &'a [StoredMessage],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        attribute_refs: &'a [AttrRef],
    }
    let mut detail = Ref {
        status_message: &span.status_message,
        otel_kind: span.otel_kind,
        gen_ai: &span.gen_ai,
        usage: &span.usage,
        attributes: &span.attributes,
        scope_name: &span.scope_name,
        scope_version: &span.scope_version,
        events: &span.events,
        links: &span.links,
        input_messages: &[],
        output_messages: &[],
        attribute_refs: &[],
    };
    let parts = match message_rows {
        Some(rows) => messages::split_span(&span.gen_ai, &span.attributes, rows)?,
        None => None,
    };
    if let Some(p) = &parts {
        detail.gen_ai = &p.gen_ai;
        detail.input_messages = &p.messages.input;
        detail.output_messages = &p.messages.output;
        if let Some(a) = &p.attributes {
            detail.attributes = a;
            detail.attribute_refs = &p.attribute_refs;
        }
    }
    serde_json::to_writer(out, &detail).map_err(|e| e.to_string())
}
