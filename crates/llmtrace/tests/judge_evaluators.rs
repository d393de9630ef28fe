//! LLM-as-judge evaluators inside the real binary, against the mock provider
//! (`tests/interop/mock_provider.py`, which learns the judge's replies): new spans are judged
//! within seconds beside a rule evaluator (OpenAI-compatible and Anthropic judges, labels and
//! numbers, span and trace targets); the judge's own calls are traces of service
//! `llmtrace-evaluator` with tokens and a cost, never judged themselves; a flaky provider is
//! retried, a provider that stays down shows on the health page while ingest goes on; and
//! `llmtrace evaluate` counts, estimates and re-runs an evaluator over past traces.

mod common;

use common::interop::Mock;
use common::*;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

const SCORED: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const DOWN: &str = "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1";
const AFTER: &str = "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2";
const PAST_A: &str = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1";
const PAST_B: &str = "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2";
const SPAN: &str = "0102030405060708";

fn kv(k: &str, v: &str) -> Value {
    json!({"key": k, "value": {"stringValue": v}})
}

/// A one-span trace: an LLM call asked `question`, answering `answer`, ended `ago_s` seconds
/// ago.
fn call(trace: &str, question: &str, answer: &str, ago_s: u64) -> Value {
    let end = now_ns() - ago_s * 1_000_000_000;
    let start = end - 300_000_000;
    json!({"traceId": trace, "spanId": SPAN, "name": "chat gpt-4o", "kind": 3,
           "startTimeUnixNano": start.to_string(), "endTimeUnixNano": end.to_string(),
           "attributes": [kv("gen_ai.operation.name", "chat"), kv("gen_ai.provider.name", "openai"),
                          kv("gen_ai.request.model", "gpt-4o"),
                          kv("gen_ai.input.messages",
                             &json!([{"role": "user", "parts": [{"type": "text", "content": question}]}]).to_string()),
                          kv("gen_ai.output.messages",
                             &json!([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]).to_string())]})
}

fn mock_post(mock: &Mock, path: &str, body: &Value) {
    let out = Command::new("curl")
        .args(["-s", "-f", "-H", "content-type: application/json"])
        .args(["--data-binary", &body.to_string()])
        .arg(format!("{}{path}", mock.url))
        .output()
        .unwrap();
    assert!(out.status.success(), "POST {path} to the mock failed");
}

/// POST requests the mock received naming `model`.
fn mock_requests(mock: &Mock, model: &str) -> u64 {
    let out = Command::new("curl")
        .args(["-s", &format!("{}/mock/requests", mock.url)])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["by_model"][model].as_u64().unwrap_or(0)
}

