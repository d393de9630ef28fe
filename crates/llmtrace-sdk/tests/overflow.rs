//! A tiny queue forced to overflow: the SDK drops without blocking, counts, and the count reaches
//! the server (`GET /api/ingest`, `/metrics`). Also: content capture is off by default.

mod common;

use common::{get_json, mock, server, wait_trace};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_overflow_is_counted_and_reported() {
    std::env::remove_var(llmtrace_sdk::CAPTURE_CONTENT_ENV);
    let guard = llmtrace_sdk::Builder::new()
        .service_name("overflow-test")
        .endpoint(server().url(""))
        .max_queue_size(2)
        .max_export_batch_size(2)
        .scheduled_delay(Duration::from_secs(30))
        .metrics_endpoint(mock().url("/v1/metrics"))
        .install()
        .unwrap();

    // Content capture is off by default: a provider call records no messages.
    let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());
    let resp = client
        .post(mock().url("/v1/chat/completions"))
        .json(
            &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "secret prompt"}]}),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("Hello world"));
    guard.flush().unwrap();
    let tp = mock().state.traceparents.lock().unwrap()[0].clone();
    let tid = tp.split('-').nth(1).unwrap().to_string();
    let t = wait_trace(&tid, 1).await;
    let s = &t["spans"][0];
    assert_eq!(s["name"], "chat gpt-4o");
    assert_eq!(s["input_tokens"], 50);
    assert!(
        s["input_messages"].is_null() || s["input_messages"] == json!([]),
        "{s:#}"
    );
    assert!(
        s["output_messages"].is_null() || s["output_messages"] == json!([]),
        "{s:#}"
    );
    assert!(!s["attributes"].to_string().contains("secret prompt"));
    assert_eq!(guard.dropped_spans(), 0);

    // A burst far larger than the queue: finishing spans never blocks, the excess is dropped.
    for i in 0..2000 {
        let _s = tracing::info_span!("burst", i).entered();
    }
    let dropped = guard.dropped_spans();
    assert!(dropped > 0, "nothing dropped");
    guard.flush().unwrap();
    assert_eq!(
        guard.dropped_spans(),
        dropped,
        "flushing drops nothing more"
    );

    let mut seen = 0;
    for _ in 0..200 {
        let (_, v) = get_json("/api/ingest").await;
        seen = v["sdk_dropped_spans"]["total"].as_u64().unwrap_or(0);
        if seen >= dropped {
            assert_eq!(
                v["sdk_dropped_spans"]["by_service"]["overflow-test"],
                dropped
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, dropped, "the server saw every drop");
    let metrics = reqwest::get(server().url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("llmtrace_sdk_dropped_spans_total")
                && l.ends_with(&format!(" {dropped}"))),
        "{metrics}"
    );

    // The same count, as the OTLP metric `llmtrace.sdk.dropped_spans`.
    guard.flush_metrics().unwrap();
    assert_eq!(
        common::last_sum_value(llmtrace_semconv::llmtrace::SDK_DROPPED_SPANS),
        Some(dropped as i64)
    );
    drop(guard);
}
