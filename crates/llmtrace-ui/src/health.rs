//! The health and alerts page: ingest figures (received, stored, refused, queue, store, orphan
//! traces, drops reported by SDKs, unpriced models), the configured evaluators (scored, failed,
//! last error) and the built-in alert evaluator's rules, states and recent notifications.

use crate::format;
use crate::layout::{self, Nav};
use llmtrace_alerts::evaluator::AlertsView;
use maud::{html, Markup};

/// Ingest figures since the server started (what `GET /api/ingest` returns).
#[derive(Debug, Clone, Default)]
pub struct IngestHealth {
    /// Spans offered to the ingest path.
    pub spans_received: u64,
    /// Spans acknowledged as stored.
    pub spans_accepted: u64,
    /// Spans newly stored.
    pub spans_written: u64,
    /// Retried spans left as stored.
    pub spans_duplicate: u64,
    /// Spans refused, by reason.
    pub spans_rejected: Vec<(String, u64)>,
    /// Requests refused whole, by reason.
    pub requests_rejected: Vec<(String, u64)>,
    /// Items waiting to be written.
    pub queue_items: usize,
    /// Queue capacity.
    pub queue_capacity: usize,
    /// Bytes waiting to be written.
    pub queue_bytes: usize,
    /// Queue capacity in bytes.
    pub queue_capacity_bytes: usize,
    /// Group commits.
    pub commits: u64,
    /// Duration of the last commit, ms.
    pub last_commit_ms: f64,
    /// Store size on disk.
    pub store_size_bytes: Option<u64>,
    /// Traces deleted by retention (past their project's days) since start.
    pub retention_deleted_traces: u64,
    /// Traces deleted, oldest first, to keep the store under `--max-disk-bytes` since start.
    pub disk_limit_deleted_traces: u64,
    /// Spans sent and dropped per `--forward-otlp` target since start.
    pub forwarding: Vec<(String, u64, u64)>,
    /// Traces without a root span for over 5 minutes.
    pub orphan_traces: Option<u64>,
    /// Spans SDKs reported dropping, by service.
    pub sdk_dropped: Vec<(String, u64)>,
    /// Counted calls of models without a price: (model, provider, calls).
    pub unpriced_calls: Vec<(String, String, u64)>,
    /// Spans whose usage parts disagreed with their source's own total (the total decided), by
    /// service.
    pub usage_total_mismatches: Vec<(String, u64)>,
    /// Width of a rate slot, seconds.
    pub rate_slot_seconds: u64,
    /// Spans per slot over the last hour, oldest first: (slot start in Unix seconds, accepted,
    /// refused).
    pub rate: Vec<(u64, u64, u64)>,
}

/// One configured evaluator on the health page (what `GET /api/evaluators` returns).
#[derive(Debug, Clone, Default)]
pub struct EvaluatorHealth {
    /// Name.
    pub name: String,
    /// `rule` or `llm_judge`.
    pub kind: String,
    /// What it scores (`span` or `trace`), and for a judge its model and URL.
    pub detail: String,
    /// Scores stored since start.
    pub scored: u64,
    /// Failed evaluations since start.
    pub failed: u64,
    /// Spans left unevaluated since start because the evaluator was behind.
    pub skipped: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When it happened (RFC 3339).
    pub last_error_at: Option<String>,
}

impl IngestHealth {
    /// Spans acknowledged per second over the last minute of [`IngestHealth::rate`].
    pub fn accepted_per_second_last_minute(&self) -> f64 {
        let slot = self.rate_slot_seconds.max(1);
        let n = (60 / slot).max(1) as usize;
        let sum: u64 = self.rate.iter().rev().take(n).map(|r| r.1).sum();
        sum as f64 / (n as u64 * slot) as f64
    }
}

/// The spans-per-second chart of the last hour.
fn rate_chart(h: &IngestHealth) -> Markup {
    let slot = crate::charts::count_value(h.rate_slot_seconds.max(1));
    let axis = crate::charts::Axis {
        labels: h
            .rate
            .iter()
            .map(|r| {
                let t = llmtrace_query::format_rfc3339_nanos(r.0.saturating_mul(1_000_000_000));
                format::time(&t).get(11..).unwrap_or_default().to_string()
            })
            .collect(),
        windows: Vec::new(),
    };
    let per_s = |v: u64| (v > 0).then(|| crate::charts::count_value(v) / slot);
    let series = [
        crate::charts::Series {
            name: "acknowledged".into(),
            values: h.rate.iter().map(|r| per_s(r.1)).collect(),
            dash: crate::charts::Dash::Solid,
            hue: crate::charts::Hue::Good,
            link: None,
        },
        crate::charts::Series {
            name: "refused".into(),
            values: h.rate.iter().map(|r| per_s(r.2)).collect(),
            dash: crate::charts::Dash::Solid,
            hue: crate::charts::Hue::Bad,
            link: None,
        },
    ];
    crate::charts::bars(
        "Spans per second, last hour (10-second slots, since this server started; UTC)",
        &axis,
        &series,
        crate::charts::Unit::PerSecond,
    )
}

