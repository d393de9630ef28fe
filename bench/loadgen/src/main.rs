//! End-to-end load generator: posts pre-encoded OTLP protobuf RAG traces over N connections and reports acknowledged spans/s.
//!
//! The bodies come from [`llmtrace_synth::rag_request`] (by default 20 traces ×
//! 5 spans = 100 spans, about 63 KiB per request), or with `--shape agent` from
//! [`llmtrace_synth::agent_request`] (by default 2 traces of 20 to 50 model calls
//! each resending the growing history: 140 spans). `--connections` tasks share
//! one keep-alive `reqwest` client and POST them as `application/x-protobuf`
//! to `--url` until `--duration` seconds have passed or `--requests` requests
//! have been sent, whichever comes first. Only HTTP 200 responses count as
//! acknowledged (minus any `partial_success.rejected_spans` the server
//! reports); 429, 503, other statuses, timeouts and transport errors are
//! counted separately and never retried. The run prints a human summary and
//! then one JSON line for scripts.
//!
//! # Unique ids
//!
//! Encoding 64 KiB of protobuf per request would make the generator, not the
//! server, the bottleneck on a small machine, so a pool of `--bodies` requests
//! is encoded up front. Re-sending a body verbatim would repeat ids, so every
//! request is made unique by patching ids in place in a copy of the encoded
//! bytes: when a body is encoded, the byte offsets of every trace id (each
//! span's `trace_id` field) and every span id (its `span_id` field and its
//! children's `parent_span_id` fields) are recorded; both are fixed-length
//! byte fields, so overwriting them keeps the encoding valid. Request number
//! `seq` (a global counter shared by all connections) then gets
//!
//! * trace id of its trace `i`: `mix(salt_t + seq) ‖ mix((i + 1) ^ (seq << 16))`,
//! * span id of its span `k`: `mix(salt_s + seq · spans_per_request + k + 1)`,
//! * provider response id (`gen_ai.response.id`, a string) `r`: its last 16 characters
//!   replaced by the hex of `mix(salt_t ^ (seq · 2^20 + r + 1))` (same length, so the
//!   encoding stays valid), so one provider response is never reported by two requests' spans
//!   (which llmtrace would rightly count once),
//!
//! where `mix` is the SplitMix64 finalizer, a bijection on `u64` that maps
//! only 0 to 0. Distinct `seq` give distinct high halves and distinct `i`
//! distinct low halves, and the span-id inputs are distinct and never 0 (the
//! salt is below 2^62 and the counter is capped), so every trace id and span
//! id across all requests of a run is unique and non-zero, while still
//! looking random. The salts come from `--seed` and the wall clock, so
//! repeated runs against the same store do not collide either.
//!
//! # Times
//!
//! Every span's start and end and every event's time are fixed64 fields, found by their
//! key and value (`0x39` start, `0x41` end, `0x09` event time, then the 8 little-endian bytes
//! of the time) and moved forward in place by the time that passed between building the pool
//! and sending the request, so each trace ends just before it is sent, as a live
//! application's do (a fixed pool would start every trace of a long run within the same
//! second, which no real store holds).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use llmtrace_synth::{agent_request, rag_request, SynthConfig, AGENT_SPANS_PER_TRACE};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// Spans per RAG trace (rag_query, retrieve, rerank, llm_call, execute_tool).
const RAG_SPANS_PER_TRACE: usize = 5;

/// The traffic shape of the generated traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Shape {
    /// `rag_request`: 5 spans a trace, one model call with about 1 KB of text.
    Rag,
    /// `agent_request`: 20 to 50 model calls a trace (70 spans on average), each resending
    /// the growing conversation, a tool call between two calls.
    Agent,
}

impl Shape {
    fn spans_per_trace(self) -> usize {
        match self {
            Shape::Rag => RAG_SPANS_PER_TRACE,
            Shape::Agent => AGENT_SPANS_PER_TRACE,
        }
    }

    /// Traces per request unless told.
    fn default_traces(self) -> usize {
        match self {
            Shape::Rag => 20,
            Shape::Agent => 2,
        }
    }
}

