//! Scores from every route llmtrace's own clients use, against the real binary: `POST
//! /api/scores` (one object or an array; a retry without an id stores nothing twice; bad input
//! 400, a non-JSON body 415), OpenTelemetry `gen_ai.evaluation.result` events sent as log records
//! parented to the evaluated span and as events on the span itself. Each shows on the trace and
//! on the span it is about.

mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

const TRACE: &str = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1";
const ROOT: &str = "1111111111111111";
const CHAT: &str = "2222222222222222";

fn post(server: &Server, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "-X", "POST", "-H"])
        .arg(format!("content-type: {content_type}"))
        .args(["--data-binary", body])
        .arg(format!("{}{path}", server.http))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (
        code.parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn kv(k: &str, v: Value) -> Value {
    match v {
        Value::String(s) => json!({"key": k, "value": {"stringValue": s}}),
        Value::Number(n) if n.is_f64() => json!({"key": k, "value": {"doubleValue": n}}),
        other => json!({"key": k, "value": {"intValue": other.to_string()}}),
    }
}

fn scores_of<'a>(trace: &'a Value, span: &str) -> Vec<&'a Value> {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["span_id"] == span)
        .unwrap_or_else(|| panic!("no span {span}: {trace:#}"))["scores"]
        .as_array()
        .unwrap()
        .iter()
        .collect()
}

