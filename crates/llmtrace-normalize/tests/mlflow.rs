//! MLflow golden cases: JSON-quoted values, span types, token usage with the 1-hour cache part,
//! span inputs / outputs as messages and parameters, reported cost.

mod common;

use common::*;
use llmtrace_model::{AttrValue, Message, Money, SpanKind, Usage};

// ---------------------------------------------------------------------------------------------
// Builders

/// MLflow JSON-encodes every attribute value.
fn q(v: &str) -> AttrValue {
    s(&serde_json::to_string(v).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Cases

/// `mlflow.anthropic.autolog()` chat span.
#[test]
fn anthropic_chat_model_span() {
    let sp = normalized(span(
        "Messages.create",
        "mlflow.tracing",
        vec![
            ("mlflow.traceRequestId", q("tr-123")),
            ("mlflow.spanType", q("CHAT_MODEL")),
            ("mlflow.spanFunctionName", q("create")),
            ("mlflow.message.format", q("anthropic")),
            ("mlflow.llm.provider", q("anthropic")),
            ("mlflow.llm.model", q("claude-sonnet-4-6")),
            (
                "mlflow.spanInputs",
                s(
                    r#"{"model": "claude-sonnet-4-6", "max_tokens": 1024, "temperature": 0.2, "system": "Be brief.", "messages": [{"role": "user", "content": "Weather in Paris?"}]}"#,
                ),
            ),
            (
                "mlflow.spanOutputs",
                s(
                    r#"{"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [{"type": "text", "text": "Sunny."}], "stop_reason": "end_turn", "usage": {"input_tokens": 120, "output_tokens": 45, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 10}}"#,
                ),
            ),
            (
                "mlflow.chat.tokenUsage",
                s(
                    r#"{"input_tokens": 160, "output_tokens": 45, "total_tokens": 205, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 10}"#,
                ),
            ),
            (
                "mlflow.llm.cost",
                s(r#"{"input_cost": 0.00036, "output_cost": 0.000675, "total_cost": 0.001035}"#),
            ),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("CHAT_MODEL"));
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("claude-sonnet-4-6")
    );
    assert_eq!(
        sp.usage,
        usage(Some(160), Some(45), Some(30), Some(10), None)
    );
    assert_eq!(sp.cost.reported, usd(0.001035));
    assert_eq!(sp.gen_ai.params.max_tokens, Some(1024));
    assert_eq!(sp.gen_ai.params.temperature, Some(0.2));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![
            Message::text("system", "Be brief."),
            Message::text("user", "Weather in Paris?")
        ]
    );
    let out = &sp.gen_ai.output_messages;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].text_content(), "Sunny.");
    assert_eq!(out[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(sp.gen_ai.finish_reasons, vec!["stop"]);
}

/// OpenAI autolog: the response object's `choices` become the output; the model comes from
/// the inputs when `mlflow.llm.model` is absent; the 1-hour cache part is kept.
#[test]
fn openai_outputs_and_one_hour_cache() {
    let sp = normalized(span(
        "Completions",
        "mlflow.tracing",
        vec![
            ("mlflow.spanType", q("LLM")),
            (
                "mlflow.spanInputs",
                s(
                    r#"{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 64}"#,
                ),
            ),
            (
                "mlflow.spanOutputs",
                s(
                    r#"{"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello!"}}]}"#,
                ),
            ),
            (
                "mlflow.chat.tokenUsage",
                s(
                    r#"{"input_tokens": 160, "output_tokens": 45, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 10, "cache_creation_input_tokens_above_1hr": 4}"#,
                ),
            ),
        ],
    ));
    assert_eq!(sp.gen_ai.request_model.as_deref(), Some("gpt-4o"));
    assert_eq!(sp.gen_ai.params.max_tokens, Some(64));
    assert_eq!(
        sp.usage,
        Usage {
            cache_write_1h: Some(4),
            ..usage(Some(160), Some(45), Some(30), Some(10), None)
        }
    );
    assert_eq!(sp.gen_ai.output_messages[0].text_content(), "Hello!");
    assert_eq!(sp.gen_ai.input_messages, vec![Message::text("user", "Hi")]);
}

#[test]
fn span_types() {
    for (t, k) in [
        ("LLM", SpanKind::Llm),
        ("CHAT_MODEL", SpanKind::Llm),
        ("EMBEDDING", SpanKind::Embedding),
        ("RETRIEVER", SpanKind::Retriever),
        ("RERANKER", SpanKind::Reranker),
        ("TOOL", SpanKind::Tool),
        ("AGENT", SpanKind::Agent),
        ("CHAIN", SpanKind::Chain),
        ("WORKFLOW", SpanKind::Chain),
        ("TASK", SpanKind::Chain),
        ("PARSER", SpanKind::Span),
        ("MEMORY", SpanKind::Span),
        ("GUARDRAIL", SpanKind::Span),
        ("EVALUATOR", SpanKind::Span),
        ("UNKNOWN", SpanKind::Span),
    ] {
        let sp = normalized(span("step", "", vec![("mlflow.spanType", q(t))]));
        assert_eq!(sp.kind, k, "{t}");
        assert_eq!(sp.gen_ai.operation.as_deref(), Some(t));
    }
    // An unquoted value (hand-made span) is accepted too.
    let sp = normalized(span("step", "", vec![("mlflow.spanType", s("TOOL"))]));
    assert_eq!(sp.kind, SpanKind::Tool);
}

/// A chain root span: arbitrary inputs are kept as one text message; usage on an agent span is
/// not counted; `user.id` / `session.id` are JSON-decoded.
#[test]
fn chain_root_with_user_and_session() {
    let sp = normalized(span(
        "rag",
        "mlflow.tracing",
        vec![
            ("mlflow.spanType", q("CHAIN")),
            (
                "mlflow.spanInputs",
                s(r#"{"question": "Weather in Paris?"}"#),
            ),
            ("mlflow.spanOutputs", q("Sunny.")),
            ("user.id", q("alice")),
            ("session.id", q("sess-9")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Chain);
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", r#"{"question":"Weather in Paris?"}"#)]
    );
    assert_eq!(
        sp.gen_ai.output_messages,
        vec![Message::text("assistant", "Sunny.")]
    );
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("alice"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("sess-9"));

    let sp = normalized(span(
        "agent",
        "mlflow.tracing",
        vec![
            ("mlflow.spanType", q("AGENT")),
            (
                "mlflow.chat.tokenUsage",
                s(r#"{"input_tokens": 500, "output_tokens": 80}"#),
            ),
            ("mlflow.llm.cost", s(r#"{"total_cost": 0.01}"#)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Agent);
    assert_eq!(sp.usage.input, Some(500));
    assert!(!sp.counts_usage);
    assert_eq!(sp.cost.reported, Some(Money::from_pico(10_000_000_000)));
}
