//! Storage traits of llmtrace, with their contracts written on them, the query types the API and
//! UI need, the per-trace rollup rules every engine applies, and (feature `testsuite`) the
//! conformance suite every backend must pass.
//!
//! The traits are shaped by the queries the product needs, not by one engine: SQLite is the
//! default backend, ClickHouse comes next, and both answer these same calls.

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap
    )
)]

mod annotations;
mod error;
mod merge;
pub mod messages;
mod phases;
mod query;
mod rollup;
pub mod rollup_plan;
pub mod search;
mod sketch;
pub mod span_detail;
#[cfg(feature = "testsuite")]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "test code (the conformance suite, run only by backends' tests): its fixtures are \
              fixed and a panic is a failed assertion"
)]
pub mod testsuite;

pub use annotations::{
    group_scores, AnnotationStore, Dataset, DatasetItem, ScoreConfig, ScoreName, ScoreStatsGroup,
    ScoredDims, MAX_LABELS,
};
pub use error::StoreError;
pub use merge::{merge_incomplete, INCOMPLETE_MARKERS};
pub use phases::WritePhases;
pub use query::{
    percentile, GroupBy, ScoreFilter, StatsGroup, StatsQuery, StoredSpan, TraceCursor, TraceDetail,
    TraceGroup, TraceGroupBy, TraceGroupQuery, TracePage, TraceQuery, TraceSort, TraceSummary,
    MAX_PAGE_SIZE,
};
pub use rollup::{
    is_provider_sdk_span, take_usage_from, ResponseClaimKey, RootKey, TraceRollup, UsageAuthority,
    UsageSourceKey, UsageTotals, CHUNK_COUNTING_SCOPES, GATEWAY_SCOPES, PROVIDER_SDK_SCOPES,
};
pub use sketch::{bin_of, value_of, LatencySketch, RELATIVE_ACCURACY};

use async_trait::async_trait;
use llmtrace_model::{LogRecord, Money, Score, Span, SpanCost, SpanId, TraceId};

/// Everything the pipeline hands to the store in one group commit.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    /// Spans, any order, any trace, possibly duplicates of stored ones.
    pub spans: Vec<Span>,
    /// Log records.
    pub logs: Vec<LogRecord>,
    /// Scores; a score with the id of a stored one (same project) replaces it.
    pub scores: Vec<Score>,
}

impl WriteBatch {
    /// Appends another batch.
    pub fn extend(&mut self, other: WriteBatch) {
        self.spans.extend(other.spans);
        self.logs.extend(other.logs);
        self.scores.extend(other.scores);
    }
}

/// What a write did with one span of its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanFate {
    /// A repeat of a stored span (a retried delivery): nothing changed.
    Duplicate,
    /// Newly stored, or replaced a stored incomplete copy; not a newly counted call.
    Stored,
    /// A complete model call that the write newly counted (see [`TraceRollup`]): the spans the
    /// metrics count, each call once. Not set for a call that took over the count of a wrapper
    /// already counted (the call was counted then), nor for an incomplete copy (counted when
    /// its complete copy arrives), nor for a wrapper of a stored call.
    CountedCall,
}

/// A trace's totals right after a write touched it (per-trace budgets read them).
#[derive(Debug, Clone, PartialEq)]
pub struct TouchedTrace {
    /// Tenant.
    pub project: String,
    /// The trace's summary after the write.
    pub summary: TraceSummary,
}

/// What a write did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WriteOutcome {
    /// Spans newly stored.
    pub spans_written: u64,
    /// Spans already stored under the same (project, trace_id, span_id), left as they were.
    pub spans_duplicate: u64,
    /// Log records stored.
    pub logs_written: u64,
    /// Scores stored (new or replacing one with the same id).
    pub scores_written: u64,
    /// One entry per span of the batch, in batch order.
    pub span_fates: Vec<SpanFate>,
    /// Every trace the batch's spans touched, with its totals after the write.
    pub traces: Vec<TouchedTrace>,
    /// Changes to calls counted before this write: the count of a call moved to another span
    /// (an inner call under its wrapper, a preferred copy of the same response), or the usage a
    /// counted call carries changed (a copy with more authority arrived, see [`TraceRollup`]).
    /// Metrics that already counted the call through the old span follow these.
    pub call_corrections: Vec<CallCorrection>,
    /// Spans of the batch that replaced a stored incomplete copy, as stored after the merge
    /// ([`merge_incomplete`]: what the new copy lacked taken from the old one, re-priced): the
    /// batch index and the stored span. Metrics observe these, not the batch's copy.
    pub merged_spans: Vec<(usize, Span)>,
}

impl WriteOutcome {
    /// Records the fate of the batch's next span (its entry in `span_fates` and the counts).
    pub fn record(&mut self, fate: SpanFate) {
        match fate {
            SpanFate::Duplicate => self.spans_duplicate = self.spans_duplicate.saturating_add(1),
            SpanFate::Stored | SpanFate::CountedCall => {
                self.spans_written = self.spans_written.saturating_add(1);
            }
        }
        self.span_fates.push(fate);
    }
}

