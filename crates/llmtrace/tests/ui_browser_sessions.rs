//! A session read as one conversation, and the trace list's exports, in a real headless
//! Chromium against the real binary: `/sessions/{id}` shows the session's three traces as turns
//! in time order (the user's messages, a tool call, the answers, each turn's tokens and cost,
//! links into the traces; Arabic right to left), `/sessions` links to it; the list's "Download
//! CSV" and "Download JSON" links hold exactly the traces `/api/traces` returns for the page's
//! filters. Screenshots `session-thread.png`, `session-thread-dark.png`, `session-thread-phone.png`
//! and `sessions-conversation-link.png` land in `target/ui-screenshots/`.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::*;
use common::*;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

const SESSION: &str = "conv-thread";
const ARABIC: &str = "ما هي عاصمة مصر؟";

/// A model call span (`id` under `parent`) with usage and messages.
#[allow(clippy::too_many_arguments)]
fn chat(
    trace: &str,
    id: u64,
    parent: Option<u64>,
    model: &str,
    start: u64,
    input: Value,
    output: Value,
    tokens: (u64, u64),
) -> Value {
    span(
        trace,
        id,
        parent,
        &format!("chat {model}"),
        start,
        800,
        vec![
            kv("gen_ai.provider.name", json!("anthropic")),
            kv("gen_ai.operation.name", json!("chat")),
            kv("gen_ai.request.model", json!(model)),
            kv("gen_ai.usage.input_tokens", json!(tokens.0)),
            kv("gen_ai.usage.output_tokens", json!(tokens.1)),
            kv("gen_ai.input.messages", json!(input.to_string())),
            kv("gen_ai.output.messages", json!(output.to_string())),
        ],
    )
}

fn user(text: &str) -> Value {
    json!([{"role": "user", "parts": [{"type": "text", "content": text}]}])
}

