//! pydantic-ai and Logfire golden cases: agent runs with aggregated usage (never counted), model
//! requests with cache details and reported cost, v2 span names, older Logfire integrations.

mod common;

use common::*;
use llmtrace_model::{AttrValue, Message, MessagePart, SpanKind};

// ---------------------------------------------------------------------------------------------
// Cases

const ALL_MESSAGES: &str = r#"[
  {"role":"system","parts":[{"type":"text","content":"You are a weather bot."}]},
  {"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},
  {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]},
  {"role":"user","parts":[{"type":"tool_call_response","id":"call_1","name":"get_weather","result":"sunny"}]},
  {"role":"assistant","parts":[{"type":"text","content":"It is sunny."}],"finish_reason":"stop"}
]"#;

/// The agent run span (format v5) repeats the usage of its two model requests.
#[test]
fn agent_run_usage_is_never_counted() {
    let sp = normalized(span(
        "invoke_agent weather_agent",
        "pydantic-ai",
        vec![
            ("gen_ai.operation.name", s("invoke_agent")),
            ("gen_ai.agent.name", s("weather_agent")),
            ("gen_ai.agent.call.id", s("run-1")),
            ("gen_ai.conversation.id", s("conv-1")),
            ("logfire.msg", s("weather_agent run")),
            ("model_name", s("claude-sonnet-4-6")),
            ("gen_ai.usage.input_tokens", i(320)),
            ("gen_ai.usage.output_tokens", i(90)),
            ("gen_ai.usage.cache_read.input_tokens", i(60)),
            ("pydantic_ai.all_messages", s(ALL_MESSAGES)),
            ("final_result", s("It is sunny.")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Agent);
    assert!(!sp.counts_usage);
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("invoke_agent"));
    assert_eq!(sp.gen_ai.agent_name.as_deref(), Some("weather_agent"));
    assert_eq!(sp.gen_ai.session_id.as_deref(), Some("conv-1"));
    assert_eq!(sp.usage, usage(Some(320), Some(90), Some(60), None, None));
    assert_eq!(sp.gen_ai.input_messages.len(), 5);
    assert_eq!(
        sp.gen_ai.input_messages[0],
        Message::text("system", "You are a weather bot.")
    );
    assert_eq!(
        sp.gen_ai.input_messages[2].parts,
        vec![MessagePart::ToolCall {
            id: Some("call_1".into()),
            name: "get_weather".into(),
            arguments: Some(serde_json::json!({"city": "Paris"})),
        }]
    );
    assert_eq!(
        sp.gen_ai.output_messages,
        vec![Message::text("assistant", "It is sunny.")]
    );
}

/// `use_aggregated_usage_attribute_names`, format v2 (`agent run`, `agent_name`), structured
/// `final_result`.
#[test]
fn aggregated_usage_names_and_v2_agent_run() {
    let sp = normalized(span(
        "agent run",
        "pydantic-ai",
        vec![
            ("agent_name", s("weather_agent")),
            ("gen_ai.aggregated_usage.input_tokens", i(320)),
            ("gen_ai.aggregated_usage.output_tokens", i(90)),
            ("gen_ai.aggregated_usage.cache_creation.input_tokens", i(20)),
            ("final_result", s(r#"{"city": "Paris", "temp": 21}"#)),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Agent);
    assert!(!sp.counts_usage);
    assert_eq!(sp.gen_ai.agent_name.as_deref(), Some("weather_agent"));
    assert_eq!(sp.usage, usage(Some(320), Some(90), None, Some(20), None));
    assert_eq!(
        sp.gen_ai.output_messages,
        vec![Message::text(
            "assistant",
            r#"{"city": "Paris", "temp": 21}"#
        )]
    );
}

/// A model request span: inclusive input, cache keys, details, cost, time to first chunk.
#[test]
fn chat_request_with_cost_and_details() {
    let sp = normalized(span(
        "chat claude-sonnet-4-6",
        "pydantic-ai",
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("anthropic")),
            ("gen_ai.system", s("anthropic")),
            ("gen_ai.request.model", s("claude-sonnet-4-6")),
            ("server.address", s("api.anthropic.com")),
            ("gen_ai.request.max_tokens", i(1024)),
            (
                "model_request_parameters",
                s(r#"{"function_tools": [], "output_mode": "text"}"#),
            ),
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
            ("gen_ai.response.model", s("claude-sonnet-4-6")),
            (
                "gen_ai.response.finish_reasons",
                AttrValue::Array(vec![s("stop")]),
            ),
            ("gen_ai.usage.input_tokens", i(160)),
            ("gen_ai.usage.output_tokens", i(45)),
            ("gen_ai.usage.cache_read.input_tokens", i(30)),
            ("gen_ai.usage.cache_creation.input_tokens", i(10)),
            ("gen_ai.usage.details.cache_read_input_tokens", i(30)),
            ("gen_ai.usage.details.cache_creation_input_tokens", i(10)),
            ("gen_ai.usage.details.input_tokens", i(120)),
            ("gen_ai.client.operation.time_to_first_chunk", f(0.4)),
            ("operation.cost", f(0.000987)),
            ("logfire.json_schema", s(r#"{"type":"object"}"#)),
            ("logfire.msg", s("chat claude-sonnet-4-6")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(
        sp.usage,
        usage(Some(160), Some(45), Some(30), Some(10), None)
    );
    assert_eq!(sp.cost.reported, usd(0.000987));
    assert_eq!(sp.gen_ai.time_to_first_token_s, Some(0.4));
    assert_eq!(sp.gen_ai.params.max_tokens, Some(1024));
    assert_eq!(sp.gen_ai.finish_reasons, vec!["stop"]);
    assert_eq!(sp.gen_ai.output_messages[0].text_content(), "Sunny.");

    // Cache and reasoning known only from the detail keys (OpenAI through pydantic-ai).
    let sp = normalized(span(
        "chat gpt-4o",
        "pydantic-ai",
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("openai")),
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.usage.input_tokens", i(90)),
            ("gen_ai.usage.output_tokens", i(25)),
            ("gen_ai.usage.details.cached_tokens", i(40)),
            ("gen_ai.usage.details.reasoning_tokens", i(3)),
        ],
    ));
    assert_eq!(sp.usage, usage(Some(90), Some(25), Some(40), None, Some(3)));
    assert!(sp.counts_usage);
}

#[test]
fn v2_running_tool() {
    let sp = normalized(span(
        "running tool",
        "pydantic-ai",
        vec![
            ("logfire.msg", s("running tool: get_weather")),
            ("tool_arguments", s(r#"{"city":"Paris"}"#)),
            ("tool_response", s("sunny")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Tool);
    assert_eq!(sp.gen_ai.tool_name.as_deref(), Some("get_weather"));
    assert_eq!(sp.gen_ai.operation.as_deref(), Some("execute_tool"));
    assert!(!sp.counts_usage);

    // v5 tool spans are plain OTel `execute_tool` spans.
    let sp = normalized(span(
        "execute_tool get_weather",
        "pydantic-ai",
        vec![
            ("gen_ai.operation.name", s("execute_tool")),
            ("gen_ai.tool.name", s("get_weather")),
            ("gen_ai.tool.call.id", s("call_1")),
            ("logfire.msg", s("running tool: get_weather")),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Tool);
    assert_eq!(sp.gen_ai.tool_name.as_deref(), Some("get_weather"));
}

/// Older Logfire `instrument_anthropic`: no semantic-convention keys, only `request_data` and
/// `response_data` with the raw (cache-exclusive) Anthropic usage.
#[test]
fn older_logfire_anthropic_integration() {
    let sp = normalized(span(
        "Message with 'claude-sonnet-4-6'",
        "logfire",
        vec![
            (
                "logfire.msg_template",
                s("Message with {request_data[model]!r}"),
            ),
            ("logfire.msg", s("Message with 'claude-sonnet-4-6'")),
            ("logfire.span_type", s("span")),
            ("async", AttrValue::Bool(false)),
            (
                "request_data",
                s(
                    r#"{"model": "claude-sonnet-4-6", "max_tokens": 1024, "system": "Be brief.", "messages": [{"role": "user", "content": "Weather in Paris?"}]}"#,
                ),
            ),
            (
                "response_data",
                s(
                    r#"{"message": {"role": "assistant", "content": [{"type": "text", "text": "Sunny."}]}, "usage": {"input_tokens": 120, "output_tokens": 45, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 10}}"#,
                ),
            ),
        ],
    ));
    assert_eq!(sp.kind, SpanKind::Llm);
    assert!(sp.counts_usage);
    assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(
        sp.gen_ai.request_model.as_deref(),
        Some("claude-sonnet-4-6")
    );
    assert_eq!(sp.gen_ai.params.max_tokens, Some(1024));
    assert_eq!(
        sp.usage,
        usage(Some(160), Some(45), Some(30), Some(10), None)
    );
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
}