/// Time limit when only `--requests` is given.
const SAFETY_DURATION_SECS: u64 = 600;
/// Consecutive transport errors (no HTTP response at all) before giving up.
const MAX_CONSECUTIVE_TRANSPORT_ERRORS: u64 = 200;

#[derive(Parser, Debug)]
#[command(
    name = "llmtrace-loadgen",
    version,
    about = "Posts synthetic OTLP/HTTP protobuf RAG traces to an llmtrace server and reports acknowledged spans/s.",
    after_help = "Stops after --duration seconds or --requests requests, whichever comes first \
                  (default: 20 s; with only --requests, at most 600 s). Prints a summary, then one JSON line."
)]
struct Args {
    /// OTLP/HTTP traces endpoint (the only URL ever contacted).
    #[arg(long, default_value = "http://127.0.0.1:4318/v1/traces")]
    url: String,
    /// Concurrent connections (one sending task each).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Run time in seconds [default: 20, or 600 when only --requests is given].
    #[arg(long, value_name = "SECS")]
    duration: Option<u64>,
    /// Stop after sending this many requests.
    #[arg(long, value_name = "N")]
    requests: Option<u64>,
    /// Traces per request [default: 20 RAG traces of 5 spans, or 2 agent traces of 70 spans on
    /// average].
    #[arg(long, value_name = "N")]
    traces_per_request: Option<usize>,
    /// The shape of the traces: `rag` (5 spans, one model call) or `agent` (20 to 50 model
    /// calls each resending the growing history).
    #[arg(long, value_enum, default_value = "rag")]
    shape: Shape,
    /// Distinct pre-encoded bodies in the pool (ids are patched per request, see docs).
    #[arg(long, value_name = "N", default_value_t = 200)]
    bodies: usize,
    /// Sample /proc/PID/status VmRSS every 100 ms and report peak and final.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// Seed for the synthetic content (ids also mix in the wall clock).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Per-request timeout in seconds (a timed-out request counts as failed).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Tokio worker threads for the client (keep low to leave CPU to the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// `service.name` of the generated spans.
    #[arg(long, default_value = "loadgen-rag")]
    service: String,
}

// ---------------------------------------------------------------------------
// Body templates and id patching.

/// SplitMix64 finalizer: a bijection on `u64` with `mix(0) == 0`.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Per-run id salts.
#[derive(Debug, Clone, Copy)]
struct Salt {
    trace: u64,
    /// Below 2^62, so `span + seq * spans + k + 1` never wraps to 0.
    span: u64,
}

impl Salt {
    fn new(seed: u64) -> Self {
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let a = mix64(seed ^ clock.rotate_left(23) ^ 0x9e37_79b9_7f4a_7c15);
        Self {
            trace: a,
            span: mix64(a ^ 0x5851_f42d_4c95_7f2d) >> 2,
        }
    }
}

/// One pre-encoded request plus where its ids live.
struct Template {
    bytes: Vec<u8>,
    /// For trace `i` (in order of first appearance): offsets of its 16-byte id.
    trace_slots: Vec<Vec<usize>>,
    /// For span `k` (in encoding order): offsets of its 8-byte id, i.e. its own
    /// `span_id` field and the `parent_span_id` field of each child.
    span_slots: Vec<Vec<usize>>,
    /// Offsets of the last 16 bytes of every provider response id string.
    response_slots: Vec<usize>,
    /// Offsets of every span start and end and event time (8 little-endian bytes each).
    time_slots: Vec<usize>,
}

