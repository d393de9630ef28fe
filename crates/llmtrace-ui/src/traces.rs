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
    /// Last 30 days.
    D30,
    /// Everything.
    All,
}

impl RangePreset {
    pub(crate) const ALL: [RangePreset; 6] = [
        RangePreset::M15,
        RangePreset::H1,
        RangePreset::H24,
        RangePreset::D7,
        RangePreset::D30,
        RangePreset::All,
    ];

    /// The URL value.
    pub fn key(self) -> &'static str {
        match self {
            RangePreset::M15 => "15m",
            RangePreset::H1 => "1h",
            RangePreset::H24 => "24h",
            RangePreset::D7 => "7d",
            RangePreset::D30 => "30d",
            RangePreset::All => "all",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            RangePreset::M15 => "Last 15 minutes",
            RangePreset::H1 => "Last hour",
            RangePreset::H24 => "Last 24 hours",
            RangePreset::D7 => "Last 7 days",
            RangePreset::D30 => "Last 30 days",
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
            RangePreset::D30 => Some(30 * 86_400),
            RangePreset::All => None,
        }
    }

    pub(crate) fn parse(v: Option<&str>) -> RangePreset {
        v.and_then(RangePreset::from_key)
            .unwrap_or(RangePreset::All)
    }

    /// The preset of a URL value, `None` when there is no such preset.
    pub fn from_key(v: &str) -> Option<RangePreset> {
        RangePreset::ALL.into_iter().find(|p| p.key() == v)
    }

    /// The message refusing an unknown preset.
    pub fn unknown_message(v: &str) -> String {
        let keys: Vec<&str> = RangePreset::ALL.iter().map(|p| p.key()).collect();
        format!(
            "unknown time range {v:?}: use one of {} (or a custom range with since and until)",
            keys.join(", ")
        )
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
    /// The cursors of the pages before this one, oldest first, comma-separated (`first` for the
    /// first page): the "Previous page" link.
    pub back: Option<String>,
    /// Annotation queue (`/queue`): the score name the listed traces do not have yet.
    pub score: Option<String>,
    /// The `score.*` filters of the query string (`llmtrace_query::score_params`; serde leaves
    /// them out, see [`TracesForm::with_score_filters`]): an empty value is unset, `*` means any
    /// score of that name.
    #[serde(skip)]
    pub scores: Vec<(String, String)>,
    /// The start of the range preset as the server resolved it for this page's query (RFC
    /// 3339; set by the server, never read from the URL): the export links carry it, so a
    /// download selects the same traces as the page.
    #[serde(skip)]
    pub resolved_since: Option<String>,
}

/// Score columns the trace list shows at most (the most used names).
pub const SCORE_COLUMNS: usize = 4;

/// The back-stack entry of the first page.
const FIRST_PAGE: &str = "first";

/// Pages the "Previous page" link remembers at most.
const MAX_BACK_PAGES: usize = 50;

/// A time of the custom range as RFC 3339: the picker's `2026-01-01T12:00` (or with seconds)
/// is UTC, as its label says; anything else passes as typed (the query layer validates it).
pub(crate) fn utc_time(v: &str) -> String {
    let t = v.trim();
    let picker = t.len() >= 16
        && t.len() <= 19
        && t.as_bytes().get(10) == Some(&b'T')
        && !t.ends_with('Z')
        && !t
            .get(11..)
            .is_some_and(|rest| rest.contains('+') || rest.contains('-'));
    match (picker, t.len()) {
        (true, 16) => format!("{t}:00Z"),
        (true, _) => format!("{t}Z"),
        _ => t.to_string(),
    }
}

/// An RFC 3339 UTC time as the picker's value (`2026-01-01T12:00:03`), or `None` when it is not
/// in UTC (it is then shown as typed, in a text field).
fn picker_value(v: &str) -> Option<String> {
    let t = v.trim().strip_suffix('Z')?;
    let t = t.split('.').next()?;
    (t.len() == 19 && t.as_bytes().get(10) == Some(&b'T')).then(|| t.to_string())
}

