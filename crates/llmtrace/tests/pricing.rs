//! Cost end to end with the real binary: the real Python OpenTelemetry SDK sends traces whose
//! cost is priced from the built-in table (trace cost = sum of its span costs, checked against
//! dollars computed by hand), `pricing check` reports an unpriced model seen in traffic, and
//! `pricing recompute` after a price-file change updates exactly the affected spans, idempotently.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn send(python: &Path, server: &Server, model: &str, provider: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/send_rag.py");
    let out = Command::new(python)
        .arg(script)
        .args([
            "--protocol",
            "http/protobuf",
            "--http",
            &server.http,
            "--grpc",
            &server.grpc,
        ])
        .args(["--model", model, "--provider", provider])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["trace_id"].as_str().unwrap().to_string()
}

fn cost(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[test]
fn costs_from_the_python_sdk_check_and_recompute() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.toml");
    std::fs::write(&prices, "version = 1\n").unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--prices", prices.to_str().unwrap()]);

    // claude-sonnet-4-6 from the built-in table: $3/M input, $15/M output, $0.30/M cache read,
    // $3.75/M 5-minute cache write. Usage: input 160 (incl. 30 read + 10 written), output 45:
    // 120 × 3 + 30 × 0.30 + 10 × 3.75 + 45 × 15 = 360 + 9 + 37.5 + 675 = 1081.5 µ$ = $0.0010815.
    let claude = send(&python, &server, "claude-sonnet-4-6", "anthropic");
    let (_, d) = server.get_json(&format!("/api/traces/{claude}"));
    let llm = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "llm_call")
        .unwrap()
        .clone();
    assert_eq!(cost(&llm["cost_usd"]), 0.0010815, "{llm}");
    assert_eq!(llm["cost_source"], "computed");
    assert!(
        llm["price_id"]
            .as_str()
            .unwrap()
            .contains("claude-sonnet-4-6"),
        "{llm}"
    );
    assert_eq!(llm["unpriced"], false);
    let span_sum: f64 = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["cost_usd"].as_f64())
        .sum();
    assert_eq!(cost(&d["trace"]["cost_usd"]), span_sum);
    assert_eq!(d["trace"]["cost_source"], "computed");
    assert_eq!(d["trace"]["unpriced_span_count"], 0);

    // A model nobody prices: unknown cost, never $0, and `pricing check` says so.
    let unknown = send(&python, &server, "acme-llm-1", "acme");
    let (_, d) = server.get_json(&format!("/api/traces/{unknown}"));
    let llm = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "llm_call")
        .unwrap()
        .clone();
    assert_eq!(llm["cost_usd"], serde_json::Value::Null);
    assert_eq!(llm["unpriced"], true);
    assert_eq!(d["trace"]["unpriced_span_count"], 1);
    assert_eq!(
        d["trace"]["cost_usd"],
        serde_json::Value::Null,
        "a trace whose only call is unpriced has an unknown cost, not $0: {d}"
    );
    let (_, list) = server.get_json("/api/traces?model=acme-llm-1");
    assert_eq!(
        list["traces"][0]["cost_usd"],
        serde_json::Value::Null,
        "{list}"
    );
    let (_, stats) = server.get_json("/api/stats?group_by=model");
    let acme = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "acme-llm-1")
        .unwrap();
    assert_eq!(acme["cost_usd"], serde_json::Value::Null, "{stats}");
    let (ok, out) = server.cli(&["trace", &unknown]);
    assert!(ok, "{out}");
    assert!(
        out.contains("unknown"),
        "the CLI says the cost is unknown: {out}"
    );
    let page = Command::new("curl")
        .args(["-s", &format!("{}/traces/{unknown}", server.http)])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(
        page.contains(r#"<span class="unknown-cost""#) && page.contains(">unknown<"),
        "the UI says the cost is unknown"
    );
    let (ok, out) = server.cli(&["pricing", "check"]);
    assert!(!ok, "check must fail while a model is unpriced: {out}");
    assert!(out.contains("acme-llm-1"), "{out}");

    // Price it in the user file, recompute: exactly the acme span changes, the claude one not.
    // acme-llm-1: $1/M input, $2/M output → 160 × 1 + 45 × 2 = 250 µ$ = $0.00025.
    std::fs::write(
        &prices,
        "version = 1\n[[prices]]\nmodel = \"acme-llm-1\"\ninput = \"1\"\noutput = \"2\"\n",
    )
    .unwrap();
    let (ok, dry) = server.cli(&["pricing", "recompute", "--dry-run"]);
    assert!(ok, "{dry}");
    assert!(dry.contains("2 model-call spans, 1 changed"), "{dry}");
    let (_, d) = server.get_json(&format!("/api/traces/{unknown}"));
    assert_eq!(
        d["trace"]["unpriced_span_count"], 1,
        "a dry run writes nothing"
    );
    let (ok, first) = server.cli(&["pricing", "recompute"]);
    assert!(ok, "{first}");
    assert!(first.contains("2 model-call spans, 1 changed"), "{first}");
    assert!(
        first.contains("before $0.0010815  after $0.0013315"),
        "{first}"
    );
    let (_, d) = server.get_json(&format!("/api/traces/{unknown}"));
    assert_eq!(cost(&d["trace"]["cost_usd"]), 0.00025);
    assert_eq!(d["trace"]["unpriced_span_count"], 0);
    let llm = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "llm_call")
        .unwrap()
        .clone();
    assert!(
        llm["price_id"]
            .as_str()
            .unwrap()
            .starts_with("user:acme-llm-1"),
        "{llm}"
    );
    let (_, c) = server.get_json(&format!("/api/traces/{claude}"));
    assert_eq!(cost(&c["trace"]["cost_usd"]), 0.0010815);
    let (ok, second) = server.cli(&["pricing", "recompute"]);
    assert!(ok && second.contains("0 changed"), "{second}");
    let (ok, out) = server.cli(&["pricing", "check"]);
    assert!(ok, "{out}");

    // Cost in the list, sort and filter.
    let (_, list) = server.get_json("/api/traces?sort=cost");
    let costs: Vec<f64> = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| cost(&t["cost_usd"]))
        .collect();
    assert_eq!(costs, vec![0.0010815, 0.00025]);
    let (_, list) = server.get_json("/api/traces?min_cost=0.001");
    assert_eq!(list["traces"].as_array().unwrap().len(), 1);
    let (_, stats) = server.get_json("/api/stats?group_by=model");
    let g = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "acme-llm-1")
        .unwrap()
        .clone();
    assert_eq!(cost(&g["cost_usd"]), 0.00025);
    let (_, table) = server.get_json("/api/prices");
    assert!(table["count"].as_u64().unwrap() > 1000);
    server.stop();
}

#[test]
fn import_writes_a_user_price_file_the_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let litellm = dir.path().join("litellm.json");
    std::fs::write(
        &litellm,
        r#"{"sample_spec": {"litellm_provider": "x"},
            "my-model": {"litellm_provider": "openai", "mode": "chat",
                         "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}"#,
    )
    .unwrap();
    let out = dir.path().join("prices.toml");
    let r = Command::new(bin())
        .args([
            "pricing",
            "import",
            litellm.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("my-model"), "{text}");
    let again = Command::new(bin())
        .args([
            "pricing",
            "import",
            litellm.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "refuses to overwrite without --force"
    );
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--prices", out.to_str().unwrap()],
    );
    let (_, table) = server.get_json("/api/prices");
    let mine: Vec<&serde_json::Value> = table["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["model"] == "my-model")
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["source"], "user");
    assert_eq!(mine[0]["input"], "1");
    server.stop();
}
