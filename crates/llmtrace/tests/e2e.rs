//! End to end with the real binary: restart durability, the demo and the CLI, and the real
//! OpenTelemetry Python SDK over OTLP/HTTP protobuf, OTLP/HTTP JSON and OTLP/gRPC.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

#[test]
fn demo_then_cli_shows_the_traces_and_restart_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (ok, out) = server.cli(&["demo", "--traces", "24", "--seed", "7"]);
    assert!(ok, "{out}");
    assert!(out.contains("sent 24 traces"), "{out}");

    let (ok, table) = server.cli(&["traces", "--limit", "50"]);
    assert!(ok, "{table}");
    assert!(table.contains("TRACE ID"), "{table}");
    let (ok, json) = server.cli(&["traces", "--limit", "50", "--json"]);
    assert!(ok, "{json}");
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let traces = list["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 24);
    let first = traces[0]["trace_id"].as_str().unwrap().to_string();
    assert!(table.contains(&first), "{table}");
    let errors = traces
        .iter()
        .filter(|t| t["error_count"].as_u64().unwrap() > 0)
        .count();
    assert!(errors >= 1, "the demo includes failures");

    let (ok, tree) = server.cli(&["trace", &first]);
    assert!(ok, "{tree}");
    assert!(tree.contains(&format!("trace {first}")), "{tree}");
    let (ok, stats) = server.cli(&["stats", "--by", "model"]);
    assert!(ok, "{stats}");
    assert!(
        stats.contains("claude-sonnet-4-6") || stats.contains("gpt-4o"),
        "{stats}"
    );

    let (_, before) = server.get_json("/api/traces?limit=100");
    server.stop();
    let server = Server::start(dir.path());
    let (_, after) = server.get_json("/api/traces?limit=100");
    assert_eq!(before, after, "every acknowledged trace survives a restart");
    server.stop();
}