#[test]
fn scores_from_the_api_and_from_otel_evaluation_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let ns = now_ns();
    let t = |offset_ms: u64| (ns - 5_000_000_000 + offset_ms * 1_000_000).to_string();

    // The trace, its chat span carrying an evaluation as a span event (older emitters).
    let traces = json!({"resourceSpans": [{"resource": {"attributes": [kv("service.name", json!("app"))]},
    "scopeSpans": [{"scope": {"name": "app"}, "spans": [
        {"traceId": TRACE, "spanId": ROOT, "name": "handle", "kind": 2,
         "startTimeUnixNano": t(0), "endTimeUnixNano": t(900)},
        {"traceId": TRACE, "spanId": CHAT, "parentSpanId": ROOT, "name": "chat gpt-4o", "kind": 3,
         "startTimeUnixNano": t(100), "endTimeUnixNano": t(800),
         "attributes": [kv("gen_ai.operation.name", json!("chat")), kv("gen_ai.provider.name", json!("openai")),
                        kv("gen_ai.request.model", json!("gpt-4o"))],
         "events": [{"timeUnixNano": t(850), "name": "gen_ai.evaluation.result",
                     "attributes": [kv("gen_ai.evaluation.name", json!("groundedness")),
                                    kv("gen_ai.evaluation.score.value", json!(0.9))]}]}
    ]}]}]});
    assert_eq!(
        post(
            &server,
            "/v1/traces",
            "application/json",
            &traces.to_string()
        )
        .0,
        200
    );

    // An evaluation as a log record parented to the chat span (current emitters), sent twice.
    let logs = json!({"resourceLogs": [{"resource": {"attributes": [kv("service.name", json!("judge"))]},
    "scopeLogs": [{"scope": {"name": "evals"}, "logRecords": [
        {"timeUnixNano": t(950), "eventName": "gen_ai.evaluation.result",
         "traceId": TRACE, "spanId": CHAT,
         "attributes": [kv("gen_ai.evaluation.name", json!("relevance")),
                        kv("gen_ai.evaluation.score.value", json!(1)),
                        kv("gen_ai.evaluation.score.label", json!("relevant")),
                        kv("gen_ai.evaluation.explanation", json!("answers the question"))]}
    ]}]}]});
    for _ in 0..2 {
        assert_eq!(
            post(&server, "/v1/logs", "application/json", &logs.to_string()).0,
            200
        );
    }

    // The API: a trace score twice without an id (a retry), and an array with a span score.
    let helpful = json!({"trace_id": TRACE, "name": "helpful", "value": true, "author": "ann",
                         "comment": "clear"});
    let (status, first) = post(
        &server,
        "/api/scores",
        "application/json",
        &helpful.to_string(),
    );
    assert_eq!(status, 200, "{first}");
    let (_, again) = post(
        &server,
        "/api/scores",
        "application/json",
        &helpful.to_string(),
    );
    assert_eq!(first["id"], again["id"], "a retry keeps its id");
    let batch = json!([
        {"trace_id": TRACE, "span_id": CHAT, "name": "tone", "label": "polite", "id": "tone-1"},
        {"trace_id": TRACE, "name": "cost_ok", "value": 1, "source": "evaluator:budget",
         "timestamp": "2026-12-06T10:00:00Z"}
    ]);
    let (status, ids) = post(
        &server,
        "/api/scores",
        "application/json",
        &batch.to_string(),
    );
    assert_eq!(status, 200, "{ids}");
    assert_eq!(ids["ids"][0], "tone-1");
    for (bad, why) in [
        (json!({"trace_id": TRACE, "value": 1}), "name is required"),
        (
            json!({"trace_id": "nope", "name": "x", "value": 1}),
            "trace_id",
        ),
        (
            json!([{"trace_id": TRACE, "name": "x", "value": 1}, {"trace_id": TRACE, "name": "y"}]),
            "score 1",
        ),
    ] {
        let (status, body) = post(&server, "/api/scores", "application/json", &bad.to_string());
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.to_string().contains(why), "{bad}: {body}");
    }
    assert_eq!(
        post(&server, "/api/scores", "text/plain", &helpful.to_string()).0,
        415
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let (status, d) = server.get_json(&format!("/api/traces/{TRACE}"));
        if status == 200 && d["scores"].as_array().is_some_and(|s| s.len() >= 5) {
            break d;
        }
        assert!(Instant::now() < deadline, "5 scores expected: {d:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let all = trace["scores"].as_array().unwrap();
    let names: Vec<&str> = all.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(all.len(), 5, "each score once: {names:?}");
    for name in ["groundedness", "relevance", "helpful", "tone", "cost_ok"] {
        assert!(names.contains(&name), "{name} missing: {names:?}");
    }
    let chat = scores_of(&trace, CHAT);
    let by = |name: &str| *chat.iter().find(|s| s["name"] == name).unwrap();
    assert_eq!(by("groundedness")["value"], 0.9);
    assert_eq!(by("groundedness")["source"], "EVAL");
    assert_eq!(by("relevance")["string_value"], "relevant");
    assert_eq!(by("relevance")["comment"], "answers the question");
    assert_eq!(by("relevance")["author"], "judge");
    assert_eq!(by("tone")["data_type"], "CATEGORICAL");
    assert!(scores_of(&trace, ROOT).is_empty());
    let helpful = all.iter().find(|s| s["name"] == "helpful").unwrap();
    assert_eq!(helpful["data_type"], "BOOLEAN");
    assert_eq!(helpful["value"], 1.0);
    assert_eq!(helpful["author"], "ann");
    assert!(helpful["observation_id"].is_null());
    let cost = all.iter().find(|s| s["name"] == "cost_ok").unwrap();
    assert_eq!(cost["source"], "evaluator:budget");
    assert_eq!(cost["timestamp"], "2026-12-06T10:00:00.000000000Z");

    // The trace list filters by score; another trace without scores never matches.
    let other = json!({"resourceSpans": [{"resource": {"attributes": [kv("service.name", json!("app"))]},
        "scopeSpans": [{"scope": {"name": "app"}, "spans": [
            {"traceId": "f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2", "spanId": ROOT, "name": "other", "kind": 2,
             "startTimeUnixNano": t(1000), "endTimeUnixNano": t(1100)}]}]}]});
    assert_eq!(
        post(
            &server,
            "/v1/traces",
            "application/json",
            &other.to_string()
        )
        .0,
        200
    );
    let listed = |query: &str| -> Vec<String> {
        let (status, list) = server.get_json(&format!("/api/traces?{query}"));
        assert_eq!(status, 200, "{query}: {list}");
        list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_string())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while listed("limit=10").len() < 2 {
        assert!(Instant::now() < deadline, "the second trace never arrived");
        std::thread::sleep(Duration::from_millis(100));
    }
    for (query, expected) in [
        ("score.helpful=", vec![TRACE]),
        ("score.relevance=relevant", vec![TRACE]),
        ("score.relevance=irrelevant", vec![]),
        ("score.groundedness.min=0.5", vec![TRACE]),
        ("score.groundedness.max=0.5", vec![]),
        ("score.groundedness.min=0.5&score.tone=polite", vec![TRACE]),
        ("score.nosuch=", vec![]),
    ] {
        assert_eq!(listed(query), expected, "{query}");
    }
    for bad in ["score.helpful.min=lots", "score.=x"] {
        let (status, body) = server.get_json(&format!("/api/traces?{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
    }
    server.stop();
}
