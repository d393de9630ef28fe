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
    let (code, text) = request(server, "POST", path, content_type, body);
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Any request; the status and the body as text.
fn request(
    server: &Server,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-w", "\n%{http_code}", "-X", method]);
    if !body.is_empty() {
        cmd.arg("-H")
            .arg(format!("content-type: {content_type}"))
            .args(["--data-binary", body]);
    }
    let out = cmd.arg(format!("{}{path}", server.http)).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
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

/// Score aggregates in `/api/stats`, scores in the trace list, deletion, the annotation queue,
/// score configs (a score that does not fit its config is refused), and datasets built from a
/// span, exported as JSONL.
#[test]
fn aggregates_configs_queue_and_datasets_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let ns = now_ns();
    let t = |offset_ms: u64| (ns - 5_000_000_000 + offset_ms * 1_000_000).to_string();
    let chat = |trace: &str, model: &str| {
        json!([{"traceId": trace, "spanId": ROOT, "name": "handle", "kind": 2,
                "startTimeUnixNano": t(0), "endTimeUnixNano": t(900)},
               {"traceId": trace, "spanId": CHAT, "parentSpanId": ROOT, "name": "chat", "kind": 3,
                "startTimeUnixNano": t(100), "endTimeUnixNano": t(800),
                "attributes": [kv("gen_ai.operation.name", json!("chat")),
                               kv("gen_ai.provider.name", json!("openai")),
                               kv("gen_ai.request.model", json!(model)),
                               kv("gen_ai.input.messages", json!(json!([{"role": "user", "parts": [{"type": "text", "content": "capital of France?"}]}]).to_string())),
                               kv("gen_ai.output.messages", json!(json!([{"role": "assistant", "parts": [{"type": "text", "content": "Paris."}]}]).to_string()))]}])
    };
    const OTHER: &str = "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2";
    let mut spans = chat(TRACE, "gpt-4o").as_array().unwrap().clone();
    spans.extend(chat(OTHER, "gpt-4o-mini").as_array().unwrap().clone());
    let traces = json!({"resourceSpans": [{"resource": {"attributes": [kv("service.name", json!("app"))]},
        "scopeSpans": [{"scope": {"name": "app"}, "spans": spans}]}]});
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

    // A config for "accuracy": 0..1; a score outside is refused, inside stored.
    let (status, body) = post(
        &server,
        "/api/score-configs",
        "application/json",
        r#"{"name": "accuracy", "data_type": "numeric", "min": 0, "max": 1, "description": "how right"}"#,
    );
    assert_eq!(status, 200, "{body}");
    for bad in [
        r#"{"name": "x", "data_type": "TEXT"}"#,
        r#"{"name": "x", "data_type": "CATEGORICAL"}"#,
        r#"{"name": "", "data_type": "BOOLEAN"}"#,
        r#"{"name": "x", "data_type": "NUMERIC", "min": 2, "max": 1}"#,
    ] {
        let (status, body) = post(&server, "/api/score-configs", "application/json", bad);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (_, configs) = server.get_json("/api/score-configs");
    assert_eq!(configs["configs"][0]["name"], "accuracy", "{configs}");
    assert_eq!(configs["configs"][0]["data_type"], "NUMERIC");
    let (status, body) = post(
        &server,
        "/api/scores",
        "application/json",
        &json!({"trace_id": TRACE, "span_id": CHAT, "name": "accuracy", "value": 3}).to_string(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("within"), "{body}");
    let (status, body) = post(
        &server,
        "/api/scores",
        "application/json",
        &json!([
            {"id": "acc-1", "trace_id": TRACE, "span_id": CHAT, "name": "accuracy", "value": 1},
            {"id": "acc-2", "trace_id": OTHER, "span_id": CHAT, "name": "accuracy", "value": 0.5},
            {"id": "tone-1", "trace_id": TRACE, "name": "tone", "label": "polite", "source": "ANNOTATION", "author": "ann"}
        ])
        .to_string(),
    );
    assert_eq!(status, 200, "{body}");

    // Aggregates by model (span scores) and by service (the trace score under its root's).
    let deadline = Instant::now() + Duration::from_secs(30);
    let stats = loop {
        let (status, s) = server.get_json("/api/stats?group_by=model");
        assert_eq!(status, 200, "{s}");
        if s["scores"].as_array().is_some_and(|a| a.len() == 3) {
            break s;
        }
        assert!(Instant::now() < deadline, "3 score groups expected: {s:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let groups: Vec<(Value, Value, Value)> = stats["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].clone(), g["name"].clone(), g["avg"].clone()))
        .collect();
    assert_eq!(
        groups,
        vec![
            (Value::Null, json!("tone"), Value::Null),
            (json!("gpt-4o"), json!("accuracy"), json!(1.0)),
            (json!("gpt-4o-mini"), json!("accuracy"), json!(0.5)),
        ]
    );
    let (_, by_service) =
        server.get_json("/api/stats?group_by=service&bucket=1d&since=2026-01-01T00:00:00Z");
    let tone = by_service["scores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "tone")
        .unwrap()
        .clone();
    assert_eq!(tone["key"], "app", "{tone}");
    assert_eq!(tone["labels"]["polite"], 1);
    assert!(tone["bucket_start"].is_string(), "{tone}");
    let (_, names) = server.get_json("/api/scores/names");
    assert_eq!(names["names"][0]["name"], "accuracy", "{names}");
    assert_eq!(names["names"][0]["count"], 2);

    // The list shows each trace's scores; the queue lists traces without one.
    let (_, list) = server.get_json("/api/traces?limit=10");
    let of = |id: &str| -> Vec<String> {
        list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["trace_id"] == id)
            .unwrap()["scores"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(of(TRACE), vec!["acc-1".to_string(), "tone-1".to_string()]);
    assert_eq!(of(OTHER), vec!["acc-2".to_string()]);
    let queue = |name: &str| -> Vec<String> {
        let (status, l) = server.get_json(&format!("/api/traces?without_score={name}"));
        assert_eq!(status, 200, "{l}");
        l["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(queue("tone"), vec![OTHER.to_string()]);
    assert_eq!(
        request(&server, "DELETE", "/api/scores/tone-1", "", "").0,
        204
    );
    assert_eq!(
        request(&server, "DELETE", "/api/scores/tone-1", "", "").0,
        404
    );
    assert_eq!(queue("tone").len(), 2);
    // The CLI manages configs too.
    let cli = |args: &[&str]| {
        let out = Command::new(bin())
            .args(["--server", &server.http, "scores", "config"])
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        (
            out.status.success(),
            text,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, _, err) = cli(&[
        "set",
        "tone",
        "--type",
        "categorical",
        "--categories",
        "polite,rude",
    ]);
    assert!(ok, "{err}");
    let (ok, listed, _) = cli(&["list"]);
    assert!(
        ok && listed.contains("polite, rude") && listed.contains("0 to 1"),
        "{listed}"
    );
    let (status, body) = post(
        &server,
        "/api/scores",
        "application/json",
        &json!({"trace_id": TRACE, "name": "tone", "label": "grumpy"}).to_string(),
    );
    assert_eq!(status, 400, "{body}");
    let (ok, _, err) = cli(&[
        "set", "bad", "--type", "numeric", "--min", "3", "--max", "-1",
    ]);
    assert!(!ok && err.contains("400"), "{err}");
    assert!(cli(&["delete", "tone"]).0);
    assert!(!cli(&["delete", "tone"]).0, "already deleted");
    assert_eq!(
        request(&server, "DELETE", "/api/score-configs/accuracy", "", "").0,
        204
    );
    assert_eq!(
        post(
            &server,
            "/api/scores",
            "application/json",
            &json!({"trace_id": TRACE, "name": "accuracy", "value": 3}).to_string()
        )
        .0,
        200,
        "no config, no range"
    );

    // Datasets: an item taken from a span, its expected output edited; JSONL export.
    let (status, _) = post(
        &server,
        "/api/datasets/golden/items",
        "application/json",
        &json!({"trace_id": TRACE, "span_id": CHAT}).to_string(),
    );
    assert_eq!(status, 404, "no such dataset yet");
    let (status, d) = post(
        &server,
        "/api/datasets",
        "application/json",
        r#"{"name": "golden", "description": "capitals"}"#,
    );
    assert_eq!(status, 200, "{d}");
    let add = json!({"trace_id": TRACE, "span_id": CHAT, "expected_output": "Paris"});
    let (status, item) = post(
        &server,
        "/api/datasets/golden/items",
        "application/json",
        &add.to_string(),
    );
    assert_eq!(status, 201, "{item}");
    assert_eq!(
        item["input"],
        json!([{"role": "user", "content": "capital of France?"}])
    );
    assert_eq!(item["output"], "Paris.");
    let edited = json!({"trace_id": TRACE, "span_id": CHAT, "expected_output": "Paris, France"});
    let (_, again) = post(
        &server,
        "/api/datasets/golden/items",
        "application/json",
        &edited.to_string(),
    );
    assert_eq!(again["id"], item["id"], "the same span is one item");
    let (status, _) = post(
        &server,
        "/api/datasets/golden/items",
        "application/json",
        r#"{"input": "2+2?", "expected_output": "4", "metadata": {"k": 1}}"#,
    );
    assert_eq!(status, 201);
    let (_, sets) = server.get_json("/api/datasets");
    assert_eq!(sets["datasets"][0]["item_count"], 2, "{sets}");
    let (status, jsonl) = request(
        &server,
        "GET",
        "/api/datasets/golden/items?format=jsonl",
        "",
        "",
    );
    assert_eq!(status, 200);
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{jsonl}");
    assert_eq!(lines[0]["expected_output"], "Paris, France");
    assert_eq!(lines[0]["expectedOutput"], "Paris, France");
    assert_eq!(lines[0]["sourceTraceId"], TRACE);
    assert_eq!(lines[0]["sourceObservationId"], CHAT);
    assert_eq!(lines[1]["input"], "2+2?");
    assert_eq!(lines[1]["metadata"]["k"], 1);
    assert_eq!(
        request(
            &server,
            "GET",
            "/api/datasets/golden/items?format=csv",
            "",
            ""
        )
        .0,
        400
    );
    assert_eq!(
        request(&server, "GET", "/api/datasets/nope/items", "", "").0,
        404
    );
    let id = item["id"].as_str().unwrap();
    assert_eq!(
        request(
            &server,
            "DELETE",
            &format!("/api/datasets/golden/items/{id}"),
            "",
            ""
        )
        .0,
        204
    );
    let (_, items) = server.get_json("/api/datasets/golden/items");
    assert_eq!(items["items"].as_array().unwrap().len(), 1);
    // The annotation endpoints take bodies of at most 4 MiB: at the limit stored, past it 413.
    let sized = |len: usize| {
        let frame = r#"{"input":""}"#.len();
        let body = format!(r#"{{"input":"{}"}}"#, "a".repeat(len - frame));
        assert_eq!(body.len(), len);
        let file = dir.path().join("body.json");
        std::fs::write(&file, body).unwrap();
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args(["-H", "content-type: application/json", "--data-binary"])
            .arg(format!("@{}", file.display()))
            .arg(format!("{}/api/datasets/golden/items", server.http))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // A body not declared JSON (a cross-site form post) is refused.
    assert_eq!(
        post(
            &server,
            "/api/datasets/golden/items",
            "text/plain",
            r#"{"input": "x"}"#
        )
        .0,
        415
    );
    assert_eq!(sized(4 * 1024 * 1024), "201");
    assert_eq!(sized(4 * 1024 * 1024 + 1), "413");
    let long = json!({"name": "golden", "description": "d".repeat(4097)});
    assert_eq!(
        post(
            &server,
            "/api/datasets",
            "application/json",
            &long.to_string()
        )
        .0,
        400
    );
    server.stop();
}
