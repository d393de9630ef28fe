//! Real-SDK interop: the real LangSmith and Langfuse Python SDKs (pinned in
//! `tests/interop/requirements.txt`), each driving a real `anthropic` client against our mock
//! provider (`tests/interop/mock_provider.py`), export to a real `llmtrace` server with project
//! keys (`llmtrace projects create`). The tests then assert what the API shows: tree shape, kinds,
//! provider, model, tokens on the llmtrace convention (input 160 = 120 raw + 30 cache read + 10
//! cache write, output 45; a double count fails), user and session, scores and tags (Langfuse),
//! and that the SDKs reported no export error.
//!
//! The OTel instrumentation libraries OpenLLMetry (`opentelemetry-instrumentation-anthropic`),
//! OpenInference (`openinference-instrumentation-anthropic`) and Pydantic AI (an agent with one
//! tool) export OTLP/HTTP protobuf the same way; their tests assert the same, per trace.
//!
//! The OpenAI Agents SDK (an agent with one function tool on the mock's Responses API) exports
//! its own JSON to `POST /v1/traces/ingest`; LangSmith in OTel mode exports OTLP to
//! `/otel/v1/traces`; LangChain `.batch()` under OpenLLMetry's langchain instrumentation checks
//! that its context leak (three items nested in one trace) still counts every call once.
//!
//! OpenAI chat completions under OpenLLMetry (`opentelemetry-instrumentation-openai`: a tool
//! round trip and a streaming call with `include_usage`) and OpenInference
//! (`openinference-instrumentation-openai`: one call) are checked per trace against the mock's
//! truth (input 90 incl. 40 cache read, output 25, counted once).
//!
//! Further tests check the mock's own answers (non-streaming and SSE Anthropic, OpenAI chat, chat
//! tool calls and chat SSE) against those truth values. Every child process is killed on drop and
//! every wait is bounded.

mod common;

use common::interop::*;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The llmtrace span id of a LangSmith run UUID: its first 8 bytes XOR its last 8.
fn langsmith_span_id(uuid: &str) -> String {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    let byte = |i: usize| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    (0..8)
        .map(|i| format!("{:02x}", byte(i) ^ byte(i + 8)))
        .collect()
}

/// Checks one LangSmith trace: `rag-chain` (chain) → `retrieve` (retriever) and the
/// `wrap_anthropic` LLM run, with usage counted once and user/session from run metadata.
fn check_langsmith_trace(server: &Server, keys: &Keys, sent: &Value, mode: &str) {
    let trace_id = sent["trace_id"].as_str().unwrap();
    let d = wait_trace(server, keys, trace_id, 3);
    let t = &d["trace"];
    assert_eq!(t["root_name"], "rag-chain", "{mode}: root name: {t:#}");
    assert_eq!(t["has_root"], true, "{mode}: {t:#}");
    assert_eq!(t["llm_call_count"], 1, "{mode}: one model call: {t:#}");
    assert_eq!(t["error_count"], 0, "{mode}: {t:#}");
    assert_tokens(t, &format!("{mode}: trace totals"), [160, 45, 30, 10]);
    assert_eq!(t["user_id"], "user-ls-1", "{mode}: user from metadata");
    assert_eq!(
        t["session_id"], "sess-ls-1",
        "{mode}: session from metadata"
    );

    let root = span(&d, "rag-chain");
    assert_eq!(root["kind"], "chain", "{mode}: {root:#}");
    assert_eq!(root["parent_span_id"], Value::Null, "{mode}: {root:#}");
    let root_run = sent["run_ids"]["rag-chain"].as_str().unwrap();
    assert_eq!(
        root["span_id"],
        langsmith_span_id(root_run),
        "{mode}: span id is the folded run UUID"
    );
    let retrieve = span(&d, "retrieve");
    assert_eq!(retrieve["kind"], "retriever", "{mode}: {retrieve:#}");
    assert_eq!(
        retrieve["parent_span_id"], root["span_id"],
        "{mode}: retrieve is a child of the chain"
    );
    assert_eq!(
        retrieve["span_id"],
        langsmith_span_id(sent["run_ids"]["retrieve"].as_str().unwrap())
    );
    let llm = span(&d, "ChatAnthropic");
    assert_eq!(llm["kind"], "llm", "{mode}: {llm:#}");
    assert_eq!(
        llm["parent_span_id"], root["span_id"],
        "{mode}: the LLM run is a child of the chain"
    );
    assert_eq!(llm["provider"], "anthropic", "{mode}: ls_provider");
    assert_eq!(llm["request_model"], "claude-sonnet-4-6", "{mode}: {llm:#}");
    assert_eq!(
        llm["response_model"], "claude-sonnet-4-6",
        "{mode}: {llm:#}"
    );
    assert_eq!(llm["status"], "ok", "{mode}: {llm:#}");
    assert_ne!(llm["end_time"], Value::Null, "{mode}: the run was patched");
    assert_eq!(llm["usage_counted"], true, "{mode}: {llm:#}");
    assert_tokens(llm, &format!("{mode}: LLM span"), [160, 45, 30, 10]);
    for s in d["spans"].as_array().unwrap() {
        assert_eq!(s["status"], "ok", "{mode}: every run ended fine: {s:#}");
    }
}

