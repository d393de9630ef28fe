//! The binary on the ClickHouse store with real `clickhouse-server` processes: two llmtrace
//! nodes writing to one ClickHouse show the same traces, and ClickHouse killed during ingest
//! gives clients retryable errors while every acknowledged span is present exactly once after
//! it is back.

mod common;

use common::*;
use llmtrace_store_clickhouse::testserver::{start_replicated_cluster, start_server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Spans `ids` of trace `trace`, children of `parent`; without a parent the first is the root
/// and the others its children. Each child is an LLM call of 10 input tokens.
fn spans(trace: &str, parent: Option<u64>, ids: std::ops::Range<u64>) -> Vec<Value> {
    let t0 = now_ns() - 10_000_000_000;
    let first = ids.start;
    ids.map(|i| {
        let mut s = json!({
            "traceId": trace, "spanId": format!("{i:016x}"), "name": format!("step {i}"),
            "kind": 1, "startTimeUnixNano": (t0 + i * 1_000_000).to_string(),
            "endTimeUnixNano": (t0 + i * 1_000_000 + 500_000).to_string(),
            "attributes": [
                {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "2"}}
            ]
        });
        match parent {
            Some(p) => s["parentSpanId"] = json!(format!("{p:016x}")),
            None if i == first => s["attributes"] = json!([]),
            None => s["parentSpanId"] = json!(format!("{first:016x}")),
        }
        s
    })
    .collect()
}

fn post(base: &str, spans: Vec<Value>) -> (u16, Option<String>) {
    post_otlp_json(base, "ch-e2e", spans)
}

fn start_node(data: &std::path::Path, store: &str) -> Server {
    Server::start_with(data, &["--store", store])
}

#[test]
fn two_nodes_on_one_clickhouse_show_the_same_traces() {
    let Some(ch) = start_server() else { return };
    let store = format!("clickhouse://127.0.0.1:{}/llmtrace_two_nodes", ch.http_port);
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_node(da.path(), &store);
    let b = start_node(db.path(), &store);
    // One trace split across the nodes (children on A, root and more children on B), and one
    // trace per node.
    let shared = "5a".repeat(16);
    assert_eq!(post(&a.http, spans(&shared, Some(10), 11..15)).0, 200);
    let mut rest = spans(&shared, None, 10..11);
    rest.extend(spans(&shared, Some(10), 15..17));
    assert_eq!(post(&b.http, rest).0, 200);
    assert_eq!(post(&a.http, spans(&"a1".repeat(16), None, 1..4)).0, 200);
    assert_eq!(post(&b.http, spans(&"b2".repeat(16), None, 1..3)).0, 200);
    let (sa, la) = a.get_json("/api/traces");
    let (sb, lb) = b.get_json("/api/traces");
    assert_eq!((sa, sb), (200, 200));
    assert_eq!(la, lb, "both nodes list the same traces");
    assert_eq!(la["traces"].as_array().unwrap().len(), 3, "{la:#}");
    for node in [&a, &b] {
        let (st, d) = node.get_json(&format!("/api/traces/{shared}"));
        assert_eq!(st, 200, "{d}");
        let t = &d["trace"];
        assert_eq!(t["span_count"], 7, "{t:#}");
        assert_eq!(t["llm_call_count"], 6, "{t:#}");
        assert_eq!(t["has_root"], true, "{t:#}");
        assert_eq!(t["root_name"], "step 10", "{t:#}");
        // Six calls (the root has no model attributes) of 10 input tokens.
        assert_eq!(t["input_tokens"], 60, "{t:#}");
    }
    a.stop();
    b.stop();
}

