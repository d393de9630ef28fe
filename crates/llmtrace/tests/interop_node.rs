//! TypeScript clients tested for real: the Vercel AI SDK 7 (`ai`, `@ai-sdk/otel`,
//! `@ai-sdk/anthropic`, `@ai-sdk/openai`, OpenTelemetry JS 2.x, pinned in
//! `tests/interop/node/package.json`) in its new telemetry format (`invoke_agent` / `step N` /
//! `chat` / `execute_tool` / `embeddings`) and its legacy one (`ai.generateText` / `doGenerate`
//! ...), and OpenLLMetry for Node (`@traceloop/node-server-sdk`) with the anthropic SDK's own
//! span on, each against the mock provider and a real llmtrace. Through the API: every call's
//! true tokens once, user and session on the trace and filterable, the streamed call marked as
//! streaming with its time to first token, one failed call read as `failed_call_count: 1`, and
//! `/metrics` equal to `/api/stats`.
//!
//! Node comes from the machine (Debian's `nodejs` when missing) and the packages from
//! `npm ci` in `scripts/test.sh`; missing either is a failure under `CI`, a printed skip
//! otherwise.

mod common;

use common::interop::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `node`, when it runs and the pinned packages are installed.
fn node() -> Option<PathBuf> {
    let modules = interop_dir().join("node/node_modules/ai");
    let node = PathBuf::from(std::env::var_os("LLMTRACE_NODE").unwrap_or_else(|| "node".into()));
    let runs = Command::new(&node)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if runs && modules.exists() {
        return Some(node);
    }
    let why = format!(
        "node runs: {runs}, {} present: {} (scripts/test.sh installs both)",
        modules.display(),
        modules.exists()
    );
    if std::env::var_os("CI").is_some() {
        panic!("Node interop suite unavailable: {why}");
    }
    eprintln!("SKIP: Node interop suite unavailable: {why}");
    None
}

/// Runs a Node driver against a fresh mock, project and server; returns them with the output.
fn run_node(node: &Path, script: &str, args_before: &[&str]) -> (tempfile::TempDir, Server, Keys) {
    let (dir, server, keys, _) = run_node_with(node, script, args_before, &[]);
    (dir, server, keys)
}

/// [`run_node`] with environment variables for the driver; also returns what it printed.
fn run_node_with(
    node: &Path,
    script: &str,
    args_before: &[&str],
    env: &[(&str, &str)],
) -> (tempfile::TempDir, Server, Keys, Value) {
    let python = python().expect("the mock provider needs the interop Python");
    let mock = Mock::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "node");
    let server = Server::start(dir.path());
    let mut args: Vec<&str> = args_before.to_vec();
    args.extend([
        mock.url.as_str(),
        server.http.as_str(),
        keys.public.as_str(),
        keys.secret.as_str(),
    ]);
    let out = run_driver(node, &format!("node/{script}"), &args, env);
    assert!(
        out.json["exported_spans"].as_u64().unwrap_or(0) > 0,
        "{script}: {}",
        out.json
    );
    (dir, server, keys, out.json)
}

