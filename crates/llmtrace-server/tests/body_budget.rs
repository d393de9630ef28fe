//! Request bodies are admitted before they are read: a declared size over the limit gets 413 at
//! once, and bodies beyond the in-flight budget (four times the limit) get 503 + Retry-After
//! instead of piling up in memory; the budget comes back when they finish.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends a request header declaring `length` body bytes and a few of them, then waits.
fn slow_upload(addr: &str, length: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    s.write_all(&[0u8; 16]).unwrap();
    s
}

/// The status code of a request header (no body) sent on a fresh connection; 0 when no answer
/// came within `wait` (the body was admitted and is being waited for).
fn status_of(addr: &str, length: usize, wait: Duration) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 512];
    let n = s.read(&mut head).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_admitted_against_a_budget_before_they_are_read() {
    let h = Harness::start(Options::default()).await; // 1 MiB per body, 4 MiB in flight
    let addr = h
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let a = addr.clone();
    tokio::task::spawn_blocking(move || {
        // Over the limit: refused from the header alone.
        let (code, text) = status_of(&a, 2 << 20, Duration::from_secs(10));
        assert_eq!(code, 413, "{text}");
        // Five slow 1 MiB uploads: four fit the budget and wait for their bodies; the fifth,
        // whichever it is, is told to retry.
        let mut held: Vec<TcpStream> = (0..5).map(|_| slow_upload(&a, 1 << 20)).collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let text = 'found: loop {
            for s in &mut held {
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let mut head = [0u8; 512];
                if let Ok(n) = s.read(&mut head) {
                    if n > 0 {
                        break 'found String::from_utf8_lossy(&head[..n]).to_string();
                    }
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no upload was refused"
            );
        };
        assert!(text.starts_with("HTTP/1.1 503"), "{text}");
        assert!(text.to_ascii_lowercase().contains("retry-after"), "{text}");
        // When they go away, the budget comes back.
        drop(held);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (code, _) = status_of(&a, 0, Duration::from_secs(10));
            if code != 503 {
                assert_eq!(
                    code, 200,
                    "an empty export is accepted once the budget is back"
                );
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "budget never came back"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    h.stop().await;
}
