//! OTLP/gRPC export (gzip), and overload: with a tiny queue and a stalled writer the server
//! answers at once with retryable errors (HTTP 503 + Retry-After, gRPC UNAVAILABLE + RetryInfo),
//! and every span it acknowledged is stored.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use std::time::Duration;
use tonic::codec::CompressionEncoding;
use tonic_types::StatusExt;

async fn grpc_client(h: &Harness) -> TraceServiceClient<tonic::transport::Channel> {
    TraceServiceClient::connect(format!("http://{}", h.grpc))
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_gzip_export_stores_the_tree_and_reports_partial_success() {
    let h = Harness::start(Options::default()).await;
    let mut spans = rag_spans(7);
    let mut bad = span(7, 9, Some(1), "bad", 0, 1, vec![]);
    bad.span_id = vec![0; 8];
    spans.push(bad);
    let resp = grpc_client(&h)
        .await
        .export(request(spans))
        .await
        .unwrap()
        .into_inner();
    let ps = resp.partial_success.expect("partial success");
    assert_eq!(ps.rejected_spans, 1);
    assert!(
        ps.error_message.contains("span_id is all zeros"),
        "{}",
        ps.error_message
    );
    let (st, d) = h
        .get_json("/api/traces/07070707070707070707070707070707")
        .await;
    assert_eq!(st, 200);
    assert_eq!(d["spans"].as_array().unwrap().len(), 4);
    assert_eq!(d["spans"][3]["kind"], "llm");
    assert_eq!(d["spans"][3]["output_tokens"], 45);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_retryable_errors_and_loses_no_acknowledged_span() {
    let h = Harness::start(Options {
        gated: true,
        queue_max_spans: 8,
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let post = |trace: u8| {
        let http = http.clone();
        let url = h.url("/v1/traces");
        async move {
            http.post(url)
                .header("content-type", "application/x-protobuf")
                .body(request(rag_spans(trace)).encode_to_vec())
                .send()
                .await
                .unwrap()
        }
    };
    // Two requests of 4 spans fill the queue; the writer is stalled so neither is answered yet.
    let first = tokio::spawn(post(1));
    let second = tokio::spawn(post(2));
    let mut waited = 0;
    while h.pipeline.stats().queued_items < 8 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
        assert!(waited < 500, "queue never filled");
    }
    // The third is refused at once with a retry hint.
    let r = post(3).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let st = tonic_types::Status::decode(r.bytes().await.unwrap()).unwrap();
    assert!(st.message.contains("queue full"), "{}", st.message);
    // gRPC: UNAVAILABLE with RetryInfo.
    let err = grpc_client(&h)
        .await
        .export(request(rag_spans(4)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let retry = err.get_details_retry_info().expect("RetryInfo");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));
    // While the writer is stalled the admitted requests stay unanswered (no acknowledgement
    // before the data is durable).
    assert!(
        !first.is_finished() && !second.is_finished(),
        "acknowledged before stored"
    );
    // Release the writer: the two admitted requests are acknowledged, and they are stored.
    h.store.gate.as_ref().unwrap().add_permits(1000);
    assert_eq!(first.await.unwrap().status(), 200);
    assert_eq!(second.await.unwrap().status(), 200);
    for (t, present) in [(1u8, true), (2, true), (3, false), (4, false)] {
        let id = format!("{:02x}", t).repeat(16);
        let (st, d) = h.get_json(&format!("/api/traces/{id}")).await;
        assert_eq!(st == 200, present, "trace {t}: {d}");
        if present {
            assert_eq!(d["trace"]["span_count"], 4);
        }
    }
    h.stop().await;
}

/// A message the server cannot decode, and one over the size limit, get `INVALID_ARGUMENT`
/// (exporters drop it), not `INTERNAL` / `OUT_OF_RANGE` (which they retry forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_and_oversized_grpc_messages_get_a_permanent_code() {
    /// Field 1 (`resource_spans`, a message) filled with bytes that are no message.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Garbage {
        #[prost(bytes = "vec", tag = "1")]
        resource_spans: Vec<u8>,
    }
    let h = Harness::start(Options::default()).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", h.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel.clone());
    client.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    let codec: tonic_prost::ProstCodec<
        Garbage,
        opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
    > = tonic_prost::ProstCodec::default();
    let err = client
        .unary(
            tonic::Request::new(Garbage {
                resource_spans: vec![0xff; 16],
            }),
            path,
            codec,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    // Over the 1 MiB limit of the harness.
    let mut spans = rag_spans(9);
    spans[0].attributes.push(kv("big", s(&"x".repeat(2 << 20))));
    let err = TraceServiceClient::new(channel)
        .export(request(spans))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    h.stop().await;
}

/// Per-project admission: while another project waits in the queue, a project over its share
/// gets 429 + `Retry-After` (gRPC `RESOURCE_EXHAUSTED` + `RetryInfo`), and the other project is
/// still admitted; every admitted request is stored once the writer runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_over_its_queue_share_gets_429_while_another_waits() {
    let h = Harness::start(Options {
        gated: true,
        queue_max_spans: 100,
        max_project_share: 0.5,
        keys: vec![
            llmtrace_server::ApiKey::new("noisy", "pk-noisy", "sk-noisy"),
            llmtrace_server::ApiKey::new("quiet", "pk-quiet", "sk-quiet"),
        ],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let post = |trace: u8, key: &'static str| {
        let (http, url) = (http.clone(), h.url("/v1/traces"));
        async move {
            http.post(url)
                .bearer_auth(key)
                .header("content-type", "application/x-protobuf")
                .body(request(rag_spans(trace)).encode_to_vec())
                .send()
                .await
                .unwrap()
        }
    };
    let wait_queued = |n: usize| {
        let p = h.pipeline.clone();
        async move {
            for _ in 0..500 {
                if p.stats().queued_items >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("queue never reached {n}");
        }
    };
    // Alone, the noisy project may take more than half the queue: 13 requests of 4 spans.
    let mut admitted = Vec::new();
    for t in 0..13u8 {
        admitted.push(tokio::spawn(post(t + 1, "sk-noisy")));
    }
    wait_queued(52).await;
    // The quiet project gets in beside it.
    admitted.push(tokio::spawn(post(50, "sk-quiet")));
    wait_queued(56).await;
    // Now noisy is over its share while quiet waits: 429 with a retry hint, on both transports.
    let r = post(60, "sk-noisy").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    let mut req = tonic::Request::new(request(rag_spans(61)));
    req.metadata_mut()
        .insert("authorization", "Bearer sk-noisy".parse().unwrap());
    let err = grpc_client(&h).await.export(req).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    assert!(err.get_details_retry_info().is_some(), "RetryInfo");
    // The quiet project is still admitted.
    admitted.push(tokio::spawn(post(51, "sk-quiet")));
    wait_queued(60).await;
    h.store.gate.as_ref().unwrap().add_permits(1000);
    for a in admitted {
        assert_eq!(a.await.unwrap().status(), 200);
    }
    h.stop().await;
}
