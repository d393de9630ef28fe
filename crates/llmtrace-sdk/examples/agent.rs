//! An agent with parallel tool calls, instrumented with llmtrace-sdk, against a local mock
//! provider.
//!
//! ```sh
//! llmtrace serve &
//! OTEL_SERVICE_NAME=agent-app cargo run -p llmtrace-sdk --example agent
//! ```
//!
//! Trace: `invoke_agent travel_assistant` → `chat gpt-4o` (asks for two tools) →
//! `execute_tool get_weather` and `execute_tool get_time` (run in parallel: one with
//! `spawn_traced`, one under `join_all`) → `chat gpt-4o` (final answer).

#[path = "support/mock_provider.rs"]
mod mock_provider;

use llmtrace_sdk::genai::GenAiSpan;
use llmtrace_sdk::{observe, Instrument};
use serde_json::{json, Value};

#[observe(kind = "tool", name = "get_weather")]
async fn get_weather(city: String) -> Value {
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    json!({"city": city, "celsius": 18})
}

async fn get_time(call_id: String, city: String) -> Value {
    // The same as #[observe(kind = "tool")], by hand with the helper.
    let tool = GenAiSpan::execute_tool("get_time");
    tool.record_tool_call_id(&call_id);
    tool.record_tool_arguments(&json!({"city": city}));
    let result = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        json!({"city": city, "time": "14:05"})
    }
    .instrument(tool.span().clone())
    .await;
    tool.record_tool_result(&result);
    result
}

async fn run_agent(
    client: &reqwest_middleware::ClientWithMiddleware,
    base: &str,
    question: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let agent = GenAiSpan::invoke_agent("travel_assistant");
    async {
        let url = format!("{base}/v1/chat/completions");
        let mut messages = vec![json!({"role": "user", "content": question})];
        let first: Value = client
            .post(&url)
            .json(&json!({"model": "gpt-4o", "messages": messages, "tools": []}))
            .send()
            .await?
            .json()
            .await?;
        let msg = first["choices"][0]["message"].clone();
        messages.push(msg.clone());
        let calls = msg["tool_calls"].as_array().cloned().unwrap_or_default();

        // Parallel tool calls: a spawned task and futures joined in this task both stay in
        // this trace, under the agent span.
        let mut spawned = Vec::new();
        let mut joined = Vec::new();
        for call in &calls {
            let id = call["id"].as_str().unwrap_or_default().to_string();
            let args: Value =
                serde_json::from_str(call["function"]["arguments"].as_str().unwrap_or("{}"))?;
            let city = args["city"].as_str().unwrap_or_default().to_string();
            match call["function"]["name"].as_str() {
                Some("get_weather") => {
                    spawned.push((id, llmtrace_sdk::spawn_traced(get_weather(city))))
                }
                Some("get_time") => joined.push((id.clone(), get_time(id, city))),
                _ => {}
            }
        }
        let (ids, futures): (Vec<_>, Vec<_>) = joined.into_iter().unzip();
        let results = futures_util::future::join_all(futures).await;
        for (id, result) in ids.into_iter().zip(results) {
            messages
                .push(json!({"role": "tool", "tool_call_id": id, "content": result.to_string()}));
        }
        for (id, handle) in spawned {
            let result = handle.await?;
            messages
                .push(json!({"role": "tool", "tool_call_id": id, "content": result.to_string()}));
        }

        let last: Value = client
            .post(&url)
            .json(&json!({"model": "gpt-4o", "messages": messages}))
            .send()
            .await?
            .json()
            .await?;
        Ok(last["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }
    .instrument(agent.span().clone())
    .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = llmtrace_sdk::init()?;
    let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());

    let base = mock_provider::start().await?;
    let root = tracing::info_span!("agent_session", session.id = "s-1");
    let answer = run_agent(&client, &base, "Weather and time in Paris?")
        .instrument(root.clone())
        .await?;
    println!("trace_id={}", trace_id(&root));
    println!("{answer}");
    Ok(())
}

fn trace_id(span: &tracing::Span) -> String {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.context().span().span_context().trace_id().to_string()
}
