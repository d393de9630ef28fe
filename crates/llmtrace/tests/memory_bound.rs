//! Memory bounded before work, on the real binary with default flags: 20 concurrent 64 MiB
//! bodies of minimal spans, a 1 GiB gzip bomb (OTLP) and a 1 GiB zstd bomb (LangSmith
//! multipart) each get a clear 413/429/503, and the server's peak RSS (`VmHWM`) stays under
//! 512 MiB. Then it still serves a normal client.

mod common;

use common::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

/// A protobuf varint.
fn varint(mut v: usize, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited protobuf field.
fn field(number: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push((number << 3) | 2);
    varint(payload.len(), out);
    out.extend_from_slice(payload);
}

/// An `ExportTraceServiceRequest` of about `size` bytes of minimal spans (trace and span id
/// only), by hand: 28 bytes a span, so 64 MiB is 2.4 million spans.
fn minimal_spans_body(size: usize) -> Vec<u8> {
    let mut span = Vec::new();
    field(1, &[7; 16], &mut span);
    field(2, &[9; 8], &mut span);
    let mut spans = Vec::with_capacity(size);
    while spans.len() + span.len() + 2 < size - 64 {
        field(2, &span, &mut spans);
    }
    let mut scope = Vec::new();
    field(2, &spans, &mut scope);
    drop(spans);
    let mut resource = Vec::new();
    field(2, &scope, &mut resource);
    drop(scope);
    let mut request = Vec::new();
    field(1, &resource, &mut request);
    request
}

/// `GiB` zeros through `tool` (`gzip -1 -c` or `zstd -1 -c`).
fn bomb(tool: &str) -> Vec<u8> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("head -c 1073741824 /dev/zero | {tool} -1 -c"))
        .stdout(Stdio::piped())
        .output()
        .expect("compress");
    assert!(out.status.success());
    out.stdout
}

/// Sends one request (writing the body from a second thread, so an early answer is read even
/// while the body is still being sent); the status, or `None` when the connection was reset
/// before any answer.
fn send(addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    let mut writer = s.try_clone().ok()?;
    let body = body.to_vec();
    let w = std::thread::spawn(move || {
        let _ = writer.write_all(&body);
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = s.shutdown(std::net::Shutdown::Both);
    let _ = w.join();
    let text = String::from_utf8_lossy(&answer);
    text.lines().next()?.split_whitespace().nth(1)?.parse().ok()
}

/// Peak resident memory of `pid`, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

#[test]
fn hostile_bodies_are_refused_with_a_status_and_rss_stays_under_512_mib() {
    if !tools_available(&["gzip", "zstd"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let addr = server.http.trim_start_matches("http://").to_string();
    let pid = server.child.id();

    // 20 concurrent 64 MiB bodies of minimal spans.
    let body = std::sync::Arc::new(minimal_spans_body(64 * MIB - 1024));
    let senders: Vec<_> = (0..20)
        .map(|_| {
            let (addr, body) = (addr.clone(), body.clone());
            std::thread::spawn(move || {
                send(
                    &addr,
                    "/v1/traces",
                    &[("Content-Type", "application/x-protobuf")],
                    &body,
                )
            })
        })
        .collect();
    let answers: Vec<Option<u16>> = senders.into_iter().map(|t| t.join().unwrap()).collect();
    let answered: Vec<u16> = answers.iter().flatten().copied().collect();
    assert!(
        answered.iter().all(|c| [413, 429, 503].contains(c)),
        "{answers:?}"
    );
    assert!(answered.len() >= 15, "most get an answer: {answers:?}");
    assert!(answered.contains(&413), "{answers:?}");
    let after_bodies = peak_rss(pid);

    // A 1 GiB gzip bomb on OTLP/HTTP.
    let gz = bomb("gzip");
    let code = send(
        &addr,
        "/v1/traces",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "gzip"),
        ],
        &gz,
    );
    assert_eq!(code, Some(413), "gzip bomb");

    // A 1 GiB zstd bomb on LangSmith's multipart endpoint.
    let zst = bomb("zstd");
    let code = send(
        &addr,
        "/runs/multipart",
        &[
            ("Content-Type", "multipart/form-data; boundary=x"),
            ("Content-Encoding", "zstd"),
        ],
        &zst,
    );
    assert_eq!(code, Some(413), "zstd bomb");

    let peak = peak_rss(pid);
    eprintln!(
        "memory probe: answers {answers:?}; peak RSS {} MiB after the bodies, {} MiB after the bombs",
        after_bodies / MIB,
        peak / MIB
    );
    assert!(peak < 512 * MIB, "peak RSS {} MiB", peak / MIB);

    // Still serving.
    let (code, _) = post_otlp_json(
        &server.http,
        "after",
        vec![serde_json::json!({
            "traceId": "0102030405060708090a0b0c0d0e0f10",
            "spanId": "0102030405060708",
            "name": "ok",
            "startTimeUnixNano": "1",
            "endTimeUnixNano": "2"
        })],
    );
    assert_eq!(code, 200);
    server.stop();
}