fn write_config(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("llmtrace.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Polls `what` until it returns `Some` (at most 30 s).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn score<'a>(scores: &'a Value, name: &str) -> Option<&'a Value> {
    scores.as_array()?.iter().find(|s| s["name"] == name)
}

const PROMPT: &str = "Question: {{input}}\\nAnswer: {{output}}\\nIs the answer right?";

#[test]
fn a_rule_and_judges_score_new_spans_and_the_judges_calls_are_traces_with_cost() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    mock_post(
        &mock,
        "/mock/learn",
        &json!({"contains": "Answer: Paris is the capital of France.\nIs the answer right?",
                "reply": "Good: Paris is correct."}),
    );
    mock_post(
        &mock,
        "/mock/learn",
        &json!({"contains": "Rate the answer from 1 to 5", "reply": "Score: 4 out of 5"}),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[[evaluators]]
name = "mentions-paris"
output_contains = "Paris"

[[evaluators]]
name = "right"
kind = "llm_judge"
prompt = "{PROMPT}"
api = "openai"
endpoint = "{mock}/v1"
judge_model = "gpt-4o-mini"
labels = ["good", "bad"]
max_per_minute = 600

[[evaluators]]
name = "accuracy"
kind = "llm_judge"
target = "trace"
prompt = "Rate the answer from 1 to 5.\nQ: {{{{input}}}}\nA: {{{{output}}}}"
api = "anthropic"
endpoint = "{mock}/v1"
judge_model = "claude-sonnet-4-6"
min = 1
max = 5
max_per_minute = 600

[[evaluators]]
name = "flaky"
kind = "llm_judge"
prompt = "{PROMPT}"
endpoint = "{mock}/v1"
judge_model = "gpt-4o-flaky-judge"
labels = ["good", "bad"]
max_per_minute = 600
"#,
            mock = mock.url
        ),
    );
    let server = Server::start_with(&dir.path().join("data"), &["--config", &config]);
    let (status, _) = post_otlp_json(
        &server.http,
        "app",
        vec![call(
            SCORED,
            "Capital of France?",
            "Paris is the capital of France.",
            0,
        )],
    );
    assert_eq!(status, 200);

    // The rule and the three judges score within seconds.
    let detail = wait_for("four scores", || {
        let (status, d) = server.get_json(&format!("/api/traces/{SCORED}"));
        let span_scores = d["spans"][0]["scores"].as_array().map_or(0, Vec::len);
        (status == 200 && span_scores == 3 && score(&d["scores"], "accuracy").is_some())
            .then_some(d)
    });
    let span_scores = &detail["spans"][0]["scores"];
    assert_eq!(score(span_scores, "mentions-paris").unwrap()["value"], 1.0);
    let right = score(span_scores, "right").unwrap();
    assert_eq!(
        (
            right["string_value"].as_str(),
            right["data_type"].as_str(),
            right["comment"].as_str()
        ),
        (
            Some("good"),
            Some("CATEGORICAL"),
            Some("Good: Paris is correct.")
        )
    );
    assert_eq!(
        (right["source"].as_str(), right["author"].as_str()),
        (Some("evaluator:right"), Some("evaluator:right"))
    );
    assert_eq!(
        score(span_scores, "flaky").unwrap()["string_value"],
        "good",
        "a provider failing twice is retried"
    );
    assert_eq!(mock_requests(&mock, "gpt-4o-flaky-judge"), 3);
    let accuracy = score(&detail["scores"], "accuracy").unwrap();
    assert_eq!(
        (accuracy["value"].as_f64(), accuracy["data_type"].as_str()),
        (Some(4.0), Some("NUMERIC"))
    );
    assert!(
        accuracy["observation_id"].is_null(),
        "a trace evaluator scores the trace: {accuracy}"
    );

    // Each judgement is a trace of the evaluator service: a root span linked to the judged
    // span, and an LLM span per attempt with tokens and a cost.
    let judged: Vec<Value> = wait_for("three judge traces", || {
        let (_, list) = server.get_json("/api/traces?service=llmtrace-evaluator&limit=50");
        let traces = list["traces"].as_array().cloned().unwrap_or_default();
        (traces.len() == 3).then_some(traces)
    });
    let mut roots = Vec::new();
    for t in &judged {
        let (_, d) = server.get_json(&format!("/api/traces/{}", t["trace_id"].as_str().unwrap()));
        let spans = d["spans"].as_array().unwrap();
        let root = spans
            .iter()
            .find(|s| s["parent_span_id"].is_null())
            .unwrap();
        assert_eq!(root["service"], "llmtrace-evaluator");
        assert_eq!(root["links"][0]["trace_id"], SCORED, "{root}");
        let calls: Vec<&Value> = spans.iter().filter(|s| s["kind"] == "llm").collect();
        let answered = calls.iter().find(|s| s["status"] != "error").unwrap();
        assert!(answered["input_tokens"].as_u64().unwrap() > 0, "{answered}");
        assert!(answered["output_tokens"].as_u64().unwrap() > 0);
        assert!(answered["cost_usd"].as_f64().unwrap() > 0.0, "{answered}");
        assert!(answered["provider"].is_string() && answered["response_model"].is_string());
        assert!(
            answered["input_messages"][0]["parts"][0]["content"]
                .as_str()
                .unwrap()
                .contains("Paris is the capital of France."),
            "{answered}"
        );
        assert!(
            d["trace"]["cost_usd"].as_f64().unwrap() > 0.0,
            "the judge's trace has a cost"
        );
        assert!(
            d["scores"].as_array().unwrap().is_empty(),
            "a judge's own calls are never evaluated"
        );
        let failed = calls.iter().filter(|s| s["status"] == "error").count();
        roots.push((root["name"].as_str().unwrap().to_string(), failed));
    }
    roots.sort();
    assert_eq!(
        roots,
        vec![
            ("evaluate accuracy".to_string(), 0),
            ("evaluate flaky".to_string(), 2),
            ("evaluate right".to_string(), 0)
        ]
    );

    let (status, list) = server.get_json("/api/evaluators");
    assert_eq!(status, 200);
    let evaluators = list["evaluators"].as_array().unwrap();
    assert_eq!(evaluators.len(), 4);
    for e in evaluators {
        assert_eq!(
            (e["scored"].as_u64(), e["failed"].as_u64()),
            (Some(1), Some(0)),
            "{e}"
        );
    }
    let right = evaluators.iter().find(|e| e["name"] == "right").unwrap();
    assert_eq!(
        (right["kind"].as_str(), right["judge"]["model"].as_str()),
        (Some("llm_judge"), Some("gpt-4o-mini"))
    );
    server.stop();
}

