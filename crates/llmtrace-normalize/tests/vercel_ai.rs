//! Vercel AI SDK (`ai.*`) golden cases: v6 and v5 provider-call spans, outer aggregate spans,
//! embeddings, tool calls, and the priority over the OTel reading of the shared `gen_ai.*` keys.

mod common;

use common::*;
use llmtrace_model::{AttrValue, Message, MessagePart, SpanKind, Usage};
use llmtrace_normalize::{Dialect, Normalizer, OtelGenAi};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Cases

const PROMPT_MESSAGES: &str = r#"[
  {"role":"system","content":"You are a weather bot."},
  {"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]},
  {"role":"assistant","content":[{"type":"tool-call","toolCallId":"toolu_1","toolName":"get_weather","input":{"city":"Paris"}}]},
  {"role":"tool","content":[{"type":"tool-result","toolCallId":"toolu_1","toolName":"get_weather","output":{"type":"json","value":{"temp":21}}}]}
]"#;

/// AI SDK v6 `doStream` span for Anthropic: inclusive input with the v6 breakdown.
#[test]
fn v6_do_stream_anthropic() {
    let sp = normalized(span(
        "ai.streamText.doStream",
        "ai",
        vec![
            ("operation.name", s("ai.streamText.doStream weather")),
            ("ai.operationId", s("ai.streamText.doStream")),
            ("ai.telemetry.functionId", s("weather")),
            ("ai.model.provider", s("anthropic.messages")),
            ("ai.model.id", s("claude-sonnet-4-6")),
            ("ai.settings.maxOutputTokens", i(1024)),
            ("ai.settings.temperature", f(0.3)),
            ("ai.settings.maxRetries", i(2)),
            ("ai.prompt.messages", s(PROMPT_MESSAGES)),
            ("ai.response.text", s("It is sunny, 21°C.")),
            ("ai.response.finishReason", s("stop")),
            ("ai.response.id", s("msg_01")),
            ("ai.response.model", s("claude-sonnet-4-6-20260101")),
            ("ai.response.msToFirstChunk", f(350.5)),
            ("ai.usage.inputTokens", i(160)),
            ("ai.usage.inputTokenDetails.noCacheTokens", i(120)),
            ("ai.usage.inputTokenDetails.cacheReadTokens", i(30)),
            ("ai.usage.inputTokenDetails.cacheWriteTokens", i(10)),
            ("ai.usage.outputTokens", i(45)),
            ("ai.usage.outputTokenDetails.textTokens", i(40)),
            ("ai.usage.outputTokenDetails.reasoningTokens", i(5)),
            ("ai.usage.totalTokens", i(205)),
            ("ai.usage.reasoningTokens", i(5)),
            ("ai.usage.cachedInputTokens", i(30)),
            ("ai.telemetry.metadata.userId", s("user-42")),
            ("ai.telemetry.metadata.sessionId", s("sess-7")),
            ("gen_ai.system", s("anthropic.messages")),
            ("gen_ai.request.model", s("claude-sonnet-4-6")),
            ("gen_ai.request.max_tokens", i(1024)),
            (
                "gen_ai.response.finish_reasons",
                AttrValue::Array(vec![s("stop")]),
            ),
            ("gen_ai.usage.input_tokens", i(160)),
            ("gen_ai.usage.output_tokens", i(45)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(
        sp.gen_ai.provider_raw.as_deref(),
        Some("anthropic.messages")
    );
    assert_eq!(
        sp.gen_ai.operation.as_deref(),
        Some("ai.streamText.doStream")
    );
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("claude-sonnet-4-6")
    );
    assert_eq!(
        sp.gen_ai.response_model.as_deref(),
        Some("claude-sonnet-4-6-20260101")
    );
    assert_eq!(sp.gen_ai.response_id.as_deref(), Some("msg_01"));
    assert_eq!(
        sp.usage,
        usage(Some(160), Some(45), Some(30), Some(10), Some(5))
    );
    assert_eq!(sp.usage.uncached_input(), 120);
    assert_eq!(sp.gen_ai.time_to_first_token_s, Some(0.3505));
    assert_eq!(sp.gen_ai.params.stream, Some(true));
    assert_eq!(sp.gen_ai.params.max_tokens, Some(1024));
    assert_eq!(sp.gen_ai.params.temperature, Some(0.3));
    assert_eq!(sp.gen_ai.finish_reasons, vec!["stop"]);
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("user-42"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("sess-7"));

    let input = &sp.gen_ai.input_messages;
    assert_eq!(input.len(), 4);
    assert_eq!(input[0], Message::text("system", "You are a weather bot."));
    assert_eq!(input[1], Message::text("user", "Weather in Paris?"));
    assert_eq!(
        input[2].parts,
        vec![MessagePart::ToolCall {
            id: Some("toolu_1".into()),
            name: "get_weather".into(),
            arguments: Some(json!({"city": "Paris"})),
        }]
    );
    assert_eq!(input[3].role, "tool");
    assert_eq!(
        input[3].parts,
        vec![MessagePart::ToolCallResponse {
            id: Some("toolu_1".into()),
            response: json!({"temp": 21}),
        }]
    );
    let out = &sp.gen_ai.output_messages;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].role, "assistant");
    assert_eq!(out[0].text_content(), "It is sunny, 21°C.");
    assert_eq!(out[0].finish_reason.as_deref(), Some("stop"));
}

/// AI SDK v5 `doGenerate` for Anthropic: `promptTokens` is the raw, cache-exclusive API count;
/// the cache write is only in the provider metadata.
#[test]
fn v5_do_generate_anthropic_adds_cache() {
    let sp = normalized(span(
        "ai.generateText.doGenerate",
        "ai",
        vec![
            ("ai.operationId", s("ai.generateText.doGenerate")),
            ("ai.model.provider", s("anthropic.messages")),
            ("ai.model.id", s("claude-sonnet-4-6")),
            ("ai.settings.maxTokens", i(512)),
            ("ai.settings.topP", f(0.9)),
            (
                "ai.settings.stopSequences",
                AttrValue::Array(vec![s("END")]),
            ),
            (
                "ai.response.toolCalls",
                s(
                    r#"[{"toolCallType":"function","toolCallId":"toolu_2","toolName":"get_weather","args":"{\"city\":\"Paris\"}"}]"#,
                ),
            ),
            ("ai.response.finishReason", s("tool-calls")),
            (
                "ai.response.providerMetadata",
                s(
                    r#"{"anthropic":{"cacheCreationInputTokens":10,"usage":{"input_tokens":120,"output_tokens":45,"cache_creation_input_tokens":10,"cache_read_input_tokens":30,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":0}}}}"#,
                ),
            ),
            ("ai.usage.promptTokens", i(120)),
            ("ai.usage.completionTokens", i(45)),
            ("ai.usage.cachedInputTokens", i(30)),
            ("gen_ai.system", s("anthropic.messages")),
            ("gen_ai.usage.input_tokens", i(120)),
            ("gen_ai.usage.output_tokens", i(45)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);
    assert_eq!(
        sp.usage,
        Usage {
            cache_write_1h: Some(0),
            ..usage(Some(160), Some(45), Some(30), Some(10), None)
        }
    );
    assert_eq!(sp.gen_ai.params.stream, Some(false));
    assert_eq!(sp.gen_ai.params.max_tokens, Some(512));
    assert_eq!(sp.gen_ai.params.top_p, Some(0.9));
    assert_eq!(sp.gen_ai.params.stop_sequences, vec!["END"]);
    assert_eq!(sp.gen_ai.finish_reasons, vec!["tool_call"]);
    let out = &sp.gen_ai.output_messages[0];
    assert_eq!(out.finish_reason.as_deref(), Some("tool_call"));
    assert_eq!(
        out.parts,
        vec![MessagePart::ToolCall {
            id: Some("toolu_2".into()),
            name: "get_weather".into(),
            arguments: Some(json!({"city": "Paris"})),
        }]
    );
}

/// AI SDK v5 for OpenAI: `promptTokens` already includes the cached tokens.
#[test]
fn v5_openai_input_is_inclusive() {
    let sp = normalized(span(
        "ai.generateText.doGenerate",
        "ai",
        vec![
            ("ai.operationId", s("ai.generateText.doGenerate")),
            ("ai.model.provider", s("openai.chat")),
            ("ai.model.id", s("gpt-4o")),
            ("ai.usage.promptTokens", i(90)),
            ("ai.usage.completionTokens", i(25)),
            ("ai.usage.cachedInputTokens", i(40)),
            (
                "ai.response.providerMetadata",
                s(r#"{"openai":{"cachedPromptTokens":40,"reasoningTokens":0}}"#),
            ),
        ],
    ));
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("openai"));
    assert_eq!(sp.usage, usage(Some(90), Some(25), Some(40), None, Some(0)));
    assert!(sp.counts_usage);
}

/// The outer `ai.generateText` span repeats its children's usage: a chain, never counted.
#[test]
fn outer_span_is_an_uncounted_chain() {
    let sp = normalized(span(
        "ai.generateText",
        "ai",
        vec![
            ("ai.operationId", s("ai.generateText")),
            ("ai.model.provider", s("openai.responses")),
            ("ai.model.id", s("gpt-4o-mini")),
            (
                "ai.prompt",
                s(r#"{"system":"Be brief.","prompt":"Weather in Paris?"}"#),
            ),
            ("ai.response.text", s("Sunny.")),
            ("ai.response.finishReason", s("stop")),
            ("ai.usage.inputTokens", i(15)),
            ("ai.usage.inputTokenDetails.noCacheTokens", i(15)),
            ("ai.usage.outputTokens", i(21)),
            ("ai.usage.totalTokens", i(36)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Chain);
    assert!(!sp.counts_usage);
    assert_eq!(sp.usage.input, Some(15));
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("ai.generateText"));
    assert_eq!(
        sp.gen_ai.system_instructions,
        vec![MessagePart::Text {
            content: "Be brief.".into()
        }]
    );
    assert_eq!(
        sp.gen_ai.input_messages,
        vec![Message::text("user", "Weather in Paris?")]
    );
    assert_eq!(sp.gen_ai.output_messages[0].text_content(), "Sunny.");

    // `ai.streamObject` and `ai.embedMany` outer spans too.
    for op in ["ai.streamObject", "ai.embedMany"] {
        let sp = normalized(span(
            op,
            "ai",
            vec![("ai.operationId", s(op)), ("ai.usage.tokens", i(8))],
        ));
        assert_eq!(sp.kind, SpanKind::Chain, "{op}");
        assert!(!sp.counts_usage, "{op}");
    }
}

#[test]
fn embeddings_and_tool_calls() {
    let sp = normalized(span(
        "ai.embedMany.doEmbed",
        "ai",
        vec![
            ("ai.operationId", s("ai.embedMany.doEmbed")),
            ("ai.model.provider", s("openai.embedding")),
            ("ai.model.id", s("text-embedding-3-small")),
            ("ai.usage.tokens", i(12)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Embedding);
    assert_eq!(sp.usage.input, Some(12));
    assert!(sp.counts_usage);

    let sp = normalized(span(
        "ai.toolCall",
        "ai",
        vec![
            ("ai.operationId", s("ai.toolCall")),
            ("ai.toolCall.name", s("get_weather")),
            ("ai.toolCall.id", s("toolu_1")),
            ("ai.toolCall.args", s(r#"{"city":"Paris"}"#)),
            ("ai.toolCall.result", s(r#"{"temp":21}"#)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Tool);
    assert_eq!(sp.gen_ai.tool_name.as_deref(), Some("get_weather"));
    assert!(!sp.counts_usage);
}

/// AI SDK 7 `agent_step` spans aggregate their `chat` children.
#[test]
fn ai_sdk_7_agent_step_is_not_counted() {
    let sp = normalized(span(
        "agent_step",
        "@ai-sdk/otel",
        vec![
            ("gen_ai.operation.name", s("agent_step")),
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.usage.input_tokens", i(100)),
            ("gen_ai.usage.output_tokens", i(20)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Agent);
    assert!(!sp.counts_usage);
}

#[test]
fn provider_ids_and_user_precedence() {
    let provider = |raw: &str| {
        normalized(span(
            "ai.generateText.doGenerate",
            "ai",
            vec![
                ("ai.operationId", s("ai.generateText.doGenerate")),
                ("ai.model.provider", s(raw)),
            ],
        ))
        .gen_ai
        .provider
    };
    assert_eq!(provider("openai.responses").as_deref(), Some("openai"));
    assert_eq!(
        provider("google.vertex.chat").as_deref(),
        Some("gcp.vertex_ai")
    );
    assert_eq!(
        provider("google.generative-ai").as_deref(),
        Some("gcp.gemini")
    );
    assert_eq!(provider("amazon-bedrock").as_deref(), Some("aws.bedrock"));
    assert_eq!(
        provider("vertex.anthropic.messages").as_deref(),
        Some("gcp.vertex_ai")
    );
    assert_eq!(provider("openrouter.chat").as_deref(), Some("openrouter"));
    assert_eq!(provider("xai.chat").as_deref(), Some("x_ai"));

    // `user.id` / `session.id` come before the telemetry metadata (reference §5.1).
    let sp = normalized(span(
        "ai.generateText",
        "ai",
        vec![
            ("ai.operationId", s("ai.generateText")),
            ("ai.telemetry.metadata.userId", s("meta-user")),
            ("ai.telemetry.metadata.sessionId", s("meta-session")),
            ("user.id", s("real-user")),
            ("session.id", s("real-session")),
        ],
    ));
    assert_eq!(sp.gen_ai.user_id.as_deref(), Some("real-user"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("real-session"));
}

/// Priority: the Vercel dialect reads the shared `gen_ai.*` keys of an AI SDK v5 Anthropic span
/// before the OTel dialect, which alone would take `gen_ai.usage.input_tokens` as inclusive.
#[test]
fn vercel_runs_before_the_otel_dialect() {
    let mk = || {
        span(
            "ai.generateText.doGenerate",
            "ai",
            vec![
                ("ai.operationId", s("ai.generateText.doGenerate")),
                ("gen_ai.system", s("anthropic.messages")),
                ("gen_ai.request.model", s("claude-sonnet-4-6")),
                ("gen_ai.usage.input_tokens", i(120)),
                ("gen_ai.usage.output_tokens", i(45)),
                ("ai.usage.cachedInputTokens", i(30)),
                (
                    "ai.response.providerMetadata",
                    s(r#"{"anthropic":{"cacheCreationInputTokens":10}}"#),
                ),
            ],
        )
    };
    let all = normalized(mk());
    assert_eq!(
        all.usage,
        usage(Some(160), Some(45), Some(30), Some(10), None)
    );
    assert_eq!(all.gen_ai.provider.as_deref(), Some("anthropic"));

    let mut otel_only = mk();
    Normalizer::with_dialects(vec![Box::new(OtelGenAi) as Box<dyn Dialect>])
        .normalize(&mut otel_only);
    assert_eq!(otel_only.usage.input, Some(120));
}
