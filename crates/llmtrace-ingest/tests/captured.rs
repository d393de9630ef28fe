//! Golden tests from real captures: what LiteLLM's callbacks, the Vercel AI SDK 7 and
//! OpenLLMetry for Node sent to a capture server (`tests/fixtures/*/<setup>.json`, OTLP/JSON),
//! decoded, normalized and priced exactly as the ingest path does.

use llmtrace_model::{Span, SpanKind, StatusCode};
use llmtrace_otlp::{ConvertLimits, Format};
use std::path::Path;

/// The spans of a captured OTLP/JSON export, normalized and priced with the built-in table.
fn captured(rel: &str) -> Vec<Span> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let req = llmtrace_otlp::decode_traces(&body, Format::Json).expect("fixture decodes");
    let mut spans =
        llmtrace_otlp::spans_from_request(req, "default", &ConvertLimits::default()).items;
    let normalizer = llmtrace_normalize::Normalizer::new();
    let book = llmtrace_pricing::PriceBook::builtin().unwrap();
    for s in &mut spans {
        normalizer.normalize(s);
        llmtrace_pricing::apply(&book, s);
        llmtrace_ingest::provider_from_price(&book, s);
    }
    spans.sort_by_key(|s| s.start_unix_nano);
    spans
}

/// A one-line digest of a normalized span, for failure messages.
fn digest(s: &Span) -> String {
    format!(
        "{} kind={:?} op={:?} provider={:?} model={:?} usage={:?} counts={} cost={:?} reported={:?} unpriced={} status={:?} err={:?} ttft={:?} stream={:?} user={:?} session={:?}",
        s.name,
        s.kind,
        s.gen_ai.operation,
        s.gen_ai.provider,
        s.model(),
        s.usage,
        s.counts_usage,
        s.cost.computed.map(|m| m.pico_usd),
        s.cost.reported.map(|m| m.pico_usd),
        s.cost.unpriced,
        s.status,
        s.gen_ai.error_type,
        s.gen_ai.time_to_first_token_s,
        s.gen_ai.params.stream,
        s.gen_ai.user_id,
        s.gen_ai.session_id,
    )
}

/// The model calls of a capture (llm and embedding spans), in start order.
fn calls(rel: &str) -> Vec<Span> {
    captured(rel)
        .into_iter()
        .filter(|s| s.kind.is_model_call())
        .collect()
}

/// What one LiteLLM setup shows, beyond what every setup shares.
struct LiteLlmSetup {
    fixture: &'static str,
    /// Operation of the chat calls (Langfuse's observation type on the Langfuse paths).
    chat_operation: &'static str,
    /// Kind of the embedding span (LiteLLM's `langfuse` callback sends it as a generation).
    embedding_kind: SpanKind,
    /// Whether the streamed call carries a time to first token.
    stream_ttft: bool,
    user: Option<&'static str>,
    session: Option<&'static str>,
}

const LITELLM_SETUPS: &[LiteLlmSetup] = &[
    LiteLlmSetup {
        fixture: "litellm/otel.json",
        chat_operation: "chat",
        embedding_kind: SpanKind::Embedding,
        stream_ttft: false,
        user: Some("user-litellm-1"),
        session: None,
    },
    LiteLlmSetup {
        fixture: "litellm/otel-semconv.json",
        chat_operation: "chat",
        embedding_kind: SpanKind::Embedding,
        stream_ttft: false,
        user: Some("user-litellm-1"),
        session: None,
    },
    LiteLlmSetup {
        fixture: "litellm/otel-v2.json",
        chat_operation: "chat",
        embedding_kind: SpanKind::Embedding,
        stream_ttft: true,
        user: None,
        session: Some("sess-litellm-1"),
    },
    LiteLlmSetup {
        fixture: "litellm/langfuse_otel.json",
        chat_operation: "generation",
        embedding_kind: SpanKind::Embedding,
        stream_ttft: true,
        user: Some("user-litellm-1"),
        session: Some("sess-litellm-1"),
    },
    LiteLlmSetup {
        fixture: "litellm/langfuse.json",
        chat_operation: "generation",
        embedding_kind: SpanKind::Llm,
        stream_ttft: true,
        user: Some("user-litellm-1"),
        session: Some("sess-litellm-1"),
    },
];