impl Template {
    /// Encodes `req` and records the offset of every id occurrence. Fails if
    /// the recorded occurrences do not match the spans exactly.
    fn new(req: &ExportTraceServiceRequest) -> Result<Self> {
        let spans = req
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans);
        let mut trace_index: HashMap<[u8; 16], usize> = HashMap::new();
        let mut span_index: HashMap<[u8; 8], usize> = HashMap::new();
        let mut expect_trace: Vec<usize> = Vec::new();
        let mut expect_span: Vec<usize> = Vec::new();
        for span in spans.clone() {
            let tid: [u8; 16] = span.trace_id.as_slice().try_into().context("trace id")?;
            let next = trace_index.len();
            let t = *trace_index.entry(tid).or_insert(next);
            if t == expect_trace.len() {
                expect_trace.push(0);
            }
            expect_trace[t] += 1;
            let sid: [u8; 8] = span.span_id.as_slice().try_into().context("span id")?;
            ensure!(
                span_index.insert(sid, span_index.len()).is_none(),
                "duplicate span id in body"
            );
            expect_span.push(1);
        }
        for span in spans {
            if !span.parent_span_id.is_empty() {
                let pid: [u8; 8] = span.parent_span_id.as_slice().try_into()?;
                let k = *span_index.get(&pid).context("parent not in body")?;
                expect_span[k] += 1;
            }
        }

        let bytes = req.encode_to_vec();
        let mut trace_slots = vec![Vec::new(); expect_trace.len()];
        let mut span_slots = vec![Vec::new(); expect_span.len()];
        // Span.trace_id is field 1 (key 0x0a), span_id field 2 (0x12) and
        // parent_span_id field 4 (0x22); all length-delimited with a one-byte length.
        let mut i = 0;
        while i + 2 <= bytes.len() {
            let found = match (bytes[i], bytes[i + 1]) {
                (0x0a, 16) if i + 18 <= bytes.len() => {
                    let id: [u8; 16] = bytes[i + 2..i + 18].try_into()?;
                    trace_index.get(&id).map(|&t| trace_slots[t].push(i + 2))
                }
                (0x12 | 0x22, 8) if i + 10 <= bytes.len() => {
                    let id: [u8; 8] = bytes[i + 2..i + 10].try_into()?;
                    span_index.get(&id).map(|&k| span_slots[k].push(i + 2))
                }
                _ => None,
            };
            i += if found.is_some() {
                2 + bytes[i + 1] as usize
            } else {
                1
            };
        }
        // Provider response ids: random strings, found verbatim in the encoding.
        let mut response_slots = Vec::new();
        for span in req
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
        {
            for kv in span
                .attributes
                .iter()
                .filter(|kv| kv.key == "gen_ai.response.id")
            {
                let Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(id)) =
                    kv.value.as_ref().and_then(|v| v.value.as_ref())
                else {
                    continue;
                };
                if id.len() < 16 {
                    continue;
                }
                let at = bytes
                    .windows(id.len())
                    .position(|w| w == id.as_bytes())
                    .context("response id not found in the encoding")?;
                response_slots.push(at + id.len() - 16);
            }
        }
        let time_slots = time_slots(req, &bytes)?;
        let counts = |slots: &[Vec<usize>]| slots.iter().map(Vec::len).collect::<Vec<_>>();
        ensure!(
            counts(&trace_slots) == expect_trace,
            "trace id occurrences do not match"
        );
        ensure!(
            counts(&span_slots) == expect_span,
            "span id occurrences do not match"
        );
        Ok(Self {
            bytes,
            trace_slots,
            span_slots,
            response_slots,
            time_slots,
        })
    }

    /// The body for request number `seq`: a copy with every id replaced and every time moved
    /// `shift_ns` later.
    fn render(&self, seq: u64, salt: Salt, spans_per_request: u64, shift_ns: u64) -> Vec<u8> {
        let mut out = self.bytes.clone();
        for &o in &self.time_slots {
            let mut time = [0u8; 8];
            time.copy_from_slice(&out[o..o + 8]);
            let moved = u64::from_le_bytes(time).saturating_add(shift_ns);
            out[o..o + 8].copy_from_slice(&moved.to_le_bytes());
        }
        let hi = mix64(salt.trace.wrapping_add(seq)).to_be_bytes();
        for (i, offsets) in self.trace_slots.iter().enumerate() {
            let lo = mix64((i as u64 + 1) ^ (seq << 16)).to_be_bytes();
            for &o in offsets {
                out[o..o + 8].copy_from_slice(&hi);
                out[o + 8..o + 16].copy_from_slice(&lo);
            }
        }
        for (r, &o) in self.response_slots.iter().enumerate() {
            let v = mix64(salt.trace ^ ((seq << 20) + r as u64 + 1));
            out[o..o + 16].copy_from_slice(format!("{v:016x}").as_bytes());
        }
        let base = salt.span + seq * spans_per_request + 1;
        for (k, offsets) in self.span_slots.iter().enumerate() {
            let id = mix64(base + k as u64).to_be_bytes();
            for &o in offsets {
                out[o..o + 8].copy_from_slice(&id);
            }
        }
        out
    }
}