#[test]
fn cli_reports_a_missing_server_and_an_unknown_trace() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (ok, out) = server.cli(&["trace", "0123456789abcdef0123456789abcdef"]);
    assert!(!ok);
    assert!(out.contains("404"), "{out}");
    server.stop();
    let out = Command::new(bin())
        .args([
            "--server",
            &format!("http://127.0.0.1:{}", free_port()),
            "traces",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is `llmtrace serve` running?"));
}

#[test]
fn serve_help_explains_the_options() {
    let out = Command::new(bin())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--http-listen",
        "LLMTRACE_HTTP_LISTEN",
        "--grpc-listen",
        "--data-dir",
        "LLMTRACE_DATA_DIR",
        "--max-body-bytes",
        "--queue-max-spans",
        "--config",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

fn send_with_python(python: &Path, server: &Server, protocol: &str) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/send_rag.py");
    let out = Command::new(python)
        .arg(script)
        .args([
            "--protocol",
            protocol,
            "--http",
            &server.http,
            "--grpc",
            &server.grpc,
        ])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python {protocol} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn python_opentelemetry_sdk_over_every_otlp_transport() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for protocol in ["http/protobuf", "http/json", "grpc"] {
        let sent = send_with_python(&python, &server, protocol);
        let tid = sent["trace_id"].as_str().unwrap();
        let ids = &sent["span_ids"];
        let (status, d) = server.get_json(&format!("/api/traces/{tid}"));
        assert_eq!(status, 200, "{protocol}: {d}");
        let spans = d["spans"].as_array().unwrap();
        assert_eq!(spans.len(), 4, "{protocol}");
        let by_name = |n: &str| {
            spans
                .iter()
                .find(|s| s["name"] == n)
                .unwrap_or_else(|| panic!("{protocol}: no {n}"))
        };
        // The exact tree.
        assert_eq!(
            by_name("rag_query")["parent_span_id"],
            serde_json::Value::Null
        );
        for child in ["retrieve", "rerank", "llm_call"] {
            assert_eq!(by_name(child)["span_id"], ids[child], "{protocol}");
            assert_eq!(
                by_name(child)["parent_span_id"],
                ids["rag_query"],
                "{protocol} {child}"
            );
        }
        // Kinds.
        assert_eq!(by_name("retrieve")["kind"], "retriever", "{protocol}");
        assert_eq!(by_name("rerank")["kind"], "reranker", "{protocol}");
        assert_eq!(by_name("llm_call")["kind"], "llm", "{protocol}");
        // GenAI fields.
        let llm = by_name("llm_call");
        assert_eq!(llm["provider"], "anthropic");
        assert_eq!(llm["operation"], "chat");
        assert_eq!(llm["request_model"], "claude-sonnet-4-6");
        assert_eq!(llm["input_tokens"], 160);
        assert_eq!(llm["output_tokens"], 45);
        assert_eq!(llm["cache_read_tokens"], 30);
        assert_eq!(llm["cache_write_tokens"], 10);
        assert_eq!(llm["status"], "ok");
        assert_eq!(llm["finish_reasons"], serde_json::json!(["stop"]));
        assert_eq!(llm["request_params"]["temperature"], 0.2);
        assert_eq!(llm["request_params"]["max_tokens"], 512);
        assert_eq!(llm["input_messages"][0]["role"], "user");
        assert_eq!(
            llm["input_messages"][0]["parts"][0]["content"],
            "What changed in the contract?"
        );
        assert_eq!(
            llm["output_messages"][0]["parts"][0]["content"],
            "Clause 4 now caps liability."
        );
        assert_eq!(by_name("rag_query")["otel_span_kind"], "server");
        assert_eq!(llm["otel_span_kind"], "client");
        let t = &d["trace"];
        assert_eq!(t["root_name"], "rag_query");
        assert_eq!(t["service"], "rag-interop");
        assert_eq!(t["llm_call_count"], 1);
        assert_eq!(t["input_tokens"], 160);
        assert_eq!(t["user_id"], "interop-user");
        assert_eq!(t["session_id"], "interop-session");
    }
    server.stop();
}

#[test]
fn projects_create_keys_that_scope_ingest_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let create = |name: &str| {
        let out = Command::new(bin())
            .args([
                "projects",
                "create",
                name,
                "--data-dir",
                dir.path().to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let secret = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("secret key"))
            .unwrap()
            .trim()
            .to_string();
        assert!(secret.starts_with("sk-lf-"), "{text}");
        secret
    };
    let acme = create("acme");
    let beta = create("beta");
    let bad = Command::new(bin())
        .args([
            "projects",
            "create",
            "no spaces",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let keys = std::fs::read_to_string(dir.path().join("api_keys.toml")).unwrap();
    assert!(!keys.contains(&acme), "secrets are stored hashed only");
    let list = Command::new(bin())
        .args([
            "projects",
            "list",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("acme") && list.contains("beta") && list.contains("pk-lf-"),
        "{list}"
    );

    let server = Server::start(dir.path());
    let (ok, out) = server.cli(&["--secret-key", &acme, "demo", "--traces", "5"]);
    assert!(ok, "{out}");
    let (ok, out) = server.cli(&["traces"]);
    assert!(!ok && out.contains("401"), "no key, no access: {out}");
    let (ok, acme_list) = server.cli(&["--secret-key", &acme, "traces", "--json"]);
    assert!(ok, "{acme_list}");
    let acme_list: serde_json::Value = serde_json::from_str(&acme_list).unwrap();
    assert_eq!(acme_list["traces"].as_array().unwrap().len(), 5);
    let (ok, beta_list) = server.cli(&["--secret-key", &beta, "traces", "--json"]);
    assert!(ok, "{beta_list}");
    let beta_list: serde_json::Value = serde_json::from_str(&beta_list).unwrap();
    assert!(
        beta_list["traces"].as_array().unwrap().is_empty(),
        "beta sees nothing of acme"
    );
    server.stop();
}
