//! What the gateway reads from each API's answer, plain and streamed (cut into arbitrary
//! chunks), turned into span attributes: one table of cases, each with the attributes it must
//! produce. The answers have the providers' documented shapes (the repo's mock provider sends
//! the same).

use llmtrace_gateway::{span, Api, Call, Collector, Ending};
use llmtrace_model::{AttrValue, Span, SpanId, StatusCode, TraceId};
use serde_json::{json, Value};

const T0: u64 = 1_800_000_000_000_000_000;

fn call(api: Api, upstream: &str, request: Value, capture: bool) -> Call {
    Call {
        api,
        upstream: upstream.into(),
        server_address: "api.example.com".into(),
        request,
        start_unix_nano: T0,
        capture_content: capture,
        project: "default".into(),
        service: "app".into(),
        session_id: Some("s1".into()),
        user_id: None,
        trace_id: TraceId::from_hex("0102030405060708090a0b0c0d0e0f10").unwrap(),
        span_id: SpanId::from_hex("0102030405060708").unwrap(),
        parent_span_id: None,
    }
}

/// Feeds `answer` in chunks of `chunk` bytes, 1 ms apart, and builds the span.
fn run(c: &Call, status: u16, content_type: &str, answer: &str, chunk: usize) -> Span {
    let mut col = Collector::new(c.api, content_type, 1 << 20, c.capture_content);
    let mut now = T0;
    for piece in answer.as_bytes().chunks(chunk.max(1)) {
        now += 1_000_000;
        col.feed(piece, now);
    }
    let obs = col.finish(now);
    span(c, Some(status), &obs, now + 1_000_000, &Ending::Complete)
}

fn sse(events: &[(&str, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| {
            if name.is_empty() {
                format!("data: {data}\n\n")
            } else {
                format!("event: {name}\ndata: {data}\n\n")
            }
        })
        .collect()
}

fn int(s: &Span, k: &str) -> Option<i64> {
    s.attributes.get(k).and_then(AttrValue::as_i64)
}

fn text(s: &Span, k: &str) -> Option<String> {
    s.attributes
        .get(k)
        .and_then(AttrValue::as_str)
        .map(str::to_string)
}

fn anthropic_usage() -> Value {
    json!({"input_tokens": 120, "output_tokens": 45, "cache_read_input_tokens": 30,
           "cache_creation_input_tokens": 10,
           "cache_creation": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 6}})
}

fn anthropic_stream() -> String {
    let mut start_usage = anthropic_usage();
    start_usage["output_tokens"] = json!(1);
    sse(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1",
            "model": "claude-sonnet-4-6", "role": "assistant", "content": [], "usage": start_usage}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "Paris is "}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "the capital."}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 20}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ])
}

fn chat_chunks(include_usage: bool) -> String {
    let chunk = |choices: Value| {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk",
        "model": "gpt-4o-2024-08-06", "choices": choices})
    };
    let mut events = vec![
        (
            "",
            chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}}])),
        ),
        (
            "",
            chunk(json!([{"index": 0, "delta": {"content": "Paris is "}}])),
        ),
        (
            "",
            chunk(
                json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1",
            "type": "function", "function": {"name": "weather", "arguments": ""}}]}}]),
            ),
        ),
        (
            "",
            chunk(json!([{"index": 0, "delta": {"tool_calls": [{"index": 0,
            "function": {"arguments": "{\"city\":\"Paris\"}"}}]}}])),
        ),
        (
            "",
            chunk(json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])),
        ),
    ];
    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = json!({"prompt_tokens": 90, "completion_tokens": 25,
            "prompt_tokens_details": {"cached_tokens": 40},
            "completion_tokens_details": {"reasoning_tokens": 5}});
        events.push(("", last));
    }
    let mut s = sse(&events);
    s.push_str("data: [DONE]\n\n");
    s
}

