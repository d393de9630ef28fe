//! The metrics llmtrace derives from the spans it stores, and its metrics about itself, served
//! at `GET /metrics` (names, types, labels and units: `docs/metrics.md`).
//!
//! [`Metrics`] is a [`CommitObserver`]: the pipeline tells it about each durable commit, with
//! the fate of every span ([`SpanFate`]). A model call adds to the LLM metrics only when the
//! store newly counted it ([`SpanFate::CountedCall`]), so a retried delivery never counts twice
//! and the counting rule of trace totals (innermost call, no aggregates, incomplete copies
//! later) applies to the metrics too. The same commits feed the built-in alert evaluator.

mod exposition;
mod histogram;
mod labels;
mod scores;
mod settle;

pub use exposition::Format;
pub use labels::{OTHER, UNKNOWN};

use exposition::{Encoder, Kind};
use histogram::Histogram;
use labels::LabelLimiter;
use llmtrace_alerts::evaluator::Evaluator;
use llmtrace_alerts::{CallSample, TraceTotals};
use llmtrace_model::{AttrValue, Span};
use llmtrace_pipeline::{CommitObserver, PipelineStats};
use llmtrace_store::{CallRef, SpanFate, WriteBatch, WriteOutcome};
use settle::{CallObservation, PendingCalls};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Buckets of `llm_call_seconds`: LLM calls take from a fraction of a second to minutes.
pub const CALL_SECONDS_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];
/// Buckets of `llm_time_to_first_token_seconds`.
pub const TTFT_SECONDS_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
/// Buckets the GenAI semconv advises for `gen_ai.client.operation.duration` (and
/// `time_to_first_chunk`).
pub const GENAI_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// Buckets the GenAI semconv advises for `gen_ai.client.token.usage`.
pub const GENAI_TOKEN_BUCKETS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// Buckets of `llmtrace_commit_seconds`.
pub const COMMIT_SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Settings of the derived metrics.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// Distinct values kept per label (model, provider, operation, service, error type); later
    /// values are exported as `other`.
    pub max_label_values: usize,
    /// How long a counted call waits before it adds to the counters, so that every copy of it
    /// has arrived and the counters equal the store's totals (see `settle.rs`).
    pub settle: Duration,
}

/// Default of [`MetricsConfig::settle`]: OTel's batch span processor exports every 5 s.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(5);

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            max_label_values: 100,
            settle: DEFAULT_SETTLE,
        }
    }
}

/// Figures the server gathers at scrape time from the ingest path, the pipeline and the store.
#[derive(Debug, Clone, Default)]
pub struct ScrapeStats {
    /// Spans decoded and offered to the ingest path.
    pub spans_received: u64,
    /// Spans acknowledged as durably stored (retries included).
    pub spans_accepted: u64,
    /// Spans refused, by reason.
    pub spans_rejected: Vec<(&'static str, u64)>,
    /// Whole requests refused before their spans were read, by reason.
    pub requests_rejected: Vec<(&'static str, u64)>,
    /// Queue figures.
    pub queue: PipelineStats,
    /// Bytes the store takes on disk, when known.
    pub store_size_bytes: Option<u64>,
    /// Traces without a root span, first seen longer ago than the grace period, when known.
    pub orphan_traces: Option<u64>,
    /// Request handlers that panicked (answered 500).
    pub panics: u64,
    /// Times the HTTP connection limit was reached.
    pub connection_limit_hits: u64,
}

/// Label values of one call, after the cardinality limits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CallLabels {
    model: String,
    provider: String,
    operation: String,
    service: String,
}

/// The LLM and GenAI series of one project.
#[derive(Default)]
struct LlmState {
    calls: BTreeMap<CallLabels, u64>,
    call_seconds: BTreeMap<CallLabels, Histogram>,
    errors: BTreeMap<(String, String, String), u64>,
    tokens: BTreeMap<(String, String, &'static str), u64>,
    cost_pico: BTreeMap<(String, String), i128>,
    ttft: BTreeMap<(String, String), Histogram>,
    /// (operation, provider, request model, response model, error type).
    genai_duration: BTreeMap<[String; 5], Histogram>,
    /// (operation, provider, request model, response model).
    genai_ttfc: BTreeMap<[String; 4], Histogram>,
    /// (token type, operation, provider, request model, response model).
    genai_tokens: BTreeMap<[String; 5], Histogram>,
}

/// Which projects' series a scrape shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every project, and llmtrace's own (node-wide) metrics.
    All,
    /// One project's `llm_*` and `gen_ai_*` series (and its budget counter) only: what a
    /// project key sees.
    Project(&'a str),
}

impl Scope<'_> {
    fn shows(&self, project: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Project(p) => *p == project,
        }
    }
}

