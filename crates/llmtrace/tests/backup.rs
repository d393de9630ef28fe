//! `llmtrace backup` against the real binary during sustained ingest: the copy opens in a new
//! server and holds every batch acknowledged before the backup started; ingest never stopped;
//! a ClickHouse store gets an explanation instead of a copy.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn backup_during_ingest_holds_every_acknowledged_span_and_opens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let addr = server.http.trim_start_matches("http://").to_string();
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..2u64)
        .map(|s| {
            let (addr, acked, stop) = (addr.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut batch = s;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(post_traces(&addr, &batch_body(batch)), Some(200));
                    acked.lock().unwrap().insert(batch);
                    batch += 2;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "ingest stalled");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The backup, while the senders keep going.
    let before: BTreeSet<u64> = acked.lock().unwrap().clone();
    let copy = dir.path().join("copy.db");
    let out = Command::new(bin())
        .args(["backup", copy.to_str().unwrap(), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("verified"), "{text}");
    let during = acked.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().unwrap();
    }
    assert!(
        acked.lock().unwrap().len() > during,
        "ingest went on after the backup"
    );
    eprintln!("backup: {text}");
    // The span count it reports covers at least what was acknowledged before.
    let spans: u64 = text
        .split(" spans")
        .next()
        .and_then(|t| t.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a span count");
    assert!(spans >= before.len() as u64 * SPANS_PER_BATCH, "{text}");
    // A second backup to the same file is refused, not overwritten.
    let again = Command::new(bin())
        .args(["backup", copy.to_str().unwrap(), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!again.status.success());
    server.stop();

    // Restore: a data dir holding the copy serves every batch acknowledged before the backup.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&copy, restored.join("llmtrace.db")).unwrap();
    let server = Server::start(&restored);
    for b in &before {
        let (code, trace) = server.get_json(&format!("/api/traces/{}", batch_trace_id(*b)));
        assert_eq!(code, 200, "batch {b} missing from the backup");
        assert_eq!(
            trace["spans"].as_array().unwrap().len() as u64,
            SPANS_PER_BATCH
        );
    }
    server.stop();

    // A ClickHouse store: an explanation, no file.
    let ch = dir.path().join("ch.db");
    let out = Command::new(bin())
        .args([
            "backup",
            ch.to_str().unwrap(),
            "--store",
            "clickhouse://127.0.0.1:1/db",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BACKUP DATABASE"));
    assert!(!ch.exists());
}
