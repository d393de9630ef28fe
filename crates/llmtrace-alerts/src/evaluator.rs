//! The built-in evaluator: the `LLM*` alerts of [`crate::rules`], evaluated in-process over
//! per-model sliding windows, with per-trace budgets and webhook notifications.
//!
//! - Ingest feeds it with [`Evaluator::record_call`] and [`Evaluator::record_trace`] after each
//!   durable commit. Both only take short `std::sync::Mutex`es: no IO, no await, no waiting on
//!   the notifier (a full webhook queue drops its oldest notification).
//! - Calls land in per-model time buckets keyed by arrival time (a monotonic clock; like a
//!   Prometheus rate over scrape time, not span time). Buckets are `max(1 s, window / 60)` wide;
//!   the window is the last `ceil(window / bucket)` buckets, the current one included. At most
//!   500 models have their own series; further models count as `other` (a model without calls
//!   in the window gives its slot up).
//! - [`Evaluator::spawn`] runs the evaluation tick every `max(eval_interval_seconds, 1)` seconds
//!   and the notifier. Per `(rule, model)`: inactive → pending (condition true, `for` not yet
//!   elapsed) → firing (condition held `for_seconds`; at once when it is 0) → resolved
//!   (condition false after firing, or no calls in the window) → inactive after 15 minutes (or
//!   pending again as soon as the condition is true again). Firing and resolved are notified.
//! - Per-trace budgets are checked by [`Evaluator::record_trace`] itself: the first time a trace
//!   passes `trace_max_tokens` or `trace_max_cost_usd`, a `LLMTraceBudgetExceeded` notification
//!   is queued at once (the notifier wakes immediately). Once per trace: the last 16,384
//!   over-budget traces are remembered. There is no resolved notification for a budget.
//! - Each webhook has a worker and a bounded queue (1,024; when full, the oldest notification is
//!   dropped and counted). A delivery is a JSON POST; connection errors, timeouts (5 s), HTTP 5xx
//!   and 429 are retried after 0.5 s, 1 s, 2 s, 4 s (5 attempts); other statuses fail at once.
//! - [`Evaluator::snapshot`] is the [`AlertsView`] served at `GET /api/alerts`.

mod notify;
#[cfg(test)]
mod tests;
mod window;

use crate::{AlertConfig, CallSample, TraceTotals, WebhookFormat};
use notify::{Notification, Notifier};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use window::{ModelTotals, Windows};

/// Models with their own series; the rest are `other`.
const MAX_MODELS: usize = 500;
/// Over-budget traces remembered so each is notified once.
const BUDGET_MEMORY: usize = 16_384;
/// How long a resolved alert stays `resolved` (in the view) before it is `inactive` again.
const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);
/// `alertname` of the per-trace budget notification.
pub const BUDGET_ALERT: &str = "LLMTraceBudgetExceeded";

/// The in-process alert evaluator. Cheap to clone: clones share the same state.
#[derive(Clone)]
pub struct Evaluator {
    inner: Arc<Inner>,
}

struct Inner {
    config: AlertConfig,
    clock: Clock,
    windows: Mutex<Windows>,
    alerts: Mutex<AlertTable>,
    budget: Mutex<Budget>,
    notifier: Arc<Notifier>,
}

impl fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluator")
            .field("window_seconds", &self.inner.config.window_seconds)
            .field("for_seconds", &self.inner.config.for_seconds)
            .field("webhooks", &self.inner.config.webhooks.len())
            .finish_non_exhaustive()
    }
}

/// Maps monotonic instants to wall-clock times (for payloads and the view).
#[derive(Debug, Clone, Copy)]
struct Clock {
    instant: Instant,
    wall: SystemTime,
}

impl Clock {
    fn wall(&self, at: Instant) -> SystemTime {
        match at.checked_duration_since(self.instant) {
            Some(d) => self.wall.checked_add(d),
            None => self.wall.checked_sub(self.instant - at),
        }
        .unwrap_or(self.wall)
    }
}

/// State of one alert (one rule and one model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Condition false (and not resolved recently).
    Inactive,
    /// Condition true for less than `for_seconds`.
    Pending,
    /// Condition true for `for_seconds` or more; notified.
    Firing,
    /// Condition false after firing; notified; `inactive` after 15 minutes.
    Resolved,
}