#[derive(Default)]
struct State {
    /// By project.
    llm: BTreeMap<String, LlmState>,
    unpriced: BTreeMap<(String, String), u64>,
    sdk_dropped: BTreeMap<String, u64>,
    /// Spans whose usage disagreed with its own total, by service.
    usage_total_mismatches: BTreeMap<String, u64>,
    /// Projects seen with budgets on, so their budget counter is exported at 0 before the first
    /// breach (Prometheus' `increase` cannot see a series that starts at 1).
    budget_projects: std::collections::BTreeSet<String>,
    spans_written: u64,
    spans_duplicate: u64,
    /// Traces and spans deleted by retention (the embedded store's passes).
    retention_traces: u64,
    retention_spans: u64,
    /// Traces and spans deleted, oldest first, to keep the store under `--max-disk-bytes`.
    disk_limit_traces: u64,
    disk_limit_spans: u64,
    /// Spans forwarded and dropped, by forwarding target (`--forward-otlp`).
    forwarded: BTreeMap<String, (u64, u64)>,
    logs_written: u64,
    scores_written: u64,
    commits: Option<Histogram>,
    /// Counted calls waiting for the settle window.
    pending: PendingCalls,
}

struct Limiters {
    model: LabelLimiter,
    provider: LabelLimiter,
    operation: LabelLimiter,
    service: LabelLimiter,
    error_type: LabelLimiter,
}

/// The derived metrics; one per server, fed by the pipeline.
pub struct Metrics {
    state: Mutex<(State, Limiters)>,
    /// Received scores (`scores.rs`).
    scores: Mutex<scores::ScoreCounters>,
    evaluator: Option<Evaluator>,
    budgets: bool,
    settle: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves counters that are still valid numbers.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    /// Empty metrics. With an evaluator, each counted call and (when `budgets`) each touched
    /// trace's totals are handed to it too.
    pub fn new(config: MetricsConfig, evaluator: Option<Evaluator>, budgets: bool) -> Self {
        let n = config.max_label_values.max(1);
        Metrics {
            state: Mutex::new((
                State::default(),
                Limiters {
                    model: LabelLimiter::new(n),
                    provider: LabelLimiter::new(n),
                    operation: LabelLimiter::new(n),
                    service: LabelLimiter::new(n),
                    error_type: LabelLimiter::new(n),
                },
            )),
            scores: Mutex::new(scores::ScoreCounters::new(n)),
            evaluator,
            budgets,
            settle: config.settle,
        }
    }

    /// Adds every call still held for the settle window to the counters now: at shutdown, or
    /// where the caller knows that every copy of every call has arrived.
    pub fn settle_all(&self) {
        let mut guard = lock(&self.state);
        let (s, l) = &mut *guard;
        Self::add_held_longer_than(s, l, Duration::ZERO, Instant::now());
    }

    /// Adds the calls held longer than the settle window to the counters.
    fn add_settled(&self, s: &mut State, l: &mut Limiters, now: Instant) {
        Self::add_held_longer_than(s, l, self.settle, now);
    }

    /// Adds the calls held longer than `settle` to the counters.
    fn add_held_longer_than(s: &mut State, l: &mut Limiters, settle: Duration, now: Instant) {
        for obs in s.pending.settled(settle, now) {
            Self::observe_call(s, l, &obs);
        }
    }

    /// Renders every metric in `format`, with the scrape-time figures in `stats`.
    pub fn render(&self, format: Format, stats: &ScrapeStats) -> String {
        self.render_scoped(format, stats, Scope::All)
    }

