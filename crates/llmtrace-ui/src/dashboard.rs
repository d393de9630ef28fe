//! The dashboard: for a time range and optional filters, the totals, charts over time (calls and
//! errors, tokens, cost by model, latency percentiles by model, cache hit ratio), the costliest
//! and slowest traces, and a table per model.

use crate::charts::{self, Dash, Series};
use crate::format;
use crate::layout::{self, Nav};
use crate::traces::{set, url_encode, RangePreset};
use llmtrace_query::{format_rfc3339_nanos, StatsGroupView, StatsView, TraceListView};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The dashboard's query string (empty values mean unset).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DashboardForm {
    /// Range preset (`15m`, `1h`, `24h` (default), `7d`); a custom `since` wins.
    pub range: Option<String>,
    /// Custom range start, RFC 3339.
    pub since: Option<String>,
    /// Custom range end, RFC 3339.
    pub until: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Provider.
    pub provider: Option<String>,
}

/// Bucket widths the dashboard chooses from, in seconds.
const BUCKET_WIDTHS: [u64; 12] = [
    10, 30, 60, 300, 900, 1800, 3600, 10_800, 21_600, 43_200, 86_400, 604_800,
];

/// About this many buckets per chart.
const TARGET_BUCKETS: u64 = 60;

impl DashboardForm {
    /// The range preset chosen (24 hours by default; "all time" is not a dashboard range).
    pub fn range(&self) -> RangePreset {
        match self.range.as_deref() {
            Some("15m") => RangePreset::M15,
            Some("1h") => RangePreset::H1,
            Some("7d") => RangePreset::D7,
            _ => RangePreset::H24,
        }
    }

    /// The range shown, in Unix nanoseconds, given the clock: the custom `since`/`until` when
    /// set (an unset end is now), else the preset ending now.
    pub fn window(&self, now_unix_nano: u64) -> Result<(u64, u64), String> {
        let parse = |name: &str, v: &Option<String>| -> Result<Option<u64>, String> {
            set(v)
                .map(|s| llmtrace_query::parse_rfc3339(&s).map_err(|e| format!("{name}: {e}")))
                .transpose()
        };
        let until = parse("until", &self.until)?.unwrap_or(now_unix_nano);
        let since = match parse("since", &self.since)? {
            Some(s) => s,
            None => until.saturating_sub(self.range().seconds().unwrap_or(86_400) * 1_000_000_000),
        };
        if since >= until {
            return Err("the range must start before it ends".into());
        }
        Ok((since, until))
    }

    /// Filters as `(service, model, provider)`.
    pub fn filters(&self) -> (Option<String>, Option<String>, Option<String>) {
        (set(&self.service), set(&self.model), set(&self.provider))
    }
}

/// The bucket width for a range: the smallest of [`BUCKET_WIDTHS`] giving at most about
/// [`TARGET_BUCKETS`] buckets.
pub fn bucket_seconds(since_unix_nano: u64, until_unix_nano: u64) -> u64 {
    let secs = until_unix_nano.saturating_sub(since_unix_nano) / 1_000_000_000;
    BUCKET_WIDTHS
        .into_iter()
        .find(|w| secs / w <= TARGET_BUCKETS)
        .unwrap_or(BUCKET_WIDTHS[BUCKET_WIDTHS.len() - 1])
}

/// A bucket's axis label: the time of day within a day's range, else the date too.
fn bucket_label(rfc3339: &str, bucket_seconds: u64, range_nanos: u64) -> String {
    let t = format::time(rfc3339); // "YYYY-MM-DD HH:MM:SS"
    if range_nanos <= 86_400_000_000_000 {
        let clock = t.get(11..).unwrap_or(&t);
        if bucket_seconds < 60 {
            clock.to_string()
        } else {
            clock.get(..5).unwrap_or(clock).to_string()
        }
    } else {
        t.get(5..16).unwrap_or(&t).to_string()
    }
}

/// A bucket width in words: `30 s`, `5 min`, `3 h`, `1 day`.
fn width_words(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} day{}", s / 86_400, if s == 86_400 { "" } else { "s" }),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Everything the dashboard shows, read by the server from the query layer.
pub struct DashboardData<'a> {
    /// Range start, Unix nanoseconds.
    pub since_unix_nano: u64,
    /// Range end.
    pub until_unix_nano: u64,
    /// Bucket width of `series`.
    pub bucket_seconds: u64,
    /// Per-model statistics per bucket.
    pub series: &'a StatsView,
    /// Per-model statistics of the whole range.
    pub models: &'a StatsView,
    /// Costliest traces of the range.
    pub costliest: &'a TraceListView,
    /// Slowest traces of the range.
    pub slowest: &'a TraceListView,
    /// Per-service statistics per bucket, for the score charts by service (`None`: not read,
    /// as when the range has no score).
    pub services: Option<&'a StatsView>,
}

