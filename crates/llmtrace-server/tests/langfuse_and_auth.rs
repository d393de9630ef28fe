//! API keys map requests to projects across OTLP/HTTP, OTLP/gRPC, the Langfuse OTLP path and the
//! query API; the Langfuse helper endpoints answer; other Langfuse paths get a JSON 501.

mod common;

use base64::Engine;
use common::*;
use prost::Message;
use std::io::Write;

fn keys() -> Vec<llmtrace_server::ApiKey> {
    vec![
        llmtrace_server::ApiKey::new("acme", "pk-lf-acme", "sk-lf-acme"),
        llmtrace_server::ApiKey::new("beta", "pk-lf-beta", "sk-lf-beta"),
    ]
}

fn basic(pk: &str, sk: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{pk}:{sk}"))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langfuse_otlp_path_with_basic_auth_stores_under_the_keys_project() {
    let h = Harness::start(Options {
        keys: keys(),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&request(rag_spans(1)).encode_to_vec())
        .unwrap();
    let body = gz.finish().unwrap();
    // Langfuse SDKs: protobuf, gzip, Basic pk:sk.
    let r = http
        .post(h.url("/api/public/otel/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .header("authorization", basic("pk-lf-acme", "sk-lf-acme"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // No key, or a wrong one: 401, nothing stored.
    let r = http
        .post(h.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request(rag_spans(2)).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(h.url("/api/public/otel/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .header("authorization", basic("pk-lf-acme", "sk-lf-beta"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Projects are tenants: acme sees its trace, beta does not.
    let tid = "01010101010101010101010101010101";
    let get = |key: &'static str| {
        let http = http.clone();
        let url = h.url(&format!("/api/traces/{tid}"));
        async move {
            http.get(url)
                .header("authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(get("sk-lf-acme").await, 200);
    assert_eq!(get("sk-lf-beta").await, 404);
    let r = http.get(h.url("/api/traces")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = http
        .get(h.url("/api/traces"))
        .header("x-api-key", "sk-lf-acme")
        .send()
        .await
        .unwrap();
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["traces"].as_array().unwrap().len(), 1);

    // gRPC with the key in metadata.
    let mut client = opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::connect(
        format!("http://{}", h.grpc),
    )
    .await
    .unwrap();
    let mut req = tonic::Request::new(request(rag_spans(3)));
    req.metadata_mut()
        .insert("authorization", "Bearer sk-lf-beta".parse().unwrap());
    client.export(req).await.unwrap();
    let err = client
        .export(tonic::Request::new(request(rag_spans(4))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let r = http
        .get(h.url("/api/traces/03030303030303030303030303030303"))
        .header("authorization", "Bearer sk-lf-beta")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Langfuse helper endpoints.
    let j: serde_json::Value = http
        .get(h.url("/api/public/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(j["status"], "OK");
    let j: serde_json::Value = http
        .get(h.url("/api/public/projects"))
        .header("authorization", basic("pk-lf-beta", "sk-lf-beta"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(j["data"][0]["name"], "beta");
    let r = http
        .get(h.url("/api/public/v2/prompts/my-prompt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "keys mean keys, on every route");
    let r = http
        .get(h.url("/api/public/v2/prompts/my-prompt"))
        .header("authorization", basic("pk-lf-beta", "sk-lf-beta"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 501);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains("/api/public/v2/prompts/my-prompt"),
        "{j}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langfuse_scores_are_stored_and_shown_on_their_trace_and_span() {
    let h = Harness::start(Options::default()).await;
    let http = reqwest::Client::new();
    let r = http
        .post(h.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request(rag_spans(5)).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tid = "05050505050505050505050505050505";
    // The Python SDK batches scores as a JSON array.
    let r = http
        .post(h.url("/api/public/scores"))
        .json(&serde_json::json!([
            {"id": "s1", "traceId": tid, "observationId": "0404040404040404", "name": "correctness",
             "value": 0.9, "dataType": "NUMERIC", "comment": "good", "environment": "default",
             "timestamp": "2026-01-01T00:00:01Z"},
            {"id": "s2", "traceId": tid, "name": "tone", "value": "friendly",
             "timestamp": "2026-01-01T00:00:02Z"}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["data"][1]["id"], "s2");
    // A single object, with no id: one is generated.
    let r = http
        .post(h.url("/api/public/scores"))
        .json(&serde_json::json!({"traceId": tid, "name": "thumbs", "value": true}))
        .send()
        .await
        .unwrap();
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(!j["id"].as_str().unwrap().is_empty());
    // Bad input: a clear 400, nothing stored.
    let r = http
        .post(h.url("/api/public/scores"))
        .json(&serde_json::json!({"traceId": tid, "value": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(
        j["error"].as_str().unwrap().contains("name is required"),
        "{j}"
    );
    let r = http
        .post(h.url("/api/public/scores"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A body not declared as JSON (a cross-site text/plain POST) is refused before parsing.
    let r = http
        .post(h.url("/api/public/scores"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    let (st, d) = h.get_json(&format!("/api/traces/{tid}")).await;
    assert_eq!(st, 200);
    let scores = d["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 3);
    assert_eq!(scores[0]["name"], "correctness");
    assert_eq!(scores[0]["value"], 0.9);
    assert_eq!(scores[0]["comment"], "good");
    assert_eq!(scores[1]["data_type"], "CATEGORICAL");
    assert_eq!(scores[1]["string_value"], "friendly");
    assert_eq!(scores[2]["data_type"], "BOOLEAN");
    assert_eq!(scores[2]["value"], 1.0);
    let llm = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["span_id"] == "0404040404040404")
        .unwrap();
    assert_eq!(llm["scores"].as_array().unwrap().len(), 1);
    assert_eq!(llm["scores"][0]["id"], "s1");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langfuse_ingestion_batch_answers_207_and_builds_the_trace() {
    let h = Harness::start(Options::default()).await;
    let http = reqwest::Client::new();
    let tid = "7b3f1c2e-9a4d-4e8f-b1c2-3d4e5f6a7b8c";
    let batch = serde_json::json!({"batch": [
        {"id": "e1", "type": "trace-create", "timestamp": "2026-01-01T00:00:00Z",
         "body": {"id": tid, "name": "support-chat", "userId": "u-7", "sessionId": "s-9",
                  "timestamp": "2026-01-01T00:00:00Z", "tags": ["beta"]}},
        {"id": "e2", "type": "span-create", "timestamp": "2026-01-01T00:00:00.100Z",
         "body": {"id": "obs-retrieve", "traceId": tid, "name": "retrieve",
                  "startTime": "2026-01-01T00:00:00.100Z", "endTime": "2026-01-01T00:00:00.300Z"}},
        {"id": "e3", "type": "generation-create", "timestamp": "2026-01-01T00:00:00.400Z",
         "body": {"id": "obs-gen", "traceId": tid, "parentObservationId": "obs-retrieve",
                  "name": "answer", "model": "claude-sonnet-4-6",
                  "startTime": "2026-01-01T00:00:00.400Z",
                  "input": [{"role": "user", "content": "Where is my order?"}]}},
        {"id": "e4", "type": "generation-update", "timestamp": "2026-01-01T00:00:02Z",
         "body": {"id": "obs-gen", "traceId": tid, "endTime": "2026-01-01T00:00:02Z",
                  "output": {"role": "assistant", "content": "It ships today."},
                  "usageDetails": {"input": 120, "output": 45, "cache_read_input_tokens": 30,
                                   "cache_creation_input_tokens": 10}}},
        {"id": "e5", "type": "score-create", "timestamp": "2026-01-01T00:00:03Z",
         "body": {"id": "sc-1", "traceId": tid, "name": "helpful", "value": 1, "dataType": "NUMERIC"}},
        {"id": "e6", "type": "sdk-log", "timestamp": "2026-01-01T00:00:03Z", "body": {"log": "hi"}},
        {"id": "e7", "type": "dataset-explode", "timestamp": "2026-01-01T00:00:03Z", "body": {}},
        {"id": "e8", "type": "span-create", "timestamp": "2026-01-01T00:00:03Z"},
        {"id": "e9", "type": "span-update", "timestamp": "2026-01-01T00:00:03Z",
         "body": {"id": "not-here", "traceId": tid, "output": "x"}}
    ]});
    let r = http
        .post(h.url("/api/public/ingestion"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 207);
    let j: serde_json::Value = r.json().await.unwrap();
    let ok: Vec<&str> = j["successes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    // e9 updates an observation never created: Langfuse upserts it, so do we.
    for id in ["e1", "e2", "e3", "e4", "e5", "e6", "e9"] {
        assert!(ok.contains(&id), "{id} in {j}");
    }
    let bad: Vec<&str> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(bad.len(), 2, "{j}");
    for id in ["e7", "e8"] {
        assert!(bad.contains(&id), "{id} in {j}");
    }

    let trace_hex = tid.replace('-', "");
    let (st, d) = h.get_json(&format!("/api/traces/{trace_hex}")).await;
    assert_eq!(st, 200, "{d}");
    let t = &d["trace"];
    assert_eq!(t["root_name"], "support-chat");
    assert_eq!(t["user_id"], "u-7");
    assert_eq!(t["session_id"], "s-9");
    // Langfuse's usage convention (input without cache) converted: 120 + 30 + 10 = 160.
    assert_eq!(t["input_tokens"], 160);
    assert_eq!(t["output_tokens"], 45);
    assert_eq!(t["llm_call_count"], 1);
    let spans = d["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 4);
    let by = |n: &str| spans.iter().find(|s| s["name"] == n).unwrap();
    // The update-only observation starts and ends at its event time, not in 1970.
    assert_eq!(
        by("unnamed")["start_time"],
        "2026-01-01T00:00:03.000000000Z"
    );
    assert_eq!(by("answer")["kind"], "llm");
    assert_eq!(by("answer")["request_model"], "claude-sonnet-4-6");
    assert_eq!(by("answer")["parent_span_id"], by("retrieve")["span_id"]);
    assert_eq!(
        by("retrieve")["parent_span_id"],
        by("support-chat")["span_id"]
    );
    assert_eq!(by("answer")["duration_ms"], 1600.0);
    assert!(by("answer")["cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(d["scores"][0]["name"], "helpful");

    // A generation created unfinished in one batch is completed by its next copy.
    let b1 = serde_json::json!({"batch": [
        {"id": "f1", "type": "generation-create", "timestamp": "2026-01-01T00:01:00Z",
         "body": {"id": "obs-late", "traceId": tid, "name": "late", "model": "gpt-4o",
                  "startTime": "2026-01-01T00:01:00Z"}}]});
    assert_eq!(
        http.post(h.url("/api/public/ingestion"))
            .json(&b1)
            .send()
            .await
            .unwrap()
            .status(),
        207
    );
    let b2 = serde_json::json!({"batch": [
        {"id": "f2", "type": "generation-create", "timestamp": "2026-01-01T00:01:05Z",
         "body": {"id": "obs-late", "traceId": tid, "name": "late", "model": "gpt-4o",
                  "startTime": "2026-01-01T00:01:00Z", "endTime": "2026-01-01T00:01:05Z",
                  "usageDetails": {"input": 50, "output": 5}}}]});
    assert_eq!(
        http.post(h.url("/api/public/ingestion"))
            .json(&b2)
            .send()
            .await
            .unwrap()
            .status(),
        207
    );
    let (_, d) = h.get_json(&format!("/api/traces/{trace_hex}")).await;
    let late = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "late")
        .unwrap()
        .clone();
    assert_eq!(late["duration_ms"], 5000.0);
    assert_eq!(late["input_tokens"], 50);
    assert_eq!(d["trace"]["llm_call_count"], 2);
    assert_eq!(d["trace"]["input_tokens"], 210);

    // Langfuse SDK v2's usual flow: the create (model, input, no end) in one batch, the update
    // (end, output, usage; no start, name or model) in the next. The stored copy is completed
    // and keeps what only the create had; the cost uses the create's model.
    for batch in [
        serde_json::json!({"batch": [
            {"id": "g1", "type": "generation-create", "timestamp": "2026-01-01T00:02:00Z",
             "body": {"id": "obs-v2", "traceId": tid, "name": "v2-answer", "model": "gpt-4o",
                      "startTime": "2026-01-01T00:02:00Z",
                      "input": [{"role": "user", "content": "Track my parcel"}]}}]}),
        serde_json::json!({"batch": [
            {"id": "g2", "type": "generation-update", "timestamp": "2026-01-01T00:02:03Z",
             "body": {"id": "obs-v2", "traceId": tid, "endTime": "2026-01-01T00:02:03Z",
                      "output": {"role": "assistant", "content": "On its way."},
                      "usage": {"input": 40, "output": 8}}}]}),
    ] {
        let r = http
            .post(h.url("/api/public/ingestion"))
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 207);
        let j: serde_json::Value = r.json().await.unwrap();
        assert_eq!(j["errors"], serde_json::json!([]), "{j}");
    }
    let (_, d) = h.get_json(&format!("/api/traces/{trace_hex}")).await;
    let v2 = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["span_id"] != serde_json::Value::Null && s["name"] == "v2-answer")
        .unwrap_or_else(|| panic!("no v2-answer in {d:#}"))
        .clone();
    assert_eq!(v2["incomplete"], false, "{v2:#}");
    assert_eq!(v2["kind"], "llm", "{v2:#}");
    assert_eq!(v2["request_model"], "gpt-4o", "{v2:#}");
    assert_eq!(v2["duration_ms"], 3000.0, "{v2:#}");
    assert_eq!(v2["input_tokens"], 40, "{v2:#}");
    assert_eq!(v2["input_messages"][0]["role"], "user", "{v2:#}");
    assert_eq!(v2["output_messages"][0]["role"], "assistant", "{v2:#}");
    assert_eq!(
        v2["parent_span_id"],
        by("support-chat")["span_id"],
        "{v2:#}"
    );
    assert!(
        v2["cost_usd"].as_f64().unwrap_or(0.0) > 0.0,
        "priced with the create's model: {v2:#}"
    );
    assert_eq!(d["trace"]["llm_call_count"], 3);

    // Wrong top-level shape: 400 with Langfuse's {message, errors}.
    let r = http
        .post(h.url("/api/public/ingestion"))
        .json(&serde_json::json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(j["message"].as_str().unwrap().contains("batch"));
    h.stop().await;
}

/// A gzip ingestion body (a compressing proxy) is inflated, not refused as "not JSON"; an
/// unknown encoding gets 415.
#[tokio::test]
async fn langfuse_ingestion_accepts_gzip() {
    use std::io::Write;
    let h = Harness::start(Options::default()).await;
    let http = reqwest::Client::new();
    let tid = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let batch = serde_json::json!({"batch": [
        {"id": "g1", "type": "trace-create", "timestamp": "2026-01-01T00:00:00Z",
         "body": {"id": tid, "name": "gzipped", "timestamp": "2026-01-01T00:00:00Z"}}
    ]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(batch.to_string().as_bytes()).unwrap();
    let body = gz.finish().unwrap();
    let r = http
        .post(h.url("/api/public/ingestion"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 207);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["successes"][0]["id"], "g1", "{j}");
    let (st, d) = h.get_json(&format!("/api/traces/{tid}")).await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["trace"]["root_name"], "gzipped");
    let r = http
        .post(h.url("/api/public/ingestion"))
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}
