//! Alerting end to end with real parts: the `llmtrace` binary, `llmtrace rules` checked by
//! `promtool`, a real Prometheus scraping `/metrics` and evaluating the generated rules, and the
//! built-in evaluator notifying a webhook receiver of this test (firing, resolved, and a
//! per-trace budget).

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A webhook receiver: every POST body, parsed as JSON, with the path it came to.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(String, Value)>>>,
}

fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                sink.lock().unwrap().push((path, v));
            }
        }
    });
    Receiver { url, got }
}

impl Receiver {
    /// Alertmanager-format notifications received at `/am`: (status, alertname, labels).
    fn alertmanager(&self) -> Vec<(String, String, Value)> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|(p, _)| p == "/am")
            .flat_map(|(_, v)| v["alerts"].as_array().cloned().unwrap_or_default())
            .map(|a| {
                (
                    a["status"].as_str().unwrap_or("").to_string(),
                    a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                    a["labels"].clone(),
                )
            })
            .collect()
    }

    fn generic(&self) -> Vec<Value> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|(p, _)| p == "/generic")
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn hex_id(n: u64, bytes: usize) -> String {
    let mut s = format!("{:016x}{:016x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15), n);
    s.truncate(bytes * 2);
    s
}

fn send(server: &Server, spans: Vec<Value>) {
    assert_eq!(post_otlp_json(&server.http, "agent-app", spans).0, 200);
}

/// One LLM call span (a trace of its own) that lasted `seconds` and ended now.
fn call(n: u64, model: &str, seconds: f64, input: u64) -> Value {
    let end = now_ns();
    let start = end - (seconds * 1e9) as u64;
    json!({
        "traceId": hex_id(n, 16), "spanId": hex_id(n + 1, 8), "name": format!("chat {model}"),
        "kind": 3, "startTimeUnixNano": start.to_string(), "endTimeUnixNano": end.to_string(),
        "attributes": [
            {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": model}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": input.to_string()}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "20"}}
        ]
    })
}

fn curl_json(url: &str) -> Value {
    let out = Command::new("curl").args(["-s", url]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn promtool(args: &[&str], dir: &Path) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Prometheus {
    child: Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus(dir: &Path, target: &str) -> Prometheus {
    let port = free_port();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: [llmtrace-rules.yml]\n\
             scrape_configs:\n  - job_name: llmtrace\n    static_configs: [{{targets: ['{target}']}}]\n"
        ),
    )
    .unwrap();
    promtool(&["check", "config", "prometheus.yml"], dir);
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let prom = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if curl_json(&format!("{}/api/v1/status/buildinfo", prom.url))["status"] == "success" {
            return prom;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("prometheus did not start");
}

fn prometheus_alert_state(p: &Prometheus, name: &str) -> Option<String> {
    let v = curl_json(&format!("{}/api/v1/alerts", p.url));
    v["data"]["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == name && a["labels"]["model"] == "gpt-4o")
        .map(|a| a["state"].as_str().unwrap_or("").to_string())
}

#[test]
fn slow_calls_fire_in_prometheus_and_the_builtin_evaluator_then_resolve() {
    if !tools_available(&["prometheus", "promtool"]) {
        return;
    }
    let hook = receiver();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("llmtrace.toml");
    std::fs::write(
        &config,
        format!(
            "[alerts]\nwindow_seconds = 10\nfor_seconds = 2\neval_interval_seconds = 1\n\
             trace_max_tokens = 100000\n\
             [[alerts.webhooks]]\nurl = \"{0}/am\"\nformat = \"alertmanager\"\n\
             [[alerts.webhooks]]\nurl = \"{0}/generic\"\nformat = \"generic\"\n",
            hook.url
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--config", config.to_str().unwrap()]);

    // The generated rules and their unit tests pass promtool.
    let (ok, rules) = server.cli(&["rules", "--config", config.to_str().unwrap()]);
    assert!(ok, "{rules}");
    std::fs::write(dir.path().join("llmtrace-rules.yml"), &rules).unwrap();
    let (ok, tests) = server.cli(&["rules", "--tests", "--config", config.to_str().unwrap()]);
    assert!(ok, "{tests}");
    std::fs::write(dir.path().join("llmtrace-rules-test.yml"), &tests).unwrap();
    promtool(&["check", "rules", "llmtrace-rules.yml"], dir.path());
    promtool(&["test", "rules", "llmtrace-rules-test.yml"], dir.path());

    let prom = start_prometheus(dir.path(), server.http.trim_start_matches("http://"));

    // Calls of 12 s (by their timestamps) until both Prometheus and the webhook say firing.
    let mut n = 1_000u64;
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut prom_firing, mut hook_firing) = (false, false);
    while !(prom_firing && hook_firing) {
        assert!(
            Instant::now() < deadline,
            "LLMHighP99Latency not firing: prometheus {:?}, webhook {:?}",
            prometheus_alert_state(&prom, "LLMHighP99Latency"),
            hook.alertmanager()
        );
        n += 2;
        send(&server, vec![call(n, "gpt-4o", 12.0, 100)]);
        prom_firing |=
            prometheus_alert_state(&prom, "LLMHighP99Latency").as_deref() == Some("firing");
        hook_firing |= hook
            .alertmanager()
            .iter()
            .any(|(s, a, l)| s == "firing" && a == "LLMHighP99Latency" && l["model"] == "gpt-4o");
        std::thread::sleep(Duration::from_millis(500));
    }
    let generic = hook.generic();
    assert!(
        generic
            .iter()
            .any(|g| g["alert"] == "LLMHighP99Latency" && g["status"] == "firing"),
        "generic webhook: {generic:?}"
    );
    let (_, alerts) = server.get_json("/api/alerts");
    assert!(
        alerts.to_string().contains("LLMHighP99Latency"),
        "/api/alerts: {alerts}"
    );
    // The UI's health page lists the firing alert and its notification.
    let page = Command::new("curl")
        .args(["-s", &format!("{}/health", server.http)])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.contains("id=\"alert-states\""), "{page}");
    assert!(page.contains("LLMHighP99Latency"), "{page}");
    assert!(page.contains("firing"), "{page}");
    assert!(page.contains("id=\"notifications\""), "{page}");

    // Traffic back to normal: fast calls until the built-in evaluator resolves it.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !hook
        .alertmanager()
        .iter()
        .any(|(s, a, _)| s == "resolved" && a == "LLMHighP99Latency")
    {
        assert!(
            Instant::now() < deadline,
            "not resolved: {:?}",
            hook.alertmanager()
        );
        n += 2;
        send(&server, vec![call(n, "gpt-4o", 0.3, 100)]);
        std::thread::sleep(Duration::from_millis(500));
    }

    // A runaway trace: the call that passes the budget notifies within about a second.
    let sent = Instant::now();
    let runaway = call(7, "gpt-4o", 1.0, 150_000);
    let trace_id = runaway["traceId"].as_str().unwrap().to_string();
    send(&server, vec![runaway]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hit = hook.alertmanager().into_iter().find(|(s, a, l)| {
            s == "firing" && a == "LLMTraceBudgetExceeded" && l["trace_id"] == trace_id.as_str()
        });
        if hit.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no budget alert: {:?}",
            hook.alertmanager()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("budget notification after {:?}", sent.elapsed());
    // Prometheus sees the budget counter too.
    let (_, text) = {
        let out = Command::new("curl")
            .args(["-s", &format!("{}/metrics", server.http)])
            .output()
            .unwrap();
        (true, String::from_utf8_lossy(&out.stdout).to_string())
    };
    assert!(
        text.contains("llmtrace_trace_budget_exceeded_total{project=\"default\"} 1"),
        "{text}"
    );
    drop(prom);
    server.stop();
}

/// Posts an OTLP/JSON export whose spans come from the given instrumentation scopes.
fn send_scoped(server: &Server, scopes: Vec<(&str, Vec<Value>)>) {
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "agent-app"}}]},
        "scopeSpans": scopes.into_iter().map(|(name, spans)| json!({"scope": {"name": name}, "spans": spans})).collect::<Vec<_>>()
    }]});
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "content-type: application/json", "--data-binary"])
        .arg(body.to_string())
        .arg(format!("{}/v1/traces", server.http))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
}

