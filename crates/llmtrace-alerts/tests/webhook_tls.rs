//! Outbound HTTPS for alert webhooks: rustls with the system's roots (here a self-signed
//! certificate made trusted through `SSL_CERT_FILE`), and redirects never followed: a webhook
//! answering 302 gets one request and the delivery fails, naming the redirect.

use llmtrace_alerts::evaluator::{DeliveryStatus, Evaluator};
use llmtrace_alerts::{AlertConfig, TraceTotals, Webhook, WebhookFormat};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Runs openssl with `args` in `dir`; whether it succeeded.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A test CA and a certificate for localhost signed by it (openssl): (CA cert, leaf cert, leaf
/// key) PEM paths, or `None` (a skip; a failure under `CI`) without openssl.
fn test_pki(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let ok = openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "2", "-subj", "/CN=llmtrace test CA"],
        ]
        .concat()
        .into_iter()
        .chain(["-keyout", "ca.key", "-out", "ca.pem"])
        .collect::<Vec<_>>(),
    ) && openssl(
        dir,
        &[
            &["req"][..],
            &ec,
            &["-subj", "/CN=localhost", "-keyout", "leaf.key"],
        ]
        .concat()
        .into_iter()
        .chain(["-out", "leaf.csr"])
        .collect::<Vec<_>>(),
    ) && openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
    if ok {
        return Some((
            dir.join("ca.pem"),
            dir.join("leaf.pem"),
            dir.join("leaf.key"),
        ));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "openssl is required in CI (scripts/test.sh installs it)"
    );
    eprintln!("SKIP: openssl not installed");
    None
}

/// Requests received, as (path, body).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// An HTTPS receiver on localhost: `/hook` answers 200, `/moved` answers 302 to `/hook`.
async fn start_tls_receiver(cert: &Path, key: &Path) -> (u16, Seen) {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    #[allow(deprecated)] // ring: classic key exchanges are all this test needs
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, log) = (acceptor.clone(), log.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (path, body) = loop {
                    let Ok(n) = tls.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                        break (path, body.to_string());
                    }
                };
                let answer = if path == "/moved" {
                    format!(
                        "HTTP/1.1 302 Found\r\nLocation: https://localhost:{port}/hook\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
                };
                log.lock().unwrap().push((path, body));
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_delivered_over_https_and_redirects_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let Some((ca, cert, key)) = test_pki(dir.path()) else {
        return;
    };
    // The system roots, as every OpenSSL-style client reads them: this test's CA.
    std::env::set_var("SSL_CERT_FILE", &ca);
    let (port, seen) = start_tls_receiver(&cert, &key).await;
    let e = Evaluator::new(AlertConfig {
        trace_max_tokens: Some(1_000),
        webhooks: vec![
            Webhook {
                url: format!("https://localhost:{port}/hook"),
                format: WebhookFormat::Generic,
            },
            Webhook {
                url: format!("https://localhost:{port}/moved"),
                format: WebhookFormat::Generic,
            },
        ],
        ..AlertConfig::default()
    });
    let notifier = e.spawn_notifier();
    e.record_trace(&TraceTotals {
        project: "acme".into(),
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        name: Some("agent".into()),
        tokens: 5_000,
        cost_usd: 0.01,
    });
    let start = Instant::now();
    loop {
        let view = e.snapshot();
        let done = view.notifications.first().is_some_and(|n| {
            n.deliveries
                .iter()
                .all(|d| matches!(d.status, DeliveryStatus::Ok | DeliveryStatus::Failed))
        });
        if done {
            let d = &view.notifications[0].deliveries;
            assert_eq!(d[0].status, DeliveryStatus::Ok, "{d:?}");
            assert_eq!(d[1].status, DeliveryStatus::Failed, "{d:?}");
            assert_eq!(d[1].attempts, 1, "a redirect is final: {d:?}");
            let err = d[1].last_error.as_deref().unwrap_or("");
            assert!(err.contains("302") && err.contains("not followed"), "{err}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{:?}",
            view.notifications
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths.iter().filter(|p| **p == "/hook").count(),
        1,
        "{paths:?}"
    );
    assert_eq!(
        paths.iter().filter(|p| **p == "/moved").count(),
        1,
        "{paths:?}"
    );
    let hook = seen.iter().find(|(p, _)| p == "/hook").unwrap();
    assert!(
        hook.1.contains("4bf92f3577b34da6a3ce929d0e0e4736"),
        "{}",
        hook.1
    );
    notifier.abort();
}
