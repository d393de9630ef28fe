//! What a span took in and gave back, shown to be read: separate Input and Output sections
//! (system, user and history; then the completion), tool arguments and results as highlighted
//! JSON, a retriever's documents as a list, an embedding's inputs and dimensions. Messages come
//! from the normalized span; what normalization leaves in the attributes (a tool's arguments, a
//! retriever's documents in OpenInference's flattened keys, `input.value`) is read here.

use crate::json_view::{json_block, value_block};
use crate::trace::folded_text;
use llmtrace_model::{AttrValue, Attributes, Message, MessagePart};
use llmtrace_query::SpanView;
use maud::{html, Markup};
use serde_json::Value;

/// Documents listed at most (the rest are counted).
const MAX_DOCUMENTS: usize = 100;

/// Attribute keys holding a span's input when it has no input messages, first found wins.
const INPUT_KEYS: [&str; 6] = [
    "gen_ai.tool.call.arguments",
    "input.value",
    "traceloop.entity.input",
    "langfuse.observation.input",
    "gen_ai.retrieval.query.text",
    "reranker.query",
];

/// Attribute keys holding a span's output when it has no output messages.
const OUTPUT_KEYS: [&str; 4] = [
    "gen_ai.tool.call.result",
    "output.value",
    "traceloop.entity.output",
    "langfuse.observation.output",
];

/// One retrieved (or reranked) document.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Document {
    /// Its id, when given.
    pub id: Option<String>,
    /// Its relevance score, when given.
    pub score: Option<f64>,
    /// Its text, when given.
    pub content: Option<String>,
    /// Everything else about it (metadata, url, name), as JSON.
    pub metadata: Option<Value>,
}

