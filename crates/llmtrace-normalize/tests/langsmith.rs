//! LangSmith OTel-mode golden cases: run types, `ls_*` metadata, the Python-repr token details,
//! inputs / outputs as messages (LangChain serialized messages, raw request / response bodies),
//! sessions and tool names.

mod common;

use common::*;
use llmtrace_model::{Message, MessagePart, SpanKind, Usage};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Cases

const LC_INPUTS: &str = r#"{"messages": [[
  {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "SystemMessage"], "kwargs": {"content": "Be brief.", "type": "system"}},
  {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"], "kwargs": {"content": "Weather in Paris?", "type": "human"}}
]]}"#;

const LC_OUTPUTS: &str = r#"{"generations": [[{"text": "", "type": "ChatGeneration", "message": {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"], "kwargs": {"content": [{"type": "text", "text": "Let me check."}, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}], "type": "ai", "tool_calls": [{"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_1", "type": "tool_call"}]}}}]], "llm_output": {"model": "claude-sonnet-4-6"}}"#;

/// A ChatAnthropic run exported in OTel mode (wire notes).
#[test]
fn chat_anthropic_llm_run() {
    let sp = normalized(span(
        "ChatAnthropic",
        "langsmith",
        vec![
            ("langsmith.trace.name", s("ChatAnthropic")),
            ("langsmith.span.kind", s("llm")),
            (
                "langsmith.span.id",
                s("0196d1d2-0000-7000-8000-000000000001"),
            ),
            (
                "langsmith.trace.session_id",
                s("0196d1d2-0000-7000-8000-0000000000aa"),
            ),
            ("langsmith.span.tags", s("weather,prod")),
            ("langsmith.metadata.ls_provider", s("anthropic")),
            ("langsmith.metadata.ls_model_name", s("claude-sonnet-4-6")),
            ("langsmith.metadata.ls_model_type", s("chat")),
            ("langsmith.metadata.ls_temperature", f(0.2)),
            ("langsmith.metadata.ls_max_tokens", i(1024)),
            ("langsmith.metadata.thread_id", s("thread-1")),
            ("langsmith.metadata.user_id", s("user-1")),
            ("gen_ai.system", s("anthropic")),
            ("gen_ai.request.model", s("claude-sonnet-4-6")),
            ("gen_ai.response.model", s("claude-sonnet-4-6")),
            ("gen_ai.usage.input_tokens", i(160)),
            ("gen_ai.usage.output_tokens", i(45)),
            ("gen_ai.usage.total_tokens", i(205)),
            (
                "gen_ai.usage.input_token_details",
                s("{'cache_read': 30, 'ephemeral_5m_input_tokens': 10}"),
            ),
            ("gen_ai.prompt", s(LC_INPUTS)),
            ("gen_ai.completion", s(LC_OUTPUTS)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("llm"));
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("claude-sonnet-4-6")
    );
    assert_eq!(
        sp.usage,
        usage(Some(160), Some(45), Some(30), Some(10), None)
    );
    assert_eq!(sp.gen_ai.params.temperature, Some(0.2));
    assert_eq!(sp.gen_ai.params.max_tokens, Some(1024));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("thread-1"));
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("user-1"));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![
            Message::text("system", "Be brief."),
            Message::text("user", "Weather in Paris?")
        ]
    );
    let out = &sp.gen_ai.output_messages;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].role, "assistant");
    assert_eq!(
        out[0].parts,
        vec![
            MessagePart::Text {
                content: "Let me check.".into()
            },
            MessagePart::ToolCall {
                id: Some("toolu_1".into()),
                name: "get_weather".into(),
                arguments: Some(json!({"city": "Paris"})),
            },
        ]
    );
}