#[test]
fn a_provider_that_stays_down_shows_on_the_health_page_and_ingest_goes_on() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[[evaluators]]\nname = \"down-judge\"\nkind = \"llm_judge\"\nprompt = \"{PROMPT}\"\nendpoint = \"{}/v1\"\njudge_model = \"gpt-4o-down\"\nmax_per_minute = 600\n",
            mock.url
        ),
    );
    let server = Server::start_with(&dir.path().join("data"), &["--config", &config]);
    let (status, _) = post_otlp_json(
        &server.http,
        "app",
        vec![call(DOWN, "Capital of France?", "Paris.", 0)],
    );
    assert_eq!(status, 200);
    let status_of = || -> Value {
        let (_, list) = server.get_json("/api/evaluators");
        list["evaluators"][0].clone()
    };
    let failed = wait_for("the judge's failure", || {
        let e = status_of();
        (e["failed"].as_u64() == Some(1)).then_some(e)
    });
    let error = failed["last_error"].as_str().unwrap();
    assert!(
        error.contains("HTTP 500") && error.contains("mock outage") && error.contains("3 attempts"),
        "{error}"
    );
    assert!(failed["last_error_at"].is_string());
    assert_eq!(failed["scored"], 0);
    assert_eq!(
        mock_requests(&mock, "gpt-4o-down"),
        3,
        "retried, then given up"
    );

    // The health page shows it; the server stays healthy and keeps storing.
    let out = Command::new("curl")
        .args(["-s", &format!("{}/health", server.http)])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains("down-judge") && page.contains("mock outage"),
        "{page}"
    );
    let (status, health) = server.get_json("/healthz");
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, _) = post_otlp_json(
        &server.http,
        "app",
        vec![call(AFTER, "Capital of Italy?", "Rome.", 0)],
    );
    assert_eq!(status, 200);
    let (status, after) = server.get_json(&format!("/api/traces/{AFTER}"));
    assert_eq!(status, 200, "{after}");
    let (_, down) = server.get_json(&format!("/api/traces/{DOWN}"));
    assert!(down["spans"][0]["scores"].as_array().unwrap().is_empty());
    // The failed attempts are traced too, as errors.
    let (_, judged) = server.get_json("/api/traces?service=llmtrace-evaluator&status=error");
    assert!(!judged["traces"].as_array().unwrap().is_empty(), "{judged}");
    server.stop();
}

