//! Retention on the embedded store, with the real binary: with `--retention-days 1`, traces
//! that started two days ago disappear (trace, search, statistics, sessions) within a pass
//! while recent ones stay and ingest goes on, the deletions are counted on `/metrics`, and over
//! repeated rounds of ingest and expiry the database file stops growing.

mod common;

use common::*;
use std::time::{Duration, Instant};

const DAY_NS: u64 = 86_400_000_000_000;

/// Trace `n` of round `round`: 20 LLM calls with a prompt (search) and a session, started
/// `age_ns` ago.
fn round_trace(round: u64, n: u64, age_ns: u64, tag: &str) -> (String, Vec<serde_json::Value>) {
    let trace = format!("{:016x}{:016x}", 0x5e7e_0000 + round, n + 1);
    let t0 = now_ns().saturating_sub(age_ns);
    let spans = (0..20u64)
        .map(|i| {
            serde_json::json!({
                "traceId": trace,
                "spanId": format!("{:016x}", i + 1),
                "name": "chat gpt-4o-mini",
                "kind": 3,
                "startTimeUnixNano": (t0 + i).to_string(),
                "endTimeUnixNano": (t0 + 2_000_000 + i).to_string(),
                "attributes": [
                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                    {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "5"}},
                    {"key": "session.id", "value": {"stringValue": format!("{tag}-session")}},
                    {"key": "gen_ai.prompt", "value": {"stringValue": format!("{tag}word {}", "lorem ipsum ".repeat(40))}}
                ]
            })
        })
        .collect();
    (trace, spans)
}

/// Bytes of the database and its write-ahead log.
fn db_bytes(dir: &std::path::Path) -> u64 {
    ["llmtrace.db", "llmtrace.db-wal"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
        .sum()
}

#[test]
fn expired_traces_disappear_everywhere_and_the_file_stops_growing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &["--retention-days", "1", "--retention-interval-seconds", "1"],
    );
    let mut sizes = Vec::new();
    let mut recent_ids = Vec::new();
    for round in 0..5u64 {
        let mut old_ids = Vec::new();
        for n in 0..40 {
            let (old, spans) = round_trace(round, n, 2 * DAY_NS, "expired");
            assert_eq!(post_otlp_json(&server.http, "ret", spans).0, 200);
            old_ids.push(old);
        }
        let (recent, spans) = round_trace(100 + round, 0, 0, "recent");
        assert_eq!(post_otlp_json(&server.http, "ret", spans).0, 200);
        recent_ids.push(recent);
        // Within a pass or two, every expired trace is gone.
        let deadline = Instant::now() + Duration::from_secs(30);
        for id in &old_ids {
            loop {
                let (code, _) = server.get_json(&format!("/api/traces/{id}"));
                if code == 404 {
                    break;
                }
                assert!(Instant::now() < deadline, "{id} not expired");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        sizes.push(db_bytes(dir.path()));
    }
    // Gone from search, sessions and statistics; the recent traces stay whole.
    let (_, found) = server.get_json("/api/traces?q=expiredword");
    assert_eq!(found["traces"].as_array().map(Vec::len), Some(0), "{found}");
    let (_, found) = server.get_json("/api/traces?q=recentword");
    assert_eq!(found["traces"].as_array().map(Vec::len), Some(5), "{found}");
    let (_, sessions) = server.get_json("/api/sessions");
    let text = sessions.to_string();
    assert!(
        !text.contains("expired-session") && text.contains("recent-session"),
        "{text}"
    );
    let (_, stats) = server.get_json("/api/stats");
    let calls: u64 = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["calls"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(calls, 5 * 20, "{stats}");
    for id in &recent_ids {
        let (code, t) = server.get_json(&format!("/api/traces/{id}"));
        assert_eq!(code, 200);
        assert_eq!(t["spans"].as_array().unwrap().len(), 20);
    }
    // Counted on /metrics.
    let out = std::process::Command::new("curl")
        .args(["-s", &format!("{}/metrics", server.http)])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&out.stdout);
    let deleted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("llmtrace_retention_deleted_traces_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("retention counter");
    assert_eq!(deleted, 200.0);
    // Freed pages are reused: after the first rounds the files do not keep growing (each round
    // adds as much as retention deletes).
    eprintln!("retention: database and WAL bytes after each round {sizes:?}");
    let settled = sizes[1];
    let last = *sizes.last().unwrap();
    assert!(
        last <= settled + settled / 4,
        "the file kept growing: {sizes:?}"
    );
    server.stop();
}

/// `--max-disk-bytes`: once the data passes the limit, the oldest traces are deleted until it is
/// back under 90 % of it; the newest stay, the deletions are counted and shown on the health
/// page, and the file stops growing near the limit.
#[test]
fn the_disk_limit_deletes_the_oldest_traces_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            "--max-disk-bytes",
            "1MiB",
            "--retention-interval-seconds",
            "1",
        ],
    );
    let mut rounds: Vec<Vec<String>> = Vec::new();
    let mut sizes = Vec::new();
    for round in 0..8u64 {
        let ids: Vec<String> = (0..40)
            .map(|n| {
                let (id, spans) = round_trace(200 + round, n, 0, "disk");
                assert_eq!(post_otlp_json(&server.http, "disk", spans).0, 200);
                id
            })
            .collect();
        rounds.push(ids);
        std::thread::sleep(Duration::from_millis(1500));
        sizes.push(std::fs::metadata(dir.path().join("llmtrace.db")).map_or(0, |m| m.len()));
    }
    // Let a last pass run.
    std::thread::sleep(Duration::from_millis(1500));
    eprintln!("disk limit: database bytes (without the WAL) after each round {sizes:?}");
    let present = |id: &String| server.get_json(&format!("/api/traces/{id}")).0 == 200;
    assert!(
        rounds[0].iter().all(|id| !present(id)),
        "the oldest traces were deleted"
    );
    assert!(rounds[7].iter().all(present), "the newest traces stay");
    let out = std::process::Command::new("curl")
        .args(["-s", &format!("{}/metrics", server.http)])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&out.stdout);
    let deleted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("llmtrace_disk_limit_deleted_traces_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("disk limit counter");
    assert!(deleted >= 40.0, "{deleted}");
    let page = std::process::Command::new("curl")
        .args(["-s", &format!("{}/health", server.http)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&page.stdout).contains("Deleted for the disk limit"));
    // Without the limit, eight rounds take several times the limit; with it the database file
    // stays near it (the write-ahead log comes on top).
    let last = *sizes.last().unwrap();
    assert!(last < 2 * 1024 * 1024, "{sizes:?}");
    server.stop();
}
