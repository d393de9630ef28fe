//! The real `rig` crate (rig-core, pinned) traced with the SDK, against the mock provider and a
//! real llmtrace server in process, read back through the query API.
//!
//! rig sends through any `HttpClientExt` transport; `rig-reqwest` (feature
//! `reqwest-middleware-rustls`) makes one of a `reqwest_middleware::ClientWithMiddleware`, so the
//! provider client is built on [`llmtrace_sdk::middleware::traced_client`]
//! (`OpenAIConfig::new(key).with_base_url(..).connect(http)`) and the calls are plain rig calls:
//! `Model::call` and `Model::stream` on `chat`, `completion` (OpenAI's Responses API) and
//! `embedding` models, OpenAI and Anthropic. Every call is one `chat {model}` /
//! `embeddings {model}` span, child of the span that made the call, also in spawned tasks.
//!
//! rig-core also opens its own GenAI span per call (`chat` / `embeddings`, targets
//! `rig::completions` / `rig::modalities`, INFO) and sends under it, so with the default filter
//! the middleware's span is a child of rig's: the SDK here is installed with those two targets
//! turned off. `rig_own_spans_with_the_default_filter` shows what the default gives.

mod common;

use common::{mock, server, span, spans, trace_id, wait_trace};
use futures_util::StreamExt as _;
use llmtrace_sdk::{Guard, Instrument};
use rig_core::completion::CompletionRequest;
use rig_core::error::ProviderError;
use rig_core::providers::anthropic::{Anthropic, AnthropicConfig};
use rig_core::providers::openai::{OpenAI, OpenAIConfig};
use rig_core::streaming::{CompletionStream, Item, StreamEvent};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

/// The SDK's default filter with rig's own call spans turned off: one span per call.
const WITHOUT_RIG_SPANS: &str = "info,rig::completions=off,rig::modalities=off";

fn sdk() -> &'static Guard {
    static GUARD: OnceLock<Guard> = OnceLock::new();
    GUARD.get_or_init(|| {
        llmtrace_sdk::Builder::new()
            .service_name("rig-client")
            .endpoint(server().url(""))
            .capture_content(true)
            .filter(WITHOUT_RIG_SPANS)
            .scheduled_delay(Duration::from_millis(100))
            .install()
            .unwrap()
    })
}

/// rig's transport: a reqwest client with the llmtrace middleware.
fn traced_http() -> rig_reqwest::ReqwestMiddlewareClient {
    rig_reqwest::ReqwestMiddlewareClient::from(llmtrace_sdk::middleware::traced_client(
        reqwest::Client::new(),
    ))
}

fn openai() -> OpenAI {
    OpenAIConfig::new("sk-test")
        .with_base_url(mock().url("/v1"))
        .connect(traced_http())
}

fn anthropic() -> Anthropic {
    AnthropicConfig::new("sk-ant-test")
        .with_base_url(mock().url(""))
        .connect(traced_http())
}

fn ask() -> CompletionRequest {
    CompletionRequest::new("Say hello")
}

/// Reads a streamed completion to its end: the text it streamed, and its final response's
/// input tokens.
async fn read(mut stream: CompletionStream) -> (String, Option<u64>) {
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        if let Item::Event(StreamEvent::Text { text: t, .. }) = item.unwrap() {
            text.push_str(&t);
        }
    }
    let response = stream.finish().await.unwrap();
    if text.is_empty() {
        text = response.text();
    }
    (text, response.usage.input_tokens)
}

fn id(s: &Value) -> &str {
    s["span_id"].as_str().unwrap()
}

fn status_of(error: &ProviderError) -> Option<u16> {
    match error {
        ProviderError::ProviderResponse(e) => e.status.map(|s| s.as_u16()),
        _ => None,
    }
}

