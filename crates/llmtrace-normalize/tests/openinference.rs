//! Golden cases for the OpenInference dialect: attribute sets as the OpenInference instrumentors
//! (anthropic 3.1.0, openai 0.1.66) send them, normalized end to end through the default registry.

mod common;

use common::*;
use llmtrace_model::{
    AttrValue, Attributes, Message, MessagePart, Money, Span, SpanEvent, SpanKind, StatusCode,
};
use llmtrace_normalize::Normalizer;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Builders

fn event_at(name: &str, offset_ms: u64) -> SpanEvent {
    SpanEvent {
        time_unix_nano: START + offset_ms * 1_000_000,
        name: name.to_owned(),
        attributes: Attributes::default(),
    }
}
/// An INTERNAL span with no instrumentation scope (see [`common::span`]).
fn span(name: &str, pairs: Vec<(&str, AttrValue)>) -> Span {
    common::span(name, "", pairs)
}

// ---------------------------------------------------------------------------------------------
// The table

fn cases() -> Vec<Case> {
    vec![
        // openinference-instrumentation-anthropic 3.1.0 against the mock: Claude Sonnet 4.6 with
        // cache tokens (API input 120 + read 30 + write 10 = 160 inclusive, output 45), a system
        // message, multi-part user content with an image, and a tool call in the output.
        Case {
            name: "anthropic messages with cache and tool call",
            span: span(
                "messages.create",
                vec![
                    ("openinference.span.kind", s("LLM")),
                    ("llm.provider", s("anthropic")),
                    ("llm.system", s("anthropic")),
                    ("llm.model_name", s("claude-sonnet-4-6")),
                    ("llm.request.model_name", s("claude-sonnet-4-6")),
                    ("llm.response.model_name", s("claude-sonnet-4-6-20260115")),
                    (
                        "llm.invocation_parameters",
                        s(
                            r#"{"model": "claude-sonnet-4-6", "max_tokens": 1024, "temperature": 0.3, "top_p": 0.9, "top_k": 40, "stop_sequences": ["END"]}"#,
                        ),
                    ),
                    ("llm.input_messages.0.message.role", s("system")),
                    ("llm.input_messages.0.message.content", s("You are terse.")),
                    ("llm.input_messages.1.message.role", s("user")),
                    (
                        "llm.input_messages.1.message.contents.0.message_content.type",
                        s("text"),
                    ),
                    (
                        "llm.input_messages.1.message.contents.0.message_content.text",
                        s("What's the weather here?"),
                    ),
                    (
                        "llm.input_messages.1.message.contents.1.message_content.type",
                        s("image"),
                    ),
                    (
                        "llm.input_messages.1.message.contents.1.message_content.image.image.url",
                        s("https://example.com/paris.png"),
                    ),
                    ("llm.output_messages.0.message.role", s("assistant")),
                    ("llm.output_messages.0.message.content", s("Let me check.")),
                    (
                        "llm.output_messages.0.message.tool_calls.0.tool_call.id",
                        s("toolu_01"),
                    ),
                    (
                        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
                        s("get_weather"),
                    ),
                    (
                        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
                        s(r#"{"city": "Paris"}"#),
                    ),
                    ("llm.token_count.prompt", i(160)),
                    ("llm.token_count.completion", i(45)),
                    ("llm.token_count.total", i(205)),
                    ("llm.token_count.prompt_details.cache_read", i(30)),
                    ("llm.token_count.prompt_details.cache_write", i(10)),
                    ("llm.finish_reason", s("tool_use")),
                    (
                        "llm.tools.0.tool.json_schema",
                        s(r#"{"name": "get_weather", "input_schema": {"type": "object"}}"#),
                    ),
                    (
                        "input.value",
                        s(r#"{"model": "claude-sonnet-4-6", "messages": []}"#),
                    ),
                    ("input.mime_type", s("application/json")),
                    (
                        "output.value",
                        s(r#"{"id": "msg_01", "role": "assistant"}"#),
                    ),
                    ("output.mime_type", s("application/json")),
                    ("session.id", s("sess-7")),
                    ("user.id", s("user-42")),
                    ("llm.cost.total", f(0.001_23)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("anthropic"),
                operation: Some("chat"),
                request_model: Some("claude-sonnet-4-6"),
                response_model: Some("claude-sonnet-4-6-20260115"),
                usage: usage(Some(160), Some(45), Some(30), Some(10), None),
                counts_usage: true,
                finish_reasons: &["tool_call"],
                user_id: Some("user-42"),
                session_id: Some("sess-7"),
                input_messages: 2,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                let g = &sp.gen_ai;
                assert_eq!(
                    g.input_messages[0],
                    Message::text("system", "You are terse.")
                );
                assert_eq!(g.input_messages[1].role, "user");
                assert_eq!(
                    g.input_messages[1].parts,
                    vec![
                        text("What's the weather here?"),
                        MessagePart::Other(json!({
                            "type": "uri", "modality": "image",
                            "uri": "https://example.com/paris.png"
                        })),
                    ]
                );
                assert_eq!(
                    g.output_messages[0].parts,
                    vec![
                        text("Let me check."),
                        MessagePart::ToolCall {
                            id: Some("toolu_01".into()),
                            name: "get_weather".into(),
                            arguments: Some(json!({"city": "Paris"})),
                        },
                    ]
                );
                let p = &g.params;
                assert_eq!(p.max_tokens, Some(1024));
                assert_eq!(p.temperature, Some(0.3));
                assert_eq!(p.top_p, Some(0.9));
                assert_eq!(p.top_k, Some(40.0));
                assert_eq!(p.stop_sequences, vec!["END"]);
                assert_eq!(sp.usage.uncached_input(), 120);
                assert_eq!(sp.cost.reported, Some(Money::from_pico(1_230_000_000)));
                // Tool definitions stay in the raw attributes.
                assert!(sp.attributes.get("llm.tools.0.tool.json_schema").is_some());
            },
        },
        // openinference-instrumentation-openai 0.1.66, streaming gpt-4o with a tool round-trip in
        // the history (prompt 90 with 40 cached, completion 25) and the first-token event.
        Case {
            name: "openai streaming chat with tool history",
            span: {
                let mut sp = span(
                    "ChatCompletion",
                    vec![
                        ("openinference.span.kind", s("LLM")),
                        ("llm.provider", s("openai")),
                        ("llm.system", s("openai")),
                        ("llm.model_name", s("gpt-4o-2024-08-06")),
                        (
                            "llm.invocation_parameters",
                            s(r#"{"model": "gpt-4o", "stream": true, "max_completion_tokens": "256", "temperature": "0.5", "seed": 7, "stop": "\n\n"}"#),
                        ),
                        ("llm.input_messages.0.message.role", s("system")),
                        ("llm.input_messages.0.message.content", s("Be brief.")),
                        ("llm.input_messages.1.message.role", s("user")),
                        ("llm.input_messages.1.message.content", s("Weather in Paris?")),
                        ("llm.input_messages.2.message.role", s("assistant")),
                        (
                            "llm.input_messages.2.message.tool_calls.0.tool_call.id",
                            s("call_1"),
                        ),
                        (
                            "llm.input_messages.2.message.tool_calls.0.tool_call.function.name",
                            s("get_weather"),
                        ),
                        (
                            "llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments",
                            s(r#"{"city":"Paris"}"#),
                        ),
                        ("llm.input_messages.3.message.role", s("tool")),
                        ("llm.input_messages.3.message.tool_call_id", s("call_1")),
                        ("llm.input_messages.3.message.content", s("18C, sunny")),
                        ("llm.output_messages.0.message.role", s("assistant")),
                        (
                            "llm.output_messages.0.message.content",
                            s("It is 18C and sunny."),
                        ),
                        ("llm.token_count.prompt", i(90)),
                        ("llm.token_count.completion", i(25)),
                        ("llm.token_count.total", i(115)),
                        ("llm.token_count.prompt_details.cache_read", i(40)),
                        ("llm.token_count.prompt_details.audio", i(0)),
                        ("llm.token_count.completion_details.audio", i(0)),
                        ("input.mime_type", s("application/json")),
                        ("output.mime_type", s("application/json")),
                    ],
                );
                sp.events.push(event_at("First Token Stream Event", 250));
                sp.events.push(event_at("First Token Stream Event", 900));
                sp
            },
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                operation: Some("chat"),
                request_model: Some("gpt-4o"),
                response_model: Some("gpt-4o-2024-08-06"),
                usage: usage(Some(90), Some(25), Some(40), None, None),
                counts_usage: true,
                input_messages: 4,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                let g = &sp.gen_ai;
                assert_eq!(g.time_to_first_token_s, Some(0.25));
                assert_eq!(
                    g.input_messages[2].parts,
                    vec![MessagePart::ToolCall {
                        id: Some("call_1".into()),
                        name: "get_weather".into(),
                        arguments: Some(json!({"city": "Paris"})),
                    }]
                );
                assert_eq!(g.input_messages[3].role, "tool");
                assert_eq!(
                    g.input_messages[3].parts,
                    vec![MessagePart::ToolCallResponse {
                        id: Some("call_1".into()),
                        response: json!("18C, sunny"),
                    }]
                );
                let p = &g.params;
                assert_eq!(p.stream, Some(true));
                assert_eq!(p.max_tokens, Some(256));
                assert_eq!(p.temperature, Some(0.5));
                assert_eq!(p.seed, Some(7));
                assert_eq!(p.stop_sequences, vec!["\n\n"]);
                assert_eq!(sp.usage.uncached_input(), 50);
                assert_eq!(sp.cost.reported, None);
            },
        },
        // Reasoning model: reasoning is a part of the completion count (inclusive, no fix-up).
        Case {
            name: "openai reasoning tokens",
            span: span(
                "ChatCompletion",
                vec![
                    ("openinference.span.kind", s("LLM")),
                    ("llm.provider", s("openai")),
                    ("llm.request.model_name", s("o4-mini")),
                    ("llm.response.model_name", s("o4-mini-2025-04-16")),
                    ("llm.token_count.prompt", i(50)),
                    ("llm.token_count.completion", i(300)),
                    ("llm.token_count.completion_details.reasoning", i(256)),
                    ("llm.output_messages.0.message.role", s("assistant")),
                    ("llm.output_messages.0.message.content", s("42")),
                    ("llm.finish_reason", s("length")),
                    ("llm.cost.prompt", f(0.000_055)),
                    ("llm.cost.completion", f(0.001_32)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                operation: Some("chat"),
                request_model: Some("o4-mini"),
                response_model: Some("o4-mini-2025-04-16"),
                usage: usage(Some(50), Some(300), None, None, Some(256)),
                counts_usage: true,
                finish_reasons: &["length"],
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                // No total: prompt + completion cost.
                assert_eq!(sp.cost.reported, Some(Money::from_pico(1_375_000_000)));
            },
        },
        // CreateEmbeddings: the prompt count only; the total derives the (zero) output.
        Case {
            name: "openai embeddings",
            span: span(
                "CreateEmbeddings",
                vec![
                    ("openinference.span.kind", s("EMBEDDING")),
                    ("llm.provider", s("openai")),
                    ("llm.system", s("openai")),
                    ("embedding.model_name", s("text-embedding-3-small")),
                    (
                        "embedding.invocation_parameters",
                        s(r#"{"encoding_format": "base64"}"#),
                    ),
                    ("embedding.embeddings.0.embedding.text", s("hello world")),
                    ("llm.token_count.prompt", i(8)),
                    ("llm.token_count.total", i(8)),
                    ("input.value", s("hello world")),
                    ("input.mime_type", s("text/plain")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Embedding,
                provider: Some("openai"),
                operation: Some("embeddings"),
                request_model: Some("text-embedding-3-small"),
                usage: usage(Some(8), Some(0), None, None, None),
                counts_usage: true,
                input_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(
                    sp.gen_ai.input_messages[0],
                    Message::text("user", "hello world")
                );
            },
        },
        // Retriever: documents stay in the raw attributes; the query is the input.
        Case {
            name: "retriever with documents",
            span: span(
                "retrieve",
                vec![
                    ("openinference.span.kind", s("RETRIEVER")),
                    ("input.value", s("capital of France")),
                    ("input.mime_type", s("text/plain")),
                    ("retrieval.documents.0.document.id", s("doc-1")),
                    (
                        "retrieval.documents.0.document.content",
                        s("Paris is the capital of France."),
                    ),
                    ("retrieval.documents.0.document.score", f(0.92)),
                    ("retrieval.documents.1.document.id", s("doc-2")),
                    ("session.id", s("s-1")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Retriever,
                session_id: Some("s-1"),
                input_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(
                    sp.attributes
                        .get_str("retrieval.documents.0.document.content"),
                    Some("Paris is the capital of France.")
                );
            },
        },
        Case {
            name: "reranker",
            span: span(
                "rerank",
                vec![
                    ("openinference.span.kind", s("RERANKER")),
                    ("reranker.model_name", s("rerank-english-v3.0")),
                    ("reranker.query", s("capital of France")),
                    ("reranker.top_k", i(3)),
                    ("reranker.input_documents.0.document.id", s("doc-1")),
                    ("llm.provider", s("cohere")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Reranker,
                provider: Some("cohere"),
                request_model: Some("rerank-english-v3.0"),
                ..Expect::default()
            },
            extra: no_extra,
        },
        // TOOL span: JSON input that is not a message is kept as text.
        Case {
            name: "tool span",
            span: span(
                "get_weather",
                vec![
                    ("openinference.span.kind", s("TOOL")),
                    ("tool.name", s("get_weather")),
                    ("tool.parameters", s(r#"{"type": "object"}"#)),
                    ("input.value", s(r#"{"city": "Paris"}"#)),
                    ("input.mime_type", s("application/json")),
                    ("output.value", s("18C, sunny")),
                    ("output.mime_type", s("text/plain")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Tool,
                input_messages: 1,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                let g = &sp.gen_ai;
                assert_eq!(g.tool_name.as_deref(), Some("get_weather"));
                assert_eq!(
                    g.input_messages[0],
                    Message::text("user", r#"{"city": "Paris"}"#)
                );
                assert_eq!(
                    g.output_messages[0],
                    Message::text("assistant", "18C, sunny")
                );
            },
        },
        // AGENT span with the summed usage of its children: never counted.
        Case {
            name: "agent span aggregates",
            span: span(
                "planner",
                vec![
                    ("openinference.span.kind", s("AGENT")),
                    ("agent.name", s("planner")),
                    ("llm.token_count.prompt", i(320)),
                    ("llm.token_count.completion", i(90)),
                    ("user.id", s("u-1")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Agent,
                usage: usage(Some(320), Some(90), None, None, None),
                counts_usage: false,
                user_id: Some("u-1"),
                ..Expect::default()
            },
            extra: |sp| assert_eq!(sp.gen_ai.agent_name.as_deref(), Some("planner")),
        },
        // CHAIN span: JSON output holding messages is parsed; JSON input without any is text.
        Case {
            name: "chain span io",
            span: span(
                "RunnableSequence",
                vec![
                    ("openinference.span.kind", s("CHAIN")),
                    ("input.value", s(r#"{"question": "capital of France?"}"#)),
                    ("input.mime_type", s("application/json")),
                    (
                        "output.value",
                        s(r#"{"messages": [{"role": "assistant", "content": "Paris"}]}"#),
                    ),
                    ("output.mime_type", s("application/json")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Chain,
                input_messages: 1,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(
                    sp.gen_ai.output_messages[0],
                    Message::text("assistant", "Paris")
                );
            },
        },
        // GUARDRAIL / EVALUATOR / PROMPT are plain spans.
        Case {
            name: "guardrail is other",
            span: span(
                "guard",
                vec![
                    ("openinference.span.kind", s("GUARDRAIL")),
                    ("input.value", s("hello")),
                ],
            ),
            expect: Expect {
                input_messages: 1,
                ..Expect::default()
            },
            extra: no_extra,
        },
        // Completions API: `llm.prompts.{i}.prompt.text` / `llm.choices.{i}.completion.text`.
        Case {
            name: "completions api",
            span: span(
                "Completion",
                vec![
                    ("openinference.span.kind", s("LLM")),
                    ("llm.provider", s("openai")),
                    ("llm.model_name", s("gpt-3.5-turbo-instruct")),
                    ("llm.prompts.0.prompt.text", s("Say hi")),
                    ("llm.choices.0.completion.text", s("Hi!")),
                    ("llm.token_count.prompt", i(3)),
                    ("llm.token_count.completion", i(2)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                operation: Some("text_completion"),
                request_model: Some("gpt-3.5-turbo-instruct"),
                response_model: Some("gpt-3.5-turbo-instruct"),
                usage: usage(Some(3), Some(2), None, None, None),
                counts_usage: true,
                input_messages: 1,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(sp.gen_ai.input_messages[0], Message::text("user", "Say hi"));
                assert_eq!(
                    sp.gen_ai.output_messages[0],
                    Message::text("assistant", "Hi!")
                );
            },
        },
        // Older anthropic instrumentor: `llm.prompts` as a string array, output only in
        // `output.value`.
        Case {
            name: "prompts string array and output value",
            span: span(
                "Completions",
                vec![
                    ("openinference.span.kind", s("LLM")),
                    ("llm.model_name", s("claude-2.1")),
                    (
                        "llm.prompts",
                        AttrValue::Array(vec![s("\n\nHuman: hi\n\nAssistant:")]),
                    ),
                    (
                        "output.value",
                        s(r#"{"completion": " Hello", "stop_reason": "stop_sequence"}"#),
                    ),
                    ("output.mime_type", s("application/json")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                operation: Some("text_completion"),
                request_model: Some("claude-2.1"),
                response_model: Some("claude-2.1"),
                input_messages: 1,
                output_messages: 1,
                ..Expect::default()
            },
            extra: no_extra,
        },
        // No structured messages: `input.value` (a request JSON) and `output.value` (an OpenAI
        // response JSON) give the messages.
        Case {
            name: "input and output value fallback",
            span: span(
                "ChatCompletion",
                vec![
                    ("openinference.span.kind", s("LLM")),
                    ("llm.system", s("openai")),
                    (
                        "input.value",
                        s(
                            r#"{"model": "gpt-4o", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "temperature": 0}"#,
                        ),
                    ),
                    ("input.mime_type", s("application/json")),
                    (
                        "output.value",
                        s(
                            r#"{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello!"}}]}"#,
                        ),
                    ),
                    ("output.mime_type", s("application/json")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                finish_reasons: &["stop"],
                input_messages: 2,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                let g = &sp.gen_ai;
                assert_eq!(g.input_messages[1], Message::text("user", "Hi"));
                assert_eq!(g.output_messages[0].parts, vec![text("Hello!")]);
                assert_eq!(g.output_messages[0].finish_reason.as_deref(), Some("stop"));
            },
        },
        // OpenInference's failed OpenAI span: no model, an exception event, status ERROR.
        Case {
            name: "failed call",
            span: {
                let mut sp = span(
                    "ChatCompletion",
                    vec![
                        ("openinference.span.kind", s("LLM")),
                        ("llm.provider", s("openai")),
                        ("llm.input_messages.0.message.role", s("user")),
                        ("llm.input_messages.0.message.content", s("hi")),
                        (
                            "llm.invocation_parameters",
                            s(r#"{"model": "gpt-4o-overloaded"}"#),
                        ),
                    ],
                );
                sp.status = StatusCode::Error;
                sp.events.push(SpanEvent {
                    time_unix_nano: START + 5_000_000,
                    name: "exception".into(),
                    attributes: attrs(vec![("exception.type", s("openai.InternalServerError"))]),
                });
                sp
            },
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                operation: Some("chat"),
                request_model: Some("gpt-4o-overloaded"),
                input_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(
                    sp.gen_ai.error_type.as_deref(),
                    Some("openai.InternalServerError")
                );
            },
        },
    ]
}

#[test]
fn golden_cases() {
    assert_cases(cases());
}

#[test]
fn sparse_indices_reassemble_in_index_order() {
    let sp = normalized(span(
        "messages.create",
        vec![
            ("openinference.span.kind", s("LLM")),
            // Attribute order deliberately scrambled; indices 0, 2 and 10 (numeric, not
            // lexicographic order).
            ("llm.input_messages.10.message.content", s("third")),
            ("llm.input_messages.2.message.role", s("assistant")),
            ("llm.input_messages.0.message.content", s("first")),
            ("llm.input_messages.10.message.role", s("user")),
            ("llm.input_messages.2.message.content", s("second")),
            ("llm.input_messages.0.message.role", s("user")),
            // Sparse tool-call indices inside one message.
            ("llm.output_messages.0.message.role", s("assistant")),
            (
                "llm.output_messages.0.message.tool_calls.3.tool_call.function.name",
                s("b"),
            ),
            (
                "llm.output_messages.0.message.tool_calls.1.tool_call.function.name",
                s("a"),
            ),
        ],
    ));
    let g = &sp.gen_ai;
    assert_eq!(
        g.input_messages,
        vec![
            Message::text("user", "first"),
            Message::text("assistant", "second"),
            Message::text("user", "third"),
        ]
    );
    let names: Vec<&str> = g.output_messages[0]
        .parts
        .iter()
        .map(|p| match p {
            MessagePart::ToolCall { name, .. } => name.as_str(),
            other => panic!("unexpected part {other:?}"),
        })
        .collect();
    assert_eq!(names, ["a", "b"]);
}

/// Attribute pairs, expected provider, expected raw provider.
type ProviderCase = (
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
    Option<&'static str>,
);

#[test]
fn provider_and_system_aliases() {
    let cases: &[ProviderCase] = &[
        // Claude on Bedrock: the hosting provider wins over the family.
        (
            &[("llm.provider", "aws"), ("llm.system", "anthropic")],
            Some("aws.bedrock"),
            Some("aws"),
        ),
        (
            &[("llm.provider", "azure"), ("llm.system", "openai")],
            Some("azure.ai.openai"),
            Some("azure"),
        ),
        (
            &[("llm.provider", "google"), ("llm.system", "vertexai")],
            Some("gcp.gen_ai"),
            Some("google"),
        ),
        (
            &[("llm.system", "vertexai")],
            Some("gcp.vertex_ai"),
            Some("vertexai"),
        ),
        (&[("llm.provider", "xai")], Some("x_ai"), Some("xai")),
        (
            &[("llm.provider", "mistralai")],
            Some("mistral_ai"),
            Some("mistralai"),
        ),
        // A framework is not a provider: the family decides, the raw value is kept.
        (
            &[("llm.provider", "langchain"), ("llm.system", "anthropic")],
            Some("anthropic"),
            Some("langchain"),
        ),
    ];
    for (pairs, provider, raw) in cases {
        let mut kv = vec![("openinference.span.kind", s("LLM"))];
        kv.extend(pairs.iter().map(|(k, v)| (*k, s(v))));
        let sp = normalized(span("x", kv));
        assert_eq!(sp.gen_ai.provider.as_deref(), *provider, "{pairs:?}");
        assert_eq!(sp.gen_ai.provider_raw.as_deref(), *raw, "{pairs:?}");
    }
}

/// A span carrying both OpenInference and OTel GenAI keys: the registry puts `openinference`
/// before `otel_genai`, so OpenInference wins every field it sets and the OTel dialect fills only
/// the rest.
#[test]
fn openinference_wins_over_otel_genai_per_field() {
    let names: Vec<&str> = Normalizer::new().dialect_names().collect();
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("openinference") < pos("otel_genai"), "{names:?}");

    let sp = normalized(span(
        "agent step",
        vec![
            ("openinference.span.kind", s("CHAIN")),
            ("llm.provider", s("aws")),
            ("llm.model_name", s("claude-sonnet-4-6")),
            ("llm.token_count.prompt", i(160)),
            ("llm.token_count.prompt_details.cache_read", i(30)),
            ("llm.input_messages.0.message.role", s("user")),
            (
                "llm.input_messages.0.message.content",
                s("from openinference"),
            ),
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("anthropic")),
            ("gen_ai.request.model", s("claude-3-haiku")),
            ("gen_ai.response.id", s("msg_9")),
            ("gen_ai.request.temperature", f(0.7)),
            ("gen_ai.usage.input_tokens", i(120)),
            ("gen_ai.usage.output_tokens", i(45)),
            ("gen_ai.usage.cache_read.input_tokens", i(99)),
            (
                "gen_ai.input.messages",
                s(r#"[{"role":"user","parts":[{"type":"text","content":"from otel"}]}]"#),
            ),
        ],
    ));
    let g = &sp.gen_ai;
    // OpenInference: kind, provider, model, input and cache counts, messages.
    assert_eq!(sp.kind, SpanKind::Chain);
    assert_eq!(g.provider.as_deref(), Some("aws.bedrock"));
    assert_eq!(g.request_model.as_deref(), Some("claude-sonnet-4-6"));
    assert_eq!(g.response_model.as_deref(), Some("claude-sonnet-4-6"));
    assert_eq!(sp.usage.input, Some(160));
    assert_eq!(sp.usage.cache_read, Some(30));
    assert_eq!(
        g.input_messages,
        vec![Message::text("user", "from openinference")]
    );
    // OTel GenAI: what OpenInference did not carry (the explicit operation is not overridden by a
    // derived one).
    assert_eq!(g.operation.as_deref(), Some("chat"));
    assert_eq!(g.response_id.as_deref(), Some("msg_9"));
    assert_eq!(g.params.temperature, Some(0.7));
    assert_eq!(sp.usage.output, Some(45));
    // A chain never counts usage.
    assert!(!sp.counts_usage);
}

#[test]
fn spans_without_openinference_keys_are_untouched() {
    // `input.value` alone (LangSmith and others use it) does not make a span OpenInference.
    let sp = normalized(span(
        "handler",
        vec![
            ("input.value", s("hello")),
            ("llm.request.type", s("unknown")),
            ("http.request.method", s("GET")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Span);
    assert!(sp.gen_ai.input_messages.is_empty());
}

#[test]
fn ttft_ignores_events_before_the_start() {
    let mut sp = span(
        "ChatCompletion",
        vec![("openinference.span.kind", s("LLM"))],
    );
    sp.events.push(SpanEvent {
        time_unix_nano: START - 1,
        name: "First Token Stream Event".into(),
        attributes: Attributes::default(),
    });
    let sp = normalized(sp);
    assert_eq!(sp.gen_ai.time_to_first_token_s, None);
}

#[test]
fn normalize_is_idempotent() {
    let case = cases().remove(0);
    let once = normalized(case.span);
    let twice = normalized(once.clone());
    assert_eq!(once, twice);
}