/// The project's traces (polls until `n` traces with `spans` spans in all are listed).
fn traces(server: &Server, keys: &Keys, n: usize, spans: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, list) = get_json(server, keys, "/api/traces?limit=100");
        assert_eq!(code, 200, "{list}");
        let traces = list["traces"].as_array().cloned().unwrap_or_default();
        let stored: u64 = traces.iter().filter_map(|t| t["span_count"].as_u64()).sum();
        if traces.len() >= n && stored >= spans {
            assert_eq!(traces.len(), n, "{list:#}");
            return traces;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} traces and {spans} spans: {list:#}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The trace whose counted calls total `input` input tokens.
fn by_input(traces: &[Value], input: u64) -> &Value {
    traces
        .iter()
        .find(|t| t["input_tokens"] == input && t["failed_call_count"] == 0)
        .unwrap_or_else(|| panic!("no trace with {input} input tokens: {traces:#?}"))
}

fn check_ai_sdk(format: &str, spans: u64, failed_error_spans: u64) {
    let Some(node) = node() else { return };
    let (_dir, server, keys) = run_node(&node, "ai_sdk.mjs", &[format]);
    let traces = traces(&server, &keys, 5, spans);
    let what = |t: &Value| format!("{format}: {t:#}");
    // Every call's true tokens, counted once (input includes cache reads and writes).
    let generate = traces
        .iter()
        .find(|t| t["input_tokens"] == 160 && t["output_tokens"] == 45)
        .unwrap_or_else(|| panic!("{format}: no generateText trace: {traces:#?}"));
    assert_tokens(generate, &what(generate), [160, 45, 30, 10]);
    let stream = traces
        .iter()
        .find(|t| t["input_tokens"] == 160 && t["output_tokens"] == 20)
        .unwrap_or_else(|| panic!("{format}: no streamText trace: {traces:#?}"));
    assert_tokens(stream, &what(stream), [160, 20, 30, 10]);
    let tools = by_input(&traces, 180);
    assert_tokens(tools, &what(tools), [180, 50, 80, 0]);
    assert_eq!(tools["llm_call_count"], 2, "{}", what(tools));
    let embed = by_input(&traces, 8);
    assert_eq!(embed["llm_call_count"], 1, "{}", what(embed));
    let fail = traces
        .iter()
        .find(|t| t["failed_call_count"] != 0)
        .unwrap_or_else(|| panic!("{format}: no failed trace: {traces:#?}"));
    assert_eq!(fail["failed_call_count"], 1, "{}", what(fail));
    assert_eq!(fail["llm_call_count"], 1, "{}", what(fail));
    assert_eq!(fail["error_count"], failed_error_spans, "{}", what(fail));
    for t in [generate, stream, tools, embed] {
        assert_eq!(t["failed_call_count"], 0, "{}", what(t));
    }
    // User and session reach every trace and filter it.
    for t in &traces {
        assert_eq!(t["user_id"], "user-node-1", "{}", what(t));
        assert_eq!(t["session_id"], "sess-node-1", "{}", what(t));
    }
    for filter in ["user_id=user-node-1", "session_id=sess-node-1"] {
        let (_, list) = get_json(&server, &keys, &format!("/api/traces?{filter}"));
        assert_eq!(
            list["traces"].as_array().map_or(0, Vec::len),
            5,
            "{format} {filter}: {list:#}"
        );
    }
    // The streamed call is marked as streaming, with its time to first token; no other call
    // has one.
    let trace_id = stream["trace_id"].as_str().unwrap();
    let (_, d) = get_json(&server, &keys, &format!("/api/traces/{trace_id}"));
    let call = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["usage_counted"] == true)
        .unwrap_or_else(|| panic!("{format}: no counted call: {d:#}"));
    assert_eq!(call["request_params"]["stream"], true, "{format}: {call:#}");
    assert!(
        call["time_to_first_token_ms"]
            .as_f64()
            .is_some_and(|ms| ms > 0.0),
        "{format}: {call:#}"
    );
    for t in [generate, tools, embed, fail] {
        let id = t["trace_id"].as_str().unwrap();
        let (_, d) = get_json(&server, &keys, &format!("/api/traces/{id}"));
        for s in d["spans"].as_array().unwrap() {
            assert!(
                s["time_to_first_token_ms"].is_null(),
                "{format}: a call that did not stream has no TTFT: {s:#}"
            );
        }
    }
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn vercel_ai_sdk_7_new_telemetry_format() {
    // 17 spans; the failed call marks invoke_agent, step 1 and chat.
    check_ai_sdk("new", 17, 3);
}

#[test]
fn vercel_ai_sdk_7_legacy_telemetry_format() {
    // 12 spans; the failed call marks ai.generateText and its doGenerate.
    check_ai_sdk("legacy", 12, 2);
}

/// The AI SDK retries a failed provider request inside its one span (default `maxRetries` 2):
/// the mock answers the first two requests 500, the third succeeds; the trace shows one call,
/// not failed, with the tokens once.
#[test]
fn vercel_ai_sdk_retries_inside_one_span_count_one_call() {
    let Some(node) = node() else { return };
    let (_dir, server, keys, out) =
        run_node_with(&node, "ai_sdk.mjs", &["new"], &[("AI_SDK_ONLY", "retry")]);
    assert_eq!(
        out["calls"][0]["requests"], 3,
        "three provider requests: {out}"
    );
    let traces = traces(&server, &keys, 1, 3);
    let t = &traces[0];
    assert_eq!(t["llm_call_count"], 1, "{t:#}");
    assert_eq!(t["failed_call_count"], 0, "{t:#}");
    assert_eq!(t["error_count"], 0, "{t:#}");
    assert_tokens(t, "retried call", [160, 45, 30, 10]);
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn openllmetry_node_with_the_anthropic_sdk_span_counts_each_call_once() {
    let Some(node) = node() else { return };
    let (_dir, server, keys) = run_node(&node, "openllmetry.mjs", &[]);
    let traces = traces(&server, &keys, 1, 4);
    let t = &traces[0];
    // OpenAI 90 in / 25 out (OpenLLMetry for Node sends no cached tokens); Anthropic: the
    // anthropic SDK's own span nested in OpenLLMetry's counts, with the provider's 160 (cache
    // included) where OpenLLMetry's says 120.
    assert_eq!(t["llm_call_count"], 2, "{t:#}");
    assert_eq!(t["input_tokens"], 250, "{t:#}");
    assert_eq!(t["output_tokens"], 70, "{t:#}");
    assert_eq!(t["cache_read_tokens"], 30, "{t:#}");
    assert_eq!(t["cache_write_tokens"], 10, "{t:#}");
    assert_eq!(t["user_id"], "user-node-1", "{t:#}");
    assert_eq!(t["session_id"], "sess-node-1", "{t:#}");
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}
