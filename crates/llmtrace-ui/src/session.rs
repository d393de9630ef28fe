//! The session page (`/sessions/{id}`): a session's traces read as one conversation, oldest
//! first. Each trace is a turn: the user's message, the tools called while answering, the
//! assistant's answer, with the turn's latency, tokens and cost and links into the trace (to the
//! span each text came from). The header has the session's totals.

use crate::format;
use crate::layout::{self, Nav};
use crate::traces::url_encode;
use llmtrace_query::{SessionThreadView, ToolCallView, TurnText, TurnView, MAX_THREAD_TRACES};
use maud::{html, Markup};

/// A message longer than this (in characters) shows its start and unfolds on a click.
const FOLD_TEXT: usize = 1200;
/// Tool arguments and results longer than this are folded.
const FOLD_TOOL: usize = 160;

/// Styles of the session page and of the sessions list's link to it (theme variables only, so
/// dark mode follows).
pub(crate) const STYLE: &str = r#"
.thread-head h1 .id, .thread-head dd { overflow-wrap:anywhere; }
.thread-head .links { display:flex; flex-wrap:wrap; gap:4px 16px; margin:0 0 12px; }
ol.thread { list-style:none; margin:12px 0; padding:0; max-width:920px; }
li.turn { border:1px solid var(--line); border-radius:8px; padding:10px 12px; margin:0 0 14px; min-width:0; }
li.turn.failed { border-inline-start:3px solid var(--err); }
.turn-meta { display:flex; flex-wrap:wrap; gap:2px 12px; align-items:baseline; font-size:12px; color:var(--dim); margin-bottom:6px; }
.turn-meta .turn-link { font-weight:600; font-size:13px; }
.turn-meta .turn-name { overflow-wrap:anywhere; min-width:0; }
.turn-meta .turn-cost { color:var(--fg); }
.bubble { max-width:85%; width:fit-content; border-radius:10px; padding:6px 10px; margin:6px 0; overflow-wrap:anywhere; min-width:0; }
.bubble.user { margin-inline-start:auto; background:var(--selected); }
.bubble.assistant { margin-inline-end:auto; background:var(--panel); border:1px solid var(--line); }
.bubble.missing { color:var(--dim); font-style:italic; background:none; border:1px dashed var(--line); }
.thread .who { display:flex; flex-wrap:wrap; gap:2px 10px; justify-content:space-between; font-size:11px; font-weight:700; text-transform:uppercase; color:var(--dim); }
.thread .who a { font-weight:400; text-transform:none; }
.thread .text { white-space:pre-wrap; overflow-wrap:anywhere; }
.thread details.fold summary { cursor:pointer; }
.thread details.fold[open] > summary .text { display:none; }
.thread details.fold .more { color:var(--accent); font-size:12px; }
.tool-step { max-width:85%; width:fit-content; margin:6px 0; padding:2px 10px; border-inline-start:3px solid var(--tool); font-size:13px; min-width:0; }
.tool-step .tool-name { font-weight:600; color:var(--tool); overflow-wrap:anywhere; }
.tool-step .io { display:block; font-size:11px; color:var(--dim); margin-top:4px; }
.tool-step pre { margin:2px 0 4px; max-width:100%; white-space:pre-wrap; overflow-wrap:anywhere; font-size:12px; }
.tool-step details summary { cursor:pointer; color:var(--dim); font-size:12px; overflow-wrap:anywhere; }
@media (max-width: 600px) { .bubble, .tool-step { max-width:100%; } li.turn { padding:8px; } }
#groups a.thread { font-size:12px; padding:0 6px; margin-inline-start:4px; border:1px solid var(--line); border-radius:10px; text-decoration:none; white-space:nowrap; }
"#;

/// `/traces/{id}?span={span}`.
fn span_href(trace_id: &str, span_id: &str) -> String {
    format!(
        "/traces/{}?span={}",
        url_encode(trace_id),
        url_encode(span_id)
    )
}

/// A message's text, its start only (unfolding on a click) when long.
fn folded(text: &str) -> Markup {
    let chars = text.chars().count();
    if chars <= FOLD_TEXT {
        return html! { div.text dir="auto" { (text) } };
    }
    let head: String = text.chars().take(FOLD_TEXT).collect();
    html! {
        details.fold {
            summary { div.text dir="auto" { (head) "…" } span.more { "Show all (" (format::count(u64::try_from(chars).unwrap_or(u64::MAX))) " characters)" } }
            div.text dir="auto" { (text) }
        }
    }
}