    /// Renders the metrics `scope` shows: everything, or one project's series only (no
    /// node-wide figures, no other project's series).
    pub fn render_scoped(&self, format: Format, stats: &ScrapeStats, scope: Scope<'_>) -> String {
        let mut e = Encoder::new(format);
        {
            let mut guard = lock(&self.state);
            let (s, limits) = &mut *guard;
            self.add_settled(s, limits, Instant::now());
            render_llm(&mut e, s, scope);
            render_genai(&mut e, s, scope);
            if scope == Scope::All {
                render_self(&mut e, s, limits);
            }
        }
        lock(&self.scores).render(&mut e, scope);
        if scope == Scope::All {
            render_scrape(&mut e, stats);
        }
        if let Some(ev) = &self.evaluator {
            e.family(
                "llmtrace_trace_budget_exceeded",
                Kind::Counter,
                "Traces whose tokens or cost passed a configured per-trace budget.",
                None,
            );
            let mut counts: BTreeMap<String, u64> = lock(&self.state)
                .0
                .budget_projects
                .iter()
                .map(|p| (p.clone(), 0))
                .collect();
            counts.extend(ev.budget_exceeded_total());
            for (project, n) in counts.into_iter().filter(|(p, _)| scope.shows(p)) {
                e.counter(
                    "llmtrace_trace_budget_exceeded",
                    &[("project", &project)],
                    n as f64,
                );
            }
        }
        e.finish()
    }

    /// Adds one settled call to the counters and histograms.
    fn observe_call(s: &mut State, l: &mut Limiters, obs: &CallObservation) {
        let labels = CallLabels {
            model: l.model.admit(obs.model.as_deref()),
            provider: l.provider.admit(obs.provider.as_deref()),
            operation: l.operation.admit(obs.operation.as_deref()),
            service: l.service.admit(Some(&obs.service)),
        };
        let seconds = obs.seconds;
        let (model, provider) = (labels.model.clone(), labels.provider.clone());
        let State { llm, unpriced, .. } = s;
        let s = llm.entry(obs.project.clone()).or_default();
        *s.calls.entry(labels.clone()).or_default() += 1;
        s.call_seconds
            .entry(labels.clone())
            .or_insert_with(|| Histogram::new(CALL_SECONDS_BUCKETS))
            .observe(seconds);
        let error_type = if obs.error {
            let et = l
                .error_type
                .admit(obs.error_type.as_deref().or(Some("_OTHER")));
            *s.errors
                .entry((model.clone(), provider.clone(), et.clone()))
                .or_default() += 1;
            et
        } else {
            String::new()
        };
        let [input, output, cache_read, cache_write, reasoning] = obs.tokens;
        for (kind, v) in [
            ("input", input),
            ("output", output),
            ("cache_read", cache_read),
            ("cache_write", cache_write),
            ("reasoning", reasoning),
        ] {
            if let Some(v) = v {
                *s.tokens
                    .entry((model.clone(), provider.clone(), kind))
                    .or_default() += v;
            }
        }
        if let Some(c) = obs.cost_pico {
            *s.cost_pico
                .entry((model.clone(), provider.clone()))
                .or_default() += i128::from(c);
        } else if obs.unpriced {
            *unpriced
                .entry((model.clone(), provider.clone()))
                .or_default() += 1;
        }
        let ttft = obs.ttft.filter(|t| t.is_finite() && *t >= 0.0);
        if let Some(ttft) = ttft {
            s.ttft
                .entry((model.clone(), provider.clone()))
                .or_insert_with(|| Histogram::new(TTFT_SECONDS_BUCKETS))
                .observe(ttft);
        }
        // The OTel GenAI client metrics, labelled as the semconv says.
        let request_model = l.model.admit(obs.request_model.as_deref());
        let response_model = l.model.admit(obs.response_model.as_deref());
        let op = labels.operation.clone();
        s.genai_duration
            .entry([
                op.clone(),
                provider.clone(),
                request_model.clone(),
                response_model.clone(),
                error_type,
            ])
            .or_insert_with(|| Histogram::new(GENAI_DURATION_BUCKETS))
            .observe(seconds);
        if let Some(ttft) = ttft {
            s.genai_ttfc
                .entry([
                    op.clone(),
                    provider.clone(),
                    request_model.clone(),
                    response_model.clone(),
                ])
                .or_insert_with(|| Histogram::new(GENAI_DURATION_BUCKETS))
                .observe(ttft);
        }
        for (kind, v) in [("input", input), ("output", output)] {
            if let Some(v) = v {
                s.genai_tokens
                    .entry([
                        kind.to_string(),
                        op.clone(),
                        provider.clone(),
                        request_model.clone(),
                        response_model.clone(),
                    ])
                    .or_insert_with(|| Histogram::new(GENAI_TOKEN_BUCKETS))
                    .observe(v as f64);
            }
        }
    }
}

