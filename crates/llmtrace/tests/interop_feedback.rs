//! LangSmith feedback from the real `langsmith` SDK (`create_feedback`, `POST /feedback`) lands
//! as scores on the trace and on the run it is about.

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
    server.stop();
}