#[test]
fn langsmith_sdk_multipart_zstd_and_batch() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "interop");
    let server = Server::start(dir.path());
    let env = [
        ("LANGSMITH_ENDPOINT", server.http.as_str()),
        ("LANGSMITH_API_KEY", keys.secret.as_str()),
        ("LANGSMITH_TRACING", "true"),
    ];
    let mut traces = Vec::new();
    // multipart: the SDK default, zstd-compressed because `GET /info` advertises it.
    // batch: multipart turned off through the client's `info`, so `POST /runs/batch`.
    for mode in ["multipart", "batch"] {
        let out = run_driver(
            &python,
            "langsmith_sdk.py",
            &["--mock", &mock.url, "--mode", mode],
            &env,
        );
        assert!(
            !out.stderr.contains("Run compression is not enabled"),
            "{mode}: the SDK must see zstd support in /info:\n{}",
            out.stderr
        );
        check_langsmith_trace(&server, &keys, &out.json, mode);
        traces.push(out.json["trace_id"].as_str().unwrap().to_string());
    }
    let (code, list) = get_json(&server, &keys, "/api/traces?user_id=user-ls-1");
    assert_eq!(code, 200, "{list}");
    let mut listed: Vec<String> = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    traces.sort();
    assert_eq!(listed, traces, "both traces, and only they, are the user's");
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn langfuse_sdk_observe_generation_scores_user_session_tags() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "interop");
    let server = Server::start(dir.path());
    let out = run_driver(
        &python,
        "langfuse_sdk.py",
        &["--mock", &mock.url],
        &[
            ("LANGFUSE_BASE_URL", server.http.as_str()),
            ("LANGFUSE_HOST", server.http.as_str()),
            ("LANGFUSE_PUBLIC_KEY", keys.public.as_str()),
            ("LANGFUSE_SECRET_KEY", keys.secret.as_str()),
        ],
    );
    let sent = &out.json;
    let trace_id = sent["trace_id"].as_str().unwrap();
    // rag-pipeline → retrieve, llm_call (generation) → anthropic.messages.create (the anthropic
    // SDK's own span, nested because Langfuse installs a global TracerProvider).
    let d = wait_trace(&server, &keys, trace_id, 4);
    let t = &d["trace"];
    assert_eq!(t["root_name"], "rag-pipeline", "{t:#}");
    assert_eq!(t["has_root"], true, "{t:#}");
    assert_eq!(t["error_count"], 0, "{t:#}");
    assert_eq!(
        t["llm_call_count"], 1,
        "the generation and the SDK span nested under it are one call: {t:#}"
    );
    assert_tokens(t, "trace totals", [160, 45, 30, 10]);
    assert_eq!(t["cost_usd"].as_f64(), Some(0.0010815), "{t:#}");
    assert_eq!(t["user_id"], "user-lf-1", "propagated user");
    assert_eq!(t["session_id"], "sess-lf-1", "propagated session");

    let root = span(&d, "rag-pipeline");
    assert_eq!(root["span_id"], sent["root_id"], "{root:#}");
    assert_eq!(root["parent_span_id"], Value::Null, "{root:#}");
    assert_eq!(root["kind"], "span", "{root:#}");
    assert_eq!(
        root["attributes"]["langfuse.trace.tags"],
        serde_json::json!(["interop", "langfuse"]),
        "propagated tags: {root:#}"
    );
    let retrieve = span(&d, "retrieve");
    assert_eq!(retrieve["kind"], "retriever", "{retrieve:#}");
    assert_eq!(retrieve["parent_span_id"], root["span_id"]);

    let generation = span(&d, "llm_call");
    assert_eq!(generation["span_id"], sent["generation_id"]);
    assert_eq!(generation["parent_span_id"], root["span_id"]);
    assert_eq!(generation["kind"], "llm", "{generation:#}");
    assert_eq!(generation["request_model"], "claude-sonnet-4-6");
    assert_tokens(
        generation,
        "generation (usage_details input 120 raw + cache keys)",
        [160, 45, 30, 10],
    );
    assert_eq!(
        generation["reported_cost_usd"].as_f64(),
        Some(0.0010815),
        "cost_details input + output: {generation:#}"
    );
    assert_eq!(generation["cost_source"], "reported", "{generation:#}");
    for s in d["spans"].as_array().unwrap() {
        assert_eq!(s["user_id"], "user-lf-1", "user on every span: {s:#}");
        assert_eq!(s["session_id"], "sess-lf-1", "session on every span: {s:#}");
    }

    let sdk = span(&d, "anthropic.messages.create");
    assert_eq!(sdk["parent_span_id"], generation["span_id"], "{sdk:#}");
    assert_eq!(sdk["kind"], "llm", "{sdk:#}");
    assert_eq!(sdk["provider"], "anthropic", "{sdk:#}");
    assert_eq!(sdk["response_model"], "claude-sonnet-4-6", "{sdk:#}");
    assert_tokens(sdk, "anthropic SDK span", [160, 45, 30, 10]);
    let counted: Vec<&Value> = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["usage_counted"] == true)
        .map(|s| &s["name"])
        .collect();
    assert_eq!(
        counted,
        vec!["anthropic.messages.create"],
        "only the inner SDK span counts (no double count)"
    );

    // Scores: a numeric trace score and a categorical one on the generation.
    let scores = d["scores"].as_array().expect("scores");
    assert_eq!(scores.len(), 2, "{scores:#?}");
    let score = |name: &str| {
        scores
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no score {name:?} in {scores:#?}"))
    };
    let correctness = score("correctness");
    assert_eq!(correctness["value"].as_f64(), Some(0.9), "{correctness:#}");
    assert_eq!(correctness["data_type"], "NUMERIC", "{correctness:#}");
    assert_eq!(correctness["comment"], "close enough", "{correctness:#}");
    assert_eq!(
        correctness["observation_id"],
        Value::Null,
        "{correctness:#}"
    );
    let tone = score("tone");
    assert_eq!(tone["string_value"], "neutral", "{tone:#}");
    assert_eq!(tone["data_type"], "CATEGORICAL", "{tone:#}");
    assert_eq!(tone["observation_id"], generation["span_id"], "{tone:#}");
    let on_generation = generation["scores"].as_array().unwrap();
    assert!(
        on_generation.len() == 1 && on_generation[0]["name"] == "tone",
        "the generation shows its score: {generation:#}"
    );
    // Both aggregate in /api/stats (the tone under the generation's model) and filter the list.
    let (code, stats) = get_json(&server, &keys, "/api/stats?group_by=model");
    assert_eq!(code, 200, "{stats}");
    let stat = |name: &str| {
        let of: Vec<&Value> = stats["scores"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["name"] == name)
            .collect();
        assert_eq!(of.len(), 1, "{stats:#}");
        of[0].clone()
    };
    assert_eq!(stat("correctness")["avg"].as_f64(), Some(0.9));
    let tone_stat = stat("tone");
    assert_eq!(tone_stat["labels"]["neutral"], 1, "{tone_stat:#}");
    let model = generation["response_model"]
        .as_str()
        .or(generation["request_model"].as_str());
    assert_eq!(tone_stat["key"].as_str(), model, "{tone_stat:#}");
    let (_, listed) = get_json(&server, &keys, "/api/traces?score.tone=neutral");
    assert_eq!(listed["traces"][0]["trace_id"], *trace_id, "{listed:#}");

    let (code, list) = get_json(&server, &keys, "/api/traces?session_id=sess-lf-1");
    assert_eq!(code, 200, "{list}");
    let ids: Vec<&Value> = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["trace_id"])
        .collect();
    assert_eq!(ids, vec![trace_id], "the session lists the trace");
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

