//! The SDK against a real llmtrace server (in process) and a mock provider, checked through the
//! query API. One global SDK setup for the whole binary (content capture on).

mod common;

use common::{mock, server, span, spans, trace_id, wait_trace};
use llmtrace_sdk::genai::{GenAiSpan, Message, RequestParams, Usage};
use llmtrace_sdk::{observe, Guard, Instrument};
use serde_json::{json, Value};
use std::sync::OnceLock;

fn sdk() -> &'static Guard {
    static GUARD: OnceLock<Guard> = OnceLock::new();
    GUARD.get_or_init(|| {
        llmtrace_sdk::Builder::new()
            .service_name("sdk-test")
            .endpoint(server().url(""))
            .capture_content(true)
            .scheduled_delay(std::time::Duration::from_millis(100))
            .install()
            .unwrap()
    })
}

fn flush() {
    sdk().flush().unwrap();
}

fn id_of(s: &Value) -> String {
    s["span_id"].as_str().unwrap().to_string()
}

/// Every span's parent is in the trace (no orphans), and exactly one root.
fn assert_connected(trace: &Value) {
    let spans = trace["spans"].as_array().unwrap();
    let ids: Vec<&str> = spans
        .iter()
        .map(|s| s["span_id"].as_str().unwrap())
        .collect();
    let roots = spans
        .iter()
        .filter(|s| s["parent_span_id"].is_null())
        .count();
    assert_eq!(roots, 1, "one root: {trace:#}");
    for s in spans {
        if let Some(p) = s["parent_span_id"].as_str() {
            assert!(ids.contains(&p), "orphan {}: {trace:#}", s["name"]);
        }
    }
}

