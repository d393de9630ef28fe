//! Synthetic, realistic OTLP traffic (RAG pipelines, agents, streaming calls) for the demo command and the load generator.
//!
//! The crate is a pure library: it only builds
//! [`ExportTraceServiceRequest`] values from a caller-supplied random number
//! generator and a caller-supplied clock value, so output is reproducible
//! for a given seed and never touches the network or the filesystem.
//!
//! Two generators are provided:
//!
//! * [`rag_request`] — fixed-shape RAG traffic for benchmarks and the load
//!   generator: `traces` traces of exactly five spans each (`rag_query`,
//!   `retrieve`, `rerank`, `llm_call`, `execute_tool`), about 625 bytes per span
//!   once protobuf-encoded.
//! * [`demo_requests`] — varied traffic for a newcomer's first look: RAG
//!   pipelines, tool-using agents, streaming chat, embeddings, several
//!   services, providers and models, users and multi-trace sessions, and
//!   roughly one failed trace in twelve.
//!
//! Attributes follow the OpenTelemetry GenAI semantic conventions (v1.41:
//! `gen_ai.provider.name`, `gen_ai.operation.name`, `gen_ai.usage.*` with
//! `input_tokens` inclusive of cached tokens, and `gen_ai.input.messages` /
//! `gen_ai.output.messages` as JSON strings of `{role, parts[], finish_reason}`
//! objects).

mod text;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use text::Topic;

/// Nanoseconds per millisecond.
const MS: u64 = 1_000_000;
/// Nanoseconds per second.
const SEC: u64 = 1_000_000_000;
/// Span flags the OpenTelemetry SDKs send for local spans (`HAS_IS_REMOTE`, not remote).
const SPAN_FLAGS: u32 = 0x100;

/// Options for synthetic traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    /// Value of the `service.name` resource attribute.
    pub service: String,
    /// Seed for [`SynthConfig::rng`]; the generators themselves take any [`Rng`].
    pub seed: u64,
}

impl SynthConfig {
    /// A config for `service` with the given seed.
    pub fn new(service: impl Into<String>, seed: u64) -> Self {
        Self {
            service: service.into(),
            seed,
        }
    }

    /// A deterministic generator seeded from [`SynthConfig::seed`].
    pub fn rng(&self) -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(self.seed)
    }
}

impl Default for SynthConfig {
    /// Service `rag-api`, seed 42.
    fn default() -> Self {
        Self::new("rag-api", 42)
    }
}

/// A RAG-shaped request: `traces` traces of 5 spans each.
///
/// Each trace is a root `rag_query` (SERVER) span with four children in
/// sequence: `retrieve` (CLIENT, `gen_ai.operation.name=retrieval`, data
/// source, query text, retrieved documents), `rerank` (CLIENT, a Cohere rerank
/// model), `llm_call` (CLIENT, `chat` on Anthropic or OpenAI, with request
/// parameters, token usage — cache reads sometimes — `finish_reasons
/// ["stop"]` and about 1 KB of prompt and completion text in
/// `gen_ai.input.messages` / `gen_ai.output.messages`), and `execute_tool`
/// (INTERNAL, `gen_ai.tool.name`).
///
/// Trace and span ids are drawn from `rng` and are unique and non-zero within
/// the request. Durations are realistic (`retrieve` 20–80 ms, `rerank`
/// 30–120 ms, `llm_call` 0.5–3 s, `execute_tool` 5–150 ms); every trace ends in
/// the last second up to `now_unix_nano` (never after it). The request holds one
/// `ResourceSpans` (`service.name = cfg.service`, `telemetry.sdk.*`) with one
/// `ScopeSpans`. Encoded, a span averages about 625 bytes (20 traces: ~61 KiB).
pub fn rag_request(
    rng: &mut impl Rng,
    cfg: &SynthConfig,
    traces: usize,
    now_unix_nano: u64,
) -> ExportTraceServiceRequest {
    let mut g = Gen::new(rng);
    let mut spans = Vec::with_capacity(traces * 5);
    for _ in 0..traces {
        let mut trace = rag_trace(&mut g);
        let end = now_unix_nano.saturating_sub(g.rng.random_range(0..SEC));
        let start = end.saturating_sub(trace.duration());
        trace.shift(start);
        spans.extend(trace.spans);
    }
    request(&cfg.service, "1.4.0", spans)
}

/// Spans per trace of [`agent_request`], on average (exact for each request).
pub const AGENT_SPANS_PER_TRACE: usize = 70;

/// The fewest and most model calls of a trace of [`agent_request`].
pub const AGENT_CALLS: (usize, usize) = (20, 50);

/// An agent-shaped request: `traces` traces of a research agent that calls the model 20 to 50
/// times, each call resending the whole conversation so far.
///
/// Each trace is a root `invoke_agent research-agent` (INTERNAL) span with, in sequence, `chat`
/// (CLIENT) calls and an `execute_tool` (INTERNAL) span after each call but the last. The first
/// call's input is the user's question; every later call's input is the previous call's input,
/// the assistant's tool call and the tool's result (distinct text each round), so a trace of
/// `n` calls sends about `n²` messages for `2n` distinct ones: the shape that makes message
/// storage quadratic unless messages are stored once. A trace of `n` calls has `2n` spans;
/// traces come in pairs of `c` and `70 - c` calls (`c` drawn in 20..=50) and an odd last trace
/// makes 35, so a request holds exactly `traces × AGENT_SPANS_PER_TRACE` spans. Times end in
/// the last second up to `now_unix_nano`.
pub fn agent_request(
    rng: &mut impl Rng,
    cfg: &SynthConfig,
    traces: usize,
    now_unix_nano: u64,
) -> ExportTraceServiceRequest {
    let mut g = Gen::new(rng);
    let pair_calls = AGENT_SPANS_PER_TRACE;
    let mut spans = Vec::new();
    let mut left = traces;
    while left > 0 {
        let calls = if left >= 2 {
            let c = g.rng.random_range(AGENT_CALLS.0..=AGENT_CALLS.1);
            vec![c, pair_calls.saturating_sub(c)]
        } else {
            vec![pair_calls / 2]
        };
        for n in calls {
            let mut trace = agent_trace(&mut g, n);
            let end = now_unix_nano.saturating_sub(g.rng.random_range(0..SEC));
            let start = end.saturating_sub(trace.duration());
            trace.shift(start);
            spans.extend(trace.spans);
            left -= 1;
        }
    }
    request(&cfg.service, "0.9.4", spans)
}

