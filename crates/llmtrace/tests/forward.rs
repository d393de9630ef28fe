//! `--forward-otlp` with two real binaries: every span the first llmtrace accepts reaches the
//! second exactly once (retried deliveries to the first are not forwarded again), and a stopped
//! target does not stop ingest; its drops show on the first one's metrics and health page.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

fn metric(server: &Server, prefix: &str) -> f64 {
    let out = Command::new("curl")
        .args(["-s", &format!("{}/metrics", server.http)])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .sum()
}

#[test]
fn forwarded_spans_arrive_once_and_a_dead_target_only_counts_drops() {
    let dir = tempfile::tempdir().unwrap();
    let b = Server::start(&dir.path().join("b"));
    let a = Server::start_with(&dir.path().join("a"), &["--forward-otlp", &b.http]);
    let out = Command::new(bin())
        .args(["--server", &a.http, "demo", "--traces", "30", "--seed", "3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let a_addr = a.http.trim_start_matches("http://").to_string();
    for _ in 0..2 {
        for batch in 0..10 {
            assert_eq!(post_traces(&a_addr, &batch_body(batch)), Some(200));
        }
    }
    let (_, list_a) = a.get_json("/api/traces?limit=500");
    let ids: Vec<String> = list_a["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_string())
        .collect();
    // Every trace arrives, with every span.
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in &ids {
        loop {
            let (code_a, ta) = a.get_json(&format!("/api/traces/{id}"));
            let (code_b, tb) = b.get_json(&format!("/api/traces/{id}"));
            if code_b == 200
                && ta["spans"].as_array().map(Vec::len) == tb["spans"].as_array().map(Vec::len)
            {
                assert_eq!(code_a, 200);
                break;
            }
            assert!(Instant::now() < deadline, "{id} not forwarded");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Exactly once: the retried batches were not forwarded again.
    assert_eq!(metric(&b, "llmtrace_spans_duplicate_total "), 0.0);
    let written_a = metric(&a, "llmtrace_spans_written_total ");
    assert_eq!(metric(&b, "llmtrace_spans_written_total "), written_a);

    // A stopped target: ingest goes on, and the drops are counted and shown.
    b.stop();
    for batch in 100..105 {
        assert_eq!(post_traces(&a_addr, &batch_body(batch)), Some(200));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let dropped_only: f64 = {
            let out = Command::new("curl")
                .args(["-s", &format!("{}/metrics", a.http)])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| {
                    l.starts_with("llmtrace_forward_spans_total")
                        && l.contains("outcome=\"dropped\"")
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        if dropped_only >= 5.0 * SPANS_PER_BATCH as f64 {
            break;
        }
        assert!(Instant::now() < deadline, "drops never counted");
        std::thread::sleep(Duration::from_millis(300));
    }
    let page = Command::new("curl")
        .args(["-s", &format!("{}/health", a.http)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&page.stdout).contains("Forwarded to"));
    a.stop();
}
