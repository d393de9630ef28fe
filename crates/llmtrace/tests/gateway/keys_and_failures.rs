//! The gateway with API keys (the project comes from `X-Llmtrace-Key`; without it nothing is
//! forwarded) and when the upstream fails (unreachable: 502, silent: 504, both in the provider's
//! error shape and recorded as error spans).

use crate::common::interop::{create_project, get_json};
use crate::common::*;
use crate::echo::Echo;
use crate::support::curl;
use serde_json::Value;
use std::time::{Duration, Instant};

const CHAT: &str = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;

fn post(url: &str, headers: &[&str]) -> (u16, Value) {
    let mut args = vec![
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        CHAT,
    ];
    for h in headers {
        args.extend(["-H", h]);
    }
    args.push(url);
    let (status, _, body) = curl(&args);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The spans of `project` (by its keys), once `n` traces are there.
fn traces(server: &Server, keys: &crate::common::interop::Keys, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, list) = get_json(server, keys, "/api/traces?limit=50");
        assert_eq!(status, 200, "{list}");
        let ids: Vec<String> = list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_string())
            .collect();
        if ids.len() >= n {
            assert_eq!(ids.len(), n, "{list:#}");
            return ids
                .iter()
                .map(|id| get_json(server, keys, &format!("/api/traces/{id}")).1)
                .collect();
        }
        assert!(Instant::now() < deadline, "{n} traces expected: {list:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn with_keys_the_llmtrace_key_names_the_project_and_no_key_forwards_nothing() {
    let echo = Echo::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let alpha = create_project(&data, "alpha");
    let beta = create_project(&data, "beta");
    let server = Server::start_logged(
        &data,
        dir.path(),
        &[
            "--gateway",
            "--gateway-upstream",
            &format!("echo={}", echo.url),
        ],
    );
    let url = format!("{}/gateway/echo/v1/chat/completions", server.http);
    // No llmtrace key, a wrong one, and a project key given as the provider's Authorization:
    // refused before anything reaches the upstream.
    for headers in [
        vec!["authorization: Bearer sk-provider"],
        vec![
            "authorization: Bearer sk-provider",
            "x-llmtrace-key: not-a-key",
        ],
        vec![&*format!("authorization: Bearer {}", alpha.secret)],
    ] {
        let (status, body) = post(&url, &headers);
        assert_eq!(status, 401, "{headers:?}: {body}");
    }
    assert!(
        echo.seen.lock().unwrap().is_empty(),
        "a refused call was forwarded"
    );
    // With the key: forwarded (the provider key too, the llmtrace key not) and stored under the
    // key's project only.
    let key_header = format!("x-llmtrace-key: {}", alpha.secret);
    let (status, body) = post(&url, &["authorization: Bearer sk-provider", &key_header]);
    assert_eq!(status, 200, "{body}");
    let seen = echo.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let forwarded = seen.first().unwrap();
    assert!(forwarded
        .headers
        .iter()
        .any(|(k, v)| k == "authorization" && v == "Bearer sk-provider"));
    assert!(
        !forwarded
            .headers
            .iter()
            .any(|(k, _)| k.starts_with("x-llmtrace")),
        "{:?}",
        forwarded.headers
    );
    let spans = traces(&server, &alpha, 1);
    let span = &spans.first().unwrap()["spans"][0];
    assert_eq!(span["name"], "chat gpt-4o");
    assert_eq!(span["provider"], "echo");
    assert_eq!(traces(&server, &beta, 0).len(), 0);
    server.stop();
}

#[test]
fn an_unreachable_or_silent_upstream_is_a_retryable_error_and_an_error_span() {
    // Unreachable: a port nobody listens on. Silent: accepts, reads, never answers.
    let closed = free_port();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream); // keep it open, say nothing
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_logged(
        &data,
        dir.path(),
        &[
            "--gateway",
            "--gateway-timeout-seconds",
            "1",
            "--gateway-upstream",
            &format!("openai=http://127.0.0.1:{closed}"),
            "--gateway-upstream",
            &format!("anthropic={silent_url}"),
        ],
    );
    let (status, body) = post(
        &format!("{}/gateway/openai/v1/chat/completions", server.http),
        &["x-llmtrace-session-id: unreachable"],
    );
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        body["error"]["type"], "gateway_upstream_unreachable",
        "{body}"
    );
    let (status, body) = post(
        &format!("{}/gateway/anthropic/v1/messages", server.http),
        &["x-llmtrace-session-id: silent"],
    );
    assert_eq!(status, 504, "{body}");
    // The Anthropic SDK reads `{"type": "error", "error": {...}}`.
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "gateway_timeout", "{body}");
    for (session, error_type) in [
        ("unreachable", "gateway_upstream_unreachable"),
        ("silent", "gateway_timeout"),
    ] {
        let deadline = Instant::now() + Duration::from_secs(30);
        let trace = loop {
            let (_, list) = server.get_json(&format!("/api/traces?session_id={session}"));
            if let Some(t) = list["traces"].as_array().and_then(|t| t.first()) {
                break t.clone();
            }
            assert!(Instant::now() < deadline, "no span for {session}");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(trace["error_count"], 1, "{trace}");
        let (_, d) = server.get_json(&format!(
            "/api/traces/{}",
            trace["trace_id"].as_str().unwrap()
        ));
        let span = &d["spans"][0];
        assert_eq!(span["status"], "error", "{span}");
        assert_eq!(span["error_type"], error_type, "{span}");
        assert_eq!(
            span["attributes"].get("http.response.status_code"),
            None,
            "{span}"
        );
    }
    server.stop();
}