/// Demo traffic a newcomer sees: `traces` traces of mixed shapes.
///
/// The mix contains:
///
/// * `support-bot`: streaming chat (`gen_ai.request.stream=true`,
///   `gen_ai.response.time_to_first_chunk` in seconds) on `claude-sonnet-4-6`,
///   `claude-haiku-4-5` or `gemini-2.5-flash` (`gcp.gemini`), sometimes after a
///   knowledge-base retrieval;
/// * `search-api`: RAG pipelines (embeddings → retrieval → rerank → chat on
///   `gpt-4o` / `gpt-4o-mini` with cached tokens, or `claude-sonnet-4-6`) and
///   document indexing with batched `text-embedding-3-small` embeddings;
/// * `research-agent`: agents (`invoke_agent` → `chat` → `execute_tool` → … →
///   `chat`, with `gen_ai.agent.name`), whose Claude calls carry both cache
///   read and cache write tokens (`gen_ai.usage.input_tokens` includes them).
///
/// Root spans carry `user.id` and `session.id`; there are a handful of users
/// and each session spans several consecutive traces of one service. About
/// one trace in twelve fails: the failing span and the root get status ERROR
/// with a message and `error.type` (e.g. `rate_limit_error`, `timeout`), and
/// the failing span has an `exception` event with `exception.type` and
/// `exception.message`. With four or more traces, each of the four shapes
/// appears at least once.
///
/// Returns one request per trace (a batch holding that trace's spans under
/// its service's resource), ordered by trace start time. Every trace lies
/// within the last `spread_secs` seconds before `now_unix_nano` (unless the
/// trace itself is longer than that, in which case it ends at `now_unix_nano`).
pub fn demo_requests(
    rng: &mut impl Rng,
    traces: usize,
    now_unix_nano: u64,
    spread_secs: u64,
) -> Vec<ExportTraceServiceRequest> {
    let mut g = Gen::new(rng);
    let spread = spread_secs.saturating_mul(SEC).max(SEC);
    let window_start = now_unix_nano.saturating_sub(spread);

    let error_count = (traces + 6) / 12;
    let errors: HashSet<usize> = rand::seq::index::sample(g.rng, traces, error_count)
        .into_iter()
        .collect();
    let mut first_kinds = [Kind::SupportChat, Kind::Rag, Kind::Agent, Kind::Embeddings];
    first_kinds.shuffle(g.rng);

    let mut sessions: HashMap<(usize, &'static str), SessionState> = HashMap::new();
    let mut out: Vec<(u64, ExportTraceServiceRequest)> = Vec::with_capacity(traces);
    for i in 0..traces {
        let kind = match first_kinds.get(i) {
            Some(k) => *k,
            None => *KIND_WEIGHTS
                .choose_weighted(g.rng, |(_, w)| *w)
                .map(|(k, _)| k)
                .unwrap_or(&Kind::SupportChat),
        };
        let user = *USER_WEIGHTS
            .choose_weighted(g.rng, |(_, w)| *w)
            .map(|(u, _)| u)
            .unwrap_or(&0);
        let service = kind.service();
        let rng = &mut *g.rng;
        let session = sessions
            .entry((user, service))
            .or_insert_with(|| SessionState::new(rng, window_start, spread));
        if session.remaining == 0 {
            *session = SessionState::new(rng, window_start, spread);
        }
        let root = RootCtx {
            user: USERS[user],
            session: session.id.clone(),
            turn: session.turn,
        };
        let fail = errors.contains(&i);
        let mut trace = match kind {
            Kind::SupportChat => support_chat(&mut g, &root, fail),
            Kind::Rag => demo_rag(&mut g, &root, fail),
            Kind::Agent => agent(&mut g, &root, fail),
            Kind::Embeddings => embeddings_job(&mut g, &root, fail),
        };
        let duration = trace.duration();
        let start = session
            .next_start
            .min(now_unix_nano.saturating_sub(duration));
        trace.shift(start);
        let gap = g.rng.random_range(spread / 200..=spread / 20) + SEC;
        session.next_start = start + duration + gap;
        session.remaining -= 1;
        session.turn += 1;
        out.push((start, request(service, kind.version(), trace.spans)));
    }
    out.sort_by_key(|(start, _)| *start);
    out.into_iter().map(|(_, req)| req).collect()
}

// ---------------------------------------------------------------------------
// Generation state: rng + id bookkeeping.

/// The rng plus the ids handed out so far (so ids are unique, not just
/// probably unique).
struct Gen<'r, R: Rng + ?Sized> {
    rng: &'r mut R,
    trace_ids: HashSet<[u8; 16]>,
    span_ids: HashSet<[u8; 8]>,
}

impl<'r, R: Rng + ?Sized> Gen<'r, R> {
    fn new(rng: &'r mut R) -> Self {
        Self {
            rng,
            trace_ids: HashSet::new(),
            span_ids: HashSet::new(),
        }
    }

    fn trace_id(&mut self) -> Vec<u8> {
        loop {
            let id: [u8; 16] = self.rng.random();
            if id != [0; 16] && self.trace_ids.insert(id) {
                return id.to_vec();
            }
        }
    }

    fn span_id(&mut self) -> Vec<u8> {
        loop {
            let id: [u8; 8] = self.rng.random();
            if id != [0; 8] && self.span_ids.insert(id) {
                return id.to_vec();
            }
        }
    }

    /// Uniform duration in `[lo_ms, hi_ms]` milliseconds, in nanoseconds.
    fn ms(&mut self, lo_ms: u64, hi_ms: u64) -> u64 {
        self.rng.random_range(lo_ms * MS..=hi_ms * MS)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(self.rng).expect("non-empty table")
    }

    fn alnum(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| ALPHABET[self.rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    }

    fn response_id(&mut self, provider: &str) -> String {
        match provider {
            "anthropic" => format!("msg_01{}", self.alnum(22)),
            "openai" => format!("chatcmpl-{}", self.alnum(29)),
            _ => self.alnum(24),
        }
    }

    fn tool_call_id(&mut self, provider: &str) -> String {
        match provider {
            "anthropic" => format!("toolu_01{}", self.alnum(22)),
            "openai" => format!("call_{}", self.alnum(24)),
            _ => format!("call-{}", self.alnum(12)),
        }
    }
}

// ---------------------------------------------------------------------------
// Trace assembly.

/// Spans of one trace, with times relative to the trace start until
/// [`Trace::shift`] moves them onto the real clock.
struct Trace {
    id: Vec<u8>,
    spans: Vec<Span>,
}

impl Trace {
    fn new<R: Rng + ?Sized>(g: &mut Gen<'_, R>) -> Self {
        Self {
            id: g.trace_id(),
            spans: Vec::new(),
        }
    }

    /// Adds a span and returns its index.
    #[allow(clippy::too_many_arguments)]
    fn add<R: Rng + ?Sized>(
        &mut self,
        g: &mut Gen<'_, R>,
        parent: Option<usize>,
        name: impl Into<String>,
        kind: SpanKind,
        start: u64,
        end: u64,
        attributes: Vec<KeyValue>,
    ) -> usize {
        let parent_span_id = parent
            .map(|p| self.spans[p].span_id.clone())
            .unwrap_or_default();
        self.spans.push(Span {
            trace_id: self.id.clone(),
            span_id: g.span_id(),
            parent_span_id,
            flags: SPAN_FLAGS,
            name: name.into(),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            ..Default::default()
        });
        self.spans.len() - 1
    }

    fn end_at(&mut self, idx: usize, end: u64) {
        self.spans[idx].end_time_unix_nano = end;
    }

    fn end_of(&self, idx: usize) -> u64 {
        self.spans[idx].end_time_unix_nano
    }

    fn attr(&mut self, idx: usize, kv: KeyValue) {
        self.spans[idx].attributes.push(kv);
    }

