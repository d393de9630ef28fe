//! A session read as one conversation: each trace of the session is a turn (the user's message,
//! the tools called while answering, the assistant's answer), oldest first, with the session's
//! totals. [`turn_of`] is the pure extraction of a turn from a trace; [`Query::session_thread`]
//! reads the session's traces (bounded) and applies it.

use crate::{format_rfc3339_nanos, parse_rfc3339, Query, TraceSummaryView};
use crate::{known_cost_usd, QueryError, SpanView, TraceDetailView, TraceListParams};
use llmtrace_model::{AttrValue, Message, MessagePart};
use llmtrace_store::MAX_PAGE_SIZE;

/// Most turns a thread shows (the latest ones); the others are counted, not read.
pub const MAX_THREAD_TURNS: usize = 200;

/// Most traces of one session whose totals are added up; past it the totals are lower bounds.
pub const MAX_THREAD_TRACES: usize = 10_000;

/// Most spans the turns shown may hold together (the latest turn is shown whatever its size):
/// each turn reads its whole trace.
pub const MAX_THREAD_SPANS: u64 = 20_000;

/// Tool call attributes of the OTel GenAI conventions (`llmtrace_semconv::gen_ai`), and the
/// OpenInference I/O values a tool span carries otherwise.
const TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
const TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
const TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
const INPUT_VALUE: &str = "input.value";
const OUTPUT_VALUE: &str = "output.value";

/// A text of the conversation and the span it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnText {
    /// The span the text came from (16 hex characters).
    pub span_id: String,
    /// The text.
    pub text: String,
}

/// A tool called during a turn: asked for by the model (a tool call part of its output), run
/// (a tool span), or both.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallView {
    /// The tool span that ran it, else the model call that asked for it.
    pub span_id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as sent (JSON text when the source gave an object).
    pub arguments: Option<String>,
    /// The result, when known.
    pub result: Option<String>,
}

/// One turn: a trace of the session.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnView {
    /// The trace's summary (latency, tokens, cost, errors).
    pub trace: TraceSummaryView,
    /// The user's message: the last user message of the first model call's input (else of the
    /// root span's).
    pub user: Option<TurnText>,
    /// Tools called during the turn, in time order.
    pub tools: Vec<ToolCallView>,
    /// The assistant's answer: the text of the last model call's output (else of the root
    /// span's).
    pub assistant: Option<TurnText>,
}

/// A session as a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionThreadView {
    /// The session id.
    pub session_id: String,
    /// Its user (the greatest user id among its traces, as the sessions list shows).
    pub user_id: Option<String>,
    /// Traces of the session counted (all of them unless `complete` is false).
    pub trace_count: u64,
    /// Whether every trace was counted (false past [`MAX_THREAD_TRACES`]: the totals are then
    /// lower bounds).
    pub complete: bool,
    /// Start of the first trace counted.
    pub first_start: String,
    /// End of the latest span.
    pub last_end: String,
    /// Model calls.
    pub llm_call_count: u64,
    /// Input tokens (cache included).
    pub input_tokens: u64,
    /// Output tokens (reasoning included).
    pub output_tokens: u64,
    /// Cost in USD (exact sum); `None` when no call has a known cost.
    pub cost_usd: Option<f64>,
    /// Calls without a known cost (the cost is then a lower bound).
    pub unpriced_calls: u64,
    /// Sum of the traces' durations, milliseconds.
    pub duration_ms: f64,
    /// Spans with status error.
    pub error_count: u64,
    /// The turns shown (the latest ones, up to [`MAX_THREAD_TURNS`] turns and
    /// [`MAX_THREAD_SPANS`] spans), oldest first.
    pub turns: Vec<TurnView>,
    /// Earlier turns not shown.
    pub turns_omitted: u64,
}

/// The texts of a message's text parts, joined by blank lines (reasoning left out).
fn message_text(m: &Message) -> String {
    let texts: Vec<&str> = m
        .parts
        .iter()
        .filter_map(|p| match p {
            MessagePart::Text { content } if !content.trim().is_empty() => Some(content.as_str()),
            _ => None,
        })
        .collect();
    texts.join("\n\n")
}