/// Tool arguments or a result: shown whole when short, else folded behind their start.
fn tool_value(label: &str, class: &str, v: &str) -> Markup {
    let chars = v.chars().count();
    if chars <= FOLD_TOOL {
        return html! { span.io { (label) } pre class=(class) dir="auto" { (v) } };
    }
    let head: String = v.chars().take(60).collect();
    html! {
        details class=(class) {
            summary { (label) " (" (format::count(u64::try_from(chars).unwrap_or(u64::MAX))) " characters): " span dir="auto" { (head) "…" } }
            pre dir="auto" { (v) }
        }
    }
}

fn bubble(class: &str, who: &str, trace_id: &str, text: Option<&TurnText>) -> Markup {
    match text {
        Some(t) => html! {
            div class={ "bubble " (class) } data-span=(t.span_id) {
                div.who { span { (who) } a.from href=(span_href(trace_id, &t.span_id)) { "open span" } }
                (folded(&t.text))
            }
        },
        None => html! {
            div class={ "bubble missing " (class) } {
                @if class == "user" { "No user message recorded" } @else { "No answer recorded" }
            }
        },
    }
}

fn tool(trace_id: &str, t: &ToolCallView) -> Markup {
    html! {
        div.tool-step data-span=(t.span_id) {
            div.who { span { "Tool call" } a.from href=(span_href(trace_id, &t.span_id)) { "open span" } }
            code.tool-name dir="auto" { (t.name) }
            @if let Some(a) = &t.arguments { (tool_value("Arguments", "tool-args", a)) }
            @if let Some(r) = &t.result { (tool_value("Result", "tool-result", r)) }
        }
    }
}

fn turn(n: usize, t: &TurnView) -> Markup {
    let s = &t.trace;
    let id = s.trace_id.as_str();
    html! {
        li.turn.failed[s.error_count > 0] id={ "turn-" (n) } data-trace=(id) {
            div.turn-meta {
                a.turn-link href={ "/traces/" (url_encode(id)) } { "Turn " (n) }
                span.turn-name dir="auto" { (if s.root_name.is_empty() { "(unnamed)" } else { &s.root_name }) }
                (format::when(&s.start_time))
                span.turn-latency title="Latency: the trace's duration" { (format::duration_ms(s.duration_ms)) }
                span.turn-tokens data-input=(s.input_tokens) data-output=(s.output_tokens) title="Tokens in (cache included) and out" {
                    (format::count(s.input_tokens)) " in · " (format::count(s.output_tokens)) " out"
                }
                span.turn-cost data-value=[s.cost_usd] { (format::cost(s.cost_usd, s.unpriced_span_count)) }
                @if s.failed_call_count > 0 {
                    span.status.error { (s.failed_call_count) " failed call" @if s.failed_call_count > 1 { "s" } }
                } @else if s.error_count > 0 {
                    span.status.error { (s.error_count) " error" @if s.error_count > 1 { "s" } }
                }
            }
            (bubble("user", "User", id, t.user.as_ref()))
            @for x in &t.tools { (tool(id, x)) }
            (bubble("assistant", "Assistant", id, t.assistant.as_ref()))
        }
    }
}

