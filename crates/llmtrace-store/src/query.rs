//! Query and result types shared by every backend.

use llmtrace_model::{Span, TraceId};

/// The largest page `list_traces` returns.
pub const MAX_PAGE_SIZE: usize = 500;

/// Order of a trace search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceSort {
    /// Newest first (by start time).
    #[default]
    Time,
    /// Costliest first.
    Cost,
    /// Longest first (latest span end minus earliest span start).
    Duration,
}

impl TraceSort {
    /// Parses the API name (`time`, `cost`, `duration`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "time" => Some(TraceSort::Time),
            "cost" => Some(TraceSort::Cost),
            "duration" => Some(TraceSort::Duration),
            _ => None,
        }
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceSort::Time => "time",
            TraceSort::Cost => "cost",
            TraceSort::Duration => "duration",
        }
    }

    /// The sort key of a trace under this order (what a cursor holds).
    pub fn key_of(self, t: &TraceSummary) -> i64 {
        match self {
            TraceSort::Time => i64::try_from(t.start_unix_nano).unwrap_or(i64::MAX),
            TraceSort::Cost => t.cost_pico,
            TraceSort::Duration => {
                i64::try_from(t.end_unix_nano.saturating_sub(t.start_unix_nano)).unwrap_or(i64::MAX)
            }
        }
    }
}

/// Position after the last trace of a page: its sort key (start time, cost or duration, by the
/// query's sort, see [`TraceSort::key_of`]) and its trace id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceCursor {
    /// Sort key of the last trace returned.
    pub sort_key: i64,
    /// Id of the last trace returned.
    pub trace_id: TraceId,
}

impl TraceCursor {
    /// Opaque string form: `<sort key>_<trace id hex>`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.sort_key, self.trace_id.to_hex())
    }

    /// Parses [`TraceCursor::encode`]'s form.
    pub fn decode(s: &str) -> Option<Self> {
        let (key, id) = s.split_once('_')?;
        Some(TraceCursor {
            sort_key: key.parse().ok()?,
            trace_id: TraceId::from_hex(id).ok()?,
        })
    }
}

/// Filters and page of a trace search. Empty filters match everything.
#[derive(Debug, Clone, Default)]
pub struct TraceQuery {
    /// Tenant.
    pub project: String,
    /// Traces with a span of this service.
    pub service: Option<String>,
    /// Traces with a model call that asked for or was answered by this model.
    pub model: Option<String>,
    /// Traces with a model call of this canonical provider.
    pub provider: Option<String>,
    /// Only traces with at least one error span.
    pub errors_only: bool,
    /// Traces of this user.
    pub user_id: Option<String>,
    /// Traces of this session.
    pub session_id: Option<String>,
    /// Traces starting at or after this time.
    pub since_unix_nano: Option<u64>,
    /// Traces starting before this time.
    pub until_unix_nano: Option<u64>,
    /// Traces lasting at least this long.
    pub min_duration_nanos: Option<u64>,
    /// Traces costing at least this much (effective cost), pico-dollars.
    pub min_cost_pico: Option<i64>,
    /// Full-text search: traces with a span whose prompts or completions contain every word of
    /// this text (see [`crate::search`] for the matching rule, the same for every backend).
    pub text: Option<String>,
    /// Order.
    pub sort: TraceSort,
    /// Page size, at most [`MAX_PAGE_SIZE`].
    pub limit: usize,
    /// Continue after this position.
    pub cursor: Option<TraceCursor>,
    /// Only traces with a score matching each of these (on the trace or one of its spans).
    pub scores: Vec<ScoreFilter>,
    /// Only traces without any score of this name (on the trace or one of its spans): an
    /// annotation queue.
    pub without_score: Option<String>,
}

/// A trace list filter on scores: the trace (or one of its spans) has a score named `name`,
/// with a value within `min..=max` and the label `label` when those are set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreFilter {
    /// Score name.
    pub name: String,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Label (`string_value`).
    pub label: Option<String>,
}

