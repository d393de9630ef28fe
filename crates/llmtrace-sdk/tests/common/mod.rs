//! Test support: a real llmtrace server in process and a mock Anthropic/OpenAI provider, each on
//! its own thread and runtime (so they outlive every test's runtime), started once per binary.

#![allow(dead_code, unreachable_pub, missing_docs)]

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use llmtrace_ingest::{IngestConfig, Ingestor};
use llmtrace_pipeline::{Pipeline, PipelineConfig};
use llmtrace_query::Query;
use llmtrace_server::{AppState, BoundServer, ServerConfig};
use llmtrace_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub struct Server {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }
}

fn background_runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Runs `f` on the background runtime and waits for its result (callable from async tests).
fn on_background<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    background_runtime().spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv().unwrap()
}

/// The llmtrace server of this test binary.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let store2 = store.clone();
        let http = on_background(async move {
            let store = store2;
            let metrics = Arc::new(llmtrace_metrics::Metrics::new(
                llmtrace_metrics::MetricsConfig {
                    max_label_values: 100,
                    settle: std::time::Duration::ZERO,
                },
                None,
                false,
            ));
            let pipeline = Pipeline::start_observed(
                store.clone(),
                PipelineConfig {
                    max_queued_spans: 100_000,
                    max_queued_bytes: 64 << 20,
                    max_batch_spans: 10_000,
                    retry_for: Duration::from_secs(1),
                    linger: Duration::ZERO,
                    max_project_share: 1.0,
                },
                Some(metrics.clone()),
            );
            let ingest = Arc::new(Ingestor::new(
                pipeline,
                Arc::new(llmtrace_ingest::PriceTable::new(
                    llmtrace_pricing::PriceBook::builtin().unwrap(),
                )),
                IngestConfig::default(),
            ));
            let state = Arc::new(AppState {
                ingest,
                query: Query::new(store.clone()),
                auth: llmtrace_server::Auth::open("default"),
                max_body_bytes: 8 << 20,
                metrics: Some(metrics),
                alerts: None,
                reload_prices: None,
                gateway: None,
                listen: Default::default(),
                evaluators: None,
            });
            let server = BoundServer::bind(
                &ServerConfig {
                    http_listen: "127.0.0.1:0".parse().unwrap(),
                    grpc_listen: "127.0.0.1:0".parse().unwrap(),
                    tls: None,
                },
                state,
            )
            .await
            .unwrap();
            let http = (server.http_addr().unwrap(), server.grpc_addr().unwrap());
            tokio::spawn(async move {
                let _ = server.serve(std::future::pending::<()>()).await;
            });
            http
        });
        Server {
            http: http.0,
            grpc: http.1,
            _dir: dir,
        }
    })
}

/// GET a JSON document from the server (blocking; usable from any test).
pub async fn get_json(path: &str) -> (u16, Value) {
    let r = reqwest::get(server().url(path)).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Polls `GET /api/traces/{id}` until it has at least `spans` spans (10 s at most).
pub async fn wait_trace(trace_id: &str, spans: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (status, v) = get_json(&format!("/api/traces/{trace_id}")).await;
        if status == 200 {
            let n = v["spans"].as_array().map(Vec::len).unwrap_or(0);
            if n >= spans {
                return v;
            }
            last = v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("trace {trace_id} did not reach {spans} spans: {last:#}");
}

/// The span of a trace document with this name.
pub fn span<'a>(trace: &'a Value, name: &str) -> &'a Value {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name} in {trace:#}"))
}

/// Every span of a trace document with this name.
pub fn spans<'a>(trace: &'a Value, name: &str) -> Vec<&'a Value> {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == name)
        .collect()
}

/// The trace id of a `tracing` span (hex).
pub fn trace_id(span: &tracing::Span) -> String {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.context().span().span_context().trace_id().to_string()
}

// ---------------------------------------------------------------------------------------------
// Mock provider

#[derive(Default)]
pub struct MockState {
    /// `traceparent` headers received, in order.
    pub traceparents: Mutex<Vec<String>>,
    /// OTLP metrics export bodies received on `/v1/metrics` (protobuf).
    pub metrics: Mutex<Vec<Bytes>>,
    /// Holds the `gated-model` stream after its first event until notified.
    pub gate: tokio::sync::Notify,
}

pub struct Mock {
    pub addr: SocketAddr,
    pub state: Arc<MockState>,
}