/// LiteLLM 1.110.2 against the mock provider, in every callback setup: a plain, a streamed and
/// a cached Anthropic call (the mock's usage always has cache reads and writes), an OpenAI call,
/// an embedding and a failing call. Tokens are the mock's truth on llmtrace's convention, the
/// reported cost is LiteLLM's own (`<setup>.driver.json`), providers are known, the failed call
/// is an error with nothing to price, and only the streamed call has a time to first token.
#[test]
fn litellm_callbacks_give_the_bill_the_errors_and_the_kinds() {
    for setup in LITELLM_SETUPS {
        let f = setup.fixture;
        let driver: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures")
                    .join(f.replace(".json", ".driver.json")),
            )
            .unwrap(),
        )
        .unwrap();
        let litellm_cost = |name: &str| -> Option<i64> {
            let call = driver["calls"]
                .as_array()?
                .iter()
                .find(|c| c["name"] == name)?;
            Some((call["litellm_cost"].as_f64()? * 1e12).round() as i64)
        };
        let calls = calls(f);
        let all: Vec<String> = calls.iter().map(digest).collect();
        assert_eq!(calls.len(), 5, "{f}: {all:#?}");
        let [plain, stream, openai, embedding, fail] = [0, 1, 2, 3, 4].map(|i| &calls[i]);
        let tokens = |s: &Span| {
            (
                s.usage.input,
                s.usage.output,
                s.usage.cache_read.filter(|n| *n > 0),
                s.usage.cache_write.filter(|n| *n > 0),
            )
        };
        for (s, name, want, provider) in [
            (
                plain,
                "plain",
                (Some(160), Some(45), Some(30), Some(10)),
                "anthropic",
            ),
            (
                stream,
                "stream",
                (Some(160), Some(20), Some(30), Some(10)),
                "anthropic",
            ),
            (
                openai,
                "openai",
                (Some(90), Some(25), Some(40), None),
                "openai",
            ),
            (
                embedding,
                "embedding",
                (Some(16), Some(0), None, None),
                "openai",
            ),
        ] {
            let d = digest(s);
            assert_eq!(tokens(s), want, "{f} {name}: {d}");
            assert!(s.counts_usage, "{f} {name}: {d}");
            assert_ne!(s.status, StatusCode::Error, "{f} {name}: {d}");
            assert_eq!(
                s.gen_ai.provider.as_deref(),
                Some(provider),
                "{f} {name}: {d}"
            );
            assert!(!s.cost.unpriced, "{f} {name}: {d}");
            // LiteLLM's own cost is the reported one, and our price book agrees with it.
            let reported = s.cost.reported.map(|m| m.pico_usd);
            assert_eq!(reported, litellm_cost(name), "{f} {name}: {d}");
            assert_eq!(
                s.cost.computed.map(|m| m.pico_usd),
                reported,
                "{f} {name}: {d}"
            );
            assert_eq!(s.gen_ai.user_id.as_deref(), setup.user, "{f} {name}: {d}");
            assert_eq!(
                s.gen_ai.session_id.as_deref(),
                setup.session,
                "{f} {name}: {d}"
            );
            let ttft = s.gen_ai.time_to_first_token_s.is_some();
            assert_eq!(
                ttft,
                name == "stream" && setup.stream_ttft,
                "{f} {name}: {d}"
            );
        }
        for s in [plain, stream, openai] {
            assert_eq!(s.kind, SpanKind::Llm, "{f}: {}", digest(s));
            assert_eq!(
                s.gen_ai.operation.as_deref(),
                Some(setup.chat_operation),
                "{f}: {}",
                digest(s)
            );
        }
        assert_eq!(
            stream.gen_ai.params.stream,
            Some(true),
            "{f}: {}",
            digest(stream)
        );
        assert_eq!(
            embedding.kind,
            setup.embedding_kind,
            "{f}: {}",
            digest(embedding)
        );
        let d = digest(fail);
        assert_eq!(fail.status, StatusCode::Error, "{f}: {d}");
        assert!(
            !fail.cost.unpriced,
            "{f}: a failed call without usage is not unpriced: {d}"
        );
        assert_eq!(fail.cost.computed, None, "{f}: {d}");
        assert_eq!(fail.gen_ai.time_to_first_token_s, None, "{f}: {d}");
    }
}

