//! Gateway mode end to end: `llmtrace serve --gateway` with both built-in upstreams pointed at
//! the mock provider (`tests/interop/mock_provider.py`) and one extra upstream (`echo`, a raw
//! TCP listener of this test, mounted under a base path) that records what the gateway forwards.
//!
//! The real `anthropic` and `openai` Python SDKs (`tests/interop/gateway_sdk.py`) make every kind
//! of call once directly against the mock and once through the gateway and compare the results
//! (ids aside): plain, streamed and tool-calling Anthropic messages, OpenAI chat completions
//! (plain, streamed with `include_usage`, tool call), Responses, embeddings, and one failing call
//! per provider (HTTP 400 passed through). One more call carries the W3C `traceparent` of an app
//! span exported to the same server.
//!
//! The test then checks through the API, scenario by scenario (each gateway call names its
//! scenario as session id): exactly one gateway span per call, with its name, scope, kind,
//! provider, models, tokens on the llmtrace convention, cost, service/session/user from the
//! `X-Llmtrace-*` headers, status, time to first token (streamed calls only), captured messages
//! and the provider's response id; the traceparent call's span is a child of the app span in the
//! app's trace; a plain `curl` call without `X-Llmtrace-*` headers lands in service
//! `llmtrace-gateway` and answers the mock's JSON body (`id` and `created` aside); the echo
//! upstream sees method, base path + rest of path, query, body and the provider key unchanged and
//! no `X-Llmtrace-*` header; and the provider key appears nowhere: not in any API answer, not in
//! the SQLite files (raw bytes, and every cell with zstd-compressed blobs decoded), not in the
//! server's debug log.

#[path = "../common/mod.rs"]
mod common;
mod counting;
mod echo;
mod keys_and_failures;
mod secrets;
mod support;

use common::interop::*;
use common::*;
use echo::*;
use secrets::*;
use serde_json::{json, Value};
use std::process::Command;
use support::*;

/// One request sent through the gateway to the echo upstream.
struct EchoCase<'a> {
    method: &'a str,
    /// Path and query after `/gateway/echo`.
    rest: &'a str,
    /// Request headers (`X-Llmtrace-*` ones are added).
    headers: Vec<&'a str>,
    body: &'a str,
    /// The header carrying the provider key as the upstream must see it, and its value.
    key_header: (&'a str, String),
}

// ---------------------------------------------------------------------------------------------
// What each gateway call must look like in the API.

/// One gateway call of the driver, as the API must show it.
struct Call {
    /// Scenario name = session id.
    scenario: &'static str,
    provider: &'static str,
    /// `gen_ai.operation.name`; the span is named `"{operation} {request_model}"`.
    operation: &'static str,
    /// llmtrace span kind.
    kind: &'static str,
    request_model: &'static str,
    /// `None` for a failed call (no answer names a model).
    response_model: Option<&'static str>,
    /// [input (cache included), output, cache read, cache write]; `None`: a failed call.
    tokens: Option<[u64; 4]>,
    streamed: bool,
    /// A chat call: its input messages contain `input_text`, its output messages (unless it
    /// failed) contain `output_text` or, for a tool call, a `tool_call` part naming `tool`.
    input_text: Option<&'static str>,
    output_text: Option<&'static str>,
    tool: Option<&'static str>,
}

/// Anthropic per call: 120 raw + 30 cache read + 10 cache write = 160 in, 45 out.
const ANTHROPIC: [u64; 4] = [160, 45, 30, 10];
/// OpenAI chat and Responses per call: 90 in (40 of them cached), 25 out.
const OPENAI: [u64; 4] = [90, 25, 40, 0];

const fn chat(
    scenario: &'static str,
    provider: &'static str,
    request_model: &'static str,
    response_model: &'static str,
    tokens: [u64; 4],
) -> Call {
    Call {
        scenario,
        provider,
        operation: "chat",
        kind: "llm",
        request_model,
        response_model: Some(response_model),
        tokens: Some(tokens),
        streamed: false,
        input_text: Some(QUESTION),
        output_text: None,
        tool: None,
    }
}

