//! Starts the real `llmtrace` binary on free loopback ports with a temporary data dir.

#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod interop;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_llmtrace")
}

pub struct Server {
    pub child: Child,
    pub http: String,
    pub grpc: String,
    pub data_dir: PathBuf,
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        Self::launch(data_dir, extra, None)
    }

    /// Like [`Server::start_with`], with `LLMTRACE_LOG=debug` and the server's stdout and stderr
    /// written to `log_dir/server.{out,err}` (to check what it logs).
    pub fn start_logged(data_dir: &Path, log_dir: &Path, extra: &[&str]) -> Server {
        Self::launch(data_dir, extra, Some(log_dir))
    }

    /// Starts the server on ports the kernel picks (`127.0.0.1:0`) and reads the bound ones from
    /// its `llmtrace listening` line: a port picked here and released before the server binds it
    /// could be taken by another test's server in between, and this test would then talk to that
    /// one.
    fn launch(data_dir: &Path, extra: &[&str], log_dir: Option<&Path>) -> Server {
        let (level, stdout, stderr) = match log_dir {
            Some(dir) => (
                "debug",
                Stdio::from(std::fs::File::create(dir.join("server.out")).unwrap()),
                Stdio::from(std::fs::File::create(dir.join("server.err")).unwrap()),
            ),
            None => ("warn", Stdio::piped(), Stdio::inherit()),
        };
        let mut child = Command::new(bin())
            .args([
                "serve",
                "--http-listen",
                "127.0.0.1:0",
                "--grpc-listen",
                "127.0.0.1:0",
                "--data-dir",
                data_dir.to_str().unwrap(),
            ])
            .args(extra)
            .env("LLMTRACE_LOG", level)
            // Counted calls reach the llm_* counters after this settle window (5 s by default).
            .env("LLMTRACE_METRICS_SETTLE_MS", "300")
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start llmtrace");
        let banner = match (child.stdout.take(), log_dir) {
            (Some(out), _) => banner_from_pipe(out),
            (None, Some(dir)) => banner_from_file(&dir.join("server.out")),
            (None, None) => None,
        };
        let Some(line) = banner else {
            let _ = child.kill();
            let status = child.wait();
            panic!("llmtrace printed no listening line within 60 s ({status:?})");
        };
        let between = |from: &str, to: &str| -> String {
            let rest = line.split_once(from).map(|(_, r)| r).unwrap_or("");
            rest.split_once(to).map_or(rest, |(v, _)| v).to_string()
        };
        let s = Server {
            child,
            http: format!("http://{}", between("API on http://", ", ")),
            grpc: between("OTLP/gRPC on ", ", "),
            data_dir: data_dir.to_path_buf(),
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&self) {
        // Generous: under a loaded 2-core machine the first start can be slow.
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::blocking_get(&format!("{}/healthz", self.http)) {
                if r {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("llmtrace did not become ready at {}", self.http);
    }

    /// Sends SIGTERM and waits (at most `limit`) for a clean exit; panics if the server is still
    /// running then.
    pub fn stop_within(mut self, limit: Duration) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "llmtrace exited with {status}");
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("llmtrace still running {limit:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "llmtrace exited with {status}");
    }

    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(bin())
            .arg("--server")
            .arg(&self.http)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let out = Command::new("curl")
            .args([
                "-s",
                "-w",
                "\n%{http_code}",
                &format!("{}{}", self.http, path),
            ])
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (
            code.parse().unwrap(),
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// The server's `llmtrace listening` line from its stdout (then drained in the background, so
/// the server never blocks on a full pipe), within 60 s.
fn banner_from_pipe(out: std::process::ChildStdout) -> Option<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("llmtrace listening") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(line);
                }
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).ok()
}

