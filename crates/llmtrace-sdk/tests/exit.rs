//! Nothing is lost at process exit: a child process (this test binary, re-run) sets up the SDK
//! from `OTEL_*` variables with a long flush interval, makes spans and exits; the guard flushes
//! on drop, and the panic hook flushes when the guard never drops.

mod common;

use common::{server, wait_trace};
use std::process::Command;

const CHILD_ENV: &str = "LLMTRACE_SDK_TEST_CHILD";

/// The child's work; a no-op unless run as the child.
#[test]
fn child_entry() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let guard = llmtrace_sdk::init().unwrap();
    let root = tracing::info_span!("exit_root");
    println!("TRACE_ID={}", common::trace_id(&root));
    root.in_scope(|| {
        for i in 0..20 {
            let _s = tracing::info_span!("exit_child", i).entered();
        }
    });
    drop(root);
    match mode.as_str() {
        "panic" => {
            std::mem::forget(guard);
            panic!("the child panics with its spans still queued");
        }
        _ => drop(guard),
    }
}

fn run_child(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", server().url(""))
        .env("OTEL_SERVICE_NAME", format!("exit-{mode}"))
        // Nothing is exported on schedule during the child's life: only the guard or hook can.
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.split("TRACE_ID=").nth(1))
        .unwrap_or_else(|| {
            panic!(
                "no trace id from the child: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .chars()
        .take(32)
        .collect()
}

#[tokio::test]
async fn guard_flushes_at_exit() {
    let tid = run_child("exit");
    let t = wait_trace(&tid, 21).await;
    assert_eq!(t["trace"]["service"], "exit-exit");
    assert_eq!(t["spans"].as_array().unwrap().len(), 21);
}

#[tokio::test]
async fn panic_hook_flushes() {
    let tid = run_child("panic");
    let t = wait_trace(&tid, 21).await;
    assert_eq!(t["spans"].as_array().unwrap().len(), 21);
}