/// The last user message with text among `messages`.
fn last_user_text(messages: &[Message]) -> Option<String> {
    messages
        .iter()
        .rev()
        .filter(|m| m.role.eq_ignore_ascii_case("user"))
        .map(message_text)
        .find(|t| !t.is_empty())
}

/// The text of the output messages (an assistant's answer may come in several).
fn output_text(messages: &[Message]) -> Option<String> {
    let texts: Vec<String> = messages
        .iter()
        .map(message_text)
        .filter(|t| !t.is_empty())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n\n"))
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn attr_text(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::Str(s) if s.is_empty() => None,
        AttrValue::Str(s) => Some(s.clone()),
        other => serde_json::to_string(other).ok(),
    }
}

/// A time for ordering (0 when unreadable).
fn nanos(rfc3339: &str) -> u64 {
    parse_rfc3339(rfc3339).unwrap_or(0)
}

/// Whether a span is a model call (chat, completion).
fn is_call(s: &SpanView) -> bool {
    s.kind == "llm"
}

/// A tool call the model asked for, or a tool span, on its way to a [`ToolCallView`].
struct Pending {
    at: u64,
    call_id: Option<String>,
    view: ToolCallView,
}

/// The tool calls the model asked for in its outputs (once per call id: a wrapper span and the
/// call it wraps carry the same output), and the results later calls were given.
fn requested_tools(calls: &[&SpanView]) -> Vec<Pending> {
    let mut out: Vec<Pending> = Vec::new();
    for s in calls {
        for m in &s.output_messages {
            for p in &m.parts {
                if let MessagePart::ToolCall {
                    id,
                    name,
                    arguments,
                } = p
                {
                    let arguments = arguments.as_ref().map(json_text);
                    let seen = out.iter().any(|q| match (&q.call_id, id) {
                        (Some(a), Some(b)) => a == b,
                        (None, None) => q.view.name == *name && q.view.arguments == arguments,
                        _ => false,
                    });
                    if !seen {
                        out.push(Pending {
                            at: nanos(&s.end_time),
                            call_id: id.clone(),
                            view: ToolCallView {
                                span_id: s.span_id.clone(),
                                name: name.clone(),
                                arguments,
                                result: None,
                            },
                        });
                    }
                }
            }
        }
    }
    // A later call's input holds the tool's result under the call id.
    for q in &mut out {
        let Some(id) = &q.call_id else { continue };
        q.view.result = calls
            .iter()
            .flat_map(|s| s.input_messages.iter())
            .flat_map(|m| m.parts.iter())
            .find_map(|p| match p {
                MessagePart::ToolCallResponse {
                    id: Some(r),
                    response,
                } if r == id => Some(json_text(response)),
                _ => None,
            });
    }
    out
}

/// A tool span as a tool call.
fn tool_span(s: &SpanView) -> Pending {
    let attr = |k: &str| s.attributes.get(k).and_then(attr_text);
    Pending {
        at: nanos(&s.start_time),
        call_id: attr(TOOL_CALL_ID),
        view: ToolCallView {
            span_id: s.span_id.clone(),
            name: s
                .tool_name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| s.name.clone()),
            arguments: attr(TOOL_CALL_ARGUMENTS)
                .or_else(|| attr(INPUT_VALUE))
                .or_else(|| output_text(&s.input_messages)),
            result: attr(TOOL_CALL_RESULT)
                .or_else(|| attr(OUTPUT_VALUE))
                .or_else(|| output_text(&s.output_messages)),
        },
    }
}

