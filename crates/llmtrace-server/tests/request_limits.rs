//! Caps on what one request may decode into, checked on counts before decoding: spans per
//! request, decoded values per request (OTLP protobuf and JSON, logs), Langfuse events, OpenAI
//! Agents items and the JSON values of every JSON wire; and the error list of a Langfuse 207
//! answer, truncated with a count. A refused request harms nothing: the server keeps serving.

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue};
use prost::Message;

async fn post(h: &Harness, path: &str, ct: &str, body: Vec<u8>) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(h.url(path))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// `n` minimal spans of one trace.
fn many_spans(n: u32) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    (0..n)
        .map(|i| {
            let mut s = span(9, 1, None, "s", 0, 1, vec![]);
            s.span_id = (u64::from(i) + 1).to_be_bytes().to_vec();
            s
        })
        .collect()
}

/// One span with an array attribute of `n` values.
fn wide_span(n: usize) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    let values = vec![
        AnyValue {
            value: Some(any_value::Value::IntValue(1))
        };
        n
    ];
    vec![span(
        8,
        1,
        None,
        "wide",
        0,
        1,
        vec![kv(
            "many",
            any_value::Value::ArrayValue(ArrayValue { values }),
        )],
    )]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_count_limits_get_413_before_decoding() {
    let limits = llmtrace_ingest::DecodeLimits {
        max_items: 200,
        max_nodes: 5_000,
    };
    let h = Harness::start(Options {
        decode: limits,
        ..Options::default()
    })
    .await;
    let over = u32::try_from(limits.max_items).unwrap() + 1;

    // Spans per request: protobuf and JSON.
    let body = request(many_spans(over)).encode_to_vec();
    let (code, text) = post(&h, "/v1/traces", "application/x-protobuf", body).await;
    assert_eq!(code, 413, "{text}");
    let json = serde_json::to_vec(&request(many_spans(over))).unwrap();
    let (code, text) = post(&h, "/v1/traces", "application/json", json).await;
    assert_eq!(code, 413, "{text}");
    assert!(text.contains("spans"), "{text}");

    // Decoded values per request: one span, a million and more tiny values.
    let body = request(wide_span(limits.max_nodes + 10)).encode_to_vec();
    let (code, text) = post(&h, "/v1/traces", "application/x-protobuf", body).await;
    assert_eq!(code, 413, "{text}");
    assert!(text.contains("values"), "{text}");

    // At the limit it is stored.
    let (code, text) = post(
        &h,
        "/v1/traces",
        "application/x-protobuf",
        request(many_spans(over - 1)).encode_to_vec(),
    )
    .await;
    assert_eq!(code, 200, "{text}");
    let (code, trace) = h
        .get_json(&format!("/api/traces/{}", "09".repeat(16)))
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        trace["spans"].as_array().unwrap().len(),
        limits.max_items,
        "the batch at the limit is stored whole"
    );

    // Langfuse ingestion: events per request, JSON values per request.
    let event = serde_json::json!({"id": "e", "type": "sdk-log", "timestamp": "2026-01-01T00:00:00Z", "body": {}});
    let batch = serde_json::json!({"batch": vec![event; limits.max_items + 1]});
    let (code, text) = post(
        &h,
        "/api/public/ingestion",
        "application/json",
        serde_json::to_vec(&batch).unwrap(),
    )
    .await;
    assert_eq!(code, 413, "{text}");
    let deep = format!(
        "{{\"batch\": [{{\"id\":\"x\",\"type\":\"sdk-log\",\"body\":{{\"v\":[{}]}}}}]}}",
        vec!["0"; limits.max_nodes + 1].join(",")
    );
    let (code, text) = post(
        &h,
        "/api/public/ingestion",
        "application/json",
        deep.into_bytes(),
    )
    .await;
    assert_eq!(code, 413, "{text}");

    // OpenAI Agents: items per request.
    let item = serde_json::json!({"object": "trace", "id": "trace_1", "workflow_name": "w"});
    let data = serde_json::json!({"data": vec![item; limits.max_items + 1]});
    let (code, text) = post(
        &h,
        "/v1/traces/ingest",
        "application/json",
        serde_json::to_vec(&data).unwrap(),
    )
    .await;
    assert_eq!(code, 413, "{text}");

    // The server still serves.
    assert_eq!(post_spans(&h, rag_spans(3), None).await, 200);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_langfuse_207_lists_the_first_thousand_errors_and_counts_the_rest() {
    let h = Harness::start(Options::default()).await;
    let bad: Vec<serde_json::Value> = (0..1500)
        .map(|i| serde_json::json!({"id": format!("e{i}"), "type": "no-such-type", "body": {}}))
        .collect();
    let good = serde_json::json!({"id": "ok", "type": "sdk-log", "body": {}});
    let mut batch = bad;
    batch.push(good);
    let r = reqwest::Client::new()
        .post(h.url("/api/public/ingestion"))
        .json(&serde_json::json!({ "batch": batch }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 207);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["errors"].as_array().unwrap().len(), 1000, "{v}");
    assert_eq!(v["errorsNotListed"], 500);
    assert_eq!(v["successes"].as_array().unwrap().len(), 1);
    h.stop().await;
}

