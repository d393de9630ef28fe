//! The OpenAI Agents SDK tracing endpoint: traces and spans become one llmtrace trace.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_sdk_export_becomes_a_trace() {
    let h = Harness::start(Options::default()).await;
    let http = reqwest::Client::new();
    let trace = "trace_0123456789abcdef0123456789abcdef";
    let body = serde_json::json!({"data": [
        {"object": "trace", "id": trace, "workflow_name": "Support agent", "group_id": "thread-42",
         "metadata": {"user_id": "u-1"}},
        {"object": "trace.span", "id": "span_aaaaaaaaaaaaaaaa00000001", "trace_id": trace,
         "parent_id": null, "started_at": "2026-01-01T00:00:00.000Z", "ended_at": "2026-01-01T00:00:03.000Z",
         "span_data": {"type": "agent", "name": "Triage"}, "error": null},
        {"object": "trace.span", "id": "span_aaaaaaaaaaaaaaaa00000002", "trace_id": trace,
         "parent_id": "span_aaaaaaaaaaaaaaaa00000001", "started_at": "2026-01-01T00:00:00.100Z",
         "ended_at": "2026-01-01T00:00:01.100Z",
         "span_data": {"type": "generation", "model": "gpt-4o",
                       "input": [{"role": "user", "content": "Where is my order?"}],
                       "output": [{"role": "assistant", "content": "Checking."}],
                       "usage": {"input_tokens": 90, "output_tokens": 25,
                                 "input_tokens_details": {"cached_tokens": 40}}}},
        {"object": "trace.span", "id": "span_aaaaaaaaaaaaaaaa00000003", "trace_id": trace,
         "parent_id": "span_aaaaaaaaaaaaaaaa00000001", "started_at": "2026-01-01T00:00:01.200Z",
         "ended_at": "2026-01-01T00:00:01.300Z",
         "span_data": {"type": "function", "name": "lookup_order", "input": "{\"id\": 7}", "output": "shipped"},
         "error": {"message": "timeout talking to orders", "data": {"retries": 2}}}
    ]});
    let r = http
        .post(h.url("/v1/traces/ingest"))
        .header("authorization", "Bearer sk-anything")
        .header("openai-beta", "traces=v1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (st, d) = h
        .get_json("/api/traces/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(st, 200, "{d}");
    let t = &d["trace"];
    assert_eq!(t["root_name"], "Support agent");
    assert_eq!(t["session_id"], "thread-42");
    assert_eq!(t["user_id"], "u-1");
    assert_eq!(t["span_count"], 4);
    assert_eq!(t["llm_call_count"], 1);
    assert_eq!(
        (t["input_tokens"].as_u64(), t["cache_read_tokens"].as_u64()),
        (Some(90), Some(40))
    );
    assert_eq!(t["error_count"], 1);
    let spans = d["spans"].as_array().unwrap();
    let by = |k: &str| spans.iter().find(|s| s["kind"] == k).unwrap();
    assert_eq!(by("agent")["agent_name"], "Triage");
    assert_eq!(by("llm")["request_model"], "gpt-4o");
    assert_eq!(
        by("llm")["input_messages"][0]["parts"][0]["content"],
        "Where is my order?"
    );
    assert_eq!(by("llm")["parent_span_id"], by("agent")["span_id"]);
    assert_eq!(by("tool")["tool_name"], "lookup_order");
    assert_eq!(by("tool")["status"], "error");
    assert_eq!(by("tool")["status_message"], "timeout talking to orders");
    assert!(by("llm")["cost_usd"].as_f64().unwrap() > 0.0);

    let r = http
        .post(h.url("/v1/traces/ingest"))
        .json(&serde_json::json!({"data": [{"object": "nope"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    h.stop().await;
}