/// The offsets of the 8 value bytes of every span start (field 7, key `0x39`), span end (field
/// 8, `0x41`) and event time (field 1 of `Span.Event`, `0x09`) in `bytes`, the encoding of
/// `req`. Each is found by its key byte and value; fails unless every time is found exactly as
/// often as it occurs.
fn time_slots(req: &ExportTraceServiceRequest, bytes: &[u8]) -> Result<Vec<usize>> {
    let mut expected: HashMap<[u8; 9], usize> = HashMap::new();
    let mut expect = |key: u8, time: u64| {
        let mut pattern = [key; 9];
        pattern[1..].copy_from_slice(&time.to_le_bytes());
        *expected.entry(pattern).or_insert(0) += 1;
    };
    for span in req
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
    {
        expect(0x39, span.start_time_unix_nano);
        expect(0x41, span.end_time_unix_nano);
        for event in &span.events {
            expect(0x09, event.time_unix_nano);
        }
    }
    // One pass over the bytes: each window starting with a key byte is looked up.
    let mut found: HashMap<[u8; 9], usize> = HashMap::new();
    let mut slots = Vec::new();
    for (at, window) in bytes.windows(9).enumerate() {
        if !matches!(window[0], 0x39 | 0x41 | 0x09) {
            continue;
        }
        let Ok(pattern) = <[u8; 9]>::try_from(window) else {
            continue;
        };
        if expected.contains_key(&pattern) {
            *found.entry(pattern).or_insert(0) += 1;
            slots.push(at + 1);
        }
    }
    ensure!(found == expected, "time occurrences do not match");
    Ok(slots)
}

// ---------------------------------------------------------------------------
// Sending.

/// Everything the sending tasks share.
struct Shared {
    client: reqwest::Client,
    url: String,
    pool: Vec<Template>,
    salt: Salt,
    spans_per_request: u64,
    max_requests: u64,
    deadline: Instant,
    /// When the pool's times were taken: each request's times move by the time since.
    built: Instant,
    next_seq: AtomicU64,
    stop: AtomicBool,
    acked_spans: AtomicU64,
    consecutive_transport_errors: AtomicU64,
}

/// Per-task counters, merged at the end.
#[derive(Debug, Default)]
struct Stats {
    requests: u64,
    acked_requests: u64,
    acked_spans: u64,
    rejected_spans: u64,
    status_429: u64,
    status_503: u64,
    other_status: u64,
    timeouts: u64,
    transport_errors: u64,
    /// Latency of acknowledged requests, microseconds.
    latencies_us: Vec<u64>,
    first_error: Option<String>,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.requests += o.requests;
        self.acked_requests += o.acked_requests;
        self.acked_spans += o.acked_spans;
        self.rejected_spans += o.rejected_spans;
        self.status_429 += o.status_429;
        self.status_503 += o.status_503;
        self.other_status += o.other_status;
        self.timeouts += o.timeouts;
        self.transport_errors += o.transport_errors;
        self.latencies_us.extend(o.latencies_us);
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }

    fn failed(&self) -> u64 {
        self.requests - self.acked_requests
    }
}