/// The server's `llmtrace listening` line from the file its stdout goes to, within 60 s.
fn banner_from_file(path: &Path) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.starts_with("llmtrace listening")) {
            return Some(line.to_string());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod reqwest {
    /// Minimal readiness probe over a raw TCP connection (no async runtime needed).
    pub fn blocking_get(url: &str) -> std::io::Result<bool> {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut s = std::net::TcpStream::connect(host)?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut buf = String::new();
        s.read_to_string(&mut buf)?;
        Ok(buf.starts_with("HTTP/1.1 200"))
    }
}

/// The interop Python interpreter: `$LLMTRACE_PYTHON`, else `.venv-interop/bin/python` at the
/// workspace root. Missing: a failure in CI (`CI` set), a printed skip locally.
pub fn python() -> Option<PathBuf> {
    venv_python("LLMTRACE_PYTHON", ".venv-interop")
}

/// The Python of a venv made by scripts/test.sh: `$var`, else `<venv>/bin/python` at the
/// workspace root. Missing: a failure in CI (`CI` set), a printed skip locally.
pub fn venv_python(var: &str, venv: &str) -> Option<PathBuf> {
    let p = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(venv)
            .join("bin/python")
    });
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "interop Python not found at {} (run scripts/test.sh, which creates it)",
            p.display()
        );
    }
    eprintln!(
        "SKIP: interop Python not found at {}; run scripts/test.sh to create it",
        p.display()
    );
    None
}

/// Now, in Unix nanoseconds.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Whether every tool answers `--version`: required in CI (a panic naming them), a printed
/// skip otherwise. scripts/test.sh installs them.
pub fn tools_available(tools: &[&str]) -> bool {
    let ok = tools.iter().all(|b| {
        Command::new(b)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    });
    let names = tools.join(", ");
    if !ok && std::env::var_os("CI").is_some() {
        panic!("{names} are required in CI (scripts/test.sh installs them)");
    }
    if !ok {
        eprintln!("SKIP: {names} not installed; run scripts/test.sh");
    }
    ok
}

/// Posts `spans` (OTLP/JSON span objects) of service `service` to `{base}/v1/traces`; returns
/// the HTTP status and the `Retry-After` header, if any.
pub fn post_otlp_json(
    base: &str,
    service: &str,
    spans: Vec<serde_json::Value>,
) -> (u16, Option<String>) {
    use std::io::Write;
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"spans": spans}]
    }]});
    let mut child = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "-m",
            "30",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data-binary",
            "@-",
            &format!("{base}/v1/traces"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_string();
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let retry = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("retry-after:"))
        .map(|l| l[12..].trim().to_string());
    (status, retry)
}

pub fn batch_trace_id(batch: u64) -> String {
    format!("{:032x}", 0xc4a5_0000_0000u64 + batch)
}

/// Spans in one batch of [`batch_body`] (one request, one trace).
pub const SPANS_PER_BATCH: u64 = 20;

/// The OTLP/JSON body of batch `batch`: one trace of LLM calls, 10 input and 5 output tokens
/// each.
pub fn batch_body(batch: u64) -> Vec<u8> {
    let t0 = now_ns();
    let spans: Vec<serde_json::Value> = (0..SPANS_PER_BATCH)
        .map(|i| {
            serde_json::json!({
                "traceId": batch_trace_id(batch),
                "spanId": format!("{:016x}", batch * 100 + i + 1),
                "name": "chat gpt-4o-mini",
                "kind": 3,
                "startTimeUnixNano": t0.to_string(),
                "endTimeUnixNano": (t0 + 2_000_000).to_string(),
                "attributes": [
                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                    {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "5"}}
                ]
            })
        })
        .collect();
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "crash"}}]},
        "scopeSpans": [{"spans": spans}]
    }]})
    .to_string()
    .into_bytes()
}

/// POSTs `body` to `/v1/traces` over a fresh connection; the status, or `None` when the
/// connection failed or closed before an answer (the server died).
pub fn post_traces(addr: &str, body: &[u8]) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    use std::io::{Read, Write};
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.lines().next()?.split_whitespace().nth(1)?.parse().ok()
}
