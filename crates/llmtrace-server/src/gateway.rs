//! Gateway mode (`--gateway`): `/gateway/{upstream}/{*path}` proxies a call to an LLM provider
//! and stores what crossed the wire as a span. The transport only: it forwards the request and
//! streams the answer back chunk by chunk, untouched, while a copy of each chunk feeds
//! [`llmtrace_gateway::Collector`]; the span is built by the pure `llmtrace-gateway` crate and
//! stored through the ingest path (normalize, price, store) after the answer ended, so storing
//! never delays the app.
//!
//! Headers: `X-Llmtrace-*` (session, user, service, key, project) are read and not forwarded;
//! `traceparent` is read and forwarded; hop-by-hop headers and `Accept-Encoding` are not
//! forwarded (the answer must arrive uncompressed to be read; the hop to the app is local). The
//! provider's key (`Authorization`, `x-api-key`) is forwarded and never stored or logged.

use crate::error::api_error;
use crate::AppState;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use llmtrace_gateway::{Api, Call, Collector, Ending, Traceparent};
use llmtrace_model::{SpanId, TraceId};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The built-in upstreams (overridable with `--gateway-upstream NAME=URL`).
pub const DEFAULT_UPSTREAMS: &[(&str, &str)] = &[
    ("anthropic", "https://api.anthropic.com"),
    ("openai", "https://api.openai.com"),
];

/// Request headers that configure the gateway and are never forwarded.
const SESSION_HEADER: &str = "x-llmtrace-session-id";
const USER_HEADER: &str = "x-llmtrace-user-id";
const SERVICE_HEADER: &str = "x-llmtrace-service";

/// Headers that belong to one connection (RFC 9110 §7.6.1), never forwarded either way.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Upstream base URLs by route name.
    pub upstreams: BTreeMap<String, String>,
    /// Whether prompts and completions are stored (`--gateway-capture-content`).
    pub capture_content: bool,
    /// How long to wait for the upstream's connection.
    pub connect_timeout: Duration,
    /// How long the upstream may stay silent (before its answer starts, or between chunks).
    pub read_timeout: Duration,
}

impl GatewayConfig {
    /// The built-in upstreams, then `overrides` (`NAME=URL`), validated.
    pub fn new(overrides: &[String], capture_content: bool) -> Result<Self, String> {
        let mut upstreams: BTreeMap<String, String> = DEFAULT_UPSTREAMS
            .iter()
            .map(|(n, u)| ((*n).to_string(), (*u).to_string()))
            .collect();
        for o in overrides {
            let (name, url) = o
                .split_once('=')
                .ok_or_else(|| format!("--gateway-upstream {o:?}: expected NAME=URL"))?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "--gateway-upstream {o:?}: the name may hold letters, digits, - and _"
                ));
            }
            let url = url.trim().trim_end_matches('/');
            let parsed: Uri = url
                .parse()
                .map_err(|e| format!("--gateway-upstream {o:?}: {e}"))?;
            if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
                return Err(format!(
                    "--gateway-upstream {o:?}: the URL must be http:// or https:// with a host"
                ));
            }
            upstreams.insert(name.to_string(), url.to_string());
        }
        Ok(GatewayConfig {
            upstreams,
            capture_content,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(600),
        })
    }
}

/// The running gateway: its settings and one HTTP client (connection pool, rustls with the
/// system's roots).
pub struct Gateway {
    config: GatewayConfig,
    /// Each upstream's host (`server.address` of its spans), by route name.
    hosts: BTreeMap<String, String>,
    http: reqwest::Client,
}

impl Gateway {
    /// A gateway with `config`.
    pub fn new(config: GatewayConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            // The answer comes back as the upstream sent it: a redirect is the app's to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("gateway HTTP client: {e}"))?;
        let hosts = config
            .upstreams
            .iter()
            .map(|(name, url)| {
                let host = url
                    .parse::<Uri>()
                    .ok()
                    .and_then(|u| u.host().map(str::to_string))
                    .unwrap_or_default();
                (name.clone(), host)
            })
            .collect();
        Ok(Gateway {
            config,
            hosts,
            http,
        })
    }