/// Sums of the per-model statistics.
#[derive(Default)]
struct Totals {
    calls: u64,
    errors: u64,
    input: u64,
    output: u64,
    cache_read: u64,
    cost: f64,
    unpriced: u64,
}

impl Totals {
    fn of<'a>(groups: impl IntoIterator<Item = &'a StatsGroupView>) -> Totals {
        let mut t = Totals::default();
        for g in groups {
            t.calls += g.calls;
            t.errors += g.errors;
            t.input += g.input_tokens;
            t.output += g.output_tokens;
            t.cache_read += g.cache_read_tokens;
            t.cost += g.cost_usd.unwrap_or(0.0);
            t.unpriced += g.unpriced_calls;
        }
        t
    }
}

fn model_name(g: &StatsGroupView) -> String {
    g.key.clone().unwrap_or_else(|| "(no model)".into())
}

fn percent(num: u64, den: u64) -> String {
    if den == 0 {
        "–".into()
    } else {
        format!("{:.1}%", num as f64 * 100.0 / den as f64)
    }
}

/// The series' groups by bucket start (RFC 3339) and model.
type Grid<'a> = BTreeMap<String, Vec<&'a StatsGroupView>>;

fn grid<'a>(series: &'a StatsView) -> Grid<'a> {
    let mut g: Grid<'a> = BTreeMap::new();
    for group in &series.groups {
        if let Some(b) = &group.bucket_start {
            g.entry(b.clone()).or_default().push(group);
        }
    }
    g
}

/// Per bucket, the value `f` takes over the groups of that bucket (all models, or one).
fn per_bucket(
    buckets: &[String],
    grid: &Grid<'_>,
    model: Option<&str>,
    f: &dyn Fn(&[&StatsGroupView]) -> Option<f64>,
) -> Vec<Option<f64>> {
    buckets
        .iter()
        .map(|b| {
            let groups: Vec<&StatsGroupView> = grid
                .get(b)
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|g| model.is_none_or(|m| g.key.as_deref() == Some(m)))
                        .collect()
                })
                .unwrap_or_default();
            if groups.is_empty() {
                None
            } else {
                f(&groups)
            }
        })
        .collect()
}

fn series(name: &str, values: Vec<Option<f64>>, color: usize, dash: Dash) -> Series {
    Series {
        name: name.into(),
        values,
        dash,
        color,
    }
}

fn filters(form: &DashboardForm) -> Markup {
    let range = form.range();
    let presets = [
        RangePreset::M15,
        RangePreset::H1,
        RangePreset::H24,
        RangePreset::D7,
    ];
    html! {
        form.filters method="get" action="/dashboard" aria-label="Dashboard filters" {
            label {
                span { "Time" }
                select name="range" {
                    @for p in presets {
                        option value=(p.key()) selected[p == range] { (p.label()) }
                    }
                }
            }
            label { span { "From (RFC 3339)" } input type="text" name="since" value=[set(&form.since)] placeholder="2026-01-01T00:00:00Z"; }
            label { span { "To" } input type="text" name="until" value=[set(&form.until)]; }
            label { span { "Service" } input type="text" name="service" value=[set(&form.service)] placeholder="any"; }
            label { span { "Model" } input type="text" name="model" value=[set(&form.model)] placeholder="any"; }
            label { span { "Provider" } input type="text" name="provider" value=[set(&form.provider)] placeholder="any"; }
            div.actions {
                button type="submit" { "Apply" }
                a href="/dashboard" { "Clear" }
            }
        }
    }
}

fn trace_table(caption: &str, list: &TraceListView, id: &str) -> Markup {
    html! {
        section.half aria-labelledby=(id) {
            h2 id=(id) { (caption) }
            @if list.traces.is_empty() {
                p.dim { "No traces in this range." }
            } @else {
                table.traces {
                    thead { tr { th scope="col" { "Trace" } th scope="col" { "Start (UTC)" } th scope="col" { "Duration" } th scope="col" { "LLM calls" } th scope="col" { "Cost" } } }
                    tbody { @for t in &list.traces {
                        tr.failed[t.error_count > 0] {
                            td.name { a href={ "/traces/" (t.trace_id) } { (if t.root_name.is_empty() { "(unnamed)" } else { &t.root_name }) } }
                            td { (format::time(&t.start_time)) }
                            td.num { (format::duration_ms(t.duration_ms)) }
                            td.num { (t.llm_call_count) }
                            td.num { (format::cost(t.cost_usd, t.unpriced_span_count)) }
                        }
                    } }
                }
            }
        }
    }
}

