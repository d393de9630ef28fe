//! Helpers of the interop tests: the mock provider, projects, SDK drivers, API polling.

use super::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one SDK driver may run (SDK import, one mock call, flush).
pub const DRIVER_TIMEOUT: Duration = Duration::from_secs(120);

pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// The mock Anthropic/OpenAI provider, killed on drop.
pub struct Mock {
    pub child: Child,
    pub url: String,
}

impl Mock {
    /// Starts `mock_provider.py` on a free port and waits (at most 30 s) for its `READY` line.
    pub fn start(python: &Path) -> Mock {
        let mut child = Command::new(python)
            .arg(interop_dir().join("mock_provider.py"))
            .arg("0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start mock_provider.py");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut mock = Mock {
            child,
            url: String::new(),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("mock provider did not print READY within 30 s");
        let port: u16 = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected mock provider banner {line:?}"));
        mock.url = format!("http://127.0.0.1:{port}");
        mock
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A project's keys as printed by `llmtrace projects create`.
pub struct Keys {
    pub public: String,
    pub secret: String,
}

pub fn create_project(data_dir: &Path, name: &str) -> Keys {
    let out = Command::new(bin())
        .args(["projects", "create", name, "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run llmtrace projects create");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "projects create failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} line in {text}"))
            .trim()
            .to_string()
    };
    Keys {
        public: field("public key"),
        secret: field("secret key"),
    }
}

/// What a driver script printed: its JSON line and its stderr.
pub struct DriverOutput {
    pub json: Value,
    pub stderr: String,
}

/// Runs a driver script with `env`, killing it after [`DRIVER_TIMEOUT`]; asserts that it exited
/// successfully, printed JSON with an empty `errors` list, and wrote no export error or
/// traceback to stderr.
pub fn run_driver(
    python: &Path,
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> DriverOutput {
    let tmp = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (tmp.path().join("stdout"), tmp.path().join("stderr"));
    let mut cmd = Command::new(python);
    cmd.arg(interop_dir().join(script))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for var in [
        "LANGSMITH_ENDPOINT",
        "LANGSMITH_API_KEY",
        "LANGSMITH_TRACING",
        "LANGSMITH_PROJECT",
        "LANGCHAIN_ENDPOINT",
        "LANGCHAIN_API_KEY",
        "LANGCHAIN_TRACING_V2",
        "LANGFUSE_HOST",
        "LANGFUSE_BASE_URL",
        "LANGFUSE_PUBLIC_KEY",
        "LANGFUSE_SECRET_KEY",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("start driver");
    let deadline = Instant::now() + DRIVER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{script} {args:?} did not finish within {DRIVER_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    assert!(
        status.success(),
        "{script} {args:?} exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let json: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("{script} printed no JSON line:\n{stdout}\nstderr:\n{stderr}"));
    assert_eq!(
        json["errors"],
        serde_json::json!([]),
        "{script} {args:?}: the SDK reported export errors"
    );
    for bad in ["Traceback", "Failed to", "Unauthorized", "ERROR"] {
        assert!(
            !stderr.contains(bad),
            "{script} {args:?}: stderr shows {bad:?}:\n{stderr}"
        );
    }
    DriverOutput { json, stderr }
}

/// `GET path` with the project's secret key as bearer; returns the status and the JSON body.
pub fn get_json(server: &Server, keys: &Keys, path: &str) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-m", "10", "-w", "\n%{http_code}"])
        .args(["-H", &format!("Authorization: Bearer {}", keys.secret)])
        .arg(format!("{}{}", server.http, path))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// Polls `GET /api/traces/{id}` (at most 20 s) until the trace has `spans` spans, and returns it.
pub fn wait_trace(server: &Server, keys: &Keys, trace_id: &str, spans: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, d) = get_json(server, keys, &format!("/api/traces/{trace_id}"));
        let n = d["spans"].as_array().map_or(0, Vec::len);
        if code == 200 && n >= spans {
            assert_eq!(n, spans, "trace {trace_id} has unexpected spans: {d:#}");
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "trace {trace_id} did not show {spans} spans within 20 s (status {code}): {d:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The span named `name` (exactly one).
pub fn span<'a>(trace: &'a Value, name: &str) -> &'a Value {
    let found: Vec<&Value> = trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "expected one span {name:?} in {trace:#}");
    found[0]
}

/// Asserts the tokens of a span or trace summary, in order input (inclusive of cache), output,
/// cache read, cache write.
pub fn assert_tokens(v: &Value, what: &str, expected: [u64; 4]) {
    let got = [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    ]
    .map(|k| v[k].as_u64().unwrap_or(u64::MAX));
    assert_eq!(
        got, expected,
        "{what}: [input, output, cache read, cache write] on the llmtrace convention \
         (mock truth: 120 raw + 30 read + 10 written = 160 in, 45 out): {v:#}"
    );
}

/// The sum of the Prometheus text samples of `family` whose labels contain `filter`.
pub fn metric_sum(text: &str, family: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| {
            (l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} ")))
                && l.contains(filter)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The server's `/metrics` text (with the project's key).
pub fn metrics_text(server: &Server, keys: &Keys) -> String {
    let out = Command::new("curl")
        .args(["-s", "-m", "10"])
        .args(["-H", &format!("Authorization: Bearer {}", keys.secret)])
        .arg(format!("{}/metrics", server.http))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// After the last commit and the metrics' settle window, every `llm_*_total` counter summed
/// over its labels equals the corresponding `/api/stats` total (calls, errors, each token type,
/// cost; the server holds one project). Polls for at most 20 s.
pub fn assert_metrics_match_stats(server: &Server, keys: &Keys) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, stats) = get_json(server, keys, "/api/stats");
        assert_eq!(code, 200, "{stats}");
        let groups = stats["groups"].as_array().cloned().unwrap_or_default();
        let total = |k: &str| -> f64 { groups.iter().map(|g| g[k].as_f64().unwrap_or(0.0)).sum() };
        let text = metrics_text(server, keys);
        // (stats field, counter family, label filter).
        let checks = [
            ("calls", "llm_calls_total", ""),
            ("errors", "llm_errors_total", ""),
            ("input_tokens", "llm_tokens_total", "type=\"input\""),
            ("output_tokens", "llm_tokens_total", "type=\"output\""),
            (
                "cache_read_tokens",
                "llm_tokens_total",
                "type=\"cache_read\"",
            ),
            (
                "cache_write_tokens",
                "llm_tokens_total",
                "type=\"cache_write\"",
            ),
            ("reasoning_tokens", "llm_tokens_total", "type=\"reasoning\""),
            ("unpriced_calls", "llmtrace_unpriced_calls_total", ""),
        ];
        let pairs: Vec<(&str, f64, f64)> = checks
            .iter()
            .map(|(field, family, filter)| {
                (*field, total(field), metric_sum(&text, family, filter))
            })
            .collect();
        let cost = (
            total("cost_usd"),
            metric_sum(&text, "llm_cost_usd_total", ""),
        );
        let equal = pairs.iter().all(|(_, a, b)| a == b) && (cost.0 - cost.1).abs() < 1e-12;
        if equal {
            assert!(total("calls") > 0.0, "no calls counted: {stats:#}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/metrics and /api/stats disagree (name, stats, metrics): {pairs:?}, cost {cost:?}\n\
             {stats:#}\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
