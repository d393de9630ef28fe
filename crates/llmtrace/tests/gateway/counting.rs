//! A call seen twice, by the gateway and by the app's own instrumentation (same provider
//! response id, in the same trace through `traceparent`), counts once, with the usage the
//! gateway read on the wire.

use crate::common::*;
use crate::echo::Echo;
use crate::support::curl;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TRACE: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
const APP_SPAN: &str = "a1a1a1a1a1a1a1a1";
const INSTRUMENTATION_SPAN: &str = "b2b2b2b2b2b2b2b2";

#[test]
fn a_call_also_instrumented_by_the_app_counts_once_with_the_gateway_usage() {
    let echo = Echo::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_logged(
        &dir.path().join("data"),
        dir.path(),
        &[
            "--gateway",
            "--gateway-upstream",
            &format!("openai={}", echo.url),
        ],
    );
    // The app's call through the gateway, inside its span APP_SPAN.
    let (status, _, body) = curl(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-H",
        &format!("traceparent: 00-{TRACE}-{APP_SPAN}-01"),
        "-d",
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#,
        &format!("{}/gateway/openai/v1/chat/completions", server.http),
    ]);
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    let response_id = answer["id"].as_str().unwrap().to_string();
    // The app's own spans: its root and an instrumentation's span of the same call, whose usage
    // (reconstructed, say) disagrees with the provider's.
    let ns = now_ns();
    let span = |id: &str, parent: Option<&str>, name: &str, attrs: Value| {
        let mut s = json!({"traceId": TRACE, "spanId": id, "name": name, "kind": 3,
            "startTimeUnixNano": (ns - 2_000_000).to_string(),
            "endTimeUnixNano": ns.to_string(), "attributes": attrs});
        if let Some(p) = parent {
            s["parentSpanId"] = json!(p);
        }
        s
    };
    let kv = |k: &str, v: Value| match v {
        Value::String(s) => json!({"key": k, "value": {"stringValue": s}}),
        other => json!({"key": k, "value": {"intValue": other.to_string()}}),
    };
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [kv("service.name", json!("app"))]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai"}, "spans": [
            span(APP_SPAN, None, "handle request", json!([])),
            span(INSTRUMENTATION_SPAN, Some(APP_SPAN), "openai.chat", json!([
                kv("gen_ai.system", json!("openai")),
                kv("gen_ai.operation.name", json!("chat")),
                kv("gen_ai.request.model", json!("gpt-4o")),
                kv("gen_ai.response.id", json!(response_id)),
                kv("gen_ai.usage.input_tokens", json!(50)),
                kv("gen_ai.usage.output_tokens", json!(20)),
            ])),
        ]}],
    }]});
    let (status, _, _) = curl(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        &body.to_string(),
        &format!("{}/v1/traces", server.http),
    ]);
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let (status, d) = server.get_json(&format!("/api/traces/{TRACE}"));
        if status == 200 && d["spans"].as_array().is_some_and(|s| s.len() == 3) {
            break d;
        }
        assert!(Instant::now() < deadline, "3 spans expected: {d:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let t = &trace["trace"];
    assert_eq!(t["llm_call_count"], 1, "{t:#}");
    // The echo upstream's usage object says 3 in, 1 out: the gateway's copy supplies it.
    assert_eq!(t["input_tokens"], 3, "{t:#}");
    assert_eq!(t["output_tokens"], 1, "{t:#}");
    let gateway = trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scope_name"] == "llmtrace.gateway")
        .expect("the gateway span");
    assert_eq!(gateway["parent_span_id"], APP_SPAN);
    server.stop();
}
