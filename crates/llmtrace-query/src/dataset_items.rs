//! Dataset items built from stored spans (`POST /api/datasets/{name}/items`): a span's input
//! messages and output, in the shape the chat APIs (and so Langfuse and Phoenix datasets) use.

use crate::{check_name, DatasetItemView, Query, QueryError, SpanView};
use llmtrace_model::{Message, MessagePart};
use llmtrace_store::DatasetItem;
use serde::Deserialize;

/// Body of `POST /api/datasets/{name}/items`: an item given in full (`input`, ...), or taken
/// from a stored span (`trace_id` and `span_id`) or trace (`trace_id` alone: its root span's
/// messages, else its first model call's input and last model call's output).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDatasetItem {
    /// Id (default: from the source span, else a digest of the input).
    pub id: Option<String>,
    /// Input, when not taken from a span.
    pub input: Option<serde_json::Value>,
    /// Output (default: the source span's).
    pub output: Option<serde_json::Value>,
    /// The output wanted.
    pub expected_output: Option<serde_json::Value>,
    /// Anything else.
    pub metadata: Option<serde_json::Value>,
    /// The trace to take the item from.
    pub trace_id: Option<String>,
    /// The span of that trace to take it from.
    pub span_id: Option<String>,
}

/// Whether every part of a message is text.
fn all_text(m: &Message) -> bool {
    m.parts
        .iter()
        .all(|p| matches!(p, MessagePart::Text { .. }))
}

/// A message as the chat APIs write it: `{"role", "content"}` with the text when every part is
/// text, else the parts as stored.
fn chat_message(m: &Message) -> serde_json::Value {
    if all_text(m) {
        serde_json::json!({"role": m.role, "content": m.text_content()})
    } else {
        serde_json::json!({"role": m.role, "content": m.parts})
    }
}

/// Messages as the chat APIs write them, the system instructions first.
fn chat_messages(system: &[MessagePart], messages: &[Message]) -> serde_json::Value {
    let system = (!system.is_empty()).then(|| Message {
        role: "system".into(),
        parts: system.to_vec(),
        ..Default::default()
    });
    system
        .iter()
        .chain(messages)
        .map(chat_message)
        .collect::<Vec<_>>()
        .into()
}

/// A completion: a string when it is one text message, else messages.
fn completion(messages: &[Message]) -> Option<serde_json::Value> {
    match messages {
        [] => None,
        [m] if all_text(m) => Some(m.text_content().into()),
        many => Some(chat_messages(&[], many)),
    }
}

/// Input and output of a span, or of a trace (see [`NewDatasetItem`]).
fn from_spans(
    spans: &[SpanView],
    span_id: Option<&str>,
) -> Option<(serde_json::Value, Option<serde_json::Value>)> {
    let of = |s: &SpanView| {
        (
            chat_messages(&s.system_instructions, &s.input_messages),
            completion(&s.output_messages),
        )
    };
    if let Some(id) = span_id {
        let id = id.to_ascii_lowercase();
        return spans.iter().find(|s| s.span_id == id).map(of);
    }
    let has_messages =
        |s: &&SpanView| !s.input_messages.is_empty() || !s.output_messages.is_empty();
    let root = spans.iter().find(|s| s.parent_span_id.is_none());
    if let Some(r) = root.filter(has_messages) {
        return Some(of(r));
    }
    let mut calls = spans.iter().filter(has_messages);
    match (calls.next(), calls.next_back()) {
        (Some(first), last) => Some((
            chat_messages(&first.system_instructions, &first.input_messages),
            completion(&last.unwrap_or(first).output_messages),
        )),
        (None, _) => root.map(of),
    }
}

impl Query {
    /// `POST /api/datasets/{name}/items`: builds the item (from its source span when it names
    /// one) and stores it in the dataset; the stored item.
    pub async fn add_dataset_item(
        &self,
        project: &str,
        dataset: &str,
        new: NewDatasetItem,
        now_unix_nano: u64,
    ) -> Result<DatasetItemView, QueryError> {
        let (input, output) = match (&new.trace_id, new.input) {
            (Some(trace), None) => {
                let detail = self.get_trace(project, trace).await?;
                let (input, output) = from_spans(&detail.spans, new.span_id.as_deref())
                    .ok_or_else(|| {
                        QueryError::NotFound(format!(
                            "span {:?} not found in trace {trace}",
                            new.span_id.as_deref().unwrap_or("")
                        ))
                    })?;
                (input, new.output.or(output))
            }
            (_, Some(input)) => (input, new.output),
            (None, None) => {
                return Err(QueryError::BadRequest(
                    "an item needs an input, or a trace_id (and span_id) to take it from".into(),
                ))
            }
        };
        let trace = new.trace_id.as_deref().map(str::to_ascii_lowercase);
        let span = new.span_id.as_deref().map(str::to_ascii_lowercase);
        let id = new.id.unwrap_or_else(|| match (&trace, &span) {
            // The same span added twice is one item (its expected output edited in place).
            (Some(t), s) => llmtrace_model::digest_id("item", &[t, s.as_deref().unwrap_or("")]),
            (None, _) => llmtrace_model::digest_id("item", &[&input.to_string()]),
        });
        check_name("id", &id)?;
        let item = DatasetItem {
            project: project.to_string(),
            dataset: dataset.to_string(),
            id,
            input,
            output,
            expected_output: new.expected_output,
            metadata: new.metadata,
            source_trace_id: trace,
            source_span_id: span,
            created_unix_nano: now_unix_nano,
        };
        if !self.annotations.put_dataset_item(&item).await? {
            return Err(QueryError::NotFound(format!(
                "dataset {dataset:?} not found"
            )));
        }
        Ok(DatasetItemView::from(&item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_take_the_chat_shape() {
        let input = chat_messages(
            &[MessagePart::Text {
                content: "be brief".into(),
            }],
            &[Message::text("user", "capital of France?")],
        );
        assert_eq!(
            input,
            serde_json::json!([{"role": "system", "content": "be brief"},
                               {"role": "user", "content": "capital of France?"}])
        );
        assert_eq!(
            completion(&[Message::text("assistant", "Paris.")]),
            Some("Paris.".into())
        );
        assert_eq!(completion(&[]), None);
    }
}