/// Status of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationStatus {
    /// The alert started firing (or a trace passed its budget).
    Firing,
    /// The alert stopped firing.
    Resolved,
}

impl NotificationStatus {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Firing => "firing",
            NotificationStatus::Resolved => "resolved",
        }
    }
}

/// Status of the delivery of one notification to one webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting in the webhook's queue.
    Queued,
    /// Being sent, or waiting to retry.
    Sending,
    /// The receiver answered 2xx.
    Ok,
    /// Every attempt failed, or the receiver answered a non-retryable status.
    Failed,
    /// Dropped from a full queue before it was sent.
    Dropped,
}

/// Everything `GET /api/alerts` shows.
///
/// Times are RFC 3339 UTC strings; values are in the rule's unit (seconds, ratio, tokens per
/// call, USD per hour).
#[derive(Debug, Clone, Serialize)]
pub struct AlertsView {
    /// When the rules were last evaluated; `null` before the first tick.
    pub evaluated_at: Option<String>,
    /// Seconds between evaluations.
    pub eval_interval_seconds: u64,
    /// The rules and their thresholds.
    pub rules: Vec<RuleView>,
    /// One entry per rule and model that is pending, firing or resolved, or that has calls in
    /// the window (then usually `inactive`, with its current value); by rule, then model.
    pub states: Vec<StateView>,
    /// The last 100 notifications, newest first.
    pub notifications: Vec<NotificationView>,
    /// The configured webhooks and their counters.
    pub webhooks: Vec<WebhookView>,
    /// Per-trace budgets.
    pub budget: BudgetView,
}

/// One rule of the evaluator.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    /// Alert name, as in the Prometheus rule file (`LLMHighP99Latency`, ...).
    pub name: String,
    /// `severity` label: `critical`, `warning` or `info`.
    pub severity: String,
    /// The threshold, in the rule's unit.
    pub threshold: f64,
    /// How long the condition must hold before firing.
    pub for_seconds: u64,
    /// Window of the rates and quantile.
    pub window_seconds: u64,
    /// What the rule checks.
    pub description: String,
}

/// The state of one alert (rule and model).
#[derive(Debug, Clone, Serialize)]
pub struct StateView {
    /// Alert name.
    pub rule: String,
    /// The alert's labels: `alertname`, `project`, `model`, `severity`.
    pub labels: BTreeMap<String, String>,
    /// The project whose calls the alert watches (each project has its own windows).
    pub project: String,
    /// The model.
    pub model: String,
    /// `inactive`, `pending`, `firing` or `resolved`.
    pub state: AlertState,
    /// The value at the last evaluation; `null` when the model had no calls in the window
    /// (or, for the cache rule, no input tokens).
    pub value: Option<f64>,
    /// The rule's threshold.
    pub threshold: f64,
    /// When the alert entered its current state.
    pub since: String,
    /// When the condition became true (start of pending); `null` when inactive.
    pub active_at: Option<String>,
    /// When it fired, if it did in the current episode.
    pub fired_at: Option<String>,
    /// When it resolved, while resolved.
    pub resolved_at: Option<String>,
}

/// One notification and its deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    /// Sequence number (per process).
    pub id: u64,
    /// When it was queued.
    pub time: String,
    /// Alert name.
    pub alert: String,
    /// `firing` or `resolved`.
    pub status: NotificationStatus,
    /// The alert's labels.
    pub labels: BTreeMap<String, String>,
    /// The alert's annotations (`summary`, `description`, `runbook_url`, ...).
    pub annotations: BTreeMap<String, String>,
    /// The value that crossed the threshold (for a resolved alert, the current value; `null`
    /// without calls).
    pub value: Option<f64>,
    /// When the condition became true.
    pub starts_at: String,
    /// When it resolved; `null` while firing.
    pub ends_at: Option<String>,
    /// One per configured webhook, in configuration order.
    pub deliveries: Vec<DeliveryView>,
}

