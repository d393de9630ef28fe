//! The JSON view models of the API. Field names are a contract: later versions add fields and
//! never rename them (`docs/api.md`).

use crate::format_rfc3339_nanos;
use llmtrace_model::{Attributes, CostSource, Message, MessagePart, Money, RequestParams, Span};
use llmtrace_store::{StatsGroup, StoredSpan, TraceDetail, TraceGroup, TraceSummary};
use serde::{Deserialize, Serialize};

fn otel_kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// One trace in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummaryView {
    /// 32 lowercase hex characters.
    pub trace_id: String,
    /// Name of the root span (the earliest span's name while the root is missing).
    pub root_name: String,
    /// Whether the root span (a span without parent) has arrived.
    pub has_root: bool,
    /// Service of the root span.
    pub service: String,
    /// Earliest span start, RFC 3339 with nanoseconds.
    pub start_time: String,
    /// Latest span end.
    pub end_time: String,
    /// End minus start, milliseconds.
    pub duration_ms: f64,
    /// Stored spans.
    pub span_count: u64,
    /// Model calls counted once each.
    pub llm_call_count: u64,
    /// Input tokens (cache included).
    pub input_tokens: u64,
    /// Output tokens (reasoning included).
    pub output_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Cache-write tokens.
    pub cache_write_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Spans with status error (a failed call also fails its enclosing agent and step spans).
    pub error_count: u64,
    /// Counted model calls that failed: one per failed call.
    #[serde(default)]
    pub failed_call_count: u64,
    /// Cost of the counted model calls in USD (exact sum; reported costs win over computed);
    /// null when every counted call's cost is unknown (see [`known_cost_usd`]).
    pub cost_usd: Option<f64>,
    /// `computed`, `reported` or `mixed`: where the calls' costs came from; null without cost.
    pub cost_source: Option<String>,
    /// Counted model calls without a known cost (`cost_usd` is then a lower bound).
    pub unpriced_span_count: u64,
    /// User.
    pub user_id: Option<String>,
    /// Session.
    pub session_id: Option<String>,
    /// Scores of the trace and its spans, oldest first (in the trace list; the trace detail
    /// has them beside the summary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<ScoreView>,
}

/// A cost sum in USD, or `None` when there were calls and none of them had a known cost: an
/// unknown cost is not $0. With some calls priced, the sum of the known costs (a lower bound,
/// with the unpriced count beside it).
pub fn known_cost_usd(cost_pico: i64, calls: u64, unpriced_calls: u64) -> Option<f64> {
    (calls == 0 || unpriced_calls < calls).then(|| Money::from_pico(cost_pico).to_f64_usd())
}

fn trace_cost_source(s: &TraceSummary) -> Option<String> {
    let priced = s.llm_call_count.saturating_sub(s.unpriced_span_count);
    match (s.reported_cost_span_count, priced) {
        (_, 0) => None,
        (0, _) => Some("computed".into()),
        (r, p) if r >= p => Some("reported".into()),
        _ => Some("mixed".into()),
    }
}

impl From<&TraceSummary> for TraceSummaryView {
    fn from(s: &TraceSummary) -> Self {
        TraceSummaryView {
            trace_id: s.trace_id.to_hex(),
            root_name: s.root_name.clone(),
            has_root: s.has_root,
            service: s.service.clone(),
            start_time: format_rfc3339_nanos(s.start_unix_nano),
            end_time: format_rfc3339_nanos(s.end_unix_nano),
            duration_ms: ms(s.end_unix_nano.saturating_sub(s.start_unix_nano)),
            span_count: s.span_count,
            llm_call_count: s.llm_call_count,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cache_read_tokens: s.cache_read_tokens,
            cache_write_tokens: s.cache_write_tokens,
            reasoning_tokens: s.reasoning_tokens,
            error_count: s.error_count,
            failed_call_count: s.failed_call_count,
            cost_usd: known_cost_usd(s.cost_pico, s.llm_call_count, s.unpriced_span_count),
            cost_source: trace_cost_source(s),
            unpriced_span_count: s.unpriced_span_count,
            user_id: s.user_id.clone(),
            session_id: s.session_id.clone(),
            scores: Vec::new(),
        }
    }
}

/// `GET /api/traces`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceListView {
    /// Newest first.
    pub traces: Vec<TraceSummaryView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A span event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    /// Event name.
    pub name: String,
    /// Event time.
    pub time: String,
    /// Event attributes.
    pub attributes: Attributes,
}

/// A span link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkView {
    /// Linked trace.
    pub trace_id: String,
    /// Linked span.
    pub span_id: String,
    /// Link attributes.
    pub attributes: Attributes,
}

