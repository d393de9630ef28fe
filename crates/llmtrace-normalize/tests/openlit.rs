//! OpenLIT golden cases: Anthropic input reported without the cache (fixed before the OTel
//! dialect reads the key), OpenAI left alone, totals never trusted, reported cost, TTFT, and the
//! attribute-less error span.

mod common;

use common::*;
use llmtrace_model::{AttrValue, Span, SpanEvent, SpanKind, StatusCode, Usage};
use llmtrace_normalize::{Dialect, Normalizer, OtelGenAi};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Builders

fn openlit_span(name: &str, pairs: Vec<(&str, AttrValue)>) -> Span {
    let mut sp = span(name, "openlit.otel.tracing", pairs);
    sp.otel_kind = 3;
    sp.resource_attributes = Arc::new(attrs(vec![
        ("telemetry.sdk.name", s("openlit")),
        ("service.name", s("weather-app")),
        ("deployment.environment", s("default")),
    ]));
    sp
}

fn anthropic_chat() -> Span {
    openlit_span(
        "chat claude-sonnet-4-6",
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("anthropic")),
            ("server.address", s("127.0.0.1")),
            ("server.port", i(8080)),
            ("gen_ai.request.model", s("claude-sonnet-4-6")),
            ("gen_ai.request.max_tokens", i(1024)),
            ("gen_ai.request.temperature", f(1.0)),
            ("gen_ai.request.stream", AttrValue::Bool(false)),
            ("gen_ai.response.id", s("msg_01")),
            ("gen_ai.response.model", s("claude-sonnet-4-6")),
            (
                "gen_ai.response.finish_reasons",
                AttrValue::Array(vec![s("end_turn")]),
            ),
            ("gen_ai.usage.input_tokens", i(120)),
            ("gen_ai.usage.output_tokens", i(45)),
            ("gen_ai.usage.cache_read.input_tokens", i(30)),
            ("gen_ai.usage.cache_creation.input_tokens", i(10)),
            ("gen_ai.usage.total_tokens", i(165)),
            ("gen_ai.client.token.usage", i(165)),
            ("gen_ai.usage.cost", f(0.0010035)),
            ("gen_ai.server.time_to_first_token", f(0.42)),
            ("gen_ai.server.time_per_output_token", f(0.01)),
            ("gen_ai.sdk.version", s("1.44.0")),
            (
                "gen_ai.input.messages",
                s(r#"[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]"#),
            ),
            (
                "gen_ai.output.messages",
                s(
                    r#"[{"role":"assistant","parts":[{"type":"text","content":"Sunny."}],"finish_reason":"stop"}]"#,
                ),
            ),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Cases

#[test]
fn anthropic_input_gets_the_cache_added() {
    let sp = normalized(anthropic_chat());
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("chat"));
    assert_eq!(
        sp.usage,
        usage(Some(160), Some(45), Some(30), Some(10), None)
    );
    assert_eq!(sp.usage.uncached_input(), 120);
    assert_eq!(sp.cost.reported, usd(0.0010035));
    // OpenLIT sends a server time to first token on a call that did not stream: not a TTFT.
    assert_eq!(sp.gen_ai.time_to_first_token_s, None);
    assert_eq!(sp.gen_ai.finish_reasons, vec!["stop"]);
    assert_eq!(sp.gen_ai.params.max_tokens, Some(1024));
    assert_eq!(sp.gen_ai.params.stream, Some(false));
    assert_eq!(sp.gen_ai.input_messages.len(), 1);
    assert_eq!(sp.gen_ai.output_messages[0].text_content(), "Sunny.");
}

/// Priority: without OpenLIT running first, the OTel dialect takes the same key as inclusive.
#[test]
fn openlit_runs_before_the_otel_dialect() {
    let mut otel_only = anthropic_chat();
    Normalizer::with_dialects(vec![Box::new(OtelGenAi) as Box<dyn Dialect>])
        .normalize(&mut otel_only);
    assert_eq!(otel_only.usage.input, Some(120));
    assert_eq!(normalized(anthropic_chat()).usage.input, Some(160));
}

/// OpenAI counts are inclusive already (prompt 90 with 40 cached).
#[test]
fn openai_input_is_left_alone() {
    let sp = normalized(openlit_span(
        "chat gpt-4o",
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("openai")),
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.usage.input_tokens", i(90)),
            ("gen_ai.usage.output_tokens", i(25)),
            ("gen_ai.usage.prompt_tokens_details.cached_tokens", i(40)),
            (
                "gen_ai.usage.completion_tokens_details.reasoning_tokens",
                i(0),
            ),
            ("gen_ai.client.token.usage", i(115)),
        ],
    ));
    assert_eq!(sp.usage, usage(Some(90), Some(25), Some(40), None, Some(0)));
    assert!(sp.counts_usage);
}