fn assert_content(s: &Value) {
    assert_eq!(
        s["input_messages"][0]["parts"][0]["content"], "Say hello",
        "{s:#}"
    );
    assert_eq!(
        s["output_messages"][0]["parts"][0]["content"], "Hello world",
        "{s:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_calls_are_child_spans() {
    sdk();
    let openai = openai();
    let root = tracing::info_span!("rig_openai");
    let tid = trace_id(&root);
    async {
        let answer = openai.chat("gpt-4o").call(ask()).await.unwrap();
        assert_eq!(answer.text(), "Hello world");
        assert_eq!(answer.usage.input_tokens, Some(50));

        let streamed = openai.chat("gpt-4o-mini").stream(ask()).unwrap();
        assert_eq!(read(streamed).await, ("Hello world".into(), Some(50)));

        // rig's default OpenAI completion model speaks the Responses API.
        let answer = openai.completion("gpt-5").call(ask()).await.unwrap();
        assert_eq!(answer.text(), "Hello world");

        let vectors = openai
            .embedding("text-embedding-3-small", None)
            .call(vec!["hello".to_string()])
            .await
            .unwrap();
        assert_eq!(vectors.embeddings[0].vec.len(), 3);

        // Refused (400) and rate limited (429): rig-core surfaces both, without retrying.
        let refused = openai.chat("bad-model").call(ask()).await.unwrap_err();
        assert_eq!(status_of(&refused), Some(400), "{refused:?}");
        let limited = openai.chat("error-model").call(ask()).await.unwrap_err();
        assert_eq!(status_of(&limited), Some(429), "{limited:?}");
    }
    .instrument(root.clone())
    .await;
    drop(root);
    sdk().flush().unwrap();
    let t = wait_trace(&tid, 7).await;
    let root_id = id(span(&t, "rig_openai"));
    // One span per call, and no other (rig's own are filtered out).
    assert_eq!(t["spans"].as_array().unwrap().len(), 7, "{t:#}");

    let plain = span(&t, "chat gpt-4o");
    let streamed = span(&t, "chat gpt-4o-mini");
    let responses = span(&t, "chat gpt-5");
    let embeddings = span(&t, "embeddings text-embedding-3-small");
    let refused = span(&t, "chat bad-model");
    let limited = span(&t, "chat error-model");
    for s in [plain, streamed, responses, embeddings, refused, limited] {
        assert_eq!(s["parent_span_id"], root_id, "{}", s["name"]);
        assert_eq!(s["provider"], "openai", "{}", s["name"]);
        assert_eq!(s["otel_span_kind"], "client", "{}", s["name"]);
    }
    for s in [plain, streamed] {
        assert_eq!(s["kind"], "llm");
        assert_eq!(s["operation"], "chat");
        assert_eq!(s["attributes"]["openai.api.type"], "chat_completions");
        assert_eq!(s["request_model"], s["response_model"]);
        assert_eq!(s["input_tokens"], 50, "{s:#}");
        assert_eq!(s["cache_read_tokens"], 30);
        assert_eq!(s["output_tokens"], 20);
        assert_eq!(s["reasoning_tokens"], 7);
        assert_eq!(s["finish_reasons"], serde_json::json!(["stop"]));
        assert_eq!(s["status"], "unset");
        assert_content(s);
    }
    assert_eq!(plain["request_model"], "gpt-4o");
    assert!(plain["time_to_first_token_ms"].is_null(), "{plain:#}");
    assert_eq!(streamed["request_params"]["stream"], true);
    assert!(
        streamed["time_to_first_token_ms"].as_f64().is_some(),
        "{streamed:#}"
    );

    assert_eq!(responses["kind"], "llm");
    assert_eq!(responses["attributes"]["openai.api.type"], "responses");
    assert_eq!(responses["response_model"], "gpt-5");
    assert_eq!(responses["input_tokens"], 40);
    assert_eq!(responses["cache_read_tokens"], 16);
    assert_eq!(responses["output_tokens"], 10);
    assert_eq!(responses["reasoning_tokens"], 4);
    assert!(responses["time_to_first_token_ms"].is_null());
    assert_content(responses);

    assert_eq!(embeddings["kind"], "embedding");
    assert_eq!(embeddings["operation"], "embeddings");
    assert_eq!(embeddings["request_model"], "text-embedding-3-small");
    assert_eq!(embeddings["response_model"], "text-embedding-3-small");
    assert_eq!(embeddings["input_tokens"], 8);
    assert!(embeddings["time_to_first_token_ms"].is_null());

    for (s, code) in [(refused, "400"), (limited, "429")] {
        assert_eq!(s["kind"], "llm");
        assert_eq!(s["status"], "error", "{s:#}");
        assert_eq!(s["error_type"], code, "{s:#}");
        assert!(s["input_tokens"].is_null());
    }
    assert_eq!(spans(&t, "chat bad-model").len(), 1, "not retried");
    assert_eq!(spans(&t, "chat error-model").len(), 1, "not retried");
    assert_eq!(t["trace"]["llm_call_count"], 6, "{:#}", t["trace"]);
    assert_eq!(t["trace"]["failed_call_count"], 2);
    assert_eq!(t["trace"]["input_tokens"], 50 + 50 + 40 + 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_calls_are_child_spans() {
    sdk();
    let anthropic = anthropic();
    let root = tracing::info_span!("rig_anthropic");
    let tid = trace_id(&root);
    async {
        let answer = anthropic
            .completion("claude-sonnet-4-6")
            .call(ask())
            .await
            .unwrap();
        assert_eq!(answer.text(), "Hello world");
        let streamed = anthropic
            .completion("claude-haiku-4-5")
            .stream(ask())
            .unwrap();
        assert_eq!(read(streamed).await.0, "Hello world");
    }
    .instrument(root.clone())
    .await;
    drop(root);
    sdk().flush().unwrap();
    let t = wait_trace(&tid, 3).await;
    assert_eq!(t["spans"].as_array().unwrap().len(), 3, "{t:#}");
    let root_id = id(span(&t, "rig_anthropic"));
    let plain = span(&t, "chat claude-sonnet-4-6");
    let streamed = span(&t, "chat claude-haiku-4-5");
    for (s, model) in [(plain, "claude-sonnet-4-6"), (streamed, "claude-haiku-4-5")] {
        assert_eq!(s["parent_span_id"], root_id);
        assert_eq!(s["kind"], "llm");
        assert_eq!(s["provider"], "anthropic");
        assert_eq!(s["request_model"], model);
        assert_eq!(s["response_model"], format!("{model}-20260101"));
        assert_eq!(s["input_tokens"], 120, "{s:#}");
        assert_eq!(s["cache_read_tokens"], 100);
        assert_eq!(s["cache_write_tokens"], 8);
        assert_eq!(s["output_tokens"], 25);
        assert_eq!(s["finish_reasons"], serde_json::json!(["stop"]));
        assert_content(s);
    }
    assert!(plain["time_to_first_token_ms"].is_null());
    assert!(streamed["time_to_first_token_ms"].as_f64().is_some());
    assert_eq!(t["trace"]["llm_call_count"], 2);
}

/// rig calls (plain, streamed, embeddings) in tasks started with `spawn_traced` stay in the
/// caller's trace, as children of its span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_spawned_tasks_have_no_orphans() {
    sdk();
    let root = tracing::info_span!("rig_spawned");
    let tid = trace_id(&root);
    async {
        let openai = openai();
        let plain = llmtrace_sdk::spawn_traced({
            let model = openai.chat("gpt-4o");
            async move { model.call(ask()).await.unwrap().text() }
        });
        let streamed = llmtrace_sdk::spawn_traced({
            let model = openai.chat("gpt-4o-mini");
            async move { read(model.stream(ask()).unwrap()).await.0 }
        });
        let embedded = llmtrace_sdk::spawn_traced({
            let model = openai.embedding("text-embedding-3-small", None);
            async move { model.call(vec!["hello".to_string()]).await.unwrap() }
        });
        assert_eq!(plain.await.unwrap(), "Hello world");
        assert_eq!(streamed.await.unwrap(), "Hello world");
        assert_eq!(embedded.await.unwrap().embeddings.len(), 1);
    }
    .instrument(root.clone())
    .await;
    drop(root);
    sdk().flush().unwrap();
    let t = wait_trace(&tid, 4).await;
    let all = t["spans"].as_array().unwrap();
    assert_eq!(all.len(), 4, "{t:#}");
    let root_id = id(span(&t, "rig_spawned"));
    for name in [
        "chat gpt-4o",
        "chat gpt-4o-mini",
        "embeddings text-embedding-3-small",
    ] {
        assert_eq!(span(&t, name)["parent_span_id"], root_id, "{name}");
    }
    assert!(span(&t, "chat gpt-4o-mini")["time_to_first_token_ms"]
        .as_f64()
        .is_some());
    assert_eq!(t["trace"]["has_root"], true);
    assert_eq!(t["trace"]["llm_call_count"], 3);
}

/// With the SDK's default filter (`info`), rig's own span of each call is exported too and the
/// middleware's span is its child: `caller → chat (rig) → chat gpt-4o (llmtrace)`. The server
/// still counts each call once, with the usage read from the wire. (A scoped subscriber on this
/// test's single thread, so the other tests keep the process-wide one.)
#[tokio::test]
async fn rig_own_spans_with_the_default_filter() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let guard = llmtrace_sdk::Builder::new()
        .service_name("rig-default-filter")
        .endpoint(server().url(""))
        .capture_content(true)
        .export_metrics(false)
        .scheduled_delay(Duration::from_millis(100))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(
            llmtrace_sdk::DEFAULT_FILTER,
        ))
        .with(guard.tracing_layer());
    let _scoped = tracing::subscriber::set_default(subscriber);

    let openai = openai();
    let root = tracing::info_span!("rig_default_filter");
    let tid = trace_id(&root);
    async {
        openai.chat("gpt-4o").call(ask()).await.unwrap();
        read(openai.chat("gpt-4o-mini").stream(ask()).unwrap()).await;
    }
    .instrument(root.clone())
    .await;
    drop(root);
    guard.flush().unwrap();
    let t = wait_trace(&tid, 5).await;
    assert_eq!(t["spans"].as_array().unwrap().len(), 5, "{t:#}");
    let root_id = id(span(&t, "rig_default_filter"));
    let rig_spans = spans(&t, "chat");
    assert_eq!(rig_spans.len(), 2, "{t:#}");
    for r in &rig_spans {
        assert_eq!(r["parent_span_id"], root_id);
        assert_eq!(r["attributes"]["target"], "rig::completions", "{r:#}");
    }
    for name in ["chat gpt-4o", "chat gpt-4o-mini"] {
        let s = span(&t, name);
        let parent = s["parent_span_id"].as_str().unwrap();
        assert!(rig_spans.iter().any(|r| id(r) == parent), "{name}: {t:#}");
        assert_eq!(s["input_tokens"], 50);
    }
    assert_eq!(t["trace"]["llm_call_count"], 2, "{:#}", t["trace"]);
    assert_eq!(t["trace"]["input_tokens"], 100);
    assert_eq!(t["trace"]["output_tokens"], 40);
}
