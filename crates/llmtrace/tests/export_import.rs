//! `llmtrace export` then `llmtrace import` with the real binary: the demo's varied traffic
//! (RAG pipelines, agents, streaming calls, errors) exported as OTLP/JSON lines from one data dir
//! and imported into an empty server answers `/api/traces/{id}` identically for every trace;
//! importing twice stores nothing twice; the JSONL format holds the API's trace shape.

mod common;

use common::*;
use std::process::Command;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn export_then_import_gives_identical_traces() {
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let a = Server::start(&a_dir);
    let (ok, out, err) = run(&["--server", &a.http, "demo", "--traces", "40", "--seed", "7"]);
    assert!(ok, "{out}{err}");
    let (_, list) = a.get_json("/api/traces?limit=500");
    let ids: Vec<String> = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 40, "{list}");

    // Both formats, while the first server runs.
    let otlp = dir.path().join("export.otlp.jsonl");
    let jsonl = dir.path().join("export.jsonl");
    for (format, path) in [("otlp", &otlp), ("jsonl", &jsonl)] {
        let (ok, out, err) = run(&[
            "export",
            "--data-dir",
            a_dir.to_str().unwrap(),
            "--format",
            format,
            "--output",
            path.to_str().unwrap(),
        ]);
        assert!(ok, "{out}{err}");
        assert!(err.contains("exported"), "progress line: {err}");
    }
    let lines = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(lines.lines().count(), ids.len());
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(
        first["spans"].is_array() && first["trace"]["trace_id"].is_string(),
        "{first}"
    );

    // Into an empty server, twice.
    let b = Server::start(&b_dir);
    for _ in 0..2 {
        let (ok, out, err) = run(&["--server", &b.http, "import", otlp.to_str().unwrap()]);
        assert!(ok, "{out}{err}");
    }
    let (_, list_b) = b.get_json("/api/traces?limit=500");
    assert_eq!(list_b["traces"].as_array().unwrap().len(), ids.len());
    for id in &ids {
        let (code_a, ta) = a.get_json(&format!("/api/traces/{id}"));
        let (code_b, tb) = b.get_json(&format!("/api/traces/{id}"));
        assert_eq!((code_a, code_b), (200, 200), "{id}");
        assert_eq!(ta, tb, "trace {id} differs after export and import");
    }
    let (_, stats_a) = a.get_json("/api/stats");
    let (_, stats_b) = b.get_json("/api/stats");
    assert_eq!(stats_a, stats_b, "imported twice, counted once");

    // An export in the API's shape is not an import file: a clear refusal.
    let (ok, _, err) = run(&["--server", &b.http, "import", jsonl.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("--format otlp"), "{err}");
    a.stop();
    b.stop();
}
