//! The trace explorer in a real headless Chromium against the real binary: a 19-minute agent
//! trace (zoom into a time window with a drag and see the short spans widen, jump between
//! errors, filter the tree, copy buttons, the JSON link), the Input and Output sections of an
//! LLM span, a retriever's documents, an embedding's dimensions, an Arabic message read right to
//! left; the trace list's cost column sorted and formatted alike, filter suggestions, the time
//! control, previous and next pages, search snippets that open the matching span, gzip, dark
//! mode (system setting and toggle) and a 390-pixel phone layout without horizontal overflow.
//! Screenshots of each page, light and dark, land in `target/ui-screenshots/`.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::*;
use common::*;
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const MIN: u64 = 60_000_000_000;
const SEC: u64 = 1_000_000_000;

/// A chat call at `(start, ms)` (Unix nanoseconds, duration in milliseconds).
fn llm(
    trace: &str,
    id: u64,
    parent: u64,
    (start, ms): (u64, u64),
    model: &str,
    user_text: &str,
    answer: &str,
) -> Value {
    let input = json!([
        {"role": "system", "parts": [{"type": "text", "content": "You are a travel agent."}]},
        {"role": "user", "parts": [{"type": "text", "content": user_text}]}
    ]);
    let output = json!([{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]);
    span(
        trace,
        id,
        Some(parent),
        &format!("chat {model}"),
        start,
        ms,
        vec![
            kv("gen_ai.provider.name", json!("openai")),
            kv("gen_ai.operation.name", json!("chat")),
            kv("gen_ai.request.model", json!(model)),
            kv("gen_ai.request.temperature", json!(0.2)),
            kv("gen_ai.usage.input_tokens", json!(1200)),
            kv("gen_ai.usage.output_tokens", json!(80)),
            kv("gen_ai.input.messages", json!(input.to_string())),
            kv("gen_ai.output.messages", json!(output.to_string())),
        ],
    )
}

fn failed(mut s: Value, message: &str) -> Value {
    s["status"] = json!({"code": 2, "message": message});
    s
}

/// A 19-minute agent run: model calls, a tool, a retriever, an embedding, two failures.
fn agent_trace(trace: &str, t0: u64) -> Vec<Value> {
    vec![
        span(
            trace,
            1,
            None,
            "agent_run",
            t0,
            19 * 60_000,
            vec![
                kv("user.id", json!("u-explorer")),
                kv("session.id", json!("s-explorer")),
            ],
        ),
        llm(
            trace,
            2,
            1,
            (t0 + SEC, 1500),
            "gpt-4o",
            "Plan a weekend in Lisbon with a tram ride",
            "Day one: the 28 tram.",
        ),
        span(
            trace,
            3,
            Some(1),
            "execute_tool get_weather",
            t0 + 3 * SEC,
            300,
            vec![
                kv("gen_ai.operation.name", json!("execute_tool")),
                kv("gen_ai.tool.name", json!("get_weather")),
                kv(
                    "gen_ai.tool.call.arguments",
                    json!(r#"{"city":"Lisbon","days":2}"#),
                ),
                kv(
                    "gen_ai.tool.call.result",
                    json!(r#"{"forecast":"sunny","high_c":24}"#),
                ),
            ],
        ),
        span(
            trace,
            4,
            Some(1),
            "retrieve guides",
            t0 + 5 * SEC,
            200,
            vec![
                kv("gen_ai.operation.name", json!("retrieval")),
                kv("retrieval.documents.0.document.id", json!("guide-12")),
                kv("retrieval.documents.0.document.score", json!(0.93)),
                kv(
                    "retrieval.documents.0.document.content",
                    json!("Tram 28 crosses Alfama."),
                ),
                kv("retrieval.documents.1.document.id", json!("guide-40")),
                kv("retrieval.documents.1.document.score", json!(0.71)),
                kv(
                    "retrieval.documents.1.document.content",
                    json!("Belém is west of the centre."),
                ),
            ],
        ),
        span(
            trace,
            5,
            Some(1),
            "embeddings text-embedding-3-small",
            t0 + 7 * SEC,
            100,
            vec![
                kv("gen_ai.operation.name", json!("embeddings")),
                kv("gen_ai.request.model", json!("text-embedding-3-small")),
                kv("gen_ai.provider.name", json!("openai")),
                kv("gen_ai.usage.input_tokens", json!(12)),
                kv("gen_ai.embeddings.dimension.count", json!(1536)),
            ],
        ),
        failed(
            span(trace, 6, Some(1), "book hotel", t0 + 10 * MIN, 2000, vec![]),
            "no rooms",
        ),
        llm(
            trace,
            7,
            1,
            (t0 + 12 * MIN, 2000),
            "gpt-4o-mini",
            "ما هو أفضل وقت لزيارة لشبونة؟",
            "الربيع.",
        ),
        failed(
            span(
                trace,
                8,
                Some(1),
                "pay deposit",
                t0 + 15 * MIN,
                1000,
                vec![],
            ),
            "card declined",
        ),
    ]
}

/// The computed value of a CSS property of the first element `css` selects.
async fn style_of(c: &Client, css: &str, prop: &str) -> String {
    c.execute(
        "var e = document.querySelector(arguments[0]); return e ? getComputedStyle(e)[arguments[1]] : null;",
        vec![json!(css), json!(prop)],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// The rendered width in pixels of the first element `css` selects.
async fn width_of(c: &Client, css: &str) -> f64 {
    c.execute(
        "return document.querySelector(arguments[0]).getBoundingClientRect().width;",
        vec![json!(css)],
    )
    .await
    .unwrap()
    .as_f64()
    .unwrap()
}

/// Waits (up to 10 s) until `js` returns true.
async fn wait_js(c: &Client, js: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if c.execute(js, vec![]).await.unwrap() == json!(true) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn selected_span_js(id: u64) -> String {
    format!(
        "var r = document.querySelector('li.row.selected'); return !!r && r.dataset.span === '{id:016x}' && r.getAttribute('aria-selected') === 'true';"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_explorer_works_in_a_real_browser() {
    if !tools_available(&["chromium", "chromedriver"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let base = server.http.clone();
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;

    // Before any data, the empty state shows the address this server listens on.
    c.goto(&format!("{base}/")).await.unwrap();
    let setup = texts(&c, "#setup").await;
    assert!(
        setup[0].contains(&format!("OTEL_EXPORTER_OTLP_ENDPOINT={base}")),
        "{setup:?}"
    );

    let t0 = now_ns() - 30 * MIN;
    let agent = "ab".repeat(16);
    send(&server, agent_trace(&agent, t0));
    // 60 small traces (pages of 50), of two models, so costs differ.
    let mut small = Vec::new();
    for i in 0..60u64 {
        let trace = format!("{:032x}", 0x1000 + i);
        let model = if i % 3 == 0 { "gpt-4o" } else { "gpt-4o-mini" };
        let mut root = span(
            &trace,
            1,
            None,
            &format!("ask {i}"),
            t0 + MIN + i * SEC,
            900,
            vec![],
        );
        root["attributes"] = json!([kv("user.id", json!(format!("user-{}", i % 4)))]);
        small.push(root);
        let mut call = llm(
            &trace,
            2,
            1,
            (t0 + MIN + i * SEC + 1000, 800),
            model,
            "What is the contract renewal period?",
            "Yearly.",
        );
        call["attributes"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a["key"] != "gen_ai.usage.output_tokens");
        call["attributes"]
            .as_array_mut()
            .unwrap()
            .push(kv("gen_ai.usage.output_tokens", json!(10 + i * 7)));
        small.push(call);
    }
    send(&server, small);

    // ---- The trace page.
    c.goto(&format!("{base}/traces/{agent}")).await.unwrap();
    assert_eq!(texts(&c, "#trace-id").await, vec![agent.clone()]);
    let copies = c.find_all(Locator::Css("button.copy")).await.unwrap();
    assert!(copies.len() >= 2, "trace and span copy buttons");
    click(&c, "p.trace-id button.copy").await;
    wait_text(&c, "p.trace-id button.copy", "Copied").await;
    let json_link = c
        .find(Locator::Css("#trace-json"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(json_link, format!("/api/traces/{agent}"));
    // One tab stop for the tree; the failed span is selected first.
    wait_js(&c, &selected_span_js(6), "first error selected by default").await;
    let tab_stops = c
        .execute(
            "return document.querySelectorAll('ol.rows [tabindex=\"0\"]').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(tab_stops, json!(1));
    assert_eq!(
        c.find_all(Locator::Css("a.skip-link[href='#main']"))
            .await
            .unwrap()
            .len(),
        1
    );
    // The model call's row shows its model, tokens and cost beside the duration.
    let meta = texts(&c, &format!("li.row[data-span='{:016x}'] .meta", 2)).await;
    assert!(
        meta[0].contains("gpt-4o") && meta[0].contains("1,280 tok") && meta[0].contains('$'),
        "{meta:?}"
    );

    // Timeline zoom: the tool span (0.3 s of 19 min) is a sliver; dragging across the start of
    // the timeline widens it; reset restores it.
    let tool_bar = format!("li.row[data-span='{:016x}'] .bar", 3);
    let before = width_of(&c, &tool_bar).await;
    let track = c
        .find(Locator::Css("li.row[data-depth='0'] .bar-track"))
        .await
        .unwrap();
    let track_width = width_of(&c, "li.row[data-depth='0'] .bar-track").await;
    // Zooming is cumulative: three drags from the start narrow the window to [0, 6.8 s].
    for fraction in [0.1, 0.1, 0.6] {
        let drag = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: track.clone(),
                duration: None,
                x: (-track_width / 2.0 + 1.0).round(),
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveToElement {
                element: track.clone(),
                duration: Some(Duration::from_millis(100)),
                x: (-track_width / 2.0 + track_width * fraction).round(),
                y: 0.0,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        c.perform_actions(drag).await.unwrap();
    }
    wait_js(
        &c,
        "return !document.getElementById('zoom-reset').hidden",
        "zoomed",
    )
    .await;
    let after = width_of(&c, &tool_bar).await;
    assert!(
        after > before * 4.0,
        "the short span widens when zoomed: {before} -> {after}"
    );
    let label = texts(&c, "#zoom-label").await;
    assert!(label[0].starts_with("Showing"), "{label:?}");
    screenshot(&c, "trace-zoomed").await;
    click(&c, "#zoom-reset").await;
    let reset = width_of(&c, &tool_bar).await;
    assert!((reset - before).abs() < 1.0, "{before} vs {reset}");

    // Next and previous error.
    click(&c, "#next-error").await;
    wait_js(&c, &selected_span_js(8), "next error").await;
    wait_detail(&c, "card declined").await;
    click(&c, "#next-error").await;
    wait_js(&c, &selected_span_js(6), "next error wraps around").await;
    click(&c, "#prev-error").await;
    wait_js(&c, &selected_span_js(8), "previous error").await;

    // Filter the tree by kind and by name.
    c.find(Locator::Css("#kind-filter option[value='tool']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = c
        .execute(
            "return Array.prototype.filter.call(document.querySelectorAll('li.row'), function (r) { return r.offsetParent !== null; }).map(function (r) { return r.dataset.kind; })",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, json!(["tool"]));
    c.find(Locator::Css("#kind-filter option[value='']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("#name-filter"))
        .await
        .unwrap()
        .send_keys("retrieve")
        .await
        .unwrap();
    wait_js(&c, "return Array.prototype.filter.call(document.querySelectorAll('li.row'), function (r) { return r.offsetParent !== null; }).length === 1", "name filter").await;
    c.find(Locator::Css("#name-filter"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    c.execute(
        "document.getElementById('name-filter').dispatchEvent(new Event('input')); return 0;",
        vec![],
    )
    .await
    .unwrap();

    // The LLM span: Input (system, user) and Output sections, parameters as highlighted JSON.
    click(&c, &format!("li.row[data-span='{:016x}'] .span-link", 2)).await;
    wait_detail(&c, "Plan a weekend in Lisbon").await;
    let input = texts(&c, "#detail section.io.input").await;
    assert!(
        input[0].contains("You are a travel agent.") && input[0].contains("Plan a weekend"),
        "{input:?}"
    );
    let output = texts(&c, "#detail section.io.output").await;
    assert!(output[0].contains("Day one: the 28 tram."), "{output:?}");
    assert!(
        !input[0].contains("Day one"),
        "the completion is not in the input"
    );
    assert!(
        !c.find_all(Locator::Css("#detail .params pre.json .jk"))
            .await
            .unwrap()
            .is_empty(),
        "parameters as highlighted JSON"
    );
    screenshot(&c, "trace").await;
    // The tool span: arguments and result as highlighted JSON.
    click(&c, &format!("li.row[data-span='{:016x}'] .span-link", 3)).await;
    wait_detail(&c, "Lisbon").await;
    let keys = texts(&c, "#detail section.io pre.json .jk").await;
    assert!(
        keys.contains(&"\"city\"".to_string()) && keys.contains(&"\"forecast\"".to_string()),
        "{keys:?}"
    );
    // The retriever: its documents as a list.
    click(&c, &format!("li.row[data-span='{:016x}'] .span-link", 4)).await;
    wait_detail(&c, "guide-12").await;
    let docs = texts(&c, "#detail ol.documents li.document").await;
    assert_eq!(docs.len(), 2, "{docs:?}");
    assert!(
        docs[0].contains("guide-12") && docs[0].contains("0.93") && docs[0].contains("Tram 28")
    );
    screenshot(&c, "trace-retriever").await;
    // The embedding: its dimensions.
    click(&c, &format!("li.row[data-span='{:016x}'] .span-link", 5)).await;
    wait_detail(&c, "Dimensions").await;
    assert_eq!(texts(&c, "#embedding-dimensions").await, vec!["1,536"]);
    // The Arabic message reads right to left.
    click(&c, &format!("li.row[data-span='{:016x}'] .span-link", 7)).await;
    wait_detail(&c, "لشبونة").await;
    let dir = c
        .execute(
            "var t = Array.prototype.find.call(document.querySelectorAll('#detail section.io.input .text'), function (e) { return e.textContent.indexOf('لشبونة') >= 0; }); return t ? getComputedStyle(t).direction : null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(dir, json!("rtl"));
    // Times: local, with UTC on hover.
    let title = c
        .find(Locator::Css("dl.totals time.when"))
        .await
        .unwrap()
        .attr("title")
        .await
        .unwrap()
        .unwrap();
    assert!(title.ends_with(" UTC"), "{title}");
    wait_js(&c, "return document.querySelector('dl.totals time.when').dataset.local === '1' && /ago|just now/.test(document.querySelector('dl.totals time.when').textContent)", "local time with age").await;

    // ---- The trace list.
    // Sorted by cost with a click on the header: costs never increase down the page, and every
    // cost reads in the one money format.
    c.goto(&format!("{base}/")).await.unwrap();
    click(&c, "table.traces th a.sort[href*='sort=cost']").await;
    wait_url(&c, |u| u.contains("sort=cost")).await;
    let costs: Vec<f64> = c
        .execute(
            "return Array.prototype.map.call(document.querySelectorAll('table.traces td.cost'), function (td) { return +(td.dataset.value || 0); })",
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(costs.len(), 50);
    assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
    let money = regex_lite_money();
    for t in texts(&c, "table.traces td.cost").await {
        assert!(money(&t), "{t:?} is not in the money format");
    }
    // Next page, then back.
    click(&c, "#next-page").await;
    wait_url(&c, |u| u.contains("cursor=")).await;
    assert_eq!(texts(&c, "table.traces tbody tr").await.len(), 11);
    click(&c, "#prev-page").await;
    wait_url(&c, |u| !u.contains("cursor=")).await;
    assert_eq!(texts(&c, "table.traces tbody tr").await.len(), 50);

    // Filter suggestions: known models with their counts, by prefix.
    c.goto(&format!("{base}/")).await.unwrap();
    let model = c.find(Locator::Css("input[name=model]")).await.unwrap();
    model.click().await.unwrap();
    model.send_keys("gpt-4o-m").await.unwrap();
    let suggested = wait_text(&c, "ul.suggest-list li", "gpt-4o-mini").await;
    assert_eq!(suggested.len(), 1, "prefix match: {suggested:?}");
    assert!(suggested[0].contains("41 calls"), "{suggested:?}");
    model.clear().await.unwrap();
    model.send_keys("gpt").await.unwrap();
    let suggested = wait_text(&c, "ul.suggest-list li", "gpt-4o-mini").await;
    assert_eq!(suggested.len(), 2, "{suggested:?}");
    screenshot(&c, "traces-suggestions").await;
    c.find(Locator::Css("ul.suggest-list li[data-value='gpt-4o-mini']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        model.prop("value").await.unwrap().as_deref(),
        Some("gpt-4o-mini")
    );

    // The time control: an unknown preset is refused with a message, a custom range says so.
    let refused = reqwest::get(format!("{base}/?range=forever"))
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("unknown time range"));
    let since = llmtrace_query_rfc3339(t0 - MIN);
    c.goto(&format!("{base}/?since={since}&until=2099-01-01T00:00"))
        .await
        .unwrap();
    let note = texts(&c, "#range-note").await;
    assert!(note[0].starts_with("Custom range: from "), "{note:?}");
    assert_eq!(
        c.find(Locator::Css("#range-select"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("custom")
    );
    assert_eq!(texts(&c, "table.traces tbody tr").await.len(), 50);

    // Search: each row shows the matching snippet; the name opens the matching span.
    c.goto(&format!("{base}/?q=tram")).await.unwrap();
    let snippets = wait_text(&c, "table.traces td.name .match a.snippet", "tram").await;
    assert_eq!(snippets.len(), 1, "{snippets:?}");
    click(&c, "table.traces td.name > a").await;
    wait_url(&c, |u| u.contains("q=tram")).await;
    wait_js(
        &c,
        &selected_span_js(2),
        "the search opens the matching span",
    )
    .await;

    // User and session cells link.
    c.goto(&format!("{base}/?user_id=u-explorer"))
        .await
        .unwrap();
    let session = c
        .find(Locator::Css("table.traces td.session a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session, "/sessions/s-explorer");
    let auto_refresh = c
        .find(Locator::Css("#auto-refresh"))
        .await
        .unwrap()
        .prop("checked")
        .await
        .unwrap();
    assert_ne!(
        auto_refresh.as_deref(),
        Some("true"),
        "auto-refresh is off by default"
    );

    // Gzip on pages, the stylesheet and the script.
    let http = reqwest::Client::new();
    for path in [
        "/",
        "/ui/style.css",
        "/ui/app.js",
        &format!("/traces/{agent}"),
    ] {
        let r = http
            .get(format!("{base}{path}"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            Some("gzip"),
            "{path}"
        );
    }

    // The theme toggle switches to dark and is remembered.
    c.goto(&format!("{base}/traces/{agent}")).await.unwrap();
    assert_eq!(
        style_of(&c, "body", "backgroundColor").await,
        "rgb(255, 255, 255)"
    );
    click(&c, "button.theme-toggle").await;
    assert_eq!(
        style_of(&c, "body", "backgroundColor").await,
        "rgb(13, 17, 23)"
    );
    c.refresh().await.unwrap();
    assert_eq!(
        style_of(&c, "body", "backgroundColor").await,
        "rgb(13, 17, 23)"
    );
    click(&c, "button.theme-toggle").await;
    assert_eq!(
        style_of(&c, "body", "backgroundColor").await,
        "rgb(255, 255, 255)"
    );

    // Screenshots of each page in light mode.
    let pages = [
        ("traces", "/".to_string()),
        ("trace-agent", format!("/traces/{agent}?span={:016x}", 2)),
        ("dashboard", "/dashboard".to_string()),
        ("sessions", "/sessions".to_string()),
        ("session-thread", "/sessions/s-explorer".to_string()),
        ("users", "/users".to_string()),
        ("models", "/models".to_string()),
        ("health", "/health".to_string()),
        ("queue", "/queue".to_string()),
        ("datasets", "/datasets".to_string()),
    ];
    for (name, path) in &pages {
        c.goto(&format!("{base}{path}")).await.unwrap();
        screenshot(&c, &format!("light-{name}")).await;
    }
    c.close().await.unwrap();

    // Dark mode from the system setting (prefers-color-scheme: dark).
    let dark_profile = tempfile::tempdir().unwrap();
    let (_dark_driver, d) = dark_browser(dark_profile.path()).await;
    d.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(
        style_of(&d, "body", "backgroundColor").await,
        "rgb(13, 17, 23)"
    );
    assert_eq!(style_of(&d, "body", "color").await, "rgb(230, 237, 243)");
    for (name, path) in &pages {
        d.goto(&format!("{base}{path}")).await.unwrap();
        screenshot(&d, &format!("dark-{name}")).await;
    }
    d.close().await.unwrap();

    // A phone: the list fits 390 pixels (cards, no horizontal scroll); the navigation folds.
    let phone_profile = tempfile::tempdir().unwrap();
    let (_phone_driver, p) = phone_browser(phone_profile.path()).await;
    for path in [
        "/".to_string(),
        format!("/traces/{agent}"),
        "/dashboard".into(),
        "/sessions/s-explorer".into(),
    ] {
        p.goto(&format!("{base}{path}")).await.unwrap();
        let fits = p
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, inner) = (fits[0].as_f64().unwrap(), fits[1].as_f64().unwrap());
        assert!(inner <= 400.0, "a phone-sized window: {inner}");
        let wide = p
            .execute(
                "return Array.prototype.filter.call(document.querySelectorAll('body *'), function (e) { return e.getBoundingClientRect().right > window.innerWidth + 1; }).slice(0, 8).map(function (e) { return e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right); })",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            scroll <= inner,
            "{path}: no horizontal overflow ({scroll} > {inner}): {wide}"
        );
    }
    p.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(style_of(&p, "#main-nav", "display").await, "none");
    screenshot(&p, "phone-traces").await;
    click(&p, "button.nav-toggle").await;
    assert_eq!(style_of(&p, "#main-nav", "display").await, "flex");
    screenshot(&p, "phone-traces-menu").await;
    p.close().await.unwrap();
    server.stop();
}

/// Whether a cost cell reads in the one money format: `$0.0312`, `$4.52`, `$1,234`, `<$0.0001`,
/// `$0`, "unknown", or a partial cost with its badge.
fn regex_lite_money() -> impl Fn(&str) -> bool {
    |t: &str| {
        let t = t.trim();
        let t = t.strip_prefix("≥ ").unwrap_or(t);
        let t = t.split(" ").next().unwrap_or(t);
        if t == "unknown" || t == "$0" || t == "<$0.0001" {
            return true;
        }
        let Some(num) = t.strip_prefix('$') else {
            return false;
        };
        let digits: String = num.chars().filter(|c| c.is_ascii_digit()).collect();
        let significant = digits.trim_start_matches('0').len();
        num.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
            && (significant <= 3 || !num.contains('.'))
    }
}

/// An RFC 3339 UTC time (whole seconds) of a Unix time in nanoseconds.
fn llmtrace_query_rfc3339(ns: u64) -> String {
    let secs = ns / SEC;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
