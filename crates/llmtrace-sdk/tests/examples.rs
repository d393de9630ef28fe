//! Runs `examples/rag_pipeline.rs` and `examples/agent.rs` against the in-process server and
//! checks their traces. The example binaries come from `cargo build -p llmtrace-sdk --examples`
//! (scripts/test.sh runs it first: `cargo test --all-targets` builds examples only as test
//! harnesses).

mod common;

use common::{server, span, spans, wait_trace};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

fn run_example(name: &str) -> String {
    let exe: PathBuf = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        exe.exists(),
        "{} is missing: run `cargo build -p llmtrace-sdk --examples` first (scripts/test.sh does)",
        exe.display()
    );
    let out = Command::new(&exe)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", server().url(""))
        .env("OTEL_SERVICE_NAME", name)
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("trace_id="))
        .unwrap()
        .to_string()
}

fn id(s: &Value) -> &str {
    s["span_id"].as_str().unwrap()
}

#[tokio::test]
async fn rag_pipeline_example() {
    let tid = run_example("rag_pipeline");
    let t = wait_trace(&tid, 6).await;
    assert_eq!(t["trace"]["service"], "rag_pipeline");
    assert_eq!(t["trace"]["root_name"], "handle_request");
    assert_eq!(t["trace"]["user_id"], "alice");
    let chain = span(&t, "invoke_workflow rag_query");
    assert_eq!(chain["kind"], "chain");
    assert_eq!(chain["parent_span_id"], id(span(&t, "handle_request")));
    for (name, kind) in [
        ("embeddings text-embedding-3-small", "embedding"),
        ("retrieval docs", "retriever"),
        ("rerank rerank-v3.5", "reranker"),
        ("chat claude-sonnet-4-6", "llm"),
    ] {
        let s = span(&t, name);
        assert_eq!(s["kind"], kind, "{name}");
        assert_eq!(s["parent_span_id"], id(chain), "{name}");
    }
    let chat = span(&t, "chat claude-sonnet-4-6");
    assert_eq!(chat["input_tokens"], 2020);
    assert_eq!(chat["cache_read_tokens"], 1800);
    assert_eq!(chat["output_tokens"], 64);
    assert!(chat["time_to_first_token_ms"].as_f64().is_some());
    assert_eq!(
        chat["output_messages"][0]["parts"][0]["content"],
        "Rust's ownership model prevents data races at compile time."
    );
    assert_eq!(t["trace"]["llm_call_count"], 2);
    // No library debug events leak into the spans (the default filter is INFO).
    for s in t["spans"].as_array().unwrap() {
        assert_eq!(s["events"], json!([]), "{}", s["name"]);
    }
}

#[tokio::test]
async fn agent_example() {
    let tid = run_example("agent");
    let t = wait_trace(&tid, 6).await;
    assert_eq!(t["trace"]["session_id"], "s-1");
    let agent = span(&t, "invoke_agent travel_assistant");
    assert_eq!(agent["kind"], "agent");
    let calls = spans(&t, "chat gpt-4o");
    assert_eq!(calls.len(), 2);
    let mut reasons: Vec<Value> = calls.iter().map(|c| c["finish_reasons"].clone()).collect();
    reasons.sort_by_key(|r| r.to_string());
    assert_eq!(reasons, vec![json!(["stop"]), json!(["tool_call"])]);
    for c in &calls {
        assert_eq!(c["parent_span_id"], id(agent));
        assert_eq!(c["input_tokens"], 310);
        assert_eq!(c["cache_read_tokens"], 256);
    }
    for tool in ["get_weather", "get_time"] {
        let s = span(&t, &format!("execute_tool {tool}"));
        assert_eq!(s["kind"], "tool");
        assert_eq!(s["tool_name"], tool);
        assert_eq!(s["parent_span_id"], id(agent), "{tool}");
    }
    let time = span(&t, "execute_tool get_time");
    assert_eq!(time["attributes"]["gen_ai.tool.call.id"], "call_2");
    assert_eq!(t["trace"]["error_count"], 0);
}

#[tokio::test]
async fn async_openai_example() {
    let tid = run_example("async_openai");
    let t = wait_trace(&tid, 4).await;
    let root = span(&t, "answer_question");
    let streamed: Vec<&Value> = spans(&t, "chat gpt-4o-mini");
    assert_eq!(streamed.len(), 2, "{t:#}");
    for s in &streamed {
        assert_eq!(s["parent_span_id"], id(root));
        assert_eq!(s["provider"], "openai");
    }
    let with_ttft: Vec<&&Value> = streamed
        .iter()
        .filter(|s| s["time_to_first_token_ms"].as_f64().is_some())
        .collect();
    assert_eq!(with_ttft.len(), 1, "only the streamed call has a TTFT");
    assert_eq!(with_ttft[0]["input_tokens"], 120);
    assert_eq!(with_ttft[0]["output_tokens"], 6);
    let plain = streamed
        .iter()
        .find(|s| s["time_to_first_token_ms"].is_null())
        .unwrap();
    assert_eq!(plain["input_tokens"], 310);
    assert_eq!(plain["cache_read_tokens"], 256);
    let embeddings = span(&t, "embeddings text-embedding-3-small");
    assert_eq!(embeddings["parent_span_id"], id(root));
    assert_eq!(embeddings["input_tokens"], 9);
}

#[tokio::test]
async fn rig_example() {
    let tid = run_example("rig_agent");
    let t = wait_trace(&tid, 4).await;
    // One span per rig call (rig's own call spans are filtered out by the example).
    assert_eq!(t["spans"].as_array().unwrap().len(), 4, "{t:#}");
    let root = span(&t, "handle_question");
    let plain = span(&t, "chat claude-sonnet-4-6");
    let streamed = span(&t, "chat gpt-4o-mini");
    let embeddings = span(&t, "embeddings text-embedding-3-small");
    for s in [plain, streamed, embeddings] {
        assert_eq!(s["parent_span_id"], id(root), "{}", s["name"]);
    }
    assert_eq!(plain["provider"], "anthropic");
    assert_eq!(plain["input_tokens"], 2020);
    assert_eq!(plain["cache_read_tokens"], 1800);
    assert_eq!(plain["output_tokens"], 64);
    assert_eq!(plain["request_params"]["max_tokens"], 256);
    assert!(plain["time_to_first_token_ms"].is_null());
    assert_eq!(streamed["provider"], "openai");
    assert_eq!(streamed["response_model"], "gpt-4o-mini-2024-08-06");
    assert_eq!(streamed["input_tokens"], 120);
    assert_eq!(streamed["output_tokens"], 6);
    assert!(streamed["time_to_first_token_ms"].as_f64().is_some());
    assert_eq!(embeddings["kind"], "embedding");
    assert_eq!(embeddings["input_tokens"], 9);
    assert_eq!(t["trace"]["llm_call_count"], 3);
    assert_eq!(t["trace"]["error_count"], 0);
}
