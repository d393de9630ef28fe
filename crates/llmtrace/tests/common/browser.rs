//! Driving a real headless Chromium for the UI's browser tests (Debian's `chromium` and
//! `chromedriver`, over WebDriver with fantoccini): start a browser, wait for navigation and
//! text, type keys, take screenshots into `target/ui-screenshots/`, and build OTLP JSON spans.
//! Included by the browser test files as `#[path = "common/browser.rs"] mod browser;`.

#![allow(dead_code, unreachable_pub, missing_docs)]

use super::common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Driver(pub Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn browser(profile: &Path) -> (Driver, Client) {
    browser_with(profile, &[]).await
}

/// A browser with a dark system theme (`prefers-color-scheme: dark`).
pub async fn dark_browser(profile: &Path) -> (Driver, Client) {
    browser_with(profile, &["--blink-settings=preferredColorScheme=0"]).await
}

/// A browser emulating a phone: a viewport of 390 × 844 CSS pixels (a window cannot be made
/// that narrow in headless Chromium, so this is Chromium's device emulation).
pub async fn phone_browser(profile: &Path) -> (Driver, Client) {
    browser_options(
        profile,
        &[],
        json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0, "mobile": false, "touch": true}}),
    )
    .await
}

/// A browser started with `extra` command-line arguments (later ones win).
pub async fn browser_with(profile: &Path, extra: &[&str]) -> (Driver, Client) {
    browser_options(profile, extra, Value::Null).await
}

/// A browser started with `extra` command-line arguments and, unless null, `mobile` as
/// chromedriver's `mobileEmulation` option.
async fn browser_options(profile: &Path, extra: &[&str], mobile: Value) -> (Driver, Client) {
    let port = free_port();
    let driver = Driver(
        Command::new("chromedriver")
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().map(|a| a.to_string()));
    let mut caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": args,
            "prefs": {
                "download.default_directory": profile.join("downloads").display().to_string(),
                "download.prompt_for_download": false
            }
        }
    }))
    .unwrap();
    if !mobile.is_null() {
        if let Some(o) = caps
            .get_mut("goog:chromeOptions")
            .and_then(Value::as_object_mut)
        {
            o.insert("mobileEmulation".into(), mobile);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connected =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
        match connected {
            Ok(c) => return (driver, c),
            Err(e) if Instant::now() > deadline => panic!("chromedriver: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

pub fn kv(k: &str, v: Value) -> Value {
    let value = match v {
        Value::String(s) => json!({"stringValue": s}),
        Value::Number(n) if n.is_i64() => json!({"intValue": n.to_string()}),
        Value::Number(n) => json!({"doubleValue": n}),
        other => json!({"stringValue": other.to_string()}),
    };
    json!({"key": k, "value": value})
}

pub fn span(
    trace: &str,
    id: u64,
    parent: Option<u64>,
    name: &str,
    start: u64,
    ms: u64,
    attrs: Vec<Value>,
) -> Value {
    let mut s = json!({
        "traceId": trace, "spanId": format!("{id:016x}"), "name": name, "kind": 1,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + ms * 1_000_000).to_string(),
        "attributes": attrs,
    });
    if let Some(p) = parent {
        s["parentSpanId"] = json!(format!("{p:016x}"));
    }
    s
}

pub fn send(server: &Server, spans: Vec<Value>) {
    assert_eq!(post_otlp_json(&server.http, "browser-app", spans).0, 200);
}

/// Waits (up to 15 s) until the page's URL satisfies `ok`: a click that navigates returns
/// before the new page is there.
pub async fn wait_url(c: &Client, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = c.current_url().await.unwrap().to_string();
        if ok(&url) {
            // Let the new document finish loading before it is queried.
            let _ = c.execute("return document.readyState", vec![]).await;
            return url;
        }
        assert!(
            Instant::now() < deadline,
            "navigation did not happen: at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to 10 s) until the span panel shows `want`; its text.
pub async fn wait_detail(c: &Client, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = c
            .find(Locator::Css("#detail"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if d.contains(want) {
            return d;
        }
        assert!(Instant::now() < deadline, "{want:?} not shown: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element `css` selects.
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

/// Types `text` as key presses into whatever has the focus (`\u{e004}` is Tab, `\u{e007}`
/// Enter).
pub async fn keys(c: &Client, text: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut seq = KeyActions::new("keyboard".into());
    for ch in text.chars() {
        seq = seq
            .then(KeyAction::Down { value: ch })
            .then(KeyAction::Up { value: ch });
    }
    c.perform_actions(seq).await.unwrap();
}

/// The `name` of the focused element, if any.
pub async fn focused_name(c: &Client) -> Option<String> {
    c.active_element().await.ok()?.attr("name").await.ok()?
}

/// Presses `key` until the field named `field` has the focus (up to 10 s: the first key
/// press may reach a page whose window is not focused yet).
pub async fn press_until_focused(c: &Client, key: &str, field: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        keys(c, key).await;
        if focused_name(c).await.as_deref() == Some(field) {
            return;
        }
        if Instant::now() >= deadline {
            let dbg = c.execute("return [document.activeElement && document.activeElement.outerHTML.slice(0,200), !!document.querySelector('#annotate-form'), document.hasFocus(), document.readyState, location.href]", vec![]).await.unwrap();
            panic!("{key:?} did not focus the {field} field: {dbg}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The texts of the elements `css` selects, as far as they can be read while the page may be
/// reloading (an element gone meanwhile is left out).
pub async fn texts_settling(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
        if let Ok(t) = e.text().await {
            out.push(t);
        }
    }
    out
}

/// Waits (up to 15 s) until the elements `css` selects have a text containing `want`; their
/// texts.
pub async fn wait_text(c: &Client, css: &str, want: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let t = texts_settling(c, css).await;
        if t.iter().any(|x| x.contains(want)) {
            return t;
        }
        assert!(Instant::now() < deadline, "{want:?} not in {css}: {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
