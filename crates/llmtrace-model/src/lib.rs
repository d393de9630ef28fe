//! The normalized span model: one shape for every source (OTLP, Langfuse, LangSmith) and every
//! attribute dialect. Plain data, no IO, no async.
//!
//! The token convention is defined here, once, in [`Usage`]: `input` includes cached tokens and
//! `output` includes reasoning tokens, as the OpenTelemetry GenAI conventions say. Every dialect
//! converts its numbers to that meaning before they reach this type.

mod attr;
mod ids;
mod log;
mod message;
mod money;
mod score;
mod span;
pub mod time;

pub use attr::{truncate_str, AttrValue, Attributes, KeyValue};
pub use ids::{IdError, SpanId, TraceId};
pub use log::LogRecord;
pub use message::{Message, MessagePart};
pub use money::{CostSource, Money, SpanCost, PICO_PER_USD};
pub use score::{digest_id, score_from_api_json, Score};
pub use span::{GenAi, RequestParams, Span, SpanEvent, SpanKind, SpanLink, StatusCode, Usage};

/// The project (tenant) used when authentication is off.
pub const DEFAULT_PROJECT: &str = "default";