/// `POST` a JSON body to the mock with curl; returns the response body.
fn post_mock(mock: &Mock, path: &str, body: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-m", "10", "-H", "content-type: application/json"])
        .args(["-d", body])
        .arg(format!("{}{}", mock.url, path))
        .output()
        .expect("curl");
    assert!(out.status.success(), "curl {path} failed");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn mock_provider_reports_the_documented_truth() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let msg: Value = serde_json::from_str(&post_mock(
        &mock,
        "/v1/messages",
        r#"{"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": []}"#,
    ))
    .unwrap();
    assert_eq!(msg["model"], "claude-sonnet-4-6");
    let u = &msg["usage"];
    assert_eq!(
        [
            &u["input_tokens"],
            &u["output_tokens"],
            &u["cache_read_input_tokens"],
            &u["cache_creation_input_tokens"],
            &u["cache_creation"]["ephemeral_5m_input_tokens"],
        ],
        [120, 45, 30, 10, 10].map(Value::from).each_ref(),
        "anthropic usage: {u}"
    );

    let sse = post_mock(
        &mock,
        "/v1/messages",
        r#"{"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": [], "stream": true}"#,
    );
    let events: Vec<&str> = sse
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        events,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "{sse}"
    );
    let delta: Value = sse
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .find(|d| d["type"] == "message_delta")
        .unwrap();
    assert_eq!(
        delta["usage"]["output_tokens"], 20,
        "streamed output: {sse}"
    );

    let chat: Value = serde_json::from_str(&post_mock(
        &mock,
        "/v1/chat/completions",
        r#"{"model": "gpt-4o", "messages": []}"#,
    ))
    .unwrap();
    assert_eq!(chat["model"], "gpt-4o-2024-08-06");
    let u = &chat["usage"];
    assert_eq!(u["prompt_tokens"], 90, "{u}");
    assert_eq!(u["prompt_tokens_details"]["cached_tokens"], 40, "{u}");
    assert_eq!(u["completion_tokens"], 25, "{u}");
}

// ---------------------------------------------------------------------------------------------
// OTel instrumentation libraries: OpenLLMetry, OpenInference and Pydantic AI (pinned in
// `tests/interop/requirements.txt`), each exporting OTLP/HTTP protobuf with the project's secret
// key as bearer, each driving a real `anthropic` client against the mock provider.

/// Starts the mock, a project and a server, and runs `script` with `--mock`, `--server` and
/// `--key`; returns the server (to poll), the keys and what the driver printed.
fn run_otlp_driver(python: &Path, script: &str) -> (tempfile::TempDir, Server, Keys, Value) {
    let mock = Mock::start(python);
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "interop");
    let server = Server::start(dir.path());
    let out = run_driver(
        python,
        script,
        &[
            "--mock",
            &mock.url,
            "--server",
            &server.http,
            "--key",
            &keys.secret,
        ],
        &[],
    );
    (dir, server, keys, out.json)
}