/// LiteLLM's `langfuse` callback sends `{"input": 130, "output": 45, "total": 205, ...}` for 160
/// prompt tokens (its `input` already holds the 10 cache writes it lists apart): the total
/// decides, and the span says so; the setups that agree with their totals are not marked.
#[test]
fn a_usage_total_decides_when_its_parts_disagree() {
    let mark = llmtrace_semconv::llmtrace::USAGE_TOTAL_MISMATCH;
    let marked = |f: &str| -> Vec<bool> {
        calls(f)
            .iter()
            .map(|s| s.attributes.get(mark).is_some())
            .collect()
    };
    assert_eq!(
        marked("litellm/langfuse.json"),
        [true, true, false, false, false]
    );
    for f in ["litellm/otel.json", "litellm/langfuse_otel.json"] {
        assert!(marked(f).iter().all(|m| !m), "{f}");
    }
}

/// Embedding spans that name no provider get it from the price entry that matched their model,
/// and say so.
#[test]
fn provider_from_the_matched_price_is_marked() {
    for f in ["litellm/otel.json", "litellm/langfuse_otel.json"] {
        let calls = calls(f);
        let e = calls
            .iter()
            .find(|s| s.model() == Some("text-embedding-3-small"))
            .unwrap();
        assert_eq!(e.gen_ai.provider.as_deref(), Some("openai"), "{f}");
        assert!(
            e.attributes
                .get_str(llmtrace_semconv::llmtrace::PROVIDER_FROM_PRICE)
                .is_some_and(|id| id.contains("text-embedding-3-small")),
            "{f}: {:?}",
            e.attributes
        );
        let plain = &calls[0];
        assert!(plain
            .attributes
            .get(llmtrace_semconv::llmtrace::PROVIDER_FROM_PRICE)
            .is_none());
    }
}

/// The Vercel AI SDK 7 (`ai` 7.0.185, `@ai-sdk/otel`), both telemetry formats: user and session
/// from the runtime context (`ai.settings.context.*`) on the spans that carry it, the new
/// format's streamed `chat` span marked as streaming from its time to first chunk, and the
/// true tokens on the calls that count.
#[test]
fn vercel_ai_sdk_7_runtime_context_and_streaming() {
    for f in ["ai_sdk7/new.json", "ai_sdk7/legacy.json"] {
        let spans = captured(f);
        let carrying: Vec<&Span> = spans
            .iter()
            .filter(|s| s.attributes.get("ai.settings.context.userId").is_some())
            .collect();
        assert!(!carrying.is_empty(), "{f}");
        for s in &carrying {
            assert_eq!(
                s.gen_ai.user_id.as_deref(),
                Some("user-node-1"),
                "{f}: {}",
                digest(s)
            );
            assert_eq!(
                s.gen_ai.session_id.as_deref(),
                Some("sess-node-1"),
                "{f}: {}",
                digest(s)
            );
        }
        // Every root span carries them, so every trace gets them.
        for root in spans.iter().filter(|s| s.parent_span_id.is_none()) {
            assert_eq!(
                root.gen_ai.user_id.as_deref(),
                Some("user-node-1"),
                "{f}: {}",
                digest(root)
            );
        }
        let counted: Vec<&Span> = spans
            .iter()
            .filter(|s| s.kind.is_model_call() && s.counts_usage)
            .collect();
        let streamed: Vec<&Span> = counted
            .iter()
            .copied()
            .filter(|s| s.gen_ai.time_to_first_token_s.is_some())
            .collect();
        assert_eq!(
            streamed.len(),
            1,
            "{f}: {:#?}",
            counted.iter().map(|s| digest(s)).collect::<Vec<_>>()
        );
        assert_eq!(streamed[0].gen_ai.params.stream, Some(true), "{f}");
        assert_eq!(streamed[0].usage.output, Some(20), "{f}");
        let inputs: u64 = counted.iter().filter_map(|s| s.usage.input).sum();
        // 160 (generate) + 160 (stream) + 2 × 90 (tool loop) + 8 (embed).
        assert_eq!(inputs, 508, "{f}");
    }
}
