//! `GET /metrics` and `GET /api/ingest` in process: LLM metrics derived from stored spans,
//! each call once (retries, wrappers and incomplete copies excluded), label limits, SDK-reported
//! drops, both exposition formats, and `promtool check metrics` on the output.

mod common;

use common::*;
use std::collections::HashMap;

async fn send(h: &Harness, spans: Vec<opentelemetry_proto::tonic::trace::v1::Span>) {
    assert_eq!(post_spans(h, spans, None).await, 200);
}

async fn scrape(h: &Harness, accept: Option<&str>) -> (String, String) {
    let mut rq = reqwest::Client::new().get(h.url("/metrics"));
    if let Some(a) = accept {
        rq = rq.header("accept", a);
    }
    let r = rq.send().await.unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    (ct, r.text().await.unwrap())
}

/// Sample values by their full series text (`name{labels}`).
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn llm(trace: u8, id: u8, parent: Option<u8>, model: &str, input: i64, dur_ms: u64) -> Span {
    let mut sp = span(
        trace,
        id,
        parent,
        &format!("chat {model}"),
        0,
        dur_ms,
        vec![
            kv("gen_ai.provider.name", s("openai")),
            kv("gen_ai.operation.name", s("chat")),
            kv("gen_ai.request.model", s(model)),
            kv("gen_ai.usage.input_tokens", i(input)),
            kv("gen_ai.usage.output_tokens", i(10)),
        ],
    );
    sp.kind = 3;
    sp
}