async fn post(
    client: &reqwest_middleware::ClientWithMiddleware,
    path: &str,
    body: Value,
) -> (u16, String) {
    let resp = client
        .post(mock().url(path))
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn provider_calls_streaming_and_not() {
    sdk();
    let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());
    let root = tracing::info_span!("provider_calls");
    let tid = trace_id(&root);
    let texts = async {
        let mut texts = Vec::new();
        let msgs = json!([{"role": "user", "content": "Say hello"}]);
        texts.push(post(&client, "/v1/messages", json!({"model": "claude-sonnet-4-6", "max_tokens": 256, "temperature": 0.5, "system": "Be brief", "messages": msgs})).await);
        texts.push(post(&client, "/v1/messages", json!({"model": "claude-haiku-4-5", "max_tokens": 256, "stream": true, "messages": msgs})).await);
        texts.push(post(&client, "/v1/chat/completions", json!({"model": "gpt-4o", "max_tokens": 100, "top_p": 0.9, "seed": 7, "stop": ["END"], "messages": msgs})).await);
        texts.push(post(&client, "/v1/chat/completions", json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true}, "messages": msgs})).await);
        texts.push(post(&client, "/v1/responses", json!({"model": "gpt-5", "max_output_tokens": 300, "input": "Say hello"})).await);
        texts.push(post(&client, "/v1/responses", json!({"model": "gpt-5-mini", "stream": true, "input": "Say hello"})).await);
        texts.push(post(&client, "/v1/embeddings", json!({"model": "text-embedding-3-small", "input": "hello"})).await);
        texts
    }
    .instrument(root.clone())
    .await;
    // The caller got the bodies untouched.
    assert!(texts.iter().all(|(s, _)| *s == 200));
    assert!(texts[1].1.contains("message_delta"));
    assert!(texts[3].1.contains("[DONE]"));
    drop(root);
    flush();
    let t = wait_trace(&tid, 8).await;
    assert_connected(&t);
    let root_id = id_of(span(&t, "provider_calls"));

    // Anthropic, non-streaming: cache parts added to input.
    let a = span(&t, "chat claude-sonnet-4-6");
    assert_eq!(a["parent_span_id"], root_id.as_str());
    assert_eq!(a["kind"], "llm");
    assert_eq!(a["otel_span_kind"], "client");
    assert_eq!(a["provider"], "anthropic");
    assert_eq!(a["operation"], "chat");
    assert_eq!(a["request_model"], "claude-sonnet-4-6");
    assert_eq!(a["response_model"], "claude-sonnet-4-6-20260101");
    assert_eq!(a["input_tokens"], 120);
    assert_eq!(a["output_tokens"], 25);
    assert_eq!(a["cache_read_tokens"], 100);
    assert_eq!(a["cache_write_tokens"], 8);
    assert_eq!(a["request_params"]["max_tokens"], 256);
    assert_eq!(a["request_params"]["temperature"], 0.5);
    assert_eq!(a["finish_reasons"], json!(["stop"]));
    assert!(a["time_to_first_token_ms"].is_null());
    assert_eq!(a["input_messages"][0]["role"], "user");
    assert_eq!(
        a["output_messages"][0]["parts"][0]["content"],
        "Hello world"
    );
    assert_eq!(a["system_instructions"][0]["content"], "Be brief");

    // Anthropic, streaming.
    let a = span(&t, "chat claude-haiku-4-5");
    assert_eq!(a["input_tokens"], 120);
    assert_eq!(a["output_tokens"], 25);
    assert_eq!(a["cache_read_tokens"], 100);
    assert_eq!(a["cache_write_tokens"], 8);
    assert_eq!(a["response_model"], "claude-haiku-4-5-20260101");
    assert_eq!(a["finish_reasons"], json!(["stop"]));
    assert_eq!(a["request_params"]["stream"], true);
    assert!(a["time_to_first_token_ms"].as_f64().is_some(), "{a:#}");
    assert_eq!(
        a["output_messages"][0]["parts"][0]["content"],
        "Hello world"
    );

    // OpenAI chat, non-streaming and streaming.
    for name in ["chat gpt-4o", "chat gpt-4o-mini"] {
        let o = span(&t, name);
        assert_eq!(o["kind"], "llm");
        assert_eq!(o["provider"], "openai");
        assert_eq!(o["input_tokens"], 50, "{name}");
        assert_eq!(o["output_tokens"], 20);
        assert_eq!(o["cache_read_tokens"], 30);
        assert_eq!(o["reasoning_tokens"], 7);
        assert_eq!(o["finish_reasons"], json!(["stop"]));
        assert_eq!(
            o["output_messages"][0]["parts"][0]["content"],
            "Hello world"
        );
    }
    let o = span(&t, "chat gpt-4o");
    assert_eq!(o["request_params"]["seed"], 7);
    assert_eq!(o["request_params"]["stop_sequences"], json!(["END"]));
    assert!(span(&t, "chat gpt-4o-mini")["time_to_first_token_ms"]
        .as_f64()
        .is_some());

    // OpenAI responses.
    for name in ["chat gpt-5", "chat gpt-5-mini"] {
        let o = span(&t, name);
        assert_eq!(o["provider"], "openai");
        assert_eq!(o["input_tokens"], 40, "{name}: {o:#}");
        assert_eq!(o["output_tokens"], 10);
        assert_eq!(o["cache_read_tokens"], 16);
        assert_eq!(o["reasoning_tokens"], 4);
        assert_eq!(o["attributes"]["openai.api.type"], "responses");
        assert_eq!(
            o["output_messages"][0]["parts"][0]["content"],
            "Hello world"
        );
    }
    assert_eq!(span(&t, "chat gpt-5")["request_params"]["max_tokens"], 300);
    assert!(span(&t, "chat gpt-5-mini")["time_to_first_token_ms"]
        .as_f64()
        .is_some());

    // Embeddings.
    let e = span(&t, "embeddings text-embedding-3-small");
    assert_eq!(e["kind"], "embedding");
    assert_eq!(e["operation"], "embeddings");
    assert_eq!(e["input_tokens"], 8);

    // W3C trace context reached the provider.
    let tps = mock().state.traceparents.lock().unwrap().clone();
    let ours: Vec<_> = tps.iter().filter(|tp| tp.contains(&tid)).collect();
    assert_eq!(ours.len(), 7, "{tps:?}");
    for tp in ours {
        let parent = tp.split('-').nth(2).unwrap();
        assert!(t["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["span_id"] == parent));
    }
}

#[derive(Debug, thiserror::Error)]
#[error("tool exploded: {0}")]
struct ToolError(String);

#[observe(kind = "tool", name = "failing_tool")]
async fn failing_tool(arg: u32) -> Result<u32, ToolError> {
    Err(ToolError(format!("arg {arg}")))
}

#[tokio::test]
async fn error_spans() {
    sdk();
    let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());
    let root = tracing::info_span!("errors");
    let tid = trace_id(&root);
    async {
        let (status, _) = post(
            &client,
            "/v1/messages",
            json!({"model": "error-model", "max_tokens": 1, "messages": []}),
        )
        .await;
        assert_eq!(status, 429);
        let (status, _) = post(
            &client,
            "/v1/chat/completions",
            json!({"model": "error-model", "messages": []}),
        )
        .await;
        assert_eq!(status, 429);
        // Nothing listens on port 9 of loopback.
        let err = client
            .post("http://127.0.0.1:9/v1/chat/completions")
            .json(&json!({"model": "unreachable-model", "messages": []}))
            .send()
            .await;
        assert!(err.is_err());
        assert!(failing_tool(3).await.is_err());
        let manual = GenAiSpan::chat("anthropic", "manual-model");
        manual.record_error("overloaded_error", "try later");
    }
    .instrument(root.clone())
    .await;
    drop(root);
    flush();
    let t = wait_trace(&tid, 6).await;
    assert_connected(&t);
    assert!(
        t["trace"]["error_count"].as_u64().unwrap() >= 5,
        "{:#}",
        t["trace"]
    );
    let e: Vec<_> = spans(&t, "chat error-model");
    assert_eq!(e.len(), 2);
    for s in e {
        assert_eq!(s["status"], "error");
        assert_eq!(s["error_type"], "429");
    }
    let s = span(&t, "chat unreachable-model");
    assert_eq!(s["status"], "error");
    assert_eq!(s["error_type"], "connect_error");
    let s = span(&t, "execute_tool failing_tool");
    assert_eq!(s["kind"], "tool");
    assert_eq!(s["status"], "error");
    assert!(
        s["error_type"].as_str().unwrap().ends_with("ToolError"),
        "{s:#}"
    );
    assert!(s["status_message"].as_str().unwrap().contains("arg 3"));
    let s = span(&t, "chat manual-model");
    assert_eq!(s["error_type"], "overloaded_error");
    assert_eq!(s["status_message"], "try later");
}