/// The ids of every trace the project lists, sorted.
fn listed_traces(server: &Server, keys: &Keys) -> Vec<String> {
    let (code, list) = get_json(server, keys, "/api/traces");
    assert_eq!(code, 200, "{list}");
    let mut ids: Vec<String> = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// The names of the spans whose usage counts toward the trace totals.
fn counted_spans(trace: &Value) -> Vec<&str> {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["usage_counted"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

/// Asserts an instrumentation LLM span: kind llm, provider anthropic, model, and the status the
/// producer set (`ok`, or `unset` for Pydantic AI, which sets no status on success).
fn assert_anthropic_llm(s: &Value, what: &str, status: &str) {
    assert_eq!(s["kind"], "llm", "{what}: {s:#}");
    assert_eq!(s["provider"], "anthropic", "{what}: {s:#}");
    assert_eq!(s["request_model"], "claude-sonnet-4-6", "{what}: {s:#}");
    assert_eq!(s["response_model"], "claude-sonnet-4-6", "{what}: {s:#}");
    assert_eq!(s["status"], status, "{what}: {s:#}");
}

#[test]
fn openllmetry_anthropic_plain_and_streaming() {
    let Some(python) = python() else { return };
    let (_dir, server, keys, sent) = run_otlp_driver(&python, "openllmetry_sdk.py");
    assert_eq!(sent["stream_text"], "Paris is the capital.", "{sent}");
    // The anthropic SDK's own span is off in the driver (with OpenLLMetry it would be a separate
    // trace), so each call is one trace of one `anthropic.chat` span.
    let plain_id = sent["plain_trace_id"].as_str().unwrap();
    let stream_id = sent["stream_trace_id"].as_str().unwrap();
    for (trace_id, what, output) in [
        (plain_id, "plain call", 45),
        // OpenLLMetry 0.62.4 sends output 21 for the stream (message_start's 1 + message_delta's
        // 20; the truth is 20). llmtrace keeps what the SDK sent.
        (stream_id, "streaming call (OpenLLMetry sends 21)", 21),
    ] {
        let d = wait_trace(&server, &keys, trace_id, 1);
        let t = &d["trace"];
        assert_eq!(t["root_name"], "anthropic.chat", "{what}: {t:#}");
        assert_eq!(t["has_root"], true, "{what}: {t:#}");
        assert_eq!(t["llm_call_count"], 1, "{what}: {t:#}");
        assert_eq!(t["error_count"], 0, "{what}: {t:#}");
        assert_tokens(t, &format!("{what}: trace totals"), [160, output, 30, 10]);
        let llm = span(&d, "anthropic.chat");
        assert_eq!(llm["parent_span_id"], Value::Null, "{what}: {llm:#}");
        assert_anthropic_llm(llm, what, "ok");
        assert_eq!(llm["usage_counted"], true, "{what}: {llm:#}");
        assert_tokens(llm, what, [160, output, 30, 10]);
    }
    let mut expected = vec![plain_id.to_string(), stream_id.to_string()];
    expected.sort();
    assert_eq!(
        listed_traces(&server, &keys),
        expected,
        "the two calls, and no stray anthropic SDK trace"
    );
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn openllmetry_anthropic_tool_round_trip() {
    let Some(python) = python() else { return };
    let (_dir, server, keys, sent) = run_otlp_driver(&python, "openllmetry_tools_sdk.py");
    assert_eq!(sent["tool_input"]["city"], "Paris", "{sent}");
    let trace_id = sent["trace_id"].as_str().unwrap();
    let d = wait_trace(&server, &keys, trace_id, 3);
    let t = &d["trace"];
    assert_eq!(t["root_name"], "agent_turn", "{t:#}");
    assert_eq!(t["llm_call_count"], 2, "{t:#}");
    assert_eq!(t["error_count"], 0, "{t:#}");
    // Two calls of the mock's usage (120 + 30 + 10 input under our convention, 45 output).
    assert_tokens(t, "trace totals", [320, 90, 60, 20]);
    let root = span(&d, "agent_turn");
    let calls: Vec<&Value> = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "anthropic.chat")
        .collect();
    assert_eq!(calls.len(), 2, "{d:#}");
    for c in &calls {
        assert_anthropic_llm(c, "tool round trip call", "ok");
        assert_eq!(c["parent_span_id"], root["span_id"], "{c:#}");
        assert_eq!(c["usage_counted"], true, "{c:#}");
    }
    // The first call asked for the tool, the second answered with text.
    let finish: Vec<String> = calls
        .iter()
        .map(|c| c["finish_reasons"].to_string())
        .collect();
    assert!(
        finish.iter().any(|f| f.contains("tool")),
        "one call ends for a tool call: {finish:?}"
    );
    let tool_call_seen = calls
        .iter()
        .any(|c| c["output_messages"].to_string().contains("get_weather"));
    assert!(
        tool_call_seen,
        "the tool call is in an output message: {calls:#?}"
    );
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn openllmetry_with_the_anthropic_sdk_span_on_counts_each_call_once() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "interop");
    let server = Server::start(dir.path());
    let out = run_driver(
        &python,
        "openllmetry_sdk.py",
        &[
            "--mock",
            &mock.url,
            "--server",
            &server.http,
            "--key",
            &keys.secret,
        ],
        &[("ANTHROPIC_OPEN_TELEMETRY", "true")],
    );
    assert_eq!(
        out.json["stream_text"], "Paris is the capital.",
        "{}",
        out.json
    );
    // Each call is reported twice, in two traces: OpenLLMetry's `anthropic.chat` and the
    // anthropic SDK's own span, both carrying the provider's response id.
    let deadline = Instant::now() + Duration::from_secs(20);
    let traces = loop {
        let (code, list) = get_json(&server, &keys, "/api/traces");
        assert_eq!(code, 200, "{list}");
        let traces = list["traces"].as_array().unwrap().clone();
        let spans: u64 = traces
            .iter()
            .map(|t| t["span_count"].as_u64().unwrap())
            .sum();
        if spans >= 4 {
            break traces;
        }
        assert!(Instant::now() < deadline, "expected 4 spans: {list:#}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(traces.len(), 4, "two traces per call: {traces:#?}");
    let calls: u64 = traces
        .iter()
        .map(|t| t["llm_call_count"].as_u64().unwrap())
        .sum();
    let input: u64 = traces
        .iter()
        .map(|t| t["input_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(
        calls, 2,
        "each call counted once across its two traces: {traces:#?}"
    );
    assert_eq!(input, 320, "160 input tokens per call, once: {traces:#?}");
    let (_, stats) = get_json(&server, &keys, "/api/stats");
    assert_eq!(stats["groups"][0]["calls"], 2, "{stats:#}");
    // Usage authority: OpenLLMetry counts 21 output tokens on the stream (message_start's 1 +
    // message_delta's 20); the SDK's own span carries the provider's 20. The app's trace keeps
    // the call and shows the provider's figure, and so do the statistics.
    let stream_id = out.json["stream_trace_id"].as_str().unwrap();
    let d = wait_trace(&server, &keys, stream_id, 1);
    assert_eq!(d["trace"]["llm_call_count"], 1, "{d:#}");
    assert_tokens(&d["trace"], "OpenLLMetry stream trace", [160, 20, 30, 10]);
    assert_eq!(
        stats["groups"][0]["output_tokens"], 65,
        "45 + the provider's 20: {stats:#}"
    );
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn openinference_anthropic_with_nested_sdk_span_counted_once() {
    let Some(python) = python() else { return };
    let (_dir, server, keys, sent) = run_otlp_driver(&python, "openinference_sdk.py");
    let trace_id = sent["trace_id"].as_str().unwrap();
    // messages.create (OpenInference, llm.* attributes) → anthropic.messages.create (the SDK's
    // own span, gen_ai.* attributes): one call reported twice.
    let d = wait_trace(&server, &keys, trace_id, 2);
    let t = &d["trace"];
    assert_eq!(t["root_name"], "messages.create", "{t:#}");
    assert_eq!(t["has_root"], true, "{t:#}");
    assert_eq!(t["error_count"], 0, "{t:#}");
    assert_eq!(
        t["llm_call_count"], 1,
        "one call, reported by two spans: {t:#}"
    );
    assert_tokens(t, "trace totals (counted once)", [160, 45, 30, 10]);

    let oi = span(&d, "messages.create");
    assert_eq!(oi["span_id"], sent["span_id"], "{oi:#}");
    assert_eq!(oi["parent_span_id"], Value::Null, "{oi:#}");
    assert_anthropic_llm(oi, "OpenInference span", "ok");
    assert_tokens(
        oi,
        "OpenInference span (llm.token_count.*)",
        [160, 45, 30, 10],
    );
    let sdk = span(&d, "anthropic.messages.create");
    assert_eq!(sdk["parent_span_id"], oi["span_id"], "{sdk:#}");
    assert_anthropic_llm(sdk, "anthropic SDK span", "ok");
    assert_tokens(sdk, "anthropic SDK span", [160, 45, 30, 10]);
    assert_eq!(
        counted_spans(&d),
        vec!["anthropic.messages.create"],
        "only the inner SDK span counts (no double count)"
    );
    assert_eq!(listed_traces(&server, &keys), vec![trace_id.to_string()]);
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn pydantic_ai_agent_with_tool_round_trip() {
    let Some(python) = python() else { return };
    let (_dir, server, keys, sent) = run_otlp_driver(&python, "pydantic_ai_sdk.py");
    assert_eq!(sent["output"], "Paris is the capital of France.", "{sent}");
    assert_eq!(sent["tool_calls"], serde_json::json!(["Paris"]), "{sent}");
    let trace_id = sent["trace_id"].as_str().unwrap();
    // invoke_agent geo-agent → chat claude-sonnet-4-6 (→ anthropic.messages.create),
    // execute_tool capital_of, chat claude-sonnet-4-6 (→ anthropic.messages.create).
    let d = wait_trace(&server, &keys, trace_id, 6);
    let t = &d["trace"];
    assert_eq!(t["root_name"], "invoke_agent geo-agent", "{t:#}");
    assert_eq!(t["has_root"], true, "{t:#}");
    assert_eq!(t["error_count"], 0, "{t:#}");
    assert_eq!(t["llm_call_count"], 2, "two model requests: {t:#}");
    assert_tokens(
        t,
        "trace totals (2 requests × 160/45, each counted once; not the agent's aggregate again)",
        [320, 90, 60, 20],
    );

    let spans = d["spans"].as_array().unwrap();
    let root = span(&d, "invoke_agent geo-agent");
    assert_eq!(root["span_id"], sent["root_id"], "{root:#}");
    assert_eq!(root["parent_span_id"], Value::Null, "{root:#}");
    assert_eq!(root["kind"], "agent", "{root:#}");
    let tool = span(&d, "execute_tool capital_of");
    assert_eq!(tool["kind"], "tool", "{tool:#}");
    assert_eq!(tool["parent_span_id"], root["span_id"], "{tool:#}");
    let chats: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "chat claude-sonnet-4-6")
        .collect();
    assert_eq!(chats.len(), 2, "{d:#}");
    for chat in &chats {
        assert_eq!(chat["parent_span_id"], root["span_id"], "{chat:#}");
        assert_anthropic_llm(chat, "pydantic-ai chat span", "unset");
        assert_tokens(chat, "pydantic-ai chat span", [160, 45, 30, 10]);
    }
    let sdk: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "anthropic.messages.create")
        .collect();
    assert_eq!(sdk.len(), 2, "{d:#}");
    let mut sdk_parents: Vec<&Value> = sdk.iter().map(|s| &s["parent_span_id"]).collect();
    let mut chat_ids: Vec<&Value> = chats.iter().map(|s| &s["span_id"]).collect();
    sdk_parents.sort_by_key(|v| v.to_string());
    chat_ids.sort_by_key(|v| v.to_string());
    assert_eq!(
        sdk_parents, chat_ids,
        "each SDK span is a child of one chat span"
    );
    for s in &sdk {
        assert_anthropic_llm(s, "anthropic SDK span", "ok");
        assert_tokens(s, "anthropic SDK span", [160, 45, 30, 10]);
    }
    assert_eq!(
        counted_spans(&d),
        vec!["anthropic.messages.create"; 2],
        "only the inner SDK spans count (no double count)"
    );
    for s in spans {
        let status = if s["name"] == "anthropic.messages.create" {
            "ok"
        } else {
            "unset"
        };
        assert_eq!(
            s["status"], status,
            "Pydantic AI sets no status on success: {s:#}"
        );
    }
    assert_eq!(listed_traces(&server, &keys), vec![trace_id.to_string()]);
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn mock_provider_tool_use_round_trip() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let tools = r#""tools": [{"name": "capital_of", "description": "d", "input_schema":
        {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}}]"#;
    let first: Value = serde_json::from_str(&post_mock(
        &mock,
        "/v1/messages",
        &format!(
            r#"{{"model": "claude-sonnet-4-6", "max_tokens": 10, {tools},
                "messages": [{{"role": "user", "content": "capital?"}}]}}"#
        ),
    ))
    .unwrap();
    assert_eq!(first["stop_reason"], "tool_use", "{first:#}");
    let call = &first["content"][0];
    assert_eq!(call["type"], "tool_use", "{first:#}");
    assert_eq!(call["name"], "capital_of", "{first:#}");
    assert_eq!(call["input"], serde_json::json!({"country": "Paris"}));
    assert_eq!(first["usage"]["input_tokens"], 120, "{first:#}");
    let id = call["id"].as_str().unwrap();
    let second: Value = serde_json::from_str(&post_mock(
        &mock,
        "/v1/messages",
        &format!(
            r#"{{"model": "claude-sonnet-4-6", "max_tokens": 10, {tools}, "messages": [
                {{"role": "user", "content": "capital?"}},
                {{"role": "assistant", "content": [{call}]}},
                {{"role": "user", "content": [{{"type": "tool_result", "tool_use_id": "{id}",
                  "content": "Paris"}}]}}]}}"#
        ),
    ))
    .unwrap();
    assert_eq!(second["stop_reason"], "end_turn", "{second:#}");
    assert_eq!(second["content"][0]["type"], "text", "{second:#}");
}

