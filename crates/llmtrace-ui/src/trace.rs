//! The trace page: totals, the span tree beside a timeline on one time axis, and the selected
//! span's details (GenAI fields, the conversation, attributes, events).

use crate::format;
use crate::layout::{self, Nav};
use llmtrace_model::Attributes;
use llmtrace_query::{parse_rfc3339, SpanView, TraceDetailView};
use maud::{html, Markup};
use std::collections::{HashMap, HashSet};

/// Text longer than this is folded (click to unfold).
const FOLD_CHARS: usize = 600;

/// Spans in tree order with their depth: children under their parent, by start time; spans
/// whose parent is not stored come at the top level.
fn tree_order(spans: &[SpanView]) -> Vec<(usize, usize)> {
    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s.parent_span_id.as_deref().filter(|p| ids.contains(p)) {
            Some(p) => children.entry(p).or_default().push(i),
            None => roots.push(i),
        }
    }
    // `spans` come ordered by start time, so each list is too.
    let mut out = Vec::with_capacity(spans.len());
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    let mut seen = HashSet::new();
    while let Some((i, depth)) = stack.pop() {
        if !seen.insert(i) {
            continue; // a cycle of bad parent ids: show each span once
        }
        out.push((i, depth));
        if let Some(kids) = children.get(spans[i].span_id.as_str()) {
            for k in kids.iter().rev() {
                stack.push((*k, depth + 1));
            }
        }
    }
    // Spans only reachable through a cycle.
    for i in 0..spans.len() {
        if !seen.contains(&i) {
            out.push((i, 0));
        }
    }
    out
}

/// The span shown when none is asked for: the first failed span, else the first model call,
/// else the first span.
fn default_selection(spans: &[SpanView], order: &[(usize, usize)]) -> Option<usize> {
    let pick =
        |f: &dyn Fn(&SpanView) -> bool| order.iter().map(|(i, _)| *i).find(|i| f(&spans[*i]));
    pick(&|s| s.status == "error")
        .or_else(|| pick(&|s| s.kind == "llm" || s.kind == "embedding"))
        .or_else(|| order.first().map(|(i, _)| *i))
}

/// Text as written (`dir="auto"`: right-to-left scripts read right), folded when long.
pub(crate) fn folded_text(text: &str) -> Markup {
    if text.chars().count() <= FOLD_CHARS {
        return html! { div.text dir="auto" { (text) } };
    }
    let head: String = text.chars().take(FOLD_CHARS).collect();
    html! {
        details.fold {
            summary { div.text dir="auto" { (head) "…" } span.more { "Show all (" (format::count(text.chars().count() as u64)) " characters)" } }
            div.text dir="auto" { (text) }
        }
    }
}

fn attrs_table(caption: &str, attrs: &Attributes) -> Markup {
    html! {
        @if !attrs.is_empty() {
            details.attrs open[attrs.len() <= 12] {
                summary { (caption) " (" (attrs.len()) ")" }
                table {
                    @for kv in attrs.iter() {
                        tr { th scope="row" { (kv.key) } td { (crate::json_view::attr_block(&kv.value)) } }
                    }
                }
            }
        }
    }
}

fn kv_row(label: &str, value: Option<String>) -> Markup {
    html! {
        @if let Some(v) = value { div { dt { (label) } dd { (v) } } }
    }
}

/// A price id in words: `builtin:gpt-4o@1970-01-01` reads `builtin:gpt-4o, since the start`
/// (a built-in price has no known start date; its placeholder date is never shown).
fn price_words(id: &str, effective_from: Option<&str>) -> String {
    let name = id.split_once('@').map_or(id, |(n, _)| n);
    format!(
        "{name}, {}",
        crate::models::since_words(effective_from.or_else(|| id.split_once('@').map(|(_, d)| d)))
    )
}

/// A button that copies `value` to the clipboard (the page's script does the copying).
fn copy_button(value: &str, label: &str) -> Markup {
    html! {
        button.copy type="button" data-copy=(value) title=(label) aria-label=(label) { "Copy" }
    }
}

/// The request parameters that were set (temperature, max tokens, ...), as a JSON object.
fn request_params(s: &SpanView) -> Option<serde_json::Value> {
    let v = serde_json::to_value(&s.request_params).ok()?;
    let set: serde_json::Map<String, serde_json::Value> = v
        .as_object()?
        .iter()
        .filter(|(_, x)| !x.is_null())
        .map(|(k, x)| (k.clone(), x.clone()))
        .collect();
    (!set.is_empty()).then_some(serde_json::Value::Object(set))
}

