//! Unit tests for the generators.

use std::collections::{HashMap, HashSet};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;

const NOW: u64 = 1_764_000_000_000_000_000;

fn spans(req: &ExportTraceServiceRequest) -> impl Iterator<Item = &Span> {
    req.resource_spans
        .iter()
        .flat_map(|rs| rs.scope_spans.iter())
        .flat_map(|ss| ss.spans.iter())
}

fn service(req: &ExportTraceServiceRequest) -> String {
    req.resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap()
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn attr_str<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attr(span, key)? {
        Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attr_int(span: &Span, key: &str) -> Option<i64> {
    match attr(span, key)? {
        Value::IntValue(v) => Some(*v),
        _ => None,
    }
}

/// Ids non-zero and unique; every parent is a span of the same trace; one
/// root per trace; times ordered and not after `now`.
fn check_structure<'a>(all: impl IntoIterator<Item = &'a Span>, now: u64) -> usize {
    let all: Vec<&Span> = all.into_iter().collect();
    let mut span_ids = HashSet::new();
    let mut by_trace: HashMap<&[u8], HashSet<&[u8]>> = HashMap::new();
    for s in &all {
        assert_eq!(s.trace_id.len(), 16);
        assert_eq!(s.span_id.len(), 8);
        assert!(s.trace_id.iter().any(|b| *b != 0), "zero trace id");
        assert!(s.span_id.iter().any(|b| *b != 0), "zero span id");
        assert!(span_ids.insert(s.span_id.clone()), "duplicate span id");
        by_trace.entry(&s.trace_id).or_default().insert(&s.span_id);
        assert!(s.start_time_unix_nano <= s.end_time_unix_nano, "{}", s.name);
        assert!(s.end_time_unix_nano <= now, "{} ends after now", s.name);
    }
    let mut roots: HashMap<&[u8], usize> = HashMap::new();
    for s in &all {
        if s.parent_span_id.is_empty() {
            *roots.entry(&s.trace_id).or_default() += 1;
        } else {
            assert!(
                by_trace[s.trace_id.as_slice()].contains(s.parent_span_id.as_slice()),
                "parent of {} not in its trace",
                s.name
            );
        }
    }
    assert_eq!(roots.len(), by_trace.len(), "a trace without root");
    assert!(
        roots.values().all(|n| *n == 1),
        "a trace with several roots"
    );
    by_trace.len()
}

/// `gen_ai.input.messages` / `gen_ai.output.messages` parse and have the OTel shape.
fn check_messages(span: &Span) -> usize {
    let mut text = 0;
    for key in ["gen_ai.input.messages", "gen_ai.output.messages"] {
        let Some(raw) = attr_str(span, key) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(raw).expect("valid JSON");
        let msgs = v.as_array().expect("array of messages");
        assert!(!msgs.is_empty());
        for m in msgs {
            assert!(m["role"].is_string(), "{key}: role");
            if key == "gen_ai.output.messages" {
                assert!(m["finish_reason"].is_string(), "finish_reason");
            }
            for p in m["parts"].as_array().expect("parts") {
                match p["type"].as_str().expect("part type") {
                    "text" => text += p["content"].as_str().expect("content").len(),
                    "tool_call" => assert!(p["name"].is_string() && p["arguments"].is_object()),
                    "tool_call_response" => assert!(p["response"].is_string()),
                    other => panic!("unexpected part type {other}"),
                }
            }
        }
    }
    text
}

#[test]
fn rag_request_shape_and_size() {
    let cfg = SynthConfig::new("rag-bench", 7);
    let mut rng = cfg.rng();
    let req = rag_request(&mut rng, &cfg, 20, NOW);
    assert_eq!(req.resource_spans.len(), 1);
    assert_eq!(req.resource_spans[0].scope_spans.len(), 1);
    assert_eq!(service(&req), "rag-bench");
    let all: Vec<&Span> = spans(&req).collect();
    assert_eq!(all.len(), 100);
    assert_eq!(check_structure(all.iter().copied(), NOW), 20);

    let mut names: HashMap<&str, usize> = HashMap::new();
    for s in &all {
        *names.entry(s.name.as_str()).or_default() += 1;
    }
    for n in [
        "rag_query",
        "retrieve",
        "rerank",
        "llm_call",
        "execute_tool",
    ] {
        assert_eq!(names.get(n), Some(&20), "{n}");
    }

    let per_span = req.encoded_len() / 100;
    assert!((500..=900).contains(&per_span), "{per_span} bytes per span");

    for s in &all {
        let dur_ms = (s.end_time_unix_nano - s.start_time_unix_nano) / 1_000_000;
        match s.name.as_str() {
            "rag_query" => {
                assert_eq!(s.kind, SpanKind::Server as i32);
                assert!(s.end_time_unix_nano >= NOW - SEC);
            }
            "retrieve" => {
                assert!((20..=80).contains(&dur_ms));
                assert_eq!(attr_str(s, "gen_ai.operation.name"), Some("retrieval"));
                assert!(attr_str(s, "gen_ai.data_source.id").is_some());
                assert!(attr_str(s, "gen_ai.retrieval.query.text").is_some());
            }
            "rerank" => {
                assert_eq!(attr_str(s, "gen_ai.operation.name"), Some("rerank"));
                assert!(attr_str(s, "gen_ai.request.model")
                    .unwrap()
                    .contains("rerank"));
            }
            "llm_call" => {
                assert_eq!(s.kind, SpanKind::Client as i32);
                assert!((500..=3000).contains(&dur_ms));
                assert_eq!(attr_str(s, "gen_ai.operation.name"), Some("chat"));
                let provider = attr_str(s, "gen_ai.provider.name").unwrap();
                assert!(provider == "anthropic" || provider == "openai");
                assert!(attr_str(s, "gen_ai.request.model").is_some());
                assert!(attr_str(s, "gen_ai.response.model").is_some());
                assert!(attr_int(s, "gen_ai.request.max_tokens").is_some());
                assert!(matches!(
                    attr(s, "gen_ai.request.temperature"),
                    Some(Value::DoubleValue(_))
                ));
                let input = attr_int(s, "gen_ai.usage.input_tokens").unwrap();
                let cache = attr_int(s, "gen_ai.usage.cache_read.input_tokens").unwrap_or(0);
                assert!(input > cache && attr_int(s, "gen_ai.usage.output_tokens").unwrap() > 0);
                let Some(Value::ArrayValue(fr)) = attr(s, "gen_ai.response.finish_reasons") else {
                    panic!("finish_reasons");
                };
                assert_eq!(fr.values.len(), 1);
                let text = check_messages(s)
                    + attr_str(s, "gen_ai.system_instructions").map_or(0, str::len);
                assert!((700..=1600).contains(&text), "{text} chars of message text");
            }
            "execute_tool" => {
                assert_eq!(attr_str(s, "gen_ai.operation.name"), Some("execute_tool"));
                assert!(attr_str(s, "gen_ai.tool.name").is_some());
            }
            other => panic!("unexpected span {other}"),
        }
    }
    // Cache reads happen sometimes, not always.
    let cached = all
        .iter()
        .filter(|s| attr_int(s, "gen_ai.usage.cache_read.input_tokens").is_some())
        .count();
    assert!(cached > 0 && cached < 20, "{cached}");
}

#[test]
fn rag_request_is_deterministic_and_ids_differ_between_requests() {
    let cfg = SynthConfig::default();
    let a = rag_request(&mut cfg.rng(), &cfg, 5, NOW);
    let b = rag_request(&mut cfg.rng(), &cfg, 5, NOW);
    assert_eq!(a, b);
    let mut rng = cfg.rng();
    let reqs: Vec<_> = (0..50)
        .map(|_| rag_request(&mut rng, &cfg, 20, NOW))
        .collect();
    let n = check_structure(reqs.iter().flat_map(spans), NOW);
    assert_eq!(n, 50 * 20);
}

#[test]
fn rag_request_sizes_across_seeds() {
    for seed in 0..20 {
        let cfg = SynthConfig::new("svc", seed);
        let req = rag_request(&mut cfg.rng(), &cfg, 20, NOW);
        let per_span = req.encoded_len() / 100;
        assert!((550..=800).contains(&per_span), "seed {seed}: {per_span}");
    }
}

#[test]
fn demo_contains_every_kind_and_errors() {
    let mut rng = StdRng::seed_from_u64(3);
    let spread = 6 * 3600;
    let reqs = demo_requests(&mut rng, 240, NOW, spread);
    assert_eq!(reqs.len(), 240);
    let all: Vec<&Span> = reqs.iter().flat_map(spans).collect();
    assert_eq!(check_structure(all.iter().copied(), NOW), 240);

    // Ordered by start, within the window (traces here are all shorter than the spread).
    let starts: Vec<u64> = reqs
        .iter()
        .map(|r| spans(r).map(|s| s.start_time_unix_nano).min().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    assert!(starts[0] >= NOW - spread * SEC);

    let services: HashSet<String> = reqs.iter().map(service).collect();
    for s in ["support-bot", "search-api", "research-agent"] {
        assert!(services.contains(s), "{s}");
    }

    // Users and sessions on roots; sessions span several traces.
    let mut sessions: HashMap<&str, usize> = HashMap::new();
    let mut users = HashSet::new();
    for root in all.iter().filter(|s| s.parent_span_id.is_empty()) {
        users.insert(attr_str(root, "user.id").expect("user.id on root"));
        *sessions
            .entry(attr_str(root, "session.id").expect("session.id on root"))
            .or_default() += 1;
    }
    assert!((3..=8).contains(&users.len()));
    assert!(sessions.values().filter(|n| **n >= 2).count() >= 10);

    let op = |s: &&Span, o: &str| attr_str(s, "gen_ai.operation.name") == Some(o);
    // Agents.
    let agents: Vec<_> = all.iter().filter(|s| op(s, "invoke_agent")).collect();
    assert!(!agents.is_empty());
    assert!(agents
        .iter()
        .all(|s| attr_str(s, "gen_ai.agent.name").is_some()));
    assert!(all.iter().any(|s| op(s, "execute_tool")
        && all
            .iter()
            .any(|p| p.span_id == s.parent_span_id && op(p, "invoke_agent"))));
    // Streaming.
    let streaming: Vec<_> = all
        .iter()
        .filter(|s| {
            matches!(
                attr(s, "gen_ai.request.stream"),
                Some(Value::BoolValue(true))
            )
        })
        .collect();
    assert!(!streaming.is_empty());
    assert!(streaming.iter().any(|s| matches!(
        attr(s, "gen_ai.response.time_to_first_chunk"),
        Some(Value::DoubleValue(v)) if *v > 0.0 && *v < 2.0
    )));
    // Embeddings, retrieval.
    assert!(all.iter().any(|s| op(s, "embeddings")
        && attr_str(s, "gen_ai.request.model") == Some("text-embedding-3-small")));
    assert!(all.iter().any(|s| op(s, "retrieval")));
    // Models and providers.
    let model = |s: &&&Span, m: &str| attr_str(s, "gen_ai.request.model") == Some(m);
    let chats: Vec<_> = all.iter().filter(|s| op(s, "chat")).collect();
    assert!(chats.iter().any(|s| model(s, "claude-sonnet-4-6")
        && attr_str(s, "gen_ai.provider.name") == Some("anthropic")
        && {
            let input = attr_int(s, "gen_ai.usage.input_tokens").unwrap_or(0);
            let read = attr_int(s, "gen_ai.usage.cache_read.input_tokens").unwrap_or(0);
            let write = attr_int(s, "gen_ai.usage.cache_creation.input_tokens").unwrap_or(0);
            read > 0 && write > 0 && input > read + write
        }));
    assert!(chats.iter().any(
        |s| model(s, "gpt-4o") && attr_int(s, "gen_ai.usage.cache_read.input_tokens").is_some()
    ));
    assert!(chats.iter().any(|s| model(s, "gemini-2.5-flash")
        && attr_str(s, "gen_ai.provider.name") == Some("gcp.gemini")));
    for s in &chats {
        check_messages(s);
    }

    // Errors: about 1 in 12 traces.
    let failed_traces: HashSet<&[u8]> = all
        .iter()
        .filter(|s| {
            s.status
                .as_ref()
                .is_some_and(|st| st.code == StatusCode::Error as i32)
        })
        .map(|s| s.trace_id.as_slice())
        .collect();
    assert_eq!(failed_traces.len(), 20);
    let mut error_types = HashSet::new();
    for s in all
        .iter()
        .filter(|s| s.events.iter().any(|e| e.name == "exception"))
    {
        let st = s.status.as_ref().expect("status on failed span");
        assert_eq!(st.code, StatusCode::Error as i32);
        assert!(!st.message.is_empty());
        error_types.insert(attr_str(s, "error.type").expect("error.type"));
        let ev = s.events.iter().find(|e| e.name == "exception").unwrap();
        for key in ["exception.type", "exception.message"] {
            assert!(ev.attributes.iter().any(|kv| kv.key == key), "{key}");
        }
    }
    assert!(error_types.contains("rate_limit_error"), "{error_types:?}");
    assert!(error_types.contains("timeout"), "{error_types:?}");
    // Every failed trace has a failed root and one span with an exception event.
    for trace in &failed_traces {
        let t: Vec<_> = all.iter().filter(|s| s.trace_id == *trace).collect();
        let root = t.iter().find(|s| s.parent_span_id.is_empty()).unwrap();
        assert_eq!(root.status.as_ref().unwrap().code, StatusCode::Error as i32);
        assert_eq!(
            t.iter()
                .filter(|s| s.events.iter().any(|e| e.name == "exception"))
                .count(),
            1
        );
    }
}

#[test]
fn small_demo_has_every_shape() {
    for seed in 0..10 {
        let mut rng = StdRng::seed_from_u64(seed);
        let reqs = demo_requests(&mut rng, 4, NOW, 60);
        let roots: HashSet<String> = reqs
            .iter()
            .flat_map(spans)
            .filter(|s| s.parent_span_id.is_empty())
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(roots.len(), 4, "{roots:?}");
        check_structure(reqs.iter().flat_map(spans), NOW);
    }
    let mut rng = StdRng::seed_from_u64(1);
    assert!(demo_requests(&mut rng, 0, NOW, 60).is_empty());
}

#[test]
fn json_escaping() {
    assert_eq!(js("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    let v: serde_json::Value = serde_json::from_str(&js("x\t\"y\"\r\n")).unwrap();
    assert_eq!(v, "x\t\"y\"\r\n");
}

#[test]
fn agent_traces_resend_their_growing_history() {
    let cfg = SynthConfig::new("agents", 7);
    let req = agent_request(&mut cfg.rng(), &cfg, 5, NOW);
    let all: Vec<&Span> = spans(&req).collect();
    assert_eq!(all.len(), 5 * AGENT_SPANS_PER_TRACE);
    let mut by_trace: HashMap<&[u8], Vec<&Span>> = HashMap::new();
    for s in &all {
        by_trace.entry(s.trace_id.as_slice()).or_default().push(s);
        assert!(s.end_time_unix_nano <= NOW);
    }
    assert_eq!(by_trace.len(), 5);
    for spans in by_trace.values() {
        let chats: Vec<&&Span> = spans
            .iter()
            .filter(|s| s.name.starts_with("chat "))
            .collect();
        let tools = spans
            .iter()
            .filter(|s| s.name.starts_with("execute_tool "))
            .count();
        assert!(
            (AGENT_CALLS.0..=AGENT_CALLS.1).contains(&chats.len()),
            "{} calls",
            chats.len()
        );
        assert_eq!(tools + 1, chats.len());
        let inputs: Vec<Vec<serde_json::Value>> = chats
            .iter()
            .map(|c| serde_json::from_str(attr_str(c, "gen_ai.input.messages").unwrap()).unwrap())
            .collect();
        for (k, pair) in inputs.windows(2).enumerate() {
            assert_eq!(pair[1].len(), pair[0].len() + 2, "call {k}");
            assert_eq!(
                pair[1][..pair[0].len()],
                pair[0][..],
                "call {k} resends the history"
            );
        }
        let distinct: HashSet<String> = inputs
            .iter()
            .flatten()
            .filter(|m| m["role"] != "system")
            .map(|m| m.to_string())
            .collect();
        // The question, and each round's tool call and tool result.
        assert_eq!(distinct.len(), 2 * chats.len() - 1);
    }
}