    /// Wall time from the earliest start to the latest end.
    fn duration(&self) -> u64 {
        let start = self
            .spans
            .iter()
            .map(|s| s.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        let end = self
            .spans
            .iter()
            .map(|s| s.end_time_unix_nano)
            .max()
            .unwrap_or(0);
        end.saturating_sub(start)
    }

    /// Moves the trace so that it starts at `start`.
    fn shift(&mut self, start: u64) {
        let base = self
            .spans
            .iter()
            .map(|s| s.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        for span in &mut self.spans {
            span.start_time_unix_nano = span.start_time_unix_nano - base + start;
            span.end_time_unix_nano = span.end_time_unix_nano - base + start;
            for event in &mut span.events {
                event.time_unix_nano = event.time_unix_nano - base + start;
            }
        }
    }

    /// Marks span `idx` as the failing operation: ERROR status, `error.type`,
    /// and an `exception` event at its end.
    fn fail(&mut self, idx: usize, f: &Failure) {
        let span = &mut self.spans[idx];
        span.status = Some(Status {
            code: StatusCode::Error as i32,
            message: f.message.clone(),
        });
        span.attributes.push(kv_str("error.type", f.error_type));
        span.events.push(Event {
            time_unix_nano: span.end_time_unix_nano,
            name: "exception".into(),
            attributes: vec![
                kv_str("exception.type", f.exception_type),
                kv_str("exception.message", &f.message),
                kv_str("exception.stacktrace", &f.stacktrace()),
                kv_bool("exception.escaped", false),
            ],
            ..Default::default()
        });
    }

    /// Marks an ancestor (usually the root) as failed because of `f`.
    fn fail_parent(&mut self, idx: usize, f: &Failure) {
        let span = &mut self.spans[idx];
        span.status = Some(Status {
            code: StatusCode::Error as i32,
            message: format!("{}: {}", f.exception_type, f.short),
        });
        span.attributes.push(kv_str("error.type", f.error_type));
    }
}

fn request(service: &str, version: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv_str("service.name", service),
                    kv_str("service.version", version),
                    kv_str("deployment.environment.name", "production"),
                    kv_str("telemetry.sdk.name", "opentelemetry"),
                    kv_str("telemetry.sdk.language", "python"),
                    kv_str("telemetry.sdk.version", "1.45.2"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "llmtrace-synth".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.41.0".into(),
            }],
            schema_url: String::new(),
        }],
    }
}

// ---------------------------------------------------------------------------
// Attribute helpers.

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn kv_str(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.to_string()))
}

fn kv_string(key: &str, value: String) -> KeyValue {
    kv(key, Value::StringValue(value))
}

fn kv_int(key: &str, value: i64) -> KeyValue {
    kv(key, Value::IntValue(value))
}

fn kv_f64(key: &str, value: f64) -> KeyValue {
    kv(key, Value::DoubleValue(value))
}

fn kv_bool(key: &str, value: bool) -> KeyValue {
    kv(key, Value::BoolValue(value))
}

fn kv_strs(key: &str, values: &[&str]) -> KeyValue {
    kv(
        key,
        Value::ArrayValue(ArrayValue {
            values: values
                .iter()
                .map(|v| AnyValue {
                    value: Some(Value::StringValue((*v).to_string())),
                })
                .collect(),
        }),
    )
}

// ---------------------------------------------------------------------------
// JSON helpers for the GenAI message attributes (no serde dependency needed).

/// `s` as a JSON string literal.
fn js(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn text_part(content: &str) -> String {
    format!(r#"{{"type":"text","content":{}}}"#, js(content))
}

fn tool_call_part(id: &str, name: &str, arguments_json: &str) -> String {
    format!(
        r#"{{"type":"tool_call","id":{},"name":{},"arguments":{}}}"#,
        js(id),
        js(name),
        arguments_json
    )
}

fn tool_response_part(id: &str, response: &str) -> String {
    format!(
        r#"{{"type":"tool_call_response","id":{},"response":{}}}"#,
        js(id),
        js(response)
    )
}

/// An input `ChatMessage`.
fn msg(role: &str, parts: &[String]) -> String {
    format!(r#"{{"role":{},"parts":[{}]}}"#, js(role), parts.join(","))
}

/// An `OutputMessage` (one per choice).
fn out_msg(parts: &[String], finish_reason: &str) -> String {
    format!(
        r#"{{"role":"assistant","parts":[{}],"finish_reason":{}}}"#,
        parts.join(","),
        js(finish_reason)
    )
}

fn json_array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

// ---------------------------------------------------------------------------
// Models, usage, failures.

/// How a provider reports prompt caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cache {
    /// No cache counters.
    None,
    /// Cache reads only (OpenAI `cached_tokens`, multiples of 128, >= 1024).
    Read,
    /// Cache reads and writes (Anthropic).
    ReadWrite,
}

#[derive(Debug, Clone, Copy)]
struct Model {
    provider: &'static str,
    request: &'static str,
    response: &'static str,
    server: &'static str,
    cache: Cache,
    /// System prompt goes to `gen_ai.system_instructions` instead of a system message.
    separate_system: bool,
}

const SONNET: Model = Model {
    provider: "anthropic",
    request: "claude-sonnet-4-6",
    response: "claude-sonnet-4-6",
    server: "api.anthropic.com",
    cache: Cache::ReadWrite,
    separate_system: true,
};
const HAIKU: Model = Model {
    provider: "anthropic",
    request: "claude-haiku-4-5",
    response: "claude-haiku-4-5-20251001",
    server: "api.anthropic.com",
    cache: Cache::ReadWrite,
    separate_system: true,
};
const GPT4O: Model = Model {
    provider: "openai",
    request: "gpt-4o",
    response: "gpt-4o-2024-08-06",
    server: "api.openai.com",
    cache: Cache::Read,
    separate_system: false,
};
const GPT4O_MINI: Model = Model {
    provider: "openai",
    request: "gpt-4o-mini",
    response: "gpt-4o-mini-2024-07-18",
    server: "api.openai.com",
    cache: Cache::Read,
    separate_system: false,
};
const GEMINI_FLASH: Model = Model {
    provider: "gcp.gemini",
    request: "gemini-2.5-flash",
    response: "gemini-2.5-flash",
    server: "generativelanguage.googleapis.com",
    cache: Cache::None,
    separate_system: true,
};
const EMBEDDING_MODEL: &str = "text-embedding-3-small";

/// Token usage of one call; `input` includes the cache counters (OTel rule).
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    input: i64,
    output: i64,
    cache_read: i64,
    cache_write: i64,
}

impl Usage {
    fn push_attrs(&self, attrs: &mut Vec<KeyValue>) {
        attrs.push(kv_int("gen_ai.usage.input_tokens", self.input));
        attrs.push(kv_int("gen_ai.usage.output_tokens", self.output));
        if self.cache_read > 0 {
            attrs.push(kv_int(
                "gen_ai.usage.cache_read.input_tokens",
                self.cache_read,
            ));
        }
        if self.cache_write > 0 {
            attrs.push(kv_int(
                "gen_ai.usage.cache_creation.input_tokens",
                self.cache_write,
            ));
        }
    }
}

/// Cache behaviour requested for one call.
#[derive(Debug, Clone, Copy)]
struct CachePlan {
    read: bool,
    write: bool,
}

/// Realistic usage for a call whose visible prompt/completion text has the
/// given sizes; `hidden_input` counts tokens not shown in the messages
/// (tool definitions, long retrieved context, history).
fn usage_for<R: Rng + ?Sized>(
    g: &mut Gen<'_, R>,
    model: &Model,
    prompt_chars: usize,
    completion_chars: usize,
    hidden_input: i64,
    plan: CachePlan,
) -> Usage {
    let fresh = (prompt_chars / 4) as i64 + hidden_input + g.rng.random_range(20..80);
    let output = (completion_chars / 4) as i64 + g.rng.random_range(2..25);
    let (cache_read, cache_write) = match model.cache {
        Cache::None => (0, 0),
        Cache::Read => (
            if plan.read {
                1024 + 128 * g.rng.random_range(0..24)
            } else {
                0
            },
            0,
        ),
        Cache::ReadWrite => (
            if plan.read {
                g.rng.random_range(1200..4200)
            } else {
                0
            },
            if plan.write {
                g.rng.random_range(300..2600)
            } else {
                0
            },
        ),
    };
    Usage {
        input: fresh + cache_read + cache_write,
        output,
        cache_read,
        cache_write,
    }
}

/// Why a span failed.
#[derive(Debug, Clone)]
struct Failure {
    error_type: &'static str,
    exception_type: &'static str,
    message: String,
    short: &'static str,
    /// Duration of the failed call in milliseconds (lo, hi).
    duration_ms: (u64, u64),
    /// HTTP status the service answers its own caller with.
    http_status: i64,
}

impl Failure {
    fn stacktrace(&self) -> String {
        format!(
            "Traceback (most recent call last):\n  File \"/app/service/handlers.py\", line 142, in handle\n    result = await pipeline.run(request)\n  File \"/app/service/llm.py\", line 58, in call_model\n    response = await client.create(**params)\n{}: {}",
            self.exception_type, self.message
        )
    }
}

fn llm_failure<R: Rng + ?Sized>(g: &mut Gen<'_, R>, provider: &str) -> Failure {
    let timeout = g.rng.random_bool(0.35);
    match (provider, timeout) {
        ("anthropic", false) => Failure {
            error_type: "rate_limit_error",
            exception_type: "anthropic.RateLimitError",
            message: "Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', 'message': 'This request would exceed the rate limit for your organization of 80,000 input tokens per minute.'}}".into(),
            short: "rate limited by provider",
            duration_ms: (80, 400),
            http_status: 502,
        },
        ("anthropic", true) => Failure {
            error_type: "timeout",
            exception_type: "anthropic.APITimeoutError",
            message: "Request timed out.".into(),
            short: "provider call timed out",
            duration_ms: (30_000, 30_050),
            http_status: 504,
        },
        ("openai", false) => Failure {
            error_type: "rate_limit_error",
            exception_type: "openai.RateLimitError",
            message: "Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4o in organization org-demo on tokens per min (TPM): Limit 30000, Used 29412, Requested 1840.', 'type': 'tokens', 'code': 'rate_limit_exceeded'}}".into(),
            short: "rate limited by provider",
            duration_ms: (60, 300),
            http_status: 502,
        },
        ("openai", true) => Failure {
            error_type: "timeout",
            exception_type: "openai.APITimeoutError",
            message: "Request timed out.".into(),
            short: "provider call timed out",
            duration_ms: (20_000, 20_050),
            http_status: 504,
        },
        (_, false) => Failure {
            error_type: "rate_limit_error",
            exception_type: "google.genai.errors.ClientError",
            message: "429 RESOURCE_EXHAUSTED. {'error': {'code': 429, 'message': 'Resource has been exhausted (e.g. check quota).', 'status': 'RESOURCE_EXHAUSTED'}}".into(),
            short: "rate limited by provider",
            duration_ms: (100, 500),
            http_status: 502,
        },
        (_, true) => Failure {
            error_type: "timeout",
            exception_type: "httpx.ReadTimeout",
            message: "The read operation timed out".into(),
            short: "provider call timed out",
            duration_ms: (15_000, 15_050),
            http_status: 504,
        },
    }
}

fn tool_failure(tool: &str) -> Failure {
    Failure {
        error_type: "timeout",
        exception_type: "TimeoutError",
        message: format!("{tool} did not respond within 10s"),
        short: "tool call timed out",
        duration_ms: (10_000, 10_040),
        http_status: 504,
    }
}

/// Everything needed to describe one chat call.
struct ChatCall<'a> {
    model: Model,
    system: &'a str,
    /// Input messages after the system prompt (JSON objects).
    input: Vec<String>,
    /// The output message (JSON object); unused when the call fails.
    output: String,
    finish_reason: &'static str,
    usage: Usage,
    temperature: f64,
    max_tokens: i64,
    /// `gen_ai.tool.definitions` JSON, if tools were offered.
    tools: Option<&'a str>,
    /// Time to first chunk in seconds for streaming calls.
    stream_ttfc: Option<f64>,
}