/// `gen_ai.client.token.usage` is a total: never input or output.
#[test]
fn token_usage_total_is_not_a_count() {
    let sp = normalized(openlit_span(
        "chat gpt-4o",
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("openai")),
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.client.token.usage", i(115)),
            ("gen_ai.usage.total_tokens", i(115)),
        ],
    ));
    assert_eq!(sp.usage, Usage::default());
    assert!(!sp.counts_usage);
}

/// OpenLIT's failed call: no attributes at all, the model only in the span name.
#[test]
fn attribute_less_error_span() {
    let mut sp = openlit_span("chat claude-overloaded", vec![]);
    sp.status = StatusCode::Error;
    sp.status_message = "Error code: 529 - overloaded".into();
    sp.events.push(SpanEvent {
        time_unix_nano: 1_700_000_000_100_000_000,
        name: "exception".into(),
        attributes: attrs(vec![("exception.type", s("anthropic.InternalServerError"))]),
    });
    let sp = normalized(sp);
    assert_eq!(sp.kind, SpanKind::Llm);
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("claude-overloaded")
    );
    assert_eq!(sp.model(), Some("claude-overloaded"));
    assert_eq!(sp.status, StatusCode::Error);
    assert_eq!(
        sp.gen_ai.error_type.as_deref(),
        Some("anthropic.InternalServerError")
    );
    assert!(!sp.counts_usage);

    // Names whose target is not a model are left alone.
    let sp = normalized(openlit_span("execute_tool get_weather", vec![]));
    assert_eq!(sp.gen_ai.request_model, None);
    assert_eq!(sp.kind, SpanKind::Tool);

    // A model attribute wins over the name.
    let sp = normalized(openlit_span(
        "chat alias",
        vec![("gen_ai.request.model", s("claude-sonnet-4-6"))],
    ));
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("claude-sonnet-4-6")
    );
}

/// Detection also works from a span attribute (some OpenLIT versions) and not from the scope of
/// other SDKs.
#[test]
fn detection() {
    let mut sp = span(
        "chat claude-sonnet-4-6",
        "opentelemetry.instrumentation.anthropic",
        vec![
            ("telemetry.sdk.name", s("openlit")),
            ("gen_ai.provider.name", s("anthropic")),
            ("gen_ai.usage.input_tokens", i(120)),
            ("gen_ai.usage.cache_read.input_tokens", i(30)),
            ("gen_ai.usage.cache_creation.input_tokens", i(10)),
        ],
    );
    assert_eq!(normalized(sp.clone()).usage.input, Some(160));
    sp.attributes = attrs(vec![
        ("gen_ai.provider.name", s("anthropic")),
        ("gen_ai.usage.input_tokens", i(160)),
        ("gen_ai.usage.cache_read.input_tokens", i(30)),
        ("gen_ai.usage.cache_creation.input_tokens", i(10)),
    ]);
    assert_eq!(normalized(sp).usage.input, Some(160));
}