    /// The upstream names, for the startup log.
    pub fn upstreams(&self) -> &BTreeMap<String, String> {
        &self.config.upstreams
    }
}

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/gateway/{upstream}", axum::routing::any(proxy_root))
        .route("/gateway/{upstream}/{*path}", axum::routing::any(proxy))
}

async fn proxy_root(
    state: State<Arc<AppState>>,
    Path(upstream): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward(state, upstream, String::new(), method, uri, headers, body).await
}

async fn proxy(
    state: State<Arc<AppState>>,
    Path((upstream, path)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward(state, upstream, path, method, uri, headers, body).await
}

fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| llmtrace_model::truncate_str(v.to_string(), 256))
}

/// An answer in the provider's error shape, which its SDKs read (and retry on 502/504).
fn gateway_error(
    api_family_anthropic: bool,
    status: StatusCode,
    kind: &str,
    msg: &str,
) -> Response {
    let body = if api_family_anthropic {
        serde_json::json!({"type": "error", "error": {"type": kind, "message": msg}})
    } else {
        serde_json::json!({"error": {"type": kind, "message": msg, "code": kind}})
    };
    (status, axum::Json(body)).into_response()
}

fn random_ids() -> (TraceId, SpanId) {
    loop {
        let t: [u8; 16] = rand::random();
        let s: [u8; 8] = rand::random();
        if let (Ok(t), Ok(s)) = (TraceId::from_bytes(&t), SpanId::from_bytes(&s)) {
            return (t, s);
        }
    }
}

async fn forward(
    State(st): State<Arc<AppState>>,
    upstream: String,
    path: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(gw) = st.gateway.clone() else {
        return api_error(
            StatusCode::NOT_FOUND,
            "the gateway is off (start with --gateway)",
        );
    };
    let Some(base) = gw.config.upstreams.get(&upstream).cloned() else {
        return api_error(
            StatusCode::NOT_FOUND,
            format!(
                "no gateway upstream {upstream:?} (configured: {}; add one with \
                 --gateway-upstream NAME=URL)",
                gw.config
                    .upstreams
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    };
    let project = match st.auth.gateway_project(&headers) {
        Ok(p) => p.to_string(),
        Err(e) => return crate::api::unauthorized(e),
    };
    let start = now_unix_nano();
    let bytes = match crate::body_read::read_body(body, st.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return crate::error::class_error(e.class, e.message),
    };
    let upstream_path = format!("/{path}");
    let api = Api::of(method.as_str(), &upstream_path);
    let anthropic_shape = api == Some(Api::AnthropicMessages) || upstream == "anthropic";
    let mut url = format!("{base}{upstream_path}");
    if let Some(q) = uri.query() {
        url.push('?');
        url.push_str(q);
    }
    let mut out_headers = HeaderMap::new();
    for (name, value) in &headers {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || n == "host"
            || n == "content-length"
            || n == "accept-encoding"
            || n.starts_with("x-llmtrace-")
        {
            continue;
        }
        out_headers.append(name.clone(), value.clone());
    }
    let call = api.map(|api| {
        let (trace_id, span_id, parent) = match header_str(&headers, "traceparent")
            .as_deref()
            .and_then(Traceparent::parse)
        {
            Some(tp) => (tp.trace_id, random_ids().1, Some(tp.parent_span_id)),
            None => {
                let (t, s) = random_ids();
                (t, s, None)
            }
        };
        Call {
            api,
            upstream: upstream.clone(),
            server_address: gw.hosts.get(&upstream).cloned().unwrap_or_default(),
            request: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
            start_unix_nano: start,
            capture_content: gw.config.capture_content,
            project: project.clone(),
            service: header_str(&headers, SERVICE_HEADER)
                .unwrap_or_else(|| llmtrace_gateway::DEFAULT_SERVICE.into()),
            session_id: header_str(&headers, SESSION_HEADER),
            user_id: header_str(&headers, USER_HEADER),
            trace_id,
            span_id,
            parent_span_id: parent,
        }
    });
    let answer = gw
        .http
        .request(method, &url)
        .headers(out_headers)
        .body(bytes)
        .send()
        .await;
    let resp = match answer {
        Ok(r) => r,
        Err(e) => {
            let (status, kind) = if e.is_timeout() {
                (StatusCode::GATEWAY_TIMEOUT, "gateway_timeout")
            } else {
                (StatusCode::BAD_GATEWAY, "gateway_upstream_unreachable")
            };
            // The error's text names the URL, never a header.
            let message = format!("llmtrace gateway: upstream {upstream:?} failed: {e}");
            tracing::warn!(upstream = %upstream, error = %e, "gateway upstream failed");
            if let Some(call) = call {
                let span = llmtrace_gateway::span(
                    &call,
                    None,
                    &Default::default(),
                    now_unix_nano(),
                    &Ending::Failed {
                        error_type: kind.into(),
                        message: message.clone(),
                    },
                );
                store(st.clone(), span);
            }
            return gateway_error(anthropic_shape, status, kind, &message);
        }
    };
    let status = resp.status();
    let mut builder = Response::builder().status(status.as_u16());
    for (name, value) in resp.headers() {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            builder = builder.header(n, v);
        }
    }
    let pending = call.map(|call| {
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        Pending {
            expected_len: resp.content_length(),
            seen: 0,
            collector: Some(Collector::new(
                call.api,
                &content_type,
                st.max_body_bytes,
                call.capture_content,
            )),
            call,
            status: status.as_u16(),
            state: st.clone(),
        }
    });
    let stream =
        futures_util::stream::unfold((resp, pending), |(mut resp, mut pending)| async move {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if let Some(p) = pending.as_mut() {
                        p.feed(&chunk);
                    }
                    Some((Ok::<Bytes, std::io::Error>(chunk), (resp, pending)))
                }
                Ok(None) => {
                    if let Some(p) = pending.take() {
                        p.end(Ending::Complete);
                    }
                    None
                }
                Err(e) => {
                    let kind = if e.is_timeout() {
                        "gateway_timeout"
                    } else {
                        "gateway_stream_broken"
                    };
                    if let Some(p) = pending.take() {
                        p.end(Ending::Failed {
                            error_type: kind.into(),
                            message: format!("the upstream's answer broke off: {e}"),
                        });
                    }
                    Some((Err(std::io::Error::other(e)), (resp, None)))
                }
            }
        });
    match builder.body(Body::from_stream(stream)) {
        Ok(r) => r,
        Err(e) => api_error(StatusCode::BAD_GATEWAY, format!("bad upstream answer: {e}")),
    }
}

