//! The web UI's pages over HTTP in process: project scoping with browser Basic auth, bad input
//! as an error page (never a panic), escaping of what clients sent, the assets.

mod common;

use base64::Engine;
use common::*;
use prost::Message;

async fn get(
    h: &Harness,
    path: &str,
    auth: Option<&str>,
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut r = reqwest::Client::new().get(h.url(path));
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    let r = r.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.text().await.unwrap(), headers)
}

fn basic(pk: &str, sk: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{pk}:{sk}"))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_scoped_escaped_and_robust() {
    let h = Harness::start(Options {
        keys: vec![
            llmtrace_server::ApiKey::new("acme", "pk-acme", "sk-acme"),
            llmtrace_server::ApiKey::new("beta", "pk-beta", "sk-beta"),
        ],
        ..Default::default()
    })
    .await;
    let mut spans = rag_spans(7);
    spans[0].name = "<img src=x onerror=alert(1)>".into();
    let r = reqwest::Client::new()
        .post(h.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("authorization", "Bearer sk-acme")
        .body(request(spans).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Without a key the browser is asked for one.
    let (st, body, headers) = get(&h, "/", None).await;
    assert_eq!(st, 401);
    assert_eq!(headers["www-authenticate"], "Basic realm=\"llmtrace\"");
    assert!(body.contains("public key"), "{body}");

    // acme sees its trace, escaped; beta sees the empty state.
    let acme = basic("pk-acme", "sk-acme");
    let (st, body, headers) = get(&h, "/", Some(&acme)).await;
    assert_eq!(st, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(
        body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );
    assert!(!body.contains("<img src=x"));
    let (_, beta_body, _) = get(&h, "/", Some(&basic("pk-beta", "sk-beta"))).await;
    assert!(beta_body.contains("No traces yet"), "{beta_body}");
    let trace = "07".repeat(16);
    let (st, _, _) = get(
        &h,
        &format!("/traces/{trace}"),
        Some(&basic("pk-beta", "sk-beta")),
    )
    .await;
    assert_eq!(st, 404, "another project's trace is not found");

    // The trace page, a span panel, and deep links.
    let (st, page, _) = get(&h, &format!("/traces/{trace}"), Some(&acme)).await;
    assert_eq!(st, 200);
    assert_eq!(page.matches("class=\"row ").count(), 4, "{page}");
    let llm = "04".repeat(8);
    let (st, panel, _) = get(&h, &format!("/traces/{trace}/spans/{llm}"), Some(&acme)).await;
    assert_eq!(st, 200);
    assert!(panel.contains("claude-sonnet-4-6"), "{panel}");
    assert!(panel.contains("160"), "{panel}");
    let (st, _, _) = get(
        &h,
        &format!("/traces/{trace}/spans/ffffffffffffffff"),
        Some(&acme),
    )
    .await;
    assert_eq!(st, 404);

    // Bad input: an error page with the reason, never a crash.
    let (st, body, _) = get(&h, "/traces/not-hex", Some(&acme)).await;
    assert_eq!(st, 400, "{body}");
    let (st, body, _) = get(&h, "/?min_duration_ms=fast", Some(&acme)).await;
    assert_eq!(st, 400);
    assert!(body.contains("fast"), "{body}");
    let (st, body, _) = get(&h, "/?since=yesterday", Some(&acme)).await;
    assert_eq!(st, 400);
    assert!(body.contains("since"), "{body}");

    // Models and prices: the project's models, an unknown model flagged, the price table.
    let mut unknown = rag_spans(8);
    unknown[3].attributes = vec![
        kv("gen_ai.provider.name", s("openai")),
        kv("gen_ai.operation.name", s("chat")),
        kv("gen_ai.request.model", s("my-finetune-x")),
        kv("gen_ai.usage.input_tokens", i(10)),
        kv("gen_ai.usage.output_tokens", i(2)),
    ];
    let r = reqwest::Client::new()
        .post(h.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("authorization", "Bearer sk-acme")
        .body(request(unknown).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (st, models, _) = get(&h, "/models", Some(&acme)).await;
    assert_eq!(st, 200);
    assert!(models.contains("id=\"models\""), "{models}");
    assert!(models.contains("claude-sonnet-4-6-20260101"), "{models}");
    assert!(models.contains("id=\"unpriced-warning\""), "{models}");
    assert!(models.contains("my-finetune-x"), "{models}");
    assert!(models.contains("Built-in snapshot"), "{models}");
    let (_, beta_models, _) = get(&h, "/models", Some(&basic("pk-beta", "sk-beta"))).await;
    assert!(beta_models.contains("No model calls yet"), "{beta_models}");
    assert!(!beta_models.contains("my-finetune-x"));

    // Health: server-wide ingest figures (like /metrics), and no evaluator in this harness.
    let (st, health, _) = get(&h, "/health", None).await;
    assert_eq!(st, 200);
    assert!(health.contains("Spans received"), "{health}");
    assert!(
        health.contains("<dt>Spans received</dt><dd>8</dd>"),
        "8 spans received: {health}"
    );
    assert!(health.contains("evaluator is not running"), "{health}");

    // Assets.
    let (st, css, headers) = get(&h, "/ui/style.css", None).await;
    assert_eq!(
        (st, headers["content-type"].to_str().unwrap()),
        (200, "text/css; charset=utf-8")
    );
    assert!(css.contains(".trace-view"));
    let (st, js, _) = get(&h, "/ui/app.js", None).await;
    assert_eq!(st, 200);
    assert!(js.contains("/spans/"));
    h.stop().await;
}