/// What the alert evaluator takes from a counted call (at once, not after the settle window).
fn call_sample(span: &Span, l: &mut Limiters) -> CallSample {
    let u = if span.counts_usage {
        span.usage
    } else {
        Default::default()
    };
    CallSample {
        project: span.project.clone(),
        model: l.model.admit(span.model()),
        provider: l.provider.admit(span.gen_ai.provider.as_deref()),
        duration_seconds: span.duration_nanos() as f64 / 1e9,
        error: span.is_error(),
        input_tokens: u.input.unwrap_or(0),
        output_tokens: u.output.unwrap_or(0),
        cache_read_tokens: u.cache_read.unwrap_or(0),
        cost_usd: span
            .cost
            .effective()
            .map_or(0.0, |c| c.pico_usd as f64 / 1e12),
    }
}

/// The number of spans an SDK reported dropping, carried on one of its spans.
fn sdk_dropped(span: &Span) -> Option<u64> {
    match span
        .attributes
        .get(llmtrace_semconv::llmtrace::SDK_DROPPED_SPANS)?
    {
        AttrValue::Int(n) if *n > 0 => Some(*n as u64),
        AttrValue::Double(n) if *n >= 1.0 => Some(*n as u64),
        AttrValue::Str(s) => s.trim().parse().ok().filter(|n| *n > 0),
        _ => None,
    }
}

impl CommitObserver for Metrics {
    fn committed(&self, batch: &WriteBatch, outcome: &WriteOutcome, elapsed: Duration) {
        if !batch.scores.is_empty() {
            lock(&self.scores).observe(&batch.scores);
        }
        let mut samples = Vec::new();
        let now = Instant::now();
        {
            let mut guard = lock(&self.state);
            let (s, l) = &mut *guard;
            s.spans_written += outcome.spans_written;
            s.spans_duplicate += outcome.spans_duplicate;
            s.logs_written += outcome.logs_written;
            s.scores_written += outcome.scores_written;
            s.commits
                .get_or_insert_with(|| Histogram::new(COMMIT_SECONDS_BUCKETS))
                .observe(elapsed.as_secs_f64());
            // The spans as stored: a span merged with its incomplete copy counts as merged.
            let merged: std::collections::HashMap<usize, &Span> = outcome
                .merged_spans
                .iter()
                .map(|(i, sp)| (*i, sp))
                .collect();
            let stored = batch
                .spans
                .iter()
                .enumerate()
                .map(|(i, sp)| merged.get(&i).copied().unwrap_or(sp));
            for (span, fate) in stored.clone().zip(&outcome.span_fates) {
                if *fate == SpanFate::Duplicate {
                    continue;
                }
                if span
                    .attributes
                    .get(llmtrace_semconv::llmtrace::USAGE_TOTAL_MISMATCH)
                    .is_some()
                {
                    let service = l.service.admit(Some(&span.service));
                    *s.usage_total_mismatches.entry(service).or_default() += 1;
                }
                if let Some(n) = sdk_dropped(span) {
                    let service = l.service.admit(Some(&span.service));
                    *s.sdk_dropped.entry(service).or_default() += n;
                }
                if *fate == SpanFate::CountedCall {
                    s.pending.hold(
                        &span.project,
                        CallRef::of(span),
                        CallObservation::of(span),
                        now,
                    );
                    if self.evaluator.is_some() {
                        samples.push(call_sample(span, l));
                    }
                }
            }
            if !outcome.call_corrections.is_empty() {
                let in_batch: std::collections::HashMap<(&str, CallRef), &Span> = stored
                    .map(|sp| ((sp.project.as_str(), CallRef::of(sp)), sp))
                    .collect();
                for c in &outcome.call_corrections {
                    s.pending
                        .correct(c, |r| in_batch.get(&(c.project.as_str(), *r)).copied(), now);
                }
            }
            self.add_settled(s, l, now);
            if self.budgets && s.budget_projects.len() < 10_000 {
                for t in &outcome.traces {
                    if !s.budget_projects.contains(&t.project) {
                        s.budget_projects.insert(t.project.clone());
                    }
                }
            }
        }
        if let Some(ev) = &self.evaluator {
            for sample in &samples {
                ev.record_call(sample);
            }
            if self.budgets {
                for t in &outcome.traces {
                    ev.record_trace(&TraceTotals {
                        project: t.project.clone(),
                        trace_id: t.summary.trace_id.to_string(),
                        name: Some(t.summary.root_name.clone()).filter(|n| !n.is_empty()),
                        tokens: t.summary.input_tokens + t.summary.output_tokens,
                        cost_usd: t.summary.cost_pico as f64 / 1e12,
                    });
                }
            }
        }
    }
}

