//! Feedback and evaluations from real SDKs become scores on the right trace and span, and
//! aggregate in `/api/stats`: LangSmith's `create_feedback` (`POST /feedback`), and OpenTelemetry
//! `gen_ai.evaluation.result` log records from the OpenTelemetry Python SDK (parented to the
//! evaluated span, or naming it by `gen_ai.response.id` only).

mod common;

use common::interop::*;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn langsmith_feedback_becomes_scores_on_the_trace_and_the_run() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "feedback");
    let server = Server::start(dir.path());
    let env = [
        ("LANGSMITH_ENDPOINT", server.http.as_str()),
        ("LANGSMITH_API_KEY", keys.secret.as_str()),
        ("LANGSMITH_TRACING", "true"),
    ];
    let out = run_driver(&python, "langsmith_feedback_sdk.py", &[], &env);
    let trace_id = out.json["trace_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let (status, d) = get_json(&server, &keys, &format!("/api/traces/{trace_id}"));
        if status == 200 && d["scores"].as_array().is_some_and(|s| s.len() == 2) {
            break d;
        }
        assert!(Instant::now() < deadline, "two scores expected: {d:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let scores = trace["scores"].as_array().unwrap();
    let by = |name: &str| scores.iter().find(|s| s["name"] == name).unwrap();
    let user = by("user_feedback");
    assert_eq!(user["value"], 1.0);
    assert!(user["observation_id"].is_null(), "about the trace: {user}");
    let correctness = by("correctness");
    assert_eq!(correctness["value"], 0.0);
    assert_eq!(correctness["string_value"], "wrong");
    assert_eq!(correctness["comment"], "not what was asked");
    assert_eq!(correctness["source"], "API");
    let answer = span(&trace, "answer");
    let on_answer = answer["scores"].as_array().unwrap();
    assert_eq!(on_answer.len(), 1, "{answer:#}");
    assert_eq!(on_answer[0]["name"], "correctness");
    assert!(span(&trace, "graded-chain")["scores"]
        .as_array()
        .unwrap()
        .is_empty());
    // Both aggregate in /api/stats, and filter the trace list.
    let stats = score_stats(&server, &keys, "group_by=service");
    assert_eq!(stat(&stats, "user_feedback")["avg"], 1.0, "{stats:#?}");
    assert_eq!(stat(&stats, "correctness")["labels"]["wrong"], 1);
    let (_, list) = get_json(&server, &keys, "/api/traces?score.correctness=wrong");
    assert_eq!(list["traces"][0]["trace_id"], trace_id.as_str());
    server.stop();
}

/// `GET /api/stats?...` `scores`, once at least one is there.
fn score_stats(server: &Server, keys: &Keys, query: &str) -> Vec<serde_json::Value> {
    let (status, body) = get_json(server, keys, &format!("/api/stats?{query}"));
    assert_eq!(status, 200, "{body}");
    body["scores"].as_array().cloned().unwrap_or_default()
}

/// The aggregate of score `name` among `stats` (one group expected).
fn stat<'a>(stats: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    let of: Vec<&serde_json::Value> = stats.iter().filter(|s| s["name"] == name).collect();
    assert_eq!(of.len(), 1, "one group of {name}: {stats:#?}");
    of[0]
}

#[test]
fn otel_sdk_evaluation_results_become_scores_on_their_span() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "evals");
    let server = Server::start(dir.path());
    let auth = format!("authorization=Bearer {}", keys.secret);
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", server.http.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", auth.as_str()),
    ];
    let out = run_driver(&python, "otel_evaluation_sdk.py", &[], &env);
    let trace_id = out.json["trace_id"].as_str().unwrap().to_string();
    let chat_id = out.json["chat_span_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let (status, d) = get_json(&server, &keys, &format!("/api/traces/{trace_id}"));
        if status == 200 && d["scores"].as_array().is_some_and(|s| s.len() == 2) {
            break d;
        }
        assert!(Instant::now() < deadline, "two scores expected: {d:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let chat = span(&trace, "chat gpt-4o");
    assert_eq!(chat["span_id"], chat_id.as_str());
    let on_chat = chat["scores"].as_array().unwrap();
    let by = |name: &str| on_chat.iter().find(|s| s["name"] == name).unwrap();
    let relevance = by("relevance");
    assert_eq!(relevance["value"], 0.9);
    assert_eq!(relevance["string_value"], "relevant");
    assert_eq!(relevance["comment"], "answers the question");
    assert_eq!(relevance["author"], "judge");
    assert_eq!(relevance["source"], "EVAL");
    // Sent outside any span, found through the response id.
    assert_eq!(by("groundedness")["value"], 0.4);
    assert!(span(&trace, "answer")["scores"]
        .as_array()
        .unwrap()
        .is_empty());
    let stats = score_stats(&server, &keys, "group_by=model");
    let g = stat(&stats, "groundedness");
    assert_eq!(
        (g["key"].as_str(), g["avg"].as_f64()),
        (Some("gpt-4o"), Some(0.4))
    );
    assert_eq!(stat(&stats, "relevance")["labels"]["relevant"], 1);
    let (_, list) = get_json(&server, &keys, "/api/traces?score.groundedness.max=0.5");
    assert_eq!(list["traces"][0]["trace_id"], trace_id.as_str());
    server.stop();
}