#[derive(serde::Serialize)]
struct Doc {
    id: u32,
    text: String,
}

#[observe(kind = "retrieval", name = "vector_store")]
fn retrieve(query: &str, k: usize) -> Vec<Doc> {
    (0..k as u32)
        .map(|id| Doc {
            id,
            text: format!("doc {id} for {query}"),
        })
        .collect()
}

#[tracing::instrument]
fn plain_instrumented(x: u32) -> u32 {
    x + 1
}

struct NotSerializable;

#[observe]
fn takes_anything(_opaque: NotSerializable, label: String) -> usize {
    label.len()
}

#[observe(kind = "chain", name = "rag_query")]
async fn rag_query(question: String) -> Result<String, ToolError> {
    let docs = retrieve(&question, 2);
    let rerank = GenAiSpan::rerank("cohere", "rerank-v3");
    rerank.in_scope(|| {
        rerank.record_usage(&Usage {
            input_tokens: Some(64),
            ..Default::default()
        })
    });
    drop(rerank);
    let call = GenAiSpan::chat("anthropic", "claude-sonnet-4-6").with_params(&RequestParams {
        max_tokens: Some(512),
        temperature: Some(0.1),
        ..Default::default()
    });
    call.record_input_messages(&[Message::text("user", question.clone())]);
    call.record_usage(&Usage::from_anthropic(10, 40, 150, 0));
    call.record_response_model("claude-sonnet-4-6-20260101");
    call.record_finish_reasons(&["end_turn"]);
    call.record_output_messages(&[Message::text("assistant", "42").with_finish_reason("end_turn")]);
    drop(call);
    let tool = GenAiSpan::execute_tool("calculator");
    tool.record_tool_call_id("call_1");
    tool.record_tool_arguments(&json!({"expr": "6*7"}));
    tool.record_tool_result(&json!(42));
    drop(tool);
    let agent = GenAiSpan::invoke_agent("researcher");
    agent.in_scope(|| plain_instrumented(1));
    drop(agent);
    takes_anything(NotSerializable, "abc".into());
    Ok(format!("answer from {} docs", docs.len()))
}