impl Metrics {
    /// Counts what a retention pass deleted (`llmtrace_retention_deleted_*_total`).
    pub fn record_retention(&self, traces: u64, spans: u64) {
        let mut guard = lock(&self.state);
        let s = &mut guard.0;
        s.retention_traces = s.retention_traces.saturating_add(traces);
        s.retention_spans = s.retention_spans.saturating_add(spans);
    }

    /// Counts what the disk limit deleted (`llmtrace_disk_limit_deleted_*_total`).
    pub fn record_disk_limit(&self, traces: u64, spans: u64) {
        let mut guard = lock(&self.state);
        let s = &mut guard.0;
        s.disk_limit_traces = s.disk_limit_traces.saturating_add(traces);
        s.disk_limit_spans = s.disk_limit_spans.saturating_add(spans);
    }

    /// Counts spans a forwarding target got (`sent`) or lost (`dropped`).
    pub fn record_forward(&self, target: &str, sent: u64, dropped: u64) {
        let mut guard = lock(&self.state);
        let e = guard.0.forwarded.entry(target.to_string()).or_default();
        e.0 = e.0.saturating_add(sent);
        e.1 = e.1.saturating_add(dropped);
    }

    /// Spans sent and dropped per forwarding target since start.
    pub fn forwarding(&self) -> Vec<(String, u64, u64)> {
        let guard = lock(&self.state);
        guard
            .0
            .forwarded
            .iter()
            .map(|(t, (s, d))| (t.clone(), *s, *d))
            .collect()
    }

    /// Traces deleted since start: by retention, and for the disk limit.
    pub fn deleted_traces(&self) -> (u64, u64) {
        let guard = lock(&self.state);
        (guard.0.retention_traces, guard.0.disk_limit_traces)
    }

    /// Spans whose usage parts disagreed with their own total so far (the total decided), by
    /// service (for the API and the health page).
    pub fn usage_total_mismatches(&self) -> Vec<(String, u64)> {
        let guard = lock(&self.state);
        guard
            .0
            .usage_total_mismatches
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// SDK-reported dropped spans so far, by service (for the API).
    pub fn sdk_dropped_spans(&self) -> Vec<(String, u64)> {
        let guard = lock(&self.state);
        guard
            .0
            .sdk_dropped
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Counted calls without a price so far, by (model, provider) (for the API).
    pub fn unpriced_calls(&self) -> Vec<(String, String, u64)> {
        let guard = lock(&self.state);
        guard
            .0
            .unpriced
            .iter()
            .map(|((m, p), v)| (m.clone(), p.clone(), *v))
            .collect()
    }
}

/// The projects a scrape shows, with their series.
fn projects<'a>(
    s: &'a State,
    scope: Scope<'a>,
) -> impl Iterator<Item = (&'a str, &'a LlmState)> + 'a {
    s.llm
        .iter()
        .filter(move |(p, _)| scope.shows(p))
        .map(|(p, l)| (p.as_str(), l))
}

