//! Langfuse SDK (`langfuse.*`) golden cases: generations with Langfuse-convention and raw OpenAI
//! usage, cost, I/O, levels, observation types, user/session keys, and the explicit priority of
//! the dialects when several are present on one span.

mod common;

use common::*;
use llmtrace_model::{Message, Money, SpanEvent, SpanKind, StatusCode, Usage};
use llmtrace_normalize::Normalizer;

// ---------------------------------------------------------------------------------------------
// Cases

/// A generation as the Langfuse Python SDK v5 sends it (wire notes): the user passed the raw
/// Anthropic numbers in Langfuse's convention (`input` without cache).
#[test]
fn generation_with_langfuse_usage() {
    let sp = normalized(span(
        "llm_call",
        "langfuse-sdk",
        vec![
            ("langfuse.observation.type", s("generation")),
            ("langfuse.observation.model.name", s("claude-sonnet-4-6")),
            (
                "langfuse.observation.model.parameters",
                s(r#"{"temperature": 0.2, "max_tokens": 1024}"#),
            ),
            (
                "langfuse.observation.usage_details",
                s(
                    r#"{"input": 120, "output": 45, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 10}"#,
                ),
            ),
            (
                "langfuse.observation.cost_details",
                s(r#"{"input": 0.00036, "output": 0.000675, "total": 0.001035}"#),
            ),
            (
                "langfuse.observation.input",
                s(
                    r#"[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]"#,
                ),
            ),
            (
                "langfuse.observation.output",
                s(r#"{"role": "assistant", "content": "Sunny."}"#),
            ),
            (
                "langfuse.observation.completion_start_time",
                s(r#""2023-11-14T22:13:20.250000+00:00""#),
            ),
            ("langfuse.observation.metadata.tenant", s(r#""acme""#)),
            ("langfuse.trace.name", s("rag-pipeline")),
            ("langfuse.environment", s("production")),
            ("user.id", s("user-1")),
            ("session.id", s("session-1")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("generation"));
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("claude-sonnet-4-6")
    );
    assert_eq!(sp.model(), Some("claude-sonnet-4-6"));
    assert_eq!(
        sp.usage,
        usage(Some(160), Some(45), Some(30), Some(10), None)
    );
    assert_eq!(sp.usage.uncached_input(), 120);
    assert_eq!(sp.cost.reported, usd(0.001035));
    assert_eq!(sp.gen_ai.params.temperature, Some(0.2));
    assert_eq!(sp.gen_ai.params.max_tokens, Some(1024));
    assert_eq!(sp.gen_ai.time_to_first_token_s, Some(0.25));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![
            Message::text("system", "Be brief."),
            Message::text("user", "Weather in Paris?")
        ]
    );
    assert_eq!(
        sp.gen_ai.output_messages,
        vec![Message::text("assistant", "Sunny.")]
    );
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("user-1"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("session-1"));
}

/// The OpenAI drop-in passes the raw OpenAI usage object (inclusive, nested details) and a
/// `"max_tokens": "Infinity"` parameter.
#[test]
fn openai_drop_in_raw_usage() {
    let sp = normalized(span(
        "OpenAI-generation",
        "langfuse-sdk",
        vec![
            ("langfuse.observation.type", s("generation")),
            ("langfuse.observation.model.name", s("gpt-4o-2024-08-06")),
            (
                "langfuse.observation.model.parameters",
                s(
                    r#"{"temperature": 1, "max_tokens": "Infinity", "top_p": 1, "frequency_penalty": 0, "presence_penalty": 0}"#,
                ),
            ),
            (
                "langfuse.observation.usage_details",
                s(
                    r#"{"prompt_tokens": 90, "completion_tokens": 25, "total_tokens": 115, "prompt_tokens_details": {"cached_tokens": 40, "audio_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}"#,
                ),
            ),
            (
                "langfuse.observation.input",
                s(
                    r#"{"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": []}"#,
                ),
            ),
            (
                "langfuse.observation.output",
                s(
                    r#"{"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}"#,
                ),
            ),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert_eq!(sp.usage, usage(Some(90), Some(25), Some(40), None, Some(0)));
    assert_eq!(sp.gen_ai.params.max_tokens, None);
    assert_eq!(sp.gen_ai.params.temperature, Some(1.0));
    assert_eq!(sp.gen_ai.params.frequency_penalty, Some(0.0));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", "Weather in Paris?")]
    );
    assert_eq!(sp.gen_ai.output_messages.len(), 1);
    assert_eq!(sp.gen_ai.output_messages[0].parts.len(), 1);
}

/// Langfuse usage keys for 5-minute / 1-hour writes and reasoning (output excludes reasoning).
#[test]
fn usage_detail_keys() {
    let sp = normalized(span(
        "gen",
        "langfuse-sdk",
        vec![
            ("langfuse.observation.type", s("generation")),
            (
                "langfuse.observation.usage_details",
                s(
                    r#"{"input": 120, "output": 40, "input_cached_tokens": 30, "input_cache_creation_5m": 6, "input_cache_creation_1h": 4, "output_reasoning_tokens": 5, "total": 205}"#,
                ),
            ),
            (
                "langfuse.observation.cost_details",
                s(r#"{"input": 0.001, "output": 0.002}"#),
            ),
        ],
    ));
    assert_eq!(
        sp.usage,
        Usage {
            cache_write_1h: Some(4),
            ..usage(Some(160), Some(45), Some(30), Some(10), Some(5))
        }
    );
    // No `total`: the parts are summed.
    assert_eq!(sp.cost.reported, usd(0.003));
}

#[test]
fn error_level_and_status_message() {
    // Status ERROR with an exception event: the exception class is the error type.
    let mut sp = span(
        "llm_call",
        "langfuse-sdk",
        vec![
            ("langfuse.observation.type", s("generation")),
            ("langfuse.observation.model.name", s("claude-sonnet-4-6")),
            ("langfuse.observation.level", s("ERROR")),
            ("langfuse.observation.status_message", s("Overloaded")),
        ],
    );
    sp.status = StatusCode::Error;
    sp.events.push(SpanEvent {
        time_unix_nano: 1_700_000_000_500_000_000,
        name: "exception".into(),
        attributes: attrs(vec![
            ("exception.type", s("anthropic.APIStatusError")),
            ("exception.message", s("Overloaded")),
        ]),
    });
    let sp = normalized(sp);
    assert_eq!(sp.status, StatusCode::Error);
    assert_eq!(sp.status_message, "Overloaded");
    assert_eq!(
        sp.gen_ai.error_type.as_deref(),
        Some("anthropic.APIStatusError")
    );
    assert!(!sp.counts_usage);

    // Level ERROR alone: the observation failed, as through the ingestion API (one rule for both
    // paths: LiteLLM's `langfuse` callback sends only the level).
    let sp = normalized(span(
        "step",
        "langfuse-sdk",
        vec![
            ("langfuse.observation.type", s("span")),
            ("langfuse.observation.level", s("ERROR")),
            ("langfuse.observation.status_message", s("bad input")),
        ],
    ));
    assert_eq!(sp.status, StatusCode::Error);
    assert_eq!(sp.gen_ai.error_type.as_deref(), Some("ERROR"));
    assert_eq!(sp.status_message, "bad input");

    // WARNING is not an error.
    let sp = normalized(span(
        "step",
        "langfuse-sdk",
        vec![("langfuse.observation.level", s("WARNING"))],
    ));
    assert_eq!(sp.gen_ai.error_type, None);
}

#[test]
fn observation_types() {
    let kind_of = |t: &str, name: &str| {
        normalized(span(
            name,
            "langfuse-sdk",
            vec![("langfuse.observation.type", s(t))],
        ))
    };
    for (t, k) in [
        ("span", SpanKind::Span),
        ("event", SpanKind::Span),
        ("guardrail", SpanKind::Span),
        ("evaluator", SpanKind::Span),
        ("chain", SpanKind::Chain),
        ("retriever", SpanKind::Retriever),
        ("embedding", SpanKind::Embedding),
        ("generation", SpanKind::Llm),
    ] {
        let sp = kind_of(t, "step");
        assert_eq!(sp.kind, k, "{t}");
        assert_eq!(sp.gen_ai.operation.as_deref(), Some(t));
        assert!(!sp.counts_usage);
    }
    let tool = kind_of("tool", "get_weather");
    assert_eq!(tool.kind, SpanKind::Tool);
    assert_eq!(tool.gen_ai.tool_name.as_deref(), Some("get_weather"));
    let agent = kind_of("agent", "planner");
    assert_eq!(agent.kind, SpanKind::Agent);
    assert_eq!(agent.gen_ai.agent_name.as_deref(), Some("planner"));

    // Python SDK <= 3.3: `span` type with generation keys is a generation.
    let sp = normalized(span(
        "llm",
        "langfuse-sdk",
        vec![
            ("langfuse.observation.type", s("span")),
            (
                "langfuse.observation.usage_details",
                s(r#"{"input": 10, "output": 2}"#),
            ),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);

    // An `@observe` span: function arguments kept as one text message.
    let sp = normalized(span(
        "rag-pipeline",
        "langfuse-sdk",
        vec![
            ("langfuse.observation.type", s("span")),
            (
                "langfuse.observation.input",
                s(r#"{"args": ["Weather in Paris?"], "kwargs": {}}"#),
            ),
            ("langfuse.observation.output", s(r#""Sunny.""#)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Span);
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text(
            "user",
            r#"{"args":["Weather in Paris?"],"kwargs":{}}"#
        )]
    );
    assert_eq!(
        sp.gen_ai.output_messages,
        vec![Message::text("assistant", "Sunny.")]
    );
}

#[test]
fn user_and_session_compat_keys() {
    let sp = normalized(span(
        "step",
        "langfuse-sdk",
        vec![
            ("langfuse.user.id", s("compat-user")),
            ("langfuse.session.id", s("compat-session")),
            ("gen_ai.conversation.id", s("conv-1")),
        ],
    ));
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("compat-user"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("compat-session"));

    // Metadata values are JSON-encoded.
    let sp = normalized(span(
        "step",
        "langfuse-sdk",
        vec![
            (
                "langfuse.trace.metadata.langfuse_user_id",
                s(r#""acme-user""#),
            ),
            (
                "langfuse.observation.metadata",
                s(r#"{"langfuse_session_id": "acme-session"}"#),
            ),
        ],
    ));
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("acme-user"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("acme-session"));

    // `user.id` / `session.id` come first.
    let sp = normalized(span(
        "step",
        "langfuse-sdk",
        vec![
            ("langfuse.user.id", s("compat-user")),
            ("user.id", s("user-1")),
            ("langfuse.session.id", s("compat-session")),
            ("session.id", s("session-1")),
        ],
    ));
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("user-1"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("session-1"));
}

#[test]
fn completion_start_outside_the_span_is_ignored() {
    let ttft = |ts: &str| {
        normalized(span(
            "gen",
            "langfuse-sdk",
            vec![
                ("langfuse.observation.type", s("generation")),
                ("langfuse.observation.completion_start_time", s(ts)),
            ],
        ))
        .gen_ai
        .time_to_first_token_s
    };
    assert_eq!(ttft("2023-11-14T22:13:20.5Z"), Some(0.5));
    assert_eq!(ttft("2023-11-14T22:13:19Z"), None);
    assert_eq!(ttft("2023-11-14T22:13:25Z"), None);
    assert_eq!(ttft("not a time"), None);
}

// ---------------------------------------------------------------------------------------------
// Priority between dialects on one span

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

/// Langfuse keys win over the OTel GenAI keys for the fields both carry (kind, model, usage,
/// cost), but structured OTel messages win over Langfuse's generic I/O blobs.
#[test]
fn langfuse_wins_over_otel_except_for_messages() {
    let sp = normalized(span(
        "chat gpt-4o",
        "langfuse-sdk",
        vec![
            ("langfuse.observation.type", s("agent")),
            ("langfuse.observation.model.name", s("gpt-4o-2024-08-06")),
            (
                "langfuse.observation.usage_details",
                s(r#"{"input": 50, "output": 25, "input_cached_tokens": 40}"#),
            ),
            ("langfuse.observation.cost_details", s(r#"{"total": 0.5}"#)),
            ("langfuse.observation.input", s(r#""blob input""#)),
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.usage.input_tokens", i(1)),
            ("gen_ai.usage.output_tokens", i(1)),
            ("gen_ai.usage.cost", f(9.0)),
            (
                "gen_ai.input.messages",
                s(r#"[{"role":"user","parts":[{"type":"text","content":"structured"}]}]"#),
            ),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Agent);
    assert!(!sp.counts_usage);
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("gpt-4o-2024-08-06")
    );
    assert_eq!(sp.usage.input, Some(90));
    assert_eq!(sp.usage.output, Some(25));
    assert_eq!(sp.cost.reported, Some(Money::from_pico(500_000_000_000)));
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", "structured")]
    );
}

/// MLflow comes before LangSmith: on a span carrying both, the MLflow span type decides.
#[test]
fn mlflow_wins_over_langsmith() {
    let sp = normalized(span(
        "lookup",
        "",
        vec![
            ("langsmith.span.kind", s("llm")),
            ("mlflow.spanType", s(r#""TOOL""#)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Tool);
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("TOOL"));
}