fn model_table(models: &StatsView, since: &str, until: &str) -> Markup {
    html! {
        section aria-labelledby="per-model" {
            h2 #per-model { "Per model" }
            @if models.groups.is_empty() {
                p.dim { "No model calls in this range." }
            } @else {
                table.traces #model-table {
                    thead { tr {
                        th scope="col" { "Model" } th scope="col" { "Calls" } th scope="col" { "Errors" }
                        th scope="col" { "Input tokens" } th scope="col" { "Output tokens" } th scope="col" { "Cache hit" }
                        th scope="col" { "Cost" } th scope="col" { "p50" } th scope="col" { "p95" } th scope="col" { "p99" }
                    } }
                    tbody { @for g in &models.groups {
                        tr.failed[g.errors > 0] {
                            td.name {
                                @if let Some(m) = &g.key {
                                    a href={ "/?model=" (url_encode(m)) "&since=" (url_encode(since)) "&until=" (url_encode(until)) } { (m) }
                                } @else { "(no model)" }
                                @if g.unpriced_calls > 0 { " " span.badge.warn title="Calls without a price: cost unknown" { "no price" } }
                            }
                            td.num { (format::count(g.calls)) }
                            td.num { (format::count(g.errors)) " (" (percent(g.errors, g.calls)) ")" }
                            td.num { (format::count(g.input_tokens)) }
                            td.num { (format::count(g.output_tokens)) }
                            td.num { (percent(g.cache_read_tokens, g.input_tokens)) }
                            td.num { (format::cost(g.cost_usd, g.unpriced_calls)) }
                            td.num { (format::duration_ms(g.p50_ms)) }
                            td.num { (format::duration_ms(g.p95_ms)) }
                            td.num { (format::duration_ms(g.p99_ms)) }
                        }
                    } }
                }
            }
        }
    }
}

/// Models of the range, most calls first, at most `n` (the rest are summed as "other" where a
/// chart stacks them).
fn top_models(models: &StatsView, n: usize, by_cost: bool) -> Vec<String> {
    let mut m: Vec<&StatsGroupView> = models.groups.iter().collect();
    if by_cost {
        m.sort_by(|a, b| {
            let cost = |g: &StatsGroupView| g.cost_usd.unwrap_or(0.0);
            cost(b).total_cmp(&cost(a))
        });
    } else {
        m.sort_by_key(|g| std::cmp::Reverse(g.calls));
    }
    m.into_iter().take(n).map(model_name).collect()
}

/// The bucket starts (RFC 3339) of the range and their axis labels.
fn axis(data: &DashboardData<'_>) -> (Vec<String>, Vec<String>) {
    let width = data.bucket_seconds.saturating_mul(1_000_000_000).max(1);
    let first = data.since_unix_nano - data.since_unix_nano % width;
    let buckets: Vec<String> = (0..)
        .map(|i| first + i * width)
        .take_while(|b| *b < data.until_unix_nano)
        .map(format_rfc3339_nanos)
        .collect();
    let labels: Vec<String> = buckets
        .iter()
        .map(|b| {
            bucket_label(
                b,
                data.bucket_seconds,
                data.until_unix_nano - data.since_unix_nano,
            )
        })
        .collect();
    (buckets, labels)
}

