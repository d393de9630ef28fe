//! LangSmith endpoints end to end: `/info`, multipart (plain and zstd), batch, single post and
//! patch, the OTel path, and the errors a client can cause. Payloads follow what langsmith-py
//! 0.15.1 sends (see the wire notes).

mod common;

use common::*;
use prost::Message;
use serde_json::{json, Value};

const ROOT: &str = "01a213b5-3f2a-7953-adfc-36650a1daf2d";
const RETRIEVE: &str = "01a213b5-3f33-793c-80be-70c7d82c2a38";
const TOOL: &str = "01a213b5-3f33-712a-b33d-0066ef6dffe0";
const LLM: &str = "01a213b5-3f34-7b71-bb8b-b0969c5c3d5f";
const BOUNDARY: &str = "24825503b20949f2a7382f4a0d2c8cb2";
const KEY: &str = "lsv2_pt_acme";

fn keys() -> Vec<llmtrace_server::ApiKey> {
    vec![llmtrace_server::ApiKey::new("acme", "pk-acme", KEY)]
}

fn hex(uuid: &str) -> String {
    uuid.replace('-', "")
}

/// The span id llmtrace gives a run: the UUID's halves XORed.
fn span_id(uuid: &str) -> String {
    let b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex(uuid)[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    (0..8).map(|i| format!("{:02x}", b[i] ^ b[i + 8])).collect()
}

fn multipart(parts: &[(String, Value)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, v) in parts {
        let data = v.to_string();
        b.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                data.len()
            )
            .as_bytes(),
        );
        b.extend_from_slice(data.as_bytes());
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn usage_metadata() -> Value {
    json!({"input_tokens": 160, "output_tokens": 45, "total_tokens": 205,
        "input_token_details": {"cache_read": 30, "ephemeral_5m_input_tokens": 10}})
}

fn extra(meta: Value) -> Value {
    json!({"metadata": meta, "runtime": {"sdk": "langsmith-py", "sdk_version": "0.15.1", "runtime": "python"}})
}

fn run(id: &str, name: &str, run_type: &str, start_ms: u64) -> Value {
    let start = format!("2026-01-01T00:00:00.{:03}000+00:00", start_ms);
    let stamp = |ms: u64| format!("20260101T000000{:03}000Z", ms);
    let dotted = if id == ROOT {
        format!("{}{ROOT}", stamp(0))
    } else {
        format!("{}{ROOT}.{}{id}", stamp(0), stamp(start_ms))
    };
    let mut r = json!({"id": id, "trace_id": ROOT, "dotted_order": dotted, "name": name,
        "run_type": run_type, "start_time": start, "tags": ["prod"], "session_name": "ls-app"});
    if id != ROOT {
        r["parent_run_id"] = json!(ROOT);
    }
    r
}

fn end(mut r: Value, end_ms: u64) -> Value {
    r["end_time"] = json!(format!("2026-01-01T00:00:00.{:03}000+00:00", end_ms));
    r
}

fn posts() -> Vec<(String, Value)> {
    let meta = json!({"user_id": "u-1", "thread_id": "th-9"});
    let llm_meta = json!({"user_id": "u-1", "thread_id": "th-9", "ls_provider": "anthropic",
        "ls_model_name": "claude-sonnet-4-6"});
    vec![
        (format!("post.{ROOT}"), run(ROOT, "rag_query", "chain", 0)),
        (
            format!("post.{ROOT}.inputs"),
            json!({"q": "capital of France?"}),
        ),
        (format!("post.{ROOT}.extra"), extra(meta.clone())),
        (
            format!("post.{RETRIEVE}"),
            run(RETRIEVE, "retrieve", "retriever", 10),
        ),
        (format!("post.{RETRIEVE}.extra"), extra(meta.clone())),
        (
            format!("post.{TOOL}"),
            run(TOOL, "failing_tool", "tool", 120),
        ),
        (format!("post.{TOOL}.extra"), extra(meta)),
        (format!("post.{LLM}"), run(LLM, "call_llm", "llm", 300)),
        (
            format!("post.{LLM}.inputs"),
            json!({"model": "claude-sonnet-4-6",
            "messages": [{"role": "user", "content": "capital of France?"}]}),
        ),
        (format!("post.{LLM}.extra"), extra(llm_meta)),
    ]
}

fn patches(with_llm: bool) -> Vec<(String, Value)> {
    let mut p = vec![
        (
            format!("patch.{RETRIEVE}"),
            end(run(RETRIEVE, "retrieve", "retriever", 10), 110),
        ),
        (
            format!("patch.{RETRIEVE}.outputs"),
            json!({"output": [{"page_content": "Paris", "type": "Document"}]}),
        ),
        (
            format!("patch.{TOOL}"),
            end(run(TOOL, "failing_tool", "tool", 120), 170),
        ),
        (
            format!("patch.{TOOL}.error"),
            json!("ValueError('boom')\n\nTraceback (most recent call last):\nValueError: boom\n"),
        ),
        (
            format!("patch.{ROOT}"),
            end(run(ROOT, "rag_query", "chain", 0), 900),
        ),
        (
            format!("patch.{ROOT}.outputs"),
            json!({"role": "assistant", "content": "Paris.", "usage_metadata": usage_metadata()}),
        ),
    ];
    if with_llm {
        p.extend(llm_patch());
    }
    p
}

fn llm_patch() -> Vec<(String, Value)> {
    vec![
        (
            format!("patch.{LLM}"),
            end(run(LLM, "call_llm", "llm", 300), 800),
        ),
        (
            format!("patch.{LLM}.outputs"),
            json!({"id": "msg_1", "model": "claude-sonnet-4-6-20260101",
            "role": "assistant", "content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn",
            "usage_metadata": usage_metadata()}),
        ),
        (
            format!("patch.{LLM}.extra"),
            extra(json!({"user_id": "u-1", "thread_id": "th-9",
            "ls_provider": "anthropic", "ls_model_name": "claude-sonnet-4-6", "usage_metadata": usage_metadata()})),
        ),
    ]
}

async fn post_multipart(h: &Harness, body: Vec<u8>, zstd: bool) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(h.url("/runs/multipart"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("x-api-key", KEY);
    let body = if zstd {
        req = req.header("content-encoding", "zstd");
        zstd::stream::encode_all(&body[..], 1).unwrap()
    } else {
        body
    };
    let r = req.body(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(h: &Harness, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(h.url(path))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn span<'a>(d: &'a Value, name: &str) -> &'a Value {
    d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name} in {d}"))
}

async fn keyed() -> Harness {
    Harness::start(Options {
        keys: keys(),
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_multipart_post_and_patch_show_the_tree() {
    let h = keyed().await;
    let mut parts = posts();
    parts.extend(patches(true));
    let (st, j) = post_multipart(&h, multipart(&parts), true).await;
    assert_eq!(st, 202, "{j}");
    assert_eq!(j["accepted"], 4);
    assert_eq!(j["unfinished"], 0);

    let (st, d) = get(&h, &format!("/api/traces/{}", hex(ROOT))).await;
    assert_eq!(st, 200, "{d}");
    let t = &d["trace"];
    assert_eq!(t["root_name"], "rag_query");
    assert_eq!(t["service"], "ls-app");
    assert_eq!(t["span_count"], 4);
    assert_eq!(t["llm_call_count"], 1);
    // Counted once: the root chain's aggregate usage is not added.
    assert_eq!(t["input_tokens"], 160);
    assert_eq!(t["output_tokens"], 45);
    assert_eq!(t["cache_read_tokens"], 30);
    assert_eq!(t["cache_write_tokens"], 10);
    assert_eq!(t["error_count"], 1);
    assert_eq!(t["user_id"], "u-1");
    assert_eq!(t["session_id"], "th-9");
    assert_eq!(t["duration_ms"], 900.0);

    let root = span(&d, "rag_query");
    assert_eq!(root["span_id"], span_id(ROOT));
    assert_eq!(root["parent_span_id"], Value::Null);
    assert_eq!(root["kind"], "chain");
    assert_eq!(root["attributes"]["langsmith.project"], "ls-app");
    assert_eq!(root["attributes"]["langsmith.run_id"], ROOT);
    let kinds: Vec<(&str, &str)> = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("rag_query", "chain"),
            ("retrieve", "retriever"),
            ("failing_tool", "tool"),
            ("call_llm", "llm")
        ]
    );
    for name in ["retrieve", "failing_tool", "call_llm"] {
        assert_eq!(span(&d, name)["parent_span_id"], span_id(ROOT), "{name}");
    }
    let tool = span(&d, "failing_tool");
    assert_eq!(tool["status"], "error");
    assert_eq!(tool["status_message"], "ValueError('boom')");
    assert_eq!(tool["error_type"], "ValueError");

    let llm = span(&d, "call_llm");
    assert_eq!(llm["span_id"], span_id(LLM));
    assert_eq!(llm["provider"], "anthropic");
    assert_eq!(llm["request_model"], "claude-sonnet-4-6");
    assert_eq!(llm["response_model"], "claude-sonnet-4-6-20260101");
    assert_eq!(llm["input_tokens"], 160);
    assert_eq!(llm["output_tokens"], 45);
    assert_eq!(llm["cache_read_tokens"], 30);
    assert_eq!(llm["cache_write_tokens"], 10);
    assert_eq!(llm["usage_counted"], true);
    assert_eq!(llm["duration_ms"], 500.0);
    assert_eq!(llm["input_messages"][0]["role"], "user");
    assert_eq!(llm["output_messages"][0]["parts"][0]["content"], "Paris.");
    assert!(llm["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{llm}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_multipart_with_an_unpatched_run_then_its_patch() {
    let h = keyed().await;
    // The LLM run is posted but not patched (wrap_anthropic streaming with anthropic 2.x).
    let mut parts = posts();
    parts.extend(patches(false));
    let (st, j) = post_multipart(&h, multipart(&parts), false).await;
    assert_eq!(st, 202, "{j}");
    assert_eq!(j["accepted"], 4);
    assert_eq!(j["unfinished"], 1);
    let (_, d) = get(&h, &format!("/api/traces/{}", hex(ROOT))).await;
    let llm = span(&d, "call_llm");
    let posted_inputs = llm["input_messages"].clone();
    assert_eq!(
        posted_inputs[0]["parts"][0]["content"], "capital of France?",
        "{llm:#}"
    );
    assert_eq!(llm["attributes"]["langsmith.unfinished"], true);
    assert_eq!(llm["status"], "unset");
    assert_eq!(llm["duration_ms"], 0.0);
    assert_eq!(llm["input_tokens"], Value::Null);
    assert_eq!(d["trace"]["input_tokens"], 0);

    // The patch arrives in a later request: it carries trace and start, so it replaces the
    // unfinished copy.
    let (st, j) = post_multipart(&h, multipart(&llm_patch()), false).await;
    assert_eq!(st, 202, "{j}");
    assert_eq!(j["accepted"], 1);
    let (_, d) = get(&h, &format!("/api/traces/{}", hex(ROOT))).await;
    assert_eq!(d["trace"]["span_count"], 4);
    let llm = span(&d, "call_llm");
    assert_eq!(llm["attributes"]["langsmith.unfinished"], Value::Null);
    assert_eq!(llm["status"], "ok");
    assert_eq!(llm["input_tokens"], 160);
    // The patch has no inputs; the post's are kept.
    assert_eq!(llm["input_messages"], posted_inputs, "{llm:#}");
    assert_eq!(llm["output_messages"][0]["role"], "assistant", "{llm:#}");
    assert_eq!(d["trace"]["input_tokens"], 160);
    assert_eq!(d["trace"]["llm_call_count"], 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_and_single_run_endpoints() {
    let h = keyed().await;
    let http = reqwest::Client::new();
    let mut root = end(run(ROOT, "rag_query", "chain", 0), 900);
    root["inputs"] = json!({"q": "hi"});
    let mut llm = run(LLM, "ChatOpenAI", "llm", 300);
    llm["extra"] = json!({"metadata": {"ls_provider": "openai", "ls_model_name": "gpt-4o"}});
    let llm_patch = json!({"id": LLM, "trace_id": ROOT, "end_time": "2026-01-01T00:00:00.700000+00:00",
        "outputs": {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Paris."}}],
            "model": "gpt-4o-2024-08-06",
            "usage_metadata": {"input_tokens": 90, "output_tokens": 25, "input_token_details": {"cache_read": 40}}}});
    let r = http
        .post(h.url("/runs/batch"))
        .header("content-type", "application/json")
        .header("x-api-key", KEY)
        .body(json!({"post": [root, llm], "patch": [llm_patch]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let (_, d) = get(&h, &format!("/api/traces/{}", hex(ROOT))).await;
    assert_eq!(d["trace"]["span_count"], 2);
    let s = span(&d, "ChatOpenAI");
    assert_eq!(s["provider"], "openai");
    assert_eq!(s["response_model"], "gpt-4o-2024-08-06");
    assert_eq!(s["input_tokens"], 90);
    assert_eq!(s["cache_read_tokens"], 40);
    assert_eq!(s["finish_reasons"][0], "stop");
    assert_eq!(s["parent_span_id"], span_id(ROOT));

    // POST /runs then PATCH /runs/{id}, in two requests.
    let other_root = "01a213b5-4000-7000-8000-000000000001";
    let mut single = json!({"id": other_root, "name": "single", "run_type": "chain",
        "start_time": "2026-01-01T00:00:01Z", "inputs": {"x": 1}});
    let r = http
        .post(h.url("/runs"))
        .header("content-type", "application/json")
        .header("x-api-key", KEY)
        .body(single.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["unfinished"], 1);
    single["end_time"] = json!("2026-01-01T00:00:02Z");
    single["outputs"] = json!({"y": 2});
    let r = http
        .patch(h.url(&format!("/runs/{other_root}")))
        .header("content-type", "application/json")
        .header("x-api-key", KEY)
        .body(single.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let (_, d) = get(&h, &format!("/api/traces/{}", hex(other_root))).await;
    let s = span(&d, "single");
    assert_eq!(s["status"], "ok");
    assert_eq!(s["duration_ms"], 1000.0);
    // A bare patch (no trace, no start) is acknowledged but cannot be stored alone.
    let r = http
        .patch(h.url(&format!("/runs/{LLM}")))
        .header("x-api-key", KEY)
        .body(json!({"end_time": "2026-01-01T00:00:03Z"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["accepted"], 0);
    assert_eq!(j["skipped"][0]["run_id"], LLM);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_advertises_multipart_and_zstd() {
    let h = keyed().await;
    // Keys mean keys on every route; the SDK sends its x-api-key with /info too.
    let (st, _) = h.get_json("/info").await;
    assert_eq!(st, 401);
    let r = reqwest::Client::new()
        .get(h.url("/info"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["instance_flags"]["zstd_compression_enabled"], true);
    assert_eq!(j["batch_ingest_config"]["use_multipart_endpoint"], true);
    for k in [
        "size_limit",
        "size_limit_bytes",
        "scale_up_qsize_trigger",
        "scale_up_nthreads_limit",
        "scale_down_nempty_trigger",
    ] {
        assert!(j["batch_ingest_config"][k].is_u64(), "{k}");
    }
    assert!(!j["version"].as_str().unwrap().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_mode_path_takes_otlp() {
    let h = keyed().await;
    let r = reqwest::Client::new()
        .post(h.url("/otel/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("x-api-key", KEY)
        .header("langsmith-project", "ls-app")
        .body(request(rag_spans(7)).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (st, d) = get(&h, "/api/traces/07070707070707070707070707070707").await;
    assert_eq!(st, 200);
    assert_eq!(d["trace"]["span_count"], 4);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_get_clear_answers() {
    let h = keyed().await;
    let http = reqwest::Client::new();
    let send = |path: &'static str,
                ct: &'static str,
                enc: Option<&'static str>,
                key: Option<&'static str>,
                body: Vec<u8>| {
        let http = http.clone();
        let url = h.url(path);
        async move {
            let mut req = http.post(url).header("content-type", ct);
            if let Some(e) = enc {
                req = req.header("content-encoding", e);
            }
            if let Some(k) = key {
                req = req.header("x-api-key", k);
            }
            let r = req.body(body).send().await.unwrap();
            let status = r.status().as_u16();
            let j: Value = r.json().await.unwrap_or(Value::Null);
            (status, j)
        }
    };
    let mp = "multipart/form-data; boundary=24825503b20949f2a7382f4a0d2c8cb2";
    let good = multipart(&posts());

    // Truncated multipart body.
    let (st, j) = send(
        "/runs/multipart",
        mp,
        None,
        Some(KEY),
        good[..good.len() / 2].to_vec(),
    )
    .await;
    assert_eq!(st, 400, "{j}");
    assert!(j["message"].as_str().unwrap().contains("multipart"), "{j}");
    // A part that is not JSON.
    let bad_part = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"post.{ROOT}\"\r\n\r\n{{oops\r\n--{BOUNDARY}--\r\n"
    );
    let (st, j) = send(
        "/runs/multipart",
        mp,
        None,
        Some(KEY),
        bad_part.into_bytes(),
    )
    .await;
    assert_eq!(st, 400);
    assert!(j["message"].as_str().unwrap().contains(ROOT), "{j}");
    // A body that is not zstd.
    let (st, _) = send("/runs/multipart", mp, Some("zstd"), Some(KEY), good.clone()).await;
    assert_eq!(st, 400);
    // Decompressing past the body limit (1 MiB in the harness).
    let bomb = zstd::stream::encode_all(&vec![b'x'; 2 << 20][..], 3).unwrap();
    let (st, _) = send("/runs/multipart", mp, Some("zstd"), Some(KEY), bomb).await;
    assert_eq!(st, 413);
    // Unknown content type / encoding, no boundary, no key, a wrong key.
    assert_eq!(
        send(
            "/runs/multipart",
            "application/json",
            None,
            Some(KEY),
            good.clone()
        )
        .await
        .0,
        415
    );
    assert_eq!(
        send("/runs/multipart", mp, Some("br"), Some(KEY), good.clone())
            .await
            .0,
        415
    );
    assert_eq!(
        send(
            "/runs/multipart",
            "multipart/form-data",
            None,
            Some(KEY),
            good.clone()
        )
        .await
        .0,
        400
    );
    assert_eq!(
        send("/runs/batch", "text/plain", None, Some(KEY), b"{}".to_vec())
            .await
            .0,
        415
    );
    assert_eq!(
        send("/runs/multipart", mp, None, None, good.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        send(
            "/runs/batch",
            "application/json",
            None,
            Some("nope"),
            b"{}".to_vec()
        )
        .await
        .0,
        401
    );
    // Malformed batch and runs.
    assert_eq!(
        send(
            "/runs/batch",
            "application/json",
            None,
            Some(KEY),
            b"[1]".to_vec()
        )
        .await
        .0,
        400
    );
    assert_eq!(
        send(
            "/runs/batch",
            "application/json",
            None,
            Some(KEY),
            br#"{"post": [{"id": "run-1"}]}"#.to_vec()
        )
        .await
        .0,
        400
    );
    let (st, j) = send(
        "/runs",
        "application/json",
        None,
        Some(KEY),
        json!({"id": ROOT, "start_time": "tomorrow"})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(st, 400);
    assert!(j["message"].as_str().unwrap().contains("start_time"), "{j}");
    // Nothing of the above was stored; the good body still is.
    assert_eq!(get(&h, &format!("/api/traces/{}", hex(ROOT))).await.0, 404);
    assert_eq!(
        send("/runs/multipart", mp, None, Some(KEY), good).await.0,
        202
    );
    assert_eq!(get(&h, &format!("/api/traces/{}", hex(ROOT))).await.0, 200);
    h.stop().await;
}