async fn sender(shared: Arc<Shared>) -> Stats {
    let mut st = Stats::default();
    loop {
        if shared.stop.load(Ordering::Relaxed) || Instant::now() >= shared.deadline {
            break;
        }
        let seq = shared.next_seq.fetch_add(1, Ordering::Relaxed);
        if seq >= shared.max_requests {
            break;
        }
        let template = &shared.pool[(seq % shared.pool.len() as u64) as usize];
        let shift_ns = u64::try_from(shared.built.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let body = template.render(seq, shared.salt, shared.spans_per_request, shift_ns);
        let started = Instant::now();
        let result = shared
            .client
            .post(&shared.url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
            .body(body)
            .send()
            .await;
        st.requests += 1;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                record_transport_error(&shared, &mut st, &e);
                continue;
            }
        };
        shared
            .consecutive_transport_errors
            .store(0, Ordering::Relaxed);
        let status = response.status().as_u16();
        let body = response.bytes().await;
        let elapsed = started.elapsed();
        match (status, body) {
            (200, Ok(body)) => {
                let rejected = ExportTraceServiceResponse::decode(body.as_ref())
                    .ok()
                    .and_then(|r| r.partial_success)
                    .map(|p| p.rejected_spans.max(0) as u64)
                    .unwrap_or(0)
                    .min(shared.spans_per_request);
                let acked = shared.spans_per_request - rejected;
                st.acked_requests += 1;
                st.acked_spans += acked;
                st.rejected_spans += rejected;
                st.latencies_us.push(elapsed.as_micros() as u64);
                shared.acked_spans.fetch_add(acked, Ordering::Relaxed);
                if rejected > 0 && st.first_error.is_none() {
                    st.first_error = Some(format!("200 with {rejected} rejected spans"));
                }
            }
            (200, Err(e)) => record_transport_error(&shared, &mut st, &e),
            (code, body) => {
                match code {
                    429 => st.status_429 += 1,
                    503 => st.status_503 += 1,
                    _ => st.other_status += 1,
                }
                if st.first_error.is_none() {
                    let text = body
                        .map(|b| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned())
                        .unwrap_or_default();
                    st.first_error = Some(format!("HTTP {code}: {}", text.trim()));
                }
            }
        }
    }
    st
}

fn record_transport_error(shared: &Shared, st: &mut Stats, e: &reqwest::Error) {
    if e.is_timeout() {
        st.timeouts += 1;
    } else {
        st.transport_errors += 1;
    }
    if st.first_error.is_none() {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            msg.push_str(": ");
            msg.push_str(&cause.to_string());
            source = cause.source();
        }
        st.first_error = Some(msg);
    }
    let n = shared
        .consecutive_transport_errors
        .fetch_add(1, Ordering::Relaxed)
        + 1;
    if n >= MAX_CONSECUTIVE_TRANSPORT_ERRORS && !e.is_timeout() {
        shared.stop.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------
// Server RSS sampling.

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Samples the server's RSS every 100 ms on a plain thread until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<u64>,
    pid: u32,
    start_kib: u64,
}

impl RssSampler {
    fn start(pid: u32) -> Result<Self> {
        let start_kib = rss_kib(pid).with_context(|| format!("cannot read VmRSS of pid {pid}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut peak = start_kib;
            while !flag.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    peak = peak.max(kib);
                }
                thread::sleep(Duration::from_millis(100));
            }
            peak
        });
        Ok(Self {
            stop,
            handle,
            pid,
            start_kib,
        })
    }

    /// Stops sampling; returns (start, peak, final) in KiB.
    fn finish(self) -> (u64, u64, Option<u64>) {
        self.stop.store(true, Ordering::Relaxed);
        let final_kib = rss_kib(self.pid);
        let peak = self.handle.join().unwrap_or(0);
        let peak = peak.max(final_kib.unwrap_or(0));
        (self.start_kib, peak, final_kib)
    }
}

// ---------------------------------------------------------------------------
// Reporting.

