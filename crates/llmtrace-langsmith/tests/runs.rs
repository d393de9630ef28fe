//! Realistic LangSmith payloads (modelled on what langsmith-py 0.15.1 sends, see the wire notes)
//! converted into spans.

use llmtrace_langsmith::ids::{parse_uuid, span_id_for};
use llmtrace_langsmith::{
    run_from_json, runs_from_batch, runs_from_multipart_parts, Error, Op, RunSet,
};
use llmtrace_model::{AttrValue, MessagePart, Span, SpanKind, StatusCode, Usage};
use serde_json::{json, Value};

const ROOT: &str = "01a213b5-3f2a-7953-adfc-36650a1daf2d";
const RETRIEVE: &str = "01a213b5-3f33-793c-80be-70c7d82c2a38";
const TOOL: &str = "01a213b5-3f33-712a-b33d-0066ef6dffe0";
const LLM: &str = "01a213b5-3f34-7b71-bb8b-b0969c5c3d5f";

fn dotted(chain: &[(&str, &str)]) -> String {
    chain
        .iter()
        .map(|(t, id)| format!("{t}{id}"))
        .collect::<Vec<_>>()
        .join(".")
}

fn extra(meta: Value) -> Value {
    json!({"metadata": meta, "runtime": {"sdk": "langsmith-py", "sdk_version": "0.15.1",
        "library": "langsmith", "runtime": "python", "runtime_version": "3.11.7",
        "langchain_version": null}})
}

fn usage_metadata() -> Value {
    // wrap_anthropic against the mock: API input 120, cache read 30, cache write 10 (5 min),
    // output 45; the wrapper adds the cache counts into input_tokens.
    json!({"input_tokens": 160, "output_tokens": 45, "total_tokens": 205,
        "input_token_details": {"cache_read": 30, "ephemeral_5m_input_tokens": 10}})
}