// ---------------------------------------------------------------------------------------------
// OpenAI Agents SDK (JSON ingest), LangSmith in OTel mode, and LangChain `.batch()` under
// OpenLLMetry (pinned in `tests/interop/requirements.txt`).

/// The spans a driver's own SpanProcessor saw: `(name, trace id, span id, parent span id)`.
fn sent_spans(sent: &Value) -> Vec<(String, String, String, Option<String>)> {
    sent["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|s| {
            let f = |i: usize| s[i].as_str().unwrap().to_string();
            (f(0), f(1), f(2), s[3].as_str().map(str::to_string))
        })
        .collect()
}

/// The spans of `trace` named `name`.
fn spans_named<'a>(trace: &'a Value, name: &str) -> Vec<&'a Value> {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == name)
        .collect()
}

#[test]
fn mock_provider_responses_function_call_round_trip() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let tools = r#""tools": [{"type": "function", "name": "capital_of", "parameters":
        {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}}]"#;
    let first: Value = serde_json::from_str(&post_mock(
        &mock,
        "/v1/responses",
        &format!(r#"{{"model": "gpt-4o", {tools}, "input": "capital?"}}"#),
    ))
    .unwrap();
    assert_eq!(first["object"], "response", "{first:#}");
    assert_eq!(first["model"], "gpt-4o-2024-08-06", "{first:#}");
    let call = &first["output"][0];
    assert_eq!(call["type"], "function_call", "{first:#}");
    assert_eq!(call["name"], "capital_of", "{first:#}");
    assert_eq!(call["arguments"], r#"{"country": "Paris"}"#, "{first:#}");
    let u = &first["usage"];
    assert_eq!(u["input_tokens"], 90, "{u}");
    assert_eq!(u["input_tokens_details"]["cached_tokens"], 40, "{u}");
    assert_eq!(u["output_tokens"], 25, "{u}");
    let call_id = call["call_id"].as_str().unwrap();
    let second: Value = serde_json::from_str(&post_mock(
        &mock,
        "/v1/responses",
        &format!(
            r#"{{"model": "gpt-4o", {tools}, "input": [
                {{"role": "user", "content": "capital?"}}, {call},
                {{"type": "function_call_output", "call_id": "{call_id}", "output": "Paris"}}]}}"#
        ),
    ))
    .unwrap();
    let msg = &second["output"][0];
    assert_eq!(msg["type"], "message", "{second:#}");
    assert_eq!(
        msg["content"][0]["text"], "Paris is the capital of France.",
        "{second:#}"
    );
}

