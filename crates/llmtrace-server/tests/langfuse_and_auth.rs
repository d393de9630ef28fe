//! API keys map requests to projects across OTLP/HTTP, OTLP/gRPC, the Langfuse OTLP path and the
//! query API; the Langfuse helper endpoints answer; other Langfuse paths get a JSON 501.

mod common;

use base64::Engine;
use common::*;
use prost::Message;
use std::io::Write;

fn keys() -> Vec<llmtrace_server::ApiKey> {
    vec![
        llmtrace_server::ApiKey {
            project: "acme".into(),
            public_key: "pk-lf-acme".into(),
            secret_key: "sk-lf-acme".into(),
        },
        llmtrace_server::ApiKey {
            project: "beta".into(),
            public_key: "pk-lf-beta".into(),
            secret_key: "sk-lf-beta".into(),
        },
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
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

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