/// A call whose answer is still passing: it builds and stores its span when the answer ends,
/// or, when the app goes away first (the body is dropped), with what it saw.
struct Pending {
    /// The answer's declared length: a body that arrived whole may be dropped by the server
    /// right after its last byte, without being polled to its end.
    expected_len: Option<u64>,
    /// Bytes passed on so far.
    seen: u64,
    call: Call,
    collector: Option<Collector>,
    status: u16,
    state: Arc<AppState>,
}

impl Pending {
    fn feed(&mut self, chunk: &[u8]) {
        self.seen = self
            .seen
            .saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        if let Some(c) = self.collector.as_mut() {
            c.feed(chunk, now_unix_nano());
        }
    }

    fn end(mut self, ending: Ending) {
        self.finish(ending);
    }

    fn finish(&mut self, ending: Ending) {
        let Some(collector) = self.collector.take() else {
            return;
        };
        let end = now_unix_nano();
        let observed = collector.finish(end);
        let span = llmtrace_gateway::span(&self.call, Some(self.status), &observed, end, &ending);
        store(self.state.clone(), span);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.expected_len == Some(self.seen) {
            self.finish(Ending::Complete);
        } else {
            self.finish(Ending::Failed {
                error_type: "client_closed".into(),
                message: "the app closed the connection before the answer ended".into(),
            });
        }
    }
}

/// Stores a gateway span in the background (normalize, price, store); the app's answer never
/// waits for it.
fn store(state: Arc<AppState>, span: llmtrace_model::Span) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let bytes = span.memory_estimate();
    handle.spawn(async move {
        if let Err(e) = state
            .ingest
            .export_raw_spans(vec![span], vec![], bytes)
            .await
        {
            tracing::warn!(error = %e.message, "a gateway span could not be stored");
        }
    });
}