/// Nearest-rank percentile of sorted microsecond samples, in milliseconds.
fn percentile_ms(sorted_us: &[u64], p: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let rank = ((p * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    Some(sorted_us[rank - 1] as f64 / 1000.0)
}

fn json_num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "null".into(),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() -> Result<()> {
    let args = Args::parse();
    let traces_per_request = args
        .traces_per_request
        .unwrap_or(args.shape.default_traces());
    ensure!(args.connections >= 1, "--connections must be at least 1");
    ensure!(args.threads >= 1, "--threads must be at least 1");
    ensure!(args.bodies >= 1, "--bodies must be at least 1");
    ensure!(
        (1..=60_000).contains(&traces_per_request),
        "--traces-per-request must be in 1..=60000"
    );
    ensure!(args.requests != Some(0), "--requests must be at least 1");
    let url: reqwest::Url = args.url.parse().context("--url")?;
    if url.scheme() != "http" {
        bail!("--url must be plain http:// (this build has no TLS)");
    }

    if let Some(pid) = args.server_pid {
        ensure!(
            rss_kib(pid).is_some(),
            "--server-pid {pid}: cannot read VmRSS from /proc/{pid}/status"
        );
    }

    let duration_secs = args.duration.unwrap_or(if args.requests.is_some() {
        SAFETY_DURATION_SECS
    } else {
        20
    });
    let spans_per_request = (traces_per_request * args.shape.spans_per_trace()) as u64;
    // Keep seq * spans_per_request + k below 2^62 (see the id scheme above).
    let id_cap = (1u64 << 62) / spans_per_request - 1;
    let max_requests = args.requests.unwrap_or(u64::MAX).min(id_cap);
    let pool_size = (args.bodies as u64).min(max_requests) as usize;

    println!(
        "llmtrace-loadgen: POST {} with {} connection(s), {} traces ({} spans) per request, {} s max{}",
        args.url,
        args.connections,
        traces_per_request,
        spans_per_request,
        duration_secs,
        args.requests
            .map(|n| format!(", {n} requests max"))
            .unwrap_or_default()
    );

    // Pre-encode the pool.
    let built = Instant::now();
    let cfg = SynthConfig::new(args.service.clone(), args.seed);
    let mut rng = cfg.rng();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("clock before 1970")?
        .as_nanos() as u64;
    let mut pool = Vec::with_capacity(pool_size);
    let mut rejected_bodies = 0;
    while pool.len() < pool_size {
        let req = match args.shape {
            Shape::Rag => rag_request(&mut rng, &cfg, traces_per_request, now),
            Shape::Agent => agent_request(&mut rng, &cfg, traces_per_request, now),
        };
        match Template::new(&req) {
            Ok(t) => {
                ensure!(
                    t.span_slots.len() as u64 == spans_per_request,
                    "unexpected span count"
                );
                pool.push(t);
            }
            // Only possible if a random id also occurs elsewhere in the body
            // (astronomically unlikely): draw another body.
            Err(e) => {
                rejected_bodies += 1;
                ensure!(rejected_bodies < 100, "cannot build body templates: {e:#}");
            }
        }
    }
    let avg_body = pool.iter().map(|t| t.bytes.len()).sum::<usize>() / pool.len();
    println!(
        "pool: {} bodies, {:.1} KiB average ({} B/span), built in {:.2} s",
        pool.len(),
        avg_body as f64 / 1024.0,
        avg_body as u64 / spans_per_request,
        built.elapsed().as_secs_f64()
    );

    let sampler = match args.server_pid {
        Some(pid) => Some(RssSampler::start(pid)?),
        None => None,
    };

    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.connections)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .build()
        .context("building HTTP client")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .context("building tokio runtime")?;

    let started = Instant::now();
    let shared = Arc::new(Shared {
        client,
        url: args.url.clone(),
        pool,
        salt: Salt::new(args.seed),
        spans_per_request,
        max_requests,
        deadline: started + Duration::from_secs(duration_secs),
        built,
        next_seq: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        acked_spans: AtomicU64::new(0),
        consecutive_transport_errors: AtomicU64::new(0),
    });
    let connections = args.connections;
    let mut st = runtime.block_on({
        let shared = shared.clone();
        async move {
            let progress = tokio::spawn({
                let shared = shared.clone();
                async move {
                    let mut last = 0;
                    let mut tick = tokio::time::interval(Duration::from_secs(5));
                    tick.tick().await;
                    loop {
                        tick.tick().await;
                        let acked = shared.acked_spans.load(Ordering::Relaxed);
                        eprintln!(
                            "  {:6.1} s  {:>12} spans acked  ({:.0} spans/s over the last 5 s)",
                            started.elapsed().as_secs_f64(),
                            acked,
                            (acked - last) as f64 / 5.0
                        );
                        last = acked;
                    }
                }
            });
            let tasks: Vec<_> = (0..connections)
                .map(|_| tokio::spawn(sender(shared.clone())))
                .collect();
            let mut stats = Stats::default();
            for task in tasks {
                if let Ok(st) = task.await {
                    stats.merge(st);
                }
            }
            progress.abort();
            stats
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    drop(runtime);
    let rss = sampler.map(RssSampler::finish);

    st.latencies_us.sort_unstable();
    let p50 = percentile_ms(&st.latencies_us, 0.50);
    let p90 = percentile_ms(&st.latencies_us, 0.90);
    let p99 = percentile_ms(&st.latencies_us, 0.99);
    let max = st.latencies_us.last().map(|us| *us as f64 / 1000.0);
    let spans_per_sec = st.acked_spans as f64 / elapsed.max(1e-9);
    let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));

    println!("elapsed          {elapsed:.2} s");
    println!(
        "requests         {} sent, {} acknowledged (HTTP 200), {} failed: 429={} 503={} other-HTTP={} timeout={} transport={}",
        st.requests,
        st.acked_requests,
        st.failed(),
        st.status_429,
        st.status_503,
        st.other_status,
        st.timeouts,
        st.transport_errors
    );
    println!(
        "acked spans      {} ({:.0} spans/s){}",
        st.acked_spans,
        spans_per_sec,
        if st.rejected_spans > 0 {
            format!(", {} rejected via partial_success", st.rejected_spans)
        } else {
            String::new()
        }
    );
    println!(
        "latency (200s)   p50 {} ms  p90 {} ms  p99 {} ms  max {} ms",
        fmt(p50),
        fmt(p90),
        fmt(p99),
        fmt(max)
    );
    if let Some((start, peak, fin)) = rss {
        println!(
            "server RSS       peak {:.1} MiB, final {} MiB (at start {:.1} MiB)",
            mib(peak),
            fmt(fin.map(mib)),
            mib(start)
        );
    }
    if shared.stop.load(Ordering::Relaxed) {
        println!("stopped early: {MAX_CONSECUTIVE_TRANSPORT_ERRORS} consecutive transport errors");
    }
    if let Some(e) = &st.first_error {
        println!("first error      {e}");
    }
    println!(
        "{{\"acked_spans\":{},\"spans_per_sec\":{},\"requests\":{},\"failed\":{},\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"max_ms\":{},\"peak_rss_mb\":{},\"final_rss_mb\":{},\"status_429\":{},\"status_503\":{},\"other_failures\":{},\"rejected_spans\":{},\"elapsed_s\":{:.3},\"connections\":{},\"spans_per_request\":{},\"avg_body_bytes\":{}}}",
        st.acked_spans,
        json_num(Some(spans_per_sec), 1),
        st.requests,
        st.failed(),
        json_num(p50, 3),
        json_num(p90, 3),
        json_num(p99, 3),
        json_num(max, 3),
        json_num(rss.map(|(_, peak, _)| mib(peak)), 1),
        json_num(rss.and_then(|(_, _, fin)| fin.map(mib)), 1),
        st.status_429,
        st.status_503,
        st.other_status + st.timeouts + st.transport_errors,
        st.rejected_spans,
        elapsed,
        args.connections,
        spans_per_request,
        avg_body
    );
    if st.acked_spans == 0 {
        std::process::exit(2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn template(seed: u64, traces: usize) -> Template {
        let cfg = SynthConfig::new("t", seed);
        let req = rag_request(&mut cfg.rng(), &cfg, traces, 1_764_000_000_000_000_000);
        Template::new(&req).expect("template")
    }

    #[test]
    fn mix_is_injective_on_a_sample_and_zero_only_at_zero() {
        assert_eq!(mix64(0), 0);
        let outs: HashSet<u64> = (1..100_000u64).map(mix64).collect();
        assert_eq!(outs.len(), 99_999);
        assert!(!outs.contains(&0));
    }

    #[test]
    fn rendered_bodies_decode_and_all_ids_are_unique() {
        let pool = [template(1, 20), template(2, 20), template(3, 20)];
        let salt = Salt::new(9);
        let mut trace_ids = HashSet::new();
        let mut span_ids = HashSet::new();
        let mut response_ids = HashSet::new();
        for seq in 0..30u64 {
            let t = &pool[(seq % 3) as usize];
            let shift = seq * 1_000_000_007;
            let body = t.render(seq, salt, 100, shift);
            assert_eq!(body.len(), t.bytes.len());
            let req = ExportTraceServiceRequest::decode(body.as_slice()).expect("decodes");
            let spans: Vec<_> = req.resource_spans[0].scope_spans[0].spans.clone();
            assert_eq!(spans.len(), 100);
            let mut this_traces: HashMap<Vec<u8>, HashSet<Vec<u8>>> = HashMap::new();
            for s in &spans {
                assert!(s.span_id.iter().any(|b| *b != 0));
                assert!(s.trace_id.iter().any(|b| *b != 0));
                assert!(span_ids.insert(s.span_id.clone()), "span id repeated");
                this_traces
                    .entry(s.trace_id.clone())
                    .or_default()
                    .insert(s.span_id.clone());
            }
            assert_eq!(this_traces.len(), 20);
            for tid in this_traces.keys() {
                assert!(trace_ids.insert(tid.clone()), "trace id repeated");
            }
            for s in &spans {
                if !s.parent_span_id.is_empty() {
                    assert!(this_traces[&s.trace_id].contains(&s.parent_span_id));
                }
            }
            // Everything except ids is untouched; response ids keep their length and prefix.
            let original = ExportTraceServiceRequest::decode(t.bytes.as_slice()).unwrap();
            let orig_spans = &original.resource_spans[0].scope_spans[0].spans;
            let response_id = |s: &opentelemetry_proto::tonic::trace::v1::Span| {
                s.attributes
                    .iter()
                    .find(|kv| kv.key == "gen_ai.response.id")
                    .and_then(|kv| kv.value.as_ref()?.value.clone())
                    .map(|v| match v {
                        opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                            s,
                        ) => s,
                        other => format!("{other:?}"),
                    })
            };
            for (a, b) in spans.iter().zip(orig_spans) {
                assert_eq!(a.name, b.name);
                let others = |s: &opentelemetry_proto::tonic::trace::v1::Span| {
                    s.attributes
                        .iter()
                        .filter(|kv| kv.key != "gen_ai.response.id")
                        .cloned()
                        .collect::<Vec<_>>()
                };
                assert_eq!(others(a), others(b));
                if let (Some(new), Some(old)) = (response_id(a), response_id(b)) {
                    assert_eq!(new.len(), old.len());
                    assert_eq!(new[..new.len() - 16], old[..old.len() - 16]);
                    assert!(response_ids.insert(new), "response id repeated");
                }
                assert_eq!(a.start_time_unix_nano, b.start_time_unix_nano + shift);
                assert_eq!(a.end_time_unix_nano, b.end_time_unix_nano + shift);
                assert_eq!(a.events.len(), b.events.len());
                for (x, y) in a.events.iter().zip(&b.events) {
                    assert_eq!(x.time_unix_nano, y.time_unix_nano + shift);
                    assert_eq!(x.name, y.name);
                }
                assert_eq!(a.parent_span_id.is_empty(), b.parent_span_id.is_empty());
            }
        }
        assert!(response_ids.len() >= 30, "the bodies carry response ids");
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile_ms(&v, 0.5), Some(50.0));
        assert_eq!(percentile_ms(&v, 0.99), Some(99.0));
        assert_eq!(percentile_ms(&v, 1.0), Some(100.0));
        assert_eq!(percentile_ms(&[], 0.5), None);
    }
}