/// One span of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanView {
    /// 16 hex characters.
    pub span_id: String,
    /// Parent, null for a root.
    pub parent_span_id: Option<String>,
    /// Span name.
    pub name: String,
    /// llm, embedding, retriever, reranker, tool, agent, chain or span.
    pub kind: String,
    /// Service.
    pub service: String,
    /// OpenTelemetry span kind: unspecified, internal, server, client, producer or consumer.
    pub otel_span_kind: String,
    /// Start.
    pub start_time: String,
    /// End.
    pub end_time: String,
    /// Duration, milliseconds.
    pub duration_ms: f64,
    /// unset, ok or error.
    pub status: String,
    /// Status message.
    pub status_message: String,
    /// Canonical provider.
    pub provider: Option<String>,
    /// Operation.
    pub operation: Option<String>,
    /// Model asked for.
    pub request_model: Option<String>,
    /// Model that answered.
    pub response_model: Option<String>,
    /// Input tokens (cache included).
    pub input_tokens: Option<u64>,
    /// Output tokens (reasoning included).
    pub output_tokens: Option<u64>,
    /// Cache-read tokens.
    pub cache_read_tokens: Option<u64>,
    /// Cache-write tokens.
    pub cache_write_tokens: Option<u64>,
    /// Reasoning tokens.
    pub reasoning_tokens: Option<u64>,
    /// Whether this span's usage is counted in the trace totals.
    pub usage_counted: bool,
    /// Whether the span was stored before it finished (a run posted but not yet patched, a
    /// generation created but not yet ended); its next copy completes it.
    pub incomplete: bool,
    /// Effective cost in USD: the reported cost when there is one, else the computed one; null
    /// when unknown.
    pub cost_usd: Option<f64>,
    /// `computed` or `reported`.
    pub cost_source: Option<String>,
    /// Cost computed from usage and the price table.
    pub computed_cost_usd: Option<f64>,
    /// Cost reported by the client, shown as reported.
    pub reported_cost_usd: Option<f64>,
    /// Price entry that priced the span.
    pub price_id: Option<String>,
    /// `effective_from` of that entry.
    pub price_effective_from: Option<String>,
    /// A model call with usage whose model has no price.
    pub unpriced: bool,
    /// Request parameters.
    pub request_params: RequestParams,
    /// Finish reasons.
    pub finish_reasons: Vec<String>,
    /// Time to first token, milliseconds.
    pub time_to_first_token_ms: Option<f64>,
    /// Error class.
    pub error_type: Option<String>,
    /// User.
    pub user_id: Option<String>,
    /// Session.
    pub session_id: Option<String>,
    /// Tool name.
    pub tool_name: Option<String>,
    /// Agent name.
    pub agent_name: Option<String>,
    /// System instructions.
    pub system_instructions: Vec<MessagePart>,
    /// Messages sent.
    pub input_messages: Vec<Message>,
    /// Messages received.
    pub output_messages: Vec<Message>,
    /// Span attributes as sent.
    pub attributes: Attributes,
    /// Resource attributes as sent.
    pub resource_attributes: Attributes,
    /// Instrumentation scope name.
    pub scope_name: String,
    /// Events.
    pub events: Vec<EventView>,
    /// Links.
    pub links: Vec<LinkView>,
    /// Scores given to this span.
    #[serde(default)]
    pub scores: Vec<ScoreView>,
}

impl From<&StoredSpan> for SpanView {
    fn from(st: &StoredSpan) -> Self {
        let s: &Span = &st.span;
        let g = &s.gen_ai;
        SpanView {
            span_id: s.span_id.to_hex(),
            parent_span_id: s.parent_span_id.map(|p| p.to_hex()),
            name: s.name.clone(),
            kind: s.kind.as_str().to_string(),
            service: s.service.clone(),
            otel_span_kind: otel_kind_name(s.otel_kind).to_string(),
            start_time: format_rfc3339_nanos(s.start_unix_nano),
            end_time: format_rfc3339_nanos(s.end_unix_nano),
            duration_ms: ms(s.duration_nanos()),
            status: s.status.as_str().to_string(),
            status_message: s.status_message.clone(),
            provider: g.provider.clone(),
            operation: g.operation.clone(),
            request_model: g.request_model.clone(),
            response_model: g.response_model.clone(),
            input_tokens: s.usage.input,
            output_tokens: s.usage.output,
            cache_read_tokens: s.usage.cache_read,
            cache_write_tokens: s.usage.cache_write,
            reasoning_tokens: s.usage.reasoning,
            usage_counted: st.usage_counted,
            incomplete: st.span.incomplete,
            cost_usd: s.cost.effective().map(Money::to_f64_usd),
            cost_source: s.cost.source().map(|c| {
                match c {
                    CostSource::Computed => "computed",
                    CostSource::Reported => "reported",
                }
                .to_string()
            }),
            computed_cost_usd: s.cost.computed.map(Money::to_f64_usd),
            reported_cost_usd: s.cost.reported.map(Money::to_f64_usd),
            price_id: s.cost.price_id.clone(),
            price_effective_from: s.cost.price_effective_from.clone(),
            unpriced: s.cost.unpriced,
            request_params: g.params.clone(),
            finish_reasons: g.finish_reasons.clone(),
            time_to_first_token_ms: g.time_to_first_token_s.map(|t| t * 1000.0),
            error_type: g.error_type.clone(),
            user_id: g.user_id.clone(),
            session_id: g.session_id.clone(),
            tool_name: g.tool_name.clone(),
            agent_name: g.agent_name.clone(),
            system_instructions: g.system_instructions.clone(),
            input_messages: g.input_messages.clone(),
            output_messages: g.output_messages.clone(),
            attributes: s.attributes.clone(),
            resource_attributes: (*s.resource_attributes).clone(),
            scope_name: s.scope_name.clone(),
            events: s
                .events
                .iter()
                .map(|e| EventView {
                    name: e.name.clone(),
                    time: format_rfc3339_nanos(e.time_unix_nano),
                    attributes: e.attributes.clone(),
                })
                .collect(),
            links: s
                .links
                .iter()
                .map(|l| LinkView {
                    trace_id: l.trace_id.to_hex(),
                    span_id: l.span_id.to_hex(),
                    attributes: l.attributes.clone(),
                })
                .collect(),
            scores: Vec::new(),
        }
    }
}