fn answer(text: &str) -> Value {
    json!([{"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}])
}

/// A root span of the session.
fn root(trace: &str, start: u64, ms: u64) -> Value {
    span(
        trace,
        1,
        None,
        "chat_turn",
        start,
        ms,
        vec![
            kv("session.id", json!(SESSION)),
            kv("user.id", json!("u-thread")),
        ],
    )
}

/// The session's three turns (a plain question, one answered through a tool, one in Arabic) and
/// a trace outside it.
fn seed(server: &Server, t0: u64) -> [String; 4] {
    let ids = ["a1", "a2", "a3", "b1"].map(|p| p.repeat(16));
    let [t1, t2, t3, other] = ids.clone();
    let long_link = format!("https://example.com/{}", "a".repeat(240));
    send(
        server,
        vec![
            root(&t1, t0, 1000),
            chat(
                &t1,
                2,
                Some(1),
                "claude-sonnet-4-6",
                t0 + 100_000_000,
                user("What is the capital of France?"),
                answer(&format!("Paris. More: {long_link}")),
                (120, 30),
            ),
        ],
    );
    let t = t0 + 10_000_000_000;
    let tool_request = json!([{"role": "assistant", "parts": [
        {"type": "text", "content": "Let me check."},
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ], "finish_reason": "tool_call"}]);
    send(
        server,
        vec![
            root(&t2, t, 3000),
            chat(
                &t2,
                2,
                Some(1),
                "claude-sonnet-4-6",
                t + 100_000_000,
                user("And the weather there?"),
                tool_request,
                (200, 20),
            ),
            span(
                &t2,
                3,
                Some(1),
                "execute_tool get_weather",
                t + 1_000_000_000,
                300,
                vec![
                    kv("gen_ai.operation.name", json!("execute_tool")),
                    kv("gen_ai.tool.name", json!("get_weather")),
                    kv("gen_ai.tool.call.id", json!("call_1")),
                    kv("gen_ai.tool.call.arguments", json!(r#"{"city":"Paris"}"#)),
                    kv("gen_ai.tool.call.result", json!("18°C, sunny")),
                ],
            ),
            chat(
                &t2,
                4,
                Some(1),
                "claude-sonnet-4-6",
                t + 1_500_000_000,
                user("And the weather there?"),
                answer("It is 18°C and sunny in Paris."),
                (260, 25),
            ),
        ],
    );
    let t = t0 + 20_000_000_000;
    send(
        server,
        vec![
            root(&t3, t, 1200),
            chat(
                &t3,
                2,
                Some(1),
                "claude-haiku-4-5",
                t + 100_000_000,
                user(ARABIC),
                answer("القاهرة هي عاصمة مصر."),
                (90, 15),
            ),
        ],
    );
    send(
        server,
        vec![chat(
            &other,
            1,
            None,
            "claude-haiku-4-5",
            t0 + 30_000_000_000,
            user("unrelated"),
            answer("ok"),
            (10, 2),
        )],
    );
    ids
}

/// Records of an RFC 4180 document (quoted fields, doubled quotes, CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last record ends the document"
    );
    rows
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

async fn get(url: &str) -> reqwest::Response {
    let r = reqwest::get(url).await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_reads_as_a_conversation_and_the_list_exports_what_it_shows() {
    if !tools_available(&["chromium", "chromedriver"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let t0 = now_ns() - 120_000_000_000;
    let [t1, t2, t3, other] = seed(&server, t0);
    let base = server.http.clone();
    let api: Value = get(&format!("{base}/api/traces?session_id={SESSION}"))
        .await
        .json()
        .await
        .unwrap();
    let api_traces = api["traces"].as_array().unwrap().clone();
    assert_eq!(api_traces.len(), 3);

    let profile = tempfile::tempdir().unwrap();
    // Tall enough for the three turns in one screenshot.
    let (_driver, c) = browser_with(profile.path(), &["--window-size=1400,1250"]).await;

    // The sessions list links to the thread (and still to the session's traces).
    c.goto(&format!("{base}/sessions")).await.unwrap();
    screenshot(&c, "sessions-conversation-link").await;
    click(&c, "#groups a.thread").await;
    wait_url(&c, |u| u.ends_with(&format!("/sessions/{SESSION}"))).await;

    // The turns in time order, with the user's messages, the tool call and the answers.
    let turns = c
        .find_all(Locator::Css("ol.thread > li.turn"))
        .await
        .unwrap();
    let mut order = Vec::new();
    for t in &turns {
        order.push(t.attr("data-trace").await.unwrap().unwrap());
    }
    assert_eq!(order, vec![t1.clone(), t2.clone(), t3.clone()]);
    assert_eq!(
        texts(&c, "li.turn .bubble.user .text").await,
        vec![
            "What is the capital of France?",
            "And the weather there?",
            ARABIC
        ]
    );
    let answers = texts(&c, "li.turn .bubble.assistant .text").await;
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert!(answers[0].starts_with("Paris. More: https://example.com/"));
    assert_eq!(answers[1], "It is 18°C and sunny in Paris.");
    assert_eq!(answers[2], "القاهرة هي عاصمة مصر.");
    assert_eq!(
        texts(&c, "#turn-2 .tool-step .tool-name").await,
        vec!["get_weather"]
    );
    assert_eq!(
        texts(&c, "#turn-1 .tool-step, #turn-3 .tool-step")
            .await
            .len(),
        0
    );
    let args = texts(&c, "#turn-2 .tool-step .tool-args").await;
    assert!(args[0].contains(r#""city":"Paris""#), "{args:?}");
    assert_eq!(
        texts(&c, "#turn-2 .tool-step .tool-result").await,
        vec!["18°C, sunny"]
    );

    // Each turn's tokens and cost are its trace's; the header sums them.
    let (mut input, mut output) = (0, 0);
    for (n, t) in api_traces.iter().rev().enumerate() {
        let turn = format!("#turn-{}", n + 1);
        let tokens = format!("{turn} .turn-tokens");
        let i: u64 = attr(&c, &tokens, "data-input").await.parse().unwrap();
        let o: u64 = attr(&c, &tokens, "data-output").await.parse().unwrap();
        assert_eq!(
            (i, o),
            (
                t["input_tokens"].as_u64().unwrap(),
                t["output_tokens"].as_u64().unwrap()
            )
        );
        input += i;
        output += o;
        let cost: f64 = attr(&c, &format!("{turn} .turn-cost"), "data-value")
            .await
            .parse()
            .unwrap();
        assert!(cost > 0.0);
        assert_eq!(cost, t["cost_usd"].as_f64().unwrap(), "{turn}");
        let shown = texts(&c, &format!("{turn} .turn-cost")).await;
        assert!(shown[0].starts_with('$'), "{shown:?}");
    }
    assert_eq!((input, output), (120 + 200 + 260 + 90, 30 + 20 + 25 + 15));
    assert_eq!(attr(&c, "#thread-turns", "data-value").await, "3");
    assert_eq!(
        texts(&c, "#thread-tokens").await,
        vec![format!("{input} / {output}")]
    );

    // Arabic reads right to left, English left to right.
    let direction =
        |css: &str| format!("return getComputedStyle(document.querySelector('{css}')).direction");
    let rtl = c
        .execute(&direction("#turn-3 .bubble.user .text"), vec![])
        .await
        .unwrap();
    assert_eq!(rtl, json!("rtl"));
    let ltr = c
        .execute(&direction("#turn-1 .bubble.user .text"), vec![])
        .await
        .unwrap();
    assert_eq!(ltr, json!("ltr"));
    screenshot(&c, "session-thread").await;

    // A turn links to its trace; a text and a tool call to the span they came from.
    click(&c, "#turn-1 a.turn-link").await;
    wait_url(&c, |u| u.ends_with(&format!("/traces/{t1}"))).await;
    c.goto(&format!("{base}/sessions/{SESSION}")).await.unwrap();
    click(&c, "#turn-2 .tool-step a.from").await;
    wait_url(&c, |u| u.contains(&format!("/traces/{t2}?span={:016x}", 3))).await;
    wait_detail(&c, "execute_tool get_weather").await;
    c.goto(&format!("{base}/sessions/{SESSION}")).await.unwrap();
    click(&c, "#turn-3 .bubble.assistant a.from").await;
    wait_url(&c, |u| u.contains(&format!("/traces/{t3}?span={:016x}", 2))).await;
    wait_detail(&c, "chat claude-haiku-4-5").await;

    // An unknown session is the 404 page.
    let missing = reqwest::get(format!("{base}/sessions/no-such-session"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Not found"));

    // Exports: a model filter on the list (last hour); the links carry the page's filters with
    // the range resolved, and hold exactly what the API lists for them.
    c.goto(&format!("{base}/?range=1h")).await.unwrap();
    c.find(Locator::Css("input[name=model]"))
        .await
        .unwrap()
        .send_keys("claude-sonnet-4-6")
        .await
        .unwrap();
    click(&c, "form.filters button[type=submit]").await;
    wait_url(&c, |u| u.contains("model=claude-sonnet-4-6")).await;
    let mut listed = Vec::new();
    for a in c
        .find_all(Locator::Css("table.traces td.name a"))
        .await
        .unwrap()
    {
        let href = a.attr("href").await.unwrap().unwrap();
        let id = href.trim_start_matches("/traces/");
        listed.push(id.split('?').next().unwrap_or(id).to_string());
    }
    assert_eq!(listed, vec![t2.clone(), t1.clone()]);
    // The links' absolute URLs (the `href` property).
    let href = |css: &'static str| {
        let c = c.clone();
        async move {
            let e = c.find(Locator::Css(css)).await.unwrap();
            e.prop("href").await.unwrap().unwrap()
        }
    };
    let (csv_href, json_href) = (href("#export-csv").await, href("#export-json").await);
    let link = reqwest::Url::parse(&csv_href).unwrap();
    let params: std::collections::HashMap<String, String> =
        link.query_pairs().into_owned().collect();
    assert_eq!(link.path(), "/api/traces/export");
    assert_eq!(
        params.get("model").map(String::as_str),
        Some("claude-sonnet-4-6")
    );
    assert!(!params.contains_key("range"), "{csv_href}");
    let since = params
        .get("since")
        .expect("the resolved range start")
        .clone();
    let api: Value = reqwest::Client::new()
        .get(format!("{base}/api/traces"))
        .query(&[
            ("model", "claude-sonnet-4-6"),
            ("since", since.as_str()),
            ("limit", "500"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let want = api["traces"].as_array().unwrap();
    let ids: Vec<&str> = want
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, listed);

    let r = get(&csv_href).await;
    let h = r.headers().clone();
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"traces.csv\""
    );
    assert!(h["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(h["x-llmtrace-truncated"], "false");
    let rows = parse_csv(&r.text().await.unwrap());
    let head = &rows[0];
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), want.len() + 1);
    for (row, t) in rows[1..].iter().zip(want) {
        assert_eq!(row.len(), head.len());
        assert_eq!(row[col("trace_id")], t["trace_id"].as_str().unwrap());
        assert_eq!(row[col("session_id")], SESSION);
        for k in ["input_tokens", "output_tokens", "cache_read_tokens"] {
            assert_eq!(row[col(k)], t[k].as_u64().unwrap().to_string(), "{k}");
        }
        assert_eq!(
            row[col("llm_calls")],
            t["llm_call_count"].as_u64().unwrap().to_string()
        );
        let cost: f64 = row[col("cost_usd")].parse().unwrap();
        assert_eq!(cost, t["cost_usd"].as_f64().unwrap());
    }
    let r = get(&json_href).await;
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"traces.json\""
    );
    let exported: Value = r.json().await.unwrap();
    assert_eq!(&exported, &api["traces"]);

    // A capped export says so and where to continue; an unknown format is refused.
    let r = get(&format!("{base}/api/traces/export?format=csv&limit=1")).await;
    assert_eq!(r.headers()["x-llmtrace-truncated"], "true");
    let next = r.headers()["x-llmtrace-next-cursor"]
        .to_str()
        .unwrap()
        .to_string();
    let rows = parse_csv(&r.text().await.unwrap());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], other, "newest first");
    let rest = parse_csv(
        &get(&format!("{base}/api/traces/export?cursor={next}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(rest.len(), 4, "the other three traces");
    let bad = reqwest::get(format!("{base}/api/traces/export?format=xml"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("csv or json"));
    // One trace as a file.
    let r = get(&format!("{base}/api/traces/{t2}?download=1")).await;
    assert_eq!(
        r.headers()["content-disposition"],
        format!("attachment; filename=\"trace-{t2}.json\"").as_str()
    );
    let file: Value = r.json().await.unwrap();
    let plain: Value = get(&format!("{base}/api/traces/{t2}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file, plain);
    c.close().await.unwrap();

    // Dark mode, and a phone: nothing of the thread sticks out of the screen.
    let dark_profile = tempfile::tempdir().unwrap();
    let (_dark_driver, d) = browser_with(
        dark_profile.path(),
        &[
            "--blink-settings=preferredColorScheme=0",
            "--window-size=1400,1250",
        ],
    )
    .await;
    d.goto(&format!("{base}/sessions/{SESSION}")).await.unwrap();
    let scheme = d
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(scheme, json!(true));
    screenshot(&d, "session-thread-dark").await;
    d.close().await.unwrap();
    let phone_profile = tempfile::tempdir().unwrap();
    let (_phone_driver, p) = phone_browser(phone_profile.path()).await;
    p.goto(&format!("{base}/sessions/{SESSION}")).await.unwrap();
    let overflow = p
        .execute(
            "var w = document.documentElement.clientWidth, out = [];\
             document.querySelectorAll('.thread-head *, ol.thread *').forEach(function (e) {\
               var r = e.getBoundingClientRect(); if (r.width && r.right > w + 1) out.push(e.tagName + '.' + e.className + ' ' + r.right);\
             }); return [w, out];",
            vec![],
        )
        .await
        .unwrap();
    assert!(overflow[1].as_array().unwrap().is_empty(), "{overflow}");
    screenshot(&p, "session-thread-phone").await;
    p.close().await.unwrap();
    server.stop();
}
