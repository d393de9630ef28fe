//! Crash safety of the real binary: `kill -9` during sustained ingest, several times over one
//! data dir. Every acknowledged span is stored, once; batches the clients never saw answered are
//! delivered again (as an OTLP exporter retries), some acknowledged ones twice, and nothing is
//! counted twice: `/api/stats` counts exactly one call per stored span.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent senders.
const SENDERS: u64 = 3;
/// Kill rounds.
const ROUNDS: u64 = 4;

#[derive(Default)]
struct Ledger {
    /// Every batch sent at least once.
    sent: BTreeSet<u64>,
    /// Batches answered 200 at least once.
    acknowledged: BTreeSet<u64>,
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_span_and_counts_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut next_batch = 0u64;
    for round in 0..ROUNDS {
        let server = Server::start(dir.path());
        let addr = server.http.trim_start_matches("http://").to_string();
        // Redeliver what no client saw acknowledged, and a few acknowledged batches again.
        let (unanswered, again): (Vec<u64>, Vec<u64>) = {
            let l = ledger.lock().unwrap();
            (
                l.sent.difference(&l.acknowledged).copied().collect(),
                l.acknowledged.iter().copied().step_by(7).take(10).collect(),
            )
        };
        for b in unanswered.iter().chain(&again) {
            let code = post_traces(&addr, &batch_body(*b));
            assert_eq!(code, Some(200), "redelivery of batch {b} in round {round}");
            ledger.lock().unwrap().acknowledged.insert(*b);
        }

        let stop = Arc::new(AtomicBool::new(false));
        let first_of_round = next_batch;
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let (addr, stop, ledger) = (addr.clone(), stop.clone(), ledger.clone());
                std::thread::spawn(move || {
                    let mut batch = first_of_round + s;
                    while !stop.load(Ordering::Relaxed) {
                        ledger.lock().unwrap().sent.insert(batch);
                        match post_traces(&addr, &batch_body(batch)) {
                            Some(200) => {
                                ledger.lock().unwrap().acknowledged.insert(batch);
                            }
                            Some(other) => panic!("batch {batch} answered {other}"),
                            None => return, // the server is gone
                        }
                        batch += SENDERS;
                    }
                })
            })
            .collect();
        // Let ingest run (at least 30 acknowledged batches this round), then kill -9 mid-stream.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let acked = ledger
                .lock()
                .unwrap()
                .acknowledged
                .range(first_of_round..)
                .count();
            if acked >= 30 {
                break;
            }
            assert!(Instant::now() < deadline, "ingest stalled in round {round}");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50 + 70 * round));
        let mut server = server;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for s in senders {
            s.join().unwrap();
        }
        next_batch = ledger
            .lock()
            .unwrap()
            .sent
            .last()
            .map_or(0, |b| b + SENDERS);
        drop(server);
    }

    // After the last crash: every acknowledged batch is there, whole; every stored span once.
    let server = Server::start(dir.path());
    let l = ledger.lock().unwrap();
    assert!(l.acknowledged.len() >= (ROUNDS * 30) as usize);
    let mut stored_spans = 0u64;
    for b in &l.sent {
        let (code, trace) = server.get_json(&format!("/api/traces/{}", batch_trace_id(*b)));
        if l.acknowledged.contains(b) {
            assert_eq!(code, 200, "acknowledged batch {b} lost");
        }
        if code != 200 {
            continue;
        }
        let ids: BTreeSet<&str> = trace["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["span_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids.len() as u64,
            SPANS_PER_BATCH,
            "batch {b} stored partly or twice: {} spans",
            trace["spans"].as_array().unwrap().len()
        );
        stored_spans += SPANS_PER_BATCH;
    }
    eprintln!(
        "crash test: {ROUNDS} kills, {} batches sent, {} acknowledged, {} stored ({stored_spans} spans)",
        l.sent.len(),
        l.acknowledged.len(),
        stored_spans / SPANS_PER_BATCH
    );
    let (code, stats) = server.get_json("/api/stats");
    assert_eq!(code, 200, "{stats}");
    let total = |k: &str| -> u64 {
        stats["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[k].as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(total("calls"), stored_spans, "{stats}");
    assert_eq!(total("input_tokens"), 10 * stored_spans, "{stats}");
    server.stop();
}