#[test]
fn openai_agents_sdk_agent_with_function_tool() {
    let Some(python) = python() else { return };
    let (_dir, server, keys, sent) = run_otlp_driver(&python, "openai_agents_sdk.py");
    assert_eq!(sent["output"], "Paris is the capital of France.", "{sent}");
    assert_eq!(sent["tool_calls"], serde_json::json!(["Paris"]), "{sent}");
    let trace_id = sent["trace_id"]
        .as_str()
        .unwrap()
        .strip_prefix("trace_")
        .expect("Agents SDK trace ids start with trace_");
    // geo-workflow (the trace object) → task → invoke_agent geo-agent → turn ×2, each turn with
    // one `response` span (the model call), the first one also with `execute_tool capital_of`.
    let d = wait_trace(&server, &keys, trace_id, 8);
    let t = &d["trace"];
    assert_eq!(t["root_name"], "geo-workflow", "{t:#}");
    assert_eq!(t["has_root"], true, "{t:#}");
    assert_eq!(t["service"], "openai-agents", "{t:#}");
    assert_eq!(t["error_count"], 0, "{t:#}");
    assert_eq!(t["llm_call_count"], 2, "two Responses API calls: {t:#}");
    assert_tokens(
        t,
        "trace totals (2 responses × 90 in incl. 40 cached, 25 out)",
        [180, 50, 80, 0],
    );

    let root = span(&d, "geo-workflow");
    assert_eq!(root["parent_span_id"], Value::Null, "{root:#}");
    assert_eq!(root["kind"], "chain", "{root:#}");
    let task = span(&d, "task");
    assert_eq!(task["parent_span_id"], root["span_id"], "{task:#}");
    let agent = span(&d, "invoke_agent geo-agent");
    assert_eq!(agent["kind"], "agent", "{agent:#}");
    assert_eq!(agent["parent_span_id"], task["span_id"], "{agent:#}");
    let turns = spans_named(&d, "turn");
    assert_eq!(turns.len(), 2, "{d:#}");
    let turn_ids: Vec<&Value> = turns.iter().map(|s| &s["span_id"]).collect();
    for turn in &turns {
        assert_eq!(turn["parent_span_id"], agent["span_id"], "{turn:#}");
    }
    let responses = spans_named(&d, "chat response");
    assert_eq!(responses.len(), 2, "{d:#}");
    for r in &responses {
        assert_eq!(r["kind"], "llm", "{r:#}");
        assert_eq!(r["provider"], "openai", "{r:#}");
        // The Agents SDK's response spans carry no model (wire notes), so none is shown.
        assert_eq!(r["request_model"], Value::Null, "{r:#}");
        assert_eq!(r["usage_counted"], true, "{r:#}");
        assert!(turn_ids.contains(&&r["parent_span_id"]), "{r:#}");
        let got = [
            &r["input_tokens"],
            &r["output_tokens"],
            &r["cache_read_tokens"],
        ];
        assert_eq!(
            got,
            [90, 25, 40].map(Value::from).each_ref(),
            "Responses usage as the SDK reported it: {r:#}"
        );
    }
    let tool = span(&d, "execute_tool capital_of");
    assert_eq!(tool["kind"], "tool", "{tool:#}");
    assert!(turn_ids.contains(&&tool["parent_span_id"]), "{tool:#}");
    assert_eq!(
        counted_spans(&d),
        vec!["chat response"; 2],
        "only the response spans count"
    );
    for s in d["spans"].as_array().unwrap() {
        assert_ne!(s["status"], "error", "{s:#}");
    }
    assert_eq!(listed_traces(&server, &keys), vec![trace_id.to_string()]);
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn langsmith_otel_mode_chain_and_wrapped_anthropic() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "interop");
    let server = Server::start(dir.path());
    let out = run_driver(
        &python,
        "langsmith_otel_sdk.py",
        &["--mock", &mock.url],
        &[
            ("LANGSMITH_ENDPOINT", server.http.as_str()),
            ("LANGSMITH_API_KEY", keys.secret.as_str()),
            ("LANGSMITH_TRACING", "true"),
            ("LANGSMITH_OTEL_ENABLED", "true"),
            ("LANGSMITH_OTEL_ONLY", "true"),
        ],
    );
    let sent = &out.json;
    let trace_id = sent["trace_id"].as_str().unwrap();
    let spans = sent_spans(sent);
    // qa-chain (chain) → ChatAnthropic (the wrap_anthropic LLM run), both in LangSmith's trace.
    let d = wait_trace(&server, &keys, trace_id, 2);
    let t = &d["trace"];
    assert_eq!(t["root_name"], "qa-chain", "{t:#}");
    assert_eq!(t["has_root"], true, "{t:#}");
    assert_eq!(t["service"], "langsmith", "{t:#}");
    assert_eq!(t["error_count"], 0, "{t:#}");
    assert_eq!(t["llm_call_count"], 1, "{t:#}");
    assert_tokens(
        t,
        "trace totals (cache from the Python-repr input_token_details)",
        [160, 45, 30, 10],
    );
    let chain = span(&d, "qa-chain");
    assert_eq!(chain["kind"], "chain", "{chain:#}");
    assert_eq!(chain["parent_span_id"], Value::Null, "{chain:#}");
    let llm = span(&d, "ChatAnthropic");
    assert_eq!(llm["parent_span_id"], chain["span_id"], "{llm:#}");
    assert_anthropic_llm(llm, "LangSmith OTel LLM span", "ok");
    assert_eq!(llm["usage_counted"], true, "{llm:#}");
    assert_tokens(llm, "LangSmith OTel LLM span", [160, 45, 30, 10]);
    for (name, tid, sid, _) in &spans {
        if name == "qa-chain" || name == "ChatAnthropic" {
            assert_eq!(tid, trace_id, "{spans:?}");
            assert_eq!(span(&d, name)["span_id"], sid.as_str(), "{spans:?}");
        }
    }

    // The anthropic SDK's own span: parented by the run UUID LangSmith put in the context, so it
    // is in a trace of its own whose parent span never arrives (the orphan of the wire notes).
    // It reports the same provider response as ChatAnthropic, so the call counts once, in
    // LangSmith's trace.
    let sdk: Vec<_> = spans
        .iter()
        .filter(|s| s.0 == "anthropic.messages.create")
        .collect();
    assert_eq!(sdk.len(), 1, "{spans:?}");
    let (_, orphan_trace, orphan_span, orphan_parent) = sdk[0];
    assert_ne!(orphan_trace, trace_id, "{spans:?}");
    let o = wait_trace(&server, &keys, orphan_trace, 1);
    let ot = &o["trace"];
    assert_eq!(ot["has_root"], false, "its parent never arrives: {ot:#}");
    assert_eq!(
        ot["llm_call_count"], 0,
        "counted in LangSmith's trace: {ot:#}"
    );
    assert_tokens(ot, "orphan SDK span's trace", [0, 0, 0, 0]);
    let sdk_span = span(&o, "anthropic.messages.create");
    assert_eq!(sdk_span["usage_counted"], false, "{sdk_span:#}");
    assert_tokens(
        sdk_span,
        "the SDK span keeps its own figures",
        [160, 45, 30, 10],
    );
    let (_, stats) = get_json(&server, &keys, "/api/stats");
    assert_eq!(stats["groups"][0]["calls"], 1, "one call in all: {stats:#}");
    assert_eq!(sdk_span["span_id"], orphan_span.as_str(), "{sdk_span:#}");
    assert_eq!(
        sdk_span["parent_span_id"].as_str(),
        orphan_parent.as_deref(),
        "the dangling parent is kept as sent: {sdk_span:#}"
    );
    assert!(
        d["spans"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["span_id"] != sdk_span["parent_span_id"]),
        "the orphan's parent is no span of the LangSmith trace"
    );
    assert_anthropic_llm(sdk_span, "anthropic SDK span", "ok");
    let mut expected = vec![trace_id.to_string(), orphan_trace.clone()];
    expected.sort();
    assert_eq!(listed_traces(&server, &keys), expected);
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn langchain_batch_context_leak_counts_each_call_once() {
    let Some(python) = python() else { return };
    let (_dir, server, keys, sent) = run_otlp_driver(&python, "langchain_sdk.py");
    assert_eq!(
        sent["answers"],
        serde_json::json!(vec!["Paris is the capital of France."; 3]),
        "{sent}"
    );
    let spans = sent_spans(&sent);
    // RunnableSequence.workflow → execute_task ChatPromptTemplate + ChatAnthropic.chat, per item.
    assert_eq!(spans.len(), 9, "{spans:?}");
    let mut trace_ids: Vec<String> = spans.iter().map(|s| s.1.clone()).collect();
    trace_ids.sort();
    trace_ids.dedup();
    // opentelemetry-instrumentation-langchain 0.62.4 nests the three batch items inside each
    // other in one trace (the context leak of the wire notes).
    assert_eq!(trace_ids.len(), 1, "the batch context leak: {spans:?}");
    let mut totals = [0u64; 4];
    let mut calls = 0;
    for trace_id in &trace_ids {
        let n = spans.iter().filter(|s| &s.1 == trace_id).count();
        let d = wait_trace(&server, &keys, trace_id, n);
        let t = &d["trace"];
        assert_eq!(t["error_count"], 0, "{t:#}");
        assert_eq!(t["has_root"], true, "{t:#}");
        assert_eq!(t["root_name"], "RunnableSequence.workflow", "{t:#}");
        calls += t["llm_call_count"].as_u64().unwrap();
        for (i, k) in [
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
        ]
        .iter()
        .enumerate()
        {
            totals[i] += t[k].as_u64().unwrap();
        }
        for chat in spans_named(&d, "ChatAnthropic.chat") {
            assert_anthropic_llm(chat, "ChatAnthropic.chat", "unset");
            assert_eq!(chat["usage_counted"], true, "{chat:#}");
            // OpenLLMetry's langchain span sends cache write 0 (truth 10): kept as sent.
            assert_tokens(chat, "ChatAnthropic.chat", [160, 45, 30, 0]);
        }
        for s in counted_spans(&d) {
            assert_eq!(s, "ChatAnthropic.chat", "only the chat spans count");
        }
    }
    assert_eq!(calls, 3, "three model calls");
    assert_eq!(
        totals,
        [480, 135, 90, 0],
        "3 × (160 in, 45 out, 30 cache read; OpenLLMetry sends cache write 0), not more"
    );
    assert_eq!(listed_traces(&server, &keys), trace_ids);
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// OpenAI chat completions under OpenLLMetry (`opentelemetry-instrumentation-openai`) and
// OpenInference (`openinference-instrumentation-openai`), pinned in
// `tests/interop/requirements.txt`. Mock truth per call: prompt 90 (40 cached), completion 25,
// i.e. on the llmtrace convention input 90, cache read 40, output 25.

#[test]
fn mock_provider_chat_tool_calls_and_streaming_usage() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let tools = r#""tools": [{"type": "function", "function": {"name": "capital_of",
        "parameters": {"type": "object", "properties": {"country": {"type": "string"}},
        "required": ["country"]}}}]"#;
    let first: Value = serde_json::from_str(&post_mock(
        &mock,
        "/v1/chat/completions",
        &format!(
            r#"{{"model": "gpt-4o", {tools},
                "messages": [{{"role": "user", "content": "capital?"}}]}}"#
        ),
    ))
    .unwrap();
    let choice = &first["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{first:#}");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "capital_of", "{first:#}");
    assert_eq!(
        call["function"]["arguments"], r#"{"country": "Paris"}"#,
        "{first:#}"
    );
    assert_eq!(first["usage"]["prompt_tokens"], 90, "{first:#}");
    let id = call["id"].as_str().unwrap();
    let second: Value = serde_json::from_str(&post_mock(
        &mock,
        "/v1/chat/completions",
        &format!(
            r#"{{"model": "gpt-4o", {tools}, "messages": [
                {{"role": "user", "content": "capital?"}},
                {{"role": "assistant", "content": null, "tool_calls": [{call}]}},
                {{"role": "tool", "tool_call_id": "{id}", "content": "Paris"}}]}}"#
        ),
    ))
    .unwrap();
    assert_eq!(second["choices"][0]["finish_reason"], "stop", "{second:#}");
    assert_eq!(second["choices"][0]["message"]["content"], "Paris.");

    let sse = post_mock(
        &mock,
        "/v1/chat/completions",
        r#"{"model": "gpt-4o", "messages": [], "stream": true,
            "stream_options": {"include_usage": true}}"#,
    );
    let data: Vec<&str> = sse
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{sse}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Paris is the capital.", "{sse}");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], serde_json::json!([]), "{sse}");
    assert_eq!(last["usage"]["prompt_tokens"], 90, "{sse}");
    assert_eq!(
        last["usage"]["prompt_tokens_details"]["cached_tokens"], 40,
        "{sse}"
    );
    assert_eq!(last["usage"]["completion_tokens"], 25, "{sse}");
    let no_usage = post_mock(
        &mock,
        "/v1/chat/completions",
        r#"{"model": "gpt-4o", "messages": [], "stream": true}"#,
    );
    assert!(!no_usage.contains("prompt_tokens"), "{no_usage}");
}