fn render_llm(e: &mut Encoder, s: &State, scope: Scope<'_>) {
    e.family(
        "llm_call_seconds",
        Kind::Histogram,
        "Duration of counted LLM and embedding calls, from their span timestamps.",
        Some("seconds"),
    );
    for (project, p) in projects(s, scope) {
        for (k, h) in &p.call_seconds {
            let labels = [
                ("project", project),
                ("model", k.model.as_str()),
                ("provider", &k.provider),
                ("operation", &k.operation),
                ("service", &k.service),
            ];
            e.histogram(
                "llm_call_seconds",
                &labels,
                CALL_SECONDS_BUCKETS,
                h.counts(),
                h.sum(),
            );
        }
    }
    e.family(
        "llm_calls",
        Kind::Counter,
        "Counted LLM and embedding calls (each call once: retries and wrapper spans excluded).",
        None,
    );
    for (project, p) in projects(s, scope) {
        for (k, n) in &p.calls {
            let labels = [
                ("project", project),
                ("model", k.model.as_str()),
                ("provider", &k.provider),
                ("operation", &k.operation),
                ("service", &k.service),
            ];
            e.counter("llm_calls", &labels, *n as f64);
        }
    }
    e.family(
        "llm_errors",
        Kind::Counter,
        "Counted calls that failed, by error type.",
        None,
    );
    for (project, p) in projects(s, scope) {
        for ((model, provider, et), n) in &p.errors {
            let labels = [
                ("project", project),
                ("model", model.as_str()),
                ("provider", provider),
                ("error_type", et),
            ];
            e.counter("llm_errors", &labels, *n as f64);
        }
    }
    e.family(
        "llm_tokens",
        Kind::Counter,
        "Tokens of counted calls by type: input (cache included), output (reasoning included), cache_read, cache_write, reasoning.",
        None,
    );
    for (project, p) in projects(s, scope) {
        for ((model, provider, kind), n) in &p.tokens {
            let labels = [
                ("project", project),
                ("model", model.as_str()),
                ("provider", provider),
                ("type", kind),
            ];
            e.counter("llm_tokens", &labels, *n as f64);
        }
    }
    e.family(
        "llm_cost_usd",
        Kind::Counter,
        "Effective cost of counted calls in USD (reported cost wins over computed; unpriced calls add nothing and are counted in llmtrace_unpriced_calls_total).",
        Some("usd"),
    );
    for (project, p) in projects(s, scope) {
        for ((model, provider), pico) in &p.cost_pico {
            let labels = [
                ("project", project),
                ("model", model.as_str()),
                ("provider", provider),
            ];
            e.counter("llm_cost_usd", &labels, *pico as f64 / 1e12);
        }
    }
    e.family(
        "llm_time_to_first_token_seconds",
        Kind::Histogram,
        "Time to the first streamed token of counted calls that report it.",
        Some("seconds"),
    );
    for (project, p) in projects(s, scope) {
        for ((model, provider), h) in &p.ttft {
            let labels = [
                ("project", project),
                ("model", model.as_str()),
                ("provider", provider),
            ];
            e.histogram(
                "llm_time_to_first_token_seconds",
                &labels,
                TTFT_SECONDS_BUCKETS,
                h.counts(),
                h.sum(),
            );
        }
    }
}

fn render_genai(e: &mut Encoder, s: &State, scope: Scope<'_>) {
    e.family(
        "gen_ai_client_operation_duration_seconds",
        Kind::Histogram,
        "OTel GenAI gen_ai.client.operation.duration, derived from counted call spans.",
        Some("seconds"),
    );
    for (project, p) in projects(s, scope) {
        for ([op, provider, req, resp, et], h) in &p.genai_duration {
            let mut labels = vec![
                ("project", project),
                ("gen_ai_operation_name", op.as_str()),
                ("gen_ai_provider_name", provider),
                ("gen_ai_request_model", req),
                ("gen_ai_response_model", resp),
            ];
            if !et.is_empty() {
                labels.push(("error_type", et));
            }
            e.histogram(
                "gen_ai_client_operation_duration_seconds",
                &labels,
                GENAI_DURATION_BUCKETS,
                h.counts(),
                h.sum(),
            );
        }
    }
    e.family(
        "gen_ai_client_operation_time_to_first_chunk_seconds",
        Kind::Histogram,
        "OTel GenAI gen_ai.client.operation.time_to_first_chunk, from calls that report a time to first token.",
        Some("seconds"),
    );
    for (project, p) in projects(s, scope) {
        for ([op, provider, req, resp], h) in &p.genai_ttfc {
            let labels = [
                ("project", project),
                ("gen_ai_operation_name", op.as_str()),
                ("gen_ai_provider_name", provider),
                ("gen_ai_request_model", req),
                ("gen_ai_response_model", resp),
            ];
            e.histogram(
                "gen_ai_client_operation_time_to_first_chunk_seconds",
                &labels,
                GENAI_DURATION_BUCKETS,
                h.counts(),
                h.sum(),
            );
        }
    }
    e.family(
        "gen_ai_client_token_usage",
        Kind::Histogram,
        "OTel GenAI gen_ai.client.token.usage: tokens per counted call, by token type.",
        None,
    );
    for (project, p) in projects(s, scope) {
        for ([kind, op, provider, req, resp], h) in &p.genai_tokens {
            let labels = [
                ("project", project),
                ("gen_ai_token_type", kind.as_str()),
                ("gen_ai_operation_name", op),
                ("gen_ai_provider_name", provider),
                ("gen_ai_request_model", req),
                ("gen_ai_response_model", resp),
            ];
            e.histogram(
                "gen_ai_client_token_usage",
                &labels,
                GENAI_TOKEN_BUCKETS,
                h.counts(),
                h.sum(),
            );
        }
    }
}