/// A score (evaluation) of a trace or span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreView {
    /// Client-chosen id.
    pub id: String,
    /// Score name.
    pub name: String,
    /// Numeric value (NUMERIC, BOOLEAN).
    pub value: Option<f64>,
    /// Label (CATEGORICAL, BOOLEAN).
    pub string_value: Option<String>,
    /// `NUMERIC`, `CATEGORICAL` or `BOOLEAN`.
    pub data_type: String,
    /// Comment.
    pub comment: Option<String>,
    /// `API`, `EVAL`, `ANNOTATION`.
    pub source: String,
    /// Who gave it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The span scored, if the score is about one span.
    pub observation_id: Option<String>,
    /// When it was given.
    pub timestamp: String,
}

impl From<&llmtrace_model::Score> for ScoreView {
    fn from(s: &llmtrace_model::Score) -> Self {
        ScoreView {
            id: s.id.clone(),
            name: s.name.clone(),
            value: s.value,
            string_value: s.string_value.clone(),
            data_type: s.data_type.clone(),
            comment: s.comment.clone(),
            source: s.source.clone(),
            author: s.author.clone(),
            observation_id: s.observation_id.clone(),
            timestamp: format_rfc3339_nanos(s.timestamp_unix_nano),
        }
    }
}

/// `GET /api/traces/{trace_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceDetailView {
    /// The summary.
    pub trace: TraceSummaryView,
    /// Spans ordered by start time.
    pub spans: Vec<SpanView>,
    /// Scores of the trace and of its spans, oldest first.
    #[serde(default)]
    pub scores: Vec<ScoreView>,
}

impl From<&TraceDetail> for TraceDetailView {
    fn from(d: &TraceDetail) -> Self {
        let mut spans: Vec<SpanView> = d.spans.iter().map(SpanView::from).collect();
        for s in &mut spans {
            s.scores = d
                .scores
                .iter()
                .filter(|sc| {
                    sc.observation_id
                        .as_deref()
                        .map(str::to_ascii_lowercase)
                        .as_deref()
                        == Some(s.span_id.as_str())
                })
                .map(ScoreView::from)
                .collect();
        }
        TraceDetailView {
            trace: TraceSummaryView::from(&d.summary),
            spans,
            scores: d.scores.iter().map(ScoreView::from).collect(),
        }
    }
}

/// Statistics of one group of model calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsGroupView {
    /// Start of the group's time bucket (only with `bucket`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_start: Option<String>,
    /// Group value (null when the calls carry none).
    pub key: Option<String>,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// errors / calls.
    pub error_rate: f64,
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
    /// Cost in USD (exact sum; reported costs win); null when no call of the group has a known
    /// cost.
    pub cost_usd: Option<f64>,
    /// Calls without a known cost.
    pub unpriced_calls: u64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
}

impl From<&StatsGroup> for StatsGroupView {
    fn from(g: &StatsGroup) -> Self {
        StatsGroupView {
            bucket_start: g.bucket_start_unix_nano.map(format_rfc3339_nanos),
            key: g.key.clone(),
            calls: g.calls,
            errors: g.errors,
            error_rate: if g.calls == 0 {
                0.0
            } else {
                g.errors as f64 / g.calls as f64
            },
            input_tokens: g.input_tokens,
            output_tokens: g.output_tokens,
            cache_read_tokens: g.cache_read_tokens,
            cache_write_tokens: g.cache_write_tokens,
            reasoning_tokens: g.reasoning_tokens,
            cost_usd: known_cost_usd(g.cost_pico, g.calls, g.unpriced_calls),
            unpriced_calls: g.unpriced_calls,
            p50_ms: g.p50_ms,
            p95_ms: g.p95_ms,
            p99_ms: g.p99_ms,
        }
    }
}

