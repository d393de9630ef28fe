//! TLS with the real binary: `--tls-cert` / `--tls-key` serve HTTPS (HTTP/1.1 and HTTP/2) and
//! OTLP/gRPC over TLS; a client trusting the certificate exports with the real OpenTelemetry
//! Python SDK over both and reads the traces back; plain HTTP gets no answer; a certificate and
//! key that do not fit are refused at start with a message.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// A self-signed certificate for localhost and 127.0.0.1 (openssl), as (cert, key) paths.
fn self_signed(dir: &Path) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-s", "-m", "10"])
        .args(args)
        .output()
        .expect("curl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The binary serving TLS on free ports, stopped with SIGTERM on drop.
struct TlsServer {
    child: std::process::Child,
    http_port: u16,
    grpc_port: u16,
}

impl TlsServer {
    fn start(data: &Path, cert: &str, key: &str) -> TlsServer {
        let (http_port, grpc_port) = (free_port(), free_port());
        let child = Command::new(bin())
            .arg("serve")
            .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
            .args(["--grpc-listen", &format!("127.0.0.1:{grpc_port}")])
            .arg("--data-dir")
            .arg(data)
            .args(["--tls-cert", cert, "--tls-key", key])
            .env("LLMTRACE_LOG", "warn")
            .spawn()
            .expect("start llmtrace");
        let server = TlsServer {
            child,
            http_port,
            grpc_port,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !curl(&["--cacert", cert, &format!("{}/healthz", server.https())]).0 {
            assert!(std::time::Instant::now() < deadline, "TLS server not ready");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        server
    }

    fn https(&self) -> String {
        format!("https://localhost:{}", self.http_port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

#[test]
fn https_and_grpc_over_tls() {
    let openssl = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !openssl {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl is required in CI"
        );
        eprintln!("SKIP: openssl not installed");
        return;
    }
    if !tools_available(&["curl"]) {
        return;
    }
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let data = dir.path().join("data");
    let server = TlsServer::start(&data, &cert, &key);
    let https = server.https();
    // HTTP/1.1 and HTTP/2 over TLS, trusting the certificate.
    for version in ["--http1.1", "--http2"] {
        let (ok, body) = curl(&["--cacert", &cert, version, &format!("{https}/healthz")]);
        assert!(ok && body.contains("\"ok\""), "{version}: {body}");
    }
    // Plain HTTP to the TLS port gets no HTTP answer.
    let (ok, body) = curl(&[&format!("http://localhost:{}/healthz", server.http_port)]);
    assert!(
        !ok || !body.contains("\"ok\""),
        "plain HTTP answered: {body}"
    );
    // OTLP/HTTP JSON over HTTPS.
    let span = serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f", "spanId": "7f7f7f7f7f7f7f7f",
        "name": "over-tls", "startTimeUnixNano": "1767225600000000000",
        "endTimeUnixNano": "1767225601000000000"}]}]}]});
    let (ok, _) = curl(&[
        "--cacert",
        &cert,
        "-H",
        "content-type: application/json",
        "-d",
        &span.to_string(),
        &format!("{https}/v1/traces"),
    ]);
    assert!(ok);
    let (ok, body) = curl(&[
        "--cacert",
        &cert,
        &format!("{https}/api/traces/7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f"),
    ]);
    assert!(ok && body.contains("over-tls"), "{body}");
    // The real OpenTelemetry Python SDK exports over gRPC with TLS.
    let out = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/send_rag.py"))
        .args(["--protocol", "grpc", "--http", &https, "--grpc"])
        .arg(format!("localhost:{}", server.grpc_port))
        .env("OTEL_EXPORTER_OTLP_CERTIFICATE", &cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gRPC over TLS: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let trace_id = sent["trace_id"].as_str().unwrap();
    let (ok, body) = curl(&["--cacert", &cert, &format!("{https}/api/traces/{trace_id}")]);
    assert!(ok && body.contains("rag_query"), "gRPC: {body}");

    drop(server);
    // A key that is not the certificate's is refused at start.
    let other = tempfile::tempdir().unwrap();
    let (_, wrong_key) = self_signed(other.path());
    let out = Command::new(bin())
        .args([
            "serve",
            "--http-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data2"))
        .args(["--tls-cert", &cert, "--tls-key", &wrong_key])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS"), "{err}");
}