#[tokio::test]
async fn helpers_macro_and_tree_shape() {
    sdk();
    let outer = tracing::info_span!("request");
    let tid = trace_id(&outer);
    let out = rag_query("what is 6*7?".into())
        .instrument(outer.clone())
        .await;
    assert_eq!(out.unwrap(), "answer from 2 docs");
    drop(outer);
    flush();
    let t = wait_trace(&tid, 9).await;
    assert_connected(&t);
    let request = id_of(span(&t, "request"));
    let chain = span(&t, "invoke_workflow rag_query");
    assert_eq!(chain["kind"], "chain");
    assert_eq!(chain["parent_span_id"], request.as_str());
    assert_eq!(
        chain["attributes"]["input.value"],
        r#"{"question":"what is 6*7?"}"#
    );
    assert_eq!(chain["attributes"]["output.value"], "answer from 2 docs");
    let chain_id = id_of(chain);

    let r = span(&t, "retrieval vector_store");
    assert_eq!(r["kind"], "retriever");
    assert_eq!(r["parent_span_id"], chain_id.as_str());
    let input: Value =
        serde_json::from_str(r["attributes"]["input.value"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"query": "what is 6*7?", "k": 2}));
    let output: Value =
        serde_json::from_str(r["attributes"]["output.value"].as_str().unwrap()).unwrap();
    assert_eq!(output[1]["id"], 1);

    let rr = span(&t, "rerank rerank-v3");
    assert_eq!(rr["kind"], "reranker");
    assert_eq!(rr["parent_span_id"], chain_id.as_str());

    let c = span(&t, "chat claude-sonnet-4-6");
    assert_eq!(c["kind"], "llm");
    assert_eq!(c["parent_span_id"], chain_id.as_str());
    assert_eq!(c["provider"], "anthropic");
    assert_eq!(c["input_tokens"], 160);
    assert_eq!(c["cache_read_tokens"], 150);
    assert_eq!(c["output_tokens"], 40);
    assert_eq!(c["request_params"]["max_tokens"], 512);
    assert_eq!(
        c["input_messages"][0]["parts"][0]["content"],
        "what is 6*7?"
    );
    assert_eq!(c["output_messages"][0]["finish_reason"], "stop");

    let tool = span(&t, "execute_tool calculator");
    assert_eq!(tool["kind"], "tool");
    assert_eq!(tool["otel_span_kind"], "internal");
    assert_eq!(tool["tool_name"], "calculator");
    assert_eq!(
        tool["attributes"]["gen_ai.tool.call.arguments"],
        r#"{"expr":"6*7"}"#
    );

    let agent = span(&t, "invoke_agent researcher");
    assert_eq!(agent["kind"], "agent");
    assert_eq!(agent["agent_name"], "researcher");
    let inst = span(&t, "plain_instrumented");
    assert_eq!(inst["parent_span_id"], id_of(agent).as_str());

    let any = span(&t, "takes_anything");
    assert_eq!(any["kind"], "span");
    // The non-serializable argument is skipped, the rest is captured.
    assert_eq!(any["attributes"]["input.value"], r#"{"label":"abc"}"#);
    assert_eq!(any["attributes"]["output.value"], "3");

    // Rerank usage is not a model call: only the chat call counts in the trace totals.
    assert_eq!(t["trace"]["input_tokens"], 160);
}