#[test]
fn past_traces_are_counted_estimated_and_evaluated_again_on_request() {
    let Some(python) = python() else { return };
    let mock = Mock::start(&python);
    mock_post(
        &mock,
        "/mock/learn",
        &json!({"contains": "Answer: Rome.", "reply": "bad"}),
    );
    mock_post(
        &mock,
        "/mock/learn",
        &json!({"contains": "Answer: Paris.", "reply": "good"}),
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Traces stored an hour ago, before any evaluator was configured.
    let plain = Server::start(&data);
    let (status, _) = post_otlp_json(
        &plain.http,
        "app",
        vec![
            call(PAST_A, "Capital of France?", "Paris.", 3_600),
            call(PAST_B, "Capital of France?", "Rome.", 3_500),
        ],
    );
    assert_eq!(status, 200);
    plain.stop();
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[[evaluators]]
name = "judge"
kind = "llm_judge"
prompt = "{PROMPT}"
endpoint = "{}/v1"
judge_model = "gpt-4o-mini"
labels = ["good", "bad"]
max_per_minute = 600

[[evaluators]]
name = "short"
output_matches = "^[A-Z][a-z]+\\.$"
"#,
            mock.url
        ),
    );
    let server = Server::start_with(&data, &["--config", &config]);

    // A dry run counts and estimates, and calls and stores nothing.
    let (ok, out) = server.cli(&[
        "evaluate",
        "--evaluator",
        "judge",
        "--since",
        "2h",
        "--dry-run",
        "--json",
    ]);
    assert!(ok, "{out}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["spans_matched"], 2, "{report}");
    assert_eq!(report["spans_evaluated"], 0);
    assert!(report["estimated_input_tokens"].as_u64().unwrap() > 20);
    assert!(
        report["estimated_cost_usd"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert_eq!(mock_requests(&mock, "gpt-4o-mini"), 0);
    let (ok, text) = server.cli(&[
        "evaluate",
        "--evaluator",
        "judge",
        "--since",
        "2h",
        "--dry-run",
    ]);
    assert!(
        ok && text.contains("2 spans match") && text.contains("estimated cost $"),
        "{text}"
    );
    // The last 55 minutes hold neither trace.
    let (ok, out) = server.cli(&[
        "evaluate",
        "--evaluator",
        "judge",
        "--since",
        "55m",
        "--dry-run",
        "--json",
    ]);
    assert!(ok, "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["spans_matched"],
        0
    );
    for t in [PAST_A, PAST_B] {
        let (_, d) = server.get_json(&format!("/api/traces/{t}"));
        assert!(
            d["spans"][0]["scores"].as_array().unwrap().is_empty(),
            "{d}"
        );
    }

    // A real run scores the past spans, the judge's and the rule's, and a second run replaces.
    for _ in 0..2 {
        for evaluator in ["judge", "short"] {
            let (ok, out) = server.cli(&[
                "evaluate",
                "--evaluator",
                evaluator,
                "--since",
                "2h",
                "--json",
            ]);
            assert!(ok, "{out}");
            let report: Value = serde_json::from_str(out.trim()).unwrap();
            assert_eq!(
                (
                    report["spans_matched"].as_u64(),
                    report["spans_evaluated"].as_u64()
                ),
                (Some(2), Some(2)),
                "{report}"
            );
        }
    }
    let labels = |t: &str| -> (String, String) {
        let (_, d) = server.get_json(&format!("/api/traces/{t}"));
        let scores = &d["spans"][0]["scores"];
        assert_eq!(
            scores.as_array().unwrap().len(),
            2,
            "one score per evaluator: {d}"
        );
        (
            score(scores, "judge").unwrap()["string_value"]
                .as_str()
                .unwrap()
                .into(),
            score(scores, "short").unwrap()["string_value"]
                .as_str()
                .unwrap()
                .into(),
        )
    };
    assert_eq!(labels(PAST_A), ("good".into(), "pass".into()));
    assert_eq!(labels(PAST_B), ("bad".into(), "pass".into()));
    assert_eq!(mock_requests(&mock, "gpt-4o-mini"), 4);

    let (ok, out) = server.cli(&["evaluate", "--evaluator", "nope", "--since", "2h"]);
    assert!(!ok && out.contains("no evaluator \"nope\""), "{out}");
    let (ok, out) = server.cli(&["evaluate", "--evaluator", "judge", "--since", "soon"]);
    assert!(!ok && out.contains("since"), "{out}");
    server.stop();
}
