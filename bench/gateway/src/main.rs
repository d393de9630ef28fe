//! Gateway benchmark (`bash bench/gateway.sh`).
//!
//! Starts an in-process mock OpenAI upstream (a fixed chat completion, or five SSE chunks when
//! `stream` is set, each answer with a unique response id), then `llmtrace serve --gateway`
//! pointing `openai` at it, and measures:
//!
//! 1. added latency of a plain call: `--calls` sequential calls direct to the mock and the same
//!    through the gateway (one keep-alive client each), p50 and p99 of each and of the
//!    difference of the percentiles;
//! 2. added time to first streamed byte, the same way with `stream: true`;
//! 3. saturation: `--connections` concurrent callers through the gateway for `--seconds`,
//!    calls/s answered, then the spans the store holds once it caught up (stored spans/s).
//!
//! Prints a Markdown table for BENCHMARKS.md and one JSON line.

use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::response::Response;
use clap::Parser;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// The llmtrace binary.
    #[arg(long, default_value = "target/release/llmtrace")]
    llmtrace: String,
    /// Sequential calls per latency measurement.
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Concurrent callers at saturation.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds of saturation.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

static IDS: AtomicU64 = AtomicU64::new(1);

const USAGE: &str = r#"{"prompt_tokens":90,"completion_tokens":25,"total_tokens":115,"prompt_tokens_details":{"cached_tokens":40}}"#;

