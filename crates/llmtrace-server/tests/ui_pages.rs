//! The web UI's pages over HTTP in process: project scoping with browser Basic auth, bad input
//! as an error page (never a panic), escaping of what clients sent, the assets.

mod common;

use base64::Engine;
use common::*;

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
    assert_eq!(post_spans(&h, spans, Some("sk-acme")).await, 200);

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
    assert_eq!(post_spans(&h, unknown, Some("sk-acme")).await, 200);
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

    // Health: server-wide ingest figures (like /metrics), and no evaluator in this harness;
    // with keys, only for a key.
    let (st, _, _) = get(&h, "/health", None).await;
    assert_eq!(st, 401);
    let (st, health, headers) = get(&h, "/health", Some(&acme)).await;
    assert_eq!(st, 200);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
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

/// A large trace renders a window of rows and loads the rest in chunks; the dashboard, the
/// sessions and users pages and the search answer with the project's data; bad parameters are
/// a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_traces_load_in_chunks_and_the_new_pages_answer() {
    let h = Harness::start(Options::default()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let trace_id = vec![9u8; 16];
    let id = |n: u64| n.to_be_bytes().to_vec();
    let mut spans = Vec::new();
    for n in 1..=1000u64 {
        spans.push(opentelemetry_proto::tonic::trace::v1::Span {
            trace_id: trace_id.clone(),
            span_id: id(n),
            parent_span_id: if n == 1 { vec![] } else { id(1) },
            name: format!("step {n}"),
            kind: 1,
            start_time_unix_nano: now - 60_000_000_000 + n * 1_000_000,
            end_time_unix_nano: now - 60_000_000_000 + n * 1_000_000 + 500_000,
            attributes: if n == 1 {
                vec![kv("session.id", s("conv-7")), kv("user.id", s("ada"))]
            } else {
                vec![]
            },
            ..Default::default()
        });
    }
    let mut call = span(
        3,
        1,
        None,
        "chat",
        0,
        800,
        vec![
            kv("gen_ai.system", s("openai")),
            kv("gen_ai.operation.name", s("chat")),
            kv("gen_ai.request.model", s("gpt-4o")),
            kv("gen_ai.usage.input_tokens", i(100)),
            kv("gen_ai.usage.output_tokens", i(20)),
            kv(
                "gen_ai.input.messages",
                s(
                    r#"[{"role":"user","parts":[{"type":"text","content":"今天北京的天气怎么样？"}]}]"#,
                ),
            ),
            kv("session.id", s("conv-7")),
        ],
    );
    call.start_time_unix_nano = now - 30_000_000_000;
    call.end_time_unix_nano = now - 29_800_000_000;
    spans.push(call);
    assert_eq!(post_spans(&h, spans, None).await, 200);

    let hex = "09".repeat(16);
    let (st, page, _) = get(&h, &format!("/traces/{hex}"), None).await;
    assert_eq!(st, 200);
    assert_eq!(page.matches("class=\"row ").count(), llmtrace_ui::ROW_CHUNK);
    assert!(
        page.contains(r#"data-from="300" data-to="600" data-dir="after""#),
        "placeholder below"
    );
    assert!(!page.contains(r#"data-dir="before""#));
    // A deep link renders the window around its span, with placeholders on both sides.
    let deep = format!("{:016x}", 900);
    let (_, page, _) = get(&h, &format!("/traces/{hex}?span={deep}"), None).await;
    assert!(
        page.contains(&format!(
            r#"class="row kind-span selected" data-depth="1" data-span="{deep}""#
        )),
        "selected row rendered"
    );
    assert!(page.contains(r#"data-dir="before""#));
    // A chunk: its rows and the next placeholder.
    let (st, chunk, _) = get(
        &h,
        &format!("/traces/{hex}/rows?from=300&to=600&dir=after"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(chunk.matches("class=\"row ").count(), 300);
    assert!(chunk.contains(r#"data-from="600" data-to="900""#));
    let (_, last, _) = get(
        &h,
        &format!("/traces/{hex}/rows?from=900&to=5000&dir=after"),
        None,
    )
    .await;
    assert_eq!(last.matches("class=\"row ").count(), 100);
    assert!(!last.contains("li class=\"more\""));
    let (st, _, _) = get(&h, &format!("/traces/{hex}/rows?from=x"), None).await;
    assert_eq!(st, 400);

    // Search, Chinese included.
    let (_, found, _) = get(&h, "/?q=%E5%A4%A9%E6%B0%94", None).await;
    assert_eq!(found.matches("td class=\"name\"").count(), 1, "{found}");
    assert!(found.contains(">chat<"), "{found}");
    let (_, none, _) = get(&h, "/?q=weather", None).await;
    assert!(none.contains("No trace matches"), "{none}");

    // Dashboard: totals of the range; sessions and users.
    let (st, dash, _) = get(&h, "/dashboard?range=1h", None).await;
    assert_eq!(st, 200);
    assert!(
        dash.contains(r#"id="total-calls" data-value="1""#),
        "{dash}"
    );
    assert!(dash.contains("Latency of gpt-4o"), "{dash}");
    let (st, _, _) = get(&h, "/dashboard?since=nope", None).await;
    assert_eq!(st, 400);
    let (st, sessions, _) = get(&h, "/sessions", None).await;
    assert_eq!(st, 200);
    assert!(sessions.contains("conv-7"), "{sessions}");
    let (_, api) = h.get_json("/api/sessions").await;
    assert_eq!(api["groups"][0]["id"], "conv-7");
    assert_eq!(api["groups"][0]["trace_count"], 2);
    assert_eq!(api["groups"][0]["user_id"], "ada");
    let (_, users) = h.get_json("/api/users?limit=1").await;
    assert_eq!(users["groups"][0]["id"], "ada");
    let (st, _) = h.get_json("/api/users?limit=0").await;
    assert_eq!(st, 400);
    let (st, bucketed) = h
        .get_json(&format!(
            "/api/stats?bucket=1m&since={}",
            llmtrace_query::format_rfc3339_nanos(now - 3_600_000_000_000)
        ))
        .await;
    assert_eq!(st, 200);
    assert_eq!(bucketed["bucket_seconds"], 60);
    assert!(bucketed["groups"][0]["bucket_start"].is_string());
    let (st, err) = h.get_json("/api/stats?bucket=1m").await;
    assert_eq!(st, 400, "{err}");
    let (st, _) = h
        .get_json("/api/stats?bucket=1s&since=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(st, 400, "too many buckets");
    // The ingest rate of the last hour: the 1,001 spans just sent.
    let (_, ingest) = h.get_json("/api/ingest").await;
    let slots = ingest["rate"]["slots"].as_array().unwrap();
    let accepted: u64 = slots.iter().map(|s| s["accepted"].as_u64().unwrap()).sum();
    assert_eq!(accepted, 1001, "{ingest}");
    assert!(
        ingest["rate"]["accepted_per_second_last_minute"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let (_, health, _) = get(&h, "/health", None).await;
    assert!(health.contains("Spans per second, last hour"), "{health}");
    assert!(health.contains("acknowledged: "), "a bar with its value");
    let (st, sorted) = h.get_json("/api/traces?sort=duration").await;
    assert_eq!(st, 200);
    assert_eq!(sorted["traces"][0]["trace_id"], hex);
    h.stop().await;
}

/// The `data-since`/`data-until` of the dashboard's totals, in Unix nanoseconds.
fn dashboard_window(body: &str) -> (u64, u64) {
    let attr = |name: &str| {
        let at = body.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        let end = body[at..].find('"').unwrap() + at;
        llmtrace_query::parse_rfc3339(&body[at..end]).unwrap()
    };
    (attr("data-since"), attr("data-until"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_range_fits_the_data() {
    // Only old data: the last hour with data, ending at the newest trace.
    let old = Harness::start(Options::default()).await;
    assert_eq!(post_spans(&old, rag_spans(3), None).await, 200);
    let (st, body, _) = get(&old, "/dashboard", None).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("Showing the last hour with data"), "{body}");
    let (since, until) = dashboard_window(&body);
    assert!(
        since <= T0 && until >= T0 + 2_000_000_000,
        "{since} {until}"
    );
    assert_eq!(until - since, 3_600_000_000_000);

    // A young project (its first trace 40 minutes ago): the range starts near it, not 24 h ago.
    let young = Harness::start(Options::default()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let first = now - 40 * 60_000_000_000;
    for (trace, at) in [(5u8, first), (6, now - 60_000_000_000)] {
        let mut spans = rag_spans(trace);
        for s in &mut spans {
            s.start_time_unix_nano = s.start_time_unix_nano - T0 + at;
            s.end_time_unix_nano = s.end_time_unix_nano - T0 + at;
        }
        assert_eq!(post_spans(&young, spans, None).await, 200);
    }
    let (st, body, _) = get(&young, "/dashboard", None).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("The range fits the data"), "{body}");
    let (since, until) = dashboard_window(&body);
    assert!(
        since <= first && since >= first - 5 * 60_000_000_000,
        "the range starts at the first trace: {since} vs {first}"
    );
    assert!(until >= now);
    // Asked for, a range is kept as is.
    let (_, body, _) = get(&young, "/dashboard?range=24h", None).await;
    let (since, until) = dashboard_window(&body);
    assert_eq!(until - since, 86_400_000_000_000);
}
