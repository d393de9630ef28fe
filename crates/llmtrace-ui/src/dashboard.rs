//! The dashboard: for a time range and optional filters, the totals, charts over time (calls
//! and errors by model, tokens, cost by model, latency percentiles by model, cache hit ratio),
//! the costliest and slowest traces, and a table per model. Every bar and point links to the
//! trace list of its bucket and series; a model has one colour in every chart
//! ([`crate::charts::Colors`]). The range and its fitting to the data are in [`range`].

mod range;

pub use range::{
    bucket_seconds, last_hour_with_data, young_since, DashboardForm, RangeFit,
    DEFAULT_RANGE_SECONDS, MIN_FITTED_SECONDS,
};

use crate::charts::{self, Axis, Colors, Dash, Hue, Series, Unit};
use crate::format;
use crate::layout::{self, Nav};
use crate::traces::{set, url_encode};
use llmtrace_query::{format_rfc3339_nanos, StatsGroupView, StatsView, TraceListView};
use maud::{html, Markup};
use std::collections::BTreeMap;

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
    /// How the range was chosen (as asked, or fitted to the data).
    pub fit: RangeFit,
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
            t.calls = t.calls.saturating_add(g.calls);
            t.errors = t.errors.saturating_add(g.errors);
            t.input = t.input.saturating_add(g.input_tokens);
            t.output = t.output.saturating_add(g.output_tokens);
            t.cache_read = t.cache_read.saturating_add(g.cache_read_tokens);
            t.cost += g.cost_usd.unwrap_or(0.0);
            t.unpriced = t.unpriced.saturating_add(g.unpriced_calls);
        }
        t
    }
}

/// The legend name of a model group.
fn model_name(g: &StatsGroupView) -> String {
    g.key.clone().unwrap_or_else(|| NO_MODEL.into())
}

/// The name of calls without a model.
const NO_MODEL: &str = "(no model)";
/// The name of the models summed together past the charted ones.
const OTHER_MODELS: &str = "other models";

