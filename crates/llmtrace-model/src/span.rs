//! The normalized span.

use crate::{Attributes, Message, MessagePart, SpanCost, SpanId, TraceId};
use serde::{Deserialize, Serialize};

/// What a span does, in the normalized vocabulary every dialect maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// A model call that generates (chat, completion, generate_content).
    Llm,
    /// An embeddings call.
    Embedding,
    /// A retrieval step.
    Retriever,
    /// A reranking step.
    Reranker,
    /// A tool execution.
    Tool,
    /// An agent invocation.
    Agent,
    /// A chain or workflow step.
    Chain,
    /// Anything else.
    #[default]
    Span,
}

impl SpanKind {
    /// All kinds, in their stable numeric order (the value stored in databases is the index).
    pub const ALL: [SpanKind; 8] = [
        SpanKind::Llm,
        SpanKind::Embedding,
        SpanKind::Retriever,
        SpanKind::Reranker,
        SpanKind::Tool,
        SpanKind::Agent,
        SpanKind::Chain,
        SpanKind::Span,
    ];

    /// The stable lowercase name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Llm => "llm",
            SpanKind::Embedding => "embedding",
            SpanKind::Retriever => "retriever",
            SpanKind::Reranker => "reranker",
            SpanKind::Tool => "tool",
            SpanKind::Agent => "agent",
            SpanKind::Chain => "chain",
            SpanKind::Span => "span",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Stable numeric code for storage.
    pub fn code(self) -> i64 {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(7) as i64
    }

    /// Inverse of [`SpanKind::code`]; unknown codes are `Span`.
    pub fn from_code(code: i64) -> Self {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or(SpanKind::Span)
    }

    /// Whether spans of this kind are model calls whose usage is billed (llm, embedding).
    pub fn is_model_call(self) -> bool {
        matches!(self, SpanKind::Llm | SpanKind::Embedding)
    }
}

/// Span status, as OTLP defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// Not set.
    #[default]
    Unset,
    /// Explicitly ok.
    Ok,
    /// An error.
    Error,
}

impl StatusCode {
    /// OTLP numeric value.
    pub fn code(self) -> i64 {
        match self {
            StatusCode::Unset => 0,
            StatusCode::Ok => 1,
            StatusCode::Error => 2,
        }
    }

    /// From the OTLP numeric value (unknown values are `Unset`).
    pub fn from_code(c: i64) -> Self {
        match c {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }

    /// The stable API name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

/// Token usage of one call, on the one convention llmtrace uses everywhere:
/// `input` counts every prompt token, cached ones included (so `cache_read` and `cache_write` are
/// parts of `input`), and `output` counts every generated token, reasoning included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Usage {
    /// All input tokens, cache read and cache write included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<u64>,
    /// All output tokens, reasoning included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<u64>,
    /// Input tokens served from the provider cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<u64>,
    /// Input tokens written to the provider cache (all TTLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<u64>,
    /// The part of `cache_write` written with a 1-hour TTL, when known (priced apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<u64>,
    /// Reasoning (thinking) tokens, a part of `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<u64>,
}

impl Usage {
    /// Whether any count is present.
    pub fn is_empty(&self) -> bool {
        self.input.is_none()
            && self.output.is_none()
            && self.cache_read.is_none()
            && self.cache_write.is_none()
            && self.reasoning.is_none()
    }

    /// Input tokens neither read from nor written to the cache.
    pub fn uncached_input(&self) -> u64 {
        self.input
            .unwrap_or(0)
            .saturating_sub(self.cache_read.unwrap_or(0) + self.cache_write.unwrap_or(0))
    }
}

/// Request parameters of a model call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RequestParams {
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Maximum tokens to generate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<i64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<f64>,
    /// Frequency penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Presence penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Whether the response streamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

/// The GenAI fields of a span, normalized from whichever dialect carried them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GenAi {
    /// Canonical provider (`openai`, `anthropic`, `aws.bedrock`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Provider exactly as sent, when it differs from the canonical one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_raw: Option<String>,
    /// Operation (`chat`, `embeddings`, `execute_tool`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Model asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_model: Option<String>,
    /// Model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_model: Option<String>,
    /// Request parameters.
    #[serde(default)]
    pub params: RequestParams,
    /// Finish reasons, mapped to the OTel values where known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reasons: Vec<String>,
    /// Seconds from the request to the first streamed chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_first_token_s: Option<f64>,
    /// System instructions given apart from the history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_instructions: Vec<MessagePart>,
    /// The messages sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_messages: Vec<Message>,
    /// The messages received, one per choice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_messages: Vec<Message>,
    /// Application user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Session (conversation) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Error class (`error.type` or the exception type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Tool name, for tool spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Agent name, for agent spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// Service tier of the call (`default`, `batch`, `flex`, `priority`), which changes its price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
}

impl GenAi {
    /// A copy without the input and output messages (a store keeps those apart).
    pub fn without_messages(&self) -> GenAi {
        // Destructured field by field, so a new field cannot be forgotten here.
        let GenAi {
            provider,
            provider_raw,
            operation,
            request_model,
            response_model,
            params,
            finish_reasons,
            time_to_first_token_s,
            system_instructions,
            user_id,
            session_id,
            error_type,
            tool_name,
            agent_name,
            response_id,
            service_tier,
            input_messages: _,
            output_messages: _,
        } = self;
        GenAi {
            provider: provider.clone(),
            provider_raw: provider_raw.clone(),
            operation: operation.clone(),
            request_model: request_model.clone(),
            response_model: response_model.clone(),
            params: params.clone(),
            finish_reasons: finish_reasons.clone(),
            time_to_first_token_s: *time_to_first_token_s,
            system_instructions: system_instructions.clone(),
            user_id: user_id.clone(),
            session_id: session_id.clone(),
            error_type: error_type.clone(),
            tool_name: tool_name.clone(),
            agent_name: agent_name.clone(),
            response_id: response_id.clone(),
            service_tier: service_tier.clone(),
            input_messages: Vec::new(),
            output_messages: Vec::new(),
        }
    }
}