fn calls() -> Vec<Call> {
    let claude = "claude-sonnet-4-6";
    let (gpt, gpt_answer) = ("gpt-4o", "gpt-4o-2024-08-06");
    let failed = |scenario, provider, model| Call {
        response_model: None,
        tokens: None,
        ..chat(scenario, provider, model, "", [0; 4])
    };
    vec![
        Call {
            output_text: Some("Paris is the capital of France."),
            ..chat("anthropic-plain", "anthropic", claude, claude, ANTHROPIC)
        },
        Call {
            streamed: true,
            input_text: Some("And briefly?"),
            output_text: Some("Paris is the capital."),
            ..chat(
                "anthropic-stream",
                "anthropic",
                claude,
                claude,
                [160, 20, 30, 10],
            )
        },
        Call {
            input_text: Some("What is the weather in the capital of France?"),
            tool: Some("get_weather"),
            ..chat("anthropic-tool", "anthropic", claude, claude, ANTHROPIC)
        },
        failed("anthropic-fail", "anthropic", "claude-fail"),
        Call {
            output_text: Some("Paris."),
            ..chat("openai-chat", "openai", gpt, gpt_answer, OPENAI)
        },
        Call {
            streamed: true,
            input_text: Some("And briefly?"),
            output_text: Some("Paris is the capital."),
            ..chat("openai-stream", "openai", gpt, gpt_answer, OPENAI)
        },
        Call {
            tool: Some("capital_of"),
            ..chat("openai-tool", "openai", gpt, gpt_answer, OPENAI)
        },
        Call {
            output_text: Some("Paris is the capital of France."),
            ..chat("openai-responses", "openai", gpt, gpt_answer, OPENAI)
        },
        Call {
            operation: "embeddings",
            kind: "embedding",
            input_text: None,
            // 8 tokens per input string, two strings.
            ..chat(
                "openai-embeddings",
                "openai",
                "text-embedding-3-small",
                "text-embedding-3-small",
                [16, 0, 0, 0],
            )
        },
        failed("openai-fail", "openai", "gpt-fail"),
    ]
}

/// Asserts a span's tokens; a count expected to be 0 other than input may be absent (the API
/// did not report it).
fn assert_span_tokens(s: &Value, what: &str, expected: [u64; 4]) {
    let keys = [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    ];
    for (i, k) in keys.iter().enumerate() {
        let ok =
            s[k].as_u64() == Some(expected[i]) || (i > 0 && expected[i] == 0 && s[k].is_null());
        assert!(
            ok,
            "{what}: {k} is {}, expected {} ([input, output, cache read, cache write] = \
             {expected:?}): {s:#}",
            s[k], expected[i]
        );
    }
}