fn chat_attrs<R: Rng + ?Sized>(
    g: &mut Gen<'_, R>,
    c: &ChatCall<'_>,
    failed: bool,
) -> Vec<KeyValue> {
    let m = &c.model;
    let mut attrs = vec![
        kv_str("gen_ai.operation.name", "chat"),
        kv_str("gen_ai.provider.name", m.provider),
        kv_str("gen_ai.request.model", m.request),
        kv_f64("gen_ai.request.temperature", c.temperature),
        kv_int("gen_ai.request.max_tokens", c.max_tokens),
        kv_str("server.address", m.server),
        kv_int("server.port", 443),
    ];
    if let Some(ttfc) = c.stream_ttfc {
        attrs.push(kv_bool("gen_ai.request.stream", true));
        if !failed {
            attrs.push(kv_f64(
                "gen_ai.response.time_to_first_chunk",
                (ttfc * 1000.0).round() / 1000.0,
            ));
        }
    }
    let mut input = Vec::with_capacity(c.input.len() + 1);
    if m.separate_system {
        attrs.push(kv_string(
            "gen_ai.system_instructions",
            json_array(&[text_part(c.system)]),
        ));
    } else {
        input.push(msg("system", &[text_part(c.system)]));
    }
    input.extend(c.input.iter().cloned());
    attrs.push(kv_string("gen_ai.input.messages", json_array(&input)));
    if let Some(tools) = c.tools {
        attrs.push(kv_str("gen_ai.tool.definitions", tools));
    }
    if !failed {
        attrs.push(kv_string("gen_ai.response.id", g.response_id(m.provider)));
        attrs.push(kv_str("gen_ai.response.model", m.response));
        attrs.push(kv_strs(
            "gen_ai.response.finish_reasons",
            &[c.finish_reason],
        ));
        c.usage.push_attrs(&mut attrs);
        attrs.push(kv_string(
            "gen_ai.output.messages",
            json_array(std::slice::from_ref(&c.output)),
        ));
    }
    attrs
}

// ---------------------------------------------------------------------------
// Shared pieces of RAG traces.

struct Retrieved {
    /// Indices into the topic's passages, best first.
    passages: Vec<usize>,
    documents_json: String,
}