fn render_self(e: &mut Encoder, s: &State, l: &Limiters) {
    let counter = |e: &mut Encoder, name: &str, help: &str, v: u64| {
        e.family(name, Kind::Counter, help, None);
        e.counter(name, &[], v as f64);
    };
    counter(
        e,
        "llmtrace_spans_written",
        "Spans newly stored.",
        s.spans_written,
    );
    counter(
        e,
        "llmtrace_late_call_corrections",
        "Changes to a call's count or usage that arrived after the call was added to the llm_* counters (a copy of the call later than the settle window): the counters then differ from the API by them.",
        s.pending.late_corrections,
    );
    e.family(
        "llmtrace_calls_settling",
        Kind::Gauge,
        "Counted calls waiting for the settle window before they add to the llm_* counters.",
        None,
    );
    e.gauge("llmtrace_calls_settling", &[], s.pending.len() as f64);
    counter(
        e,
        "llmtrace_retention_deleted_traces",
        "Traces deleted by retention (past --retention-days or their project's days).",
        s.retention_traces,
    );
    counter(
        e,
        "llmtrace_retention_deleted_spans",
        "Spans deleted by retention with their traces.",
        s.retention_spans,
    );
    e.family(
        "llmtrace_forward_spans",
        Kind::Counter,
        "Spans sent on to --forward-otlp targets (outcome sent) or dropped (full queue, refused, retries exhausted).",
        None,
    );
    for (target, (sent, dropped)) in &s.forwarded {
        e.counter(
            "llmtrace_forward_spans",
            &[("target", target), ("outcome", "sent")],
            *sent as f64,
        );
        e.counter(
            "llmtrace_forward_spans",
            &[("target", target), ("outcome", "dropped")],
            *dropped as f64,
        );
    }
    counter(
        e,
        "llmtrace_disk_limit_deleted_traces",
        "Traces deleted, oldest first, to keep the store under --max-disk-bytes.",
        s.disk_limit_traces,
    );
    counter(
        e,
        "llmtrace_disk_limit_deleted_spans",
        "Spans deleted with them.",
        s.disk_limit_spans,
    );
    counter(
        e,
        "llmtrace_spans_duplicate",
        "Spans received again (retried deliveries) and left as stored.",
        s.spans_duplicate,
    );
    counter(
        e,
        "llmtrace_logs_written",
        "OTLP log records stored.",
        s.logs_written,
    );
    counter(
        e,
        "llmtrace_scores_written",
        "Scores stored.",
        s.scores_written,
    );
    e.family(
        "llmtrace_unpriced_calls",
        Kind::Counter,
        "Counted calls whose model has no price (their cost is unknown, not zero).",
        None,
    );
    for ((model, provider), n) in &s.unpriced {
        e.counter(
            "llmtrace_unpriced_calls",
            &[("model", model), ("provider", provider)],
            *n as f64,
        );
    }
    e.family(
        "llmtrace_sdk_dropped_spans",
        Kind::Counter,
        "Spans SDKs reported dropping on their side (attribute llmtrace.sdk.dropped_spans).",
        None,
    );
    for (service, n) in &s.sdk_dropped {
        e.counter(
            "llmtrace_sdk_dropped_spans",
            &[("service", service)],
            *n as f64,
        );
    }
    e.family(
        "llmtrace_usage_total_mismatches",
        Kind::Counter,
        "Spans whose usage parts disagreed with the total their source gave (the total decided the input side; attribute llmtrace.usage.total_mismatch).",
        None,
    );
    for (service, n) in &s.usage_total_mismatches {
        e.counter(
            "llmtrace_usage_total_mismatches",
            &[("service", service)],
            *n as f64,
        );
    }
    e.family(
        "llmtrace_label_values_overflowed",
        Kind::Counter,
        "Label values exported as \"other\" because the label reached its limit of distinct values.",
        None,
    );
    for (label, lim) in [
        ("model", &l.model),
        ("provider", &l.provider),
        ("operation", &l.operation),
        ("service", &l.service),
        ("error_type", &l.error_type),
    ] {
        e.counter(
            "llmtrace_label_values_overflowed",
            &[("label", label)],
            lim.overflowed as f64,
        );
    }
    e.family(
        "llmtrace_commit_seconds",
        Kind::Histogram,
        "Duration of durable group commits to the store.",
        Some("seconds"),
    );
    if let Some(h) = &s.commits {
        e.histogram(
            "llmtrace_commit_seconds",
            &[],
            COMMIT_SECONDS_BUCKETS,
            h.counts(),
            h.sum(),
        );
    }
}