/// The multipart parts of a RAG trace: root chain, retriever, failing tool, LLM call; the LLM
/// and the root are patched, the other two too (`patched_all`), or left open.
fn rag_parts(patched_all: bool) -> Vec<(String, Vec<u8>)> {
    let r = "20261125T171615018569Z";
    let meta = json!({"user_id": "u-1", "thread_id": "th-9", "ls_method": "traceable"});
    let llm_meta = json!({"user_id": "u-1", "thread_id": "th-9", "ls_provider": "anthropic",
        "ls_model_name": "claude-sonnet-4-6", "ls_temperature": 0.2, "ls_max_tokens": 64});
    let child = |id: &str, t: &str, name: &str, run_type: &str, start: &str| {
        json!({"id": id, "start_time": start, "parent_run_id": ROOT, "tags": ["prod"],
            "dotted_order": dotted(&[(r, ROOT), (t, id)]), "trace_id": ROOT,
            "session_name": "capproj", "name": name, "run_type": run_type})
    };
    let mut parts: Vec<(String, Value)> = vec![
        (
            format!("post.{ROOT}"),
            json!({"id": ROOT, "start_time": "2026-11-25T17:16:15.018569+00:00",
            "tags": ["prod"], "dotted_order": dotted(&[(r, ROOT)]), "trace_id": ROOT,
            "session_name": "capproj", "name": "rag_query", "run_type": "chain"}),
        ),
        (
            format!("post.{ROOT}.inputs"),
            json!({"q": "capital of France?"}),
        ),
        (format!("post.{ROOT}.outputs"), json!({})),
        (format!("post.{ROOT}.events"), json!([])),
        (format!("post.{ROOT}.extra"), extra(meta.clone())),
        (
            format!("post.{RETRIEVE}"),
            child(
                RETRIEVE,
                "20261125T171615027130Z",
                "retrieve",
                "retriever",
                "2026-11-25T17:16:15.027130+00:00",
            ),
        ),
        (
            format!("post.{RETRIEVE}.inputs"),
            json!({"q": "capital of France?"}),
        ),
        (format!("post.{RETRIEVE}.extra"), extra(meta.clone())),
        (
            format!("post.{TOOL}"),
            child(
                TOOL,
                "20261125T171615027629Z",
                "failing_tool",
                "tool",
                "2026-11-25T17:16:15.027629+00:00",
            ),
        ),
        (format!("post.{TOOL}.inputs"), json!({"x": 1})),
        (format!("post.{TOOL}.extra"), extra(meta.clone())),
        (
            format!("post.{LLM}"),
            child(
                LLM,
                "20261125T171615028349Z",
                "call_llm",
                "llm",
                "2026-11-25T17:16:15.028349+00:00",
            ),
        ),
        (
            format!("post.{LLM}.inputs"),
            json!({"model": "claude-sonnet-4-6", "system": "Answer in one word.",
            "messages": [{"role": "user", "content": "capital of France?"}]}),
        ),
        (format!("post.{LLM}.outputs"), json!({})),
        (format!("post.{LLM}.extra"), extra(llm_meta.clone())),
        (
            format!("post.{LLM}.serialized"),
            json!({"name": "call_llm"}),
        ),
        (format!("patch.{LLM}"), {
            let mut p = child(
                LLM,
                "20261125T171615028349Z",
                "call_llm",
                "llm",
                "2026-11-25T17:16:15.028349+00:00",
            );
            p["end_time"] = json!("2026-11-25T17:16:15.528550+00:00");
            p["session_id"] = Value::Null;
            p
        }),
        (
            format!("patch.{LLM}.outputs"),
            json!({"id": "msg_1", "model": "claude-sonnet-4-6-20260101",
            "role": "assistant", "content": [{"type": "text", "text": "Paris."}],
            "stop_reason": "end_turn", "usage_metadata": usage_metadata()}),
        ),
        (
            format!("patch.{LLM}.events"),
            json!([
                {"name": "start", "time": "2026-11-25T17:16:15.028349+00:00"},
                {"name": "new_token", "time": "2026-11-25T17:16:15.278349+00:00", "kwargs": {"token": "Par"}}
            ]),
        ),
        (
            format!("patch.{LLM}.extra"),
            extra({
                let mut m = llm_meta.clone();
                m["usage_metadata"] = usage_metadata();
                m
            }),
        ),
        (
            format!("patch.{ROOT}"),
            json!({"id": ROOT, "name": "rag_query", "run_type": "chain",
            "trace_id": ROOT, "parent_run_id": null, "dotted_order": dotted(&[(r, ROOT)]),
            "start_time": "2026-11-25T17:16:15.018569+00:00", "end_time": "2026-11-25T17:16:16.028644+00:00"}),
        ),
        // The root returns the LLM's output: its usage is an aggregate, never counted.
        (
            format!("patch.{ROOT}.outputs"),
            json!({"content": [{"type": "text", "text": "Paris."}],
            "role": "assistant", "usage_metadata": usage_metadata()}),
        ),
        (
            format!("feedback.{ROOT}"),
            json!({"key": "thumbs", "score": 1}),
        ),
    ];
    if patched_all {
        parts.push((format!("patch.{RETRIEVE}"), {
            let mut p = child(
                RETRIEVE,
                "20261125T171615027130Z",
                "retrieve",
                "retriever",
                "2026-11-25T17:16:15.027130+00:00",
            );
            p["end_time"] = json!("2026-11-25T17:16:15.027453+00:00");
            p
        }));
        parts.push((format!("patch.{RETRIEVE}.outputs"), json!({"output": [{"page_content": "Paris is the capital", "type": "Document", "metadata": {}}]})));
        parts.push((format!("patch.{TOOL}"), {
            let mut p = child(
                TOOL,
                "20261125T171615027629Z",
                "failing_tool",
                "tool",
                "2026-11-25T17:16:15.027629+00:00",
            );
            p["end_time"] = json!("2026-11-25T17:16:15.028134+00:00");
            p
        }));
        parts.push((format!("patch.{TOOL}.outputs"), json!({"output": null})));
        parts.push((format!("patch.{TOOL}.error"), json!("ValueError('boom')\n\nTraceback (most recent call last):\n  File \"/app.py\", line 14, in failing_tool\n    raise ValueError(\"boom\")\nValueError: boom\n")));
    }
    parts
        .into_iter()
        .map(|(n, v)| (n, serde_json::to_vec(&v).unwrap()))
        .collect()
}