/// A span of a project, by its ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef {
    /// Trace id.
    pub trace_id: TraceId,
    /// Span id.
    pub span_id: SpanId,
}

impl CallRef {
    /// The ids of a span.
    pub fn of(span: &Span) -> Self {
        CallRef {
            trace_id: span.trace_id,
            span_id: span.span_id,
        }
    }
}

/// A change to a call counted (complete) before the write: see [`WriteOutcome::call_corrections`].
#[derive(Debug, Clone, PartialEq)]
pub struct CallCorrection {
    /// Tenant.
    pub project: String,
    /// The span that counted the call before the write.
    pub was: CallRef,
    /// The span that counts it now (the same span when only its usage changed); `None` when
    /// the call is counted through another span that was counted already (a wrapper whose inner
    /// call lost its response to a copy counted elsewhere).
    pub now: Option<CallRef>,
    /// The usage and cost the call counts with now.
    pub usage: UsageTotals,
}

/// Writes spans.
///
/// Contract, for every implementation:
/// - **Durable on success.** `Ok` means every span and log of the batch is stored and survives a
///   crash or power loss from then on. The pipeline acknowledges clients only after `Ok`.
/// - **Atomic.** On `Err` nothing of the batch is visible; the caller may retry the whole batch.
/// - **Idempotent** on (project, trace_id, span_id): the first stored copy stays, a repeat is
///   counted in `spans_duplicate` and changes no total. The one exception: a copy stored with
///   `incomplete` set is replaced by the next copy of the same span, merged with it by
///   [`merge_incomplete`] (what the new copy lacks is kept), whose contribution to the trace
///   totals then replaces the old one; once stored complete, a span is final.
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

    /// Figures about the store itself for `/metrics`: its size and the traces still without a
    /// root span whose latest span ended before `orphan_before_unix_nano` (all projects).
    async fn health(&self, orphan_before_unix_nano: u64) -> Result<StoreHealth, StoreError>;

    /// Per-group statistics of model calls (llm and embedding spans that count, see
    /// [`TraceRollup`]) started in the query's time range.
    async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError>;

    /// Traces grouped by session or user, with their totals (see [`TraceGroupQuery`]).
    async fn trace_groups(&self, query: &TraceGroupQuery) -> Result<Vec<TraceGroup>, StoreError>;
}

/// Figures about a store (see [`TraceReader::health`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreHealth {
    /// Bytes on disk, when the engine can tell.
    pub size_bytes: Option<u64>,
    /// Traces without a root span whose spans all ended before the given time: a parent that
    /// never arrived, or context lost between processes or tasks.
    pub orphan_traces: u64,
}

/// Recomputes the computed cost of stored spans from a pricing function (after a price change
/// or fix), in batches, while ingest goes on.
///
/// Contract: only `computed`, `price_id`, `price_effective_from` and `unpriced` of each span's
/// cost change (a reported cost is kept); trace rollups follow; running it twice with the same
/// pricing changes nothing the second time; with `dry_run` nothing is written.
#[async_trait]
pub trait CostRecomputer: Send + Sync {
    /// Recomputes the costs of model-call spans matching `req`.
    async fn recompute_costs(
        &self,
        req: &RecomputeRequest,
        pricer: Pricer,
    ) -> Result<RecomputeReport, StoreError>;

    /// Models seen on model calls without a price, most recent first.
    async fn unpriced_models(&self, project: &str) -> Result<Vec<UnpricedModel>, StoreError>;
}

/// Prices one span (the pricing stage, handed to the store so the store needs no price table).
pub type Pricer = std::sync::Arc<dyn Fn(&Span) -> SpanCost + Send + Sync + 'static>;

/// Which spans a cost recomputation looks at.
#[derive(Debug, Clone, Default)]
pub struct RecomputeRequest {
    /// Tenant.
    pub project: String,
    /// Spans starting at or after this time.
    pub since_unix_nano: Option<u64>,
    /// Spans of this model (response model, else request model).
    pub model: Option<String>,
    /// Compute and report, write nothing.
    pub dry_run: bool,
    /// Spans per transaction (ingest runs between batches).
    pub batch_spans: usize,
}

/// What a cost recomputation did (or would do, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecomputeReport {
    /// Model-call spans looked at.
    pub spans_examined: u64,
    /// Spans whose cost changed.
    pub spans_changed: u64,
    /// Sum of the examined spans' effective costs before.
    pub total_before: Money,
    /// Sum after.
    pub total_after: Money,
    /// Examined spans without a known cost, before.
    pub unpriced_before: u64,
    /// After.
    pub unpriced_after: u64,
}

/// A model seen without a price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpricedModel {
    /// The model (response model, else request model).
    pub model: String,
    /// Its canonical provider.
    pub provider: Option<String>,
    /// Spans without a price.
    pub spans: u64,
    /// Start of the latest such span.
    pub last_seen_unix_nano: u64,
}

/// A complete backend.
pub trait Store: SpanWriter + TraceReader + CostRecomputer + AnnotationStore {}
impl<T: SpanWriter + TraceReader + CostRecomputer + AnnotationStore> Store for T {}