/// The details of one span (also served alone, to swap in without a page reload).
pub fn span_panel(trace_id: &str, s: &SpanView) -> String {
    let is_call = s.kind == "llm" || s.kind == "embedding";
    let tokens = |v: Option<u64>| v.map(format::count);
    html! {
        article.span-detail data-span=(s.span_id) aria-label="Selected span" {
            header {
                h2 { span class={ "kind kind-" (s.kind) } { (s.kind) } " " span dir="auto" { (s.name) } }
                p.dim.ids {
                    "span " code.span-id { (s.span_id) } " " (copy_button(&s.span_id, "Copy span id")) " · "
                    a href={ "/traces/" (trace_id) "?span=" (s.span_id) } { "link to this span" }
                }
                @if s.status == "error" {
                    p.error role="alert" { strong { "Error" } @if let Some(t) = &s.error_type { " (" (t) ")" } @if !s.status_message.is_empty() { ": " (s.status_message) } }
                }
                @if s.incomplete { p.warn { "Unfinished: this span was stored before it ended; its final copy will complete it." } }
            }
            dl.fields {
                (kv_row("Service", Some(s.service.clone())))
                div { dt { "Start" } dd { (format::when(&s.start_time)) } }
                (kv_row("Duration", Some(format::duration_ms(s.duration_ms))))
                (kv_row("Time to first token", s.time_to_first_token_ms.map(format::duration_ms)))
                (kv_row("Provider", s.provider.clone()))
                (kv_row("Operation", s.operation.clone()))
                (kv_row("Request model", s.request_model.clone()))
                (kv_row("Response model", s.response_model.clone()))
                (kv_row("Tool", s.tool_name.clone()))
                (kv_row("Agent", s.agent_name.clone()))
                (kv_row("User", s.user_id.clone()))
                (kv_row("Session", s.session_id.clone()))
            }
            @if is_call {
                section.genai aria-label="Model call" {
                    h3 { "Model call" }
                    dl.fields {
                        (kv_row("Input tokens", tokens(s.input_tokens)))
                        (kv_row("Output tokens", tokens(s.output_tokens)))
                        (kv_row("Cache read", tokens(s.cache_read_tokens)))
                        (kv_row("Cache write", tokens(s.cache_write_tokens)))
                        (kv_row("Reasoning", tokens(s.reasoning_tokens)))
                        div { dt { "Cost" } dd.cost {
                            @if s.unpriced { span.badge.warn { "unpriced model" } " the cost is unknown, not $0" }
                            @else { (format::usd(s.cost_usd)) @if let Some(src) = &s.cost_source { span.dim { " (" (src) ")" } } }
                        } }
                        (kv_row("Price", s.price_id.as_deref().map(|id| price_words(id, s.price_effective_from.as_deref()))))
                        (kv_row("Counted in totals", Some(if s.usage_counted { "yes".into() } else { "no (another span reports this call)".into() })))
                        (kv_row("Finish reasons", (!s.finish_reasons.is_empty()).then(|| s.finish_reasons.join(", "))))
                    }
                    @if let Some(params) = request_params(s) {
                        div.params { h4 { "Parameters" } (crate::json_view::json_block(&params)) }
                    }
                }
            }
            (crate::span_io::io_sections(s))
            section.span-scores aria-label="Scores of this span" {
                h3 { "Scores " span.dim.keys { "(s: score this span, d: add it to a dataset)" } }
                (crate::annotate::score_list(&s.scores, "No score on this span yet."))
            }
            @if !s.events.is_empty() {
                section.events {
                    h3 { "Events" }
                    ul {
                        @for e in &s.events {
                            li.exception[e.name == "exception"] {
                                strong { (e.name) } " " span.dim { (format::when(&e.time)) }
                                (attrs_table("attributes", &e.attributes))
                            }
                        }
                    }
                }
            }
            (attrs_table("Attributes", &s.attributes))
            (attrs_table("Resource attributes", &s.resource_attributes))
        }
    }
    .into_string()
}

/// Error spans the page lists for "next error" at most (further ones: open them from the tree).
const MAX_ERROR_JUMPS: usize = 2_000;

/// Rows rendered at once on a large trace; more load as the reader scrolls (`trace_rows`).
pub const ROW_CHUNK: usize = 300;

/// Traces with at most this many spans render every row at once.
const RENDER_ALL_UP_TO: usize = 2 * ROW_CHUNK;

/// Where a chunk of rows goes, relative to the rows already shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsDirection {
    /// Above the rows shown (scrolling up).
    Before,
    /// Below them.
    After,
}

