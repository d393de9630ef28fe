//! The traces page: filters kept in the URL (score filters too), the table with a column per
//! most used score name, pagination; and the annotation queue (`/queue?score=NAME`), the same
//! list restricted to traces without a score of that name.

use crate::annotate::{query_string, score_cell};
use crate::format;
use crate::layout::{self, Nav};
use llmtrace_query::ScoreName;
use llmtrace_query::{TraceListParams, TraceListView, TraceSummaryView};
use maud::{html, Markup};
use serde::Deserialize;

/// Time range presets of the traces page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangePreset {
    /// Last 15 minutes.
    M15,
    /// Last hour.
    H1,
    /// Last 24 hours.
    H24,
    /// Last 7 days.
    D7,
    /// Everything.
    All,
}

impl RangePreset {
    pub(crate) const ALL: [RangePreset; 5] = [
        RangePreset::M15,
        RangePreset::H1,
        RangePreset::H24,
        RangePreset::D7,
        RangePreset::All,
    ];

    /// The URL value.
    pub fn key(self) -> &'static str {
        match self {
            RangePreset::M15 => "15m",
            RangePreset::H1 => "1h",
            RangePreset::H24 => "24h",
            RangePreset::D7 => "7d",
            RangePreset::All => "all",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            RangePreset::M15 => "Last 15 minutes",
            RangePreset::H1 => "Last hour",
            RangePreset::H24 => "Last 24 hours",
            RangePreset::D7 => "Last 7 days",
            RangePreset::All => "All time",
        }
    }

    /// Its length in seconds (`None`: unbounded).
    pub fn seconds(self) -> Option<u64> {
        match self {
            RangePreset::M15 => Some(15 * 60),
            RangePreset::H1 => Some(3600),
            RangePreset::H24 => Some(86_400),
            RangePreset::D7 => Some(7 * 86_400),
            RangePreset::All => None,
        }
    }

    pub(crate) fn parse(v: Option<&str>) -> RangePreset {
        RangePreset::ALL
            .into_iter()
            .find(|p| Some(p.key()) == v)
            .unwrap_or(RangePreset::All)
    }
}

/// The traces page's query string, as the browser sends it (every value a string; empty means
/// unset). Kept whole in the URL so a filter survives a reload and can be shared.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TracesForm {
    /// Full-text search over prompts and completions.
    pub q: Option<String>,
    /// Range preset (`15m`, `1h`, `24h`, `7d`, `all`); a custom `since`/`until` wins.
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
    /// `error` for failed traces only.
    pub status: Option<String>,
    /// User.
    pub user_id: Option<String>,
    /// Session.
    pub session_id: Option<String>,
    /// Minimum duration, milliseconds.
    pub min_duration_ms: Option<String>,
    /// Minimum cost, USD.
    pub min_cost: Option<String>,
    /// `time`, `cost` or `duration`.
    pub sort: Option<String>,
    /// Page position.
    pub cursor: Option<String>,
    /// Annotation queue (`/queue`): the score name the listed traces do not have yet.
    pub score: Option<String>,
    /// The `score.*` filters of the query string (`llmtrace_query::score_params`; serde leaves
    /// them out, see [`TracesForm::with_score_filters`]): an empty value is unset, `*` means any
    /// score of that name.
    #[serde(skip)]
    pub scores: Vec<(String, String)>,
}

/// Score columns the trace list shows at most (the most used names).
pub const SCORE_COLUMNS: usize = 4;

/// What the list shows beside the traces: the project's score names (most used first) and, on
/// the annotation queue, the score name it is for.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListContext<'a> {
    /// The project's score names, most used first.
    pub names: &'a [ScoreName],
    /// `Some` on the annotation queue page.
    pub queue: Option<&'a str>,
}

/// Which filter a `score.*` key sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScoreFilterPart {
    /// `score.NAME`: a label (`*`: any).
    Label,
    /// `score.NAME.min`.
    Min,
    /// `score.NAME.max`.
    Max,
}

/// The score name and part of a `score.*` key.
pub(crate) fn score_key(key: &str) -> Option<(&str, ScoreFilterPart)> {
    let rest = key.strip_prefix("score.")?;
    let (name, part) = if let Some(n) = rest.strip_suffix(".min") {
        (n, ScoreFilterPart::Min)
    } else if let Some(n) = rest.strip_suffix(".max") {
        (n, ScoreFilterPart::Max)
    } else {
        (rest, ScoreFilterPart::Label)
    };
    (!name.is_empty()).then_some((name, part))
}