/// Picks `min_passages..=3` passages of `topic` (as many as it has) and fakes
/// the retriever's candidate list of `top_k` documents.
fn retrieve_docs<R: Rng + ?Sized>(
    g: &mut Gen<'_, R>,
    topic: &Topic,
    min_passages: usize,
    top_k: usize,
) -> Retrieved {
    let n = g
        .rng
        .random_range(min_passages.min(3)..=3)
        .min(topic.passages.len());
    let mut passages: Vec<usize> = rand::seq::index::sample(g.rng, topic.passages.len(), n)
        .into_iter()
        .collect();
    passages.sort_unstable();
    let mut score: f64 = g.rng.random_range(0.78..0.93);
    let mut docs = Vec::with_capacity(top_k);
    for i in 0..top_k {
        let id = match passages.get(i) {
            Some(&p) => topic.passages[p].0.to_string(),
            None => format!("chunk-{:05}", g.rng.random_range(0..40_000)),
        };
        docs.push(format!(r#"{{"id":{},"score":{:.3}}}"#, js(&id), score));
        score -= g.rng.random_range(0.01..0.06);
    }
    Retrieved {
        passages,
        documents_json: json_array(&docs),
    }
}

/// The user message of a RAG prompt: question plus numbered context.
fn rag_user_prompt(topic: &Topic, question: &str, passages: &[usize]) -> String {
    let mut s = format!("Question: {question}\n\nContext:");
    for (n, &p) in passages.iter().enumerate() {
        let _ = write!(s, "\n[{}] {}", n + 1, topic.passages[p].1);
    }
    s
}

/// An answer made of the first `min_sentences..=all` sentences of the topic.
fn answer_text<R: Rng + ?Sized>(g: &mut Gen<'_, R>, topic: &Topic, min_sentences: usize) -> String {
    let len = topic.answer.len();
    let n = g.rng.random_range(min_sentences.min(len)..=len);
    topic.answer[..n].join(" ")
}

// ---------------------------------------------------------------------------
// Fixed-shape RAG trace (benchmarks / loadgen).

fn rag_trace<R: Rng + ?Sized>(g: &mut Gen<'_, R>) -> Trace {
    let mut t = Trace::new(g);
    let topic = &text::DOCS[g.rng.random_range(0..text::DOCS.len())];
    let question = g.pick(topic.questions);
    let root = t.add(
        g,
        None,
        "rag_query",
        SpanKind::Server,
        0,
        0,
        vec![
            kv_str("http.request.method", "POST"),
            kv_str("http.route", "/v1/ask"),
            kv_str("url.scheme", "https"),
            kv_int("http.response.status_code", 200),
            kv_str("user_agent.original", "acme-web/5.12.0"),
        ],
    );

    // retrieve
    let mut cursor = g.ms(1, 4);
    let source = g.pick(text::DATA_SOURCES);
    let top_k = 5;
    let docs = retrieve_docs(g, topic, 3, top_k);
    let end = cursor + g.ms(20, 80);
    t.add(
        g,
        Some(root),
        "retrieve",
        SpanKind::Client,
        cursor,
        end,
        vec![
            kv_str("gen_ai.operation.name", "retrieval"),
            kv_str("gen_ai.data_source.id", source),
            kv_str("gen_ai.retrieval.query.text", question),
            kv_int("gen_ai.request.top_k", top_k as i64),
            kv_str("db.system.name", "qdrant"),
            kv_string("gen_ai.retrieval.documents", docs.documents_json.clone()),
        ],
    );

    // rerank
    cursor = end + g.ms(0, 2);
    let (rerank_provider, rerank_model) = g.pick(text::RERANKERS);
    let end = cursor + g.ms(30, 120);
    t.add(
        g,
        Some(root),
        "rerank",
        SpanKind::Client,
        cursor,
        end,
        vec![
            kv_str("gen_ai.operation.name", "rerank"),
            kv_str("gen_ai.provider.name", rerank_provider),
            kv_str("gen_ai.request.model", rerank_model),
            kv_int("gen_ai.request.top_k", docs.passages.len() as i64),
            kv_str("server.address", "api.cohere.com"),
        ],
    );

    // llm_call
    cursor = end + g.ms(0, 3);
    let model = g.pick(&[SONNET, HAIKU, GPT4O, GPT4O_MINI]);
    let system = g.pick(text::DOCS_SYSTEM);
    let user = rag_user_prompt(topic, question, &docs.passages);
    let answer = answer_text(g, topic, 3);
    let plan = CachePlan {
        read: g.rng.random_bool(0.4),
        write: false,
    };
    let hidden = g.rng.random_range(200..1400);
    let usage = usage_for(
        g,
        &model,
        system.len() + user.len(),
        answer.len(),
        hidden,
        plan,
    );
    let call = ChatCall {
        model,
        system,
        input: vec![msg("user", &[text_part(&user)])],
        output: out_msg(&[text_part(&answer)], "stop"),
        finish_reason: "stop",
        usage,
        temperature: g.pick(&[0.0, 0.2, 0.3]),
        max_tokens: g.pick(&[512, 1024, 2048]),
        tools: None,
        stream_ttfc: None,
    };
    let attrs = chat_attrs(g, &call, false);
    let end = cursor + g.ms(500, 3000);
    t.add(
        g,
        Some(root),
        "llm_call",
        SpanKind::Client,
        cursor,
        end,
        attrs,
    );

    // execute_tool
    cursor = end + g.ms(0, 1);
    let (tool, args, result) = g.pick(text::RAG_TOOLS);
    let call_id = g.tool_call_id(model.provider);
    let end = cursor + g.ms(5, 150);
    t.add(
        g,
        Some(root),
        "execute_tool",
        SpanKind::Internal,
        cursor,
        end,
        vec![
            kv_str("gen_ai.operation.name", "execute_tool"),
            kv_str("gen_ai.tool.name", tool),
            kv_string("gen_ai.tool.call.id", call_id),
            kv_str("gen_ai.tool.type", "function"),
            kv_str("gen_ai.tool.call.arguments", args),
            kv_str("gen_ai.tool.call.result", result),
        ],
    );
    let root_end = end + g.ms(1, 8);
    t.end_at(root, root_end);
    t
}

// ---------------------------------------------------------------------------
// Demo traffic.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SupportChat,
    Rag,
    Agent,
    Embeddings,
}

impl Kind {
    fn service(self) -> &'static str {
        match self {
            Kind::SupportChat => "support-bot",
            Kind::Rag | Kind::Embeddings => "search-api",
            Kind::Agent => "research-agent",
        }
    }

    fn version(self) -> &'static str {
        match self {
            Kind::SupportChat => "2.3.1",
            Kind::Rag | Kind::Embeddings => "1.18.0",
            Kind::Agent => "0.9.4",
        }
    }
}

const KIND_WEIGHTS: &[(Kind, u32)] = &[
    (Kind::SupportChat, 35),
    (Kind::Rag, 30),
    (Kind::Agent, 25),
    (Kind::Embeddings, 10),
];

const USERS: &[&str] = &[
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "dmitri@example.com",
    "emeka@example.com",
    "fatima@example.com",
];
const USER_WEIGHTS: &[(usize, u32)] = &[(0, 30), (1, 20), (2, 15), (3, 15), (4, 12), (5, 8)];

/// A user's open session on one service.
struct SessionState {
    id: String,
    remaining: u32,
    turn: u32,
    next_start: u64,
}

impl SessionState {
    fn new<R: Rng + ?Sized>(rng: &mut R, window_start: u64, spread: u64) -> Self {
        Self {
            id: format!("sess-{:012x}", rng.random::<u64>() & 0xffff_ffff_ffff),
            remaining: rng.random_range(2..=6),
            turn: 0,
            next_start: window_start + rng.random_range(0..spread / 4 * 3),
        }
    }
}

/// Who the trace is for.
struct RootCtx {
    user: &'static str,
    session: String,
    /// 0 for the first trace of the session.
    turn: u32,
}

impl RootCtx {
    fn attrs(&self) -> [KeyValue; 2] {
        [
            kv_str("user.id", self.user),
            kv_str("session.id", &self.session),
        ]
    }
}

fn http_root<R: Rng + ?Sized>(
    g: &mut Gen<'_, R>,
    t: &mut Trace,
    ctx: &RootCtx,
    route: &str,
) -> usize {
    let mut attrs = vec![
        kv_str("http.request.method", "POST"),
        kv_str("http.route", route),
        kv_str("url.path", route),
        kv_str("url.scheme", "https"),
    ];
    attrs.extend(ctx.attrs());
    t.add(
        g,
        None,
        format!("POST {route}"),
        SpanKind::Server,
        0,
        0,
        attrs,
    )
}

/// Ends an HTTP root after `last_end`, with the right status code.
fn finish_http_root<R: Rng + ?Sized>(
    g: &mut Gen<'_, R>,
    t: &mut Trace,
    root: usize,
    last_end: u64,
    failure: Option<&Failure>,
) {
    let end = last_end + g.ms(1, 12);
    t.end_at(root, end);
    match failure {
        Some(f) => {
            t.attr(root, kv_int("http.response.status_code", f.http_status));
            t.fail_parent(root, f);
        }
        None => t.attr(root, kv_int("http.response.status_code", 200)),
    }
}