use opentelemetry_proto::tonic::trace::v1::Span;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_counts_once_in_the_llm_metrics() {
    let h = Harness::start(Options::default()).await;
    // A RAG trace (one anthropic call with cache reads), sent twice (a retried delivery).
    send(&h, rag_spans(1)).await;
    send(&h, rag_spans(1)).await;
    // A wrapper and the SDK span inside it, in two requests: one call.
    send(&h, vec![llm(2, 1, None, "gpt-4o", 100, 2000)]).await;
    send(&h, vec![llm(2, 2, Some(1), "gpt-4o", 120, 1900)]).await;
    // A failed call of 12 s.
    let mut failed = llm(3, 1, None, "gpt-4o", 50, 12_000);
    failed.status = error_status("rate limited");
    failed.attributes.push(kv("error.type", s("429")));
    send(&h, vec![failed]).await;
    let (ct, text) = scrape(&h, None).await;
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let m = samples(&text);
    let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("no {k} in\n{text}"));
    let gpt =
        r#"project="default",model="gpt-4o",provider="openai",operation="chat",service="rag-app""#;
    assert_eq!(get(&format!("llm_calls_total{{{gpt}}}")), 2.0);
    assert_eq!(
        get(
            r#"llm_calls_total{project="default",model="claude-sonnet-4-6-20260101",provider="anthropic",operation="chat",service="rag-app"}"#
        ),
        1.0
    );
    // The wrapper arrived first, so its figures count (100 + 50 input), never both copies.
    assert_eq!(
        get(r#"llm_tokens_total{project="default",model="gpt-4o",provider="openai",type="input"}"#),
        150.0
    );
    assert_eq!(
        get(
            r#"llm_tokens_total{project="default",model="claude-sonnet-4-6-20260101",provider="anthropic",type="cache_read"}"#
        ),
        30.0
    );
    assert_eq!(
        get(
            r#"llm_errors_total{project="default",model="gpt-4o",provider="openai",error_type="429"}"#
        ),
        1.0
    );
    // The 12 s call lands above the 10 s bucket.
    assert_eq!(
        get(&format!("llm_call_seconds_bucket{{{gpt},le=\"10\"}}")),
        1.0
    );
    assert_eq!(
        get(&format!("llm_call_seconds_bucket{{{gpt},le=\"15\"}}")),
        2.0
    );
    assert_eq!(get(&format!("llm_call_seconds_count{{{gpt}}}")), 2.0);
    assert!((get(&format!("llm_call_seconds_sum{{{gpt}}}")) - 14.0).abs() < 1e-9);
    // Cost: the anthropic call is priced by the built-in table; gpt-4o too.
    assert!(
        get(
            r#"llm_cost_usd_total{project="default",model="claude-sonnet-4-6-20260101",provider="anthropic"}"#
        ) > 0.0
    );
    // The OTel GenAI histograms.
    assert_eq!(
        get(
            r#"gen_ai_client_token_usage_count{project="default",gen_ai_token_type="input",gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_response_model="unknown"}"#
        ),
        2.0
    );
    assert_eq!(
        get(
            r#"gen_ai_client_operation_duration_seconds_count{project="default",gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_response_model="unknown",error_type="429"}"#
        ),
        1.0
    );
    // Self metrics: 4 + 4 + 1 + 1 + 1 spans received, the retry is a duplicate.
    assert_eq!(get("llmtrace_spans_received_total"), 11.0);
    assert_eq!(get("llmtrace_spans_accepted_total"), 11.0);
    assert_eq!(get("llmtrace_spans_written_total"), 7.0);
    assert_eq!(get("llmtrace_spans_duplicate_total"), 4.0);
    assert_eq!(get("llmtrace_queue_capacity_items"), 100_000.0);
    assert!(get("llmtrace_store_size_bytes") > 0.0);
    // Trace 2 has a root; every stored trace here does, so no orphans.
    assert_eq!(get("llmtrace_orphan_traces"), 0.0);
    promtool_check(&text);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_bounded_and_sdk_drops_are_visible() {
    let h = Harness::start(Options {
        max_label_values: 2,
        ..Default::default()
    })
    .await;
    for (t, model) in [(1, "m-a"), (2, "m-b"), (3, "m-c"), (4, "m-d")] {
        send(&h, vec![llm(t, 1, None, model, 10, 100)]).await;
    }
    let mut reporter = span(9, 1, None, "batch export", 0, 1, vec![]);
    reporter
        .attributes
        .push(kv("llmtrace.sdk.dropped_spans", i(17)));
    send(&h, vec![reporter.clone()]).await;
    send(&h, vec![reporter]).await; // a retry adds nothing
    let (_, text) = scrape(&h, None).await;
    let m = samples(&text);
    let calls = |model: &str| {
        m.get(&format!(
            r#"llm_calls_total{{project="default",model="{model}",provider="openai",operation="chat",service="rag-app"}}"#
        ))
        .copied()
    };
    assert_eq!(calls("m-a"), Some(1.0));
    assert_eq!(calls("m-b"), Some(1.0));
    assert_eq!(calls("other"), Some(2.0));
    assert_eq!(calls("m-c"), None);
    assert_eq!(
        m[r#"llmtrace_label_values_overflowed_total{label="model"}"#], 4.0,
        "two calls, each with model and request model past the limit"
    );
    assert_eq!(
        m[r#"llmtrace_sdk_dropped_spans_total{service="rag-app"}"#],
        17.0
    );
    let (status, ingest) = h.get_json("/api/ingest").await;
    assert_eq!(status, 200);
    assert_eq!(ingest["sdk_dropped_spans"]["total"], 17);
    assert_eq!(ingest["sdk_dropped_spans"]["by_service"]["rag-app"], 17);
    assert_eq!(ingest["spans_written"], 5);
    assert_eq!(ingest["spans_duplicate"], 1);
    assert_eq!(ingest["spans_rejected"]["invalid"], 0);
    // OpenMetrics when asked: counters named without `_total`, `# EOF` at the end.
    let (ct, om) = scrape(&h, Some("application/openmetrics-text;version=1.0.0")).await;
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(om.contains("# TYPE llm_calls counter\n"));
    assert!(om.contains("# UNIT llm_call_seconds seconds\n"));
    assert!(om.ends_with("# EOF\n"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_spans_and_bad_requests_are_counted() {
    let h = Harness::start(Options::default()).await;
    let mut bad = span(1, 1, None, "x", 0, 1, vec![]);
    bad.trace_id = vec![0; 16]; // an invalid (all-zero) trace id
    send(&h, vec![bad, span(1, 2, None, "ok", 0, 1, vec![])]).await;
    let r = reqwest::Client::new()
        .post(h.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff, 0xff, 0xff])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (_, text) = scrape(&h, None).await;
    let m = samples(&text);
    assert_eq!(m[r#"llmtrace_spans_rejected_total{reason="invalid"}"#], 1.0);
    assert_eq!(
        m[r#"llmtrace_requests_rejected_total{reason="invalid"}"#],
        1.0
    );
    assert_eq!(m["llmtrace_spans_received_total"], 2.0);
    assert_eq!(m["llmtrace_spans_accepted_total"], 1.0);
    promtool_check(&text);
    h.stop().await;
}

/// Runs `promtool check metrics` on the exposition (its linter: HELP, TYPE, naming, units).
fn promtool_check(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping promtool check: promtool not runnable ({e})");
            return;
        }
        Err(e) => panic!("promtool is required in CI: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
