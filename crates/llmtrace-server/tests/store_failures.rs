//! What clients receive when storage fails, on every transport: a transient failure (a busy or
//! full disk) is retryable (HTTP 503 + `Retry-After`, gRPC `UNAVAILABLE` + `RetryInfo`); a
//! permanent one is final (HTTP 500, gRPC `INTERNAL`, no retry hint) and its answer never
//! echoes the store's own message. Once storage recovers, the same delivery is stored once.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic_types::StatusExt;

async fn http_post(h: &Harness, path: &str, ct: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(h.url(path))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The answers of every writing transport to one delivery each: (transport, HTTP status or
/// gRPC code, retry hint present, body text).
async fn deliver_everywhere(h: &Harness, trace: u8) -> Vec<(&'static str, i32, bool, String)> {
    let mut out = Vec::new();
    let r = http_post(
        h,
        "/v1/traces",
        "application/x-protobuf",
        request(rag_spans(trace)).encode_to_vec(),
    )
    .await;
    let retry = r.headers().contains_key("retry-after");
    let code = i32::from(r.status().as_u16());
    let body = r.bytes().await.unwrap();
    let status = tonic_types::Status::decode(body).unwrap();
    out.push(("otlp/http", code, retry, status.message));

    let mut grpc = TraceServiceClient::connect(format!("http://{}", h.grpc))
        .await
        .unwrap();
    match grpc
        .export(request(rag_spans(trace.wrapping_add(100))))
        .await
    {
        Ok(_) => out.push(("otlp/grpc", 0, false, String::new())),
        Err(e) => out.push((
            "otlp/grpc",
            e.code() as i32,
            e.get_details_retry_info().is_some(),
            e.message().to_string(),
        )),
    }

    let batch = serde_json::json!({"batch": [{
        "id": format!("ev-{trace}"), "type": "trace-create", "timestamp": "2026-01-01T00:00:00Z",
        "body": {"id": format!("lf-trace-{trace}"), "name": "t"}
    }]});
    let r = http_post(
        h,
        "/api/public/ingestion",
        "application/json",
        serde_json::to_vec(&batch).unwrap(),
    )
    .await;
    let retry = r.headers().contains_key("retry-after");
    out.push((
        "langfuse",
        i32::from(r.status().as_u16()),
        retry,
        r.text().await.unwrap(),
    ));

    let run = serde_json::json!({"post": [{
        "id": format!("00000000-0000-4000-8000-0000000000{trace:02x}"),
        "trace_id": format!("00000000-0000-4000-8000-0000000000{trace:02x}"),
        "name": "chain", "run_type": "chain", "start_time": "2026-01-01T00:00:00Z",
        "dotted_order": format!("20260101T000000000000Z00000000-0000-4000-8000-0000000000{trace:02x}")
    }]});
    let r = http_post(
        h,
        "/runs/batch",
        "application/json",
        serde_json::to_vec(&run).unwrap(),
    )
    .await;
    let retry = r.headers().contains_key("retry-after");
    out.push((
        "langsmith",
        i32::from(r.status().as_u16()),
        retry,
        r.text().await.unwrap(),
    ));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_failures_answer_retryable_or_final_on_every_transport() {
    let h = Harness::start(Options::default()).await;

    // Transient: retryable everywhere.
    h.store.fail_writes(WriteFailure::Transient);
    for (transport, code, retry, text) in deliver_everywhere(&h, 1).await {
        let expected = if transport == "otlp/grpc" {
            tonic::Code::Unavailable as i32
        } else {
            503
        };
        assert_eq!(code, expected, "{transport}: {text}");
        assert!(
            retry,
            "{transport}: a transient failure carries a retry hint"
        );
    }
    let (code, health) = h.get_json("/healthz").await;
    assert_eq!(code, 503, "health tells the truth: {health}");

    // Permanent: final everywhere, with no store internals in the answer.
    h.store.fail_writes(WriteFailure::Permanent);
    for (transport, code, retry, text) in deliver_everywhere(&h, 2).await {
        let expected = if transport == "otlp/grpc" {
            tonic::Code::Internal as i32
        } else {
            500
        };
        assert_eq!(code, expected, "{transport}: {text}");
        assert!(!retry, "{transport}: a permanent failure is not retried");
        assert!(
            !text.contains("SECRET-INTERNAL") && !text.contains("/var/lib"),
            "{transport} echoes the store's message: {text}"
        );
    }

    // Recovered: the same deliveries are stored, once.
    h.store.fail_writes(WriteFailure::None);
    for _ in 0..2 {
        for (transport, code, _, text) in deliver_everywhere(&h, 1).await {
            let ok = match transport {
                "otlp/grpc" => code == 0,
                "langfuse" => code == 207,
                _ => code == 200 || code == 202,
            };
            assert!(ok, "{transport} after recovery: {code} {text}");
        }
    }
    let (code, trace) = h
        .get_json(&format!("/api/traces/{}", "01".repeat(16)))
        .await;
    assert_eq!(code, 200);
    assert_eq!(trace["spans"].as_array().unwrap().len(), 4, "{trace}");
    h.stop().await;
}