/// `support-bot`: optional KB retrieval, then one streaming chat call.
fn support_chat<R: Rng + ?Sized>(g: &mut Gen<'_, R>, ctx: &RootCtx, fail: bool) -> Trace {
    let mut t = Trace::new(g);
    let root = http_root(g, &mut t, ctx, "/v1/chat");
    let topic = &text::SUPPORT[g.rng.random_range(0..text::SUPPORT.len())];
    let question = g.pick(topic.questions);
    let mut cursor = g.ms(1, 5);

    let retrieved = if g.rng.random_bool(0.6) {
        let docs = retrieve_docs(g, topic, 1, 4);
        let end = cursor + g.ms(15, 60);
        t.add(
            g,
            Some(root),
            "retrieval kb-support-articles",
            SpanKind::Client,
            cursor,
            end,
            vec![
                kv_str("gen_ai.operation.name", "retrieval"),
                kv_str("gen_ai.data_source.id", "kb-support-articles"),
                kv_str("gen_ai.retrieval.query.text", question),
                kv_int("gen_ai.request.top_k", 4),
                kv_string("gen_ai.retrieval.documents", docs.documents_json),
            ],
        );
        cursor = end + g.ms(0, 2);
        Some(docs.passages)
    } else {
        None
    };

    let model = *[(SONNET, 60), (HAIKU, 15), (GEMINI_FLASH, 25)]
        .choose_weighted(g.rng, |(_, w)| *w)
        .map(|(m, _)| m)
        .unwrap_or(&SONNET);
    let system = g.pick(text::SUPPORT_SYSTEM);
    let mut input = Vec::new();
    if ctx.turn > 0 {
        // Earlier turn of the same session, as chat history.
        input.push(msg(
            "user",
            &[text_part("Hi, quick question about my account.")],
        ));
        input.push(msg(
            "assistant",
            &[text_part("Of course! What can I help you with today?")],
        ));
    }
    let user_text = match &retrieved {
        Some(p) => format!(
            "{question}\n\n<kb>\n{}\n</kb>",
            p.iter()
                .map(|&i| topic.passages[i].1)
                .collect::<Vec<_>>()
                .join("\n")
        ),
        None => question.to_string(),
    };
    input.push(msg("user", &[text_part(&user_text)]));
    let answer = answer_text(g, topic, 2);
    let plan = CachePlan {
        read: ctx.turn > 0 || g.rng.random_bool(0.5),
        write: g.rng.random_bool(0.5),
    };
    let hidden = g.rng.random_range(50..600);
    let usage = usage_for(
        g,
        &model,
        system.len() + user_text.len(),
        answer.len(),
        hidden,
        plan,
    );
    let ttfc = g.rng.random_range(0.25..1.1);
    let call = ChatCall {
        model,
        system,
        input,
        output: out_msg(&[text_part(&answer)], "stop"),
        finish_reason: "stop",
        usage,
        temperature: 0.3,
        max_tokens: 1024,
        tools: None,
        stream_ttfc: Some(ttfc),
    };
    let failure = fail.then(|| llm_failure(g, model.provider));
    let attrs = chat_attrs(g, &call, failure.is_some());
    let duration = match &failure {
        Some(f) => g.ms(f.duration_ms.0, f.duration_ms.1),
        None => {
            let per_token = g.rng.random_range(9.0..22.0) * MS as f64;
            (ttfc * SEC as f64 + usage.output as f64 * per_token) as u64
        }
    };
    let llm = t.add(
        g,
        Some(root),
        format!("chat {}", model.request),
        SpanKind::Client,
        cursor,
        cursor + duration,
        attrs,
    );
    if let Some(f) = &failure {
        t.fail(llm, f);
    }
    let last = t.end_of(llm);
    finish_http_root(g, &mut t, root, last, failure.as_ref());
    t
}

/// `search-api` RAG: embeddings → retrieval → rerank → chat (→ tool).
fn demo_rag<R: Rng + ?Sized>(g: &mut Gen<'_, R>, ctx: &RootCtx, fail: bool) -> Trace {
    let mut t = Trace::new(g);
    let root = http_root(g, &mut t, ctx, "/v1/answer");
    let topic = &text::DOCS[g.rng.random_range(0..text::DOCS.len())];
    let question = g.pick(topic.questions);
    let mut cursor = g.ms(1, 4);

    // Query embedding.
    let end = cursor + g.ms(40, 180);
    let q_tokens = (question.len() / 4) as i64 + 2;
    t.add(
        g,
        Some(root),
        format!("embeddings {EMBEDDING_MODEL}"),
        SpanKind::Client,
        cursor,
        end,
        embedding_attrs(q_tokens),
    );
    cursor = end + g.ms(0, 2);

    // Retrieval.
    let source = "acme-docs-v8";
    let docs = retrieve_docs(g, topic, 2, 8);
    let end = cursor + g.ms(20, 80);
    t.add(
        g,
        Some(root),
        format!("retrieval {source}"),
        SpanKind::Client,
        cursor,
        end,
        vec![
            kv_str("gen_ai.operation.name", "retrieval"),
            kv_str("gen_ai.data_source.id", source),
            kv_str("gen_ai.retrieval.query.text", question),
            kv_int("gen_ai.request.top_k", 8),
            kv_str("db.system.name", "qdrant"),
            kv_string("gen_ai.retrieval.documents", docs.documents_json.clone()),
        ],
    );
    cursor = end + g.ms(0, 2);

    // Rerank.
    let end = cursor + g.ms(30, 120);
    t.add(
        g,
        Some(root),
        "rerank rerank-v3.5",
        SpanKind::Client,
        cursor,
        end,
        vec![
            kv_str("gen_ai.operation.name", "rerank"),
            kv_str("gen_ai.provider.name", "cohere"),
            kv_str("gen_ai.request.model", "rerank-v3.5"),
            kv_int("gen_ai.request.top_k", docs.passages.len() as i64),
            kv_str("server.address", "api.cohere.com"),
        ],
    );
    cursor = end + g.ms(0, 3);

    // Chat.
    let model = *[(GPT4O, 55), (GPT4O_MINI, 20), (SONNET, 25)]
        .choose_weighted(g.rng, |(_, w)| *w)
        .map(|(m, _)| m)
        .unwrap_or(&GPT4O);
    let system = g.pick(text::DOCS_SYSTEM);
    let user = rag_user_prompt(topic, question, &docs.passages);
    let answer = answer_text(g, topic, 2);
    let plan = CachePlan {
        read: g.rng.random_bool(0.6),
        write: g.rng.random_bool(0.3),
    };
    let hidden = g.rng.random_range(800..2400);
    let usage = usage_for(
        g,
        &model,
        system.len() + user.len(),
        answer.len(),
        hidden,
        plan,
    );
    let call = ChatCall {
        model,
        system,
        input: vec![msg("user", &[text_part(&user)])],
        output: out_msg(&[text_part(&answer)], "stop"),
        finish_reason: "stop",
        usage,
        temperature: 0.2,
        max_tokens: 800,
        tools: None,
        stream_ttfc: None,
    };
    let failure = fail.then(|| llm_failure(g, model.provider));
    let attrs = chat_attrs(g, &call, failure.is_some());
    let duration = match &failure {
        Some(f) => g.ms(f.duration_ms.0, f.duration_ms.1),
        None => g.ms(500, 1200) + (usage.output as u64) * g.ms(8, 16),
    };
    let llm = t.add(
        g,
        Some(root),
        format!("chat {}", model.request),
        SpanKind::Client,
        cursor,
        cursor + duration,
        attrs,
    );
    let mut last = t.end_of(llm);
    if let Some(f) = &failure {
        t.fail(llm, f);
    } else if g.rng.random_bool(0.3) {
        let start = last + g.ms(0, 2);
        let end = start + g.ms(4, 40);
        t.add(
            g,
            Some(root),
            "execute_tool log_feedback",
            SpanKind::Internal,
            start,
            end,
            vec![
                kv_str("gen_ai.operation.name", "execute_tool"),
                kv_str("gen_ai.tool.name", "log_feedback"),
                kv_str("gen_ai.tool.type", "function"),
            ],
        );
        last = end;
    }
    finish_http_root(g, &mut t, root, last, failure.as_ref());
    t
}