/// The delivery of one notification to one webhook.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    /// Index of the webhook in the configuration.
    pub webhook: usize,
    /// The webhook's URL without path, query and credentials.
    pub url: String,
    /// `queued`, `sending`, `ok`, `failed` or `dropped`.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// The last failure (`HTTP 503`, a connection error, ...).
    pub last_error: Option<String>,
}

/// A configured webhook and its counters since start.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    /// Index in the configuration.
    pub index: usize,
    /// URL without path, query and credentials.
    pub url: String,
    /// `alertmanager` or `generic`.
    pub format: WebhookFormat,
    /// Notifications waiting.
    pub queued: usize,
    /// Notifications delivered.
    pub delivered: u64,
    /// Notifications given up after retries.
    pub failed: u64,
    /// Notifications dropped from the full queue.
    pub dropped: u64,
}

/// Per-trace budgets.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetView {
    /// Token budget per trace; `null`: none.
    pub trace_max_tokens: Option<u64>,
    /// Cost budget per trace, USD; `null`: none.
    pub trace_max_cost_usd: Option<f64>,
    /// Traces that passed a budget since start, per project, by project.
    pub exceeded_total: Vec<BudgetCount>,
    /// Over-budget traces currently remembered (so they are notified once).
    pub remembered_traces: usize,
}

/// Over-budget traces of one project.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetCount {
    /// Project.
    pub project: String,
    /// Traces that passed a budget.
    pub traces: u64,
}

/// The five window rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Rule {
    HighP99Latency,
    HighErrorRate,
    TokensPerCallHigh,
    CacheHitRatioLow,
    CostBurnRateHigh,
}

const RULES: [Rule; 5] = [
    Rule::HighP99Latency,
    Rule::HighErrorRate,
    Rule::TokensPerCallHigh,
    Rule::CacheHitRatioLow,
    Rule::CostBurnRateHigh,
];

impl Rule {
    fn name(self) -> &'static str {
        match self {
            Rule::HighP99Latency => "LLMHighP99Latency",
            Rule::HighErrorRate => "LLMHighErrorRate",
            Rule::TokensPerCallHigh => "LLMTokensPerCallHigh",
            Rule::CacheHitRatioLow => "LLMCacheHitRatioLow",
            Rule::CostBurnRateHigh => "LLMCostBurnRateHigh",
        }
    }

    fn severity(self) -> &'static str {
        match self {
            Rule::HighP99Latency | Rule::CostBurnRateHigh => "warning",
            Rule::HighErrorRate => "critical",
            Rule::TokensPerCallHigh | Rule::CacheHitRatioLow => "info",
        }
    }

    fn threshold(self, c: &AlertConfig) -> f64 {
        match self {
            Rule::HighP99Latency => c.p99_latency_seconds,
            Rule::HighErrorRate => c.error_rate,
            Rule::TokensPerCallHigh => c.tokens_per_call,
            Rule::CacheHitRatioLow => c.cache_hit_ratio_min,
            Rule::CostBurnRateHigh => c.cost_usd_per_hour,
        }
    }

    fn description(self) -> &'static str {
        match self {
            Rule::HighP99Latency => {
                "p99 call duration of a model (llm_call_seconds buckets, interpolated like \
                 histogram_quantile) above the threshold, seconds"
            }
            Rule::HighErrorRate => "failed calls / calls of a model above the threshold",
            Rule::TokensPerCallHigh => {
                "(input + output tokens) / calls of a model above the threshold"
            }
            Rule::CacheHitRatioLow => {
                "cache-read / input tokens of a model below the threshold, for models that \
                 have read from the prompt cache since start"
            }
            Rule::CostBurnRateHigh => {
                "cost of a model's calls in the window, as USD per hour, above the threshold"
            }
        }
    }

    /// The rule's value for a model's window; `None` when the rule does not apply.
    fn value(self, t: &ModelTotals, window: Duration) -> Option<f64> {
        let s = &t.stats;
        if s.calls == 0 {
            return None;
        }
        let calls = s.calls as f64;
        match self {
            Rule::HighP99Latency => s.duration_quantile(0.99),
            Rule::HighErrorRate => Some(s.errors as f64 / calls),
            Rule::TokensPerCallHigh => {
                Some(s.input_tokens.saturating_add(s.output_tokens) as f64 / calls)
            }
            Rule::CacheHitRatioLow => (t.cache_seen && s.input_tokens > 0)
                .then(|| s.cache_read_tokens as f64 / s.input_tokens as f64),
            Rule::CostBurnRateHigh => Some(s.cost_usd / window.as_secs_f64() * 3600.0),
        }
    }

    fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Rule::CacheHitRatioLow => value < threshold,
            _ => value > threshold,
        }
    }

    /// `summary` and `description` of a firing alert.
    fn texts(self, model: &str, v: f64, thr: f64, window: &str) -> (String, String) {
        match self {
            Rule::HighP99Latency => (
                format!("High p99 latency on model {model}"),
                format!(
                    "p99 call duration of {model} is {v:.2} s over the last {window}, above {thr} s."
                ),
            ),
            Rule::HighErrorRate => (
                format!("High error rate on model {model}"),
                format!(
                    "{:.2}% of calls to {model} failed over the last {window}, above {}%.",
                    v * 100.0,
                    thr * 100.0
                ),
            ),
            Rule::TokensPerCallHigh => (
                format!("High tokens per call on model {model}"),
                format!(
                    "Calls to {model} used {v:.0} tokens (input + output) per call over the last \
                     {window}, above {thr}."
                ),
            ),
            Rule::CacheHitRatioLow => (
                format!("Low prompt-cache hit ratio on model {model}"),
                format!(
                    "Cache reads are {:.1}% of the input tokens of {model} over the last {window}, \
                     below {}%.",
                    v * 100.0,
                    thr * 100.0
                ),
            ),
            Rule::CostBurnRateHigh => (
                format!("High cost burn rate on model {model}"),
                format!(
                    "{model} is spending {v:.2} USD/hour over the last {window}, above {thr} \
                     USD/hour."
                ),
            ),
        }
    }
}