fn set_of(parts: &[(String, Vec<u8>)]) -> RunSet {
    runs_from_multipart_parts(parts.iter().map(|(n, b)| (n.as_str(), b.as_slice()))).unwrap()
}

fn by_name<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans.iter().find(|s| s.name == name).unwrap()
}

fn sid(uuid: &str) -> llmtrace_model::SpanId {
    span_id_for(&parse_uuid(uuid).unwrap()).unwrap()
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a AttrValue> {
    s.attributes.get(key)
}

#[test]
fn multipart_post_and_patch_become_a_tree() {
    let mut set = set_of(&rag_parts(true));
    assert_eq!(set.len(), 4);
    assert_eq!(set.ignored_parts(), 0);
    let feedback = set.take_feedback();
    assert_eq!(feedback.len(), 1, "the feedback part is kept apart");
    assert_eq!(feedback[0]["key"], "thumbs");
    let conv = set.to_spans("acme").unwrap();
    assert_eq!(conv.unfinished, 0);
    assert!(conv.skipped.is_empty());
    let spans = &conv.spans;
    assert_eq!(spans.len(), 4);
    let trace = "01a213b53f2a7953adfc36650a1daf2d";
    assert!(spans
        .iter()
        .all(|s| s.trace_id.to_hex() == trace && s.project == "acme"));
    assert!(spans
        .iter()
        .all(|s| s.service == "capproj" && !s.incomplete));

    let root = by_name(spans, "rag_query");
    assert_eq!(root.parent_span_id, None);
    assert_eq!(root.span_id, sid(ROOT));
    assert_eq!(root.kind, SpanKind::Chain);
    assert_eq!(root.status, StatusCode::Ok);
    assert!(
        root.usage.is_empty() && !root.counts_usage,
        "aggregate usage is not the root's"
    );
    assert_eq!(root.duration_nanos(), 1_010_075_000);
    assert_eq!(root.gen_ai.user_id.as_deref(), Some("u-1"));
    assert_eq!(root.gen_ai.session_id.as_deref(), Some("th-9"));
    assert_eq!(
        attr(root, "langsmith.project"),
        Some(&AttrValue::Str("capproj".into()))
    );
    assert_eq!(
        attr(root, "langsmith.tags"),
        Some(&AttrValue::Array(vec![AttrValue::Str("prod".into())]))
    );
    assert_eq!(
        attr(root, "langsmith.inputs"),
        Some(&AttrValue::Str(r#"{"q":"capital of France?"}"#.into()))
    );
    assert_eq!(
        root.resource_attributes.get("telemetry.sdk.name"),
        Some(&AttrValue::Str("langsmith-py".into()))
    );
    assert_eq!(root.scope_version, "0.15.1");

    let kinds: Vec<(&str, SpanKind)> = spans.iter().map(|s| (s.name.as_str(), s.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("rag_query", SpanKind::Chain),
            ("retrieve", SpanKind::Retriever),
            ("failing_tool", SpanKind::Tool),
            ("call_llm", SpanKind::Llm)
        ]
    );
    for s in &spans[1..] {
        assert_eq!(s.parent_span_id, Some(sid(ROOT)), "{}", s.name);
    }

    let tool = by_name(spans, "failing_tool");
    assert_eq!(tool.status, StatusCode::Error);
    assert_eq!(tool.status_message, "ValueError('boom')");
    assert_eq!(tool.gen_ai.error_type.as_deref(), Some("ValueError"));
    assert_eq!(tool.gen_ai.tool_name.as_deref(), Some("failing_tool"));
    let exc = tool.events.iter().find(|e| e.name == "exception").unwrap();
    assert!(exc
        .attributes
        .get_str("exception.stacktrace")
        .unwrap()
        .contains("Traceback"));

    let llm = by_name(spans, "call_llm");
    assert_eq!(llm.span_id, sid(LLM));
    assert_eq!(llm.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(
        llm.gen_ai.request_model.as_deref(),
        Some("claude-sonnet-4-6")
    );
    assert_eq!(
        llm.gen_ai.response_model.as_deref(),
        Some("claude-sonnet-4-6-20260101")
    );
    assert_eq!(llm.gen_ai.response_id.as_deref(), Some("msg_1"));
    assert_eq!(
        llm.usage,
        Usage {
            input: Some(160),
            output: Some(45),
            cache_read: Some(30),
            cache_write: Some(10),
            cache_write_1h: None,
            reasoning: None,
        }
    );
    assert!(llm.counts_usage);
    assert_eq!(llm.otel_kind, 3);
    assert_eq!(llm.gen_ai.params.temperature, Some(0.2));
    assert_eq!(llm.gen_ai.params.max_tokens, Some(64));
    assert_eq!(llm.gen_ai.input_messages.len(), 1);
    assert_eq!(
        llm.gen_ai.input_messages[0].text_content(),
        "capital of France?"
    );
    assert_eq!(
        llm.gen_ai.system_instructions,
        vec![MessagePart::Text {
            content: "Answer in one word.".into()
        }]
    );
    assert_eq!(llm.gen_ai.output_messages[0].text_content(), "Paris.");
    assert_eq!(llm.gen_ai.finish_reasons, ["stop"]);
    assert_eq!(llm.gen_ai.time_to_first_token_s, Some(0.25));
    assert_eq!(llm.events.len(), 2);
    assert_eq!(llm.events[1].attributes.get_str("token"), Some("Par"));
    assert_eq!(
        attr(llm, "langsmith.metadata.ls_provider"),
        Some(&AttrValue::Str("anthropic".into()))
    );
}

#[test]
fn part_order_does_not_matter() {
    let parts = rag_parts(true);
    let mut reversed = parts.clone();
    reversed.reverse();
    let a = set_of(&parts).to_spans("p").unwrap().spans;
    let mut b = set_of(&reversed).to_spans("p").unwrap().spans;
    b.sort_by_key(|s| a.iter().position(|x| x.span_id == s.span_id));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.span_id, x.end_unix_nano, x.status, x.usage),
            (y.span_id, y.end_unix_nano, y.status, y.usage)
        );
    }
}

#[test]
fn a_run_posted_but_never_patched_is_unfinished() {
    // wrap_anthropic streaming with anthropic 2.x: posted, never patched.
    let conv = set_of(&rag_parts(false)).to_spans("p").unwrap();
    assert_eq!(conv.unfinished, 2);
    let retrieve = by_name(&conv.spans, "retrieve");
    assert!(retrieve.incomplete);
    assert_eq!(retrieve.status, StatusCode::Unset);
    assert_eq!(retrieve.end_unix_nano, retrieve.start_unix_nano);
    assert_eq!(
        attr(retrieve, "langsmith.unfinished"),
        Some(&AttrValue::Bool(true))
    );
    let llm = by_name(&conv.spans, "call_llm");
    assert!(!llm.incomplete && attr(llm, "langsmith.unfinished").is_none());
}

#[test]
fn ids_are_deterministic_across_payloads() {
    // The post in one request, the patch in another: same trace and span ids.
    let parts = rag_parts(true);
    let (posts, patches): (Vec<_>, Vec<_>) =
        parts.into_iter().partition(|(n, _)| n.starts_with("post."));
    let first = set_of(&posts).to_spans("p").unwrap();
    let second = set_of(&patches).to_spans("p").unwrap();
    assert_eq!(first.unfinished, 4);
    assert!(second.skipped.is_empty());
    for s in &second.spans {
        let twin = first.spans.iter().find(|x| x.span_id == s.span_id).unwrap();
        assert_eq!(
            (twin.trace_id, twin.parent_span_id, twin.start_unix_nano),
            (s.trace_id, s.parent_span_id, s.start_unix_nano)
        );
        // The patch carries everything that places the run: a complete span.
        assert!(!s.incomplete);
    }
    assert_eq!(second.spans.len(), 4);
}

#[test]
fn placement_falls_back_on_dotted_order() {
    let r = "20260101T000000000000Z";
    let c = "20260101T000000500000Z";
    let body = json!({"id": LLM, "name": "child", "run_type": "llm",
        "dotted_order": dotted(&[(r, ROOT), (c, LLM)]), "end_time": "2026-01-01T00:00:01Z"});
    let conv = run_from_json(body.to_string().as_bytes(), Op::Post, None)
        .unwrap()
        .to_spans("p")
        .unwrap();
    let s = &conv.spans[0];
    assert_eq!(s.trace_id.to_hex(), ROOT.replace('-', ""));
    assert_eq!(s.parent_span_id, Some(sid(ROOT)));
    assert_eq!(s.start_unix_nano, 1_767_225_600_500_000_000);
    assert_eq!(s.duration_nanos(), 500_000_000);
}

#[test]
fn a_lone_patch_without_placement_is_skipped() {
    let body = json!({"end_time": "2026-01-01T00:00:01Z", "outputs": {"output": "x"}});
    let conv = run_from_json(body.to_string().as_bytes(), Op::Patch, Some(LLM))
        .unwrap()
        .to_spans("p")
        .unwrap();
    assert!(conv.spans.is_empty());
    assert_eq!(conv.skipped.len(), 1);
    assert_eq!(conv.skipped[0].run_id, LLM);
    // With trace and start it is a finished span.
    let body = json!({"trace_id": ROOT, "parent_run_id": ROOT, "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-01T00:00:01Z", "name": "x", "run_type": "tool"});
    let conv = run_from_json(body.to_string().as_bytes(), Op::Patch, Some(LLM))
        .unwrap()
        .to_spans("p")
        .unwrap();
    assert_eq!(conv.spans.len(), 1);
    assert!(!conv.spans[0].incomplete);
    // A body id that contradicts the path is malformed.
    let body = json!({"id": ROOT});
    assert!(matches!(
        run_from_json(body.to_string().as_bytes(), Op::Patch, Some(LLM)),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn batch_posts_complete_runs_and_patches_merge() {
    let llm_start = "2026-11-25T17:16:15.028349+00:00";
    let body = json!({
        "post": [
            {"id": ROOT, "trace_id": ROOT, "dotted_order": dotted(&[("20261125T171615018569Z", ROOT)]),
             "name": "rag_query", "run_type": "chain", "start_time": "2026-11-25T17:16:15.018569+00:00",
             "end_time": "2026-11-25T17:16:16.018569+00:00", "inputs": {"q": "hi"}, "outputs": {"output": "Paris."},
             "session_name": "batchproj", "extra": extra(json!({"user_id": "u-2"}))},
            {"id": LLM, "trace_id": ROOT, "parent_run_id": ROOT, "name": "ChatOpenAI", "run_type": "llm",
             "start_time": llm_start, "inputs": {"messages": [[{"lc": 1, "type": "constructor",
                "id": ["langchain", "schema", "messages", "HumanMessage"], "kwargs": {"content": "hi", "type": "human"}}]]},
             "extra": {"invocation_params": {"model": "gpt-4o", "temperature": 0.0, "_type": "openai-chat"},
                "metadata": {"ls_provider": "openai", "ls_model_name": "gpt-4o", "ls_model_type": "chat"}}}
        ],
        "patch": [
            {"id": LLM, "trace_id": ROOT, "parent_run_id": ROOT, "end_time": "2026-11-25T17:16:15.528349+00:00",
             "outputs": {"generations": [[{"text": "Paris.", "generation_info": {"finish_reason": "stop"},
                "message": {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
                    "kwargs": {"content": "Paris.", "response_metadata": {"model_name": "gpt-4o-2024-08-06"},
                        "usage_metadata": {"input_tokens": 90, "output_tokens": 25, "total_tokens": 115,
                            "input_token_details": {"cache_read": 40}}}}}]], "llm_output": null}}
        ]
    });
    let set = runs_from_batch(body.to_string().as_bytes()).unwrap();
    assert_eq!(set.len(), 2);
    let conv = set.to_spans("p").unwrap();
    assert_eq!(conv.unfinished, 0);
    let root = by_name(&conv.spans, "rag_query");
    assert_eq!(root.service, "batchproj");
    assert_eq!(root.gen_ai.user_id.as_deref(), Some("u-2"));
    let llm = by_name(&conv.spans, "ChatOpenAI");
    assert_eq!(llm.gen_ai.provider.as_deref(), Some("openai"));
    assert_eq!(llm.gen_ai.request_model.as_deref(), Some("gpt-4o"));
    assert_eq!(
        llm.gen_ai.response_model.as_deref(),
        Some("gpt-4o-2024-08-06")
    );
    assert_eq!(
        (llm.usage.input, llm.usage.output, llm.usage.cache_read),
        (Some(90), Some(25), Some(40))
    );
    assert_eq!(llm.gen_ai.input_messages[0].role, "user");
    assert_eq!(llm.gen_ai.output_messages[0].text_content(), "Paris.");
    assert_eq!(llm.gen_ai.finish_reasons, ["stop"]);
    assert_eq!(llm.gen_ai.params.temperature, Some(0.0));
    assert_eq!(llm.service, "langsmith", "no session_name on that run");
    assert_eq!(llm.duration_nanos(), 500_000_000);
}

#[test]
fn trace_less_children_inherit_their_parents_trace() {
    let body = json!({"post": [
        {"id": LLM, "parent_run_id": ROOT, "name": "child", "run_type": "tool", "start_time": "2026-01-01T00:00:01Z", "end_time": "2026-01-01T00:00:02Z"},
        {"id": ROOT, "name": "root", "run_type": "chain", "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:03Z"}
    ]});
    let conv = runs_from_batch(body.to_string().as_bytes())
        .unwrap()
        .to_spans("p")
        .unwrap();
    assert_eq!(conv.spans.len(), 2);
    assert!(conv
        .spans
        .iter()
        .all(|s| s.trace_id.to_hex() == ROOT.replace('-', "")));
}

#[test]
fn malformed_payloads_are_errors_not_panics() {
    let bad_json = [(format!("post.{ROOT}"), b"{not json".to_vec())];
    assert!(matches!(
        runs_from_multipart_parts(bad_json.iter().map(|(n, b)| (n.as_str(), b.as_slice()))),
        Err(Error::Json { .. })
    ));
    let bad_id = [("post.run-1".to_string(), b"{}".to_vec())];
    assert!(matches!(
        runs_from_multipart_parts(bad_id.iter().map(|(n, b)| (n.as_str(), b.as_slice()))),
        Err(Error::Invalid(_))
    ));
    let mismatch = [(
        format!("post.{ROOT}"),
        json!({"id": LLM}).to_string().into_bytes(),
    )];
    assert!(
        runs_from_multipart_parts(mismatch.iter().map(|(n, b)| (n.as_str(), b.as_slice())))
            .is_err()
    );
    // Unknown parts are ignored.
    let other = [
        (format!("attachment.{ROOT}.image"), b"\x89PNG".to_vec()),
        (format!("post.{ROOT}.unknown"), b"1".to_vec()),
        ("junk".to_string(), b"".to_vec()),
    ];
    let set =
        runs_from_multipart_parts(other.iter().map(|(n, b)| (n.as_str(), b.as_slice()))).unwrap();
    assert_eq!(set.ignored_parts(), 3);
    for body in [
        &b"[]"[..],
        b"{\"post\": {}}",
        b"{\"post\": [{\"name\": \"no id\"}]}",
        b"{\"post\": [{\"id\": 5}]}",
        b"",
    ] {
        assert!(
            runs_from_batch(body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // Bad timestamps fail the payload at conversion.
    let body = json!({"post": [{"id": ROOT, "start_time": "tomorrow"}]});
    assert!(matches!(
        runs_from_batch(body.to_string().as_bytes()).unwrap().to_spans("p"),
        Err(Error::Invalid(m)) if m.contains("start_time")
    ));
    assert!(runs_from_batch(b"{}").unwrap().is_empty());
}

#[test]
fn zstd_compressed_parts_round_trip() {
    // The SDK compresses the whole multipart body; decoding is bounded.
    let parts = rag_parts(true);
    let mut body = Vec::new();
    for (name, data) in &parts {
        body.extend_from_slice(
            format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--b--\r\n");
    let z = zstd_encode(&body);
    assert!(z.len() < body.len());
    let plain = llmtrace_langsmith::decompress_zstd(&z, body.len()).unwrap();
    assert_eq!(plain, body);
    assert!(matches!(
        llmtrace_langsmith::decompress_zstd(&z, 100),
        Err(Error::TooLarge { limit: 100 })
    ));
}

fn zstd_encode(b: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(b, 1).unwrap()
}