/// A span event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SpanEvent {
    /// Event time.
    pub time_unix_nano: u64,
    /// Event name.
    pub name: String,
    /// Event attributes.
    pub attributes: Attributes,
}

/// A link to another span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanLink {
    /// Linked trace.
    pub trace_id: TraceId,
    /// Linked span.
    pub span_id: SpanId,
    /// Link attributes.
    pub attributes: Attributes,
}

/// One span, normalized, with everything the sender sent kept beside the typed fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Span {
    /// Tenant.
    pub project: String,
    /// Trace id.
    pub trace_id: TraceId,
    /// Span id.
    pub span_id: SpanId,
    /// Parent span id; `None` for a root.
    pub parent_span_id: Option<SpanId>,
    /// Span name.
    pub name: String,
    /// `service.name` of the resource.
    pub service: String,
    /// Start, Unix nanoseconds.
    pub start_unix_nano: u64,
    /// End, Unix nanoseconds.
    pub end_unix_nano: u64,
    /// OTLP span kind (0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub otel_kind: i32,
    /// Status.
    pub status: StatusCode,
    /// Status message.
    pub status_message: String,
    /// Normalized kind.
    pub kind: SpanKind,
    /// GenAI fields.
    pub gen_ai: GenAi,
    /// Token usage on the llmtrace convention.
    pub usage: Usage,
    /// Whether this span's usage is a real call's own usage (false for aggregate spans such as an
    /// agent span that sums its children). Decided by the normalizer; the store adds the rule for
    /// nested call spans of one call.
    pub counts_usage: bool,
    /// Cost: computed by the pricing stage, reported by the client, or unknown.
    pub cost: SpanCost,
    /// The span is not finished yet (a LangSmith run posted but not yet patched, a Langfuse
    /// observation created but not yet updated): a later copy of the same span replaces it.
    pub incomplete: bool,
    /// Span attributes as sent (long values truncated with a marker).
    pub attributes: Attributes,
    /// Resource attributes as sent.
    /// Shared by every span of one OTLP resource (cheap to clone, stored once per resource).
    pub resource_attributes: std::sync::Arc<Attributes>,
    /// Instrumentation scope name.
    pub scope_name: String,
    /// Instrumentation scope version.
    pub scope_version: String,
    /// Span events.
    pub events: Vec<SpanEvent>,
    /// Span links.
    pub links: Vec<SpanLink>,
}

impl Span {
    /// Truncates the strings of this span's attributes, events and links, and its status
    /// message, to `max` bytes each with a visible marker (`--max-attribute-bytes`); the
    /// receivers whose conversion did not already do so (JSON wires) call it in the ingest path.
    pub fn truncate_strings(&mut self, max: usize) {
        self.attributes.truncate_strings(max);
        for e in &mut self.events {
            e.attributes.truncate_strings(max);
        }
        for l in &mut self.links {
            l.attributes.truncate_strings(max);
        }
        if self.status_message.len() > max {
            self.status_message =
                crate::truncate_str(std::mem::take(&mut self.status_message), max);
        }
    }

    /// An estimate of the memory this span holds: the struct, its strings, attributes, events
    /// and links, and the messages extracted from its attributes (counted as a second copy of
    /// the attribute content). The ingest queue's byte bound counts this, so a body of tiny
    /// values is measured by what it decodes into, not by its wire size.
    pub fn memory_estimate(&self) -> usize {
        let strings = [
            &self.project,
            &self.name,
            &self.service,
            &self.status_message,
            &self.scope_name,
            &self.scope_version,
        ]
        .iter()
        .fold(0usize, |n, s| n.saturating_add(s.len()));
        let attributes = self.attributes.memory_estimate();
        let has_messages = !self.gen_ai.input_messages.is_empty()
            || !self.gen_ai.output_messages.is_empty()
            || !self.gen_ai.system_instructions.is_empty();
        let events = self.events.iter().fold(0usize, |n, e| {
            n.saturating_add(std::mem::size_of::<SpanEvent>())
                .saturating_add(e.name.len())
                .saturating_add(e.attributes.memory_estimate())
        });
        let links = self.links.iter().fold(0usize, |n, l| {
            n.saturating_add(std::mem::size_of::<SpanLink>())
                .saturating_add(l.attributes.memory_estimate())
        });
        std::mem::size_of::<Span>()
            .saturating_add(strings)
            .saturating_add(attributes)
            .saturating_add(if has_messages { attributes } else { 0 })
            .saturating_add(events)
            .saturating_add(links)
    }

    /// Duration in nanoseconds (zero when the end precedes the start).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// The model for grouping and pricing: the response model, else the request model.
    pub fn model(&self) -> Option<&str> {
        self.gen_ai
            .response_model
            .as_deref()
            .or(self.gen_ai.request_model.as_deref())
    }

    /// Whether the span failed (status error, or an error type was recorded).
    pub fn is_error(&self) -> bool {
        self.status == StatusCode::Error
    }
}