/// One call reported twice with a response id (`rid`), as a span `n` of trace `n`.
fn copy(n: u64, parent: Option<u64>, rid: &str, output: u64, streamed: bool) -> Value {
    let mut span = call(n, "claude-sonnet-4-6", 0.5, 160);
    span["attributes"] = json!([
        {"key": "gen_ai.provider.name", "value": {"stringValue": "anthropic"}},
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "claude-sonnet-4-6"}},
        {"key": "gen_ai.response.id", "value": {"stringValue": rid}},
        {"key": "gen_ai.request.stream", "value": {"boolValue": streamed}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "160"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": output.to_string()}}
    ]);
    if let Some(p) = parent {
        span["parentSpanId"] = json!(hex_id(p, 8));
    }
    span
}

/// The real Prometheus scraping the binary sees the same totals as `/api/stats` when one call
/// is reported by OpenLLMetry's streamed span (21 output tokens, counted from the chunks) and
/// by the anthropic SDK's own span in another trace (the provider's 20), in either order.
#[test]
fn prometheus_scrapes_the_same_totals_as_the_api() {
    if !tools_available(&["prometheus", "promtool"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    // Instrumentation copy first, then the SDK's; then the other order for a second call.
    send_scoped(
        &server,
        vec![(
            "opentelemetry.instrumentation.anthropic",
            vec![copy(501, None, "msg_P1", 21, true)],
        )],
    );
    send_scoped(
        &server,
        vec![(
            "com.anthropic.sdk.python",
            vec![copy(502, Some(77), "msg_P1", 20, true)],
        )],
    );
    send_scoped(
        &server,
        vec![
            (
                "com.anthropic.sdk.python",
                vec![copy(503, Some(77), "msg_P2", 20, true)],
            ),
            (
                "opentelemetry.instrumentation.anthropic",
                vec![copy(504, None, "msg_P2", 21, true)],
            ),
        ],
    );
    std::fs::write(dir.path().join("llmtrace-rules.yml"), "groups: []\n").unwrap();
    let prom = start_prometheus(dir.path(), server.http.trim_start_matches("http://"));
    let (code, stats) = server.get_json("/api/stats");
    assert_eq!(code, 200);
    let total = |k: &str| -> f64 {
        stats["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[k].as_f64().unwrap_or(0.0))
            .sum()
    };
    assert_eq!(
        (total("calls"), total("output_tokens")),
        (2.0, 40.0),
        "{stats}"
    );
    let query = |q: &str| -> Option<f64> {
        let v = curl_json(&format!(
            "{}/api/v1/query?query={}",
            prom.url,
            q.replace(' ', "%20")
                .replace('{', "%7B")
                .replace('}', "%7D")
                .replace('"', "%22")
        ));
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = (
            query("sum(llm_calls_total)"),
            query("sum(llm_tokens_total{type=\"output\"})"),
            query("sum(llm_tokens_total{type=\"input\"})"),
        );
        if seen == (Some(2.0), Some(40.0), Some(total("input_tokens"))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus saw {seen:?}, the API {stats}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(prom);
    server.stop();
}