/// `wrap_anthropic` run: no `gen_ai.system`, the model only in the metadata, the raw request and
/// response bodies as inputs / outputs, `cache_creation` and 1-hour details.
#[test]
fn wrapped_client_run() {
    let sp = normalized(span(
        "ChatAnthropic",
        "langsmith",
        vec![
            ("langsmith.span.kind", s("llm")),
            ("langsmith.metadata.ls_provider", s("anthropic")),
            ("langsmith.metadata.ls_model_name", s("claude-sonnet-4-6")),
            ("langsmith.trace.session_id", s("proj-session")),
            ("gen_ai.usage.input_tokens", i(160)),
            ("gen_ai.usage.output_tokens", i(45)),
            (
                "gen_ai.usage.input_token_details",
                s("{'cache_read': 30, 'cache_creation': 10, 'ephemeral_5m_input_tokens': 6, 'ephemeral_1h_input_tokens': 4}"),
            ),
            ("gen_ai.usage.output_token_details", s("{'reasoning': 5}")),
            (
                "gen_ai.prompt",
                s(r#"{"model": "claude-sonnet-4-6", "max_tokens": 1024, "messages": [{"role": "user", "content": "Weather in Paris?"}]}"#),
            ),
            (
                "gen_ai.completion",
                s(r#"{"id": "msg_01", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "Sunny."}], "stop_reason": "end_turn"}"#),
            ),
        ],
    ));
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("claude-sonnet-4-6")
    );
    assert_eq!(
        sp.usage,
        Usage {
            cache_write_1h: Some(4),
            ..usage(Some(160), Some(45), Some(30), Some(10), Some(5))
        }
    );
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("proj-session"));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", "Weather in Paris?")]
    );
    assert_eq!(sp.gen_ai.output_messages[0].text_content(), "Sunny.");
    assert_eq!(sp.gen_ai.finish_reasons, vec!["stop"]);
}

#[test]
fn run_types_and_tool_names() {
    for (t, k) in [
        ("chain", SpanKind::Chain),
        ("retriever", SpanKind::Retriever),
        ("embedding", SpanKind::Embedding),
        ("prompt", SpanKind::Span),
        ("parser", SpanKind::Span),
    ] {
        let sp = normalized(span(
            "run",
            "langsmith",
            vec![("langsmith.span.kind", s(t))],
        ));
        assert_eq!(sp.kind, k, "{t}");
        assert!(!sp.counts_usage);
    }
    let sp = normalized(span(
        "get_weather",
        "langsmith",
        vec![
            ("langsmith.span.kind", s("tool")),
            ("langsmith.trace.name", s("get_weather")),
            ("gen_ai.prompt", s(r#"{"input": "Paris"}"#)),
            ("gen_ai.completion", s(r#"{"output": "sunny"}"#)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Tool);
    assert_eq!(sp.gen_ai.tool_name.as_deref(), Some("get_weather"));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", r#"{"input":"Paris"}"#)]
    );
}

/// Standard keys come first: `gen_ai.operation.name`, `gen_ai.system`, `gen_ai.request.model`,
/// `session.id` and `gen_ai.input.messages` win over their LangSmith counterparts.
#[test]
fn standard_keys_win() {
    let sp = normalized(span(
        "ChatOpenAI",
        "langsmith",
        vec![
            ("langsmith.span.kind", s("llm")),
            ("langsmith.metadata.ls_provider", s("azure")),
            ("langsmith.metadata.ls_model_name", s("my-deployment")),
            ("langsmith.trace.session_id", s("proj")),
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("openai")),
            ("gen_ai.request.model", s("gpt-4o")),
            ("session.id", s("sess-1")),
            (
                "gen_ai.input.messages",
                s(r#"[{"role":"user","parts":[{"type":"text","content":"structured"}]}]"#),
            ),
            (
                "gen_ai.prompt",
                s(r#"{"messages": [{"role": "user", "content": "blob"}]}"#),
            ),
        ],
    ));
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("chat"));
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("openai"));
    assert_eq!(sp.gen_ai.request_model.as_deref(), Some("gpt-4o"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("sess-1"));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", "structured")]
    );
}