fn charts(data: &DashboardData<'_>) -> Markup {
    let (buckets, labels) = axis(data);
    let g = grid(data.series);
    let sum = |f: fn(&StatsGroupView) -> f64| {
        move |gs: &[&StatsGroupView]| Some(gs.iter().map(|g| f(g)).sum::<f64>())
    };
    let count_fmt = |v: f64| format::count(v.round() as u64);
    let calls = vec![
        series(
            "succeeded",
            per_bucket(&buckets, &g, None, &sum(|g| (g.calls - g.errors) as f64)),
            0,
            Dash::Solid,
        ),
        series(
            "failed",
            per_bucket(&buckets, &g, None, &sum(|g| g.errors as f64)),
            1,
            Dash::Solid,
        ),
    ];
    let tokens = vec![
        series(
            "input (not cached)",
            per_bucket(
                &buckets,
                &g,
                None,
                &sum(|g| g.input_tokens.saturating_sub(g.cache_read_tokens) as f64),
            ),
            0,
            Dash::Solid,
        ),
        series(
            "cache read",
            per_bucket(&buckets, &g, None, &sum(|g| g.cache_read_tokens as f64)),
            2,
            Dash::Solid,
        ),
        series(
            "output",
            per_bucket(&buckets, &g, None, &sum(|g| g.output_tokens as f64)),
            4,
            Dash::Solid,
        ),
    ];
    let cost_models = top_models(data.models, 6, true);
    let mut cost: Vec<Series> = cost_models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            series(
                m,
                per_bucket(&buckets, &g, Some(m), &sum(|g| g.cost_usd.unwrap_or(0.0))),
                i,
                Dash::Solid,
            )
        })
        .collect();
    if data.models.groups.len() > cost_models.len() {
        let others = |gs: &[&StatsGroupView]| {
            Some(
                gs.iter()
                    .filter(|g| !cost_models.contains(&model_name(g)))
                    .map(|g| g.cost_usd.unwrap_or(0.0))
                    .sum::<f64>(),
            )
        };
        cost.push(series(
            "other models",
            per_bucket(&buckets, &g, None, &others),
            6,
            Dash::Solid,
        ));
    }
    let cache_ratio = vec![series(
        "",
        per_bucket(&buckets, &g, None, &|gs| {
            let input: u64 = gs.iter().map(|g| g.input_tokens).sum();
            let read: u64 = gs.iter().map(|g| g.cache_read_tokens).sum();
            (input > 0).then(|| read as f64 / input as f64)
        }),
        2,
        Dash::Solid,
    )];
    let latency_models = top_models(data.models, 4, false);
    let usd = |v: f64| format::usd(Some(v));
    let ms = |v: f64| format::duration_ms(v);
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    html! {
        div.charts {
            (charts::bars("Model calls and errors", &labels, &calls, &count_fmt))
            (charts::bars("Tokens (input, cache read, output)", &labels, &tokens, &count_fmt))
            (charts::bars("Cost by model (USD)", &labels, &cost, &usd))
            (charts::lines("Cache hit ratio (cache-read share of input tokens)", &labels, &cache_ratio, Some(1.0), &pct))
            @for (i, m) in latency_models.iter().enumerate() {
                @let per = |f: fn(&StatsGroupView) -> f64| per_bucket(&buckets, &g, Some(m), &move |gs: &[&StatsGroupView]| gs.first().map(|g| f(g)));
                (charts::lines(&format!("Latency of {m}: p50, p95, p99"), &labels, &[
                    series("p50", per(|g| g.p50_ms), i, Dash::Solid),
                    series("p95", per(|g| g.p95_ms), i, Dash::Dashed),
                    series("p99", per(|g| g.p99_ms), i, Dash::Dotted),
                ], None, &ms))
            }
        }
    }
}

