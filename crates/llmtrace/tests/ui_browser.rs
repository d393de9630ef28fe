//! The web UI in a real headless Chromium (Debian's `chromium` and `chromedriver`, driven over
//! WebDriver with fantoccini) against the real binary: the trace list, a filter that survives a
//! reload, a trace's tree and timeline, the LLM span's details and conversation, and a
//! 10,000-span trace; scores added by keyboard, shown and filtered in the list, the annotation
//! queue, a span added to a dataset and its JSONL downloaded. Screenshots of each page land in
//! `target/ui-screenshots/`.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::*;

use common::*;
use fantoccini::Locator;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A RAG trace whose LLM call carries a conversation (`prompt`, with Chinese in it), in the
/// session `conv-browser` of the user `u-browser`.
fn rag_trace(trace: &str, model: &str, start: u64, prompt: &str) -> Vec<Value> {
    let input = json!([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]);
    vec![
        span(
            trace,
            1,
            None,
            "rag_query",
            start,
            2000,
            vec![
                kv("user.id", json!("u-browser")),
                kv("session.id", json!("conv-browser")),
            ],
        ),
        span(
            trace,
            2,
            Some(1),
            "retrieve",
            start + 10_000_000,
            100,
            vec![kv("gen_ai.operation.name", json!("retrieval"))],
        ),
        span(
            trace,
            3,
            Some(1),
            &format!("chat {model}"),
            start + 300_000_000,
            1500,
            vec![
                kv("gen_ai.provider.name", json!("anthropic")),
                kv("gen_ai.operation.name", json!("chat")),
                kv("gen_ai.request.model", json!(model)),
                kv("gen_ai.usage.input_tokens", json!(160)),
                kv("gen_ai.usage.output_tokens", json!(45)),
                kv("gen_ai.input.messages", json!(input.to_string())),
                kv(
                    "gen_ai.output.messages",
                    json!(
                        r#"[{"role":"assistant","parts":[{"type":"text","content":"It renews yearly."}],"finish_reason":"stop"}]"#
                    ),
                ),
            ],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_lists_filters_and_opens_traces_in_a_real_browser() {
    if !tools_available(&["chromium", "chromedriver"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let t0 = now_ns() - 60_000_000_000;
    let (sonnet, haiku) = ("aa".repeat(16), "bb".repeat(16));
    send(
        &server,
        rag_trace(
            &sonnet,
            "claude-sonnet-4-6",
            t0,
            "Summarize the forecast: 明天北京天气晴朗",
        ),
    );
    send(
        &server,
        rag_trace(
            &haiku,
            "claude-haiku-4-5",
            t0 + 5_000_000_000,
            "What does the contract say about 合同 renewal?",
        ),
    );
    // A 10,000-span trace: a root and 9,999 children, sent in 5 requests.
    let big = "cc".repeat(16);
    let t_big = t0 - 120_000_000_000;
    let mut spans = vec![span(&big, 1, None, "batch_job", t_big, 60_000, vec![])];
    for i in 2..=10_000u64 {
        spans.push(span(
            &big,
            i,
            Some(1),
            &format!("step {i}"),
            t_big + i * 5_000_000,
            4,
            vec![],
        ));
    }
    for chunk in spans.chunks(2_000) {
        send(&server, chunk.to_vec());
    }

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    let base = server.http.clone();

    // The list shows the traces, newest first.
    c.goto(&format!("{base}/")).await.unwrap();
    let names = texts(&c, "table.traces td.name > a").await;
    assert_eq!(
        names,
        vec!["rag_query", "rag_query", "batch_job"],
        "{names:?}"
    );
    screenshot(&c, "traces").await;

    // A model filter narrows the list and survives a reload.
    c.find(Locator::Css("input[name=model]"))
        .await
        .unwrap()
        .send_keys("claude-haiku-4-5")
        .await
        .unwrap();
    click(&c, "form.filters button[type=submit]").await;
    wait_url(&c, |u| u.contains("model=claude-haiku-4-5")).await;
    assert_eq!(texts(&c, "table.traces td.name > a").await.len(), 1);
    c.refresh().await.unwrap();
    assert_eq!(texts(&c, "table.traces td.name > a").await.len(), 1);
    let kept = c
        .find(Locator::Css("input[name=model]"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("claude-haiku-4-5"));
    screenshot(&c, "traces-filtered").await;

    // Search finds a trace by a word of its prompt, a Chinese word too, and survives a reload.
    for (query, want) in [
        ("renewal", "claude-haiku-4-5"),
        ("天气", "claude-sonnet-4-6"),
    ] {
        c.goto(&format!("{base}/")).await.unwrap();
        c.find(Locator::Css("input[name=q]"))
            .await
            .unwrap()
            .send_keys(query)
            .await
            .unwrap();
        click(&c, "form.filters button[type=submit]").await;
        wait_url(&c, |u| u.contains("q=")).await;
        c.refresh().await.unwrap();
        let found = c
            .find_all(Locator::Css("table.traces td.name > a"))
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{query}");
        found[0].click().await.unwrap();
        wait_url(&c, |u| u.contains("/traces/")).await;
        let name = texts(&c, "li.row.kind-llm .span-link").await;
        assert!(name[0].contains(want), "{query}: {name:?}");
    }
    c.goto(&format!("{base}/?q=%E5%A4%A9%E6%B0%94"))
        .await
        .unwrap();
    screenshot(&c, "traces-search").await;
    c.goto(&format!("{base}/?model=claude-haiku-4-5"))
        .await
        .unwrap();

    // Opening the trace shows the tree and the timeline.
    click(&c, "table.traces td.name > a").await;
    let trace_path = format!("/traces/{haiku}");
    wait_url(&c, |u| u.ends_with(&trace_path)).await;
    let rows = c.find_all(Locator::Css("li.row")).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        c.find_all(Locator::Css("li.row .bar")).await.unwrap().len(),
        3
    );
    assert_eq!(
        c.find(Locator::Css("#total-calls"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "1"
    );
    // Select the root first, then the LLM span: its details and conversation show.
    click(&c, "li.row[data-depth='0'] .span-link").await;
    let llm_link = c
        .find(Locator::Css("li.row.kind-llm .span-link"))
        .await
        .unwrap();
    llm_link.click().await.unwrap();
    let detail = wait_detail(&c, "chat claude-haiku-4-5").await;
    for want in [
        "claude-haiku-4-5",
        "anthropic",
        "160",
        "45",
        "What does the contract say about 合同 renewal?",
        "It renews yearly.",
        "Cost",
    ] {
        assert!(
            detail.contains(want),
            "{want:?} in the span panel:\n{detail}"
        );
    }
    assert!(
        wait_url(&c, |u| u.contains("?span="))
            .await
            .contains("?span="),
        "deep link kept in the URL"
    );
    screenshot(&c, "trace").await;

    // Collapsing the root hides its children.
    click(&c, "li.row[data-depth='0'] .toggle").await;
    assert_eq!(
        c.find_all(Locator::Css("li.row.hidden"))
            .await
            .unwrap()
            .len(),
        2
    );

    // The 10,000-span trace opens with a window of rows; more load on scrolling; a span deep
    // in it can be selected through its link and by a click.
    c.goto(&format!("{base}/traces/{big}")).await.unwrap();
    let first = c.find_all(Locator::Css("li.row")).await.unwrap().len();
    assert!(first > 0 && first < 1_000, "rendered lazily: {first} rows");
    assert_eq!(texts(&c, "#total-spans").await, vec!["10000"]);
    c.execute(
        "var l = document.querySelector('ol.rows'); l.scrollTop = l.scrollHeight; return 0;",
        vec![],
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let n = c.find_all(Locator::Css("li.row")).await.unwrap().len();
        if n > first {
            break;
        }
        assert!(Instant::now() < deadline, "no rows loaded on scroll");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.goto(&format!("{base}/traces/{big}?span={:016x}", 9_876))
        .await
        .unwrap();
    wait_detail(&c, "step 9876").await;
    assert_eq!(
        c.find_all(Locator::Css(&format!(
            "li.row.selected[data-span='{:016x}']",
            9_876
        )))
        .await
        .unwrap()
        .len(),
        1
    );
    let target = c
        .find(Locator::Css(&format!(
            "li.row[data-span='{:016x}'] .span-link",
            9_880
        )))
        .await
        .unwrap();
    target.click().await.unwrap();
    wait_detail(&c, "step 9880").await;
    screenshot(&c, "trace-10k").await;

    // The dashboard's totals match the API's statistics for the same range.
    c.goto(&format!("{base}/dashboard?range=1h")).await.unwrap();
    let attr = |css: &'static str, name: &'static str| {
        let c = c.clone();
        async move {
            c.find(Locator::Css(css))
                .await
                .unwrap()
                .attr(name)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let since = attr("#dashboard-totals", "data-since").await;
    let until = attr("#dashboard-totals", "data-until").await;
    let calls: u64 = attr("#total-calls", "data-value").await.parse().unwrap();
    let cost: f64 = attr("#total-cost", "data-value").await.parse().unwrap();
    let input: u64 = attr("#total-input", "data-value").await.parse().unwrap();
    let api: Value = reqwest::Client::new()
        .get(format!("{base}/api/stats"))
        .query(&[("since", &since), ("until", &until)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let groups = api["groups"].as_array().unwrap();
    let sum = |k: &str| groups.iter().map(|g| g[k].as_f64().unwrap()).sum::<f64>();
    assert_eq!(calls, 2);
    assert_eq!(calls as f64, sum("calls"));
    assert_eq!(input as f64, sum("input_tokens"));
    assert!(cost > 0.0);
    assert!(
        (cost - sum("cost_usd")).abs() < 1e-9,
        "{cost} vs {}",
        sum("cost_usd")
    );
    assert_eq!(texts(&c, "#model-table tbody tr").await.len(), 2);
    assert!(
        c.find_all(Locator::Css("figure.chart svg rect"))
            .await
            .unwrap()
            .len()
            >= 2
    );
    screenshot(&c, "dashboard").await;

    // Sessions and users group the traces with their totals and link to them.
    c.goto(&format!("{base}/sessions")).await.unwrap();
    let rows = texts(&c, "#groups tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("conv-browser") && rows[0].contains("u-browser"),
        "{rows:?}"
    );
    screenshot(&c, "sessions").await;
    click(&c, "#groups td.name a").await;
    wait_url(&c, |u| u.contains("session_id=conv-browser")).await;
    assert_eq!(texts(&c, "table.traces td.name > a").await.len(), 2);
    c.goto(&format!("{base}/users")).await.unwrap();
    assert_eq!(texts(&c, "#groups tbody tr").await.len(), 1);
    screenshot(&c, "users").await;
    c.goto(&format!("{base}/models")).await.unwrap();
    screenshot(&c, "models").await;
    c.goto(&format!("{base}/health")).await.unwrap();
    screenshot(&c, "health").await;
    c.close().await.unwrap();
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_queue_and_datasets_work_by_keyboard_in_a_real_browser() {
    if !tools_available(&["chromium", "chromedriver"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let t0 = now_ns() - 60_000_000_000;
    let (sonnet, haiku) = ("aa".repeat(16), "bb".repeat(16));
    send(
        &server,
        rag_trace(&sonnet, "claude-sonnet-4-6", t0, "Summarize the forecast"),
    );
    send(
        &server,
        rag_trace(
            &haiku,
            "claude-haiku-4-5",
            t0 + 5_000_000_000,
            "What about renewal?",
        ),
    );
    let base = server.http.clone();
    let http = reqwest::Client::new();
    let config = http
        .post(format!("{base}/api/score-configs"))
        .json(
            &json!({"name": "quality", "data_type": "CATEGORICAL", "categories": ["good", "bad"]}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        config.status().is_success(),
        "{}",
        config.text().await.unwrap()
    );

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;

    // On the trace page, `a` opens the score form; typing, Tab and Enter save a score.
    c.goto(&format!("{base}/traces/{haiku}")).await.unwrap();
    assert_eq!(texts(&c, "#trace-scores li.score").await.len(), 0);
    press_until_focused(&c, "a", "name").await;
    keys(&c, "quality\u{e004}good\u{e004}clear and correct\u{e007}").await;
    let shown = wait_text(&c, "#trace-scores li.score", "good").await;
    assert!(
        shown[0].contains("quality") && shown[0].contains("clear and correct"),
        "{shown:?}"
    );
    screenshot(&c, "trace-scored").await;
    // A value outside the config is refused with the API's reason, and nothing is stored.
    press_until_focused(&c, "a", "name").await;
    keys(&c, "quality\u{e004}excellent\u{e007}").await;
    wait_text(&c, "#annotate-form .status", "excellent").await;
    assert_eq!(texts(&c, "#trace-scores li.score").await.len(), 1);

    // The list has a column for the score; a click on its cell filters by it.
    c.goto(&format!("{base}/")).await.unwrap();
    let heads = texts(&c, "table.traces th.score").await;
    assert_eq!(heads, vec!["quality"]);
    let cells = texts(&c, "table.traces td.score").await;
    assert_eq!(cells, vec!["good", ""], "newest (haiku) first");
    click(&c, "table.traces td.score a").await;
    wait_url(&c, |u| u.contains("score.quality=good")).await;
    assert_eq!(texts(&c, "table.traces td.name > a").await.len(), 1);
    let kept = c
        .find(Locator::Css("select[name='score.quality']"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("good"));
    c.goto(&format!("{base}/?score.quality=bad")).await.unwrap();
    assert_eq!(texts(&c, "table.traces td.name > a").await.len(), 0);
    screenshot(&c, "traces-scores").await;

    // The annotation queue lists the trace without the score; its link opens the form ready.
    c.goto(&format!("{base}/queue?score=quality"))
        .await
        .unwrap();
    assert_eq!(texts(&c, "table.traces td.name > a").await.len(), 1);
    screenshot(&c, "queue").await;
    click(&c, "table.traces td.name > a").await;
    wait_url(&c, |u| {
        u.contains(&sonnet) && u.contains("annotate=quality")
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while focused_name(&c).await.as_deref() != Some("value") {
        assert!(Instant::now() < deadline, "the score form did not open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    keys(&c, "bad\u{e007}").await;
    wait_text(&c, "#trace-scores li.score", "bad").await;
    c.goto(&format!("{base}/queue?score=quality"))
        .await
        .unwrap();
    assert_eq!(texts(&c, "table.traces td.name > a").await.len(), 0);
    assert_eq!(
        texts(&c, "section.empty h2").await,
        vec!["Nothing to annotate"]
    );

    // Edit (same id) and delete a score from the trace page.
    c.goto(&format!("{base}/traces/{sonnet}")).await.unwrap();
    click(&c, "#trace-scores .score-edit").await;
    keys(&c, "\u{e003}\u{e003}\u{e003}good\u{e007}").await;
    wait_text(&c, "#trace-scores li.score", "good").await;
    assert_eq!(
        texts(&c, "#trace-scores li.score").await.len(),
        1,
        "replaced, not added"
    );
    click(&c, "#trace-scores .score-delete").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !texts_settling(&c, "#trace-scores li.score")
        .await
        .is_empty()
        || c.find_all(Locator::Css("#trace-scores"))
            .await
            .unwrap_or_default()
            .is_empty()
    {
        assert!(Instant::now() < deadline, "the score was not deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A span goes to a new dataset (`d`) with an expected output; its JSONL downloads.
    c.goto(&format!("{base}/traces/{sonnet}?span={:016x}", 3))
        .await
        .unwrap();
    wait_detail(&c, "chat claude-sonnet-4-6").await;
    press_until_focused(&c, "d", "dataset_name").await;
    keys(&c, "golden\u{e004}It is sunny tomorrow.").await;
    click(&c, "#dataset-form button[type=submit]").await;
    wait_text(&c, "#dataset-form .status", "Added to golden").await;
    c.goto(&format!("{base}/datasets")).await.unwrap();
    let rows = texts(&c, "#datasets tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("golden") && rows[0].contains('1'),
        "{rows:?}"
    );
    click(&c, "#datasets td.name a").await;
    wait_url(&c, |u| u.ends_with("/datasets/golden")).await;
    let item = texts(&c, "#items tbody tr").await;
    assert!(
        item[0].contains("Summarize the forecast") && item[0].contains("It renews yearly."),
        "{item:?}"
    );
    let expected = c
        .find(Locator::Css("textarea.expected"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(expected.as_deref(), Some("It is sunny tomorrow."));
    screenshot(&c, "dataset").await;
    click(&c, "#download-jsonl").await;
    let file = profile.path().join("downloads").join("golden.jsonl");
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        if let Ok(b) = std::fs::read_to_string(&file) {
            if b.ends_with('\n') {
                break b;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no download at {}",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["expected_output"], "It is sunny tomorrow.");
    assert_eq!(lines[0]["output"], "It renews yearly.");
    assert_eq!(lines[0]["source_trace_id"], sonnet);
    assert_eq!(lines[0]["source_span_id"], format!("{:016x}", 3));
    c.close().await.unwrap();
    server.stop();
}
