//! LiteLLM (pinned `litellm` 1.110.2, `tests/interop/litellm/`) tested for real: its `otel`
//! callback in the default, semconv (`OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`)
//! and V2 (`LITELLM_OTEL_V2=true`) variants, its `langfuse_otel` callback, and its `langfuse`
//! callback on the langfuse 4.x SDK it requires (a second venv), each driving five real calls
//! against the mock provider (`tests/interop/litellm_sdk.py`): a plain and a streamed Anthropic
//! call (the mock's usage always has cache reads and writes), an OpenAI chat call, an embedding
//! and a failing call. Through the API: per-model `/api/stats` equals the mock's truth and the
//! cost equals LiteLLM's own; the failed call is an error and not unpriced; kinds, providers,
//! user and session where LiteLLM sends them; a time to first token on the streamed call only;
//! and `/metrics` equals `/api/stats`.

mod common;

use common::interop::*;
use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One LiteLLM callback setup and what it can carry.
struct Setup {
    mode: &'static str,
    /// The venv: `langfuse` needs langfuse 4.x, the others the OTel packages.
    langfuse4: bool,
    /// The model key of the OpenAI chat call in `/api/stats` (the response model when sent).
    openai_model: &'static str,
    /// Kind of the embedding span.
    embedding_kind: &'static str,
    /// Whether the streamed call carries a time to first token.
    stream_ttft: bool,
    user: bool,
    session: bool,
}

const SETUPS: &[Setup] = &[
    Setup {
        mode: "otel",
        langfuse4: false,
        openai_model: "gpt-4o-2024-08-06",
        embedding_kind: "embedding",
        stream_ttft: false,
        user: true,
        session: false,
    },
    Setup {
        mode: "otel-semconv",
        langfuse4: false,
        openai_model: "gpt-4o-2024-08-06",
        embedding_kind: "embedding",
        stream_ttft: false,
        user: true,
        session: false,
    },
    Setup {
        mode: "otel-v2",
        langfuse4: false,
        openai_model: "gpt-4o-2024-08-06",
        embedding_kind: "embedding",
        stream_ttft: true,
        user: false,
        session: true,
    },
    Setup {
        mode: "langfuse_otel",
        langfuse4: false,
        openai_model: "gpt-4o",
        embedding_kind: "embedding",
        stream_ttft: true,
        user: true,
        session: true,
    },
    Setup {
        mode: "langfuse",
        langfuse4: true,
        openai_model: "gpt-4o",
        embedding_kind: "llm",
        stream_ttft: true,
        user: true,
        session: true,
    },
];

fn litellm_python(langfuse4: bool) -> Option<PathBuf> {
    if langfuse4 {
        venv_python(
            "LLMTRACE_LITELLM_LANGFUSE4_PYTHON",
            ".venv-litellm-langfuse4",
        )
    } else {
        venv_python("LLMTRACE_LITELLM_PYTHON", ".venv-litellm")
    }
}