struct Case {
    name: &'static str,
    api: Api,
    upstream: &'static str,
    request: Value,
    status: u16,
    content_type: &'static str,
    answer: String,
    /// Expected integer attributes (`None`: absent).
    ints: Vec<(&'static str, Option<i64>)>,
    /// Expected string attributes.
    strs: Vec<(&'static str, Option<&'static str>)>,
    /// Substrings of `gen_ai.output.messages`.
    output_has: Vec<&'static str>,
    streamed: bool,
    error: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let chat_req = json!({"model": "gpt-4o", "temperature": 0.5, "stop": "END",
        "messages": [{"role": "system", "content": "be brief"},
                     {"role": "user", "content": [{"type": "text", "text": "capital?"}]}]});
    let mut stream_req = chat_req.clone();
    stream_req["stream"] = json!(true);
    let mut stream_usage_req = stream_req.clone();
    stream_usage_req["stream_options"] = json!({"include_usage": true});
    vec![
        Case {
            name: "anthropic plain",
            api: Api::AnthropicMessages,
            upstream: "anthropic",
            request: json!({"model": "claude-sonnet-4-6", "max_tokens": 100, "system": "be brief",
                "messages": [{"role": "user", "content": "capital of France?"}]}),
            status: 200,
            content_type: "application/json",
            answer: json!({"id": "msg_1", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-6", "stop_reason": "end_turn",
                "content": [{"type": "text", "text": "Paris is the capital of France."}],
                "usage": anthropic_usage()}).to_string(),
            ints: vec![("gen_ai.usage.input_tokens", Some(160)), ("gen_ai.usage.output_tokens", Some(45)),
                ("gen_ai.usage.cache_read.input_tokens", Some(30)),
                ("gen_ai.usage.cache_creation.input_tokens", Some(10)),
                ("anthropic.usage.cache_creation.ephemeral_1h_input_tokens", Some(6)),
                ("gen_ai.request.max_tokens", Some(100)), ("http.response.status_code", Some(200))],
            strs: vec![("gen_ai.response.id", Some("msg_1")), ("gen_ai.provider.name", Some("anthropic")),
                ("gen_ai.operation.name", Some("chat")),
                ("gen_ai.system_instructions", Some(r#"[{"content":"be brief","type":"text"}]"#))],
            output_has: vec!["Paris is the capital of France.", "end_turn"],
            streamed: false,
            error: None,
        },
        Case {
            name: "anthropic stream with a tool call",
            api: Api::AnthropicMessages,
            upstream: "anthropic",
            request: json!({"model": "claude-sonnet-4-6", "max_tokens": 100, "stream": true,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "weather?"}]}]}),
            status: 200,
            content_type: "text/event-stream; charset=utf-8",
            answer: anthropic_stream(),
            ints: vec![("gen_ai.usage.input_tokens", Some(160)), ("gen_ai.usage.output_tokens", Some(20)),
                ("gen_ai.usage.cache_read.input_tokens", Some(30))],
            strs: vec![("gen_ai.response.id", Some("msg_1")),
                ("gen_ai.response.model", Some("claude-sonnet-4-6"))],
            output_has: vec!["Paris is the capital.", "\"tool_call\"", "\"city\":\"Paris\"", "toolu_1"],
            streamed: true,
            error: None,
        },
        Case {
            name: "openai chat plain",
            api: Api::OpenAiChat,
            upstream: "openai",
            request: chat_req.clone(),
            status: 200,
            content_type: "application/json",
            answer: json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 90, "completion_tokens": 25, "total_tokens": 115,
                          "prompt_tokens_details": {"cached_tokens": 40},
                          "completion_tokens_details": {"reasoning_tokens": 0}}}).to_string(),
            ints: vec![("gen_ai.usage.input_tokens", Some(90)), ("gen_ai.usage.output_tokens", Some(25)),
                ("gen_ai.usage.cache_read.input_tokens", Some(40)),
                ("gen_ai.usage.cache_creation.input_tokens", None)],
            strs: vec![("gen_ai.response.id", Some("chatcmpl-1")),
                ("gen_ai.input.messages",
                 Some(r#"[{"parts":[{"content":"be brief","type":"text"}],"role":"system"},{"parts":[{"content":"capital?","type":"text"}],"role":"user"}]"#))],
            output_has: vec!["Paris."],
            streamed: false,
            error: None,
        },
        Case {
            name: "openai chat stream with usage and a tool call",
            api: Api::OpenAiChat,
            upstream: "openai",
            request: stream_usage_req,
            status: 200,
            content_type: "text/event-stream",
            answer: chat_chunks(true),
            ints: vec![("gen_ai.usage.input_tokens", Some(90)), ("gen_ai.usage.output_tokens", Some(25)),
                ("gen_ai.usage.reasoning.output_tokens", Some(5))],
            strs: vec![("gen_ai.response.id", Some("chatcmpl-1"))],
            output_has: vec!["Paris is ", "call_1", "\"city\":\"Paris\"", "tool_calls"],
            streamed: true,
            error: None,
        },
        Case {
            name: "openai chat stream without include_usage counts nothing",
            api: Api::OpenAiChat,
            upstream: "openai",
            request: stream_req,
            status: 200,
            content_type: "text/event-stream",
            answer: chat_chunks(false),
            ints: vec![("gen_ai.usage.input_tokens", None), ("gen_ai.usage.output_tokens", None)],
            strs: vec![("gen_ai.response.id", Some("chatcmpl-1"))],
            output_has: vec!["Paris is "],
            streamed: true,
            error: None,
        },
        Case {
            name: "openai responses stream",
            api: Api::OpenAiResponses,
            upstream: "openai",
            request: json!({"model": "gpt-4o", "instructions": "be brief", "input": "capital?", "stream": true}),
            status: 200,
            content_type: "text/event-stream",
            answer: sse(&[
                ("response.created", json!({"type": "response.created",
                    "response": {"id": "resp_1", "model": "gpt-4o-2024-08-06", "status": "in_progress"}})),
                ("response.output_text.delta", json!({"type": "response.output_text.delta", "delta": "Paris."})),
                ("response.completed", json!({"type": "response.completed", "response": {
                    "id": "resp_1", "model": "gpt-4o-2024-08-06", "status": "completed",
                    "output": [{"type": "message", "role": "assistant",
                                "content": [{"type": "output_text", "text": "Paris."}]}],
                    "usage": {"input_tokens": 90, "output_tokens": 25,
                              "input_tokens_details": {"cached_tokens": 40},
                              "output_tokens_details": {"reasoning_tokens": 0}}}})),
            ]),
            ints: vec![("gen_ai.usage.input_tokens", Some(90)), ("gen_ai.usage.cache_read.input_tokens", Some(40))],
            strs: vec![("gen_ai.response.id", Some("resp_1")),
                ("gen_ai.system_instructions", Some(r#"[{"content":"be brief","type":"text"}]"#))],
            output_has: vec!["Paris."],
            streamed: true,
            error: None,
        },
        Case {
            name: "openai responses plain with a function call",
            api: Api::OpenAiResponses,
            upstream: "openai",
            request: json!({"model": "gpt-4o", "input": [{"role": "user", "content": "weather?"}],
                            "tools": [{"type": "function", "name": "weather"}]}),
            status: 200,
            content_type: "application/json",
            answer: json!({"id": "resp_2", "model": "gpt-4o-2024-08-06", "status": "completed",
                "output": [{"type": "function_call", "call_id": "call_9", "name": "weather",
                            "arguments": "{\"city\":\"Paris\"}"}],
                "usage": {"input_tokens": 90, "output_tokens": 25}}).to_string(),
            ints: vec![("gen_ai.usage.output_tokens", Some(25))],
            strs: vec![("gen_ai.response.id", Some("resp_2"))],
            output_has: vec!["call_9", "weather"],
            streamed: false,
            error: None,
        },
        Case {
            name: "openai-compatible embeddings",
            api: Api::OpenAiEmbeddings,
            upstream: "local-llm",
            request: json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
            status: 200,
            content_type: "application/json",
            answer: json!({"object": "list", "model": "text-embedding-3-small",
                "data": [{"embedding": [0.1]}, {"embedding": [0.2]}],
                "usage": {"prompt_tokens": 16, "total_tokens": 16}}).to_string(),
            ints: vec![("gen_ai.usage.input_tokens", Some(16)), ("gen_ai.usage.output_tokens", None)],
            strs: vec![("gen_ai.operation.name", Some("embeddings")),
                ("gen_ai.provider.name", Some("local-llm")), ("gen_ai.input.messages", None)],
            output_has: vec![],
            streamed: false,
            error: None,
        },
        Case {
            name: "a provider error",
            api: Api::AnthropicMessages,
            upstream: "anthropic",
            request: json!({"model": "claude-fail", "max_tokens": 10, "messages": []}),
            status: 400,
            content_type: "application/json",
            answer: json!({"type": "error", "error": {"type": "invalid_request_error",
                "message": "bad model"}}).to_string(),
            ints: vec![("http.response.status_code", Some(400)), ("gen_ai.usage.input_tokens", None)],
            strs: vec![("error.type", Some("invalid_request_error"))],
            output_has: vec![],
            streamed: false,
            error: Some("bad model"),
        },
        Case {
            name: "an error event in the middle of a stream",
            api: Api::AnthropicMessages,
            upstream: "anthropic",
            request: json!({"model": "claude-sonnet-4-6", "stream": true, "messages": []}),
            status: 200,
            content_type: "text/event-stream",
            answer: sse(&[("error", json!({"type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"}}))]),
            ints: vec![],
            strs: vec![("error.type", Some("overloaded_error"))],
            output_has: vec![],
            streamed: true,
            error: Some("Overloaded"),
        },
    ]
}

#[test]
fn every_api_plain_and_streamed_in_any_chunking() {
    for case in cases() {
        for chunk in [usize::MAX, 7, 1] {
            let what = format!("{} (chunks of {chunk})", case.name);
            let c = call(case.api, case.upstream, case.request.clone(), true);
            let s = run(&c, case.status, case.content_type, &case.answer, chunk);
            for (k, v) in &case.ints {
                assert_eq!(int(&s, k), *v, "{what}: {k}");
            }
            for (k, v) in &case.strs {
                // JSON attributes compare as JSON: key order depends on serde_json's features.
                let got = text(&s, k);
                match v.and_then(|v| serde_json::from_str::<Value>(v).ok()) {
                    Some(expected) if !expected.is_string() && !expected.is_number() => assert_eq!(
                        got.as_deref()
                            .and_then(|g| serde_json::from_str::<Value>(g).ok()),
                        Some(expected),
                        "{what}: {k}"
                    ),
                    _ => assert_eq!(got.as_deref(), *v, "{what}: {k}"),
                }
            }
            let out = text(&s, "gen_ai.output.messages").unwrap_or_default();
            for needle in &case.output_has {
                assert!(
                    out.contains(needle),
                    "{what}: output lacks {needle:?}: {out}"
                );
            }
            let ttft = s
                .attributes
                .get("gen_ai.response.time_to_first_chunk")
                .and_then(AttrValue::as_f64);
            assert_eq!(
                ttft.is_some(),
                case.streamed && case.error.is_none(),
                "{what}: ttft {ttft:?}"
            );
            if let Some(t) = ttft {
                assert!(t > 0.0 && t < 1.0, "{what}: ttft {t}");
            }
            match case.error {
                Some(message) => {
                    assert_eq!(s.status, StatusCode::Error, "{what}");
                    assert_eq!(s.status_message, message, "{what}");
                }
                None => assert_eq!(s.status, StatusCode::Unset, "{what}"),
            }
            assert_eq!(s.scope_name, llmtrace_gateway::SCOPE);
            assert_eq!(s.otel_kind, 3);
            assert_eq!(s.attributes.get_str("session.id"), Some("s1"));
        }
    }
}

#[test]
fn without_content_capture_no_message_is_kept() {
    for case in cases() {
        let c = call(case.api, case.upstream, case.request.clone(), false);
        let s = run(&c, case.status, case.content_type, &case.answer, 5);
        for k in [
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system_instructions",
        ] {
            assert!(s.attributes.get(k).is_none(), "{}: {k} kept", case.name);
        }
        // Usage is read all the same.
        for (k, v) in &case.ints {
            assert_eq!(int(&s, k), *v, "{}: {k}", case.name);
        }
    }
}

#[test]
fn a_body_larger_than_the_limit_is_passed_on_unread() {
    let c = call(Api::OpenAiChat, "openai", json!({"model": "gpt-4o"}), true);
    let mut col = Collector::new(c.api, "application/json", 10, true);
    col.feed(
        br#"{"id": "chatcmpl-1", "usage": {"prompt_tokens": 5}}"#,
        T0,
    );
    let obs = col.finish(T0);
    assert!(obs.unread);
    let s = span(&c, Some(200), &obs, T0, &Ending::Complete);
    assert_eq!(
        s.attributes
            .get("llmtrace.gateway.unread")
            .and_then(AttrValue::as_bool),
        Some(true)
    );
    assert_eq!(int(&s, "gen_ai.usage.input_tokens"), None);
}

#[test]
fn a_failed_upstream_is_an_error_span_without_status() {
    let c = call(Api::OpenAiChat, "openai", json!({"model": "gpt-4o"}), true);
    let s = span(
        &c,
        None,
        &Default::default(),
        T0 + 5,
        &Ending::Failed {
            error_type: "gateway_timeout".into(),
            message: "timed out".into(),
        },
    );
    assert_eq!(s.status, StatusCode::Error);
    assert_eq!(text(&s, "error.type").as_deref(), Some("gateway_timeout"));
    assert_eq!(int(&s, "http.response.status_code"), None);
    assert_eq!(s.name, "chat gpt-4o");
}

#[test]
fn api_of_paths() {
    for (method, path, api) in [
        ("POST", "/v1/messages", Some(Api::AnthropicMessages)),
        ("POST", "/v1/chat/completions", Some(Api::OpenAiChat)),
        (
            "POST",
            "/openai/v1/chat/completions/",
            Some(Api::OpenAiChat),
        ),
        ("POST", "/v1/responses", Some(Api::OpenAiResponses)),
        ("POST", "/v1/embeddings", Some(Api::OpenAiEmbeddings)),
        ("GET", "/v1/models", None),
        ("POST", "/v1/messages/count_tokens", None),
        ("GET", "/v1/chat/completions", None),
    ] {
        assert_eq!(Api::of(method, path), api, "{method} {path}");
    }
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Any bytes as any answer: no panic, and what is kept stays within the capture budget.
        #[test]
        fn arbitrary_answers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                                         sse in any::<bool>(), api in 0usize..4) {
            let api = [Api::AnthropicMessages, Api::OpenAiChat, Api::OpenAiResponses, Api::OpenAiEmbeddings][api];
            let c = call(api, "x", json!({"model": 5, "stream": "yes", "messages": {"a": 1}}), true);
            let mut col = Collector::new(api, if sse { "text/event-stream" } else { "application/json" }, 4096, true);
            col.feed(&bytes, T0);
            let obs = col.finish(T0);
            let _ = span(&c, Some(200), &obs, T0, &Ending::Complete);
        }
    }

    #[test]
    fn a_stream_naming_a_huge_choice_index_keeps_nothing_for_it() {
        let c = call(
            Api::OpenAiChat,
            "openai",
            json!({"model": "gpt-4o", "stream": true}),
            true,
        );
        let answer = sse(&[(
            "",
            json!({"id": "x", "choices": [{"index": u64::MAX, "delta": {"content": "hi"}}]}),
        )]);
        let s = run(&c, 200, "text/event-stream", &answer, 3);
        assert!(s.attributes.get("gen_ai.output.messages").is_none());
    }

    #[test]
    fn captured_output_is_bounded() {
        let c = call(
            Api::OpenAiChat,
            "openai",
            json!({"model": "gpt-4o", "stream": true}),
            true,
        );
        let piece = "x".repeat(64 * 1024);
        let events: Vec<(&str, Value)> = (0..40)
            .map(|_| {
                (
                    "",
                    json!({"id": "x", "choices": [{"index": 0, "delta": {"content": piece}}]}),
                )
            })
            .collect();
        let s = run(&c, 200, "text/event-stream", &sse(&events), 1 << 16);
        let out = text(&s, "gen_ai.output.messages").unwrap();
        assert!(
            out.len() <= llmtrace_gateway::MAX_CAPTURED_BYTES + 1024,
            "{}",
            out.len()
        );
        assert!(out.len() >= llmtrace_gateway::MAX_CAPTURED_BYTES / 2);
    }
}