/// A form field's value, trimmed, or `None` when empty.
pub(crate) fn set(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl TracesForm {
    /// The range preset chosen.
    pub fn range(&self) -> RangePreset {
        RangePreset::parse(self.range.as_deref())
    }

    /// This form with the `score.*` filters of `raw_query` (the page's whole query string).
    pub fn with_score_filters(mut self, raw_query: &str) -> Self {
        self.scores = llmtrace_query::score_params(raw_query);
        self
    }

    /// The score filters set (empty values left out).
    fn score_filters(&self) -> impl Iterator<Item = &(String, String)> {
        self.scores.iter().filter(|(_, v)| !v.trim().is_empty())
    }

    /// The value of one score filter, if set.
    fn score_filter(&self, name: &str, part: ScoreFilterPart) -> Option<&str> {
        self.score_filters()
            .find(|(k, _)| score_key(k) == Some((name, part)))
            .map(|(_, v)| v.as_str())
    }

    /// The API parameters of this form; `since_preset` is the RFC 3339 start of the preset
    /// range (the caller knows the clock), used unless a custom `since` is given.
    pub fn to_params(&self, since_preset: Option<String>) -> Result<TraceListParams, String> {
        let min_duration_ms = match set(&self.min_duration_ms) {
            Some(v) => Some(
                v.parse::<f64>()
                    .map_err(|_| format!("minimum duration {v:?} is not a number of ms"))?,
            ),
            None => None,
        };
        Ok(TraceListParams {
            q: set(&self.q),
            service: set(&self.service),
            model: set(&self.model),
            provider: set(&self.provider),
            status: set(&self.status),
            user_id: set(&self.user_id),
            session_id: set(&self.session_id),
            since: set(&self.since).or(since_preset),
            until: set(&self.until),
            min_duration_ms,
            min_cost: set(&self.min_cost),
            sort: set(&self.sort),
            limit: Some(50),
            cursor: set(&self.cursor),
            scores: self
                .score_filters()
                .map(|(k, v)| {
                    let v = v.trim();
                    (
                        k.clone(),
                        if v == "*" {
                            String::new()
                        } else {
                            v.to_string()
                        },
                    )
                })
                .collect(),
            without_score: set(&self.score),
        })
    }

    /// This form's query string with `cursor` replaced (for the next-page link).
    fn query_with_cursor(&self, cursor: &str) -> String {
        let mut pairs = self.pairs();
        pairs.push(("cursor".into(), cursor.to_string()));
        query_string(&pairs)
    }

    /// This form's query string with the score filters of `name` replaced by `filter` (a
    /// click on a score cell), back to the first page.
    fn query_with_score(&self, name: &str, filter: &[(String, String)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| score_key(k).is_none_or(|(n, _)| n != name))
            .collect();
        pairs.extend(filter.iter().cloned());
        query_string(&pairs)
    }

    /// The set parameters of this form, cursor aside.
    fn pairs(&self) -> Vec<(String, String)> {
        let fields = [
            ("q", &self.q),
            ("range", &self.range),
            ("since", &self.since),
            ("until", &self.until),
            ("service", &self.service),
            ("model", &self.model),
            ("provider", &self.provider),
            ("status", &self.status),
            ("user_id", &self.user_id),
            ("session_id", &self.session_id),
            ("min_duration_ms", &self.min_duration_ms),
            ("min_cost", &self.min_cost),
            ("sort", &self.sort),
            ("score", &self.score),
        ];
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in fields {
            if let Some(v) = set(v) {
                pairs.push((k.to_string(), v));
            }
        }
        pairs.extend(self.score_filters().cloned());
        pairs
    }
}

/// Percent-encodes a query value.
pub(crate) fn url_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn text_input(name: &str, label: &str, value: &Option<String>, placeholder: &str) -> Markup {
    html! {
        label {
            span { (label) }
            input type="text" name=(name) value=[set(value)] placeholder=(placeholder);
        }
    }
}

/// The score names the filters offer: the most used ones, then those filtered by already.
fn filter_names<'a>(form: &'a TracesForm, names: &'a [ScoreName]) -> Vec<&'a str> {
    let mut out: Vec<&str> = names
        .iter()
        .take(SCORE_COLUMNS)
        .map(|n| n.name.as_str())
        .collect();
    for (k, _) in form.score_filters() {
        if let Some((n, _)) = score_key(k) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// The score filters: a label choice for a labelled score, a range for a numeric one.
fn score_filters(form: &TracesForm, names: &[ScoreName]) -> Markup {
    let shown = filter_names(form, names);
    html! {
        @for name in shown {
            @let info = names.iter().find(|n| n.name == name);
            @let labels = info.map(|i| i.labels.as_slice()).unwrap_or_default();
            @let label_now = form.score_filter(name, ScoreFilterPart::Label);
            @if !labels.is_empty() || info.is_none() || label_now.is_some() {
                label.score-filter {
                    span dir="auto" { "Score " (name) }
                    @if labels.is_empty() {
                        input type="text" name={ "score." (name) } value=[label_now] placeholder="label, or * for any" dir="auto";
                    } @else {
                        select name={ "score." (name) } {
                            option value="" { "Any or none" }
                            option value="*" selected[label_now == Some("*")] { "Has a score" }
                            @for l in labels { option value=(l) selected[label_now == Some(l.as_str())] { (l) } }
                        }
                    }
                }
            }
            @if info.is_some_and(|i| i.numeric && i.labels.is_empty()) || form.score_filter(name, ScoreFilterPart::Min).is_some() || form.score_filter(name, ScoreFilterPart::Max).is_some() {
                label.score-filter { span dir="auto" { (name) " min" } input type="text" inputmode="decimal" name={ "score." (name) ".min" } value=[form.score_filter(name, ScoreFilterPart::Min)]; }
                label.score-filter { span dir="auto" { (name) " max" } input type="text" inputmode="decimal" name={ "score." (name) ".max" } value=[form.score_filter(name, ScoreFilterPart::Max)]; }
            }
        }
    }
}

fn filters(form: &TracesForm, ctx: &ListContext<'_>) -> Markup {
    let range = form.range();
    let sort = set(&form.sort).unwrap_or_else(|| "time".into());
    let action = if ctx.queue.is_some() { "/queue" } else { "/" };
    html! {
        form.filters method="get" action=(action) aria-label="Trace filters" {
            @if ctx.queue.is_some() {
                label {
                    span { "Without a score named" }
                    input type="text" name="score" value=[set(&form.score)] list="queue-names" required dir="auto";
                    datalist #queue-names { @for n in ctx.names { option value=(n.name) {} } }
                }
            }
            label.search {
                span { "Search prompts and completions" }
                input type="search" name="q" value=[set(&form.q)] placeholder="words of a prompt or answer, any language";
            }
            label {
                span { "Time" }
                select name="range" {
                    @for p in RangePreset::ALL {
                        option value=(p.key()) selected[p == range] { (p.label()) }
                    }
                }
            }
            (text_input("since", "From (RFC 3339)", &form.since, "2026-01-01T00:00:00Z"))
            (text_input("until", "To", &form.until, ""))
            (text_input("service", "Service", &form.service, "any"))
            (text_input("model", "Model", &form.model, "any"))
            (text_input("provider", "Provider", &form.provider, "any"))
            label {
                span { "Status" }
                select name="status" {
                    option value="" selected[set(&form.status).is_none()] { "Any" }
                    option value="error" selected[set(&form.status).as_deref() == Some("error")] { "With errors" }
                }
            }
            (text_input("user_id", "User", &form.user_id, "any"))
            (text_input("session_id", "Session", &form.session_id, "any"))
            (text_input("min_duration_ms", "Min duration (ms)", &form.min_duration_ms, "0"))
            (text_input("min_cost", "Min cost (USD)", &form.min_cost, "0"))
            label {
                span { "Sort" }
                select name="sort" {
                    option value="time" selected[sort == "time"] { "Newest first" }
                    option value="cost" selected[sort == "cost"] { "Costliest first" }
                    option value="duration" selected[sort == "duration"] { "Slowest first" }
                }
            }
            (score_filters(form, ctx.names))
            div.actions {
                button type="submit" { "Apply" }
                a href=(if ctx.queue.is_some() { "/queue" } else { "/" }) { "Clear" }
            }
        }
    }
}

fn row(t: &TraceSummaryView, form: &TracesForm, ctx: &ListContext<'_>) -> Markup {
    let failed = t.error_count > 0;
    let columns = ctx.names.iter().take(SCORE_COLUMNS);
    let path = if ctx.queue.is_some() { "/queue" } else { "/" };
    html! {
        tr.failed[failed] {
            td { time datetime=(t.start_time) { (format::time(&t.start_time)) } }
            td.name {
                a href={ "/traces/" (t.trace_id) @if let Some(q) = ctx.queue { "?annotate=" (url_encode(q)) } } dir="auto" { (if t.root_name.is_empty() { "(unnamed)" } else { &t.root_name }) }
                @if !t.has_root { " " span.badge.warn title="No root span has arrived: a parent was not exported, or context was lost" { "no root" } }
            }
            td { (t.service) }
            td.num { (format::duration_ms(t.duration_ms)) }
            td.num { (t.llm_call_count) }
            td.num title={ "input " (t.input_tokens) ", output " (t.output_tokens) ", cache read " (t.cache_read_tokens) } {
                (format::count(t.input_tokens + t.output_tokens))
            }
            td.num {
                (format::cost(t.cost_usd, t.unpriced_span_count))
            }
            td {
                @if t.failed_call_count > 0 {
                    span.status.error title={ (t.error_count) " spans with status error" } {
                        (t.failed_call_count) " failed call" @if t.failed_call_count > 1 { "s" }
                    }
                } @else if failed { span.status.error { (t.error_count) " error" @if t.error_count > 1 { "s" } } }
                @else { span.status.ok { "ok" } }
            }
            td dir="auto" { (t.user_id.as_deref().unwrap_or("")) }
            td dir="auto" { (t.session_id.as_deref().unwrap_or("")) }
            @for n in columns {
                td.score data-score=(n.name) {
                    @if let Some(cell) = score_cell(&t.scores, &n.name) {
                        a href={ (path) "?" (form.query_with_score(&n.name, &cell.filter)) } title={ (cell.title) ": filter by it" } dir="auto" { (cell.text) }
                    }
                }
            }
        }
    }
}

fn empty_state(filtered: bool, queue: Option<&str>) -> Markup {
    html! {
        section.empty {
            @if let Some(q) = queue {
                h2 { "Nothing to annotate" }
                p { "Every matching trace has a score " strong dir="auto" { (q) } "." }
            } @else if filtered {
                h2 { "No trace matches these filters" }
                p { a href="/" { "Clear the filters" } " or widen the time range." }
            } @else {
                h2 { "No traces yet" }
                p { "Point any OpenTelemetry exporter at this server and your traces show up here:" }
                pre { code { "export OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318\n# then run your app; or try sample traffic:\nllmtrace demo" } }
                p { "Langfuse and LangSmith SDKs work too: set their host to this server (see the README)." }
            }
        }
    }
}

/// The traces page for `form`, showing `list` (or the error of the query); with
/// `ctx.queue`, the annotation queue.
pub fn traces_page(
    form: &TracesForm,
    list: Result<&TraceListView, &str>,
    ctx: &ListContext<'_>,
) -> String {
    let filtered = [
        &form.q,
        &form.service,
        &form.model,
        &form.provider,
        &form.status,
        &form.user_id,
        &form.session_id,
        &form.min_duration_ms,
        &form.min_cost,
        &form.since,
        &form.until,
    ]
    .iter()
    .any(|v| set(v).is_some())
        || form.score_filters().next().is_some()
        || form.range() != RangePreset::All;
    let (title, nav) = match ctx.queue {
        Some(_) => ("Annotation queue", Nav::Queue),
        None => ("Traces", Nav::Traces),
    };
    let path = if ctx.queue.is_some() { "/queue" } else { "/" };
    let body = html! {
        h1 { (title) @if let Some(q) = ctx.queue.filter(|q| !q.is_empty()) { ": traces without a score " span dir="auto" { (q) } } }
        @if ctx.queue.is_some() {
            p.dim { "Open a trace to score it: the form is ready (Enter saves); the trace then leaves this list." }
        }
        (filters(form, ctx))
        @match list {
            Err(message) => { p.error role="alert" { (message) } }
            Ok(list) if list.traces.is_empty() => { (empty_state(filtered, ctx.queue)) }
            Ok(list) => {
                table.traces {
                    thead { tr {
                        th scope="col" { "Time (UTC)" } th scope="col" { "Name" } th scope="col" { "Service" }
                        th scope="col" { "Duration" } th scope="col" { "LLM calls" } th scope="col" { "Tokens" }
                        th scope="col" { "Cost" } th scope="col" { "Status" } th scope="col" { "User" } th scope="col" { "Session" }
                        @for n in ctx.names.iter().take(SCORE_COLUMNS) { th scope="col" .score dir="auto" { (n.name) } }
                    } }
                    tbody {
                        @for t in &list.traces { (row(t, form, ctx)) }
                    }
                }
                @if let Some(c) = &list.next_cursor {
                    nav.pager aria-label="Pages" {
                        a rel="next" href={ (path) "?" (form.query_with_cursor(c)) } { "Next page →" }
                    }
                }
            }
        }
    };
    layout::page(title, nav, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_maps_to_api_params_and_pages_keep_filters() {
        let form = TracesForm {
            model: Some("gpt-4o".into()),
            service: Some("  ".into()),
            min_duration_ms: Some("1500".into()),
            range: Some("1h".into()),
            ..Default::default()
        };
        let p = form.to_params(Some("2026-01-01T00:00:00Z".into())).unwrap();
        assert_eq!(p.model.as_deref(), Some("gpt-4o"));
        assert_eq!(p.service, None);
        assert_eq!(p.min_duration_ms, Some(1500.0));
        assert_eq!(p.since.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(form.range(), RangePreset::H1);
        let q = form.query_with_cursor("abc/+=");
        assert_eq!(
            q,
            "range=1h&model=gpt-4o&min_duration_ms=1500&cursor=abc%2F%2B%3D"
        );
        let bad = TracesForm {
            min_duration_ms: Some("fast".into()),
            ..Default::default()
        };
        assert!(bad.to_params(None).unwrap_err().contains("fast"));
    }

    #[test]
    fn score_filters_pass_through_and_pages_keep_them() {
        let form = TracesForm {
            model: Some("m".into()),
            ..Default::default()
        }
        .with_score_filters(
            "model=m&score.quality=good&score.n%20x.min=0.5&score.n%20x.max=&score.any=*",
        );
        let p = form.to_params(None).unwrap();
        assert_eq!(
            p.scores,
            vec![
                ("score.quality".to_string(), "good".to_string()),
                ("score.n x.min".to_string(), "0.5".to_string()),
                ("score.any".to_string(), String::new()),
            ]
        );
        assert_eq!(p.without_score, None);
        assert_eq!(
            form.query_with_cursor("c"),
            "model=m&score.quality=good&score.n%20x.min=0.5&score.any=%2A&cursor=c"
        );
        assert_eq!(
            form.query_with_score("quality", &[("score.quality".into(), "bad".into())]),
            "model=m&score.n%20x.min=0.5&score.any=%2A&score.quality=bad"
        );
        assert_eq!(
            score_key("score.a.b.min"),
            Some(("a.b", ScoreFilterPart::Min))
        );
        assert_eq!(score_key("score.x"), Some(("x", ScoreFilterPart::Label)));
        assert_eq!(score_key("score."), None);
        let names = [ScoreName {
            name: "quality".into(),
            count: 1,
            numeric: false,
            labels: vec!["bad".into(), "good".into()],
        }];
        let list: TraceListView = serde_json::from_value(serde_json::json!({
            "traces": [], "next_cursor": null
        }))
        .unwrap();
        let ctx = ListContext {
            names: &names,
            queue: Some("quality"),
        };
        let html = traces_page(&form, Ok(&list), &ctx);
        assert!(
            html.contains(r#"<option value="good" selected>good</option>"#),
            "{html}"
        );
        assert!(html.contains(r#"name="score.n x.min" value="0.5""#));
        assert!(html.contains("Nothing to annotate"));
        assert!(html.contains(r#"action="/queue""#));
    }

    #[test]
    fn names_are_escaped() {
        let list: TraceListView = serde_json::from_value(serde_json::json!({
            "traces": [{
                "trace_id": "ab", "root_name": "<script>x</script>", "has_root": true,
                "service": "svc", "start_time": "2026-01-01T00:00:00Z",
                "end_time": "2026-01-01T00:00:01Z", "duration_ms": 1000.0, "span_count": 1,
                "llm_call_count": 0, "input_tokens": 0, "output_tokens": 0,
                "cache_read_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0,
                "error_count": 0, "cost_usd": 0.0, "cost_source": null,
                "unpriced_span_count": 0, "user_id": null, "session_id": null
            }],
            "next_cursor": null
        }))
        .unwrap();
        let html = traces_page(&TracesForm::default(), Ok(&list), &ListContext::default());
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!html.contains("<script>x"));
    }
}
