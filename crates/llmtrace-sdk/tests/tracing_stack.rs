//! llmtrace in an application that already has its own `tracing` stack: the SDK's layer added to
//! the app's subscriber (no second global subscriber), every span sent both to llmtrace and to
//! another OTLP backend (`Builder::also_export_to_with_headers`), and the app's own `fmt` layer
//! still seeing its events. The other backend is a bare OTLP/HTTP receiver in process that
//! decodes what it gets, like a collector would.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use common::{mock, server, span, trace_id, wait_trace};
use llmtrace_sdk::{Guard, Instrument, SdkError};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer as _;

// ---------------------------------------------------------------------------------------------
// The other OTLP backend

/// A span as the other backend received it.
#[derive(Debug, Clone)]
struct Received {
    trace_id: String,
    span_id: String,
    parent_span_id: Option<String>,
    name: String,
    service: Option<String>,
}

#[derive(Default)]
struct Inbox {
    spans: Mutex<Vec<Received>>,
    headers: Mutex<Vec<HeaderMap>>,
}

struct Collector {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
}

impl Collector {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The spans of one trace, polled until there are at least `n` (10 s at most).
    async fn wait_trace(&self, trace_id: &str, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let spans: Vec<Received> = self
                .inbox
                .spans
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.trace_id == trace_id)
                .cloned()
                .collect();
            if spans.len() >= n {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the other backend did not get {n} spans of trace {trace_id}");
    }
}

fn collector() -> &'static Collector {
    static COLLECTOR: OnceLock<Collector> = OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let inbox = Arc::new(Inbox::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = inbox.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new()
                    .route("/v1/traces", post(receive))
                    .with_state(state);
                axum::serve(listener, app).await.unwrap();
            });
        });
        Collector { addr, inbox }
    })
}

/// `POST /v1/traces` (OTLP/HTTP protobuf).
async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use prost::Message as _;
    let req = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    let mut got = Vec::new();
    for rs in req.resource_spans {
        let service = rs.resource.as_ref().and_then(|r| {
            r.attributes
                .iter()
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    any_value::Value::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
        });
        for ss in rs.scope_spans {
            for s in ss.spans {
                got.push(Received {
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent_span_id: (!s.parent_span_id.is_empty()).then(|| hex(&s.parent_span_id)),
                    name: s.name,
                    service: service.clone(),
                });
            }
        }
    }
    inbox.spans.lock().unwrap().extend(got);
    inbox.headers.lock().unwrap().push(headers);
    Vec::new() // an empty ExportTraceServiceResponse
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// The application's own stack

/// What the app's `fmt` layer wrote.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct App {
    guard: Guard,
    log: Log,
}

/// The app's global subscriber: its filter (DEBUG for its own code), its `fmt` layer, and
/// llmtrace's layer with a per-layer INFO filter. The SDK itself installs no subscriber.
fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let guard = llmtrace_sdk::Builder::new()
            .service_name("tracing-stack-test")
            .endpoint(server().url(""))
            .header("authorization", "Bearer for-llmtrace-only")
            .also_export_to_with_headers(collector().url(), [("x-backend-key", "backend-2")])
            .install_subscriber(false)
            .export_metrics(false)
            .scheduled_delay(Duration::from_millis(100))
            .install()
            .unwrap();
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "tracing_stack=debug,info",
            ))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            )
            .with(guard.tracing_layer().with_filter(LevelFilter::INFO));
        tracing::subscriber::set_global_default(subscriber).unwrap();
        App { guard, log }
    })
}

#[tracing::instrument]
async fn lookup(key: &str) -> usize {
    tracing::info!(key, "looked up");
    key.len()
}