async fn child_work(label: &'static str) {
    let s = GenAiSpan::execute_tool(label);
    async {
        tokio::task::yield_now().await;
        let _inner = tracing::info_span!("inner_step").entered();
    }
    .instrument(s.span().clone())
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_and_joined_spans_stay_in_the_trace() {
    sdk();
    let root = tracing::info_span!("fan_out");
    let tid = trace_id(&root);
    async {
        let a = llmtrace_sdk::spawn_traced(child_work("spawned_a"));
        let b = llmtrace_sdk::spawn_traced(child_work("spawned_b"));
        let c = tokio::spawn(child_work("spawned_c").in_current_span());
        let d = llmtrace_sdk::task::spawn_blocking_traced(|| {
            let _s = tracing::info_span!("blocking_step").entered();
        });
        futures_util::future::join_all(vec![
            Box::pin(child_work("joined_1"))
                as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
            Box::pin(child_work("joined_2")),
            Box::pin(child_work("joined_3")),
        ])
        .await;
        let _ = (a.await, b.await, c.await, d.await);
    }
    .instrument(root.clone())
    .await;
    drop(root);
    flush();
    // root + 6 tools + 6 inner + blocking step
    let t = wait_trace(&tid, 14).await;
    assert_connected(&t);
    let root_id = id_of(span(&t, "fan_out"));
    for name in [
        "spawned_a",
        "spawned_b",
        "spawned_c",
        "joined_1",
        "joined_2",
        "joined_3",
    ] {
        let s = span(&t, &format!("execute_tool {name}"));
        assert_eq!(s["parent_span_id"], root_id.as_str(), "{name}");
    }
    assert_eq!(spans(&t, "inner_step").len(), 6);
    assert_eq!(
        span(&t, "blocking_step")["parent_span_id"],
        root_id.as_str()
    );
}

#[tokio::test]
async fn streaming_is_not_buffered() {
    sdk();
    let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());
    let root = tracing::info_span!("gated");
    let tid = trace_id(&root);
    async {
        // The provider holds the rest of the stream until we have read the first event: a
        // middleware that buffered the body would never return.
        let (mut resp, first) = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            let mut resp = client
                .post(mock().url("/v1/messages"))
                .header("anthropic-version", "2023-06-01")
                .json(&json!({"model": "gated-model", "max_tokens": 9, "stream": true, "messages": []}))
                .send()
                .await
                .unwrap();
            let first = resp.chunk().await.unwrap().unwrap();
            (resp, first)
        })
        .await
        .expect("the first event must reach the caller while the stream is open");
        assert!(String::from_utf8_lossy(&first).contains("message_start"));
        mock().state.gate.notify_one();
        let mut rest = String::new();
        while let Some(c) = resp.chunk().await.unwrap() {
            rest.push_str(&String::from_utf8_lossy(&c));
        }
        assert!(rest.contains("message_delta"));
    }
    .instrument(root.clone())
    .await;
    drop(root);
    flush();
    let t = wait_trace(&tid, 2).await;
    let s = span(&t, "chat gated-model");
    assert_eq!(s["input_tokens"], 5);
    assert_eq!(s["output_tokens"], 9);
    assert_eq!(s["finish_reasons"], json!(["length"]));
    assert!(s["time_to_first_token_ms"].as_f64().is_some());
    assert_eq!(s["output_messages"][0]["parts"][0]["content"], "late");
}