/// Asserts the tokens of an OpenAI chat span or trace summary: input 90 (incl. 40 cache read),
/// output 25, cache read 40, and `cache_write` (none reported by either producer: `null` on a
/// span, 0 in the trace totals).
fn assert_openai_tokens(v: &Value, what: &str, cache_write: Value) {
    let got = [
        &v["input_tokens"],
        &v["output_tokens"],
        &v["cache_read_tokens"],
        &v["cache_write_tokens"],
    ];
    let expected = [
        Value::from(90),
        Value::from(25),
        Value::from(40),
        cache_write,
    ];
    assert_eq!(
        got,
        expected.each_ref(),
        "{what}: [input, output, cache read, cache write] (mock truth: prompt 90 incl. 40 cached, \
         completion 25): {v:#}"
    );
}

/// Asserts an OpenAI chat LLM span: kind llm, provider openai, request model gpt-4o, response
/// model gpt-4o-2024-08-06, the status the producer set, counted, and its tokens.
fn assert_openai_chat(s: &Value, what: &str, status: &str) {
    assert_eq!(s["kind"], "llm", "{what}: {s:#}");
    assert_eq!(s["provider"], "openai", "{what}: {s:#}");
    assert_eq!(s["request_model"], "gpt-4o", "{what}: {s:#}");
    assert_eq!(s["response_model"], "gpt-4o-2024-08-06", "{what}: {s:#}");
    assert_eq!(s["status"], status, "{what}: {s:#}");
    assert_eq!(s["usage_counted"], true, "{what}: {s:#}");
    assert_openai_tokens(s, what, Value::Null);
}