fn embedding_attrs(input_tokens: i64) -> Vec<KeyValue> {
    vec![
        kv_str("gen_ai.operation.name", "embeddings"),
        kv_str("gen_ai.provider.name", "openai"),
        kv_str("gen_ai.request.model", EMBEDDING_MODEL),
        kv_str("gen_ai.response.model", EMBEDDING_MODEL),
        kv_strs("gen_ai.request.encoding_formats", &["float"]),
        kv_int("gen_ai.embeddings.dimension.count", 1536),
        kv_int("gen_ai.usage.input_tokens", input_tokens),
        kv_str("server.address", "api.openai.com"),
        kv_int("server.port", 443),
    ]
}

const AGENT_TOOLS_JSON: &str = r#"[{"type":"function","name":"web_search","description":"Search the web and return the top results with snippets.","parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}},{"type":"function","name":"fetch_page","description":"Fetch a URL and return its main text.","parameters":{"type":"object","properties":{"url":{"type":"string"}},"required":["url"]}}]"#;

/// `research-agent`: invoke_agent → (chat → execute_tool)+ → chat.
/// The attributes of an agent's `execute_tool` span, its result aside.
fn tool_attrs(tool: &str, call_id: &str, arguments: String) -> Vec<KeyValue> {
    vec![
        kv_str("gen_ai.operation.name", "execute_tool"),
        kv_str("gen_ai.tool.name", tool),
        kv_str("gen_ai.tool.call.id", call_id),
        kv_str("gen_ai.tool.type", "function"),
        kv_string("gen_ai.tool.call.arguments", arguments),
    ]
}

/// The model call of an agent's round `round`: the history so far in, the output (its JSON,
/// finish reason and characters) out, the agent's tools offered. The first call writes the
/// cached prefix (system + tools); later calls read it and write the newly appended turn.
fn agent_call<'a, R: Rng + ?Sized>(
    g: &mut Gen<'_, R>,
    model: Model,
    system: &'a str,
    history: &[String],
    (output, finish_reason, out_chars): (&str, &'static str, usize),
    round: usize,
) -> ChatCall<'a> {
    let prompt_chars: usize = system.len() + history.iter().map(String::len).sum::<usize>();
    let plan = CachePlan {
        read: round > 0,
        write: true,
    };
    let hidden = g.rng.random_range(150..500);
    let usage = usage_for(g, &model, prompt_chars, out_chars, hidden, plan);
    ChatCall {
        model,
        system,
        input: history.to_vec(),
        output: output.to_string(),
        finish_reason,
        usage,
        temperature: 0.7,
        max_tokens: 4096,
        tools: Some(AGENT_TOOLS_JSON),
        stream_ttfc: None,
    }
}

