//! The sessions and users pages: traces grouped by session (a conversation across traces) or by
//! user, with their totals, most recently active first; each links to its traces.

use crate::format;
use crate::layout::{self, Nav};
use crate::traces::{url_encode, RangePreset};
use llmtrace_query::TraceGroupListView;
use maud::html;
use serde::Deserialize;

/// The query string of the sessions and users pages.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupsForm {
    /// Range preset (`15m`, `1h`, `24h`, `7d`, `all` (default)).
    pub range: Option<String>,
    /// Groups to skip (pagination).
    pub offset: Option<usize>,
}

impl GroupsForm {
    /// The range preset chosen.
    pub fn range(&self) -> RangePreset {
        RangePreset::parse(self.range.as_deref())
    }
}

/// Which grouping a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupsKind {
    /// `/sessions`.
    Sessions,
    /// `/users`.
    Users,
}

impl GroupsKind {
    fn path(self) -> &'static str {
        match self {
            GroupsKind::Sessions => "/sessions",
            GroupsKind::Users => "/users",
        }
    }

    fn title(self) -> &'static str {
        match self {
            GroupsKind::Sessions => "Sessions",
            GroupsKind::Users => "Users",
        }
    }

    /// The traces-page filter that lists one group's traces.
    fn filter(self) -> &'static str {
        match self {
            GroupsKind::Sessions => "session_id",
            GroupsKind::Users => "user_id",
        }
    }
}

/// The sessions or users page for `form`, showing `list` (or the error of the query).
pub fn groups_page(
    kind: GroupsKind,
    form: &GroupsForm,
    list: Result<&TraceGroupListView, &str>,
) -> String {
    let range = form.range();
    let body = html! {
        h1 { (kind.title()) }
        form.filters method="get" action=(kind.path()) aria-label={ (kind.title()) " filters" } {
            label {
                span { "Traces started" }
                select name="range" {
                    @for p in RangePreset::ALL {
                        option value=(p.key()) selected[p == range] { (p.label()) }
                    }
                }
            }
            div.actions { button type="submit" { "Apply" } }
        }
        @match list {
            Err(m) => { p.error role="alert" { (m) } }
            Ok(list) if list.groups.is_empty() => {
                section.empty {
                    @match kind {
                        GroupsKind::Sessions => {
                            h2 { "No sessions in this range" }
                            p { "Traces join a session when a span carries a session id: "
                                code { "session.id" } " (OpenInference, OTel), " code { "langfuse.session.id" } ", "
                                code { "gen_ai.conversation.id" } ", or the Langfuse and LangSmith SDKs' session fields." }
                        }
                        GroupsKind::Users => {
                            h2 { "No users in this range" }
                            p { "Traces belong to a user when a span carries a user id: "
                                code { "user.id" } " (OpenInference, OTel), " code { "langfuse.user.id" } ", or the Langfuse SDK's user field." }
                        }
                    }
                }
            }
            Ok(list) => {
                table.traces #groups {
                    thead { tr {
                        th scope="col" { @if kind == GroupsKind::Sessions { "Session" } @else { "User" } }
                        @if kind == GroupsKind::Sessions { th scope="col" { "User" } }
                        th scope="col" { "Traces" } th scope="col" { "First trace (UTC)" } th scope="col" { "Last activity (UTC)" }
                        th scope="col" { "LLM calls" } th scope="col" { "Tokens" } th scope="col" { "Errors" } th scope="col" { "Cost" }
                    } }
                    tbody { @for g in &list.groups {
                        tr.failed[g.error_count > 0] {
                            td.name {
                                a href={ "/?" (kind.filter()) "=" (url_encode(&g.id)) } dir="auto" { (g.id) }
                                @if kind == GroupsKind::Sessions {
                                    " " a.thread href={ "/sessions/" (url_encode(&g.id)) } title="Read the session as one conversation" { "conversation" }
                                }
                            }
                            @if kind == GroupsKind::Sessions {
                                td { @if let Some(u) = &g.user_id { a href={ "/?user_id=" (url_encode(u)) } { (u) } } }
                            }
                            td.num { (format::count(g.trace_count)) }
                            td { (format::time(&g.first_trace_start)) }
                            td { (format::time(&g.last_end)) }
                            td.num { (format::count(g.llm_call_count)) }
                            td.num title={ "input " (g.input_tokens) ", output " (g.output_tokens) ", cache read " (g.cache_read_tokens) } { (format::count(g.input_tokens + g.output_tokens)) }
                            td.num { (format::count(g.error_count)) }
                            td.num {
                                (format::cost(g.cost_usd, g.unpriced_calls))
                            }
                        }
                    } }
                }
                @if let Some(next) = list.next_offset {
                    nav.pager aria-label="Pages" {
                        a rel="next" href={ (kind.path()) "?range=" (range.key()) "&offset=" (next) } { "Next page →" }
                    }
                }
            }
        }
    };
    let nav = match kind {
        GroupsKind::Sessions => Nav::Sessions,
        GroupsKind::Users => Nav::Users,
    };
    layout::page(kind.title(), nav, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_link_to_their_traces_and_escape_ids() {
        let list: TraceGroupListView = serde_json::from_value(serde_json::json!({
            "group_by": "session",
            "groups": [{
                "id": "<s&1>", "user_id": "u 1", "trace_count": 2,
                "first_trace_start": "2026-01-01T00:00:00.000000000Z",
                "last_trace_start": "2026-01-01T00:01:00.000000000Z",
                "last_end": "2026-01-01T00:01:02.000000000Z",
                "span_count": 4, "llm_call_count": 2, "input_tokens": 10, "output_tokens": 5,
                "cache_read_tokens": 0, "error_count": 1, "cost_usd": 0.25, "unpriced_calls": 0
            }],
            "next_offset": 50
        }))
        .unwrap();
        let html = groups_page(GroupsKind::Sessions, &GroupsForm::default(), Ok(&list));
        assert!(html.contains(r#"href="/?session_id=%3Cs%261%3E""#));
        assert!(html.contains(r#"<a class="thread" href="/sessions/%3Cs%261%3E""#));
        assert!(html.contains("&lt;s&amp;1&gt;"));
        assert!(html.contains(r#"href="/?user_id=u%201""#));
        assert!(html.contains("$0.25"));
        assert!(html.contains("offset=50"));
        let empty = TraceGroupListView {
            group_by: "user".into(),
            groups: vec![],
            next_offset: None,
        };
        let html = groups_page(GroupsKind::Users, &GroupsForm::default(), Ok(&empty));
        assert!(html.contains("No users in this range"));
        assert!(!html.contains(r#"class="thread""#));
    }
}