/// The dashboard for `form`, showing `data` (or the error that prevented reading it).
pub fn dashboard_page(form: &DashboardForm, data: Result<&DashboardData<'_>, &str>) -> String {
    let body = html! {
        h1 { "Dashboard" }
        (filters(form))
        @match data {
            Err(m) => { p.error role="alert" { (m) } }
            Ok(data) => {
                @let since = format_rfc3339_nanos(data.since_unix_nano);
                @let until = format_rfc3339_nanos(data.until_unix_nano);
                @let t = Totals::of(&data.models.groups);
                p.dim { "From " time datetime=(since) { (format::time(&since)) } " to " time datetime=(until) { (format::time(&until)) } " UTC, in buckets of " (width_words(data.bucket_seconds)) "." }
                dl.totals #dashboard-totals data-since=(since) data-until=(until) {
                    div { dt { "Model calls" } dd #total-calls data-value=(t.calls) { (format::count(t.calls)) } }
                    div { dt { "Errors" } dd #total-errors data-value=(t.errors) { (format::count(t.errors)) " (" (percent(t.errors, t.calls)) ")" } }
                    div { dt { "Input tokens" } dd #total-input data-value=(t.input) { (format::count(t.input)) } }
                    div { dt { "Output tokens" } dd #total-output data-value=(t.output) { (format::count(t.output)) } }
                    div { dt { "Cache hit ratio" } dd { (percent(t.cache_read, t.input)) } }
                    div { dt { "Cost" } dd #total-cost data-value=(format!("{:.12}", t.cost)) {
                        (format::cost((t.calls == 0 || t.unpriced < t.calls).then_some(t.cost), t.unpriced))
                    } }
                }
                @if t.calls == 0 {
                    section.empty {
                        h2 { "No model calls in this range" }
                        p { "Widen the range, clear the filters, or send a first trace: point an OpenTelemetry exporter at this server (" code { "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318" } ")." }
                    }
                } @else {
                    (charts(data))
                }
                @if !data.series.scores.is_empty() {
                    @let (buckets, labels) = axis(data);
                    (crate::score_charts::score_charts(data.series, data.services, &buckets, &labels))
                }
                div.pair {
                    (trace_table("Costliest traces", data.costliest, "costliest"))
                    (trace_table("Slowest traces", data.slowest, "slowest"))
                }
                (model_table(data.models, &since, &until))
            }
        }
    };
    layout::page("Dashboard", Nav::Dashboard, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn buckets_fit_the_range() {
        assert_eq!(bucket_seconds(0, 900 * S), 30);
        assert_eq!(bucket_seconds(0, 3600 * S), 60);
        assert_eq!(bucket_seconds(0, 86_400 * S), 1800);
        assert_eq!(bucket_seconds(0, 7 * 86_400 * S), 10_800);
    }

    #[test]
    fn window_from_presets_and_custom_range() {
        let now = 100_000 * S;
        let f = DashboardForm::default();
        assert_eq!(f.window(now).unwrap(), (now - 86_400 * S, now));
        let f = DashboardForm {
            range: Some("1h".into()),
            ..Default::default()
        };
        assert_eq!(f.window(now).unwrap(), (now - 3600 * S, now));
        let f = DashboardForm {
            since: Some("1970-01-01T00:00:10Z".into()),
            until: Some("1970-01-01T00:00:20Z".into()),
            ..Default::default()
        };
        assert_eq!(f.window(now).unwrap(), (10 * S, 20 * S));
        let f = DashboardForm {
            since: Some("1970-01-01T00:00:30Z".into()),
            until: Some("1970-01-01T00:00:20Z".into()),
            ..Default::default()
        };
        assert!(f.window(now).is_err());
    }

    #[test]
    fn totals_charts_and_tables_render() {
        let stats: StatsView = serde_json::from_value(serde_json::json!({
            "group_by": "model", "since": null, "until": null, "bucket_seconds": 60,
            "groups": [
                {"bucket_start": "1970-01-01T00:01:00.000000000Z", "key": "gpt-4o", "calls": 3, "errors": 1, "error_rate": 0.33,
                 "input_tokens": 100, "output_tokens": 10, "cache_read_tokens": 50, "cache_write_tokens": 0,
                 "reasoning_tokens": 0, "cost_usd": 0.5, "unpriced_calls": 0, "p50_ms": 10.0, "p95_ms": 20.0, "p99_ms": 30.0},
                {"bucket_start": "1970-01-01T00:02:00.000000000Z", "key": "<b>x</b>", "calls": 1, "errors": 0, "error_rate": 0.0,
                 "input_tokens": 5, "output_tokens": 1, "cache_read_tokens": 0, "cache_write_tokens": 0,
                 "reasoning_tokens": 0, "cost_usd": null, "unpriced_calls": 1, "p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0}
            ]
        }))
        .unwrap();
        let mut models = stats.clone();
        for g in &mut models.groups {
            g.bucket_start = None;
        }
        let empty = TraceListView {
            traces: vec![],
            next_cursor: None,
        };
        let data = DashboardData {
            since_unix_nano: 60 * S,
            until_unix_nano: 240 * S,
            bucket_seconds: 60,
            series: &stats,
            models: &models,
            costliest: &empty,
            slowest: &empty,
            services: None,
        };
        let html = dashboard_page(&DashboardForm::default(), Ok(&data));
        assert!(html.contains(r#"id="total-calls" data-value="4""#));
        assert!(html.contains(r#"id="total-errors" data-value="1""#));
        // The total is partial (one call unpriced); the unpriced model's own cost is unknown,
        // not $0.
        assert!(html.contains("≥ $0.50"), "{html}");
        assert!(html.contains("1 call unpriced"));
        assert!(html.contains(r#"<span class="unknown-cost""#));
        assert!(html.contains("Latency of gpt-4o: p50, p95, p99"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(!html.contains("<b>x</b>"));
        // 3 buckets (1, 2, 3 minutes): the calls chart has the bars of the two with data.
        assert!(html.contains("00:01 · failed: 1"));
        assert!(html.contains("00:02 · succeeded: 1"));
        assert!(html.contains("in buckets of 1 min."));
        assert_eq!(
            bucket_label("2026-01-02T03:04:05Z", 30, 900 * S),
            "03:04:05"
        );
        assert_eq!(
            bucket_label("2026-01-02T03:04:05Z", 10_800, 7 * 86_400 * S),
            "01-02 03:04"
        );
        assert_eq!(width_words(86_400), "1 day");
        assert_eq!(width_words(10_800), "3 h");
    }
}
