//! Messages stored once (`crate::messages`): whatever a store keeps apart, every span reads back
//! its messages exactly, and deleting one trace never takes a message another trace uses.

use super::{llm, tid, write, T0};
use crate::Store;
use llmtrace_model::{Message, MessagePart, Span};
use std::future::Future;

const MS: u64 = 1_000_000;

/// A message long enough for the message table.
fn long(role: &str, what: &str) -> Message {
    Message::text(
        role,
        format!("{what}: {}", "a long sentence of context. ".repeat(40)),
    )
}

/// An agent's model call `round` of trace `trace`, resending the history so far.
fn agent_call(trace: u64, round: u64, history: &[Message], answer: Message) -> Span {
    let mut call = llm(
        trace,
        round + 2,
        Some(1),
        "claude-sonnet-4",
        100,
        10,
        round * 1000,
        900,
    );
    // The raw attribute the messages were parsed from, as an SDK sends it: compact JSON, or
    // with Python's `", "` between elements on odd traces.
    let elements: Vec<String> = history
        .iter()
        .map(|m| serde_json::to_string(m).unwrap())
        .collect();
    let sep = if trace.is_multiple_of(2) { "," } else { ", " };
    call.attributes.0.push(llmtrace_model::KeyValue {
        key: "gen_ai.input.messages".into(),
        value: llmtrace_model::AttrValue::Str(format!("[{}]", elements.join(sep))),
    });
    call.gen_ai.input_messages = history.to_vec();
    call.gen_ai.output_messages = vec![answer];
    call
}

/// The calls of one agent trace: each round resends the shared system prompt, the question
/// and every earlier answer and tool result (long and short, a tool call and a named message
/// among them).
fn agent_trace(trace: u64, start_shift_ms: u64, system: &Message) -> Vec<Span> {
    let mut history = vec![system.clone(), long("user", &format!("question {trace}"))];
    let mut calls = Vec::new();
    for round in 0..4 {
        let answer = if round % 2 == 0 {
            Message {
                role: "assistant".into(),
                parts: vec![MessagePart::ToolCall {
                    id: Some(format!("call_{trace}_{round}")),
                    name: "search".into(),
                    arguments: Some(serde_json::json!({"q": "x".repeat(1100)})),
                }],
                name: None,
                finish_reason: Some("tool_calls".into()),
            }
        } else {
            Message::text("assistant", "ok")
        };
        let mut call = agent_call(trace, round, &history, answer.clone());
        call.start_unix_nano += start_shift_ms * MS;
        call.end_unix_nano += start_shift_ms * MS;
        calls.push(call);
        history.push(answer);
        let mut tool = long("tool", &format!("result {trace}/{round}"));
        tool.name = Some("search".into());
        history.push(tool);
    }
    calls
}

/// Two agent traces sharing a system prompt, written call by call in separate writes (as an SDK
/// exports them) and the second all at once, read back with every message as written; a
/// LangSmith-style incomplete copy with long inputs, completed by a copy with only outputs,
/// keeps its inputs.
pub async fn traces_sharing_messages_read_back_identical<S: Store>(s: &S) {
    let system = long("system", "you are a research agent");
    let first = agent_trace(80, 0, &system);
    for call in &first {
        write(s, vec![call.clone()]).await;
    }
    let second = agent_trace(81, 10, &system);
    write(s, second.clone()).await;
    for (trace, calls) in [(80, &first), (81, &second)] {
        let d = s.get_trace("default", tid(trace)).await.unwrap().unwrap();
        let stored: Vec<&Span> = d.spans.iter().map(|s| &s.span).collect();
        assert_eq!(stored.len(), calls.len(), "trace {trace}");
        for (got, want) in stored.iter().zip(calls.iter()) {
            assert_eq!(got.gen_ai.input_messages, want.gen_ai.input_messages);
            assert_eq!(got.gen_ai.output_messages, want.gen_ai.output_messages);
            assert_eq!(got.attributes, want.attributes);
            assert_eq!(*got, want, "trace {trace}");
        }
    }

    let mut posted = llm(82, 2, Some(1), "gpt-4o", 0, 0, 0, 0);
    posted.incomplete = true;
    posted.usage = Default::default();
    posted.gen_ai.input_messages = vec![system.clone(), long("user", "question 82")];
    write(s, vec![posted.clone()]).await;
    let mut patched = llm(82, 2, Some(1), "gpt-4o", 10, 5, 0, 700);
    patched.gen_ai.output_messages = vec![long("assistant", "answer 82")];
    write(s, vec![patched.clone()]).await;
    let d = s.get_trace("default", tid(82)).await.unwrap().unwrap();
    let merged = &d.spans.first().expect("the merged span").span;
    assert!(!merged.incomplete);
    assert_eq!(merged.gen_ai.input_messages, posted.gen_ai.input_messages);
    assert_eq!(
        merged.gen_ai.output_messages,
        patched.gen_ai.output_messages
    );
}

/// Two traces share messages; `delete_older` deletes the older one (through the backend's
/// retention), which started at `older_start_ns`; the newer one started at `newer_start_ns`
/// (far enough after it for the backend's retention to tell them apart). The newer trace reads
/// back every message, shared ones included.
pub async fn deleting_one_trace_keeps_the_others_messages<S, F, Fut>(
    s: &S,
    older_start_ns: u64,
    newer_start_ns: u64,
    delete_older: F,
) where
    S: Store,
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let system = long("system", "you are a research agent");
    let shift = |ns: u64| ns.saturating_sub(T0) / MS;
    let older = agent_trace(90, shift(older_start_ns), &system);
    let newer = agent_trace(91, shift(newer_start_ns), &system);
    write(s, older).await;
    write(s, newer.clone()).await;
    // (A store deleting by TTL may have dropped the older trace already: no assertion before.)
    delete_older().await;
    let gone = s.get_trace("default", tid(90)).await.unwrap();
    assert!(
        gone.is_none_or(|d| d.spans.is_empty()),
        "the older trace was deleted"
    );
    let d = s.get_trace("default", tid(91)).await.unwrap().unwrap();
    let stored: Vec<&Span> = d.spans.iter().map(|s| &s.span).collect();
    assert_eq!(stored.len(), newer.len());
    for (got, want) in stored.iter().zip(newer.iter()) {
        assert_eq!(got.gen_ai.input_messages, want.gen_ai.input_messages);
        assert_eq!(got.gen_ai.output_messages, want.gen_ai.output_messages);
        assert_eq!(got.attributes, want.attributes);
    }
}