/// Every span of the project's traces (polls until `spans` spans are stored, at most 30 s).
fn all_spans(server: &Server, keys: &Keys, spans: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, list) = get_json(server, keys, "/api/traces?limit=100");
        assert_eq!(code, 200, "{list}");
        let ids: Vec<String> = list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_string())
            .collect();
        let mut out = Vec::new();
        for id in &ids {
            let (_, d) = get_json(server, keys, &format!("/api/traces/{id}"));
            out.extend(d["spans"].as_array().cloned().unwrap_or_default());
        }
        if out.len() >= spans {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "expected {spans} spans, found {}: {out:#?}",
            out.len()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn run_setup(setup: &Setup, python: &std::path::Path) {
    let mode = setup.mode;
    // The mock provider is stdlib-only: the LiteLLM venv's Python runs it too.
    let mock = Mock::start(python);
    let dir = tempfile::tempdir().unwrap();
    let keys = create_project(dir.path(), "litellm");
    let server = Server::start(dir.path());
    let out = run_driver(
        python,
        "litellm_sdk.py",
        &[mode, &mock.url, &server.http, &keys.public, &keys.secret],
        &[],
    );
    let cost_of = |name: &str| -> f64 {
        out.json["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["litellm_cost"].as_f64())
            .unwrap_or_else(|| panic!("{mode}: no LiteLLM cost for {name}: {}", out.json))
    };
    // The legacy `otel` and `langfuse_otel` callbacks add a raw request child to each
    // successful call.
    let raw_children = matches!(mode, "otel" | "langfuse_otel");
    let spans = all_spans(&server, &keys, if raw_children { 9 } else { 5 });
    let calls: Vec<&Value> = spans
        .iter()
        .filter(|s| s["kind"] == "llm" || s["kind"] == "embedding")
        .collect();
    assert_eq!(calls.len(), 5, "{mode}: {spans:#?}");

    // Per-model statistics: the mock's truth, LiteLLM's cost.
    let (code, stats) = get_json(&server, &keys, "/api/stats?group_by=model");
    assert_eq!(code, 200, "{stats}");
    let group = |model: &str| -> &Value {
        stats["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == model)
            .unwrap_or_else(|| panic!("{mode}: no stats group {model}: {stats:#}"))
    };
    let row = |g: &Value| -> [u64; 6] {
        [
            "calls",
            "errors",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
        ]
        .map(|k| g[k].as_u64().unwrap_or(u64::MAX))
    };
    let close = |a: &Value, b: f64, what: &str| {
        let a = a.as_f64().unwrap_or(f64::NAN);
        assert!(
            (a - b).abs() < 1e-12,
            "{mode} {what}: {a} vs LiteLLM's {b}: {stats:#}"
        );
    };
    let claude = group("claude-sonnet-4-6");
    assert_eq!(row(claude), [2, 0, 320, 65, 60, 20], "{mode}: {claude:#}");
    close(
        &claude["cost_usd"],
        cost_of("plain") + cost_of("stream"),
        "Anthropic cost",
    );
    let gpt = group(setup.openai_model);
    assert_eq!(row(gpt), [1, 0, 90, 25, 40, 0], "{mode}: {gpt:#}");
    close(&gpt["cost_usd"], cost_of("openai"), "OpenAI cost");
    let emb = group("text-embedding-3-small");
    assert_eq!(row(emb)[..3], [1, 0, 16], "{mode}: {emb:#}");
    close(&emb["cost_usd"], cost_of("embedding"), "embedding cost");
    let fail = group("claude-fail-1");
    assert_eq!(row(fail)[..2], [1, 1], "{mode}: {fail:#}");
    assert_eq!(
        fail["unpriced_calls"], 0,
        "{mode}: a failed call has nothing to price"
    );
    let (_, unpriced) = get_json(&server, &keys, "/api/prices/unpriced");
    assert!(
        !unpriced.to_string().contains("claude-fail-1"),
        "{mode}: the failed call raised the unpriced alarm: {unpriced}"
    );

    // Kinds, providers, user, session and the time to first token, span by span.
    for c in &calls {
        let model = c["response_model"]
            .as_str()
            .or(c["request_model"].as_str())
            .unwrap_or("");
        let what = format!("{mode} {model} {}", c["name"]);
        let (kind, provider) = match model {
            "text-embedding-3-small" => (setup.embedding_kind, Some("openai")),
            m if m.starts_with("gpt-4o") => ("llm", Some("openai")),
            "claude-fail-1" if mode == "langfuse" => ("llm", None),
            _ => ("llm", Some("anthropic")),
        };
        assert_eq!(c["kind"], kind, "{what}: {c:#}");
        assert_eq!(c["provider"].as_str(), provider, "{what}: {c:#}");
        let user = c["user_id"].as_str();
        assert_eq!(user.is_some(), setup.user, "{what}: {c:#}");
        if setup.user {
            assert_eq!(user, Some("user-litellm-1"), "{what}");
        }
        let session = c["session_id"].as_str();
        assert_eq!(session.is_some(), setup.session, "{what}: {c:#}");
        if setup.session {
            assert_eq!(session, Some("sess-litellm-1"), "{what}");
        }
        let streamed = c["output_tokens"] == 20;
        assert_eq!(
            c["time_to_first_token_ms"].is_number(),
            streamed && setup.stream_ttft,
            "{what}: a time to first token on the streamed call only: {c:#}"
        );
        if model == "claude-fail-1" {
            assert_eq!(c["status"], "error", "{what}: {c:#}");
            assert_eq!(c["unpriced"], false, "{what}: {c:#}");
        }
    }
    assert_metrics_match_stats(&server, &keys);
    server.stop();
}

#[test]
fn litellm_otel_callbacks_give_the_bill_the_errors_and_the_kinds() {
    let Some(python) = litellm_python(false) else {
        return;
    };
    for setup in SETUPS.iter().filter(|s| !s.langfuse4) {
        run_setup(setup, &python);
    }
}

#[test]
fn litellm_langfuse_callback_gives_the_bill_the_errors_and_the_kinds() {
    let Some(python) = litellm_python(true) else {
        return;
    };
    for setup in SETUPS.iter().filter(|s| s.langfuse4) {
        run_setup(setup, &python);
    }
}