fn agent<R: Rng + ?Sized>(g: &mut Gen<'_, R>, ctx: &RootCtx, fail: bool) -> Trace {
    let mut t = Trace::new(g);
    let (agent_name, agent_id) = g.pick(&[
        ("research-agent", "asst_research_01"),
        ("research-agent", "asst_research_01"),
        ("policy-analyst", "asst_policy_02"),
    ]);
    let model = *[(SONNET, 70), (GEMINI_FLASH, 30)]
        .choose_weighted(g.rng, |(_, w)| *w)
        .map(|(m, _)| m)
        .unwrap_or(&SONNET);
    let mut root_attrs = vec![
        kv_str("gen_ai.operation.name", "invoke_agent"),
        kv_str("gen_ai.agent.name", agent_name),
        kv_str("gen_ai.agent.id", agent_id),
        kv_str("gen_ai.provider.name", model.provider),
        kv_str("gen_ai.request.model", model.request),
        kv_str("gen_ai.conversation.id", &ctx.session),
    ];
    root_attrs.extend(ctx.attrs());
    let root = t.add(
        g,
        None,
        format!("invoke_agent {agent_name}"),
        SpanKind::Internal,
        0,
        0,
        root_attrs,
    );

    let topic = &text::RESEARCH[g.rng.random_range(0..text::RESEARCH.len())];
    let question = g.pick(topic.questions);
    let system = g.pick(text::RESEARCH_SYSTEM);
    let rounds = g.rng.random_range(1..=topic.passages.len().min(3));
    // Which step fails: chat number `k` (0..=rounds) or tool number `k`.
    let fail_at = fail.then(|| {
        let tool = g.rng.random_bool(0.4);
        let k = g
            .rng
            .random_range(0..if tool { rounds } else { rounds + 1 });
        (tool, k)
    });

    let mut history = vec![msg("user", &[text_part(question)])];
    let mut cursor = g.ms(2, 10);
    let mut failure: Option<Failure> = None;
    for round in 0..=rounds {
        let last_round = round == rounds;
        let (output, finish, out_chars, tool_call) = if last_round {
            let answer = answer_text(g, topic, 2);
            let len = answer.len();
            (out_msg(&[text_part(&answer)], "stop"), "stop", len, None)
        } else {
            let (source, _) = topic.passages[round];
            let (tool, args) = if round == 0 || !source.starts_with("https://") {
                ("web_search", format!(r#"{{"query":{}}}"#, js(question)))
            } else {
                ("fetch_page", format!(r#"{{"url":{}}}"#, js(source)))
            };
            let id = g.tool_call_id(model.provider);
            let thought = format!("I'll use {tool} to gather sources first.");
            let out = out_msg(
                &[text_part(&thought), tool_call_part(&id, tool, &args)],
                "tool_call",
            );
            let len = thought.len() + args.len();
            (out, "tool_call", len, Some((id, tool, args)))
        };
        let call = agent_call(
            g,
            model,
            system,
            &history,
            (&output, finish, out_chars),
            round,
        );
        let usage = call.usage;
        let chat_fails = fail_at == Some((false, round));
        let f = chat_fails.then(|| llm_failure(g, model.provider));
        let attrs = chat_attrs(g, &call, f.is_some());
        let duration = match &f {
            Some(f) => g.ms(f.duration_ms.0, f.duration_ms.1),
            None => g.ms(600, 1500) + (usage.output as u64) * g.ms(10, 20),
        };
        let chat = t.add(
            g,
            Some(root),
            format!("chat {}", model.request),
            SpanKind::Client,
            cursor,
            cursor + duration,
            attrs,
        );
        cursor = t.end_of(chat) + g.ms(1, 5);
        if let Some(f) = f {
            t.fail(chat, &f);
            failure = Some(f);
            break;
        }
        history.push(output);
        let Some((id, tool, args)) = tool_call else {
            break;
        };
        let (_, result) = topic.passages[round];
        let tool_fails = fail_at == Some((true, round));
        let f = tool_fails.then(|| tool_failure(tool));
        let duration = match &f {
            Some(f) => g.ms(f.duration_ms.0, f.duration_ms.1),
            None => g.ms(300, 2500),
        };
        let mut attrs = tool_attrs(tool, &id, args);
        if f.is_none() {
            attrs.push(kv_string("gen_ai.tool.call.result", js(result)));
        }
        let tool_span = t.add(
            g,
            Some(root),
            format!("execute_tool {tool}"),
            SpanKind::Internal,
            cursor,
            cursor + duration,
            attrs,
        );
        cursor = t.end_of(tool_span) + g.ms(1, 5);
        if let Some(f) = f {
            t.fail(tool_span, &f);
            failure = Some(f);
            break;
        }
        history.push(msg("tool", &[tool_response_part(&id, result)]));
    }
    let last = t
        .spans
        .iter()
        .map(|s| s.end_time_unix_nano)
        .max()
        .unwrap_or(0);
    t.end_at(root, last + g.ms(1, 6));
    if let Some(f) = &failure {
        t.fail_parent(root, f);
    } else {
        t.attr(root, kv_strs("gen_ai.response.finish_reasons", &["stop"]));
    }
    t
}

/// The fixed-shape agent trace of [`agent_request`]: `calls` model calls, a tool between each
/// two, the history growing by the assistant's tool call and the tool's result each round.
fn agent_trace<R: Rng + ?Sized>(g: &mut Gen<'_, R>, calls: usize) -> Trace {
    let mut t = Trace::new(g);
    let model = g.pick(&[SONNET, GPT4O]);
    let session = format!("sess-{:012x}", g.rng.random::<u64>() & 0xffff_ffff_ffff);
    let root = t.add(
        g,
        None,
        "invoke_agent research-agent",
        SpanKind::Internal,
        0,
        0,
        vec![
            kv_str("gen_ai.operation.name", "invoke_agent"),
            kv_str("gen_ai.agent.name", "research-agent"),
            kv_str("gen_ai.agent.id", "asst_research_01"),
            kv_str("gen_ai.provider.name", model.provider),
            kv_str("gen_ai.request.model", model.request),
            kv_string("gen_ai.conversation.id", session),
        ],
    );
    let topic = &text::RESEARCH[g.rng.random_range(0..text::RESEARCH.len())];
    let question = g.pick(topic.questions);
    let system = g.pick(text::RESEARCH_SYSTEM);
    let mut history = vec![msg("user", &[text_part(question)])];
    let mut cursor = g.ms(2, 10);
    for round in 0..calls {
        let last_round = round + 1 == calls;
        let (source, passage) = topic.passages[round % topic.passages.len()];
        let (output, finish, out_chars, tool_call) = if last_round {
            let answer = answer_text(g, topic, 2);
            let len = answer.len();
            (out_msg(&[text_part(&answer)], "stop"), "stop", len, None)
        } else {
            let tool = if round % 2 == 0 {
                "web_search"
            } else {
                "fetch_page"
            };
            let args = if tool == "web_search" {
                format!(r#"{{"query":{},"page":{round}}}"#, js(question))
            } else {
                format!(r#"{{"url":{}}}"#, js(&format!("{source}?part={round}")))
            };
            let id = g.tool_call_id(model.provider);
            let thought = format!(
                "Step {}: I'll use {tool} to check one more source.",
                round + 1
            );
            let out = out_msg(
                &[text_part(&thought), tool_call_part(&id, tool, &args)],
                "tool_call",
            );
            let len = thought.len() + args.len();
            (out, "tool_call", len, Some((id, tool, args, passage)))
        };
        let call = agent_call(
            g,
            model,
            system,
            &history,
            (&output, finish, out_chars),
            round,
        );
        let usage = call.usage;
        let attrs = chat_attrs(g, &call, false);
        let duration = g.ms(600, 1500) + (usage.output as u64) * g.ms(10, 20);
        let chat = t.add(
            g,
            Some(root),
            format!("chat {}", model.request),
            SpanKind::Client,
            cursor,
            cursor + duration,
            attrs,
        );
        cursor = t.end_of(chat) + g.ms(1, 5);
        history.push(output);
        let Some((id, tool, args, passage)) = tool_call else {
            break;
        };
        let result = format!("[result {} of {tool}] {passage}", round + 1);
        let tool_end = cursor + g.ms(300, 2500);
        let tool_span = t.add(
            g,
            Some(root),
            format!("execute_tool {tool}"),
            SpanKind::Internal,
            cursor,
            tool_end,
            [
                tool_attrs(tool, &id, args),
                vec![kv_string("gen_ai.tool.call.result", js(&result))],
            ]
            .concat(),
        );
        cursor = t.end_of(tool_span) + g.ms(1, 5);
        history.push(msg("tool", &[tool_response_part(&id, &result)]));
    }
    let last = t
        .spans
        .iter()
        .map(|s| s.end_time_unix_nano)
        .max()
        .unwrap_or(0);
    t.end_at(root, last + g.ms(1, 6));
    t
}

/// `search-api` indexing: chunking, 1–3 batched embeddings calls, vector upsert.
fn embeddings_job<R: Rng + ?Sized>(g: &mut Gen<'_, R>, ctx: &RootCtx, fail: bool) -> Trace {
    let mut t = Trace::new(g);
    let root = http_root(g, &mut t, ctx, "/v1/documents");
    let mut cursor = g.ms(1, 4);
    let chunks = g.rng.random_range(40..400);
    let documents = g.rng.random_range(1..8);
    let end = cursor + g.ms(5, 30);
    t.add(
        g,
        Some(root),
        "chunk_documents",
        SpanKind::Internal,
        cursor,
        end,
        vec![
            kv_int("app.document.count", documents),
            kv_int("app.chunk.count", chunks),
        ],
    );
    cursor = end + g.ms(0, 2);
    let batches = g.rng.random_range(1..=3);
    let fail_batch = fail.then(|| g.rng.random_range(0..batches));
    let mut failure = None;
    for b in 0..batches {
        let tokens = g.rng.random_range(2_000..8_000);
        let duration = g.ms(120, 600);
        let e = t.add(
            g,
            Some(root),
            format!("embeddings {EMBEDDING_MODEL}"),
            SpanKind::Client,
            cursor,
            cursor + duration,
            embedding_attrs(tokens),
        );
        if fail_batch == Some(b) {
            // A rate-limited embeddings call carries no usage.
            t.spans[e].attributes.retain(|kv| {
                kv.key != "gen_ai.usage.input_tokens" && kv.key != "gen_ai.response.model"
            });
            let f = Failure {
                error_type: "rate_limit_error",
                exception_type: "openai.RateLimitError",
                message: "Error code: 429 - {'error': {'message': 'Rate limit reached for text-embedding-3-small in organization org-demo on requests per min (RPM): Limit 3000, Used 3000, Requested 1.', 'type': 'requests', 'code': 'rate_limit_exceeded'}}".into(),
                short: "rate limited by provider",
                duration_ms: (40, 200),
                http_status: 502,
            };
            let end = cursor + g.ms(f.duration_ms.0, f.duration_ms.1);
            t.end_at(e, end);
            t.fail(e, &f);
            cursor = end;
            failure = Some(f);
            break;
        }
        cursor = t.end_of(e) + g.ms(0, 3);
    }
    if failure.is_none() {
        let end = cursor + g.ms(20, 90);
        t.add(
            g,
            Some(root),
            "upsert acme-docs-v8",
            SpanKind::Client,
            cursor,
            end,
            vec![
                kv_str("db.system.name", "qdrant"),
                kv_str("db.operation.name", "upsert"),
                kv_str("db.collection.name", "acme-docs-v8"),
                kv_int("db.operation.batch.size", chunks),
            ],
        );
        cursor = end;
    }
    finish_http_root(g, &mut t, root, cursor, failure.as_ref());
    t
}

#[cfg(test)]
mod tests;
