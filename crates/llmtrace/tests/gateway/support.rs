//! Helpers of the gateway test: the server with its log captured, keyless API reads, polling,
//! raw HTTP calls.

use crate::common::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the API may take to show what the gateway recorded.
pub(crate) const POLL: Duration = Duration::from_secs(30);

/// The scope of the gateway's spans.
pub(crate) const SCOPE: &str = "llmtrace.gateway";

/// The question every chat scenario asks (see gateway_sdk.py).
pub(crate) const QUESTION: &str = "What is the capital of France?";

// ---------------------------------------------------------------------------------------------
// Helpers: the server with its log captured, keyless API reads, polling.

/// Calls `f` until it gives `Ok` (at most [`POLL`]); panics with its last `Err`.
pub(crate) fn poll<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + POLL;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => panic!("{what} within {POLL:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// `GET path` (keyless loopback server), asserting a 200.
pub(crate) fn api(server: &Server, path: &str) -> Value {
    let (code, v) = server.get_json(path);
    assert_eq!(code, 200, "GET {path}: {v}");
    v
}

/// The ids of the traces `GET /api/traces?{filter}` lists, once there are `n` (then exactly
/// `n`).
pub(crate) fn traces_where(server: &Server, filter: &str, n: usize) -> Vec<String> {
    let path = format!("/api/traces?limit=500&{filter}");
    let ids = poll(&format!("{n} traces with {filter}"), || {
        let v = api(server, &path);
        let ids: Vec<String> = v["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_string())
            .collect();
        if ids.len() >= n {
            Ok(ids)
        } else {
            Err(format!("{v:#}"))
        }
    });
    assert_eq!(ids.len(), n, "traces with {filter}: {ids:?}");
    ids
}

/// `GET /api/traces/{id}` once it holds `spans` spans (then exactly `spans`).
pub(crate) fn trace_with(server: &Server, trace_id: &str, spans: usize) -> Value {
    let path = format!("/api/traces/{trace_id}");
    let d = poll(&format!("trace {trace_id} with {spans} spans"), || {
        let (code, d) = server.get_json(&path);
        if code == 200 && d["spans"].as_array().map_or(0, Vec::len) >= spans {
            Ok(d)
        } else {
            Err(format!("status {code}: {d:#}"))
        }
    });
    assert_eq!(
        d["spans"].as_array().unwrap().len(),
        spans,
        "trace {trace_id}: {d:#}"
    );
    d
}

/// `curl` with `args`; the status, the response headers (lowercase names) and the body.
pub(crate) fn curl(args: &[&str]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let head = tmp.path().join("head");
    let out = Command::new("curl")
        .args(["-s", "-m", "30", "-H", "Expect:", "-D"])
        .arg(&head)
        .args(args)
        .output()
        .expect("curl");
    assert!(out.status.success(), "curl {args:?}: {out:?}");
    let head = std::fs::read_to_string(&head).unwrap();
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, out.stdout)
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A JSON body with its top-level `id` and `created` removed (the mock's counters).
pub(crate) fn without_ids(body: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)));
    for k in ["id", "created"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}