/// Per-trace rollup as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceSummary {
    /// Trace id.
    pub trace_id: TraceId,
    /// Name of the root span (a span without parent); the earliest span's name until the root
    /// has arrived.
    pub root_name: String,
    /// Whether a span without parent has been stored.
    pub has_root: bool,
    /// Service of the root span (or of the earliest span until the root arrives).
    pub service: String,
    /// Earliest span start.
    pub start_unix_nano: u64,
    /// Latest span end.
    pub end_unix_nano: u64,
    /// Stored spans.
    pub span_count: u64,
    /// Model calls that count (see `TraceRollup`).
    pub llm_call_count: u64,
    /// Input tokens of counted calls (cache included).
    pub input_tokens: u64,
    /// Output tokens of counted calls (reasoning included).
    pub output_tokens: u64,
    /// Cache-read tokens of counted calls.
    pub cache_read_tokens: u64,
    /// Cache-write tokens of counted calls.
    pub cache_write_tokens: u64,
    /// Reasoning tokens of counted calls.
    pub reasoning_tokens: u64,
    /// Spans with status error.
    pub error_count: u64,
    /// Counted model calls (llm and embedding spans that count, see [`crate::TraceRollup`])
    /// whose status is error: one per failed call, however many enclosing spans also failed.
    pub failed_call_count: u64,
    /// Effective cost of counted calls, pico-dollars (exact).
    pub cost_pico: i64,
    /// Counted calls whose cost is unknown: the trace cost is then a lower bound.
    pub unpriced_span_count: u64,
    /// Counted calls whose cost came from the client rather than the price table.
    pub reported_cost_span_count: u64,
    /// User of the trace.
    pub user_id: Option<String>,
    /// Session of the trace.
    pub session_id: Option<String>,
}

/// One stored span and whether its usage counts toward totals.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSpan {
    /// The span as normalized at ingest.
    pub span: Span,
    /// Whether the span's usage is counted in the trace totals.
    pub usage_counted: bool,
}

/// One trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceDetail {
    /// The rollup.
    pub summary: TraceSummary,
    /// Its spans, ordered by start time.
    pub spans: Vec<StoredSpan>,
    /// Scores given to the trace or its spans, oldest first.
    pub scores: Vec<llmtrace_model::Score>,
    /// Log records correlated to the trace (by trace id), oldest first.
    pub logs: Vec<llmtrace_model::LogRecord>,
}

/// A page of traces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TracePage {
    /// The traces, newest first.
    pub traces: Vec<TraceSummary>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<TraceCursor>,
}

/// Dimension of [`StatsQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// Response model, else request model.
    #[default]
    Model,
    /// Canonical provider.
    Provider,
    /// Service.
    Service,
    /// Operation.
    Operation,
}

impl GroupBy {
    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "model" => Some(GroupBy::Model),
            "provider" => Some(GroupBy::Provider),
            "service" => Some(GroupBy::Service),
            "operation" => Some(GroupBy::Operation),
            _ => None,
        }
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Service => "service",
            GroupBy::Operation => "operation",
        }
    }
}

/// A statistics query over model calls.
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    /// Tenant.
    pub project: String,
    /// Grouping dimension.
    pub group_by: GroupBy,
    /// Calls starting at or after this time.
    pub since_unix_nano: Option<u64>,
    /// Calls starting before this time.
    pub until_unix_nano: Option<u64>,
    /// Also group by time: calls fall into buckets of this many nanoseconds aligned to the
    /// Unix epoch (bucket start = start time minus start time modulo the width).
    pub bucket_nanos: Option<u64>,
    /// Only calls of this service.
    pub service: Option<String>,
    /// Only calls of this model (response model, else request model).
    pub model: Option<String>,
    /// Only calls of this canonical provider.
    pub provider: Option<String>,
}

impl StatsQuery {
    /// The bucket a call starting at `start_unix_nano` falls into, when the query has buckets.
    pub fn bucket_of(&self, start_unix_nano: u64) -> Option<u64> {
        self.bucket_nanos
            .and_then(|w| start_unix_nano.checked_rem(w))
            .map(|r| start_unix_nano.saturating_sub(r))
    }
}