/// `5m`, `90s`, `1h`: like a Prometheus range.
fn duration_label(secs: u64) -> String {
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

fn runbook(base: &str, alert: &str) -> Option<String> {
    (!base.is_empty()).then(|| format!("{base}#{}", alert.to_lowercase()))
}

#[derive(Debug)]
struct Entry {
    state: AlertState,
    value: Option<f64>,
    since: Instant,
    active_at: Option<Instant>,
    fired_at: Option<Instant>,
    resolved_at: Option<Instant>,
    /// Annotations as of firing (sent again with the resolved notification).
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct AlertTable {
    entries: BTreeMap<(Rule, window::Series), Entry>,
    evaluated_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct Budget {
    notified: HashSet<String>,
    order: VecDeque<String>,
    exceeded: BTreeMap<String, u64>,
}

/// Locks, ignoring poisoning (the data stays consistent between statements).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// RFC 3339 UTC.
fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

impl Evaluator {
    /// An evaluator with `config`'s thresholds and webhooks. Nothing runs until
    /// [`Evaluator::spawn`]; recording and budget checks work without it.
    pub fn new(config: AlertConfig) -> Self {
        let now = Instant::now();
        let clock = Clock {
            instant: now,
            wall: SystemTime::now(),
        };
        Evaluator {
            inner: Arc::new(Inner {
                windows: Mutex::new(Windows::new(config.window(), now, MAX_MODELS)),
                alerts: Mutex::new(AlertTable::default()),
                budget: Mutex::new(Budget::default()),
                notifier: Arc::new(Notifier::new(&config.webhooks)),
                clock,
                config,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AlertConfig {
        &self.inner.config
    }

    /// Counts one call, arriving now, in its model's window. Never blocks beyond a brief mutex.
    pub fn record_call(&self, call: &CallSample) {
        self.record_call_at(call, Instant::now());
    }

    /// [`Evaluator::record_call`] with an explicit arrival time (tests, replays). Instants
    /// before the evaluator's creation count as its creation.
    pub fn record_call_at(&self, call: &CallSample, at: Instant) {
        lock(&self.inner.windows).record(call, at);
    }

    /// Checks a trace's totals against the per-trace budgets; the first time the trace passes
    /// one, queues a `LLMTraceBudgetExceeded` notification at once. Never blocks beyond a brief
    /// mutex.
    pub fn record_trace(&self, totals: &TraceTotals) {
        let c = &self.inner.config;
        let tokens_over = c.trace_max_tokens.is_some_and(|max| totals.tokens > max);
        let cost_over = c
            .trace_max_cost_usd
            .is_some_and(|max| totals.cost_usd > max);
        if !tokens_over && !cost_over {
            return;
        }
        let key = format!("{}\n{}", totals.project, totals.trace_id);
        {
            let mut budget = lock(&self.inner.budget);
            if budget.notified.contains(&key) {
                return;
            }
            budget.notified.insert(key.clone());
            budget.order.push_back(key);
            while budget.order.len() > BUDGET_MEMORY {
                if let Some(old) = budget.order.pop_front() {
                    budget.notified.remove(&old);
                }
            }
            *budget.exceeded.entry(totals.project.clone()).or_default() += 1;
        }
        let now = SystemTime::now();
        let n = self.budget_notification(totals, tokens_over, now);
        tracing::warn!(
            project = %totals.project,
            trace_id = %totals.trace_id,
            tokens = totals.tokens,
            cost_usd = totals.cost_usd,
            "trace exceeded its budget"
        );
        self.inner.notifier.enqueue(n, now);
    }

    fn budget_notification(
        &self,
        t: &TraceTotals,
        tokens_over: bool,
        now: SystemTime,
    ) -> Notification {
        let c = &self.inner.config;
        let mut labels = BTreeMap::from([
            ("alertname".to_string(), BUDGET_ALERT.to_string()),
            ("project".to_string(), t.project.clone()),
            ("trace_id".to_string(), t.trace_id.clone()),
            ("severity".to_string(), "critical".to_string()),
        ]);
        if let Some(name) = &t.name {
            labels.insert("name".into(), name.clone());
        }
        let what = match &t.name {
            Some(name) => format!("Trace {} ({name})", t.trace_id),
            None => format!("Trace {}", t.trace_id),
        };
        let mut used = vec![format!("{} tokens", t.tokens)];
        if let Some(max) = c.trace_max_tokens {
            used[0].push_str(&format!(" (budget {max})"));
        }
        let mut cost = format!("{:.4} USD", t.cost_usd);
        if let Some(max) = c.trace_max_cost_usd {
            cost.push_str(&format!(" (budget {max} USD)"));
        }
        used.push(cost);
        let mut annotations = BTreeMap::from([
            (
                "summary".to_string(),
                format!("{what} in project {} exceeded its budget", t.project),
            ),
            (
                "description".to_string(),
                format!(
                    "{what} in project {} has used {}; a runaway agent?",
                    t.project,
                    used.join(" and ")
                ),
            ),
            ("tokens".to_string(), t.tokens.to_string()),
            ("cost_usd".to_string(), t.cost_usd.to_string()),
        ]);
        if let Some(max) = c.trace_max_tokens {
            annotations.insert("max_tokens".into(), max.to_string());
        }
        if let Some(max) = c.trace_max_cost_usd {
            annotations.insert("max_cost_usd".into(), max.to_string());
        }
        if let Some(url) = runbook(&c.runbook_url, BUDGET_ALERT) {
            annotations.insert("runbook_url".into(), url);
        }
        Notification {
            alert: BUDGET_ALERT.to_string(),
            status: NotificationStatus::Firing,
            labels,
            annotations,
            group_by: &["alertname", "project", "trace_id"],
            value: Some(if tokens_over {
                t.tokens as f64
            } else {
                t.cost_usd
            }),
            starts_at: now,
            ends_at: None,
        }
    }

    /// Traces that passed a budget since start, per project (sorted by project).
    pub fn budget_exceeded_total(&self) -> Vec<(String, u64)> {
        lock(&self.inner.budget)
            .exceeded
            .iter()
            .map(|(p, n)| (p.clone(), *n))
            .collect()
    }

    /// Time between two evaluation ticks of [`Evaluator::spawn`]:
    /// `max(eval_interval_seconds, 1)` seconds.
    pub fn tick_interval(&self) -> Duration {
        Duration::from_secs(self.inner.config.eval_interval_seconds.max(1))
    }

    /// Evaluates the rules now and queues the notifications of the transitions.
    pub fn evaluate_now(&self) {
        self.evaluate_at(Instant::now());
    }

    /// Evaluates the rules over the window ending at `now` (tests, replays: together with
    /// [`Evaluator::record_call_at`]); queues the notifications of the transitions.
    pub fn evaluate_at(&self, now: Instant) {
        let inner = &self.inner;
        let c = &inner.config;
        let window = c.window();
        let window_label = duration_label(window.as_secs());
        let totals = lock(&inner.windows).totals(now);
        let mut values: BTreeMap<(Rule, window::Series), f64> = BTreeMap::new();
        for t in &totals {
            for rule in RULES {
                if let Some(v) = rule.value(t, window).filter(|v| v.is_finite()) {
                    values.insert((rule, t.series.clone()), v);
                }
            }
        }
        let mut out = Vec::new();
        {
            let mut table = lock(&inner.alerts);
            table.evaluated_at = Some(now);
            for (key, entry) in table.entries.iter_mut() {
                let value = values.remove(key);
                out.extend(self.step(key.0, &key.1, entry, value, now, &window_label));
            }
            for (key, value) in values {
                let mut entry = Entry {
                    state: AlertState::Inactive,
                    value: None,
                    since: now,
                    active_at: None,
                    fired_at: None,
                    resolved_at: None,
                    annotations: BTreeMap::new(),
                };
                out.extend(self.step(key.0, &key.1, &mut entry, Some(value), now, &window_label));
                table.entries.insert(key, entry);
            }
            table
                .entries
                .retain(|_, e| e.state != AlertState::Inactive || e.value.is_some());
        }
        let wall = inner.clock.wall(now);
        for n in out {
            inner.notifier.enqueue(n, wall);
        }
    }

    /// One evaluation of one alert; the notification of its transition, if any.
    fn step(
        &self,
        rule: Rule,
        series: &window::Series,
        e: &mut Entry,
        value: Option<f64>,
        now: Instant,
        window_label: &str,
    ) -> Option<Notification> {
        let c = &self.inner.config;
        let threshold = rule.threshold(c);
        e.value = value;
        let condition = value.is_some_and(|v| rule.breached(v, threshold));
        let (project, model) = (series.project.as_str(), series.model.as_str());
        match (e.state, condition) {
            (AlertState::Inactive | AlertState::Resolved, true) => {
                e.active_at = Some(now);
                e.fired_at = None;
                e.resolved_at = None;
                e.since = now;
                if c.for_duration().is_zero() {
                    Some(self.fire(rule, series, e, now, window_label))
                } else {
                    e.state = AlertState::Pending;
                    tracing::debug!(alert = rule.name(), project, model, value, "alert pending");
                    None
                }
            }
            (AlertState::Pending, true) => {
                let active_at = e.active_at.unwrap_or(now);
                (now.saturating_duration_since(active_at) >= c.for_duration())
                    .then(|| self.fire(rule, series, e, now, window_label))
            }
            (AlertState::Firing, true) | (AlertState::Inactive, false) => None,
            (AlertState::Pending, false) => {
                e.state = AlertState::Inactive;
                e.since = now;
                e.active_at = None;
                None
            }
            (AlertState::Firing, false) => {
                e.state = AlertState::Resolved;
                e.since = now;
                e.resolved_at = Some(now);
                tracing::info!(alert = rule.name(), project, model, value, "alert resolved");
                let clock = &self.inner.clock;
                Some(Notification {
                    alert: rule.name().to_string(),
                    status: NotificationStatus::Resolved,
                    labels: rule_labels(rule, series),
                    annotations: e.annotations.clone(),
                    group_by: &["alertname", "project", "model"],
                    value,
                    starts_at: clock.wall(e.active_at.unwrap_or(now)),
                    ends_at: Some(clock.wall(now)),
                })
            }
            (AlertState::Resolved, false) => {
                if now.saturating_duration_since(e.since) >= RESOLVED_RETENTION {
                    e.state = AlertState::Inactive;
                    e.since = now;
                    e.active_at = None;
                    e.fired_at = None;
                    e.resolved_at = None;
                }
                None
            }
        }
    }

    fn fire(
        &self,
        rule: Rule,
        series: &window::Series,
        e: &mut Entry,
        now: Instant,
        window_label: &str,
    ) -> Notification {
        let c = &self.inner.config;
        let threshold = rule.threshold(c);
        let value = e.value.unwrap_or(f64::NAN);
        e.state = AlertState::Firing;
        e.since = now;
        e.fired_at = Some(now);
        let (project, model) = (series.project.as_str(), series.model.as_str());
        let (summary, description) = rule.texts(model, value, threshold, window_label);
        let mut annotations = BTreeMap::from([
            ("summary".to_string(), summary),
            ("description".to_string(), description),
        ]);
        if let Some(url) = runbook(&c.runbook_url, rule.name()) {
            annotations.insert("runbook_url".into(), url);
        }
        e.annotations = annotations.clone();
        tracing::info!(
            alert = rule.name(),
            project,
            model,
            value,
            threshold,
            "alert firing"
        );
        Notification {
            alert: rule.name().to_string(),
            status: NotificationStatus::Firing,
            labels: rule_labels(rule, series),
            annotations,
            group_by: &["alertname", "project", "model"],
            value: e.value,
            starts_at: self.inner.clock.wall(e.active_at.unwrap_or(now)),
            ends_at: None,
        }
    }

    /// Rules, alert states, recent notifications, webhooks and budgets (`GET /api/alerts`).
    pub fn snapshot(&self) -> AlertsView {
        let inner = &self.inner;
        let c = &inner.config;
        let clock = inner.clock;
        let at = |i: Instant| rfc3339(clock.wall(i));
        let rules = RULES
            .iter()
            .map(|r| RuleView {
                name: r.name().into(),
                severity: r.severity().into(),
                threshold: r.threshold(c),
                for_seconds: c.for_seconds,
                window_seconds: c.window().as_secs(),
                description: r.description().into(),
            })
            .collect();
        let (evaluated_at, states) = {
            let table = lock(&inner.alerts);
            let states = table
                .entries
                .iter()
                .map(|((rule, series), e)| StateView {
                    rule: rule.name().into(),
                    labels: rule_labels(*rule, series),
                    project: series.project.clone(),
                    model: series.model.clone(),
                    state: e.state,
                    value: e.value,
                    threshold: rule.threshold(c),
                    since: at(e.since),
                    active_at: e.active_at.map(at),
                    fired_at: e.fired_at.map(at),
                    resolved_at: e.resolved_at.map(at),
                })
                .collect();
            (table.evaluated_at.map(at), states)
        };
        let budget = {
            let b = lock(&inner.budget);
            BudgetView {
                trace_max_tokens: c.trace_max_tokens,
                trace_max_cost_usd: c.trace_max_cost_usd,
                exceeded_total: b
                    .exceeded
                    .iter()
                    .map(|(p, n)| BudgetCount {
                        project: p.clone(),
                        traces: *n,
                    })
                    .collect(),
                remembered_traces: b.order.len(),
            }
        };
        AlertsView {
            evaluated_at,
            eval_interval_seconds: self.tick_interval().as_secs(),
            rules,
            states,
            notifications: inner.notifier.recent(),
            webhooks: inner.notifier.webhooks(),
            budget,
        }
    }

    /// Runs the evaluation tick (every [`Evaluator::tick_interval`], the first at once) and the
    /// webhook notifier on the current tokio runtime, until the handle is aborted.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let notifier = this.inner.notifier.clone().run();
            let ticker = async {
                let mut interval = tokio::time::interval(this.tick_interval());
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    interval.tick().await;
                    this.evaluate_now();
                }
            };
            tokio::join!(notifier, ticker);
        })
    }

    /// Runs only the webhook notifier (delivery of queued notifications), for callers that
    /// drive evaluation themselves with [`Evaluator::evaluate_at`]; until the handle is
    /// aborted. Returns at once without webhooks.
    pub fn spawn_notifier(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.inner.notifier.clone().run())
    }
}

fn rule_labels(rule: Rule, series: &window::Series) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("alertname".to_string(), rule.name().to_string()),
        ("project".to_string(), series.project.clone()),
        ("model".to_string(), series.model.clone()),
        ("severity".to_string(), rule.severity().to_string()),
    ])
}