/// What rendering rows of a trace needs: tree order, the spans with a failure below them, the
/// spans with children, and the time axis.
struct TreeLayout<'a> {
    d: &'a TraceDetailView,
    order: Vec<(usize, usize)>,
    error_path: HashSet<&'a str>,
    has_children: HashSet<&'a str>,
    t0: u64,
    total_ns: f64,
}

impl<'a> TreeLayout<'a> {
    fn new(d: &'a TraceDetailView) -> Self {
        let order = tree_order(&d.spans);
        let parent: HashMap<&str, &str> = d
            .spans
            .iter()
            .filter_map(|s| Some((s.span_id.as_str(), s.parent_span_id.as_deref()?)))
            .collect();
        let mut error_path: HashSet<&str> = HashSet::new();
        for s in d.spans.iter().filter(|s| s.status == "error") {
            let mut cur = s.parent_span_id.as_deref();
            while let Some(p) = cur {
                if !error_path.insert(p) {
                    break;
                }
                cur = parent.get(p).copied();
            }
        }
        let has_children = d
            .spans
            .iter()
            .filter_map(|s| s.parent_span_id.as_deref())
            .collect();
        TreeLayout {
            d,
            order,
            error_path,
            has_children,
            t0: parse_rfc3339(&d.trace.start_time).unwrap_or(0),
            total_ns: (d.trace.duration_ms * 1e6).max(1.0),
        }
    }

    /// A placeholder row that loads the rows `from..to` when it scrolls into view (or is
    /// clicked).
    fn more(&self, from: usize, to: usize, dir: RowsDirection) -> Markup {
        let trace = &self.d.trace.trace_id;
        let dir_name = match dir {
            RowsDirection::Before => "before",
            RowsDirection::After => "after",
        };
        html! {
            li.more data-from=(from) data-to=(to) data-dir=(dir_name) {
                a href={ "/traces/" (trace) "/rows?from=" (from) "&to=" (to) "&dir=" (dir_name) } {
                    "Show " (format::count((to - from) as u64)) " more spans " @if dir == RowsDirection::Before { "above" } @else { "below" }
                }
            }
        }
    }

    /// Rows `from..to` of the tree order (clamped).
    fn rows(&self, from: usize, to: usize, selected: Option<usize>) -> Markup {
        let d = self.d;
        let t = &d.trace;
        let to = to.min(self.order.len());
        let from = from.min(to);
        html! {
            @for (pos, (i, depth)) in self.order[from..to].iter().enumerate().map(|(k, x)| (k + from, x)) {
                @let s = &d.spans[*i];
                @let is_selected = Some(*i) == selected;
                @let start = parse_rfc3339(&s.start_time).unwrap_or(self.t0).saturating_sub(self.t0) as f64;
                @let left = (start / self.total_ns * 100.0).clamp(0.0, 100.0);
                @let width = (s.duration_ms * 1e6 / self.total_ns * 100.0).clamp(0.15, 100.0 - left.min(99.85));
                li role="treeitem" aria-level=(depth + 1) aria-selected=(if is_selected { "true" } else { "false" })
                    class={ "row kind-" (s.kind) @if s.status == "error" { " error" } @if self.error_path.contains(s.span_id.as_str()) { " error-below" } @if is_selected { " selected" } }
                    data-depth=(depth) data-span=(s.span_id) data-pos=(pos) data-kind=(s.kind) {
                    div.label style={ "padding-left:" (depth * 14) "px" } {
                        @if self.has_children.contains(s.span_id.as_str()) { button.toggle type="button" tabindex="-1" aria-expanded="true" aria-label="Collapse" { "▾" } }
                        @else { span.leaf { "•" } }
                        a.span-link href={ "/traces/" (t.trace_id) "?span=" (s.span_id) } tabindex=(if is_selected || (selected.is_none() && pos == 0) { "0" } else { "-1" }) {
                            span class={ "kind kind-" (s.kind) } { (s.kind) } " " span.name dir="auto" { (s.name) }
                        }
                    }
                    div.bar-track {
                        div.bar data-l=(format!("{:.5}", left / 100.0)) data-w=(format!("{:.5}", s.duration_ms * 1e6 / self.total_ns)) style={ "left:" (format!("{left:.3}")) "%;width:" (format!("{width:.3}")) "%" } title=(format::duration_ms(s.duration_ms)) {}
                    }
                    (row_meta(s))
                    div.dur { (format::duration_ms(s.duration_ms)) }
                }
            }
        }
    }
}