/// Statistics of one group. Groups come ordered by bucket, then key (`None` first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsGroup {
    /// Start of the group's time bucket, when the query asked for buckets.
    pub bucket_start_unix_nano: Option<u64>,
    /// Group value (`None` when the calls carry none).
    pub key: Option<String>,
    /// Counted model calls.
    pub calls: u64,
    /// Calls with status error.
    pub errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Cache-write tokens.
    pub cache_write_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Effective cost of the calls, pico-dollars (exact).
    pub cost_pico: i64,
    /// Calls whose cost is unknown.
    pub unpriced_calls: u64,
    /// Latency percentiles in milliseconds: nearest rank, exact or read from mergeable
    /// sketches within 1 % of the exact value ([`crate::LatencySketch`]).
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

impl StatsGroup {
    /// Sets the latency percentiles from the group's merged sketch.
    pub fn set_percentiles(&mut self, latency: &crate::LatencySketch) {
        self.p50_ms = latency.quantile_ns(0.50) / 1e6;
        self.p95_ms = latency.quantile_ns(0.95) / 1e6;
        self.p99_ms = latency.quantile_ns(0.99) / 1e6;
    }
}

/// How [`TraceGroupQuery`] groups traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceGroupBy {
    /// By session (a conversation across traces).
    #[default]
    Session,
    /// By user.
    User,
}

impl TraceGroupBy {
    /// The API name (`session`, `user`).
    pub fn as_str(self) -> &'static str {
        match self {
            TraceGroupBy::Session => "session",
            TraceGroupBy::User => "user",
        }
    }
}

/// Traces grouped by session or user: the groups whose traces started in the time range, most
/// recently active first (latest trace start, then key descending).
#[derive(Debug, Clone, Default)]
pub struct TraceGroupQuery {
    /// Tenant.
    pub project: String,
    /// Grouping.
    pub by: TraceGroupBy,
    /// Traces starting at or after this time.
    pub since_unix_nano: Option<u64>,
    /// Traces starting before this time.
    pub until_unix_nano: Option<u64>,
    /// Groups to skip (pagination).
    pub offset: usize,
    /// Page size, at most [`MAX_PAGE_SIZE`].
    pub limit: usize,
}

/// The totals of one session's or user's traces in a [`TraceGroupQuery`]'s range. Traces
/// without a session (user) belong to no group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceGroup {
    /// The session or user id.
    pub key: String,
    /// For a session: its user (the greatest user id among its traces); for a user: `None`.
    pub user_id: Option<String>,
    /// Traces.
    pub trace_count: u64,
    /// Earliest trace start.
    pub first_start_unix_nano: u64,
    /// Latest trace start.
    pub last_start_unix_nano: u64,
    /// Latest span end.
    pub last_end_unix_nano: u64,
    /// Spans.
    pub span_count: u64,
    /// Counted model calls.
    pub llm_call_count: u64,
    /// Input tokens of counted calls.
    pub input_tokens: u64,
    /// Output tokens of counted calls.
    pub output_tokens: u64,
    /// Cache-read tokens of counted calls.
    pub cache_read_tokens: u64,
    /// Error spans.
    pub error_count: u64,
    /// Effective cost, pico-dollars (exact).
    pub cost_pico: i64,
    /// Counted calls without a known cost.
    pub unpriced_span_count: u64,
}

/// Nearest-rank percentile of an ascending slice (`q` in 0..=1); 0 for an empty slice.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ceil_to_usize(q * sorted.len() as f64);
    sorted
        .get(rank.clamp(1, sorted.len()).saturating_sub(1))
        .copied()
        .unwrap_or(0.0)
}

/// `x` rounded up to a whole count; negative and NaN give 0, beyond `usize::MAX` saturates.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "float to int `as` saturates, NaN -> 0"
)]
fn ceil_to_usize(x: f64) -> usize {
    x.ceil() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn cursor_round_trip() {
        let c = TraceCursor {
            sort_key: -42,
            trace_id: TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        };
        assert_eq!(TraceCursor::decode(&c.encode()), Some(c));
        assert_eq!(TraceCursor::decode("x_y"), None);
    }
}