/// The tools of a turn: each tool span, joined with the model's request for it (same call id,
/// else the first unmatched request of that name), then the requests no span ran; in time
/// order.
fn tools_of(spans: &[SpanView], calls: &[&SpanView]) -> Vec<ToolCallView> {
    let mut requested = requested_tools(calls);
    let mut taken = vec![false; requested.len()];
    let mut out: Vec<Pending> = Vec::new();
    for s in spans.iter().filter(|s| s.kind == "tool") {
        let mut run = tool_span(s);
        let by_id = run.call_id.as_ref().and_then(|id| {
            requested
                .iter()
                .zip(&taken)
                .position(|(q, t)| !t && q.call_id.as_ref() == Some(id))
        });
        let matched = by_id.or_else(|| {
            requested
                .iter()
                .zip(&taken)
                .position(|(q, t)| !t && q.view.name == run.view.name)
        });
        if let Some(i) = matched {
            if let (Some(t), Some(q)) = (taken.get_mut(i), requested.get_mut(i)) {
                *t = true;
                if run.view.arguments.is_none() {
                    run.view.arguments = q.view.arguments.take();
                }
                if run.view.result.is_none() {
                    run.view.result = q.view.result.take();
                }
            }
        }
        out.push(run);
    }
    out.extend(
        requested
            .into_iter()
            .zip(taken)
            .filter(|(_, t)| !t)
            .map(|(q, _)| q),
    );
    out.sort_by_key(|p| p.at);
    out.into_iter().map(|p| p.view).collect()
}

/// One trace as a turn of its session: the user's message, the tools called, the answer.
pub fn turn_of(detail: &TraceDetailView) -> TurnView {
    let spans = &detail.spans;
    let mut calls: Vec<&SpanView> = spans.iter().filter(|s| is_call(s)).collect();
    calls.sort_by_key(|s| (nanos(&s.start_time), nanos(&s.end_time)));
    let roots = || spans.iter().filter(|s| s.parent_span_id.is_none());
    let user = calls.iter().copied().chain(roots()).find_map(|s| {
        last_user_text(&s.input_messages).map(|text| TurnText {
            span_id: s.span_id.clone(),
            text,
        })
    });
    // The last call that answered (a wrapper and the call it wraps carry the same answer).
    let assistant = calls
        .iter()
        .rev()
        .find(|s| !s.output_messages.is_empty())
        .copied()
        .into_iter()
        .chain(roots())
        .find_map(|s| {
            output_text(&s.output_messages).map(|text| TurnText {
                span_id: s.span_id.clone(),
                text,
            })
        });
    // Calls that wrap another call (an SDK span around the gateway's) repeat its tool calls.
    let inner: Vec<&SpanView> = calls
        .iter()
        .copied()
        .filter(|c| {
            !calls
                .iter()
                .any(|o| o.parent_span_id.as_deref() == Some(c.span_id.as_str()))
        })
        .collect();
    TurnView {
        trace: detail.trace.clone(),
        user,
        tools: tools_of(spans, &inner),
        assistant,
    }
}

/// The running totals of a session's traces.
#[derive(Default)]
struct Totals {
    traces: u64,
    first_start: Option<u64>,
    last_end: u64,
    calls: u64,
    input: u64,
    output: u64,
    cost_pico: i64,
    unpriced: u64,
    duration_nanos: u64,
    errors: u64,
    user: Option<String>,
}

impl Totals {
    fn add(&mut self, t: &llmtrace_store::TraceSummary) {
        self.traces = self.traces.saturating_add(1);
        self.first_start = Some(
            self.first_start
                .map_or(t.start_unix_nano, |f| f.min(t.start_unix_nano)),
        );
        self.last_end = self.last_end.max(t.end_unix_nano);
        self.calls = self.calls.saturating_add(t.llm_call_count);
        self.input = self.input.saturating_add(t.input_tokens);
        self.output = self.output.saturating_add(t.output_tokens);
        self.cost_pico = self.cost_pico.saturating_add(t.cost_pico);
        self.unpriced = self.unpriced.saturating_add(t.unpriced_span_count);
        self.duration_nanos = self
            .duration_nanos
            .saturating_add(t.end_unix_nano.saturating_sub(t.start_unix_nano));
        self.errors = self.errors.saturating_add(t.error_count);
        if t.user_id > self.user {
            self.user = t.user_id.clone();
        }
    }
}

/// The turns shown, newest first: the latest traces while they fit ([`MAX_THREAD_TURNS`],
/// [`MAX_THREAD_SPANS`]); the first that does not fit closes the list, so the shown turns are
/// the latest without a gap.
#[derive(Default)]
struct Shown {
    ids: Vec<String>,
    spans: u64,
    closed: bool,
}