/// The status class of an alert state or notification status: firing in the error colour,
/// pending in the warning colour, resolved in the ok colour, anything else dimmed.
pub(crate) fn state_class(state: &str) -> &'static str {
    match state {
        "firing" => "status firing error",
        "pending" => "status pending warn",
        "resolved" => "status resolved ok",
        _ => "status dim",
    }
}

/// An alert's value or threshold in its rule's unit: ratios as percentages, the p99 latency as
/// a duration, the cost burn rate in dollars per hour, tokens per call as a count.
pub(crate) fn rule_value(rule: &str, v: f64) -> String {
    match rule {
        "LLMHighErrorRate" | "LLMCacheHitRatioLow" => format::percent(Some(v)),
        "LLMHighP99Latency" => format::duration_ms(v * 1000.0),
        "LLMCostBurnRateHigh" => format!("{}/h", format::usd(Some(v))),
        "LLMTokensPerCallHigh" => crate::charts::Unit::Count.value(v),
        _ => crate::annotate::number(v),
    }
}

fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn figure(label: &str, value: String, warn: bool) -> Markup {
    html! { div { dt { (label) } dd class=[warn.then_some("warn")] { (value) } } }
}

fn ingest_section(h: &IngestHealth) -> Markup {
    let rejected: u64 = h.spans_rejected.iter().map(|(_, n)| n).sum();
    let dropped: u64 = h.sdk_dropped.iter().map(|(_, n)| n).sum();
    let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let (items, capacity) = (wide(h.queue_items), wide(h.queue_capacity));
    let queue_high = capacity > 0 && items.saturating_mul(10) > capacity.saturating_mul(8);
    html! {
        section aria-label="Ingest" {
            h2 { "Ingest" }
            dl.totals #ingest {
                (figure("Spans/s (last minute)", format!("{:.1}", h.accepted_per_second_last_minute()), false))
                (figure("Spans received", format::count(h.spans_received), false))
                (figure("Acknowledged", format::count(h.spans_accepted), false))
                (figure("Newly stored", format::count(h.spans_written), false))
                (figure("Retries (duplicates)", format::count(h.spans_duplicate), false))
                (figure("Refused", format::count(rejected), rejected > 0))
                (figure("Queue", format!("{} / {} ({})", format::count(items), format::count(capacity), format::share(items, capacity)), queue_high))
                (figure("Commits", format::count(h.commits), false))
                (figure("Last commit", format::duration_ms(h.last_commit_ms), false))
                (figure("Store size", h.store_size_bytes.map(|b| format!("{:.1} MB", b as f64 / 1e6)).unwrap_or_else(|| "–".into()), false))
                (figure("Deleted by retention", format::count(h.retention_deleted_traces), false))
                (figure("Deleted for the disk limit", format::count(h.disk_limit_deleted_traces), h.disk_limit_deleted_traces > 0))
                (figure("Orphan traces", h.orphan_traces.map(format::count).unwrap_or_else(|| "–".into()), h.orphan_traces.unwrap_or(0) > 0))
                (figure("Dropped by SDKs", format::count(dropped), dropped > 0))
            }
            div.charts { (rate_chart(h)) }
            @if !h.forwarding.is_empty() {
                table.traces aria-label="Forwarding" {
                    thead { tr { th scope="col" { "Forwarded to" } th scope="col" { "Spans sent" } th scope="col" { "Spans dropped" } } }
                    tbody {
                        @for (target, sent, dropped) in &h.forwarding {
                            tr { td { (target) } td.num { (format::count(*sent)) } td.num class=[(*dropped > 0).then_some("warn")] { (format::count(*dropped)) } }
                        }
                    }
                }
            }
            @if rejected > 0 || h.requests_rejected.iter().any(|(_, n)| *n > 0) {
                table.traces {
                    thead { tr { th scope="col" { "Refused because" } th scope="col" { "Spans" } th scope="col" { "Whole requests" } } }
                    tbody {
                        @for (reason, n) in &h.spans_rejected {
                            @let req = h.requests_rejected.iter().find(|(r, _)| r == reason).map_or(0, |(_, n)| *n);
                            @if *n > 0 || req > 0 { tr { td { (reason) } td.num { (format::count(*n)) } td.num { (format::count(req)) } } }
                        }
                    }
                }
            }
            @if dropped > 0 {
                p.warn { "SDKs reported dropping spans (their export queue was full): "
                    @for (svc, n) in &h.sdk_dropped { strong { (svc) } " " (format::count(*n)) " " } }
            }
            @if !h.usage_total_mismatches.is_empty() {
                p.warn #usage-total-mismatches { "Usage whose parts disagreed with the total its source gave (the total decided the input tokens): "
                    @for (svc, n) in &h.usage_total_mismatches { strong { (svc) } " " (format::count(*n)) " " } }
            }
            @if !h.unpriced_calls.is_empty() {
                p.warn { "Models without a price (their cost is unknown, not $0): "
                    @for (m, p, n) in &h.unpriced_calls { strong { (m) } " (" (p) ", " (format::count(*n)) " calls) " } }
            }
        }
    }
}

