//! Who may reach the server (`access.rs`): keys on every route but the health probes, an
//! optionally public `/metrics`, and the keyless loopback server closed to web pages (DNS
//! rebinding, cross-origin writes, text/plain bodies on JSON endpoints); security headers.

mod common;

use common::*;

const KEY: &str = "sk-acme";

fn keyed(public_metrics: bool) -> Options {
    Options {
        keys: vec![llmtrace_server::ApiKey::new("acme", "pk-acme", KEY)],
        public_metrics,
        ..Default::default()
    }
}

async fn status(h: &Harness, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut r = reqwest::Client::new().get(h.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_keys_every_route_but_health_needs_one() {
    let h = Harness::start(keyed(false)).await;
    let bearer = format!("Bearer {KEY}");
    for path in [
        "/metrics",
        "/api/ingest",
        "/api/alerts",
        "/api/traces",
        "/api/stats",
        "/api/prices",
        "/info",
        "/health",
        "/api/public/projects",
        "/no/such/route",
    ] {
        assert_eq!(status(&h, path, &[]).await, 401, "{path} without a key");
        assert_eq!(
            status(&h, path, &[("authorization", "Bearer wrong")]).await,
            401,
            "{path} with a wrong key"
        );
        let with_key = status(&h, path, &[("authorization", &bearer)]).await;
        assert_ne!(with_key, 401, "{path} with the key");
    }
    for path in ["/healthz", "/api/public/health", "/ui/style.css"] {
        assert_eq!(status(&h, path, &[]).await, 200, "{path} is open");
    }
    h.stop().await;
    // --public-metrics opens /metrics only.
    let h = Harness::start(keyed(true)).await;
    assert_eq!(status(&h, "/metrics", &[]).await, 200);
    assert_eq!(status(&h, "/api/ingest", &[]).await, 401);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_loopback_server_is_closed_to_web_pages() {
    let h = Harness::start(Options::default()).await;
    let http = reqwest::Client::new();
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1.
    assert_eq!(
        status(&h, "/api/traces", &[("host", "evil.example:4318")]).await,
        403
    );
    for host in ["localhost:4318", "127.0.0.1", "[::1]:4318"] {
        assert_eq!(
            status(&h, "/api/traces", &[("host", host)]).await,
            200,
            "{host}"
        );
    }
    // A cross-origin write is refused; a same-origin one (the UI itself) is not.
    let host = h
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let recompute = |origin: &str| {
        http.post(h.url("/api/pricing/recompute?dry_run=true"))
            .header("origin", origin.to_string())
            .send()
    };
    assert_eq!(
        recompute("http://evil.example").await.unwrap().status(),
        403
    );
    assert_eq!(recompute("null").await.unwrap().status(), 403);
    assert_ne!(
        recompute(&format!("http://{host}")).await.unwrap().status(),
        403
    );
    // A text/plain body (a simple cross-site form post) on a JSON endpoint.
    let r = http
        .post(h.url("/api/public/ingestion"))
        .header("content-type", "text/plain")
        .body(r#"{"batch": []}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Security headers.
    let r = http.get(h.url("/")).send().await.unwrap();
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    h.stop().await;
}