/// `--max-attribute-bytes` holds on the JSON wires as on OTLP: a 300 KiB Langfuse input and a
/// 300 KiB OpenAI Agents span field are stored cut to the limit with the visible marker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_truncation_applies_to_the_langfuse_and_agents_wires() {
    let h = Harness::start(Options::default()).await;
    let big = "x".repeat(300 * 1024);
    let trace = "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f";
    let batch = serde_json::json!({"batch": [
        {"id": "e1", "type": "trace-create", "timestamp": "2026-01-01T00:00:00Z",
         "body": {"id": trace, "name": "t"}},
        {"id": "e2", "type": "generation-create", "timestamp": "2026-01-01T00:00:00Z",
         "body": {"id": "0102030405060708", "traceId": trace, "name": "gen",
                  "startTime": "2026-01-01T00:00:00Z", "endTime": "2026-01-01T00:00:01Z",
                  "input": big}}
    ]});
    let (code, text) = post(
        &h,
        "/api/public/ingestion",
        "application/json",
        serde_json::to_vec(&batch).unwrap(),
    )
    .await;
    assert_eq!(code, 207, "{text}");
    let (code, d) = h.get_json(&format!("/api/traces/{trace}")).await;
    assert_eq!(code, 200);
    let text = d.to_string();
    assert!(text.contains("truncated by llmtrace"), "no marker");
    assert!(
        !text.contains(&"x".repeat(256 * 1024 + 1)),
        "a value longer than the limit was stored"
    );

    let agents = serde_json::json!({"data": [
        {"object": "trace", "id": "trace_0123456789abcdef0123456789abcdef", "workflow_name": "w"},
        {"object": "trace.span", "id": "span_0123456789abcdef01234567",
         "trace_id": "trace_0123456789abcdef0123456789abcdef",
         "started_at": "2026-01-01T00:00:00Z", "ended_at": "2026-01-01T00:00:01Z",
         "span_data": {"type": "function", "name": "f", "input": big, "output": "ok"}}
    ]});
    let (code, text) = post(
        &h,
        "/v1/traces/ingest",
        "application/json",
        serde_json::to_vec(&agents).unwrap(),
    )
    .await;
    assert!(code < 300, "{code} {text}");
    let (code, d) = h
        .get_json("/api/traces/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(code, 200, "{d}");
    let text = d.to_string();
    assert!(
        text.contains("truncated by llmtrace"),
        "no marker in the agents span"
    );
    assert!(
        !text.contains(&"x".repeat(256 * 1024 + 1)),
        "a value longer than the limit was stored"
    );
    h.stop().await;
}

/// Exports over 64 KiB are decoded and converted on the blocking pool (HTTP) or converted there
/// (gRPC): the path is exercised end to end and stores every span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_exports_take_the_blocking_pool_and_are_stored_whole() {
    let h = Harness::start(Options::default()).await;
    let body = request(many_spans(3000)).encode_to_vec();
    assert!(body.len() > 64 * 1024);
    let (code, text) = post(&h, "/v1/traces", "application/x-protobuf", body).await;
    assert_eq!(code, 200, "{text}");
    let (_, trace) = h
        .get_json(&format!("/api/traces/{}", "09".repeat(16)))
        .await;
    assert_eq!(trace["spans"].as_array().unwrap().len(), 3000);

    let mut spans = many_spans(3000);
    for s in &mut spans {
        s.trace_id = vec![0x0a; 16];
    }
    let mut client = opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::connect(
        format!("http://{}", h.grpc),
    )
    .await
    .unwrap();
    client.export(request(spans)).await.unwrap();
    let (_, trace) = h
        .get_json(&format!("/api/traces/{}", "0a".repeat(16)))
        .await;
    assert_eq!(trace["spans"].as_array().unwrap().len(), 3000);
    h.stop().await;
}