/// The session page for `thread`.
pub fn session_page(thread: &SessionThreadView) -> String {
    let list = format!("/?session_id={}", url_encode(&thread.session_id));
    let shown = thread.turns.len();
    let body = html! {
        section.thread-head {
            h1 { "Session " span.id dir="auto" { (thread.session_id) } }
            dl.totals #thread-totals {
                div { dt { "User" } dd dir="auto" {
                    @match &thread.user_id {
                        Some(u) => a href={ "/?user_id=" (url_encode(u)) } { (u) },
                        None => "–",
                    }
                } }
                div { dt { "Turns" } dd #thread-turns data-value=(thread.trace_count) { (format::count(thread.trace_count)) @if !thread.complete { "+" } } }
                div { dt { "Tokens in / out" } dd #thread-tokens { (format::count(thread.input_tokens)) " / " (format::count(thread.output_tokens)) } }
                div { dt { "Cost" } dd #thread-cost data-value=[thread.cost_usd] { (format::cost(thread.cost_usd, thread.unpriced_calls)) } }
                div { dt { "Duration" } dd title="The turns' durations added up" { (format::duration_ms(thread.duration_ms)) } }
                div { dt { "First" } dd { (format::when(&thread.first_start)) } }
                div { dt { "Last activity" } dd { (format::when(&thread.last_end)) } }
            }
            p.links { a #thread-traces href=(list) { "This session's traces in the list" } }
            @if !thread.complete {
                p.warn { "This session has more than " (format::count(u64::try_from(MAX_THREAD_TRACES).unwrap_or(u64::MAX))) " traces: the totals count the latest " (format::count(u64::try_from(MAX_THREAD_TRACES).unwrap_or(u64::MAX))) "." }
            }
            @if thread.turns_omitted > 0 {
                p.warn #thread-omitted {
                    "Showing the latest " (format::count(u64::try_from(shown).unwrap_or(u64::MAX))) " turns; "
                    (format::count(thread.turns_omitted)) " earlier ones are not shown here. "
                    a href=(list) { "See every trace of the session" }
                }
            }
        }
        @if thread.turns.is_empty() {
            section.empty { p { "The session's traces could not be read (removed meanwhile?)." } }
        } @else {
            ol.thread aria-label="Conversation" {
                @for (i, t) in thread.turns.iter().enumerate() {
                    (turn(i.saturating_add(1).saturating_add(usize::try_from(thread.turns_omitted).unwrap_or(usize::MAX)), t))
                }
            }
        }
    };
    layout::page(
        &format!("Session {}", thread.session_id),
        Nav::Sessions,
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_query::TraceSummaryView;

    fn summary(id: &str, cost: Option<f64>) -> TraceSummaryView {
        serde_json::from_value(serde_json::json!({
            "trace_id": id, "root_name": "<chat>", "has_root": true,
            "service": "svc", "start_time": "2026-01-01T00:00:00.000000000Z",
            "end_time": "2026-01-01T00:00:01.000000000Z", "duration_ms": 1000.0, "span_count": 3,
            "llm_call_count": 1, "input_tokens": 1200, "output_tokens": 45,
            "cache_read_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0,
            "error_count": 0, "cost_usd": cost, "cost_source": null,
            "unpriced_span_count": 0, "user_id": "u", "session_id": "s"
        }))
        .unwrap()
    }

    fn thread(turns: Vec<TurnView>, omitted: u64) -> SessionThreadView {
        SessionThreadView {
            session_id: "conv/1 <x>".into(),
            user_id: Some("u 1".into()),
            trace_count: turns.len() as u64 + omitted,
            complete: true,
            first_start: "2026-01-01T00:00:00.000000000Z".into(),
            last_end: "2026-01-01T00:05:00.000000000Z".into(),
            llm_call_count: 2,
            input_tokens: 2400,
            output_tokens: 90,
            cost_usd: Some(0.0312),
            unpriced_calls: 0,
            duration_ms: 2000.0,
            error_count: 0,
            turns,
            turns_omitted: omitted,
        }
    }

    #[test]
    fn turns_show_texts_tools_figures_and_links() {
        let t = TurnView {
            trace: summary(&"ab".repeat(16), Some(0.0125)),
            user: Some(TurnText {
                span_id: "0000000000000002".into(),
                text: "مرحبا <b>".into(),
            }),
            tools: vec![ToolCallView {
                span_id: "0000000000000003".into(),
                name: "get_weather".into(),
                arguments: Some(format!("{{\"city\":\"{}\"}}", "x".repeat(300))),
                result: Some("18°C".into()),
            }],
            assistant: None,
        };
        let html = session_page(&thread(vec![t], 0));
        assert!(html.contains(&format!(
            r#"href="/traces/{}?span=0000000000000002""#,
            "ab".repeat(16)
        )));
        assert!(html.contains(r#"<div class="text" dir="auto">مرحبا &lt;b&gt;</div>"#));
        assert!(html.contains(r#"<code class="tool-name" dir="auto">get_weather</code>"#));
        // Long arguments fold; a short result shows whole.
        assert!(html.contains(r#"<details class="tool-args">"#), "{html}");
        assert!(html.contains(
            r#"<span class="io">Result</span><pre class="tool-result" dir="auto">18°C</pre>"#
        ));
        assert!(html.contains("1,200 in · 45 out"));
        assert!(html.contains("$0.0125"));
        assert!(html.contains("No answer recorded"));
        assert!(html.contains(r#"href="/?session_id=conv%2F1%20%3Cx%3E""#));
        assert!(html.contains("conv/1 &lt;x&gt;"));
        assert!(html.contains(r#"id="turn-1""#));
        assert!(!html.contains("thread-omitted"));
    }

    #[test]
    fn omitted_turns_are_said_and_numbering_continues() {
        let t = TurnView {
            trace: summary(&"cd".repeat(16), None),
            user: None,
            tools: vec![],
            assistant: Some(TurnText {
                span_id: "0000000000000004".into(),
                text: "y".repeat(FOLD_TEXT + 1),
            }),
        };
        let html = session_page(&thread(vec![t], 250));
        assert!(html.contains(r#"id="thread-omitted""#));
        assert!(html.contains("250 earlier ones"));
        assert!(html.contains(r#"id="turn-251""#));
        assert!(html.contains("Show all (1,201 characters)"));
        assert!(html.contains("No user message recorded"));
        assert!(html.contains("unknown"), "unknown cost shown as unknown");
    }
}