/// A row's model, tokens and cost (a model call), or its tool (a tool span).
fn row_meta(s: &SpanView) -> Markup {
    let model = s.response_model.as_deref().or(s.request_model.as_deref());
    let tokens = match (s.input_tokens, s.output_tokens) {
        (None, None) => None,
        (i, o) => Some(i.unwrap_or(0).saturating_add(o.unwrap_or(0))),
    };
    html! {
        div.meta {
            @if let Some(m) = model { span.m-model title="Model" { (m) } }
            @else if let Some(t) = &s.tool_name { span.m-model title="Tool" dir="auto" { (t) } }
            @if let Some(n) = tokens {
                span.m-tokens title={ "input " (s.input_tokens.unwrap_or(0)) ", output " (s.output_tokens.unwrap_or(0)) } { (format::count(n)) " tok" }
            }
            @if s.kind == "llm" || s.kind == "embedding" {
                @if s.unpriced { span.m-cost.warn title="No price for this model: the cost is unknown" { "?" } }
                @else if let Some(c) = s.cost_usd { span.m-cost title="Cost" { (format::usd(Some(c))) } }
            }
        }
    }
}

/// A chunk of a trace's rows, `from..to` in tree order, for the page's script to insert where
/// a placeholder was: the rows, and a new placeholder further on in `dir` when rows remain.
pub fn trace_rows(d: &TraceDetailView, from: usize, to: usize, dir: RowsDirection) -> String {
    let layout = TreeLayout::new(d);
    let n = layout.order.len();
    let to = to.min(n).min(from.saturating_add(ROW_CHUNK));
    let from = from.min(to);
    html! {
        @if dir == RowsDirection::Before && from > 0 {
            (layout.more(from.saturating_sub(ROW_CHUNK), from, RowsDirection::Before))
        }
        (layout.rows(from, to, None))
        @if dir == RowsDirection::After && to < n {
            (layout.more(to, (to + ROW_CHUNK).min(n), RowsDirection::After))
        }
    }
    .into_string()
}