fn render_scrape(e: &mut Encoder, st: &ScrapeStats) {
    e.family(
        "llmtrace_spans_received",
        Kind::Counter,
        "Spans decoded and offered to the ingest path.",
        None,
    );
    e.counter("llmtrace_spans_received", &[], st.spans_received as f64);
    e.family(
        "llmtrace_panics",
        Kind::Counter,
        "Request handlers that panicked (answered 500, logged with their path).",
        None,
    );
    e.counter("llmtrace_panics", &[], st.panics as f64);
    e.family(
        "llmtrace_connection_limit_hits",
        Kind::Counter,
        "Times the HTTP connection limit was reached (new connections then wait until one closes).",
        None,
    );
    e.counter(
        "llmtrace_connection_limit_hits",
        &[],
        st.connection_limit_hits as f64,
    );
    e.family(
        "llmtrace_spans_accepted",
        Kind::Counter,
        "Spans acknowledged to clients as durably stored (retried deliveries included).",
        None,
    );
    e.counter("llmtrace_spans_accepted", &[], st.spans_accepted as f64);
    e.family(
        "llmtrace_spans_rejected",
        Kind::Counter,
        "Spans refused, by reason.",
        None,
    );
    for (reason, n) in &st.spans_rejected {
        e.counter("llmtrace_spans_rejected", &[("reason", reason)], *n as f64);
    }
    e.family(
        "llmtrace_requests_rejected",
        Kind::Counter,
        "Export requests refused as a whole before their spans were read, by reason.",
        None,
    );
    for (reason, n) in &st.requests_rejected {
        e.counter(
            "llmtrace_requests_rejected",
            &[("reason", reason)],
            *n as f64,
        );
    }
    let gauge = |e: &mut Encoder, name: &str, help: &str, v: f64| {
        e.family(name, Kind::Gauge, help, None);
        e.gauge(name, &[], v);
    };
    let q = &st.queue;
    gauge(
        e,
        "llmtrace_queue_items",
        "Spans and log records waiting to be written.",
        q.queued_items as f64,
    );
    gauge(
        e,
        "llmtrace_queue_capacity_items",
        "Queue capacity in spans and log records.",
        q.capacity_items as f64,
    );
    gauge(
        e,
        "llmtrace_queue_bytes",
        "Bytes waiting to be written.",
        q.queued_bytes as f64,
    );
    gauge(
        e,
        "llmtrace_queue_capacity_bytes",
        "Queue capacity in bytes.",
        q.capacity_bytes as f64,
    );
    if let Some(b) = st.store_size_bytes {
        gauge(
            e,
            "llmtrace_store_size_bytes",
            "Bytes the store takes on disk.",
            b as f64,
        );
    }
    if let Some(n) = st.orphan_traces {
        gauge(
            e,
            "llmtrace_orphan_traces",
            "Traces without a root span whose spans arrived more than 5 minutes ago (a lost parent or broken context propagation).",
            n as f64,
        );
    }
}
