//! Scores (evaluations): a named value attached to a trace or one of its spans, as Langfuse
//! SDKs send them (`POST /api/public/scores`).

use serde::{Deserialize, Serialize};

/// One score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Score {
    /// Tenant.
    pub project: String,
    /// Client-chosen id; a score sent again with the same id replaces the stored one.
    pub id: String,
    /// Trace scored (32 hex characters, as the OpenTelemetry-based SDKs send it).
    pub trace_id: String,
    /// Span (observation) scored, when the score is about one span (16 hex characters).
    pub observation_id: Option<String>,
    /// Score name (`correctness`, `user-feedback`, ...).
    pub name: String,
    /// Numeric value (NUMERIC and BOOLEAN scores).
    pub value: Option<f64>,
    /// Label (CATEGORICAL scores, and the label of BOOLEAN ones when sent).
    pub string_value: Option<String>,
    /// `NUMERIC`, `CATEGORICAL` or `BOOLEAN`.
    pub data_type: String,
    /// Free-text comment.
    pub comment: Option<String>,
    /// Where it came from (`API`, `EVAL`, `ANNOTATION`).
    pub source: String,
    /// Environment (`default`, `production`, ...).
    pub environment: Option<String>,
    /// When the score was given, Unix nanoseconds.
    pub timestamp_unix_nano: u64,
}