/// A JSON value given as a JSON string or as structured attribute values.
fn json_of(v: &AttrValue) -> Value {
    match v {
        AttrValue::Str(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
        other => other.to_json(),
    }
}

fn document_from_json(v: &Value) -> Document {
    let Some(obj) = v.as_object() else {
        return Document {
            content: Some(match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            ..Default::default()
        };
    };
    let text = |k: &str| {
        obj.get(k).map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let mut rest = obj.clone();
    for k in ["id", "score", "content", "text", "page_content"] {
        rest.remove(k);
    }
    let metadata = match rest.remove("metadata") {
        Some(Value::String(s)) => serde_json::from_str(&s).ok().or(Some(Value::String(s))),
        Some(m) if rest.is_empty() => Some(m),
        Some(m) => {
            rest.insert("metadata".into(), m);
            Some(Value::Object(rest))
        }
        None => (!rest.is_empty()).then_some(Value::Object(rest)),
    };
    Document {
        id: text("id"),
        score: obj.get("score").and_then(|s| {
            s.as_f64()
                .or_else(|| s.as_str().and_then(|t| t.parse().ok()))
        }),
        content: text("content")
            .or_else(|| text("text"))
            .or_else(|| text("page_content")),
        metadata,
    }
}

/// Documents flattened OpenInference-style: `{prefix}.{i}.document.{field}`.
fn flattened_documents(attrs: &Attributes, prefix: &str) -> Vec<Document> {
    let mut docs: Vec<(usize, Document)> = Vec::new();
    for kv in attrs.iter() {
        let Some(rest) = kv.key.strip_prefix(prefix) else {
            continue;
        };
        let Some((index, field)) = rest.strip_prefix('.').and_then(|r| r.split_once('.')) else {
            continue;
        };
        let (Ok(i), Some(field)) = (index.parse::<usize>(), field.strip_prefix("document.")) else {
            continue;
        };
        if i >= MAX_DOCUMENTS {
            continue;
        }
        let at = match docs.iter().position(|(j, _)| *j == i) {
            Some(at) => at,
            None => {
                docs.push((i, Document::default()));
                docs.len() - 1
            }
        };
        let Some((_, d)) = docs.get_mut(at) else {
            continue;
        };
        match field {
            "id" => {
                d.id = Some(
                    kv.value
                        .as_str()
                        .map_or_else(|| kv.value.to_json().to_string(), str::to_string),
                )
            }
            "score" => d.score = kv.value.as_f64(),
            "content" => d.content = kv.value.as_str().map(str::to_string),
            "metadata" => d.metadata = Some(json_of(&kv.value)),
            other => {
                let m = d
                    .metadata
                    .get_or_insert_with(|| Value::Object(Default::default()));
                if let Some(o) = m.as_object_mut() {
                    o.insert(other.to_string(), kv.value.to_json());
                }
            }
        }
    }
    docs.sort_by_key(|(i, _)| *i);
    docs.into_iter().map(|(_, d)| d).collect()
}

/// A retriever's or reranker's documents, from the OTel GenAI attribute
/// (`gen_ai.retrieval.documents`) or OpenInference's flattened keys (`retrieval.documents.*`,
/// `reranker.output_documents.*`); empty when the span has none.
pub(crate) fn documents(attrs: &Attributes) -> Vec<Document> {
    if let Some(v) = attrs.get("gen_ai.retrieval.documents") {
        if let Value::Array(items) = json_of(v) {
            return items
                .iter()
                .take(MAX_DOCUMENTS)
                .map(document_from_json)
                .collect();
        }
    }
    for prefix in ["retrieval.documents", "reranker.output_documents"] {
        let docs = flattened_documents(attrs, prefix);
        if !docs.is_empty() {
            return docs;
        }
    }
    Vec::new()
}

/// What an embedding span embedded: its input texts and the vectors' dimension.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct EmbeddingInfo {
    /// The texts embedded.
    pub inputs: Vec<String>,
    /// Dimensions of each vector, when known.
    pub dimensions: Option<u64>,
}

/// The embedding facts of a span (OTel `gen_ai.embeddings.dimension.count`, OpenInference
/// `embedding.embeddings.{i}.embedding.{text,vector}`); input messages count as inputs too.
pub(crate) fn embedding_info(s: &SpanView) -> EmbeddingInfo {
    let mut info = EmbeddingInfo {
        dimensions: s
            .attributes
            .get("gen_ai.embeddings.dimension.count")
            .and_then(AttrValue::as_i64)
            .and_then(|d| u64::try_from(d).ok()),
        ..Default::default()
    };
    for kv in s.attributes.iter() {
        let Some(rest) = kv.key.strip_prefix("embedding.embeddings.") else {
            continue;
        };
        if rest.ends_with(".embedding.text") {
            if let Some(t) = kv.value.as_str() {
                info.inputs.push(t.to_string());
            }
        } else if rest.ends_with(".embedding.vector") && info.dimensions.is_none() {
            if let AttrValue::Array(v) = &kv.value {
                info.dimensions = u64::try_from(v.len()).ok();
            }
        }
    }
    if info.inputs.is_empty() {
        for m in &s.input_messages {
            for p in &m.parts {
                if let MessagePart::Text { content } = p {
                    info.inputs.push(content.clone());
                }
            }
        }
    }
    info
}

/// A message part.
pub(crate) fn part(p: &MessagePart) -> Markup {
    match p {
        MessagePart::Text { content } => folded_text(content),
        MessagePart::Reasoning { content } => html! {
            div.reasoning { span.label { "Reasoning" } (folded_text(content)) }
        },
        MessagePart::ToolCall {
            id,
            name,
            arguments,
        } => html! {
            div.tool-call {
                span.label { "Tool call " code dir="auto" { (name) } }
                @if let Some(id) = id { " " span.dim { (id) } }
                @if let Some(a) = arguments { (value_block(a)) }
            }
        },
        MessagePart::ToolCallResponse { id, response } => html! {
            div.tool-result {
                span.label { "Tool result" }
                @if let Some(id) = id { " " span.dim { (id) } }
                (value_block(response))
            }
        },
        MessagePart::Other(v) => json_block(v),
    }
}

/// One message: its role, then its parts.
pub(crate) fn message(m: &Message) -> Markup {
    html! {
        div class={ "msg role-" (m.role) } {
            div.role { (m.role) @if let Some(n) = &m.name { " · " span dir="auto" { (n) } } @if let Some(f) = &m.finish_reason { span.dim { " (" (f) ")" } } }
            @for p in &m.parts { (part(p)) }
        }
    }
}

/// The first of `keys` that `attrs` has, with its value.
fn first_attr<'a>(
    attrs: &'a Attributes,
    keys: &[&'static str],
) -> Option<(&'static str, &'a AttrValue)> {
    keys.iter().find_map(|k| attrs.get(k).map(|v| (*k, v)))
}

/// The Input and Output sections of a span, its documents and embedding facts.
pub(crate) fn io_sections(s: &SpanView) -> Markup {
    let input_attr = (s.input_messages.is_empty() && s.system_instructions.is_empty())
        .then(|| first_attr(&s.attributes, &INPUT_KEYS))
        .flatten();
    let output_attr = s
        .output_messages
        .is_empty()
        .then(|| first_attr(&s.attributes, &OUTPUT_KEYS))
        .flatten();
    let docs = if s.kind == "retriever" || s.kind == "reranker" {
        documents(&s.attributes)
    } else {
        Vec::new()
    };
    let embedding = (s.kind == "embedding").then(|| embedding_info(s));
    let has_input =
        !s.system_instructions.is_empty() || !s.input_messages.is_empty() || input_attr.is_some();
    let has_output = !s.output_messages.is_empty() || output_attr.is_some();
    html! {
        @if let Some(e) = &embedding {
            section.embedding aria-label="Embedding" {
                h3 { "Embedding" }
                dl.fields {
                    div { dt { "Inputs" } dd #embedding-inputs { (e.inputs.len()) } }
                    div { dt { "Dimensions" } dd #embedding-dimensions { @if let Some(d) = e.dimensions { (crate::format::count(d)) } @else { "not reported" } } }
                }
                @if !e.inputs.is_empty() {
                    ol.embedding-inputs { @for t in &e.inputs { li { (folded_text(t)) } } }
                }
            }
        }
        @if has_input && embedding.is_none() {
            section.io.input aria-label="Input" {
                h3 { "Input" }
                @if !s.system_instructions.is_empty() {
                    div class="msg role-system" { div.role { "system" } @for p in &s.system_instructions { (part(p)) } }
                }
                @for m in &s.input_messages { (message(m)) }
                @if let Some((k, v)) = input_attr {
                    div.io-attr { span.dim { code { (k) } } (crate::json_view::attr_block(v)) }
                }
            }
        }
        @if !docs.is_empty() {
            section.documents aria-label="Documents" {
                h3 { "Documents (" (docs.len()) ")" }
                ol.documents {
                    @for d in &docs {
                        li.document {
                            div.doc-head {
                                @if let Some(id) = &d.id { code.doc-id dir="auto" { (id) } }
                                @if let Some(sc) = d.score { " " span.badge.doc-score title="Score" { (format!("{sc:.4}")) } }
                            }
                            @if let Some(c) = &d.content { (folded_text(c)) }
                            @if let Some(m) = &d.metadata { details.doc-meta { summary { "Metadata" } (json_block(m)) } }
                        }
                    }
                }
            }
        }
        @if has_output {
            section.io.output aria-label="Output" {
                h3 { "Output" }
                @for m in &s.output_messages { (message(m)) }
                @if let Some((k, v)) = output_attr {
                    div.io-attr { span.dim { code { (k) } } (crate::json_view::attr_block(v)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, AttrValue)]) -> Attributes {
        let mut a = Attributes::default();
        for (k, v) in pairs {
            a.push(*k, v.clone());
        }
        a
    }

    #[test]
    fn documents_from_openinference_and_otel() {
        let a = attrs(&[
            (
                "retrieval.documents.1.document.id",
                AttrValue::Str("doc-b".into()),
            ),
            (
                "retrieval.documents.0.document.id",
                AttrValue::Str("doc-a".into()),
            ),
            (
                "retrieval.documents.0.document.score",
                AttrValue::Double(0.91),
            ),
            (
                "retrieval.documents.0.document.content",
                AttrValue::Str("Renewal is yearly.".into()),
            ),
            (
                "retrieval.documents.0.document.metadata",
                AttrValue::Str(r#"{"page":3}"#.into()),
            ),
        ]);
        let d = documents(&a);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].id.as_deref(), Some("doc-a"));
        assert_eq!(d[0].score, Some(0.91));
        assert_eq!(d[0].content.as_deref(), Some("Renewal is yearly."));
        assert_eq!(d[0].metadata, Some(serde_json::json!({"page": 3})));
        assert_eq!(d[1].id.as_deref(), Some("doc-b"));

        let otel = attrs(&[(
            "gen_ai.retrieval.documents",
            AttrValue::Str(r#"[{"id":"x","score":"0.5","content":"c","source":"wiki"}]"#.into()),
        )]);
        let d = documents(&otel);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].score, Some(0.5));
        assert_eq!(d[0].metadata, Some(serde_json::json!({"source": "wiki"})));
        assert!(documents(&Attributes::default()).is_empty());
    }

    #[test]
    fn hostile_document_indexes_are_bounded() {
        let a = attrs(&[(
            "retrieval.documents.99999999999.document.id",
            AttrValue::Str("x".into()),
        )]);
        assert!(documents(&a).is_empty());
        // At the limit every document is kept; past it the rest are left out.
        let flat: Vec<(String, AttrValue)> = (0..=MAX_DOCUMENTS)
            .map(|i| {
                (
                    format!("retrieval.documents.{i}.document.id"),
                    AttrValue::Str(format!("d{i}")),
                )
            })
            .collect();
        let pairs: Vec<(&str, AttrValue)> =
            flat.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let d = documents(&attrs(&pairs));
        assert_eq!(d.len(), MAX_DOCUMENTS);
        assert_eq!(d.last().and_then(|x| x.id.as_deref()), Some("d99"));
        let json: Vec<serde_json::Value> = (0..=MAX_DOCUMENTS)
            .map(|i| serde_json::json!({"id": format!("d{i}")}))
            .collect();
        let otel = attrs(&[(
            "gen_ai.retrieval.documents",
            AttrValue::Str(serde_json::Value::Array(json).to_string()),
        )]);
        assert_eq!(documents(&otel).len(), MAX_DOCUMENTS);
    }
}