impl Mock {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// The mock provider of this test binary.
pub fn mock() -> &'static Mock {
    static MOCK: OnceLock<Mock> = OnceLock::new();
    MOCK.get_or_init(|| {
        let state = Arc::new(MockState::default());
        let app = axum::Router::new()
            .route("/v1/messages", post(anthropic))
            .route("/v1/chat/completions", post(openai_chat))
            .route("/v1/responses", post(openai_responses))
            .route("/v1/embeddings", post(openai_embeddings))
            .route("/v1/metrics", post(otlp_metrics))
            .with_state(state.clone());
        let addr = on_background(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            addr
        });
        Mock { addr, state }
    })
}

fn note(state: &MockState, headers: &HeaderMap) {
    if let Some(tp) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        state.traceparents.lock().unwrap().push(tp.to_string());
    }
}

/// An SSE response of these `data:` payloads (`event:` lines for Anthropic), a few ms apart.
fn sse(events: Vec<(Option<&'static str>, Value)>, done: bool) -> Response {
    let mut chunks: Vec<String> = events
        .into_iter()
        .map(|(name, data)| match name {
            Some(n) => format!("event: {n}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        })
        .collect();
    if done {
        chunks.push("data: [DONE]\n\n".into());
    }
    let stream = futures_util::stream::unfold(chunks.into_iter(), |mut it| async move {
        let next = it.next()?;
        tokio::time::sleep(Duration::from_millis(2)).await;
        Some((Ok::<Bytes, std::io::Error>(Bytes::from(next)), it))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn rate_limited(anthropic: bool) -> Response {
    let body = if anthropic {
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
    } else {
        json!({"error": {"type": "rate_limit_exceeded", "message": "slow down"}})
    };
    (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
}

/// Anthropic usage of every mock answer: 12 uncached + 100 cache read + 8 cache write in, 25 out.
async fn anthropic(
    State(st): State<Arc<MockState>>,
    headers: HeaderMap,
    Json(req): Json<Value>,
) -> Response {
    note(&st, &headers);
    let model = req["model"].as_str().unwrap_or("").to_string();
    if model == "error-model" {
        return rate_limited(true);
    }
    let answered = format!("{model}-20260101");
    if model == "gated-model" {
        return gated_stream(st, answered);
    }
    if req["stream"] == true {
        return sse(
            vec![
                (
                    Some("message_start"),
                    json!({"type": "message_start", "message": {"id": format!("msg_s{}", next_id()), "type": "message", "role": "assistant", "model": answered, "content": [], "stop_reason": null,
                        "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 8, "output_tokens": 1}}}),
                ),
                (
                    Some("content_block_start"),
                    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                ),
                (
                    Some("content_block_delta"),
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello "}}),
                ),
                (
                    Some("content_block_delta"),
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "world"}}),
                ),
                (
                    Some("content_block_stop"),
                    json!({"type": "content_block_stop", "index": 0}),
                ),
                (
                    Some("message_delta"),
                    json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 25}}),
                ),
                (Some("message_stop"), json!({"type": "message_stop"})),
            ],
            false,
        );
    }
    Json(json!({
        "id": format!("msg_{}", next_id()), "type": "message", "role": "assistant", "model": answered,
        "content": [{"type": "text", "text": "Hello world"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 8, "output_tokens": 25}
    }))
    .into_response()
}

/// OpenAI chat usage: 50 in (30 cached), 20 out (7 reasoning).
async fn openai_chat(
    State(st): State<Arc<MockState>>,
    headers: HeaderMap,
    Json(req): Json<Value>,
) -> Response {
    note(&st, &headers);
    let model = req["model"].as_str().unwrap_or("").to_string();
    if model == "error-model" {
        return rate_limited(false);
    }
    if model == "bad-model" {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": {"message": "no such model", "type": "invalid_request_error",
                                  "param": "model", "code": "model_not_found"}}),
            ),
        )
            .into_response();
    }
    // A fresh response id per answer: one id seen in two traces would count once.
    let n = next_id();
    let usage = json!({"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70,
        "prompt_tokens_details": {"cached_tokens": 30}, "completion_tokens_details": {"reasoning_tokens": 7}});
    if req["stream"] == true {
        let mut events = vec![
            (
                None,
                json!({"id": format!("chatcmpl-s{n}"), "object": "chat.completion.chunk", "created": 1764000000, "model": model, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello "}, "finish_reason": null}]}),
            ),
            (
                None,
                json!({"id": format!("chatcmpl-s{n}"), "object": "chat.completion.chunk", "created": 1764000000, "model": model, "choices": [{"index": 0, "delta": {"content": "world"}, "finish_reason": null}]}),
            ),
            (
                None,
                json!({"id": format!("chatcmpl-s{n}"), "object": "chat.completion.chunk", "created": 1764000000, "model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
            ),
        ];
        if req["stream_options"]["include_usage"] == true {
            events.push((
                None,
                json!({"id": format!("chatcmpl-s{n}"), "object": "chat.completion.chunk", "created": 1764000000, "model": model, "choices": [], "usage": usage}),
            ));
        }
        return sse(events, true);
    }
    Json(json!({
        "id": format!("chatcmpl-{n}"), "object": "chat.completion", "created": 1764000000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello world"}, "finish_reason": "stop"}],
        "usage": usage
    }))
    .into_response()
}

/// A number not given out before in this process (response ids).
fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// OpenAI responses usage: 40 in (16 cached), 10 out (4 reasoning).
async fn openai_responses(
    State(st): State<Arc<MockState>>,
    headers: HeaderMap,
    Json(req): Json<Value>,
) -> Response {
    note(&st, &headers);
    let model = req["model"].as_str().unwrap_or("").to_string();
    let response = json!({
        "id": format!("resp_{}", next_id()), "object": "response", "created_at": 1764000000, "status": "completed", "model": model,
        "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hello world", "annotations": []}]}],
        "usage": {"input_tokens": 40, "output_tokens": 10, "total_tokens": 50,
            "input_tokens_details": {"cached_tokens": 16}, "output_tokens_details": {"reasoning_tokens": 4}}
    });
    if req["stream"] == true {
        let mut created = response.clone();
        created["status"] = json!("in_progress");
        created["usage"] = Value::Null;
        return sse(
            vec![
                (
                    Some("response.created"),
                    json!({"type": "response.created", "response": created}),
                ),
                (
                    Some("response.output_text.delta"),
                    json!({"type": "response.output_text.delta", "delta": "Hello "}),
                ),
                (
                    Some("response.output_text.delta"),
                    json!({"type": "response.output_text.delta", "delta": "world"}),
                ),
                (
                    Some("response.completed"),
                    json!({"type": "response.completed", "response": response}),
                ),
            ],
            false,
        );
    }
    Json(response).into_response()
}

/// Embeddings usage: 8 in.
async fn openai_embeddings(
    State(st): State<Arc<MockState>>,
    headers: HeaderMap,
    Json(req): Json<Value>,
) -> Response {
    note(&st, &headers);
    Json(json!({
        "object": "list", "model": req["model"],
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
        "usage": {"prompt_tokens": 8, "total_tokens": 8}
    }))
    .into_response()
}

async fn otlp_metrics(State(st): State<Arc<MockState>>, body: Bytes) -> Response {
    st.metrics.lock().unwrap().push(body);
    ([("content-type", "application/x-protobuf")], Bytes::new()).into_response()
}

/// The latest value of a sum metric in the OTLP metrics exports the mock received.
pub fn last_sum_value(name: &str) -> Option<i64> {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
    use prost::Message as _;
    let bodies = mock().state.metrics.lock().unwrap().clone();
    let mut last = None;
    for b in bodies {
        let req = ExportMetricsServiceRequest::decode(b).ok()?;
        for rm in req.resource_metrics {
            for sm in rm.scope_metrics {
                for m in sm.metrics.into_iter().filter(|m| m.name == name) {
                    if let Some(metric::Data::Sum(sum)) = m.data {
                        for dp in sum.data_points {
                            if let Some(number_data_point::Value::AsInt(v)) = dp.value {
                                last = Some(v);
                            }
                        }
                    }
                }
            }
        }
    }
    last
}

/// An Anthropic stream that sends `message_start`, then waits for [`MockState::gate`] before the
/// rest: a client that buffered the stream would never see the first event.
fn gated_stream(st: Arc<MockState>, model: String) -> Response {
    let first = format!(
        "event: message_start\ndata: {}\n\n",
        json!({"type": "message_start", "message": {"id": format!("msg_g{}", next_id()), "model": model, "role": "assistant", "content": [],
            "usage": {"input_tokens": 5, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, "output_tokens": 1}}})
    );
    let rest = format!(
        "event: content_block_delta\ndata: {}\n\nevent: message_delta\ndata: {}\n\n",
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "late"}}),
        json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 9}})
    );
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let st = st.clone();
        let (first, rest) = (first.clone(), rest.clone());
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(Bytes::from(first)), 1)),
                1 => {
                    st.gate.notified().await;
                    Some((Ok(Bytes::from(rest)), 2))
                }
                _ => None,
            }
        }
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}