fn alerts_section(a: &AlertsView) -> Markup {
    html! {
        section aria-label="Alerts" {
            h2 { "Alerts" }
            @let active: Vec<_> = a.states.iter().filter(|s| text(&s.state) != "inactive").collect();
            @if active.is_empty() {
                p #alerts-quiet { "No alert is pending or firing." }
            } @else {
                table.traces #alert-states {
                    thead { tr { th scope="col" { "Alert" } th scope="col" { "Model" } th scope="col" { "State" } th scope="col" { "Value" } th scope="col" { "Threshold" } th scope="col" { "Since" } } }
                    tbody {
                        @for s in &active {
                            @let state = text(&s.state);
                            tr.failed[state == "firing"] {
                                td { (s.rule) } td { (s.model) }
                                td { span class=(state_class(&state)) { (state) } }
                                td.num { (s.value.map(|v| rule_value(&s.rule, v)).unwrap_or_else(|| "–".into())) }
                                td.num { (rule_value(&s.rule, s.threshold)) }
                                td { (format::when(&s.since)) }
                            }
                        }
                    }
                }
            }
            h3 { "Rules" }
            table.traces {
                thead { tr { th scope="col" { "Rule" } th scope="col" { "Severity" } th scope="col" { "Threshold" } th scope="col" { "For" } th scope="col" { "Window" } th scope="col" { "Meaning" } } }
                tbody {
                    @for r in &a.rules {
                        tr { td { (r.name) } td { (r.severity) } td.num { (rule_value(&r.name, r.threshold)) } td.num { (r.for_seconds) " s" } td.num { (r.window_seconds) " s" } td.name { (r.description) } }
                    }
                }
            }
            h3 { "Recent notifications" }
            @if a.notifications.is_empty() {
                p { "None yet." @if a.webhooks.is_empty() { " No webhook is configured (`[[alerts.webhooks]]` or `--alert-webhook`)." } }
            } @else {
                table.traces #notifications {
                    thead { tr { th scope="col" { "Time" } th scope="col" { "Alert" } th scope="col" { "Status" } th scope="col" { "Labels" } th scope="col" { "Deliveries" } } }
                    tbody {
                        @for n in &a.notifications {
                            tr {
                                td { (format::when(&n.time)) } td { (n.alert) } td { span class=(state_class(n.status.as_str())) { (n.status.as_str()) } }
                                td.name { @for (k, v) in &n.labels { @if k != "alertname" { span.badge { (k) "=" (v) } " " } } }
                                td { @for d in &n.deliveries { span.badge { (text(&d.status)) " ×" (d.attempts) } " " } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn evaluators_section(evaluators: &[EvaluatorHealth]) -> Markup {
    html! {
        section aria-label="Evaluators" {
            h2 { "Evaluators" }
            table.traces #evaluators {
                thead { tr { th scope="col" { "Evaluator" } th scope="col" { "Kind" } th scope="col" { "Scores" } th scope="col" { "Scored" } th scope="col" { "Failed" } th scope="col" { "Skipped" } th scope="col" { "Last error" } } }
                tbody {
                    @for e in evaluators {
                        tr.failed[e.last_error.is_some()] {
                            td { (e.name) } td { (e.kind) } td.name { (e.detail) }
                            td.num { (format::count(e.scored)) }
                            td.num class=[(e.failed > 0).then_some("warn")] { (format::count(e.failed)) }
                            td.num class=[(e.skipped > 0).then_some("warn")] { (format::count(e.skipped)) }
                            td.name {
                                @if let Some(err) = &e.last_error {
                                    span.warn { (err) }
                                    @if let Some(at) = &e.last_error_at { " (" (format::when(at)) ")" }
                                } @else { "–" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The health and alerts page; `evaluators` are those of the config file (none: no section).
pub fn health_page(
    ingest: &IngestHealth,
    evaluators: &[EvaluatorHealth],
    alerts: Option<&AlertsView>,
) -> String {
    let body = html! {
        h1 { "Health and alerts" }
        (ingest_section(ingest))
        @if !evaluators.is_empty() { (evaluators_section(evaluators)) }
        @match alerts {
            Some(a) => { (alerts_section(a)) }
            None => { p { "The built-in alert evaluator is not running on this server." } }
        }
        nav.machine aria-label="Machine-readable" {
            p { a #stats-json href="/api/stats" { "Stats (JSON)" } " · " a #metrics-link href="/metrics" { "Metrics" } " (Prometheus)" }
            p.dim { "Also machine-readable: " a href="/api/ingest" { "/api/ingest" } ", " a href="/api/alerts" { "/api/alerts" } @if !evaluators.is_empty() { ", " a href="/api/evaluators" { "/api/evaluators" } } "." }
        }
    };
    layout::page("Health and alerts", Nav::Health, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_alerts::evaluator::{AlertState, BudgetView, StateView};

    fn state(rule: &str, state: AlertState, value: f64) -> StateView {
        StateView {
            rule: rule.into(),
            labels: Default::default(),
            project: "default".into(),
            model: "gpt-4o".into(),
            state,
            value: Some(value),
            threshold: 0.01,
            since: "2026-01-01T00:00:00Z".into(),
            active_at: None,
            fired_at: None,
            resolved_at: None,
        }
    }

    #[test]
    fn pending_and_firing_alerts_are_never_ok() {
        assert_eq!(state_class("firing"), "status firing error");
        assert_eq!(state_class("pending"), "status pending warn");
        assert_eq!(state_class("resolved"), "status resolved ok");
        assert_eq!(state_class("inactive"), "status dim");
        let alerts = AlertsView {
            evaluated_at: None,
            eval_interval_seconds: 30,
            rules: vec![],
            states: vec![
                state("LLMHighErrorRate", AlertState::Firing, 0.25),
                state("LLMHighP99Latency", AlertState::Pending, 12.0),
            ],
            notifications: vec![],
            webhooks: vec![],
            budget: BudgetView {
                trace_max_tokens: None,
                trace_max_cost_usd: None,
                exceeded_total: vec![],
                remembered_traces: 0,
            },
        };
        let page = health_page(&IngestHealth::default(), &[], Some(&alerts));
        assert!(
            page.contains(r#"<span class="status firing error">firing</span>"#),
            "{page}"
        );
        assert!(page.contains(r#"<span class="status pending warn">pending</span>"#));
        assert!(!page.contains("status ok"));
        // Error rates in the shared percent format; latencies as durations.
        assert!(page.contains(">25%<"), "{page}");
        assert!(page.contains(">1.0%<"), "the threshold 0.01: {page}");
        assert!(page.contains(">12.00 s<"), "{page}");
        // Links to the statistics and metrics that left the main navigation.
        assert!(page.contains(r#"href="/api/stats""#) && page.contains("Stats (JSON)"));
        assert!(page.contains(r#"href="/metrics""#) && page.contains(">Metrics<"));
        assert!(!page.contains("#000"));
    }

    #[test]
    fn rule_values_read_in_their_unit() {
        assert_eq!(rule_value("LLMHighErrorRate", 0.025), "2.5%");
        assert_eq!(rule_value("LLMCacheHitRatioLow", 0.2), "20%");
        assert_eq!(rule_value("LLMHighP99Latency", 0.5), "500 ms");
        assert_eq!(rule_value("LLMCostBurnRateHigh", 10.0), "$10.0/h");
        assert_eq!(rule_value("LLMTokensPerCallHigh", 50_000.0), "50,000");
    }
}