/// Runs one request of the app: a root span, a DEBUG span (for the app's log only) around a
/// traced Anthropic call, and an instrumented function. Returns the trace id.
async fn handle_request() -> String {
    let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());
    let root = tracing::info_span!("handle_request", user = "u-42");
    let tid = trace_id(&root);
    async {
        tracing::info!(question = "say hello", "request received");
        async {
            tracing::debug!("cache miss, asking the model");
            let resp = client
                .post(mock().url("/v1/messages"))
                .header("anthropic-version", "2023-06-01")
                .json(&json!({"model": "claude-sonnet-4-6", "max_tokens": 64,
                    "messages": [{"role": "user", "content": "Say hello"}]}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.text().await.unwrap();
        }
        .instrument(tracing::debug_span!("cache_then_model"))
        .await;
        assert_eq!(lookup("weather").await, 7);
    }
    .instrument(root.clone())
    .await;
    drop(root);
    tid
}

fn id(s: &Value) -> &str {
    s["span_id"].as_str().unwrap()
}

#[tokio::test]
async fn layer_in_the_apps_stack_exports_to_llmtrace_and_another_backend() {
    let app = app();
    let tid = handle_request().await;
    app.guard.flush().unwrap();

    // llmtrace: the root, the model call and the instrumented function; the DEBUG span is not
    // exported (the layer's own filter), so the call hangs off the nearest exported ancestor.
    let t = wait_trace(&tid, 3).await;
    let names: Vec<&str> = t["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{t:#}");
    assert!(!names.contains(&"cache_then_model"), "{t:#}");
    let root = span(&t, "handle_request");
    assert!(root["parent_span_id"].is_null(), "{t:#}");
    let call = span(&t, "chat claude-sonnet-4-6");
    assert_eq!(call["parent_span_id"], id(root));
    assert_eq!(call["kind"], "llm");
    assert_eq!(call["input_tokens"], 120);
    assert_eq!(call["output_tokens"], 25);
    assert_eq!(span(&t, "lookup")["parent_span_id"], id(root));
    assert_eq!(t["trace"]["service"], "tracing-stack-test");

    // The other backend: the same spans (same ids), the same tree, the same resource.
    let other = collector().wait_trace(&tid, 3).await;
    assert_eq!(other.len(), 3, "{other:#?}");
    for s in t["spans"].as_array().unwrap() {
        let o = other
            .iter()
            .find(|o| o.span_id == id(s))
            .unwrap_or_else(|| panic!("{} not in the other backend: {other:#?}", s["name"]));
        assert_eq!(o.name, s["name"].as_str().unwrap());
        assert_eq!(o.parent_span_id.as_deref(), s["parent_span_id"].as_str());
        assert_eq!(o.service.as_deref(), Some("tracing-stack-test"));
    }
    // Its own headers, not llmtrace's.
    let headers = collector().inbox.headers.lock().unwrap().clone();
    assert!(headers.iter().all(|h| h["x-backend-key"] == "backend-2"));
    assert!(headers.iter().all(|h| h.get("authorization").is_none()));

    // The app's own layer still sees everything, its DEBUG span and events included.
    let log = app.log.text();
    for needle in [
        "request received",
        "cache miss, asking the model",
        "cache_then_model",
        "looked up",
        "handle_request",
    ] {
        assert!(
            log.contains(needle),
            "{needle:?} not in the app's log:\n{log}"
        );
    }
    assert_eq!(app.guard.dropped_spans(), 0);
}

#[tokio::test]
async fn the_sdk_never_installs_a_second_global_subscriber() {
    app();
    // With the default `install_subscriber(true)`, install() refuses instead of replacing the
    // app's subscriber, and says how to compose instead.
    let err = llmtrace_sdk::Builder::new()
        .endpoint(server().url(""))
        .export_metrics(false)
        .flush_on_panic(false)
        .install()
        .unwrap_err();
    assert!(matches!(err, SdkError::SubscriberAlreadySet(_)), "{err}");
}

#[tokio::test]
async fn an_unreachable_second_backend_costs_llmtrace_nothing() {
    // A provider of its own (build(), nothing global) under a scoped subscriber.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead); // nothing listens there any more: connections are refused
    let guard = llmtrace_sdk::Builder::new()
        .service_name("tracing-stack-dead-backend")
        .endpoint(server().url(""))
        .also_export_to(dead_url)
        .export_metrics(false)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    let tid = {
        let _default = tracing::subscriber::set_default(subscriber);
        let root = tracing::info_span!("with_dead_backend");
        let tid = trace_id(&root);
        async {
            tracing::info_span!("child").in_scope(|| tracing::info!("work"));
        }
        .instrument(root)
        .await;
        tid
    };
    // The flush reports the other backend's failure; llmtrace got everything regardless.
    assert!(guard.flush().is_err());
    let t = wait_trace(&tid, 2).await;
    assert_eq!(
        span(&t, "child")["parent_span_id"],
        id(span(&t, "with_dead_backend"))
    );
    assert_eq!(guard.dropped_spans(), 0);
    assert_eq!(guard.exported_spans(), 2);
}