impl Shown {
    /// Offers the next older trace.
    fn offer(&mut self, id: String, span_count: u64) {
        self.spans = self.spans.saturating_add(span_count);
        self.closed = self.closed
            || self.ids.len() >= MAX_THREAD_TURNS
            || (!self.ids.is_empty() && self.spans > MAX_THREAD_SPANS);
        if !self.closed {
            self.ids.push(id);
        }
    }
}

impl Query {
    /// A session as a conversation: its totals over up to [`MAX_THREAD_TRACES`] traces and its
    /// latest traces as turns, oldest first (up to [`MAX_THREAD_TURNS`] turns and
    /// [`MAX_THREAD_SPANS`] spans). A session without traces is not found.
    pub async fn session_thread(
        &self,
        project: &str,
        session_id: &str,
    ) -> Result<SessionThreadView, QueryError> {
        if session_id.trim().is_empty() {
            return Err(QueryError::BadRequest("name a session".into()));
        }
        let mut params = TraceListParams {
            session_id: Some(session_id.to_string()),
            sort: Some("time".into()),
            limit: Some(MAX_PAGE_SIZE),
            ..Default::default()
        };
        let mut totals = Totals::default();
        let mut shown = Shown::default();
        let mut complete = true;
        loop {
            let page = self.reader.list_traces(&params.to_query(project)?).await?;
            for t in &page.traces {
                totals.add(t);
                shown.offer(t.trace_id.to_hex(), t.span_count);
            }
            if page.traces.is_empty() {
                break;
            }
            match page.next_cursor {
                Some(_)
                    if usize::try_from(totals.traces).unwrap_or(usize::MAX)
                        >= MAX_THREAD_TRACES =>
                {
                    complete = false;
                    break;
                }
                Some(c) => params.cursor = Some(c.encode()),
                None => break,
            }
        }
        let Some(first_start) = totals.first_start else {
            return Err(QueryError::NotFound(format!(
                "session {session_id:?} has no traces"
            )));
        };
        let latest = shown.ids;
        let mut turns = Vec::with_capacity(latest.len());
        // Newest first in the list: read them oldest first.
        for id in latest.iter().rev() {
            match self.get_trace(project, id).await {
                Ok(d) => turns.push(turn_of(&d)),
                // Removed meanwhile (retention): the turn is left out.
                Err(QueryError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(SessionThreadView {
            session_id: session_id.to_string(),
            user_id: totals.user.clone(),
            trace_count: totals.traces,
            complete,
            first_start: format_rfc3339_nanos(first_start),
            last_end: format_rfc3339_nanos(totals.last_end),
            llm_call_count: totals.calls,
            input_tokens: totals.input,
            output_tokens: totals.output,
            cost_usd: known_cost_usd(totals.cost_pico, totals.calls, totals.unpriced),
            unpriced_calls: totals.unpriced,
            duration_ms: totals.duration_nanos as f64 / 1e6,
            error_count: totals.errors,
            turns_omitted: totals
                .traces
                .saturating_sub(u64::try_from(latest.len()).unwrap_or(u64::MAX)),
            turns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A span of kind `kind` with `extra` fields of the API's span view.
    fn span(
        id: &str,
        parent: Option<&str>,
        kind: &str,
        start: u32,
        extra: serde_json::Value,
    ) -> serde_json::Value {
        let mut s = json!({
            "span_id": id, "parent_span_id": parent, "name": format!("{kind} {id}"), "kind": kind,
            "service": "svc", "otel_span_kind": "internal",
            "start_time": format!("2026-01-01T00:00:{start:02}.000000000Z"),
            "end_time": format!("2026-01-01T00:00:{:02}.500000000Z", start),
            "duration_ms": 500.0, "status": "ok", "status_message": ""
        });
        let rest = json!({
            "provider": null, "operation": null, "request_model": null, "response_model": null,
            "input_tokens": null, "output_tokens": null, "cache_read_tokens": null,
            "cache_write_tokens": null, "reasoning_tokens": null, "usage_counted": true,
            "incomplete": false, "cost_usd": null, "cost_source": null, "computed_cost_usd": null,
            "reported_cost_usd": null, "price_id": null, "price_effective_from": null,
            "unpriced": false, "request_params": {}, "finish_reasons": [],
            "time_to_first_token_ms": null, "error_type": null, "user_id": null,
            "session_id": null, "tool_name": null, "agent_name": null,
            "system_instructions": [], "input_messages": [], "output_messages": [],
            "attributes": {}, "resource_attributes": {}, "scope_name": "", "events": [],
            "links": []
        });
        if let (Some(o), Some(r), Some(e)) =
            (s.as_object_mut(), rest.as_object(), extra.as_object())
        {
            for (k, v) in r.iter().chain(e) {
                o.insert(k.clone(), v.clone());
            }
        }
        s
    }

    fn detail(spans: Vec<serde_json::Value>) -> TraceDetailView {
        serde_json::from_value(json!({
            "trace": {
                "trace_id": "ab".repeat(16), "root_name": "turn", "has_root": true,
                "service": "svc", "start_time": "2026-01-01T00:00:00Z",
                "end_time": "2026-01-01T00:00:09Z", "duration_ms": 9000.0, "span_count": 4,
                "llm_call_count": 2, "input_tokens": 300, "output_tokens": 40,
                "cache_read_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0,
                "error_count": 0, "cost_usd": 0.0125, "cost_source": "computed",
                "unpriced_span_count": 0, "user_id": "u1", "session_id": "s1"
            },
            "spans": spans
        }))
        .unwrap()
    }

    fn text(role: &str, t: &str) -> serde_json::Value {
        json!({"role": role, "parts": [{"type": "text", "content": t}]})
    }

    #[test]
    fn a_turn_has_the_users_message_the_tools_and_the_final_answer() {
        let d = detail(vec![
            span("0000000000000001", None, "agent", 0, json!({})),
            span(
                "0000000000000002",
                Some("0000000000000001"),
                "llm",
                1,
                json!({
                    "input_messages": [
                        text("system", "be brief"),
                        text("user", "earlier question"),
                        text("assistant", "earlier answer"),
                        text("user", "Weather in Paris?"),
                    ],
                    "output_messages": [{"role": "assistant", "parts": [
                        {"type": "text", "content": "Let me check."},
                        {"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}
                    ]}]
                }),
            ),
            span(
                "0000000000000003",
                Some("0000000000000001"),
                "tool",
                2,
                json!({
                    "tool_name": "get_weather",
                    "attributes": {"gen_ai.tool.call.id": "c1", "gen_ai.tool.call.result": "18°C"}
                }),
            ),
            span(
                "0000000000000004",
                Some("0000000000000001"),
                "llm",
                3,
                json!({
                    "input_messages": [
                        text("user", "Weather in Paris?"),
                        {"role": "user", "parts": [{"type": "tool_call_response", "id": "c1", "response": "18°C"}]}
                    ],
                    "output_messages": [text("assistant", "It is 18°C in Paris.")]
                }),
            ),
        ]);
        let t = turn_of(&d);
        assert_eq!(
            t.user,
            Some(TurnText {
                span_id: "0000000000000002".into(),
                text: "Weather in Paris?".into()
            })
        );
        assert_eq!(
            t.assistant,
            Some(TurnText {
                span_id: "0000000000000004".into(),
                text: "It is 18°C in Paris.".into()
            })
        );
        // The request and the run are one tool call: the span's id, the request's arguments.
        assert_eq!(
            t.tools,
            vec![ToolCallView {
                span_id: "0000000000000003".into(),
                name: "get_weather".into(),
                arguments: Some(r#"{"city":"Paris"}"#.into()),
                result: Some("18°C".into()),
            }]
        );
        assert_eq!(t.trace.input_tokens, 300);
        assert_eq!(t.trace.cost_usd, Some(0.0125));
    }

    #[test]
    fn requests_without_a_run_and_wrapped_calls_count_once() {
        // An SDK span wrapping the gateway's copy of the same call: one tool call, not two.
        let out = json!([{"role": "assistant", "parts": [
            {"type": "tool_call", "id": "c9", "name": "search", "arguments": "{\"q\":\"x\"}"}
        ]}]);
        let d = detail(vec![
            span(
                "00000000000000a1",
                None,
                "llm",
                1,
                json!({
                    "input_messages": [text("user", "find x")], "output_messages": out
                }),
            ),
            span(
                "00000000000000a2",
                Some("00000000000000a1"),
                "llm",
                1,
                json!({
                    "input_messages": [text("user", "find x")], "output_messages": out
                }),
            ),
        ]);
        let t = turn_of(&d);
        assert_eq!(t.tools.len(), 1, "{:?}", t.tools);
        assert_eq!(t.tools[0].name, "search");
        assert_eq!(t.tools[0].span_id, "00000000000000a2");
        assert_eq!(t.tools[0].arguments.as_deref(), Some("{\"q\":\"x\"}"));
        assert_eq!(t.tools[0].result, None);
        // No text in the output: no answer.
        assert_eq!(t.assistant, None);
        assert_eq!(t.user.unwrap().text, "find x");
    }

    #[test]
    fn without_model_calls_the_root_span_speaks() {
        let d = detail(vec![
            span(
                "0000000000000001",
                None,
                "agent",
                0,
                json!({
                    "input_messages": [text("user", "مرحبا، كيف حالك؟")],
                    "output_messages": [text("assistant", "بخير، شكرا")]
                }),
            ),
            span(
                "0000000000000002",
                Some("0000000000000001"),
                "tool",
                1,
                json!({
                    "name": "execute_tool lookup",
                    "attributes": {"input.value": "{\"id\":7}"},
                    "output_messages": [text("tool", "found")]
                }),
            ),
        ]);
        let t = turn_of(&d);
        assert_eq!(t.user.unwrap().text, "مرحبا، كيف حالك؟");
        assert_eq!(t.assistant.unwrap().span_id, "0000000000000001");
        assert_eq!(
            t.tools,
            vec![ToolCallView {
                span_id: "0000000000000002".into(),
                name: "execute_tool lookup".into(),
                arguments: Some("{\"id\":7}".into()),
                result: Some("found".into()),
            }]
        );
    }

    #[test]
    fn the_shown_turns_are_the_latest_that_fit() {
        let mut s = Shown::default();
        for n in 0..(MAX_THREAD_TURNS + 5) {
            s.offer(n.to_string(), 1);
        }
        assert_eq!(s.ids.len(), MAX_THREAD_TURNS);
        assert_eq!(s.ids.last().map(String::as_str), Some("199"));
        // The latest turn shows whatever its size; the spans then close the list, even for a
        // smaller older turn.
        let mut s = Shown::default();
        s.offer("huge".into(), MAX_THREAD_SPANS + 1);
        s.offer("small".into(), 1);
        assert_eq!(s.ids, vec!["huge".to_string()]);
        let mut s = Shown::default();
        s.offer("a".into(), MAX_THREAD_SPANS - 10);
        s.offer("b".into(), 10);
        s.offer("c".into(), 1);
        s.offer("d".into(), 0);
        assert_eq!(s.ids, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn an_empty_trace_is_a_turn_without_texts() {
        let t = turn_of(&detail(vec![span(
            "0000000000000001",
            None,
            "span",
            0,
            json!({}),
        )]));
        assert_eq!((t.user, t.assistant, t.tools.len()), (None, None, 0));
    }

    #[test]
    fn tools_keep_time_order_and_unmatched_requests() {
        let d = detail(vec![
            span(
                "0000000000000001",
                None,
                "llm",
                1,
                json!({
                    "input_messages": [text("user", "q")],
                    "output_messages": [{"role": "assistant", "parts": [
                        {"type": "tool_call", "name": "b"},
                        {"type": "tool_call", "name": "a", "arguments": {"n": 1}}
                    ]}]
                }),
            ),
            span(
                "0000000000000002",
                None,
                "tool",
                0,
                json!({"tool_name": "early"}),
            ),
            span(
                "0000000000000003",
                None,
                "tool",
                5,
                json!({"tool_name": "a"}),
            ),
        ]);
        let names: Vec<(String, Option<String>)> = turn_of(&d)
            .tools
            .into_iter()
            .map(|t| (t.name, t.arguments))
            .collect();
        assert_eq!(
            names,
            vec![
                ("early".to_string(), None),
                ("b".to_string(), None),
                ("a".to_string(), Some(r#"{"n":1}"#.to_string())),
            ]
        );
    }
}