/// Asserts a one-call trace: one root LLM span, one call, no error, tokens counted once.
fn assert_openai_trace(d: &Value, what: &str, root: &str) {
    let t = &d["trace"];
    assert_eq!(t["root_name"], root, "{what}: {t:#}");
    assert_eq!(t["has_root"], true, "{what}: {t:#}");
    assert_eq!(t["llm_call_count"], 1, "{what}: {t:#}");
    assert_eq!(t["error_count"], 0, "{what}: {t:#}");
    assert_openai_tokens(
        t,
        &format!("{what}: trace totals (counted once)"),
        Value::from(0),
    );
    assert_eq!(counted_spans(d), vec![root], "{what}: no double count");
}

#[test]
fn openllmetry_openai_tool_round_trip_and_streaming() {
    let Some(python) = python() else { return };
    let (_dir, server, keys, sent) = run_otlp_driver(&python, "openllmetry_openai_sdk.py");
    assert_eq!(
        sent["tool_call"],
        serde_json::json!({"name": "capital_of", "arguments": r#"{"country": "Paris"}"#}),
        "{sent}"
    );
    assert_eq!(sent["answer"], "Paris.", "{sent}");
    assert_eq!(sent["stream_text"], "Paris is the capital.", "{sent}");
    let tool_id = sent["tool_trace_id"].as_str().unwrap();
    let answer_id = sent["answer_trace_id"].as_str().unwrap();
    let stream_id = sent["stream_trace_id"].as_str().unwrap();
    // OpenLLMetry's openai instrumentation 0.62.4 sets no status on a plain call's span and
    // `ok` on a streaming call's span.
    for (trace_id, what, status) in [
        (tool_id, "tool call", "unset"),
        (answer_id, "answer after the tool result", "unset"),
        (
            stream_id,
            "streaming call (usage from the include_usage chunk)",
            "ok",
        ),
    ] {
        let d = wait_trace(&server, &keys, trace_id, 1);
        assert_openai_trace(&d, what, "openai.chat");
        let llm = span(&d, "openai.chat");
        assert_eq!(llm["parent_span_id"], Value::Null, "{what}: {llm:#}");
        assert_openai_chat(llm, what, status);
    }
    let d = wait_trace(&server, &keys, tool_id, 1);
    let llm = span(&d, "openai.chat");
    assert_eq!(
        llm["finish_reasons"],
        serde_json::json!(["tool_call"]),
        "{llm:#}"
    );
    let parts = llm["output_messages"][0]["parts"]
        .as_array()
        .unwrap_or_else(|| panic!("no output message parts: {llm:#}"));
    assert!(
        parts
            .iter()
            .any(|p| p["type"] == "tool_call" && p["name"] == "capital_of"),
        "the tool call is in the output messages: {llm:#}"
    );
    let mut expected = vec![
        tool_id.to_string(),
        answer_id.to_string(),
        stream_id.to_string(),
    ];
    expected.sort();
    assert_eq!(listed_traces(&server, &keys), expected, "the three calls");
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn openinference_openai_chat_completion() {
    let Some(python) = python() else { return };
    let (_dir, server, keys, sent) = run_otlp_driver(&python, "openinference_openai_sdk.py");
    assert_eq!(sent["answer"], "Paris.", "{sent}");
    let trace_id = sent["trace_id"].as_str().unwrap();
    let d = wait_trace(&server, &keys, trace_id, 1);
    assert_openai_trace(&d, "OpenInference", "ChatCompletion");
    let llm = span(&d, "ChatCompletion");
    assert_eq!(llm["span_id"], sent["span_id"], "{llm:#}");
    assert_eq!(llm["parent_span_id"], Value::Null, "{llm:#}");
    assert_openai_chat(llm, "OpenInference span (llm.token_count.*)", "ok");
    assert_eq!(listed_traces(&server, &keys), vec![trace_id.to_string()]);
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}