/// `GET /api/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsView {
    /// The grouping dimension.
    pub group_by: String,
    /// Lower time bound, if any.
    pub since: Option<String>,
    /// Upper time bound, if any.
    pub until: Option<String>,
    /// Bucket width in seconds (only with `bucket`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_seconds: Option<u64>,
    /// One entry per group (per bucket and group with `bucket`), ordered by bucket, then key.
    pub groups: Vec<StatsGroupView>,
    /// Score aggregates per group and score name (by score time), ordered by bucket, key, then
    /// name.
    #[serde(default)]
    pub scores: Vec<crate::ScoreStatsView>,
}

/// One session or user with the totals of its traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceGroupView {
    /// The session id (for `/api/sessions`) or user id (for `/api/users`).
    pub id: String,
    /// For a session, its user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Traces.
    pub trace_count: u64,
    /// Start of the first trace.
    pub first_trace_start: String,
    /// Start of the latest trace.
    pub last_trace_start: String,
    /// End of the latest span.
    pub last_end: String,
    /// Spans.
    pub span_count: u64,
    /// Model calls counted once each.
    pub llm_call_count: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Spans with status error.
    pub error_count: u64,
    /// Cost in USD (exact sum); null when no call of the group has a known cost.
    pub cost_usd: Option<f64>,
    /// Calls without a known cost (the cost is then a lower bound).
    pub unpriced_calls: u64,
}

impl From<&TraceGroup> for TraceGroupView {
    fn from(g: &TraceGroup) -> Self {
        TraceGroupView {
            id: g.key.clone(),
            user_id: g.user_id.clone(),
            trace_count: g.trace_count,
            first_trace_start: format_rfc3339_nanos(g.first_start_unix_nano),
            last_trace_start: format_rfc3339_nanos(g.last_start_unix_nano),
            last_end: format_rfc3339_nanos(g.last_end_unix_nano),
            span_count: g.span_count,
            llm_call_count: g.llm_call_count,
            input_tokens: g.input_tokens,
            output_tokens: g.output_tokens,
            cache_read_tokens: g.cache_read_tokens,
            error_count: g.error_count,
            cost_usd: known_cost_usd(g.cost_pico, g.llm_call_count, g.unpriced_span_count),
            unpriced_calls: g.unpriced_span_count,
        }
    }
}

/// `GET /api/sessions`, `GET /api/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceGroupListView {
    /// `session` or `user`.
    pub group_by: String,
    /// Most recently active first.
    pub groups: Vec<TraceGroupView>,
    /// `offset` of the next page, if there may be one.
    pub next_offset: Option<usize>,
}

/// A model seen without a price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnpricedModelView {
    /// Model name.
    pub model: String,
    /// Canonical provider.
    pub provider: Option<String>,
    /// Model-call spans without a price.
    pub spans: u64,
    /// Start of the latest one.
    pub last_seen: String,
}

impl From<&llmtrace_store::UnpricedModel> for UnpricedModelView {
    fn from(m: &llmtrace_store::UnpricedModel) -> Self {
        UnpricedModelView {
            model: m.model.clone(),
            provider: m.provider.clone(),
            spans: m.spans,
            last_seen: format_rfc3339_nanos(m.last_seen_unix_nano),
        }
    }
}

/// `GET /api/prices/unpriced`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnpricedListView {
    /// Most recently seen first.
    pub models: Vec<UnpricedModelView>,
}

/// `POST /api/pricing/recompute`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecomputeView {
    /// Model-call spans looked at.
    pub spans_examined: u64,
    /// Spans whose cost changed (or would, in a dry run).
    pub spans_changed: u64,
    /// Total effective cost of the examined spans before, USD (exact decimal string).
    pub total_before_usd: String,
    /// After.
    pub total_after_usd: String,
    /// Examined spans without a known cost before.
    pub unpriced_before: u64,
    /// After.
    pub unpriced_after: u64,
}

impl From<&llmtrace_store::RecomputeReport> for RecomputeView {
    fn from(r: &llmtrace_store::RecomputeReport) -> Self {
        RecomputeView {
            spans_examined: r.spans_examined,
            spans_changed: r.spans_changed,
            total_before_usd: r.total_before.to_decimal_string(),
            total_after_usd: r.total_after.to_decimal_string(),
            unpriced_before: r.unpriced_before,
            unpriced_after: r.unpriced_after,
        }
    }
}
