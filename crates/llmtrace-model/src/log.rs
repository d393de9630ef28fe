//! OTLP log records, kept so GenAI content sent as events (older conventions, OpenLIT) is not lost.

use crate::{AttrValue, Attributes, SpanId, TraceId};
use serde::{Deserialize, Serialize};

/// One log record as received, with its resource and scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LogRecord {
    /// Tenant.
    pub project: String,
    /// Event time (falls back to the observed time when the sender left it zero).
    pub time_unix_nano: u64,
    /// Severity number (OTLP enum value).
    pub severity_number: i32,
    /// Severity text.
    pub severity_text: String,
    /// Event name (OTLP `event_name`, or the `event.name` attribute).
    pub event_name: String,
    /// Correlated trace, when given.
    pub trace_id: Option<TraceId>,
    /// Correlated span, when given.
    pub span_id: Option<SpanId>,
    /// The body.
    pub body: Option<AttrValue>,
    /// Record attributes.
    pub attributes: Attributes,
    /// Resource attributes.
    pub resource_attributes: Attributes,
    /// Service name from the resource.
    pub service: String,
    /// Instrumentation scope name.
    pub scope_name: String,
}