/// A stored count as a chart value.
fn float(n: u64) -> f64 {
    charts::count_value(n)
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

/// Which groups of a bucket a series sums: all, one model's, or those of no charted model.
#[derive(Clone, Copy)]
enum Pick<'a> {
    All,
    Model(&'a str),
    Others(&'a [String]),
}

impl Pick<'_> {
    fn takes(&self, g: &StatsGroupView) -> bool {
        match self {
            Pick::All => true,
            Pick::Model(m) => model_name(g) == *m,
            Pick::Others(charted) => !charted.contains(&model_name(g)),
        }
    }
}

/// Per bucket, the value `f` takes over the groups of that bucket that `pick` takes.
fn per_bucket(
    buckets: &[String],
    grid: &Grid<'_>,
    pick: Pick<'_>,
    f: &dyn Fn(&[&StatsGroupView]) -> Option<f64>,
) -> Vec<Option<f64>> {
    buckets
        .iter()
        .map(|b| {
            let groups: Vec<&StatsGroupView> = grid
                .get(b)
                .map(|v| v.iter().copied().filter(|g| pick.takes(g)).collect())
                .unwrap_or_default();
            if groups.is_empty() {
                None
            } else {
                f(&groups)
            }
        })
        .collect()
}

/// The sum of `f` over groups, as a per-bucket function.
fn sum(f: fn(&StatsGroupView) -> f64) -> impl Fn(&[&StatsGroupView]) -> Option<f64> {
    move |gs: &[&StatsGroupView]| Some(gs.iter().map(|g| f(g)).sum::<f64>())
}

fn series(
    name: &str,
    values: Vec<Option<f64>>,
    hue: Hue,
    dash: Dash,
    link: Option<Vec<(String, String)>>,
) -> Series {
    Series {
        name: name.into(),
        values,
        dash,
        hue,
        link,
    }
}

/// The form's own filters, as trace-list parameters (a chart's links keep them).
fn base_filters(form: &DashboardForm) -> Vec<(String, String)> {
    let (service, model, provider) = form.filters();
    [
        ("service", service),
        ("model", model),
        ("provider", provider),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
    .collect()
}

/// `base` with `extra` set (replacing a parameter of the same name).
pub(crate) fn with_filters(
    base: &[(String, String)],
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = base
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .cloned()
        .collect();
    out.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out
}

/// The link filters of a model's series (`None` for calls without a model, which no filter
/// selects).
fn model_link(
    base: &[(String, String)],
    model: &str,
    extra: &[(&str, &str)],
) -> Option<Vec<(String, String)>> {
    (model != NO_MODEL).then(|| {
        let mut e = vec![("model", model)];
        e.extend_from_slice(extra);
        with_filters(base, &e)
    })
}

fn filters(form: &DashboardForm) -> Markup {
    let chosen = form.preset().ok().flatten();
    html! {
        form.filters method="get" action="/dashboard" aria-label="Dashboard filters" {
            label {
                span { "Time" }
                select name="range" {
                    @let custom = set(&form.since).is_some() || set(&form.until).is_some();
                    option value="" selected[chosen.is_none() && !custom] { "Fit to the data" }
                    @for p in range::PRESETS {
                        option value=(p.key()) selected[Some(p) == chosen && !custom] { (p.label()) }
                    }
                    option value="custom" selected[custom] { "Custom range…" }
                }
            }
            (crate::traces::custom_range_inputs(&form.since, &form.until))
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
                div.scroll { table.traces {
                    thead { tr { th scope="col" { "Trace" } th scope="col" { "Start" } th scope="col" { "Duration" } th scope="col" { "LLM calls" } th scope="col" { "Cost" } } }
                    tbody { @for t in &list.traces {
                        tr.failed[t.error_count > 0] {
                            td.name { a href={ "/traces/" (url_encode(&t.trace_id)) } { (if t.root_name.is_empty() { "(unnamed)" } else { &t.root_name }) } }
                            td { (format::when(&t.start_time)) }
                            td.num { (format::duration_ms(t.duration_ms)) }
                            td.num { (t.llm_call_count) }
                            td.num { (format::cost(t.cost_usd, t.unpriced_span_count)) }
                        }
                    } }
                } }
            }
        }
    }
}

fn model_table(models: &StatsView, base: &[(String, String)], since: &str, until: &str) -> Markup {
    html! {
        section aria-labelledby="per-model" {
            h2 #per-model { "Per model" }
            @if models.groups.is_empty() {
                p.dim { "No model calls in this range." }
            } @else {
                div.scroll { table.traces #model-table {
                    thead { tr {
                        th scope="col" { "Model" } th scope="col" { "Calls" } th scope="col" { "Errors" }
                        th scope="col" { "Input tokens" } th scope="col" { "Output tokens" } th scope="col" { "Cache hit" }
                        th scope="col" { "Cost" } th scope="col" { "p50" } th scope="col" { "p95" } th scope="col" { "p99" }
                    } }
                    tbody { @for g in &models.groups {
                        tr.failed[g.errors > 0] {
                            td.name {
                                @if let Some(m) = &g.key {
                                    a href=(model_href(base, m, since, until)) { (m) }
                                } @else { (NO_MODEL) }
                                @if g.unpriced_calls > 0 { " " span.badge.warn title="Calls without a price: cost unknown" { "no price" } }
                            }
                            td.num { (format::count(g.calls)) }
                            td.num { (format::count(g.errors)) " (" (format::share(g.errors, g.calls)) ")" }
                            td.num { (format::count(g.input_tokens)) }
                            td.num { (format::count(g.output_tokens)) }
                            td.num { (format::share(g.cache_read_tokens, g.input_tokens)) }
                            td.num { (format::cost(g.cost_usd, g.unpriced_calls)) }
                            td.num { (format::duration_ms(g.p50_ms)) }
                            td.num { (format::duration_ms(g.p95_ms)) }
                            td.num { (format::duration_ms(g.p99_ms)) }
                        }
                    } }
                } }
            }
        }
    }
}

/// The trace list of model `m` in the range (with the form's other filters).
fn model_href(base: &[(String, String)], m: &str, since: &str, until: &str) -> String {
    let mut q = vec![
        ("since".to_string(), since.to_string()),
        ("until".to_string(), until.to_string()),
    ];
    q.extend(with_filters(base, &[("model", m)]));
    format!("/?{}", query(&q))
}

