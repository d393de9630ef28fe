//! A full disk mid-ingest, with the real binary on a small tmpfs: later requests get 503 with
//! `Retry-After` (never 200), `/healthz` says why with 503, nothing acknowledged is lost, and
//! once space is freed ingest resumes by itself and health recovers. Needs root to mount the
//! tmpfs: a failure under `CI`, a printed skip otherwise.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A mounted tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs(dir.to_path_buf()));
        }
        if std::env::var_os("CI").is_some() {
            panic!(
                "cannot mount a tmpfs at {} (the disk-full test needs root)",
                dir.display()
            );
        }
        eprintln!("SKIP: cannot mount a tmpfs (needs root)");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// `len` hexadecimal digits drawn from a xorshift generator seeded by `n`: text the store's
/// compression cannot shrink much (a repeated pattern compresses to almost nothing, and the
/// disk would never fill).
fn noise(n: u64, len: usize) -> String {
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"0123456789abcdef"[(x % 16) as usize])
        })
        .collect()
}

/// One span of trace `n` carrying 48 KiB of incompressible text.
fn big_span(n: u64) -> serde_json::Value {
    let t0 = now_ns();
    serde_json::json!({
        "traceId": format!("{:032x}", 0xd15c_0000_0000u64 + n),
        "spanId": format!("{:016x}", n + 1),
        "name": "fill",
        "startTimeUnixNano": t0.to_string(),
        "endTimeUnixNano": (t0 + 1_000_000).to_string(),
        "attributes": [{"key": "payload", "value": {"stringValue": noise(n, 48 * 1024)}}]
    })
}

fn healthz(server: &Server) -> u16 {
    server.get_json("/healthz").0
}

#[test]
fn a_full_disk_refuses_with_503_loses_nothing_and_recovers() {
    let mount_dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(mount_dir.path(), "3m") else {
        return;
    };
    let data = fs.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Room to free later.
    let filler = fs.0.join("filler");
    std::fs::write(&filler, vec![7u8; 1024 * 1024]).unwrap();
    let server = Server::start(&data);

    // Fill the disk: every answer is either 200 (stored) or 503 with Retry-After.
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for n in 0..400u64 {
        let (code, retry) = post_otlp_json(&server.http, "disk", vec![big_span(n)]);
        match code {
            200 => acknowledged.push(n),
            503 => {
                assert!(retry.is_some(), "503 without Retry-After");
                refused += 1;
                if refused >= 3 {
                    break;
                }
            }
            other => panic!("request {n} answered {other}"),
        }
    }
    assert!(
        refused >= 3,
        "the disk never filled ({} stored)",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());
    assert_eq!(healthz(&server), 503, "health tells the disk is full");

    // Free space: ingest resumes by itself and health recovers.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 1000;
    loop {
        let (code, _) = post_otlp_json(&server.http, "disk", vec![big_span(n)]);
        if code == 200 {
            acknowledged.push(n);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ingest did not resume after space was freed"
        );
        n += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(healthz(&server), 200);

    // Nothing acknowledged was lost.
    for n in &acknowledged {
        let id = format!("{:032x}", 0xd15c_0000_0000u64 + n);
        let (code, body) = server.get_json(&format!("/api/traces/{id}"));
        assert_eq!(code, 200, "acknowledged trace {id} lost: {body}");
    }
    server.stop();
    drop(fs);
}
