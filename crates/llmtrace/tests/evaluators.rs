//! Rule evaluators from the config file score new spans inside the real binary: each LLM span
//! gets one score per evaluator that applies, on the span, with the verdict and its reason; the
//! trace list filters by it; a bad evaluator stops the server at start with a clear message.

mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

const GOOD: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const BAD: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

fn kv(k: &str, v: &str) -> Value {
    json!({"key": k, "value": {"stringValue": v}})
}

fn llm_trace(trace: &str, output: &str, millis: u64) -> Value {
    let end = now_ns();
    let start = end - millis * 1_000_000;
    json!({"traceId": trace, "spanId": "0102030405060708", "name": "chat gpt-4o", "kind": 3,
           "startTimeUnixNano": start.to_string(), "endTimeUnixNano": end.to_string(),
           "attributes": [kv("gen_ai.operation.name", "chat"), kv("gen_ai.provider.name", "openai"),
                          kv("gen_ai.request.model", "gpt-4o"),
                          kv("gen_ai.output.messages",
                             &json!([{"role": "assistant", "parts": [{"type": "text", "content": output}]}]).to_string())]})
}

#[test]
fn rule_evaluators_score_new_spans() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("llmtrace.toml");
    std::fs::write(
        &config,
        r#"
[[evaluators]]
name = "json-output"
span_kind = "llm"
output_is_json = true

[[evaluators]]
name = "fast"
max_latency_ms = 1000

[[evaluators]]
name = "other-model-only"
model = "claude-sonnet-4-6"
max_tokens = 10
"#,
    )
    .unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let body = json!({"resourceSpans": [{"resource": {"attributes": [kv("service.name", "app")]},
    "scopeSpans": [{"scope": {"name": "app"}, "spans": [
        llm_trace(GOOD, r#"{"answer": "Paris"}"#, 200),
        llm_trace(BAD, "Paris, probably.", 2500),
    ]}]}]});
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "content-type: application/json",
        ])
        .args(["--data-binary", &body.to_string()])
        .arg(format!("{}/v1/traces", server.http))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");

    let scores_of = |trace: &str| -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, d) = server.get_json(&format!("/api/traces/{trace}"));
            let spans = d["spans"].as_array().cloned().unwrap_or_default();
            if status == 200
                && spans
                    .first()
                    .is_some_and(|s| s["scores"].as_array().is_some_and(|a| a.len() == 2))
            {
                return spans[0]["scores"].as_array().unwrap().clone();
            }
            assert!(
                Instant::now() < deadline,
                "two evaluator scores expected on {trace}: {d:#}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let verdict = |scores: &[Value], name: &str| -> (f64, String, String) {
        let s = scores
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {scores:?}"));
        assert_eq!(s["source"], format!("evaluator:{name}"));
        (
            s["value"].as_f64().unwrap(),
            s["string_value"].as_str().unwrap().to_string(),
            s["comment"].as_str().unwrap().to_string(),
        )
    };
    let good = scores_of(GOOD);
    assert_eq!(verdict(&good, "json-output").0, 1.0);
    assert_eq!(verdict(&good, "fast").1, "pass");
    let bad = scores_of(BAD);
    let (value, label, reason) = verdict(&bad, "json-output");
    assert_eq!((value, label.as_str()), (0.0, "fail"));
    assert!(reason.contains("not JSON"), "{reason}");
    let (value, _, reason) = verdict(&bad, "fast");
    assert_eq!(value, 0.0);
    assert!(reason.contains("ms"), "{reason}");
    assert!(
        !bad.iter().any(|s| s["name"] == "other-model-only"),
        "a filtered-out evaluator leaves no score"
    );
    // The trace list finds the failures.
    let (status, list) = server.get_json("/api/traces?score.json-output.max=0");
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![BAD]);
    server.stop();
}

#[test]
fn a_bad_evaluator_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("llmtrace.toml");
    std::fs::write(
        &config,
        "[[evaluators]]\nname = \"broken\"\noutput_matches = \"(\"\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args([
            "serve",
            "--http-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ])
        .args(["--config", config.to_str().unwrap(), "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken") && stderr.contains("output_matches"),
        "{stderr}"
    );
}
