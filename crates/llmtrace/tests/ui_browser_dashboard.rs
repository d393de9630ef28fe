//! The dashboard, health and models pages in a real headless Chromium against the real binary:
//! a young project's dashboard starts at its first data (not 24 hours of empty buckets), a
//! model has one colour in every chart, a bar opens exactly the traces of its bucket and model,
//! an unknown range preset is refused with the valid ones, a pending alert is not drawn in the
//! ok colour, and the models page shows no 1970 placeholder date. Screenshots (light and dark)
//! land in `target/ui-screenshots/`.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::*;
use common::*;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const SONNET: &str = "claude-sonnet-4-6";
const HAIKU: &str = "claude-haiku-4-5";

/// One trace of one LLM call of `model`, named `name`, starting at `start` and lasting `ms`.
fn call(trace: &str, name: &str, model: &str, start: u64, ms: u64) -> Vec<Value> {
    // The call starts with its trace: the trace list (by trace start) and the charts (by call
    // start) put them in the same bucket.
    vec![
        span(trace, 1, None, name, start, ms + 20, vec![]),
        span(
            trace,
            2,
            Some(1),
            &format!("chat {model}"),
            start,
            ms,
            vec![
                kv("gen_ai.provider.name", json!("anthropic")),
                kv("gen_ai.operation.name", json!("chat")),
                kv("gen_ai.request.model", json!(model)),
                kv("gen_ai.usage.input_tokens", json!(1200)),
                kv("gen_ai.usage.output_tokens", json!(300)),
            ],
        ),
    ]
}

/// Runs `script` (a function body) and returns its value.
async fn js(c: &Client, script: &str, args: Vec<Value>) -> Value {
    c.execute(script, args).await.unwrap()
}

