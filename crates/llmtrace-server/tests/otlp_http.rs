//! OTLP/HTTP end to end in process: encodings, partial success, bad input, arrival order and
//! retries, against a real SQLite store.

mod common;

use common::*;
use prost::Message;
use std::io::Write;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(h: &Harness, path: &str, ct: &str, body: Vec<u8>) -> reqwest::Response {
    client()
        .post(h.url(path))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

const TID1: &str = "01010101010101010101010101010101";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_json_and_gzip_bodies_store_the_same_tree() {
    let h = Harness::start(Options::default()).await;
    // protobuf
    let r = post(
        &h,
        "/v1/traces",
        "application/x-protobuf",
        request(rag_spans(1)).encode_to_vec(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");
    let resp =
        opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
            r.bytes().await.unwrap(),
        )
        .unwrap();
    assert!(resp.partial_success.is_none());
    // OTLP/JSON, gzip
    let json = serde_json::to_vec(&request(rag_spans(2))).unwrap();
    let r = client()
        .post(h.url("/v1/traces"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(&json))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({})
    );

    for t in [TID1, "02020202020202020202020202020202"] {
        let (st, d) = h.get_json(&format!("/api/traces/{t}")).await;
        assert_eq!(st, 200, "{d}");
        let names: Vec<&str> = d["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["rag_query", "retrieve", "rerank", "llm_call"]);
        let kinds: Vec<&str> = d["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["span", "retriever", "span", "llm"]);
        let llm = &d["spans"][3];
        assert_eq!(llm["provider"], "anthropic");
        assert_eq!(llm["response_model"], "claude-sonnet-4-6-20260101");
        assert_eq!(llm["input_tokens"], 160);
        assert_eq!(llm["cache_read_tokens"], 30);
        assert_eq!(llm["parent_span_id"], "0101010101010101");
        assert_eq!(d["trace"]["root_name"], "rag_query");
        assert_eq!(d["trace"]["service"], "rag-app");
        assert_eq!(d["trace"]["llm_call_count"], 1);
        assert_eq!(d["trace"]["user_id"], "u-1");
        assert_eq!(d["trace"]["start_time"], "2026-01-01T00:00:00.000000000Z");
        assert_eq!(d["trace"]["duration_ms"], 2000.0);
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_first_in_three_requests_and_retries_keep_totals() {
    let h = Harness::start(Options::default()).await;
    let mut spans = rag_spans(1);
    spans.reverse();
    for part in [
        vec![spans[0].clone()],
        vec![spans[1].clone(), spans[2].clone()],
        vec![spans[3].clone()],
    ] {
        let r = post(
            &h,
            "/v1/traces",
            "application/x-protobuf",
            request(part).encode_to_vec(),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    let one_req = request(rag_spans(2)).encode_to_vec();
    for _ in 0..2 {
        let r = post(&h, "/v1/traces", "application/x-protobuf", one_req.clone()).await;
        assert_eq!(r.status(), 200, "a retried delivery is accepted");
    }
    let (_, a) = h.get_json(&format!("/api/traces/{TID1}")).await;
    let (_, b) = h
        .get_json("/api/traces/02020202020202020202020202020202")
        .await;
    let mut a = a["trace"].clone();
    let mut b = b["trace"].clone();
    a["trace_id"] = serde_json::Value::Null;
    b["trace_id"] = serde_json::Value::Null;
    assert_eq!(a, b);
    assert_eq!(a["span_count"], 4);
    assert_eq!(a["input_tokens"], 160);
    let (_, list) = h.get_json("/api/traces").await;
    assert_eq!(list["traces"].as_array().unwrap().len(), 2);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_status_and_the_server_keeps_serving() {
    let h = Harness::start(Options {
        max_body_bytes: 64 * 1024,
        max_decompressed_bytes: 256 * 1024,
        ..Default::default()
    })
    .await;
    // Malformed protobuf: 400 with a google.rpc.Status naming the problem.
    let r = post(
        &h,
        "/v1/traces",
        "application/x-protobuf",
        vec![0xff, 0xff, 0xff, 0x01],
    )
    .await;
    assert_eq!(r.status(), 400);
    let st = tonic_types::Status::decode(r.bytes().await.unwrap()).unwrap();
    assert_eq!(st.code, 3);
    assert!(
        st.message.contains("malformed OTLP protobuf"),
        "{}",
        st.message
    );
    // Malformed JSON.
    let r = post(
        &h,
        "/v1/traces",
        "application/json",
        b"{\"resourceSpans\": [".to_vec(),
    )
    .await;
    assert_eq!(r.status(), 400);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("malformed OTLP/JSON"),
        "{j}"
    );
    // Too large.
    let r = post(
        &h,
        "/v1/traces",
        "application/x-protobuf",
        vec![0u8; 100 * 1024],
    )
    .await;
    assert_eq!(r.status(), 413);
    // Gzip bomb: small on the wire, too large inflated.
    let r = client()
        .post(h.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip(&vec![0u8; 4 << 20]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Unsupported content type and encoding.
    let r = post(&h, "/v1/traces", "text/plain", b"hello".to_vec()).await;
    assert_eq!(r.status(), 415);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("application/x-protobuf"),
        "{j}"
    );
    let r = client()
        .post(h.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "br")
        .body(vec![1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Wrong method.
    let r = client().get(h.url("/v1/traces")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    // Unknown endpoint.
    assert_eq!(
        client().get(h.url("/nope")).send().await.unwrap().status(),
        404
    );
    // Invalid ids: those spans rejected with a reason, the rest stored.
    let mut spans = rag_spans(3);
    let mut zero = span(0, 9, None, "zero trace", 0, 1, vec![]);
    zero.trace_id = vec![0; 16];
    let short = Span {
        span_id: vec![1, 2, 3],
        ..span(3, 8, Some(1), "short span", 0, 1, vec![])
    };
    spans.push(zero);
    spans.push(short);
    let r = post(
        &h,
        "/v1/traces",
        "application/json",
        serde_json::to_vec(&request(spans)).unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["partialSuccess"]["rejectedSpans"], "2");
    assert!(
        j["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("all zeros"),
        "{j}"
    );
    let (st, d) = h
        .get_json("/api/traces/03030303030303030303030303030303")
        .await;
    assert_eq!(st, 200);
    assert_eq!(d["spans"].as_array().unwrap().len(), 4);
    // Bad query parameters.
    assert_eq!(h.get_json("/api/traces/xyz").await.0, 400);
    assert_eq!(
        h.get_json("/api/traces/0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f")
            .await
            .0,
        404
    );
    let (st, j) = h.get_json("/api/traces?limit=9999").await;
    assert_eq!(st, 400);
    assert!(j["error"].as_str().unwrap().contains("limit"));
    assert_eq!(h.get_json("/api/traces?since=yesterday").await.0, 400);
    assert_eq!(h.get_json("/api/traces?limit=abc").await.0, 400);
    assert_eq!(h.get_json("/api/stats?group_by=color").await.0, 400);
    // Still serving, and nothing stored was harmed.
    let (st, list) = h.get_json("/api/traces").await;
    assert_eq!(st, 200);
    assert_eq!(list["traces"].as_array().unwrap().len(), 1);
    h.stop().await;
}

use opentelemetry_proto::tonic::trace::v1::Span;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_metrics_are_accepted() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let h = Harness::start(Options::default()).await;
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: T0,
                    event_name: "gen_ai.user.message".into(),
                    trace_id: vec![1; 16],
                    span_id: vec![4; 8],
                    body: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                        value: Some(s("hi")),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let r = post(
        &h,
        "/v1/logs",
        "application/x-protobuf",
        logs.encode_to_vec(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = post(
        &h,
        "/v1/logs",
        "application/json",
        serde_json::to_vec(&logs).unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = post(
        &h,
        "/v1/metrics",
        "application/x-protobuf",
        ExportMetricsServiceRequest::default().encode_to_vec(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = post(
        &h,
        "/v1/metrics",
        "application/x-protobuf",
        vec![0xff, 0xff],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(h.pipeline.stats().spans_written, 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_ai_log_records_become_messages_of_their_span() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValueList};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let h = Harness::start(Options::default()).await;
    let r = post(
        &h,
        "/v1/traces",
        "application/x-protobuf",
        request(rag_spans(1)).encode_to_vec(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let kvlist = |pairs: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>| AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: pairs,
        })),
    };
    let record = |name: &str, body: AnyValue, t: u64| LogRecord {
        time_unix_nano: T0 + t,
        event_name: name.into(),
        trace_id: vec![1; 16],
        span_id: vec![4; 8],
        body: Some(body),
        ..Default::default()
    };
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    record(
                        "gen_ai.user.message",
                        kvlist(vec![kv("content", s("Summarize the contract"))]),
                        1,
                    ),
                    record(
                        "gen_ai.choice",
                        kvlist(vec![
                            kv("index", i(0)),
                            kv("finish_reason", s("stop")),
                            kv(
                                "message",
                                any_value::Value::KvlistValue(KeyValueList {
                                    values: vec![kv("content", s("Three clauses."))],
                                }),
                            ),
                        ]),
                        2,
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let r = post(
        &h,
        "/v1/logs",
        "application/x-protobuf",
        logs.encode_to_vec(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let (_, d) = h.get_json(&format!("/api/traces/{TID1}")).await;
    let llm = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "llm_call")
        .unwrap();
    assert_eq!(llm["input_messages"][0]["role"], "user");
    assert_eq!(
        llm["input_messages"][0]["parts"][0]["content"],
        "Summarize the contract"
    );
    assert_eq!(
        llm["output_messages"][0]["parts"][0]["content"],
        "Three clauses."
    );
    let names: Vec<&str> = llm["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gen_ai.user.message", "gen_ai.choice"]);
    let root = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "rag_query")
        .unwrap();
    assert!(root["input_messages"].as_array().unwrap().is_empty());
    h.stop().await;
}
