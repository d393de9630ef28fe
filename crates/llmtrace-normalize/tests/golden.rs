//! Golden cases: realistic attribute sets as real SDKs send them, normalized end to end.

mod common;

use common::span_with_kind as span;
use common::*;
use llmtrace_model::{
    AttrValue, Message, MessagePart, Span, SpanEvent, SpanKind, StatusCode, Usage,
};
use llmtrace_normalize::{Dialect, Normalizer, OtelGenAi};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Builders

fn b(v: bool) -> AttrValue {
    AttrValue::Bool(v)
}
fn arr(items: &[&str]) -> AttrValue {
    AttrValue::Array(items.iter().map(|x| s(x)).collect())
}
fn kv(pairs: Vec<(&str, AttrValue)>) -> AttrValue {
    AttrValue::Map(attrs(pairs))
}
fn event(name: &str, pairs: Vec<(&str, AttrValue)>) -> SpanEvent {
    SpanEvent {
        time_unix_nano: 1_700_000_000_500_000_000,
        name: name.to_owned(),
        attributes: attrs(pairs),
    }
}

// ---------------------------------------------------------------------------------------------
// The table

// This table checks `error_type` where the shared one in `common` checks user and session, so
// its `Expect` and runner stay here (shadowing the shared `Expect`).

/// What a case must normalize to (every listed field is compared exactly).
struct Expect {
    kind: SpanKind,
    provider: Option<&'static str>,
    provider_raw: Option<&'static str>,
    operation: Option<&'static str>,
    request_model: Option<&'static str>,
    response_model: Option<&'static str>,
    usage: Usage,
    counts_usage: bool,
    finish_reasons: &'static [&'static str],
    error_type: Option<&'static str>,
    input_messages: usize,
    output_messages: usize,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            kind: SpanKind::Span,
            provider: None,
            provider_raw: None,
            operation: None,
            request_model: None,
            response_model: None,
            usage: Usage::default(),
            counts_usage: false,
            finish_reasons: &[],
            error_type: None,
            input_messages: 0,
            output_messages: 0,
        }
    }
}

type Case = common::Case<Expect>;

