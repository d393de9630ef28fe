//! Storage traits of llmtrace, with their contracts written on them, the query types the API and
//! UI need, the per-trace rollup rules every engine applies, and (feature `testsuite`) the
//! conformance suite every backend must pass.
//!
//! The traits are shaped by the queries the product needs, not by one engine: SQLite is the
//! default backend, ClickHouse comes next, and both answer these same calls.

mod error;
mod query;
mod rollup;
#[cfg(feature = "testsuite")]
pub mod testsuite;

pub use error::StoreError;
pub use query::{
    percentile, GroupBy, StatsGroup, StatsQuery, StoredSpan, TraceCursor, TraceDetail, TracePage,
    TraceQuery, TraceSummary, MAX_PAGE_SIZE,
};
pub use rollup::{RootKey, TraceRollup, UsageTotals};

use async_trait::async_trait;
use llmtrace_model::{LogRecord, Span, TraceId};

/// Everything the pipeline hands to the store in one group commit.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    /// Spans, any order, any trace, possibly duplicates of stored ones.
    pub spans: Vec<Span>,
    /// Log records.
    pub logs: Vec<LogRecord>,
}

impl WriteBatch {
    /// Appends another batch.
    pub fn extend(&mut self, other: WriteBatch) {
        self.spans.extend(other.spans);
        self.logs.extend(other.logs);
    }
}

/// What a write did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Spans newly stored.
    pub spans_written: u64,
    /// Spans already stored under the same (project, trace_id, span_id), left as they were.
    pub spans_duplicate: u64,
    /// Log records stored.
    pub logs_written: u64,
}

/// Writes spans.
///
/// Contract, for every implementation:
/// - **Durable on success.** `Ok` means every span and log of the batch is stored and survives a
///   crash or power loss from then on. The pipeline acknowledges clients only after `Ok`.
/// - **Atomic.** On `Err` nothing of the batch is visible; the caller may retry the whole batch.
/// - **Idempotent** on (project, trace_id, span_id): the first stored copy stays, a repeat is
///   counted in `spans_duplicate` and changes no total.
/// - **Order-free.** Per-trace rollups are the same whatever order and grouping the spans of a
///   trace arrive in (children before parents, several batches minutes apart), following the
///   rules of [`TraceRollup`].
#[async_trait]
pub trait SpanWriter: Send + Sync {
    /// Stores a batch under the contract above. The batch is shared so that a retry does not
    /// copy it.
    async fn write(&self, batch: std::sync::Arc<WriteBatch>) -> Result<WriteOutcome, StoreError>;
}

/// Reads traces and aggregates.
///
/// Contract: a read sees every write that returned `Ok` before it started.
#[async_trait]
pub trait TraceReader: Send + Sync {
    /// Trace summaries, newest first (by trace start, then trace id), filtered and paginated.
    async fn list_traces(&self, query: &TraceQuery) -> Result<TracePage, StoreError>;

    /// One trace with all its stored spans (ordered by start time), or `None` when no span of
    /// it is stored in this project.
    async fn get_trace(
        &self,
        project: &str,
        trace_id: TraceId,
    ) -> Result<Option<TraceDetail>, StoreError>;

    /// Per-group statistics of model calls (llm and embedding spans that count, see
    /// [`TraceRollup`]) started in the query's time range.
    async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError>;
}

/// A complete backend.
pub trait Store: SpanWriter + TraceReader {}
impl<T: SpanWriter + TraceReader> Store for T {}