/// Two llmtrace nodes with one configuration on a cluster of two shards of two replicas: a
/// trace written half through each is listed whole by both, right after the writes were
/// acknowledged.
#[test]
fn two_nodes_on_a_replicated_cluster_show_the_same_traces() {
    let Some(cluster) = start_replicated_cluster() else {
        return;
    };
    let url = |i: usize| {
        format!(
            "clickhouse://127.0.0.1:{}/llmtrace_replicated",
            cluster.nodes[i].http_port
        )
    };
    let store = [0, 1, 2, 3].map(url).join(",");
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cluster_args = ["--clickhouse-cluster", "llm_cluster"];
    let args = [&["--store", store.as_str()][..], &cluster_args].concat();
    let a = Server::start_with(da.path(), &args);
    let b = Server::start_with(db.path(), &args);
    let mut ids = Vec::new();
    for n in 0..8u64 {
        let trace = format!("{:032x}", 0xc0ffee00 + n);
        // Children through A, then the root and one more child through B.
        assert_eq!(post(&a.http, spans(&trace, Some(10), 11..14)).0, 200);
        let mut rest = spans(&trace, None, 10..11);
        rest.extend(spans(&trace, Some(10), 14..15));
        assert_eq!(post(&b.http, rest).0, 200);
        ids.push(trace);
        // Each node lists every trace whole right away.
        for node in [&a, &b] {
            let (st, list) = node.get_json("/api/traces?limit=100");
            assert_eq!(st, 200, "{list}");
            let traces = list["traces"].as_array().unwrap();
            assert_eq!(traces.len(), ids.len(), "{list:#}");
            for t in traces {
                assert_eq!(t["span_count"], 5, "{t:#}");
                assert_eq!(t["llm_call_count"], 4, "{t:#}");
                assert_eq!(t["has_root"], true, "{t:#}");
            }
        }
    }
    let shards: Vec<u64> = [0, 2]
        .iter()
        .map(|&i| {
            llmtrace_store_clickhouse::testserver::http_query(
                cluster.nodes[i].http_port,
                "SELECT count() FROM llmtrace_replicated.spans_local",
            )
            .parse()
            .unwrap()
        })
        .collect();
    assert!(
        shards.iter().all(|&n| n > 0),
        "spans on both shards: {shards:?}"
    );
    a.stop();
    b.stop();
}

#[test]
fn clickhouse_killed_during_ingest_loses_no_acknowledged_span() {
    let Some(mut ch) = start_server() else { return };
    let store = format!("clickhouse://127.0.0.1:{}/llmtrace_kill", ch.http_port);
    let data = tempfile::tempdir().unwrap();
    let node = start_node(data.path(), &store);
    const PER_REQUEST: u64 = 25;
    let mut acked: Vec<String> = Vec::new();
    let mut retryable = 0;
    let mut n = 0u64;
    let mut send = |acked: &mut Vec<String>, retryable: &mut i32| {
        n += 1;
        let trace = format!("{:032x}", 0x00C0_FFEE_0000_u64 + n);
        let (status, retry_after) = post(&node.http, spans(&trace, None, 1..PER_REQUEST + 1));
        match status {
            200 => acked.push(trace),
            503 | 429 => {
                assert!(retry_after.is_some(), "{status} without Retry-After");
                *retryable += 1;
            }
            other => panic!("unexpected status {other} for a retryable outage"),
        }
    };
    for _ in 0..20 {
        send(&mut acked, &mut retryable);
    }
    assert_eq!(acked.len(), 20, "all accepted while ClickHouse runs");
    ch.kill();
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(8) {
        send(&mut acked, &mut retryable);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        retryable > 0,
        "clients were told to retry while ClickHouse was down"
    );
    ch.restart();
    // Back: ingest recovers on its own.
    let deadline = Instant::now() + Duration::from_secs(60);
    let before = acked.len();
    while acked.len() < before + 10 {
        assert!(Instant::now() < deadline, "ingest did not recover");
        send(&mut acked, &mut retryable);
    }
    // Every acknowledged span is there exactly once.
    for trace in &acked {
        let (st, d) = node.get_json(&format!("/api/traces/{trace}"));
        assert_eq!(st, 200, "acknowledged trace {trace} missing: {d}");
        assert_eq!(
            d["trace"]["span_count"], PER_REQUEST,
            "{trace}: {:#}",
            d["trace"]
        );
        assert_eq!(d["spans"].as_array().unwrap().len() as u64, PER_REQUEST);
    }
    eprintln!(
        "{} requests acknowledged, {retryable} answered retryable during the outage",
        acked.len()
    );
    node.stop();
}

/// Runs `llmtrace serve` with `extra` arguments, expecting it to refuse to start: its stderr.
fn serve_refuses(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args([
            "--http-listen",
            &format!("127.0.0.1:{}", free_port()),
            "--grpc-listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .args(extra)
        .output()
        .expect("run llmtrace serve");
    assert!(!out.status.success(), "serve should refuse {extra:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Retention on ClickHouse is deleted by TTL: asked of a ClickHouse without TTL (18.16), `serve`
/// refuses to start with a clear message instead of keeping data silently; a retention of 0
/// days is refused on every store (the SQLite store keeps retention itself: `retention.rs`).
#[test]
fn retention_is_refused_where_it_cannot_be_kept() {
    let err = serve_refuses(&["--retention-days", "0"]);
    assert!(err.contains("at least 1"), "{err}");
    let Some(ch) = start_server() else { return };
    let store = format!("clickhouse://127.0.0.1:{}/llmtrace_retention", ch.http_port);
    let err = serve_refuses(&["--store", &store, "--retention-days", "7"]);
    assert!(err.contains("retention needs ClickHouse 19.6"), "{err}");
}