async fn attr(c: &Client, css: &str, name: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The computed colour of a theme variable (`--ok`) as the browser resolves it (`rgb(...)`).
const THEME_COLOR: &str = "const p = document.createElement('span'); p.style.color = 'var(' + arguments[0] + ')'; document.body.appendChild(p); const c = getComputedStyle(p).color; p.remove(); return c;";

/// The computed `fill` of the bar or point of series `series` in the chart captioned `caption`.
const FILL_IN_CHART: &str = "const f = [...document.querySelectorAll('figure.chart')].find(f => f.querySelector('figcaption').textContent.startsWith(arguments[0])); if (!f) return null; const e = f.querySelector('[data-series=\"' + arguments[1] + '\"]'); return e ? getComputedStyle(e).fill : null;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_fits_young_data_keeps_model_colours_and_opens_a_bars_traces() {
    if !tools_available(&["chromium", "chromedriver"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The built-in evaluator with a long `for`: a slow call makes LLMHighP99Latency pending.
    let config = dir.path().join("llmtrace.toml");
    std::fs::write(
        &config,
        "[alerts]\nwindow_seconds = 120\nfor_seconds = 3600\neval_interval_seconds = 1\n",
    )
    .unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let base = server.http.clone();

    // Data from the last few minutes only (a young project).
    let now = now_ns();
    let min = 60_000_000_000u64;
    let sent: Vec<(String, &str, &str, u64, u64)> = vec![
        ("a1".repeat(16), "sonnet-1", SONNET, now - 4 * min, 800),
        (
            "a2".repeat(16),
            "sonnet-2",
            SONNET,
            now - 4 * min + 2_000_000_000,
            900,
        ),
        (
            "a3".repeat(16),
            "sonnet-slow",
            SONNET,
            now - 3 * min,
            12_000,
        ),
        ("b1".repeat(16), "haiku-1", HAIKU, now - 2 * min, 400),
        ("a4".repeat(16), "sonnet-3", SONNET, now - min, 700),
    ];
    for (trace, name, model, start, ms) in &sent {
        send(&server, call(trace, name, model, *start, *ms));
    }

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;

    // No range: the range starts near the first data (at least the last 15 minutes), not 24 h.
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    let since = attr(&c, "#dashboard-totals", "data-since").await;
    let until = attr(&c, "#dashboard-totals", "data-until").await;
    let since_ns = llmtrace_query::parse_rfc3339(&since).unwrap();
    let until_ns = llmtrace_query::parse_rfc3339(&until).unwrap();
    assert!(
        since_ns <= now - 4 * min,
        "the range holds the first call: {since}"
    );
    assert!(
        until_ns - since_ns <= 20 * min,
        "a young project's range is not 24 hours: {since} to {until}"
    );
    assert_eq!(attr(&c, "#total-calls", "data-value").await, "5");
    let note = texts(&c, "#range-note").await;
    assert!(
        note.first()
            .is_some_and(|n| n.contains("The range fits the data: the first model call")),
        "{note:?}"
    );
    screenshot(&c, "dashboard-young").await;

    // A model has the same fill in two charts (bars and a latency line), and another model
    // has another.
    let fill = |caption: &'static str, series: &'static str| {
        let c = c.clone();
        async move {
            js(&c, FILL_IN_CHART, vec![json!(caption), json!(series)])
                .await
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let calls_sonnet = fill("Model calls by model", SONNET).await;
    let cost_sonnet = fill("Cost by model", SONNET).await;
    let latency_sonnet = fill("Latency of claude-sonnet-4-6", "p50").await;
    let calls_haiku = fill("Model calls by model", HAIKU).await;
    assert!(calls_sonnet.starts_with("rgb"), "{calls_sonnet:?}");
    assert_eq!(calls_sonnet, cost_sonnet);
    assert_eq!(calls_sonnet, latency_sonnet);
    assert_ne!(calls_sonnet, calls_haiku);
    // Chart text in the theme's dimmed colour, never black.
    let text_fill = js(
        &c,
        "return getComputedStyle(document.querySelector('figure.chart text')).fill",
        vec![],
    )
    .await;
    let dim = js(&c, THEME_COLOR, vec![json!("--dim")]).await;
    assert_eq!(text_fill, dim);

    // Clicking sonnet's first bar opens the trace list of that bucket and model: exactly the
    // sonnet traces that started in the bucket.
    click(
        &c,
        "div.charts figure.chart:first-of-type a[href*='model=claude-sonnet-4-6'] rect",
    )
    .await;
    let url = wait_url(&c, |u| u.contains("model=claude-sonnet-4-6")).await;
    let parsed = c.current_url().await.unwrap();
    let q: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(parsed.path(), "/", "{url}");
    assert_eq!(get("model"), SONNET);
    let (b_since, b_until) = (
        llmtrace_query::parse_rfc3339(&get("since")).unwrap(),
        llmtrace_query::parse_rfc3339(&get("until")).unwrap(),
    );
    let listed: BTreeSet<String> = texts(&c, "table.traces td.name a")
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = sent
        .iter()
        .filter(|(_, _, m, start, _)| *m == SONNET && (b_since..b_until).contains(start))
        .map(|(_, n, ..)| n.to_string())
        .collect();
    assert!(
        !expected.is_empty(),
        "the bucket holds a sonnet trace: {url}"
    );
    assert_eq!(listed, expected, "{url}");
    screenshot(&c, "dashboard-bar-traces").await;

    // An unknown range preset: 400, naming the valid ones.
    let r = reqwest::get(format!("{base}/dashboard?range=forever"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("unknown range &quot;forever&quot;"), "{body}");
    assert!(body.contains("15m, 1h, 24h, 7d"), "{body}");

    // The models page: built-in prices have no known start date, and say so in words.
    c.goto(&format!("{base}/models")).await.unwrap();
    let source = c.source().await.unwrap();
    assert!(!source.contains("1970"), "{source}");
    assert!(source.contains("since the start"), "{source}");

    // The health page: the slow call's alert is pending, in the warning colour, not the ok
    // one; links to the statistics and metrics.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, alerts) = server.get_json("/api/alerts");
        let pending = alerts["states"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["state"] == "pending" || s["state"] == "firing")
        });
        if pending {
            break;
        }
        assert!(Instant::now() < deadline, "no pending alert: {alerts}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    c.goto(&format!("{base}/health")).await.unwrap();
    let state = js(
        &c,
        "const s = document.querySelector('#alert-states span.status'); return s ? [s.textContent, s.className, getComputedStyle(s).color] : null;",
        vec![],
    )
    .await;
    let ok = js(&c, THEME_COLOR, vec![json!("--ok")]).await;
    let warn = js(&c, THEME_COLOR, vec![json!("--warn")]).await;
    let err = js(&c, THEME_COLOR, vec![json!("--err")]).await;
    assert_ne!(state[2], ok, "{state}");
    match state[0].as_str() {
        Some("pending") => assert_eq!(state[2], warn, "{state}"),
        Some("firing") => assert_eq!(state[2], err, "{state}"),
        other => panic!("unexpected state {other:?}: {state}"),
    }
    assert_eq!(attr(&c, "#stats-json", "href").await, "/api/stats");
    assert_eq!(attr(&c, "#metrics-link", "href").await, "/metrics");

    // A phone: the charts fit the screen.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    let overflow = js(
        &c,
        "return [...document.querySelectorAll('figure.chart')].map(f => f.getBoundingClientRect().right).filter(r => r > document.documentElement.clientWidth + 1)",
        vec![],
    )
    .await;
    assert_eq!(overflow, json!([]), "charts wider than the phone");
    screenshot(&c, "dashboard-phone").await;
    c.close().await.unwrap();

    // Dark: the dashboard and the health page in the dark theme's colours.
    let dark_profile = tempfile::tempdir().unwrap();
    let (_dark_driver, d) = dark_browser(dark_profile.path()).await;
    d.goto(&format!("{base}/dashboard")).await.unwrap();
    let text_fill = js(
        &d,
        "return getComputedStyle(document.querySelector('figure.chart text')).fill",
        vec![],
    )
    .await;
    let dark_dim = js(&d, THEME_COLOR, vec![json!("--dim")]).await;
    assert_eq!(text_fill, dark_dim);
    assert_ne!(dark_dim, dim, "the dark theme is in effect");
    screenshot(&d, "dashboard-dark").await;
    d.goto(&format!("{base}/health")).await.unwrap();
    screenshot(&d, "health-dark").await;
    d.close().await.unwrap();
    server.stop();
}
