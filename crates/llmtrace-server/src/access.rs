//! Who may reach the server, checked once for every route before any handler runs:
//!
//! - **With keys**, every route but the health probes (`/healthz`, Langfuse's
//!   `/api/public/health`) needs a valid key (`/metrics` too, unless
//!   `--public-metrics` opens it for a Prometheus without credentials); handlers then scope
//!   what they read or write to the key's project. With an admin key (`--admin-key`) the
//!   node-wide routes (`/api/ingest`, `/api/alerts`, `/api/evaluators`, the health page) need
//!   it, and it acts on the project its `X-Llmtrace-Project` header names; `/metrics` shows a
//!   project key only its project's series.
//! - **Without keys on loopback** (the default), a web page in the user's browser must not reach
//!   the server: a `Host` that is not a loopback name or address (DNS rebinding) gets 403, a
//!   state-changing request from another origin (`Origin` not the server's) gets 403, and a
//!   JSON endpoint refuses a body that is not declared JSON (a cross-site `text/plain` POST)
//!   with 415.
//! - Every answer says `nosniff`; pages carry a content security policy that allows only the
//!   server's own script and stylesheet and forbids framing.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// The policy of the UI's pages: its own script and stylesheet only (the charts' inline SVG
/// styles aside), no framing, no plugins.
const PAGE_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// Routes that show the whole node (every project's traffic, the queue, the alert state): with
/// an admin key configured, only it opens them. (`/metrics` shows a project key its own
/// project's series, the admin key everything.)
const NODE_WIDE_PATHS: &[&str] = &["/api/ingest", "/api/alerts", "/api/evaluators", "/health"];

/// Endpoints whose body is JSON: a body declared as anything else is refused (415).
const JSON_BODY_PATHS: &[&str] = &[
    "/api/public/ingestion",
    "/api/public/scores",
    "/runs",
    "/runs/batch",
    "/v1/traces/ingest",
    "/api/pricing/recompute",
    "/api/scores",
    "/feedback",
    "/api/score-configs",
    "/api/datasets",
];

/// Whether a path's body is JSON ([`JSON_BODY_PATHS`], and the routes with a name in their
/// path: `/api/datasets/{name}/items`, `/api/evaluators/{name}/run`).
fn takes_json_body(path: &str) -> bool {
    let named = |prefix: &str, suffix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(|name| !name.is_empty() && !name.contains('/'))
    };
    JSON_BODY_PATHS.contains(&path)
        || named("/api/datasets/", "/items")
        || named("/api/evaluators/", "/run")
}

/// The host part of a `Host` header value (`[::1]:4318` → `::1`, `localhost:4318` →
/// `localhost`).
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Whether a host name is a loopback name or address.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let name = host_name(host).trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The request's `Host` (HTTP/1.1), else its URI authority (HTTP/2).
fn request_host(req: &Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
}

/// Whether `Origin` names the server itself (same scheme-less host and port as `Host`).
fn same_origin(origin: &str, host: &str) -> bool {
    let authority = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    authority.eq_ignore_ascii_case(host.trim())
}

fn declares_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            let essence = ct.split(';').next().unwrap_or("").trim().to_owned();
            essence == "application/json" || essence.ends_with("+json")
        })
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    }
}

/// The check every request passes (see the module doc), then the response headers.
pub(crate) async fn gate(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let state_changing = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if st.auth.requires_keys() {
        // The health probes show nothing but "up" (Langfuse SDKs probe theirs without a key).
        // The UI's stylesheet and script are the same for everyone and hold no data.
        let open = matches!(path.as_str(), "/healthz" | "/api/public/health")
            || path.starts_with("/ui/")
            || (path == "/metrics" && st.auth.public_metrics());
        if !open {
            if crate::ui::is_ui_path(&path) {
                // The browser gets the sign-in page that makes it ask for a key.
                if let Err(page) = crate::ui::identify(&st, req.headers()) {
                    return *page;
                }
            } else if path.starts_with("/gateway/") {
                // The gateway's Authorization is the provider's key; llmtrace's is X-Llmtrace-Key.
                if let Err(e) = st.auth.gateway_project(req.headers()) {
                    return crate::api::unauthorized(e);
                }
            } else if let Err(e) = st.auth.identify(req.headers()) {
                return crate::api::unauthorized(e);
            }
            let node_wide = NODE_WIDE_PATHS.contains(&path.as_str());
            if node_wide
                && st.auth.has_admin_key()
                && !matches!(st.auth.identify(req.headers()), Ok(crate::Identity::Admin))
            {
                return crate::error::api_error(
                    StatusCode::FORBIDDEN,
                    "this route shows every project: it needs the admin key",
                );
            }
        }
    } else if st.auth.loopback_hosts_only() {
        let host = request_host(&req);
        if host.as_deref().is_some_and(|h| !is_loopback_host(h)) {
            return crate::error::api_error(
                StatusCode::FORBIDDEN,
                "this llmtrace has no API keys and answers only requests addressed to a \
                 loopback host (localhost, 127.0.0.1, [::1]); configure --api-key to serve \
                 other hosts",
            );
        }
        if state_changing {
            let origin = req
                .headers()
                .get(header::ORIGIN)
                .and_then(|v| v.to_str().ok());
            if let (Some(origin), Some(host)) = (origin, host.as_deref()) {
                if origin == "null" || !same_origin(origin, host) {
                    return crate::error::api_error(
                        StatusCode::FORBIDDEN,
                        "cross-origin requests may not change this llmtrace",
                    );
                }
            }
        }
    }
    if state_changing
        && takes_json_body(&path)
        && has_body(req.headers())
        && !declares_json(req.headers())
    {
        return crate::error::api_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as Content-Type: application/json",
        );
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if is_page {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_paths_include_named_routes() {
        for p in [
            "/api/scores",
            "/api/datasets",
            "/api/datasets/golden/items",
            "/api/evaluators/correct/run",
        ] {
            assert!(takes_json_body(p), "{p}");
        }
        for p in [
            "/api/datasets//items",
            "/api/datasets/a/b/items",
            "/api/evaluators/x/run/more",
            "/v1/traces",
        ] {
            assert!(!takes_json_body(p), "{p}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:4318",
            "127.0.0.1:4318",
            "[::1]:4318",
            "app.localhost",
            "127.8.9.1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "evil.example:4318",
            "10.0.0.1",
            "[2001:db8::1]:80",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn origins() {
        assert!(same_origin("http://127.0.0.1:4318", "127.0.0.1:4318"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:4318"));
        assert!(!same_origin("http://127.0.0.1:9999", "127.0.0.1:4318"));
    }
}