async fn mock(body: axum::body::Bytes) -> Response {
    let id = IDS.fetch_add(1, Ordering::Relaxed);
    let stream = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("stream").and_then(serde_json::Value::as_bool))
        == Some(true);
    if stream {
        let chunk = |delta: &str, usage: &str| {
            format!(
                "data: {{\"id\":\"chatcmpl-{id}\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":{delta}{usage}}}\n\n"
            )
        };
        let parts = vec![
            chunk(
                r#"[{"index":0,"delta":{"role":"assistant","content":""}}]"#,
                "",
            ),
            chunk(r#"[{"index":0,"delta":{"content":"Paris is "}}]"#, ""),
            chunk(r#"[{"index":0,"delta":{"content":"the capital."}}]"#, ""),
            chunk(r#"[{"index":0,"delta":{},"finish_reason":"stop"}]"#, ""),
            chunk("[]", &format!(",\"usage\":{USAGE}")),
            "data: [DONE]\n\n".to_string(),
        ];
        let stream = futures_util::stream::iter(
            parts
                .into_iter()
                .map(|p| Ok::<_, std::io::Error>(axum::body::Bytes::from(p))),
        );
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap_or_default();
    }
    let body = format!(
        "{{\"id\":\"chatcmpl-{id}\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":\"Paris.\"}},\"finish_reason\":\"stop\"}}],\"usage\":{USAGE}}}"
    );
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

const PLAIN: &str =
    r#"{"model":"gpt-4o","messages":[{"role":"user","content":"What is the capital of France?"}]}"#;
const STREAMED: &str = r#"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"What is the capital of France?"}]}"#;

/// One call; the time to its whole answer, or to its first byte.
async fn call(
    http: &reqwest::Client,
    url: &str,
    body: &'static str,
    first_byte: bool,
) -> Result<Duration> {
    let t = Instant::now();
    let mut resp = http
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-bench")
        .body(body)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("{url}: {}", resp.status());
    }
    let mut first = None;
    while let Some(_c) = resp.chunk().await? {
        if first.is_none() {
            first = Some(t.elapsed());
        }
    }
    Ok(if first_byte {
        first.unwrap_or_default()
    } else {
        t.elapsed()
    })
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn latencies(
    http: &reqwest::Client,
    url: &str,
    n: usize,
    body: &'static str,
    first_byte: bool,
) -> Result<(f64, f64)> {
    for _ in 0..50 {
        call(http, url, body, first_byte).await?; // warm up connections
    }
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        all.push(call(http, url, body, first_byte).await?);
    }
    all.sort();
    Ok((pct(&all, 0.5), pct(&all, 0.99)))
}

async fn stored_spans(http: &reqwest::Client, base: &str) -> Result<u64> {
    let v: serde_json::Value = http
        .get(format!("{base}/api/stats?group_by=service"))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["groups"]
        .as_array()
        .map(|g| g.iter().filter_map(|g| g["calls"].as_u64()).sum())
        .unwrap_or(0))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mock_port = free_port()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", mock_port)).await?;
    tokio::spawn(async move {
        let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(mock));
        let _ = axum::serve(listener, app).await;
    });
    let data = tempfile::tempdir()?;
    let (hp, gp) = (free_port()?, free_port()?);
    let mut server = std::process::Command::new(&args.llmtrace)
        .args(["serve", "--gateway", "--log", "warn", "--data-dir"])
        .arg(data.path())
        .args([
            "--http-listen",
            &format!("127.0.0.1:{hp}"),
            "--grpc-listen",
            &format!("127.0.0.1:{gp}"),
        ])
        .args([
            "--gateway-upstream",
            &format!("openai=http://127.0.0.1:{mock_port}"),
        ])
        .spawn()
        .context("start llmtrace")?;
    let base = format!("http://127.0.0.1:{hp}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    let ready = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        if ready.elapsed() > Duration::from_secs(30) {
            bail!("llmtrace did not start");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let direct = format!("http://127.0.0.1:{mock_port}/v1/chat/completions");
    let via = format!("{base}/gateway/openai/v1/chat/completions");
    let plain_direct = latencies(&http, &direct, args.calls, PLAIN, false).await?;
    let plain_via = latencies(&http, &via, args.calls, PLAIN, false).await?;
    let ttfb_direct = latencies(&http, &direct, args.calls, STREAMED, true).await?;
    let ttfb_via = latencies(&http, &via, args.calls, STREAMED, true).await?;

    // Saturation.
    let before = stored_spans(&http, &base).await?;
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let deadline = t + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            let (http, via, done, errors) =
                (http.clone(), via.clone(), done.clone(), errors.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    match call(&http, &via, PLAIN, false).await {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let elapsed = t.elapsed().as_secs_f64();
    let answered = done.load(Ordering::Relaxed);
    // The spans are stored in the background: wait until the store caught up.
    let expected = before + answered;
    let mut stored = stored_spans(&http, &base).await?;
    let wait = Instant::now();
    while stored < expected && wait.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stored = stored_spans(&http, &base).await?;
    }
    let store_secs = elapsed + wait.elapsed().as_secs_f64();
    let stored_new = stored.saturating_sub(before);
    let _ = server.kill();
    let _ = server.wait();

    println!("| measure | direct p50 / p99 (ms) | gateway p50 / p99 (ms) | added p50 / p99 (ms) |");
    println!("|---|---|---|---|");
    for (what, d, v) in [
        ("plain call", plain_direct, plain_via),
        ("time to first streamed byte", ttfb_direct, ttfb_via),
    ] {
        println!(
            "| {what} ({} calls) | {:.3} / {:.3} | {:.3} / {:.3} | {:.3} / {:.3} |",
            args.calls,
            d.0,
            d.1,
            v.0,
            v.1,
            v.0 - d.0,
            v.1 - d.1
        );
    }
    println!(
        "| saturation, {} callers, {} s | | {:.0} calls/s answered, {} errors | {} of {} spans stored, {:.0} stored spans/s |",
        args.connections,
        args.seconds,
        answered as f64 / elapsed,
        errors.load(Ordering::Relaxed),
        stored_new,
        answered,
        stored_new as f64 / store_secs
    );
    println!(
        "{}",
        serde_json::json!({
            "plain_direct_ms": [plain_direct.0, plain_direct.1], "plain_gateway_ms": [plain_via.0, plain_via.1],
            "ttfb_direct_ms": [ttfb_direct.0, ttfb_direct.1], "ttfb_gateway_ms": [ttfb_via.0, ttfb_via.1],
            "calls_per_s": answered as f64 / elapsed, "stored": stored_new, "answered": answered,
            "stored_spans_per_s": stored_new as f64 / store_secs,
        })
    );
    Ok(())
}