fn cases() -> Vec<Case> {
    vec![
        // Hand-made OTel SDK span: INTERNAL `llm_call`, old `gen_ai.system`, no operation.
        Case {
            name: "hand-made otel sdk span",
            span: span(
                "llm_call",
                1,
                vec![
                    ("gen_ai.system", s("anthropic")),
                    ("gen_ai.request.model", s("claude-sonnet-4-6")),
                    ("gen_ai.response.model", s("claude-sonnet-4-6")),
                    ("gen_ai.usage.input_tokens", i(120)),
                    ("gen_ai.usage.output_tokens", i(45)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("anthropic"),
                request_model: Some("claude-sonnet-4-6"),
                response_model: Some("claude-sonnet-4-6"),
                usage: usage(Some(120), Some(45), None, None, None),
                counts_usage: true,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(sp.gen_ai.provider_raw, None);
                assert_eq!(sp.model(), Some("claude-sonnet-4-6"));
            },
        },
        // OTLP/JSON: numbers as strings.
        Case {
            name: "otlp json numeric strings",
            span: span(
                "chat gpt-4o",
                3,
                vec![
                    ("gen_ai.operation.name", s("chat")),
                    ("gen_ai.system", s("openai")),
                    ("gen_ai.request.model", s("gpt-4o")),
                    ("gen_ai.usage.input_tokens", s("90")),
                    ("gen_ai.usage.output_tokens", s("25")),
                    ("gen_ai.usage.cache_read.input_tokens", s("40")),
                    ("gen_ai.request.max_tokens", s("256")),
                    ("gen_ai.request.temperature", s("0.2")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                operation: Some("chat"),
                request_model: Some("gpt-4o"),
                usage: usage(Some(90), Some(25), Some(40), None, None),
                counts_usage: true,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(sp.gen_ai.params.max_tokens, Some(256));
                assert_eq!(sp.gen_ai.params.temperature, Some(0.2));
                assert_eq!(sp.usage.uncached_input(), 50);
            },
        },
        // anthropic SDK 2.x native span.
        Case {
            name: "anthropic sdk native span",
            span: span(
                "anthropic.messages.create",
                3,
                vec![
                    ("http.request.method", s("POST")),
                    ("url.full", s("http://127.0.0.1:8080/v1/messages")),
                    ("gen_ai.operation.name", s("chat")),
                    ("gen_ai.provider.name", s("anthropic")),
                    ("gen_ai.request.model", s("claude-sonnet-4-6")),
                    ("gen_ai.request.max_tokens", i(1024)),
                    ("gen_ai.request.stream", b(true)),
                    ("anthropic.request.id", s("req_011")),
                    ("gen_ai.response.id", s("msg_01XYZ")),
                    ("gen_ai.response.model", s("claude-sonnet-4-6-20260101")),
                    ("gen_ai.response.finish_reasons", arr(&["end_turn"])),
                    ("gen_ai.response.time_to_first_chunk", f(0.35)),
                    ("gen_ai.usage.input_tokens", i(160)),
                    ("gen_ai.usage.output_tokens", i(45)),
                    ("gen_ai.usage.cache_read.input_tokens", i(30)),
                    ("gen_ai.usage.cache_write.input_tokens", i(10)),
                    (
                        "anthropic.usage.cache_creation.ephemeral_5m_input_tokens",
                        i(10),
                    ),
                    (
                        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens",
                        i(0),
                    ),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("anthropic"),
                operation: Some("chat"),
                request_model: Some("claude-sonnet-4-6"),
                response_model: Some("claude-sonnet-4-6-20260101"),
                usage: Usage {
                    cache_write_1h: Some(0),
                    ..usage(Some(160), Some(45), Some(30), Some(10), None)
                },
                counts_usage: true,
                finish_reasons: &["stop"],
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(sp.gen_ai.params.stream, Some(true));
                assert_eq!(sp.gen_ai.params.max_tokens, Some(1024));
                assert_eq!(sp.gen_ai.time_to_first_token_s, Some(0.35));
                assert_eq!(sp.gen_ai.response_id.as_deref(), Some("msg_01XYZ"));
                assert_eq!(sp.usage.uncached_input(), 120);
                assert_eq!(sp.model(), Some("claude-sonnet-4-6-20260101"));
            },
        },
        // OpenLLMetry >= 0.54: JSON-string messages, non-OTel reasoning key, total tokens.
        Case {
            name: "openllmetry new style",
            span: span(
                "openai.chat",
                3,
                vec![
                    ("gen_ai.provider.name", s("openai")),
                    ("gen_ai.operation.name", s("chat")),
                    ("gen_ai.request.model", s("o3-mini")),
                    ("gen_ai.response.model", s("o3-mini-2025-01-31")),
                    ("gen_ai.is_streaming", b(false)),
                    ("gen_ai.user", s("api-user-1")),
                    (
                        "gen_ai.system_instructions",
                        s(r#"[{"type":"text","content":"You are terse."}]"#),
                    ),
                    (
                        "gen_ai.input.messages",
                        s(
                            r#"[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]"#,
                        ),
                    ),
                    (
                        "gen_ai.output.messages",
                        s(
                            r#"[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_call"}]"#,
                        ),
                    ),
                    ("gen_ai.usage.input_tokens", i(90)),
                    ("gen_ai.usage.output_tokens", i(25)),
                    ("gen_ai.usage.total_tokens", i(115)),
                    ("gen_ai.usage.cache_read.input_tokens", i(40)),
                    ("gen_ai.usage.reasoning_tokens", i(10)),
                    ("gen_ai.response.finish_reasons", arr(&["tool_call"])),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                operation: Some("chat"),
                request_model: Some("o3-mini"),
                response_model: Some("o3-mini-2025-01-31"),
                usage: usage(Some(90), Some(25), Some(40), None, Some(10)),
                counts_usage: true,
                finish_reasons: &["tool_call"],
                input_messages: 1,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(
                    sp.gen_ai.input_messages[0],
                    Message::text("user", "Weather in Paris?")
                );
                let out = &sp.gen_ai.output_messages[0];
                assert_eq!(out.finish_reason.as_deref(), Some("tool_call"));
                assert_eq!(
                    out.parts,
                    vec![MessagePart::ToolCall {
                        id: Some("call_1".into()),
                        name: "get_weather".into(),
                        arguments: Some(json!({"city": "Paris"})),
                    }]
                );
                assert_eq!(
                    sp.gen_ai.system_instructions,
                    vec![MessagePart::Text {
                        content: "You are terse.".into()
                    }]
                );
                assert_eq!(sp.gen_ai.params.stream, Some(false));
                // `gen_ai.user` is the API user field: used only because nothing else exists.
                assert_eq!(sp.gen_ai.user_id.as_deref(), Some("api-user-1"));
            },
        },
        // OTel v1.26: prompt/completion tokens and content events.
        Case {
            name: "v1.26 prompt tokens and content events",
            span: {
                let mut sp = span(
                    "openai.chat",
                    3,
                    vec![
                        ("gen_ai.system", s("openai")),
                        ("gen_ai.request.model", s("gpt-3.5-turbo")),
                        ("gen_ai.request.top_p", f(0.9)),
                        ("gen_ai.usage.prompt_tokens", i(12)),
                        ("gen_ai.usage.completion_tokens", i(7)),
                        ("gen_ai.response.finish_reasons", s(r#"["stop"]"#)),
                    ],
                );
                sp.events = vec![
                    event(
                        "gen_ai.content.prompt",
                        vec![(
                            "gen_ai.prompt",
                            s(
                                r#"[{"role":"system","content":"Be nice."},{"role":"user","content":"Hi"}]"#,
                            ),
                        )],
                    ),
                    event(
                        "gen_ai.content.completion",
                        vec![(
                            "gen_ai.completion",
                            s(r#"[{"role":"assistant","content":"Hello!"}]"#),
                        )],
                    ),
                ];
                sp
            },
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("openai"),
                request_model: Some("gpt-3.5-turbo"),
                usage: usage(Some(12), Some(7), None, None, None),
                counts_usage: true,
                finish_reasons: &["stop"],
                input_messages: 2,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(
                    sp.gen_ai.input_messages,
                    vec![
                        Message::text("system", "Be nice."),
                        Message::text("user", "Hi")
                    ]
                );
                assert_eq!(
                    sp.gen_ai.output_messages,
                    vec![Message::text("assistant", "Hello!")]
                );
                assert_eq!(sp.gen_ai.params.top_p, Some(0.9));
            },
        },
        // v1.28-v1.36 per-message events attached as span events.
        Case {
            name: "v1.28 per-message span events",
            span: {
                let mut sp = span(
                    "chat gpt-4o-mini",
                    3,
                    vec![
                        ("gen_ai.operation.name", s("chat")),
                        ("gen_ai.system", s("az.ai.openai")),
                        ("gen_ai.request.model", s("gpt-4o-mini")),
                        ("gen_ai.usage.input_tokens", i(30)),
                        ("gen_ai.usage.output_tokens", i(9)),
                    ],
                );
                sp.events = vec![
                    event(
                        "gen_ai.system.message",
                        vec![("gen_ai.system", s("az.ai.openai")), ("content", s("sys"))],
                    ),
                    event(
                        "gen_ai.user.message",
                        vec![(
                            "gen_ai.event.content",
                            s(r#"{"role":"user","content":"What time is it?"}"#),
                        )],
                    ),
                    event(
                        "gen_ai.tool.message",
                        vec![("id", s("call_9")), ("content", s("12:00"))],
                    ),
                    event(
                        "gen_ai.choice",
                        vec![
                            ("index", i(1)),
                            ("finish_reason", s("length")),
                            ("message", s(r#"{"content":"second"}"#)),
                        ],
                    ),
                    event(
                        "gen_ai.choice",
                        vec![
                            ("index", i(0)),
                            ("finish_reason", s("tool_calls")),
                            (
                                "tool_calls",
                                s(
                                    r#"[{"id":"call_9","type":"function","function":{"name":"clock","arguments":"{}"}}]"#,
                                ),
                            ),
                        ],
                    ),
                ];
                sp
            },
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("azure.ai.openai"),
                provider_raw: Some("az.ai.openai"),
                operation: Some("chat"),
                request_model: Some("gpt-4o-mini"),
                usage: usage(Some(30), Some(9), None, None, None),
                counts_usage: true,
                // No finish_reasons attribute: taken from the choices, in index order.
                finish_reasons: &["tool_call", "length"],
                input_messages: 3,
                output_messages: 2,
                ..Expect::default()
            },
            extra: |sp| {
                let inp = &sp.gen_ai.input_messages;
                assert_eq!(inp[0], Message::text("system", "sys"));
                assert_eq!(inp[1], Message::text("user", "What time is it?"));
                assert_eq!(inp[2].role, "tool");
                assert_eq!(
                    inp[2].parts,
                    vec![MessagePart::ToolCallResponse {
                        id: Some("call_9".into()),
                        response: json!("12:00"),
                    }]
                );
                let out = &sp.gen_ai.output_messages;
                assert_eq!(out[0].role, "assistant");
                assert_eq!(
                    out[0].parts,
                    vec![MessagePart::ToolCall {
                        id: Some("call_9".into()),
                        name: "clock".into(),
                        arguments: Some(json!({})),
                    }]
                );
                assert_eq!(out[1].text_content(), "second");
            },
        },
        // OpenLIT log-style structured content: kvlist messages in the operation-details event.
        Case {
            name: "structured kvlist messages in operation details event",
            span: {
                let mut sp = span(
                    "chat claude-haiku-4-5",
                    3,
                    vec![
                        ("telemetry.sdk.name", s("openlit")),
                        ("gen_ai.operation.name", s("chat")),
                        ("gen_ai.provider.name", s("anthropic")),
                        ("gen_ai.request.model", s("claude-haiku-4-5")),
                        ("gen_ai.server.time_to_first_token", f(0.12)),
                        ("gen_ai.usage.input_tokens", i(120)),
                        ("gen_ai.usage.output_tokens", i(20)),
                    ],
                );
                let input = AttrValue::Array(vec![kv(vec![
                    ("role", s("user")),
                    (
                        "parts",
                        AttrValue::Array(vec![kv(vec![
                            ("type", s("text")),
                            ("content", s("Summarize this.")),
                        ])]),
                    ),
                ])]);
                let output = AttrValue::Array(vec![kv(vec![
                    ("role", s("assistant")),
                    ("finish_reason", s("end_turn")),
                    (
                        "parts",
                        AttrValue::Array(vec![
                            kv(vec![("type", s("text")), ("content", s("Done."))]),
                            kv(vec![
                                ("type", s("uri")),
                                ("modality", s("image")),
                                ("uri", s("https://x/y.png")),
                            ]),
                        ]),
                    ),
                ])]);
                sp.events = vec![event(
                    "gen_ai.client.inference.operation.details",
                    vec![
                        ("gen_ai.input.messages", input),
                        ("gen_ai.output.messages", output),
                        ("gen_ai.response.model", s("claude-haiku-4-5-20251001")),
                        ("gen_ai.response.finish_reasons", arr(&["end_turn"])),
                        // Span attributes win over the event's.
                        ("gen_ai.usage.input_tokens", i(999)),
                    ],
                )];
                sp
            },
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("anthropic"),
                operation: Some("chat"),
                request_model: Some("claude-haiku-4-5"),
                response_model: Some("claude-haiku-4-5-20251001"),
                usage: usage(Some(120), Some(20), None, None, None),
                counts_usage: true,
                finish_reasons: &["stop"],
                input_messages: 1,
                output_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(
                    sp.gen_ai.input_messages[0],
                    Message::text("user", "Summarize this.")
                );
                let out = &sp.gen_ai.output_messages[0];
                assert_eq!(out.finish_reason.as_deref(), Some("stop"));
                assert_eq!(
                    out.parts[1],
                    MessagePart::Other(
                        json!({"type": "uri", "modality": "image", "uri": "https://x/y.png"})
                    )
                );
                assert_eq!(sp.gen_ai.time_to_first_token_s, Some(0.12));
            },
        },
        // Structured (kvlist) messages directly as span attributes.
        Case {
            name: "structured messages as span attributes",
            span: span(
                "generate_content gemini-2.5-flash",
                3,
                vec![
                    ("gen_ai.operation.name", s("generate_content")),
                    ("gen_ai.provider.name", s("gemini")),
                    ("gen_ai.request.model", s("gemini-2.5-flash")),
                    (
                        "gen_ai.input.messages",
                        AttrValue::Array(vec![kv(vec![
                            ("role", s("user")),
                            (
                                "parts",
                                AttrValue::Array(vec![kv(vec![
                                    ("type", s("text")),
                                    ("content", s("2+2?")),
                                ])]),
                            ),
                        ])]),
                    ),
                    (
                        "gen_ai.system_instructions",
                        AttrValue::Array(vec![kv(vec![
                            ("type", s("text")),
                            ("content", s("math tutor")),
                        ])]),
                    ),
                    ("gen_ai.response.finish_reasons", arr(&["STOP"])),
                    ("gen_ai.usage.input_tokens", i(8)),
                    ("gen_ai.usage.output_tokens", i(40)),
                    ("gen_ai.usage.reasoning.output_tokens", i(35)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("gcp.gemini"),
                provider_raw: Some("gemini"),
                operation: Some("generate_content"),
                request_model: Some("gemini-2.5-flash"),
                usage: usage(Some(8), Some(40), None, None, Some(35)),
                counts_usage: true,
                finish_reasons: &["stop"],
                input_messages: 1,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(sp.gen_ai.input_messages[0], Message::text("user", "2+2?"));
                assert_eq!(
                    sp.gen_ai.system_instructions,
                    vec![MessagePart::Text {
                        content: "math tutor".into()
                    }]
                );
            },
        },
        // invoke_agent aggregates its children's usage: never counted.
        Case {
            name: "invoke_agent with usage",
            span: span(
                "invoke_agent weather_agent",
                1,
                vec![
                    ("gen_ai.operation.name", s("invoke_agent")),
                    ("gen_ai.provider.name", s("openai")),
                    ("gen_ai.system", s("openai")),
                    ("gen_ai.agent.name", s("weather_agent")),
                    ("gen_ai.conversation.id", s("conv-42")),
                    ("gen_ai.request.model", s("gpt-4o")),
                    ("gen_ai.usage.input_tokens", i(500)),
                    ("gen_ai.usage.output_tokens", i(100)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Agent,
                provider: Some("openai"),
                operation: Some("invoke_agent"),
                request_model: Some("gpt-4o"),
                usage: usage(Some(500), Some(100), None, None, None),
                counts_usage: false,
                ..Expect::default()
            },
            extra: |sp| {
                assert_eq!(sp.gen_ai.agent_name.as_deref(), Some("weather_agent"));
                assert_eq!(sp.gen_ai.session_id.as_deref(), Some("conv-42"));
            },
        },
        // invoke_workflow is an aggregate too.
        Case {
            name: "invoke_workflow is a chain",
            span: span(
                "invoke_workflow research",
                1,
                vec![
                    ("gen_ai.operation.name", s("invoke_workflow")),
                    ("gen_ai.usage.input_tokens", i(900)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Chain,
                operation: Some("invoke_workflow"),
                usage: usage(Some(900), None, None, None, None),
                ..Expect::default()
            },
            extra: no_extra,
        },
        // OpenLIT error span: no attributes at all, model only in the name, exception event.
        Case {
            name: "error span with exception event",
            span: {
                let mut sp = span("chat claude-overloaded", 3, vec![]);
                sp.status = StatusCode::Error;
                sp.status_message = "Overloaded".into();
                sp.events = vec![event(
                    "exception",
                    vec![
                        ("exception.type", s("anthropic.InternalServerError")),
                        ("exception.message", s("Overloaded")),
                    ],
                )];
                sp
            },
            expect: Expect {
                kind: SpanKind::Llm,
                error_type: Some("anthropic.InternalServerError"),
                ..Expect::default()
            },
            extra: |sp| {
                assert!(sp.is_error());
                assert_eq!(sp.status, StatusCode::Error);
            },
        },
        // error.type wins over the exception event; status untouched when unset.
        Case {
            name: "error.type with unset status",
            span: {
                let mut sp = span(
                    "anthropic.chat",
                    3,
                    vec![
                        ("gen_ai.provider.name", s("anthropic")),
                        ("gen_ai.operation.name", s("chat")),
                        ("gen_ai.request.model", s("claude-sonnet-4-6")),
                        ("error.type", s("overloaded_error")),
                    ],
                );
                sp.events = vec![event(
                    "exception",
                    vec![("exception.type", s("anthropic.APIStatusError"))],
                )];
                sp
            },
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("anthropic"),
                operation: Some("chat"),
                request_model: Some("claude-sonnet-4-6"),
                error_type: Some("overloaded_error"),
                ..Expect::default()
            },
            extra: |sp| assert_eq!(sp.status, StatusCode::Unset),
        },
        // Embeddings span.
        Case {
            name: "embeddings",
            span: span(
                "embeddings text-embedding-3-small",
                3,
                vec![
                    ("gen_ai.operation.name", s("embeddings")),
                    ("gen_ai.provider.name", s("openai")),
                    ("gen_ai.request.model", s("text-embedding-3-small")),
                    ("gen_ai.usage.input_tokens", i(64)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Embedding,
                provider: Some("openai"),
                operation: Some("embeddings"),
                request_model: Some("text-embedding-3-small"),
                usage: usage(Some(64), None, None, None, None),
                counts_usage: true,
                ..Expect::default()
            },
            extra: no_extra,
        },
        // Tool span.
        Case {
            name: "execute_tool",
            span: span(
                "execute_tool get_weather",
                1,
                vec![
                    ("gen_ai.operation.name", s("execute_tool")),
                    ("gen_ai.tool.name", s("get_weather")),
                    ("gen_ai.tool.call.id", s("call_1")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Tool,
                operation: Some("execute_tool"),
                ..Expect::default()
            },
            extra: |sp| assert_eq!(sp.gen_ai.tool_name.as_deref(), Some("get_weather")),
        },
        // Raw Anthropic numbers from an unknown emitter: input < cache → made inclusive.
        Case {
            name: "cache heuristic",
            span: span(
                "llm_call",
                1,
                vec![
                    ("gen_ai.system", s("Anthropic")),
                    ("gen_ai.request.model", s("claude-sonnet-4-6")),
                    ("gen_ai.usage.input_tokens", i(20)),
                    ("gen_ai.usage.output_tokens", i(5)),
                    ("gen_ai.usage.cache_read_input_tokens", i(30)),
                    ("gen_ai.usage.cache_creation_input_tokens", i(10)),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("anthropic"),
                provider_raw: Some("Anthropic"),
                request_model: Some("claude-sonnet-4-6"),
                usage: usage(Some(60), Some(5), Some(30), Some(10), None),
                counts_usage: true,
                ..Expect::default()
            },
            extra: |sp| assert_eq!(sp.usage.uncached_input(), 20),
        },
        // Post-move spellings win over older ones whatever the order; negatives ignored.
        Case {
            name: "spelling precedence",
            span: span(
                "chat m",
                3,
                vec![
                    ("gen_ai.usage.cache_creation.input_tokens", i(3)),
                    ("gen_ai.usage.cache_write.input_tokens", i(4)),
                    ("gen_ai.usage.prompt_tokens", i(100)),
                    ("gen_ai.usage.input_tokens", i(-5)),
                    ("gen_ai.usage.reasoning_tokens", i(2)),
                    ("gen_ai.usage.reasoning.output_tokens", i(6)),
                    ("gen_ai.usage.completion_tokens", i(50)),
                    ("gen_ai.provider.name", s("")),
                    ("gen_ai.system", s("xai")),
                    ("gen_ai.request.model", s("grok-4")),
                ],
            ),
            expect: Expect {
                kind: SpanKind::Llm,
                provider: Some("x_ai"),
                provider_raw: Some("xai"),
                request_model: Some("grok-4"),
                usage: usage(Some(100), Some(50), None, Some(4), Some(6)),
                counts_usage: true,
                ..Expect::default()
            },
            extra: no_extra,
        },
        // A plain HTTP span: nothing GenAI.
        Case {
            name: "plain http span",
            span: {
                let mut sp = span(
                    "POST",
                    3,
                    vec![
                        ("http.request.method", s("POST")),
                        ("server.address", s("api.openai.com")),
                    ],
                );
                sp.resource_attributes =
                    std::sync::Arc::new(attrs(vec![("service.name", s("svc"))]));
                sp
            },
            expect: Expect::default(),
            extra: |sp| assert_eq!(sp.gen_ai, Default::default()),
        },
    ]
}

#[test]
fn golden_cases() {
    for case in cases() {
        let sp = normalized(case.span);
        let e = &case.expect;
        let g = &sp.gen_ai;
        let n = case.name;
        assert_eq!(sp.kind, e.kind, "{n}: kind");
        assert_eq!(g.provider.as_deref(), e.provider, "{n}: provider");
        assert_eq!(
            g.provider_raw.as_deref(),
            e.provider_raw,
            "{n}: provider_raw"
        );
        assert_eq!(g.operation.as_deref(), e.operation, "{n}: operation");
        assert_eq!(
            g.request_model.as_deref(),
            e.request_model,
            "{n}: request_model"
        );
        assert_eq!(
            g.response_model.as_deref(),
            e.response_model,
            "{n}: response_model"
        );
        assert_eq!(sp.usage, e.usage, "{n}: usage");
        assert_eq!(sp.counts_usage, e.counts_usage, "{n}: counts_usage");
        assert_eq!(g.finish_reasons, e.finish_reasons, "{n}: finish_reasons");
        assert_eq!(g.error_type.as_deref(), e.error_type, "{n}: error_type");
        assert_eq!(
            g.input_messages.len(),
            e.input_messages,
            "{n}: input_messages"
        );
        assert_eq!(
            g.output_messages.len(),
            e.output_messages,
            "{n}: output_messages"
        );
        (case.extra)(&sp);
    }
}

// ---------------------------------------------------------------------------------------------
// Alias tables

#[test]
fn provider_aliases_through_both_keys() {
    let table = [
        ("gen_ai.system", "xai", "x_ai"),
        ("gen_ai.system", "az.ai.openai", "azure.ai.openai"),
        ("gen_ai.system", "az.ai.inference", "azure.ai.inference"),
        ("gen_ai.system", "Anthropic", "anthropic"),
        ("gen_ai.system", "vertex_ai", "gcp.vertex_ai"),
        ("gen_ai.system", "AWS", "aws.bedrock"),
        ("gen_ai.system", "openai.chat", "openai"),
        ("gen_ai.provider.name", "x_ai", "x_ai"),
        ("gen_ai.provider.name", "gcp.vertex_ai", "gcp.vertex_ai"),
        ("gen_ai.provider.name", "OpenRouter", "openrouter"),
    ];
    for (key, raw, canonical) in table {
        let sp = normalized(span("chat m", 3, vec![(key, s(raw))]));
        assert_eq!(sp.gen_ai.provider.as_deref(), Some(canonical), "{raw}");
        let expected_raw = (raw != canonical).then_some(raw);
        assert_eq!(sp.gen_ai.provider_raw.as_deref(), expected_raw, "{raw}");
    }
}

#[test]
fn provider_name_wins_over_system() {
    let sp = normalized(span(
        "chat m",
        3,
        vec![
            ("gen_ai.system", s("openai")),
            ("gen_ai.provider.name", s("azure.ai.openai")),
        ],
    ));
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("azure.ai.openai"));
}

#[test]
fn framework_provider_is_not_a_provider() {
    let sp = normalized(span(
        "ChatAnthropic.chat",
        1,
        vec![
            ("gen_ai.system", s("Langchain")),
            ("gen_ai.request.model", s("claude-sonnet-4-6")),
            ("server.address", s("api.anthropic.com")),
        ],
    ));
    assert_eq!(sp.gen_ai.provider_raw.as_deref(), Some("Langchain"));
    // The API host decides instead.
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));
}

#[test]
fn finish_reason_aliases() {
    let table = [
        (s(r#"["end_turn"]"#), vec!["stop"]),
        (arr(&["tool_use"]), vec!["tool_call"]),
        (
            arr(&["max_tokens", "stop_sequence"]),
            vec!["length", "stop"],
        ),
        (arr(&["refusal"]), vec!["content_filter"]),
        (arr(&["pause_turn"]), vec!["pause_turn"]),
        (arr(&["Content-Filter"]), vec!["content_filter"]),
        (s("tool_calls"), vec!["tool_call"]),
    ];
    for (value, expected) in table {
        let sp = normalized(span(
            "chat m",
            3,
            vec![("gen_ai.response.finish_reasons", value.clone())],
        ));
        assert_eq!(sp.gen_ai.finish_reasons, expected, "{value:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Other end-to-end rules

#[test]
fn legacy_prompt_completion_attributes() {
    let sp = normalized(span(
        "chat gpt-4",
        3,
        vec![
            ("gen_ai.operation.name", s("chat")),
            (
                "gen_ai.prompt",
                s(
                    r#"[{"role":"user","content":[{"type":"text","text":"Describe"},{"type":"image_url","image_url":{"url":"data:"}}]}]"#,
                ),
            ),
            ("gen_ai.completion", s("plain completion text")),
        ],
    ));
    assert_eq!(sp.gen_ai.input_messages.len(), 1);
    assert_eq!(
        sp.gen_ai.input_messages[0].parts[0],
        MessagePart::Text {
            content: "Describe".into()
        }
    );
    assert!(matches!(
        sp.gen_ai.input_messages[0].parts[1],
        MessagePart::Other(_)
    ));
    assert_eq!(
        sp.gen_ai.output_messages,
        vec![Message::text("assistant", "plain completion text")]
    );
}

#[test]
fn span_attribute_messages_win_over_events() {
    let mut sp = span(
        "chat m",
        3,
        vec![(
            "gen_ai.input.messages",
            s(r#"[{"role":"user","parts":[{"type":"text","content":"from attribute"}]}]"#),
        )],
    );
    sp.events = vec![event(
        "gen_ai.user.message",
        vec![("content", s("from event"))],
    )];
    let sp = normalized(sp);
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", "from attribute")]
    );
}

#[test]
fn user_and_session_from_span_then_resource() {
    let mut sp = span(
        "chat m",
        3,
        vec![
            ("gen_ai.conversation.id", s("conv-1")),
            ("session.id", s("sess-1")),
            ("gen_ai.user", s("api")),
        ],
    );
    sp.resource_attributes = std::sync::Arc::new(attrs(vec![("enduser.id", s("res-user"))]));
    let sp = normalized(sp);
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("sess-1"));
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("res-user"));

    let mut sp = span("chat m", 3, vec![("user.id", s("u-9"))]);
    sp.resource_attributes = std::sync::Arc::new(attrs(vec![
        ("user.id", s("res-user")),
        ("session.id", s("res-s")),
    ]));
    let sp = normalized(sp);
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("u-9"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("res-s"));
}

#[test]
fn request_params_all_spellings() {
    let sp = normalized(span(
        "chat m",
        3,
        vec![
            ("gen_ai.request.temperature", f(0.7)),
            ("gen_ai.request.max_completion_tokens", i(300)),
            ("gen_ai.request.top_p", s("0.95")),
            ("gen_ai.request.top_k", i(40)),
            ("gen_ai.request.frequency_penalty", f(0.1)),
            ("gen_ai.request.presence_penalty", f(-0.2)),
            ("gen_ai.openai.request.seed", i(7)),
            ("gen_ai.request.stop_sequences", arr(&["\n\n", "END"])),
            ("gen_ai.request.stream", s("true")),
        ],
    ));
    let p = &sp.gen_ai.params;
    assert_eq!(p.temperature, Some(0.7));
    assert_eq!(p.max_tokens, Some(300));
    assert_eq!(p.top_p, Some(0.95));
    assert_eq!(p.top_k, Some(40.0));
    assert_eq!(p.frequency_penalty, Some(0.1));
    assert_eq!(p.presence_penalty, Some(-0.2));
    assert_eq!(p.seed, Some(7));
    assert_eq!(p.stop_sequences, vec!["\n\n", "END"]);
    assert_eq!(p.stream, Some(true));
}

#[test]
fn normalize_is_idempotent() {
    let n = Normalizer::new();
    let mut sp = span(
        "llm_call",
        1,
        vec![
            ("gen_ai.system", s("anthropic")),
            ("gen_ai.request.model", s("claude")),
            ("gen_ai.usage.input_tokens", i(5)),
            ("gen_ai.usage.cache_read.input_tokens", i(30)),
        ],
    );
    n.normalize(&mut sp);
    let once = sp.clone();
    n.normalize(&mut sp);
    assert_eq!(sp, once);
    assert_eq!(sp.usage.input, Some(35));
}

/// A higher-priority dialect's fields are kept; the OTel dialect fills only the rest.
#[test]
fn earlier_dialect_wins_per_field() {
    struct Custom;
    impl Dialect for Custom {
        fn name(&self) -> &'static str {
            "custom"
        }
        fn detect(&self, span: &Span) -> bool {
            span.attributes.get("custom.provider").is_some()
        }
        fn apply(&self, span: &mut Span) {
            span.gen_ai.provider = Some("aws.bedrock".into());
            span.usage.input = Some(1000);
            span.kind = SpanKind::Chain;
        }
    }
    let n = Normalizer::with_dialects(vec![Box::new(Custom), Box::new(OtelGenAi)]);
    assert_eq!(
        n.dialect_names().collect::<Vec<_>>(),
        ["custom", "otel_genai"]
    );
    let mut sp = span(
        "chat m",
        3,
        vec![
            ("custom.provider", s("x")),
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("anthropic")),
            ("gen_ai.usage.input_tokens", i(10)),
            ("gen_ai.usage.output_tokens", i(4)),
        ],
    );
    n.normalize(&mut sp);
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("aws.bedrock"));
    assert_eq!(sp.kind, SpanKind::Chain);
    assert_eq!(sp.usage.input, Some(1000));
    assert_eq!(sp.usage.output, Some(4));
    assert!(!sp.counts_usage);
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("chat"));
}

#[test]
fn default_registry_order() {
    let n = Normalizer::default();
    assert_eq!(
        n.dialect_names().collect::<Vec<_>>(),
        [
            "langfuse",
            "openinference",
            "vercel_ai",
            "openlit",
            "pydantic_ai",
            "mlflow",
            "langsmith",
            "litellm",
            "otel_genai",
            "openllmetry_legacy"
        ]
    );
}
