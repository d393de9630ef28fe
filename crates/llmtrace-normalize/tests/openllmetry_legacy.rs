//! Golden cases for the OpenLLMetry legacy dialect (instrumentations ≤ 0.53, semconv-ai ≤ 0.4)
//! and the Traceloop SDK, normalized end to end through the default registry (so the OTel GenAI
//! dialect reads the keys both share).

mod common;

use common::span_with_kind as span;
use common::*;
use llmtrace_model::{AttrValue, Attributes, Message, MessagePart, SpanEvent, SpanKind};
use llmtrace_normalize::Normalizer;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// The table

fn cases() -> Vec<Case> {
    vec![
        // opentelemetry-instrumentation-anthropic 0.47.5 against the mock: `Anthropic`,
        // `llm.request.type=completion` for a Messages API chat, system as prompt 0, a thinking
        // completion before the answer, raw finish reason, inclusive prompt tokens (120 + 30 + 10).
        Case {
            name: "legacy anthropic chat with thinking and tool call",
            span: span(
                "anthropic.chat",
                3,
                vec![
                    ("gen_ai.system", s("Anthropic")),
                    ("llm.request.type", s("completion")),
                    ("gen_ai.request.model", s("claude-sonnet-4-6")),
                    ("gen_ai.request.max_tokens", i(1024)),
                    ("gen_ai.request.temperature", f(0.3)),
                    ("gen_ai.response.model", s("claude-sonnet-4-6")),
                    ("gen_ai.response.id", s("msg_01")),
                    ("gen_ai.prompt.0.role", s("system")),
                    ("gen_ai.prompt.0.content", s("You are terse.")),
                    ("gen_ai.prompt.1.role", s("user")),
                    ("gen_ai.prompt.1.content", s("Weather in Paris?")),
                    ("gen_ai.completion.0.role", s("thinking")),
                    ("gen_ai.completion.0.content", s("I should call the tool.")),
                    ("gen_ai.completion.1.role", s("assistant")),
                    ("gen_ai.completion.1.content", s("Let me check.")),
                    ("gen_ai.completion.1.finish_reason", s("tool_use")),
                    ("gen_ai.completion.1.tool_calls.0.id", s("toolu_01")),
                    ("gen_ai.completion.1.tool_calls.0.name", s("get_weather")),
                    (
                        "gen_ai.completion.1.tool_calls.0.arguments",
                        s(r#"{"city": "Paris"}"#),
                    ),
                    ("gen_ai.usage.prompt_tokens", i(160)),
                    ("gen_ai.usage.completion_tokens", i(45)),
                    ("llm.usage.total_tokens", i(205)),
                    ("gen_ai.usage.cache_read_input_tokens", i(30)),
                    ("gen_ai.usage.cache_creation_input_tokens", i(10)),
                    ("traceloop.workflow.name", s("weather")),
                    ("traceloop.association.properties.user_id", s("user-42")),
                    ("traceloop.association.properties.session_id", s("sess-7")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("anthropic"),
                provider_raw: Some("Anthropic"),
                operation: Some("chat"),
                request_model: Some("claude-sonnet-4-6"),
                response_model: Some("claude-sonnet-4-6"),
                usage: usage(Some(160), Some(45), Some(30), Some(10), None),
                counts_usage: true,
                finish_reasons: &["tool_call"],
                user_id: Some("user-42"),
                session_id: Some("sess-7"),
                input_messages: 2,
                output_messages: 1,
            },
            extra: |sp| {
                let g = &sp.gen_ai;
                assert_eq!(
                    g.input_messages[0],
                    Message::text("system", "You are terse.")
                );
                assert_eq!(
                    g.input_messages[1],
                    Message::text("user", "Weather in Paris?")
                );
                let out = &g.output_messages[0];
                assert_eq!(out.role, "assistant");
                assert_eq!(out.finish_reason.as_deref(), Some("tool_call"));
                assert_eq!(
                    out.parts,
                    vec![
                        MessagePart::Reasoning {
                            content: "I should call the tool.".into()
                        },
                        text("Let me check."),
                        MessagePart::ToolCall {
                            id: Some("toolu_01".into()),
                            name: "get_weather".into(),
                            arguments: Some(json!({"city": "Paris"})),
                        },
                    ]
                );
                assert_eq!(g.params.max_tokens, Some(1024));
                assert_eq!(g.response_id.as_deref(), Some("msg_01"));
                assert_eq!(sp.usage.uncached_input(), 120);
            },
        },
        // opentelemetry-instrumentation-openai 0.47.5: streaming gpt-4o (prompt 90 with 40
        // cached, completion 25) with a tool round-trip in the history, legacy extra params and
        // per-chunk events.
        Case {
            name: "legacy openai streaming chat with tool history",
            span: {
                let mut sp = span(
                    "openai.chat",
                    3,
                    vec![
                        ("gen_ai.system", s("openai")),
                        ("llm.request.type", s("chat")),
                        ("gen_ai.request.model", s("gpt-4o")),
                        ("gen_ai.response.model", s("gpt-4o-2024-08-06")),
                        ("llm.is_streaming", AttrValue::Bool(true)),
                        ("llm.frequency_penalty", f(0.5)),
                        ("llm.presence_penalty", f(0.1)),
                        ("llm.chat.stop_sequences", s(r#"["\n\n"]"#)),
                        ("llm.user", s("api-user")),
                        ("gen_ai.prompt.0.role", s("system")),
                        ("gen_ai.prompt.0.content", s("Be brief.")),
                        ("gen_ai.prompt.1.role", s("user")),
                        ("gen_ai.prompt.1.content", s("Weather in Paris?")),
                        ("gen_ai.prompt.2.role", s("assistant")),
                        ("gen_ai.prompt.2.tool_calls.0.id", s("call_1")),
                        ("gen_ai.prompt.2.tool_calls.0.name", s("get_weather")),
                        (
                            "gen_ai.prompt.2.tool_calls.0.arguments",
                            s(r#"{"city":"Paris"}"#),
                        ),
                        ("gen_ai.prompt.3.role", s("tool")),
                        ("gen_ai.prompt.3.tool_call_id", s("call_1")),
                        ("gen_ai.prompt.3.content", s("18C, sunny")),
                        ("gen_ai.completion.0.role", s("assistant")),
                        ("gen_ai.completion.0.content", s("It is 18C and sunny.")),
                        ("gen_ai.completion.0.finish_reason", s("stop")),
                        ("gen_ai.usage.prompt_tokens", i(90)),
                        ("gen_ai.usage.completion_tokens", i(25)),
                        ("llm.usage.total_tokens", i(115)),
                        ("gen_ai.usage.cache_read_input_tokens", i(40)),
                        ("gen_ai.openai.api_base", s("https://api.openai.com/v1/")),
                    ],
                );
                for ms in [400, 120, 800] {
                    sp.events.push(SpanEvent {
                        time_unix_nano: START + ms * 1_000_000,
                        name: "llm.content.completion.chunk".into(),
                        attributes: Attributes::default(),
                    });
                }
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
                finish_reasons: &["stop"],
                // No association property: the generic fallback takes the API `user` field.
                user_id: Some("api-user"),
                input_messages: 4,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                let g = &sp.gen_ai;
                assert_eq!(
                    g.input_messages[2].parts,
                    vec![MessagePart::ToolCall {
                        id: Some("call_1".into()),
                        name: "get_weather".into(),
                        arguments: Some(json!({"city": "Paris"})),
                    }]
                );
                assert_eq!(
                    g.input_messages[3].parts,
                    vec![MessagePart::ToolCallResponse {
                        id: Some("call_1".into()),
                        response: json!("18C, sunny"),
                    }]
                );
                let p = &g.params;
                assert_eq!(p.stream, Some(true));
                assert_eq!(p.frequency_penalty, Some(0.5));
                assert_eq!(p.presence_penalty, Some(0.1));
                assert_eq!(p.stop_sequences, vec!["\n\n"]);
                assert_eq!(g.time_to_first_token_s, Some(0.12));
                assert_eq!(sp.usage.uncached_input(), 50);
            },
        },
        // semconv-ai 0.4.14–0.4.16: reasoning under `llm.usage.reasoning_tokens`, inside the
        // completion count; the total derives nothing when both sides are present.
        Case {
            name: "legacy reasoning tokens",
            span: span(
                "openai.chat",
                3,
                vec![
                    ("gen_ai.system", s("openai")),
                    ("llm.request.type", s("chat")),
                    ("gen_ai.request.model", s("o3-mini")),
                    ("gen_ai.usage.prompt_tokens", i(50)),
                    ("gen_ai.usage.completion_tokens", i(300)),
                    ("llm.usage.total_tokens", i(350)),
                    ("llm.usage.reasoning_tokens", i(256)),
                    ("gen_ai.completion.0.content", s("42")),
                    ("gen_ai.completion.0.finish_reason", s("length")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                operation: Some("chat"),
                request_model: Some("o3-mini"),
                usage: usage(Some(50), Some(300), None, None, Some(256)),
                counts_usage: true,
                finish_reasons: &["length"],
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(
                    sp.gen_ai.output_messages[0].role, "assistant",
                    "default role"
                );
            },
        },
        // Completions API: `gen_ai.prompt.0.user`, no roles → text_completion.
        Case {
            name: "legacy completions api",
            span: span(
                "openai.completion",
                3,
                vec![
                    ("gen_ai.system", s("openai")),
                    ("llm.request.type", s("completion")),
                    ("gen_ai.request.model", s("gpt-3.5-turbo-instruct")),
                    ("gen_ai.prompt.0.user", s("Say hi")),
                    ("gen_ai.completion.0.content", s("Hi!")),
                    ("gen_ai.completion.0.finish_reason", s("max_tokens")),
                    ("gen_ai.usage.prompt_tokens", i(3)),
                    ("llm.usage.total_tokens", i(5)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                operation: Some("text_completion"),
                request_model: Some("gpt-3.5-turbo-instruct"),
                // The completion count is derived from the total.
                usage: usage(Some(3), Some(2), None, None, None),
                counts_usage: true,
                finish_reasons: &["length"],
                input_messages: 1,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(sp.gen_ai.input_messages[0], Message::text("user", "Say hi"));
                assert_eq!(sp.gen_ai.output_messages[0].parts, vec![text("Hi!")]);
            },
        },
        Case {
            name: "legacy embeddings",
            span: span(
                "openai.embeddings",
                3,
                vec![
                    ("gen_ai.system", s("openai")),
                    ("llm.request.type", s("embedding")),
                    ("gen_ai.request.model", s("text-embedding-3-small")),
                    ("gen_ai.response.model", s("text-embedding-3-small")),
                    ("gen_ai.prompt.0.content", s("hello world")),
                    ("gen_ai.usage.prompt_tokens", i(8)),
                    ("llm.usage.total_tokens", i(8)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Embedding,
                provider: Some("openai"),
                operation: Some("embeddings"),
                request_model: Some("text-embedding-3-small"),
                response_model: Some("text-embedding-3-small"),
                usage: usage(Some(8), Some(0), None, None, None),
                counts_usage: true,
                input_messages: 1,
                ..Expect::default()
            },
            extra: no_extra,
        },
        Case {
            name: "legacy rerank",
            span: span(
                "cohere.rerank",
                3,
                vec![
                    ("gen_ai.system", s("Cohere")),
                    ("llm.request.type", s("rerank")),
                    ("gen_ai.request.model", s("rerank-english-v3.0")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Reranker,
                provider: Some("cohere"),
                provider_raw: Some("Cohere"),
                operation: Some("rerank"),
                request_model: Some("rerank-english-v3.0"),
                ..Expect::default()
            },
            extra: no_extra,
        },
        // Traceloop `@workflow`: no gen_ai keys at all; decorator input/output as the content.
        Case {
            name: "traceloop workflow",
            span: span(
                "weather_pipeline.workflow",
                1,
                vec![
                    ("traceloop.span.kind", s("workflow")),
                    ("traceloop.entity.name", s("weather_pipeline")),
                    ("traceloop.workflow.name", s("weather_pipeline")),
                    (
                        "traceloop.entity.input",
                        s(r#"{"args": ["Paris"], "kwargs": {}}"#),
                    ),
                    ("traceloop.entity.output", s(r#""It is 18C in Paris.""#)),
                    ("traceloop.association.properties.user_id", s("user-42")),
                    ("traceloop.association.properties.session_id", s("sess-7")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Chain,
                user_id: Some("user-42"),
                session_id: Some("sess-7"),
                input_messages: 1,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                let g = &sp.gen_ai;
                assert_eq!(g.input_messages[0], Message::text("user", "Paris"));
                assert_eq!(
                    g.output_messages[0],
                    Message::text("assistant", "It is 18C in Paris.")
                );
            },
        },
        // `@task` whose keyword arguments carry chat messages.
        Case {
            name: "traceloop task with messages in kwargs",
            span: span(
                "summarize.task",
                1,
                vec![
                    ("traceloop.span.kind", s("task")),
                    ("traceloop.entity.name", s("summarize")),
                    (
                        "traceloop.entity.input",
                        s(
                            r#"{"args": [], "kwargs": {"messages": [{"role": "system", "content": "Summarize."}, {"role": "user", "content": "Long text"}]}}"#,
                        ),
                    ),
                    ("traceloop.entity.output", s(r#"{"summary": "Short"}"#)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Chain,
                input_messages: 2,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                let g = &sp.gen_ai;
                assert_eq!(g.input_messages[0], Message::text("system", "Summarize."));
                // Not a message: kept as text.
                assert_eq!(
                    g.output_messages[0],
                    Message::text("assistant", r#"{"summary": "Short"}"#)
                );
            },
        },
        Case {
            name: "traceloop agent",
            span: span(
                "planner.agent",
                1,
                vec![
                    ("traceloop.span.kind", s("agent")),
                    ("traceloop.entity.name", s("planner")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Agent,
                ..Expect::default()
            },
            extra: |sp| assert_eq!(sp.gen_ai.agent_name.as_deref(), Some("planner")),
        },
        Case {
            name: "traceloop tool",
            span: span(
                "get_weather.tool",
                1,
                vec![
                    ("traceloop.span.kind", s("tool")),
                    ("traceloop.entity.name", s("get_weather")),
                    (
                        "traceloop.entity.input",
                        s(r#"{"args": [], "kwargs": {"city": "Paris"}}"#),
                    ),
                    ("traceloop.entity.output", s(r#""18C""#)),
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
                    Message::text("user", r#"{"args": [], "kwargs": {"city": "Paris"}}"#)
                );
                assert_eq!(g.output_messages[0], Message::text("assistant", "18C"));
            },
        },
        // `unknown` says nothing: `llm.request.type` decides.
        Case {
            name: "traceloop unknown kind falls back to request type",
            span: span(
                "x",
                1,
                vec![
                    ("traceloop.span.kind", s("unknown")),
                    ("llm.request.type", s("chat")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                operation: Some("chat"),
                ..Expect::default()
            },
            extra: no_extra,
        },
    ]
}

#[test]
fn golden_cases() {
    assert_cases(cases());
}

#[test]
fn sparse_prompt_indices_reassemble_in_index_order() {
    let sp = normalized(span(
        "openai.chat",
        3,
        vec![
            ("llm.request.type", s("chat")),
            ("gen_ai.prompt.10.role", s("user")),
            ("gen_ai.prompt.10.content", s("third")),
            ("gen_ai.prompt.2.content", s("second")),
            ("gen_ai.prompt.0.role", s("system")),
            ("gen_ai.prompt.2.role", s("assistant")),
            ("gen_ai.prompt.0.content", s("first")),
            ("gen_ai.prompt.prompt_filter_results", s("[]")),
        ],
    ));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![
            Message::text("system", "first"),
            Message::text("assistant", "second"),
            Message::text("user", "third"),
        ]
    );
}

#[test]
fn anthropic_content_blocks_in_prompt_content() {
    let sp = normalized(span(
        "anthropic.chat",
        3,
        vec![
            ("gen_ai.system", s("Anthropic")),
            ("llm.request.type", s("completion")),
            ("gen_ai.prompt.0.role", s("assistant")),
            (
                "gen_ai.prompt.0.content",
                s(
                    r#"[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]"#,
                ),
            ),
            ("gen_ai.prompt.1.role", s("user")),
            (
                "gen_ai.prompt.1.content",
                s(r#"[{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"}]"#),
            ),
        ],
    ));
    let g = &sp.gen_ai;
    assert_eq!(g.operation.as_deref(), Some("chat"));
    assert_eq!(
        g.input_messages[0].parts,
        vec![
            text("Checking."),
            MessagePart::ToolCall {
                id: Some("toolu_1".into()),
                name: "get_weather".into(),
                arguments: Some(json!({"city": "Paris"})),
            },
        ]
    );
    assert_eq!(
        g.input_messages[1].parts,
        vec![MessagePart::ToolCallResponse {
            id: Some("toolu_1".into()),
            response: json!("18C"),
        }]
    );
}

#[test]
fn legacy_provider_values() {
    for (raw, canonical) in [
        ("Anthropic", "anthropic"),
        ("Azure", "azure.ai.openai"),
        ("AWS", "aws.bedrock"),
        ("Google", "gcp.gen_ai"),
        ("MistralAI", "mistral_ai"),
        ("Watsonx", "ibm.watsonx.ai"),
        ("OpenRouter", "openrouter"),
    ] {
        let sp = normalized(span(
            "openai.chat",
            3,
            vec![
                ("gen_ai.system", s(raw)),
                ("llm.request.type", s("chat")),
                ("gen_ai.request.model", s("m")),
            ],
        ));
        assert_eq!(sp.gen_ai.provider.as_deref(), Some(canonical), "{raw}");
        assert_eq!(sp.gen_ai.provider_raw.as_deref(), Some(raw), "{raw}");
    }
    // `Langchain` is a framework, not a provider.
    let sp = normalized(span(
        "ChatOpenAI.chat",
        3,
        vec![
            ("gen_ai.system", s("Langchain")),
            ("llm.request.type", s("chat")),
        ],
    ));
    assert_eq!(sp.gen_ai.provider, None);
    assert_eq!(sp.gen_ai.provider_raw.as_deref(), Some("Langchain"));
}

/// User and session follow the reference order: explicit `user.id` / `session.id` /
/// `gen_ai.conversation.id` before the association properties.
#[test]
fn association_properties_come_after_explicit_ids() {
    let sp = normalized(span(
        "x.task",
        1,
        vec![
            ("traceloop.span.kind", s("task")),
            ("traceloop.association.properties.user_id", s("assoc-user")),
            (
                "traceloop.association.properties.session_id",
                s("assoc-sess"),
            ),
            ("enduser.id", s("end-user")),
            ("gen_ai.conversation.id", s("conv-1")),
        ],
    ));
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("end-user"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("conv-1"));

    let sp = normalized(span(
        "x.task",
        1,
        vec![
            (
                "traceloop.association.properties.user_id",
                AttrValue::Int(42),
            ),
            ("traceloop.association.properties.session_id", s("")),
            ("user.id", s("")),
            ("gen_ai.user", s("api-user")),
        ],
    ));
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("42"));
    assert_eq!(sp.gen_ai.session_id, None);
}

/// The legacy dialect runs after the OTel one: `gen_ai.operation.name` beats
/// `traceloop.span.kind` (reference §5.1), structured `gen_ai.input.messages` beat the decorator
/// input, and the OTel usage keys are not re-read.
#[test]
fn otel_genai_runs_first_without_pre_empting_legacy_fields() {
    let names: Vec<&str> = Normalizer::new().dialect_names().collect();
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("otel_genai") < pos("openllmetry_legacy"), "{names:?}");

    // OpenLLMetry ≥ 0.54 LangChain: current keys plus Traceloop ones.
    let sp = normalized(span(
        "execute_tool get_weather",
        1,
        vec![
            ("traceloop.span.kind", s("task")),
            ("traceloop.entity.name", s("get_weather")),
            (
                "traceloop.entity.input",
                s(r#"{"inputs": {"city": "Paris"}}"#),
            ),
            ("gen_ai.operation.name", s("execute_tool")),
            ("gen_ai.tool.name", s("get_weather")),
            (
                "gen_ai.input.messages",
                s(r#"[{"role":"user","parts":[{"type":"text","content":"structured"}]}]"#),
            ),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Tool);
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("execute_tool"));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", "structured")]
    );

    // Without the OTel operation, the Traceloop kind decides even though the span name would
    // say otherwise, and an unknown `gen_ai.operation.name` does not block it.
    let sp = normalized(span(
        "execute_task summarize",
        1,
        vec![
            ("traceloop.span.kind", s("task")),
            ("gen_ai.operation.name", s("execute_task")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Chain);

    // Legacy spans carry flattened prompts, which the OTel dialect must not read as its
    // `gen_ai.prompt` JSON attribute; the spans are model calls by `llm.request.type`.
    let sp = normalized(span(
        "openai.chat",
        3,
        vec![
            ("gen_ai.system", s("openai")),
            ("llm.request.type", s("chat")),
            ("gen_ai.prompt.0.role", s("user")),
            ("gen_ai.prompt.0.content", s("hi")),
            ("gen_ai.usage.prompt_tokens", i(5)),
            ("gen_ai.usage.completion_tokens", i(2)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert_eq!(sp.gen_ai.input_messages, vec![Message::text("user", "hi")]);
    assert_eq!(sp.usage, usage(Some(5), Some(2), None, None, None));
    assert!(sp.counts_usage);
}

#[test]
fn trailing_thinking_joins_the_previous_completion() {
    let sp = normalized(span(
        "anthropic.chat",
        3,
        vec![
            ("llm.request.type", s("chat")),
            ("gen_ai.completion.0.role", s("assistant")),
            ("gen_ai.completion.0.content", s("Answer")),
            ("gen_ai.completion.1.role", s("thinking")),
            ("gen_ai.completion.1.content", s("Why")),
        ],
    ));
    assert_eq!(
        sp.gen_ai.output_messages,
        vec![Message {
            role: "assistant".into(),
            parts: vec![
                text("Answer"),
                MessagePart::Reasoning {
                    content: "Why".into()
                }
            ],
            name: None,
            finish_reason: None,
        }]
    );
}

#[test]
fn spans_without_legacy_keys_are_untouched() {
    let sp = normalized(span(
        "handler",
        2,
        vec![
            ("gen_ai.prompt", s("hello")),
            ("http.request.method", s("GET")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Span);
    // The OTel dialect's legacy `gen_ai.prompt` attribute still gives the message.
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", "hello")]
    );
    assert_eq!(sp.gen_ai.operation, None);
}

#[test]
fn normalize_is_idempotent() {
    let case = cases().remove(0);
    let once = normalized(case.span);
    let twice = normalized(once.clone());
    assert_eq!(once, twice);
}