/// The trace page, with `selected` (a span id) shown in the detail panel, the trace's scores
/// and the forms to score it and add it to a dataset (`ctx`). A large trace shows a window of
/// rows around the selected span; the rest load as the reader scrolls.
pub fn trace_page(
    d: &TraceDetailView,
    selected: Option<&str>,
    search: Option<&str>,
    ctx: &crate::annotate::AnnotationContext,
) -> String {
    let t = &d.trace;
    let layout = TreeLayout::new(d);
    let order = &layout.order;
    let matched = search.and_then(|q| llmtrace_query::search_match(&d.spans, q));
    let selected = selected
        .or(matched.as_ref().map(|m| m.span_id.as_str()))
        .and_then(|id| d.spans.iter().position(|s| s.span_id == id))
        .or_else(|| default_selection(&d.spans, order));
    let kinds: Vec<&str> = {
        let mut k: Vec<&str> = d.spans.iter().map(|s| s.kind.as_str()).collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    // Error spans in tree order, as `position:span id` (the script jumps between them, loading
    // the page around one that is not rendered yet).
    let errors: Vec<String> = order
        .iter()
        .enumerate()
        .filter(|(_, (i, _))| d.spans.get(*i).is_some_and(|s| s.status == "error"))
        .take(MAX_ERROR_JUMPS)
        .filter_map(|(pos, (i, _))| Some(format!("{pos}:{}", d.spans.get(*i)?.span_id)))
        .collect();
    let n = order.len();
    let (from, to) = if n <= RENDER_ALL_UP_TO {
        (0, n)
    } else {
        let at = selected
            .and_then(|i| order.iter().position(|(j, _)| *j == i))
            .unwrap_or(0);
        let from = at.saturating_sub(ROW_CHUNK / 4);
        (from, (from + ROW_CHUNK).min(n))
    };
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/" { "Traces" } " / " span dir="auto" { (t.root_name) } }
        h1 dir="auto" { (t.root_name) }
        p.trace-id.ids {
            "Trace " code #trace-id { (t.trace_id) } " " (copy_button(&t.trace_id, "Copy trace id"))
            " · " a #trace-json href={ "/api/traces/" (t.trace_id) } { "JSON" }
            " · " a #trace-download href={ "/api/traces/" (t.trace_id) "?download=1" } download={ "trace-" (t.trace_id) ".json" } { "Download JSON" }
        }
        @if let (Some(q), Some(m)) = (search, &matched) {
            p.search-hit { "Search " q dir="auto" { (q) } " matched " a href={ "/traces/" (t.trace_id) "?span=" (m.span_id) } dir="auto" { (m.span_name) } ": " span.snippet dir="auto" { (m.snippet) } }
        }
        dl.totals aria-label="Trace totals" {
            div { dt { "Start" } dd { (format::when(&t.start_time)) } }
            div { dt { "Duration" } dd { (format::duration_ms(t.duration_ms)) } }
            div { dt { "Spans" } dd #total-spans { (t.span_count) } }
            div { dt { "LLM calls" } dd #total-calls { (t.llm_call_count) } }
            div { dt { "Tokens in / out" } dd #total-tokens { (format::count(t.input_tokens)) " / " (format::count(t.output_tokens)) } }
            div { dt { "Cache read" } dd { (format::count(t.cache_read_tokens)) } }
            div { dt { "Cost" } dd #total-cost { (format::cost(t.cost_usd, t.unpriced_span_count)) } }
            div { dt { "Failed calls" } dd #failed-calls .error[t.failed_call_count > 0] { (t.failed_call_count) } }
            div { dt { "Error spans" } dd.error[t.error_count > 0] { (t.error_count) } }
            @if let Some(u) = &t.user_id { div { dt { "User" } dd { a href={ "/?user_id=" (crate::traces::url_encode(u)) } dir="auto" { (u) } } } }
            @if let Some(s) = &t.session_id { div { dt { "Session" } dd { a href={ "/sessions/" (crate::traces::url_encode(s)) } dir="auto" { (s) } } } }
            @if !t.has_root { div { dt { "Root" } dd.warn { "no root span (orphaned spans)" } } }
        }
        section #trace-scores aria-label="Scores of the trace" {
            h2 { "Scores" @let on_spans = d.scores.iter().filter(|s| s.observation_id.is_some()).count(); @if on_spans > 0 { " " span.dim { "(and " (on_spans) " on spans, shown with each span)" } } }
            (crate::annotate::score_list(&crate::annotate::trace_scores(&d.scores), "No score on the trace yet: press a to add one."))
        }
        (crate::annotate::forms(&t.trace_id, ctx))
        div.trace-view data-trace=(t.trace_id) data-duration-ms=(format!("{:.3}", t.duration_ms)) data-errors=(errors.join(",")) {
            section.tree aria-label="Span tree and timeline" {
                div.tree-tools role="toolbar" aria-label="Span tree tools" {
                    button #expand-all type="button" { "Expand all" }
                    button #collapse-all type="button" { "Collapse all" }
                    button #prev-error type="button" disabled[errors.is_empty()] title="Previous failed span (p)" { "↑ Previous error" }
                    button #next-error type="button" disabled[errors.is_empty()] title="Next failed span (n)" { "Next error ↓" }
                    label { span.visually-hidden { "Kind" }
                        select #kind-filter aria-label="Show spans of kind" {
                            option value="" { "All kinds" }
                            @for k in &kinds { option value=(k) { (k) } }
                        }
                    }
                    input #name-filter type="search" placeholder="Filter spans by name" aria-label="Filter spans by name";
                    button #zoom-span type="button" title="Zoom the timeline to the selected span (z)" { "Zoom to span" }
                    button #zoom-reset type="button" hidden { "Reset zoom" }
                    span #zoom-label.dim aria-live="polite" {}
                }
                div.axis aria-hidden="true" title="Drag across the timeline to zoom into a time window" { span #axis-from { "0" } span #axis-mid { (format::duration_ms(t.duration_ms / 2.0)) } span #axis-to { (format::duration_ms(t.duration_ms)) } }
                ol.rows role="tree" aria-label="Spans" {
                    @if from > 0 { (layout.more(from.saturating_sub(ROW_CHUNK), from, RowsDirection::Before)) }
                    (layout.rows(from, to, selected))
                    @if to < n { (layout.more(to, (to + ROW_CHUNK).min(n), RowsDirection::After)) }
                }
            }
            section #detail.detail aria-live="polite" {
                @if let Some(i) = selected { (maud::PreEscaped(span_panel(&t.trace_id, &d.spans[i]))) }
            }
        }
    };
    layout::page(&t.root_name, Nav::Traces, body)
}

/// A search hit in the trace list: the matching text, linking to the span it is in.
pub fn search_snippet(trace_id: &str, query: &str, m: &llmtrace_query::SearchMatch) -> String {
    html! {
        a.snippet href={ "/traces/" (trace_id) "?span=" (m.span_id) "&q=" (crate::traces::url_encode(query)) } title={ "In " (m.span_name) } dir="auto" { (m.snippet) }
    }
    .into_string()
}