/// Asserts the gateway span of `call` (service, session and user as the driver's headers set
/// them) and its trace summary `t` (the span's trace holds no other call).
fn check_call(call: &Call, s: &Value, t: &Value, response_id: &Value) {
    let what = call.scenario;
    let name = format!("{} {}", call.operation, call.request_model);
    assert_eq!(s["name"], name, "{what}: span name: {s:#}");
    assert_eq!(s["scope_name"], SCOPE, "{what}: {s:#}");
    assert_eq!(s["otel_span_kind"], "client", "{what}: {s:#}");
    assert_eq!(s["kind"], call.kind, "{what}: {s:#}");
    assert_eq!(s["operation"], call.operation, "{what}: {s:#}");
    assert_eq!(s["provider"], call.provider, "{what}: {s:#}");
    assert_eq!(s["request_model"], call.request_model, "{what}: {s:#}");
    assert_eq!(
        s["response_model"],
        json!(call.response_model),
        "{what}: {s:#}"
    );
    assert_eq!(s["service"], "gateway-app", "{what}: X-Llmtrace-Service");
    assert_eq!(s["session_id"], what, "{what}: X-Llmtrace-Session-Id");
    assert_eq!(s["user_id"], "gateway-user", "{what}: X-Llmtrace-User-Id");
    assert_eq!(s["incomplete"], false, "{what}: {s:#}");
    assert_eq!(s["usage_counted"], true, "{what}: {s:#}");
    assert_eq!(t["llm_call_count"], 1, "{what}: one call: {t:#}");
    if let Some(id) = response_id.as_str() {
        assert_eq!(
            s["attributes"]["gen_ai.response.id"], id,
            "{what}: the provider's response id: {s:#}"
        );
    }
    match call.tokens {
        Some(tokens) => {
            assert_ne!(s["status"], "error", "{what}: {s:#}");
            assert_eq!(t["error_count"], 0, "{what}: {t:#}");
            assert_span_tokens(s, what, tokens);
            assert_tokens(t, &format!("{what}: trace totals"), tokens);
            let cost = s["cost_usd"].as_f64().unwrap_or(0.0);
            assert!(cost > 0.0, "{what}: a priced model costs: {s:#}");
            assert_eq!(s["unpriced"], false, "{what}: {s:#}");
            assert!(
                t["cost_usd"].as_f64().unwrap_or(0.0) > 0.0,
                "{what}: trace cost: {t:#}"
            );
        }
        None => {
            assert_eq!(s["status"], "error", "{what}: a failed call: {s:#}");
            assert_eq!(t["failed_call_count"], 1, "{what}: {t:#}");
            assert!(t["error_count"].as_u64().unwrap_or(0) >= 1, "{what}: {t:#}");
            for k in ["input_tokens", "output_tokens"] {
                assert_eq!(
                    s[k].as_u64().unwrap_or(0),
                    0,
                    "{what}: no usage on a failed call: {s:#}"
                );
            }
        }
    }
    let ttft = &s["time_to_first_token_ms"];
    if call.streamed {
        assert!(
            ttft.as_f64().is_some_and(|ms| ms >= 0.0),
            "{what}: a streamed call has a time to first token: {s:#}"
        );
    } else {
        assert!(
            ttft.is_null(),
            "{what}: time to first token only on streamed calls: {s:#}"
        );
    }
    if let Some(text) = call.input_text {
        let input = &s["input_messages"];
        assert!(
            input.as_array().is_some_and(|m| !m.is_empty()) && input.to_string().contains(text),
            "{what}: the input messages hold {text:?}: {s:#}"
        );
    }
    if call.tokens.is_some() && call.input_text.is_some() {
        let output = &s["output_messages"];
        assert!(
            output.as_array().is_some_and(|m| !m.is_empty()),
            "{what}: output messages: {s:#}"
        );
        if let Some(text) = call.output_text {
            assert!(
                output.to_string().contains(text),
                "{what}: the output messages hold {text:?}: {s:#}"
            );
        }
        if let Some(tool) = call.tool {
            let parts: Vec<Value> = output
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|m| m["parts"].as_array().cloned().unwrap_or_default())
                .collect();
            assert!(
                parts
                    .iter()
                    .any(|p| p["type"] == "tool_call" && p["name"] == tool),
                "{what}: a tool_call part naming {tool}: {s:#}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------

#[test]
fn gateway_proxies_sdk_calls_unchanged_and_records_one_span_each() {
    let Some(python) = python() else { return };
    let decode_zstd = tools_available(&["zstd"]);
    let mock = Mock::start(&python);
    let echo = Echo::start();
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = format!("sk-gw-secret-{:016x}", now_ns() ^ 0x5eed_5eed_5eed_5eed);
    let server = Server::start_logged(
        &data,
        logs.path(),
        &[
            "--gateway",
            "--gateway-upstream",
            &format!("anthropic={}", mock.url),
            "--gateway-upstream",
            &format!("openai={}", mock.url),
            "--gateway-upstream",
            &format!("echo={}/prefix", echo.url),
        ],
    );

    // 1. The SDKs, directly and through the gateway (the driver compares the results).
    let out = run_driver(
        &python,
        "gateway_sdk.py",
        &[],
        &[
            ("MOCK_URL", mock.url.as_str()),
            ("GATEWAY_URL", server.http.as_str()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", server.http.as_str()),
            ("PROVIDER_KEY", key.as_str()),
        ],
    );
    let sent = &out.json;
    let scenarios = &sent["scenarios"];

    // 2. One gateway span per call, each in a trace of its own.
    let table = calls();
    for call in &table {
        let ids = traces_where(&server, &format!("session_id={}", call.scenario), 1);
        let d = trace_with(&server, &ids[0], 1);
        let s = &d["spans"][0];
        assert_eq!(
            s["parent_span_id"],
            Value::Null,
            "{}: no traceparent, so a root span: {s:#}",
            call.scenario
        );
        assert_eq!(d["trace"]["has_root"], true, "{}", call.scenario);
        assert_eq!(d["trace"]["root_name"], s["name"], "{}", call.scenario);
        assert_eq!(d["trace"]["service"], "gateway-app", "{}", call.scenario);
        check_call(
            call,
            s,
            &d["trace"],
            &scenarios[call.scenario]["response_id"],
        );
    }

    // 3. traceparent: the gateway span is a child of the app span, in the app's trace.
    let app_trace = sent["app_trace_id"].as_str().unwrap();
    let app_span = sent["app_span_id"].as_str().unwrap();
    assert_eq!(
        traces_where(&server, "session_id=traceparent", 1),
        vec![app_trace.to_string()],
        "the traceparent call is in the app's trace"
    );
    let d = trace_with(&server, app_trace, 2);
    let app = span(&d, "app.request");
    assert_eq!(app["span_id"], app_span, "{app:#}");
    assert_eq!(app["parent_span_id"], Value::Null, "{app:#}");
    assert_eq!(app["service"], "gateway-driver", "{app:#}");
    let gw = span(&d, "chat claude-sonnet-4-6");
    assert_eq!(
        gw["parent_span_id"], app_span,
        "the traceparent's span is the gateway span's parent: {gw:#}"
    );
    assert_eq!(d["trace"]["root_name"], "app.request", "{:#}", d["trace"]);
    let traceparent_call = Call {
        scenario: "traceparent",
        output_text: Some("Paris is the capital of France."),
        ..chat(
            "traceparent",
            "anthropic",
            "claude-sonnet-4-6",
            "claude-sonnet-4-6",
            ANTHROPIC,
        )
    };
    check_call(
        &traceparent_call,
        gw,
        &d["trace"],
        &scenarios["traceparent"]["response_id"],
    );

    // 4. A plain curl call without X-Llmtrace-* headers: the mock's body unchanged (ids
    // aside), a span in service llmtrace-gateway without session or user.
    let body =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}]}).to_string();
    let post = |url: String| {
        curl(&[
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-H",
            &format!("Authorization: Bearer {key}"),
            "--data-binary",
            &body,
            &url,
        ])
    };
    let (direct_status, direct_headers, direct_body) =
        post(format!("{}/v1/chat/completions", mock.url));
    let (gw_status, gw_headers, gw_body) = post(format!(
        "{}/gateway/openai/v1/chat/completions",
        server.http
    ));
    assert_eq!((direct_status, gw_status), (200, 200));
    assert_eq!(
        header(&gw_headers, "content-type"),
        header(&direct_headers, "content-type"),
        "{gw_headers:?}"
    );
    assert_eq!(
        without_ids(&gw_body),
        without_ids(&direct_body),
        "the gateway answers what the mock answers"
    );
    let ids = traces_where(&server, "service=llmtrace-gateway", 1);
    let d = trace_with(&server, &ids[0], 1);
    let s = &d["spans"][0];
    assert_eq!(s["name"], "chat gpt-4o", "{s:#}");
    assert_eq!(s["scope_name"], SCOPE, "{s:#}");
    assert_eq!(
        s["service"], "llmtrace-gateway",
        "the default service: {s:#}"
    );
    assert_eq!(s["session_id"], Value::Null, "{s:#}");
    assert_eq!(s["user_id"], Value::Null, "{s:#}");
    assert_eq!(s["parent_span_id"], Value::Null, "{s:#}");
    assert_span_tokens(s, "curl call", OPENAI);
    assert_eq!(
        s["attributes"]["gen_ai.response.id"],
        serde_json::from_slice::<Value>(&gw_body).unwrap()["id"],
        "{s:#}"
    );

    // 5. The echo upstream (an added upstream under a base path): method, path, query, body,
    // provider headers and the key forwarded; X-Llmtrace-* stripped; the answer unchanged.
    let openai_body =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let anthropic_body = json!({"model": "claude-sonnet-4-6", "max_tokens": 10,
                                "messages": [{"role": "user", "content": "hi"}]})
    .to_string();
    let llmtrace_headers = |session: &str| {
        [
            format!("X-Llmtrace-Session-Id: {session}"),
            "X-Llmtrace-User-Id: gateway-user".to_string(),
            "X-Llmtrace-Service: gateway-app".to_string(),
        ]
    };
    let bearer = format!("Authorization: Bearer {key}");
    let api_key = format!("x-api-key: {key}");
    let cases = [
        EchoCase {
            method: "POST",
            rest: "/v1/chat/completions?api-version=2024-06-01",
            headers: vec![&bearer, "content-type: application/json", "X-Custom: kept"],
            body: &openai_body,
            key_header: ("authorization", format!("Bearer {key}")),
        },
        EchoCase {
            method: "POST",
            rest: "/v1/messages",
            headers: vec![
                &api_key,
                "anthropic-version: 2023-06-01",
                "content-type: application/json",
                "X-Custom: kept",
            ],
            body: &anthropic_body,
            key_header: ("x-api-key", key.clone()),
        },
        EchoCase {
            method: "GET",
            rest: "/v1/models?limit=2",
            headers: vec![&bearer, "X-Custom: kept"],
            body: "",
            key_header: ("authorization", format!("Bearer {key}")),
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        let EchoCase {
            method,
            rest,
            headers,
            body,
            key_header: (key_header, key_value),
        } = case;
        let mut args: Vec<String> = vec!["-X".into(), method.to_string()];
        for h in headers
            .iter()
            .map(|h| h.to_string())
            .chain(llmtrace_headers(&format!("echo-{i}")))
        {
            args.extend(["-H".into(), h]);
        }
        if !body.is_empty() {
            args.extend(["--data-binary".into(), body.to_string()]);
        }
        args.push(format!("{}/gateway/echo{rest}", server.http));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, answer_headers, answer) = curl(&args);
        assert_eq!(status, 200, "echo {method} {rest}: {answer_headers:?}");
        assert_eq!(
            header(&answer_headers, "x-echo"),
            Some("yes"),
            "echo {method} {rest}: the upstream's headers come back: {answer_headers:?}"
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&answer).ok(),
            Some(echo_answer(rest)),
            "echo {method} {rest}: the upstream's body comes back"
        );
        let seen = echo.take();
        assert_eq!(
            seen.len(),
            1,
            "echo {method} {rest}: one request: {seen:#?}"
        );
        let f = &seen[0];
        assert_eq!(f.method, *method, "{f:#?}");
        assert_eq!(f.target, format!("/prefix{rest}"), "URL/{{rest}}: {f:#?}");
        assert_eq!(f.body, body.as_bytes(), "echo {method} {rest}: the body");
        assert_eq!(
            header(&f.headers, key_header),
            Some(key_value.as_str()),
            "echo {method} {rest}: the provider key is forwarded: {f:#?}"
        );
        assert_eq!(header(&f.headers, "x-custom"), Some("kept"), "{f:#?}");
        if *key_header == "x-api-key" {
            assert_eq!(
                header(&f.headers, "anthropic-version"),
                Some("2023-06-01"),
                "{f:#?}"
            );
        }
        let leaked: Vec<&(String, String)> = f
            .headers
            .iter()
            .filter(|(k, _)| k.starts_with("x-llmtrace-"))
            .collect();
        assert!(
            leaked.is_empty(),
            "echo {method} {rest}: X-Llmtrace-* headers are stripped: {leaked:?}"
        );
    }

    // 6. Exactly one gateway span per call over the whole server: the driver's 11 calls (the
    // traceparent trace also holds app.request) and the curl call. The echo upstream's calls
    // (sessions echo-*) are left out: whether an added upstream's calls are recorded is not
    // part of this test.
    let all = api(&server, "/api/traces?limit=500");
    let mine: Vec<&Value> = all["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            !t["session_id"]
                .as_str()
                .is_some_and(|s| s.starts_with("echo-"))
        })
        .collect();
    let spans: u64 = mine.iter().map(|t| t["span_count"].as_u64().unwrap()).sum();
    let calls_counted: u64 = mine
        .iter()
        .map(|t| t["llm_call_count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        (mine.len(), spans, calls_counted),
        (
            table.len() + 2,
            table.len() as u64 + 3,
            table.len() as u64 + 2
        ),
        "(traces, spans, calls): one trace per call, app.request beside the traceparent call: \
         {all:#}"
    );

    // 7. The provider key appears nowhere: API answers, the server's log, the SQLite files.
    let mut answers = vec![all.to_string(), metrics_text_keyless(&server)];
    for t in all["traces"].as_array().unwrap() {
        let id = t["trace_id"].as_str().unwrap();
        answers.push(api(&server, &format!("/api/traces/{id}")).to_string());
    }
    for (i, a) in answers.iter().enumerate() {
        assert!(
            !a.contains(&key),
            "API answer {i} shows the provider key: {a}"
        );
    }
    server.stop();
    for name in ["server.err", "server.out"] {
        let log = std::fs::read(logs.path().join(name)).unwrap();
        assert!(
            !contains(&log, &key),
            "{name} (LLMTRACE_LOG=debug) shows the provider key:\n{}",
            String::from_utf8_lossy(&log)
        );
    }
    let err_log = std::fs::read(logs.path().join("server.err")).unwrap();
    assert!(!err_log.is_empty(), "LLMTRACE_LOG=debug logged nothing");
    let db = data.join("llmtrace.db");
    assert!(db.exists(), "no {}", db.display());
    let files = files_under(&data);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !contains(&bytes, &key),
            "{} holds the provider key",
            f.display()
        );
    }
    let cells = assert_no_cell_holds(&db, &key, decode_zstd);
    assert!(cells > 0, "no cell read from {}", db.display());
    drop(mock);
}

/// The server's `/metrics` text (keyless loopback server).
fn metrics_text_keyless(server: &Server) -> String {
    let out = Command::new("curl")
        .args(["-s", "-m", "10"])
        .arg(format!("{}/metrics", server.http))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).to_string()
}