/// What the list shows beside the traces: the project's score names (most used first) and, on
/// the annotation queue, the score name it is for.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListContext<'a> {
    /// The project's score names, most used first.
    pub names: &'a [ScoreName],
    /// `Some` on the annotation queue page.
    pub queue: Option<&'a str>,
    /// The server's OTLP/HTTP base URL as bound (`http://127.0.0.1:4318`), for the empty state.
    pub listen_http: Option<&'a str>,
    /// The server's OTLP/gRPC address as bound, for the empty state.
    pub listen_grpc: Option<&'a str>,
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

    /// Whether a custom range (`since` or `until`) is set: it wins over the preset.
    pub fn custom_range(&self) -> bool {
        set(&self.since).is_some() || set(&self.until).is_some()
    }

    /// The refusal of an unknown range preset (`custom` is the picker's own value).
    fn range_error(&self) -> Option<String> {
        let v = set(&self.range)?;
        (RangePreset::from_key(&v).is_none() && v != "custom")
            .then(|| RangePreset::unknown_message(&v))
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
        if let Some(m) = self.range_error() {
            return Err(m);
        }
        let since_preset = if self.custom_range() {
            None
        } else {
            since_preset
        };
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
            since: set(&self.since).map(|v| utc_time(&v)).or(since_preset),
            until: set(&self.until).map(|v| utc_time(&v)),
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

    /// The next page's query string: `cursor` replaced, this page pushed on the back stack.
    fn next_page_query(&self, cursor: &str) -> String {
        let mut stack = self.back_stack();
        stack.push(set(&self.cursor).unwrap_or_else(|| FIRST_PAGE.into()));
        let skip = stack.len().saturating_sub(MAX_BACK_PAGES);
        let mut pairs = self.pairs();
        pairs.push(("cursor".into(), cursor.to_string()));
        pairs.push((
            "back".into(),
            stack.into_iter().skip(skip).collect::<Vec<_>>().join(","),
        ));
        query_string(&pairs)
    }

    /// The previous page's query string, if this is not the first page.
    fn previous_page_query(&self) -> Option<String> {
        set(&self.cursor)?;
        let mut stack = self.back_stack();
        let prev = stack.pop();
        let mut pairs = self.pairs();
        if let Some(c) = prev.filter(|c| c != FIRST_PAGE) {
            pairs.push(("cursor".into(), c));
        }
        if !stack.is_empty() {
            pairs.push(("back".into(), stack.join(",")));
        }
        Some(query_string(&pairs))
    }

    fn back_stack(&self) -> Vec<String> {
        set(&self.back)
            .map(|b| {
                b.split(',')
                    .filter(|c| !c.is_empty())
                    .take(MAX_BACK_PAGES)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// This form's query string with `sort` set (a click on a column header), back to the first
    /// page.
    fn query_with_sort(&self, sort: &str) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| k != "sort")
            .collect();
        pairs.push(("sort".into(), sort.to_string()));
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
            input type="text" name=(name) value=[set(value)] placeholder=(placeholder) dir="auto";
        }
    }
}

/// A text filter that suggests the project's known values (with counts) as the reader types,
/// matched by prefix (the page's script fetches them from `/ui/suggest/{field}`).
fn suggest_input(name: &str, field: &str, label: &str, value: &Option<String>) -> Markup {
    html! {
        label {
            span { (label) }
            input type="text" name=(name) value=[set(value)] placeholder="any" data-suggest=(field) autocomplete="off" dir="auto";
        }
    }
}

/// The time control: presets, or a custom range picked in UTC (shown as such).
fn time_control(form: &TracesForm) -> Markup {
    let custom = form.custom_range();
    let range = form.range();
    html! {
        label {
            span { "Time" }
            select name="range" #range-select {
                @for p in RangePreset::ALL {
                    option value=(p.key()) selected[!custom && p == range] { (p.label()) }
                }
                option value="custom" selected[custom] { "Custom range…" }
            }
        }
        (custom_range_inputs(&form.since, &form.until))
    }
}

/// The custom range's two pickers, in UTC (a time given in another zone stays as typed, in a
/// text field).
pub(crate) fn custom_range_inputs(since: &Option<String>, until: &Option<String>) -> Markup {
    let picker = |v: &Option<String>| set(v).map(|x| picker_value(&x).ok_or(x));
    let (since, until) = (picker(since), picker(until));
    html! {
        @for (name, label, value) in [("since", "From (UTC)", &since), ("until", "To (UTC)", &until)] {
            label.custom-time {
                span { (label) }
                @match value {
                    Some(Err(typed)) => { input type="text" name=(name) value=(typed); }
                    Some(Ok(v)) => { input type="datetime-local" step="1" name=(name) value=(v); }
                    None => { input type="datetime-local" step="1" name=(name); }
                }
            }
        }
    }
}