/// A query string of `pairs`, encoded.
fn query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Models of the range, most calls (or cost, or errors) first, at most `n` (the rest are
/// summed as "other models" where a chart stacks them).
fn top_models(models: &StatsView, n: usize, by: fn(&StatsGroupView) -> f64) -> Vec<String> {
    let mut m: Vec<&StatsGroupView> = models.groups.iter().filter(|g| by(g) > 0.0).collect();
    m.sort_by(|a, b| by(b).total_cmp(&by(a)).then_with(|| a.key.cmp(&b.key)));
    m.into_iter().take(n).map(model_name).collect()
}

/// The colours of the page's keys: the models by name, then the services and score labels of
/// the score charts (a key keeps one colour in every chart).
fn page_colors(data: &DashboardData<'_>) -> Colors {
    let mut models: Vec<String> = data.models.groups.iter().map(model_name).collect();
    models.sort();
    let mut others: Vec<String> = data
        .services
        .iter()
        .flat_map(|s| s.scores.iter().map(crate::score_charts::key_name))
        .chain(
            data.series
                .scores
                .iter()
                .flat_map(|s| s.labels.keys().cloned()),
        )
        .collect();
    others.sort();
    Colors::new(models.into_iter().chain(others))
}

/// The bucket starts (RFC 3339) of the range and the chart axis: labels and each bucket's
/// window within the range (for the links to the trace list).
fn axis(data: &DashboardData<'_>) -> (Vec<String>, Axis) {
    let width = data.bucket_seconds.saturating_mul(1_000_000_000).max(1);
    let first = data.since_unix_nano - data.since_unix_nano % width;
    let starts: Vec<u64> = (0..100_000u64)
        .map(|i| first.saturating_add(i.saturating_mul(width)))
        .take_while(|b| *b < data.until_unix_nano)
        .collect();
    let buckets: Vec<String> = starts.iter().map(|b| format_rfc3339_nanos(*b)).collect();
    let range = data.until_unix_nano.saturating_sub(data.since_unix_nano);
    let labels = buckets
        .iter()
        .map(|b| bucket_label(b, data.bucket_seconds, range))
        .collect();
    let windows = starts
        .iter()
        .map(|b| {
            (
                format_rfc3339_nanos((*b).max(data.since_unix_nano)),
                format_rfc3339_nanos(b.saturating_add(width).min(data.until_unix_nano)),
            )
        })
        .collect();
    (buckets, Axis { labels, windows })
}

fn charts(data: &DashboardData<'_>, form: &DashboardForm, colors: &Colors) -> Markup {
    let (buckets, axis) = axis(data);
    let g = grid(data.series);
    let base = base_filters(form);
    // Calls, errors and cost by model: the top models, then the rest summed (not linked: no
    // filter selects "every other model").
    let by_model =
        |top: &[String], f: fn(&StatsGroupView) -> f64, extra: &[(&str, &str)]| -> Vec<Series> {
            let mut out: Vec<Series> = top
                .iter()
                .map(|m| {
                    series(
                        m,
                        per_bucket(&buckets, &g, Pick::Model(m), &sum(f)),
                        colors.hue(m),
                        Dash::Solid,
                        model_link(&base, m, extra),
                    )
                })
                .collect();
            let rest = per_bucket(&buckets, &g, Pick::Others(top), &sum(f));
            if rest.iter().flatten().any(|v| *v > 0.0) {
                out.push(series(OTHER_MODELS, rest, Hue::Dim, Dash::Solid, None));
            }
            out
        };
    let calls_of = |g: &StatsGroupView| float(g.calls);
    let errors_of = |g: &StatsGroupView| float(g.errors);
    let cost_of = |g: &StatsGroupView| g.cost_usd.unwrap_or(0.0);
    let calls = by_model(&top_models(data.models, 6, calls_of), calls_of, &[]);
    let errors = by_model(
        &top_models(data.models, 6, errors_of),
        errors_of,
        &[("status", "error")],
    );
    let cost = by_model(&top_models(data.models, 6, cost_of), cost_of, &[]);
    let window_link = Some(base.clone());
    let tokens = vec![
        series(
            "input (not cached)",
            per_bucket(
                &buckets,
                &g,
                Pick::All,
                &sum(|g| float(g.input_tokens.saturating_sub(g.cache_read_tokens))),
            ),
            Hue::Shade(1),
            Dash::Solid,
            window_link.clone(),
        ),
        series(
            "cache read",
            per_bucket(
                &buckets,
                &g,
                Pick::All,
                &sum(|g| float(g.cache_read_tokens)),
            ),
            Hue::Shade(2),
            Dash::Solid,
            window_link.clone(),
        ),
        series(
            "output",
            per_bucket(&buckets, &g, Pick::All, &sum(|g| float(g.output_tokens))),
            Hue::Shade(0),
            Dash::Solid,
            window_link.clone(),
        ),
    ];
    let cache_ratio = vec![series(
        "",
        per_bucket(&buckets, &g, Pick::All, &|gs| {
            let input: u64 = gs.iter().map(|g| g.input_tokens).sum();
            let read: u64 = gs.iter().map(|g| g.cache_read_tokens).sum();
            (input > 0).then(|| float(read) / float(input))
        }),
        Hue::Shade(1),
        Dash::Solid,
        window_link,
    )];
    let latency_models = top_models(data.models, 4, calls_of);
    let latency = |m: &str, f: fn(&StatsGroupView) -> f64, dash: Dash, name: &str| {
        series(
            name,
            per_bucket(
                &buckets,
                &g,
                Pick::Model(m),
                &move |gs: &[&StatsGroupView]| gs.first().map(|g| f(g)),
            ),
            colors.hue(m),
            dash,
            model_link(&base, m, &[]),
        )
    };
    html! {
        div.charts {
            (charts::bars("Model calls by model", &axis, &calls, Unit::Count))
            (charts::bars(if errors.is_empty() { "Failed calls by model (none in this range)" } else { "Failed calls by model" }, &axis, &errors, Unit::Count))
            (charts::bars("Tokens (input, cache read, output)", &axis, &tokens, Unit::Count))
            (charts::bars("Cost by model", &axis, &cost, Unit::Usd))
            (charts::lines("Cache hit ratio (cache-read share of input tokens)", &axis, &cache_ratio, Unit::Ratio))
            @for m in &latency_models {
                (charts::lines(&format!("Latency of {m}: p50, p95, p99"), &axis, &[
                    latency(m, |g| g.p50_ms, Dash::Solid, "p50"),
                    latency(m, |g| g.p95_ms, Dash::Dashed, "p95"),
                    latency(m, |g| g.p99_ms, Dash::Dotted, "p99"),
                ], Unit::Millis))
            }
        }
        @if !data.series.scores.is_empty() {
            (crate::score_charts::score_charts(data.series, data.services, &buckets, &axis, colors, &base))
        }
    }
}

/// What the page says about a range fitted to the data.
fn fit_note(fit: RangeFit) -> Markup {
    html! {
        @match fit {
            RangeFit::Asked => {}
            RangeFit::Young { first_data } => {
                @let first = format_rfc3339_nanos(first_data);
                p.note #range-note { "The range fits the data: the first model call came in the bucket from " (format::when(&first)) " and nothing is older (the range shows at least 15 minutes). Choose a range to see another time." }
            }
            RangeFit::LastHourWithData { newest } => {
                @let newest = format_rfc3339_nanos(newest);
                p.note #range-note { "Showing the last hour with data: nothing in the last 24 hours; the newest trace started at " (format::when(&newest)) ". Choose a range to see another time." }
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
                @let colors = page_colors(data);
                (fit_note(data.fit))
                p.dim #range { "From " (format::when(&since)) " to " (format::when(&until)) ", in buckets of " (width_words(data.bucket_seconds)) " (chart times in UTC)." }
                dl.totals #dashboard-totals data-since=(since) data-until=(until) {
                    div { dt { "Model calls" } dd #total-calls data-value=(t.calls) { (format::count(t.calls)) } }
                    div { dt { "Errors" } dd #total-errors data-value=(t.errors) { (format::count(t.errors)) " (" (format::share(t.errors, t.calls)) ")" } }
                    div { dt { "Input tokens" } dd #total-input data-value=(t.input) { (format::count(t.input)) } }
                    div { dt { "Output tokens" } dd #total-output data-value=(t.output) { (format::count(t.output)) } }
                    div { dt { "Cache hit ratio" } dd { (format::share(t.cache_read, t.input)) } }
                    div { dt { "Cost" } dd #total-cost data-value=(format!("{:.12}", t.cost)) {
                        (format::cost((t.calls == 0 || t.unpriced < t.calls).then_some(t.cost), t.unpriced))
                    } }
                }
                @if t.calls == 0 {
                    section.empty {
                        h2 { "No model calls in this range" }
                        p { "Widen the range, clear the filters, or send a first trace: point an OpenTelemetry exporter at this server (" code { "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318" } ")." }
                    }
                    @if !data.series.scores.is_empty() {
                        @let (buckets, axis) = axis(data);
                        (crate::score_charts::score_charts(data.series, data.services, &buckets, &axis, &colors, &base_filters(form)))
                    }
                } @else {
                    (charts(data, form, &colors))
                }
                div.pair {
                    (trace_table("Costliest traces", data.costliest, "costliest"))
                    (trace_table("Slowest traces", data.slowest, "slowest"))
                }
                (model_table(data.models, &base_filters(form), &since, &until))
            }
        }
    };
    layout::page("Dashboard", Nav::Dashboard, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn group(
        bucket: Option<&str>,
        key: &str,
        calls: u64,
        errors: u64,
        cost: Option<f64>,
    ) -> serde_json::Value {
        serde_json::json!({
            "bucket_start": bucket, "key": key, "calls": calls, "errors": errors, "error_rate": 0.0,
            "input_tokens": 100, "output_tokens": 10, "cache_read_tokens": 50, "cache_write_tokens": 0,
            "reasoning_tokens": 0, "cost_usd": cost, "unpriced_calls": if cost.is_none() { calls } else { 0 },
            "p50_ms": 10.0, "p95_ms": 20.0, "p99_ms": 1500.0
        })
    }

    fn stats(groups: Vec<serde_json::Value>) -> StatsView {
        serde_json::from_value(serde_json::json!({
            "group_by": "model", "since": null, "until": null, "bucket_seconds": 60, "groups": groups
        }))
        .unwrap()
    }

    fn render(series: &StatsView, fit: RangeFit, form: &DashboardForm) -> String {
        let mut models = series.clone();
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
            fit,
            series,
            models: &models,
            costliest: &empty,
            slowest: &empty,
            services: None,
        };
        dashboard_page(form, Ok(&data))
    }

    const B1: &str = "1970-01-01T00:01:00.000000000Z";
    const B2: &str = "1970-01-01T00:02:00.000000000Z";

    #[test]
    fn totals_charts_and_tables_render() {
        let s = stats(vec![
            group(Some(B1), "gpt-4o", 3, 1, Some(0.5)),
            group(Some(B2), "<b>x</b>", 1, 0, None),
        ]);
        let html = render(&s, RangeFit::Asked, &DashboardForm::default());
        assert!(html.contains(r#"id="total-calls" data-value="4""#));
        assert!(html.contains(r#"id="total-errors" data-value="1""#));
        // The shared percent format: 1 error in 4 calls, 100 of 200 input tokens cached.
        assert!(html.contains("1 (25%)"), "{html}");
        assert!(html.contains("<dd>50%</dd>"), "{html}");
        // The total is partial (one call unpriced); the unpriced model's own cost is unknown,
        // not $0.
        assert!(html.contains("≥ $0.50"), "{html}");
        assert!(html.contains("1 call unpriced"));
        assert!(html.contains(r#"<span class="unknown-cost""#));
        assert!(html.contains("Latency of gpt-4o: p50, p95, p99"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(!html.contains("<b>x</b>"));
        // 3 buckets (1, 2, 3 minutes): bars of the two with data, with their values.
        assert!(html.contains("00:01 · gpt-4o: 3"), "{html}");
        assert!(html.contains("00:01 · gpt-4o: 1"), "the failed call");
        assert!(html.contains("00:02 · &lt;b&gt;x&lt;/b&gt;: 1"), "{html}");
        assert!(html.contains("00:01 · gpt-4o: $0.50"), "{html}");
        assert!(html.contains("in buckets of 1 min"));
        // Axes: one unit each (latency up to 1.5 s: seconds; money in the shared format).
        assert!(html.contains(">1.5 s</text>"), "{html}");
        assert!(html.contains(">$0.60</text>"), "{html}");
        assert!(!html.contains("#000"));
        // Times are <time> elements the script localizes.
        assert!(html.contains(r#"<time class="when" datetime="1970-01-01T00:01:00.000000000Z""#));
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

    /// The fill classes of the bars and points of the model `m` in the chart captioned
    /// `caption`.
    fn classes_in(html: &str, caption: &str, m: &str) -> Vec<String> {
        let start = html.find(&format!("<figcaption>{caption}")).unwrap_or(0);
        let chart = html.get(start..).unwrap_or("");
        let chart = chart
            .get(..chart.find("</figure>").unwrap_or(chart.len()))
            .unwrap_or("");
        let mut out = Vec::new();
        for part in chart.split("class=\"").skip(1) {
            let class = part.split('"').next().unwrap_or("");
            if part.contains(&format!("data-series=\"{m}\""))
                && (class.starts_with("chart-bar ") || class.starts_with("chart-point "))
            {
                out.push(class.split(' ').nth(1).unwrap_or("").to_string());
            }
        }
        out
    }

    #[test]
    fn a_model_has_one_colour_in_every_chart_and_models_differ() {
        let models = [
            "gpt-4o",
            "claude-sonnet-4-6",
            "gemini-2.5-pro",
            "m0",
            "m1",
            "m2",
        ];
        let s = stats(
            models
                .iter()
                .map(|m| group(Some(B1), m, 2, 1, Some(0.1)))
                .collect(),
        );
        let html = render(&s, RangeFit::Asked, &DashboardForm::default());
        let mut seen = std::collections::BTreeSet::new();
        for m in &models[..4] {
            let calls = classes_in(&html, "Model calls by model", m);
            let cost = classes_in(&html, "Cost by model", m);
            let errors = classes_in(&html, "Failed calls by model", m);
            let latency = classes_in(&html, &format!("Latency of {m}"), "p50");
            assert_eq!(calls.len(), 1, "{m}: {html}");
            assert_eq!(calls, cost, "{m}");
            assert_eq!(calls, errors, "{m}");
            assert_eq!(Some(&calls[0]), latency.first(), "{m}");
            seen.insert(calls[0].clone());
        }
        assert_eq!(seen.len(), 4, "distinct models, distinct colours: {seen:?}");
        // The same rule on another page with other models: a model keeps its colour unless
        // it collides there.
        let alone = render(
            &stats(vec![group(Some(B1), "gpt-4o", 1, 0, Some(0.1))]),
            RangeFit::Asked,
            &DashboardForm::default(),
        );
        assert_eq!(
            classes_in(&alone, "Model calls by model", "gpt-4o"),
            [Hue::Key(charts::preferred_slot("gpt-4o")).class()]
        );
    }

    #[test]
    fn bars_and_points_link_to_the_traces_of_their_bucket_and_model() {
        let s = stats(vec![
            group(Some(B1), "gpt-4o", 3, 1, Some(0.5)),
            group(Some(B2), "", 1, 0, Some(0.1)),
        ]);
        let mut s = s;
        s.groups[1].key = None;
        let form = DashboardForm {
            service: Some("api".into()),
            ..Default::default()
        };
        let html = render(&s, RangeFit::Asked, &form);
        let window =
            "since=1970-01-01T00%3A01%3A00.000000000Z&amp;until=1970-01-01T00%3A02%3A00.000000000Z";
        assert!(
            html.contains(&format!(
                r#"<a href="/?{window}&amp;service=api&amp;model=gpt-4o""#
            )),
            "{html}"
        );
        assert!(
            html.contains(&format!(
                r#"<a href="/?{window}&amp;service=api&amp;model=gpt-4o&amp;status=error""#
            )),
            "{html}"
        );
        // Calls without a model: no filter selects them, so their bars do not link.
        assert!(html.contains(r#"data-series="(no model)""#));
        assert!(!html.contains("model=%28no%20model%29"), "{html}");
    }

    #[test]
    fn a_fitted_range_says_so() {
        let s = stats(vec![group(Some(B1), "gpt-4o", 1, 0, Some(0.1))]);
        let html = render(
            &s,
            RangeFit::LastHourWithData { newest: 100 * S },
            &DashboardForm::default(),
        );
        assert!(html.contains("Showing the last hour with data:"), "{html}");
        let html = render(
            &s,
            RangeFit::Young { first_data: 60 * S },
            &DashboardForm::default(),
        );
        assert!(
            html.contains("The range fits the data: the first model call came"),
            "{html}"
        );
        assert!(
            html.contains(r#"<option value="" selected>Fit to the data</option>"#),
            "{html}"
        );
        let html = render(&s, RangeFit::Asked, &DashboardForm::default());
        assert!(!html.contains("range-note"));
        let bad = DashboardForm {
            range: Some("forever".into()),
            ..Default::default()
        };
        let m = bad.window(0).err().unwrap_or_default();
        let html = dashboard_page(&bad, Err(&m));
        assert!(html.contains("unknown range &quot;forever&quot;"), "{html}");
    }
}