/// What the time control selects, in words.
fn range_words(form: &TracesForm) -> Markup {
    html! {
        @if form.custom_range() {
            p.range-note #range-note {
                "Custom range: "
                @match set(&form.since) { Some(s) => { "from " (utc_time(&s)) " " } None => { "from the start " } }
                @match set(&form.until) { Some(u) => { "to " (utc_time(&u)) } None => { "to now" } }
                " (UTC)"
            }
        } @else {
            p.range-note #range-note { (form.range().label()) }
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
    let sort = set(&form.sort).unwrap_or_else(|| "time".into());
    let action = if ctx.queue.is_some() { "/queue" } else { "/" };
    html! {
        button.filters-toggle type="button" aria-expanded="false" aria-controls="trace-filters" { "Filters" }
        form.filters #trace-filters method="get" action=(action) aria-label="Trace filters" {
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
            (time_control(form))
            (suggest_input("service", "service", "Service", &form.service))
            (suggest_input("model", "model", "Model", &form.model))
            (suggest_input("provider", "provider", "Provider", &form.provider))
            label {
                span { "Status" }
                select name="status" {
                    option value="" selected[set(&form.status).is_none()] { "Any" }
                    option value="error" selected[set(&form.status).as_deref() == Some("error")] { "With errors" }
                }
            }
            (suggest_input("user_id", "user", "User", &form.user_id))
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

/// A sortable column header: a link that sorts by it (largest or newest first, as the API
/// sorts), marked when it is the current order.
fn sort_header(form: &TracesForm, path: &str, label: &str, key: &str) -> Markup {
    let current = set(&form.sort).unwrap_or_else(|| "time".into()) == key;
    html! {
        th scope="col" aria-sort=[current.then_some("descending")] {
            a.sort href={ (path) "?" (form.query_with_sort(key)) } title={ "Sort by " (label.to_lowercase()) ", largest or newest first" } {
                (label) @if current { " ▼" }
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
            td data-label="Time" { (format::when(&t.start_time)) }
            td.name data-label="Name" data-trace=(t.trace_id) {
                a href={ "/traces/" (t.trace_id) @if let Some(q) = ctx.queue { "?annotate=" (url_encode(q)) } @else if let Some(q) = set(&form.q) { "?q=" (url_encode(&q)) } } dir="auto" { (if t.root_name.is_empty() { "(unnamed)" } else { &t.root_name }) }
                @if !t.has_root { " " span.badge.warn title="No root span has arrived: a parent was not exported, or context was lost" { "no root" } }
            }
            td data-label="Service" dir="auto" { (t.service) }
            td.num data-label="Duration" { (format::duration_ms(t.duration_ms)) }
            td.num data-label="LLM calls" { (t.llm_call_count) }
            td.num data-label="Tokens" title={ "input " (t.input_tokens) ", output " (t.output_tokens) ", cache read " (t.cache_read_tokens) } {
                (format::count(t.input_tokens.saturating_add(t.output_tokens)))
            }
            td.num.cost data-label="Cost" data-value=[t.cost_usd] {
                (format::cost(t.cost_usd, t.unpriced_span_count))
            }
            td data-label="Status" {
                @if t.failed_call_count > 0 {
                    span.status.error title={ (t.error_count) " spans with status error" } {
                        (t.failed_call_count) " failed call" @if t.failed_call_count > 1 { "s" }
                    }
                } @else if failed { span.status.error { (t.error_count) " error" @if t.error_count > 1 { "s" } } }
                @else { span.status.ok { "ok" } }
            }
            td.user data-label="User" {
                @if let Some(u) = &t.user_id { a href={ "/?user_id=" (url_encode(u)) } dir="auto" { (u) } }
            }
            td.session data-label="Session" {
                @if let Some(s) = &t.session_id { a href={ "/sessions/" (url_encode(s)) } dir="auto" title="The session as a conversation" { (s) } }
            }
            @for n in columns {
                td.score data-score=(n.name) data-label=(n.name) {
                    @if let Some(cell) = score_cell(&t.scores, &n.name) {
                        a href={ (path) "?" (form.query_with_score(&n.name, &cell.filter)) } title={ (cell.title) ": filter by it" } dir="auto" { (cell.text) }
                    }
                }
            }
        }
    }
}

fn empty_state(filtered: bool, ctx: &ListContext<'_>) -> Markup {
    let queue = ctx.queue;
    let http = ctx.listen_http.unwrap_or("http://localhost:4318");
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
                pre #setup { code { "export OTEL_EXPORTER_OTLP_ENDPOINT=" (http) "\n# then run your app; or try sample traffic:\nllmtrace demo --server " (http) } }
                @if let Some(g) = ctx.listen_grpc { p.dim { "OTLP/gRPC listens on " code { (g) } "." } }
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
        || form.range() != RangePreset::All
        || form.range_error().is_some();
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
        div.list-tools {
            (range_words(form))
            label.auto-refresh { input #auto-refresh type="checkbox"; " Auto-refresh every 10 s" }
        }
        @match list {
            Err(message) => { p.error role="alert" { (message) } }
            Ok(list) if list.traces.is_empty() => { (empty_state(filtered, ctx)) }
            Ok(list) => {
                table.traces data-search=[set(&form.q)] {
                    thead { tr {
                        (sort_header(form, path, "Time", "time"))
                        th scope="col" { "Name" } th scope="col" { "Service" }
                        (sort_header(form, path, "Duration", "duration"))
                        th scope="col" { "LLM calls" } th scope="col" { "Tokens" }
                        (sort_header(form, path, "Cost", "cost"))
                        th scope="col" { "Status" } th scope="col" { "User" } th scope="col" { "Session" }
                        @for n in ctx.names.iter().take(SCORE_COLUMNS) { th scope="col" .score dir="auto" { (n.name) } }
                    } }
                    tbody {
                        @for t in &list.traces { (row(t, form, ctx)) }
                    }
                }
                (crate::export::export_links(form, ctx.queue))
                @if list.next_cursor.is_some() || form.previous_page_query().is_some() {
                    nav.pager aria-label="Pages" {
                        @if let Some(q) = form.previous_page_query() {
                            a rel="prev" #prev-page href={ (path) "?" (q) } { "← Previous page" }
                        }
                        @if let Some(c) = &list.next_cursor {
                            a rel="next" #next-page href={ (path) "?" (form.next_page_query(c)) } { "Next page →" }
                        }
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
        let q = form.next_page_query("abc/+=");
        assert_eq!(
            q,
            "range=1h&model=gpt-4o&min_duration_ms=1500&cursor=abc%2F%2B%3D&back=first"
        );
        // Page 2 goes back to page 1; page 3 to page 2, then to page 1.
        let page2 = TracesForm {
            cursor: Some("c2".into()),
            back: Some("first".into()),
            ..form.clone()
        };
        assert_eq!(
            page2.previous_page_query().unwrap(),
            "range=1h&model=gpt-4o&min_duration_ms=1500"
        );
        assert!(page2
            .next_page_query("c3")
            .ends_with("cursor=c3&back=first%2Cc2"));
        let page3 = TracesForm {
            cursor: Some("c3".into()),
            back: Some("first,c2".into()),
            ..form.clone()
        };
        assert_eq!(
            page3.previous_page_query().unwrap(),
            "range=1h&model=gpt-4o&min_duration_ms=1500&cursor=c2&back=first"
        );
        assert_eq!(form.previous_page_query(), None);
        // The back stack keeps the newest MAX_BACK_PAGES pages: at the limit all of them, past
        // it the oldest leaves.
        let deep: Vec<String> = (0..MAX_BACK_PAGES).map(|i| format!("c{i}")).collect();
        let at_limit = TracesForm {
            cursor: Some("here".into()),
            back: Some(deep[..MAX_BACK_PAGES - 1].join(",")),
            ..Default::default()
        };
        let next = at_limit.next_page_query("n");
        let back = next.split("back=").nth(1).unwrap();
        assert_eq!(back.split("%2C").count(), MAX_BACK_PAGES);
        assert!(back.starts_with("c0%2C") && back.ends_with("%2Chere"));
        let past = TracesForm {
            cursor: Some("here".into()),
            back: Some(deep.join(",")),
            ..Default::default()
        };
        let next = past.next_page_query("n");
        let back = next.split("back=").nth(1).unwrap();
        assert_eq!(back.split("%2C").count(), MAX_BACK_PAGES);
        assert!(back.starts_with("c1%2C"), "the oldest page left: {back}");
        // Sorting by a header starts again from the first page.
        assert_eq!(
            page3.query_with_sort("cost"),
            "range=1h&model=gpt-4o&min_duration_ms=1500&sort=cost"
        );
        let bad = TracesForm {
            min_duration_ms: Some("fast".into()),
            ..Default::default()
        };
        assert!(bad.to_params(None).unwrap_err().contains("fast"));
        // An unknown preset is refused with the valid ones; a custom range wins over a preset
        // and the picker's times are UTC.
        let unknown = TracesForm {
            range: Some("forever".into()),
            ..Default::default()
        };
        let m = unknown.to_params(None).unwrap_err();
        assert!(
            m.contains("forever") && m.contains("15m, 1h, 24h, 7d, 30d, all"),
            "{m}"
        );
        let custom = TracesForm {
            range: Some("custom".into()),
            since: Some("2026-03-01T10:00".into()),
            until: Some("2026-03-01T11:00:30".into()),
            ..Default::default()
        };
        let p = custom.to_params(Some("ignored".into())).unwrap();
        assert_eq!(p.since.as_deref(), Some("2026-03-01T10:00:00Z"));
        assert_eq!(p.until.as_deref(), Some("2026-03-01T11:00:30Z"));
        assert_eq!(
            utc_time("2026-03-01T10:00:00+02:00"),
            "2026-03-01T10:00:00+02:00"
        );
        assert_eq!(
            picker_value("2026-03-01T10:00:00.123Z").as_deref(),
            Some("2026-03-01T10:00:00")
        );
        assert_eq!(picker_value("2026-03-01T10:00:00+02:00"), None);
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
            form.next_page_query("c"),
            "model=m&score.quality=good&score.n%20x.min=0.5&score.any=%2A&cursor=c&back=first"
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
            ..Default::default()
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
