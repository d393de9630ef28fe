//! The real `async-openai` crate (pinned) traced both ways the SDK offers, against the mock
//! provider and a real llmtrace server in process, read back through the query API: through the
//! middleware (async-openai's tower service hook) and with the `typed` wrappers around a plain
//! client. Plain and streamed chat, Responses, embeddings, a failing call, and calls made from a
//! spawned task: every span is a child of the span that made the call.

mod common;

use async_openai::config::OpenAIConfig;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, ChatCompletionStreamOptions, CreateChatCompletionRequest,
    CreateChatCompletionRequestArgs,
};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use async_openai::types::responses::CreateResponseArgs;
use common::{mock, server, span, trace_id, wait_trace};
use futures_util::StreamExt as _;
use llmtrace_sdk::typed::{self, Api};
use llmtrace_sdk::{Guard, Instrument};
use serde_json::Value;
use std::sync::OnceLock;

fn sdk() -> &'static Guard {
    static GUARD: OnceLock<Guard> = OnceLock::new();
    GUARD.get_or_init(|| {
        llmtrace_sdk::Builder::new()
            .service_name("typed-clients")
            .endpoint(server().url(""))
            .capture_content(true)
            .scheduled_delay(std::time::Duration::from_millis(100))
            .install()
            .unwrap()
    })
}

fn config() -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base(mock().url("/v1"))
        .with_api_key("sk-test")
}

/// An async-openai client whose HTTP goes through the llmtrace middleware.
fn traced_openai() -> async_openai::Client<OpenAIConfig> {
    let http = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());
    let service = tower::service_fn(move |factory: HttpRequestFactory| {
        let http = http.clone();
        async move {
            let request = factory.build().await?;
            Ok::<_, tower::BoxError>(http.execute(request).await?)
        }
    });
    async_openai::Client::with_config(config()).with_http_service(service)
}

fn chat(model: &str, stream: bool) -> CreateChatCompletionRequest {
    let question = ChatCompletionRequestUserMessageArgs::default()
        .content("Say hello")
        .build()
        .unwrap();
    let mut args = CreateChatCompletionRequestArgs::default();
    args.model(model).messages([question.into()]);
    if stream {
        args.stream(true)
            .stream_options(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            });
    }
    args.build().unwrap()
}

/// Chat (plain and streamed), Responses and embeddings with `client`; streamed text.
async fn calls(client: &async_openai::Client<OpenAIConfig>, wrap: bool) -> String {
    let plain = chat("gpt-4o", false);
    let answer = if wrap {
        typed::call(Api::OpenAiChat, &plain, client.chat().create(plain.clone())).await
    } else {
        client.chat().create(plain).await
    }
    .unwrap();
    assert_eq!(
        answer.choices[0].message.content.as_deref(),
        Some("Hello world")
    );

    let streamed = chat("gpt-4o-mini", true);
    let mut text = String::new();
    if wrap {
        let mut s = typed::stream(
            Api::OpenAiChat,
            &streamed,
            client.chat().create_stream(streamed.clone()),
        )
        .await
        .unwrap();
        while let Some(chunk) = s.next().await {
            for c in chunk.unwrap().choices {
                text.push_str(c.delta.content.as_deref().unwrap_or(""));
            }
        }
    } else {
        let mut s = client.chat().create_stream(streamed).await.unwrap();
        while let Some(chunk) = s.next().await {
            for c in chunk.unwrap().choices {
                text.push_str(c.delta.content.as_deref().unwrap_or(""));
            }
        }
    }

    let response = CreateResponseArgs::default()
        .model("gpt-5")
        .input("Say hello")
        .build()
        .unwrap();
    if wrap {
        typed::call(
            Api::OpenAiResponses,
            &response,
            client.responses().create(response.clone()),
        )
        .await
        .unwrap();
    } else {
        client.responses().create(response).await.unwrap();
    }

    let embed = CreateEmbeddingRequestArgs::default()
        .model("text-embedding-3-small")
        .input("hello")
        .build()
        .unwrap();
    let vectors = if wrap {
        typed::call(
            Api::OpenAiEmbeddings,
            &embed,
            client.embeddings().create(embed.clone()),
        )
        .await
    } else {
        client.embeddings().create(embed).await
    }
    .unwrap();
    assert_eq!(vectors.data[0].embedding.len(), 3);

    // A call the provider refuses (HTTP 400, not retried).
    let bad = chat("bad-model", false);
    let refused = if wrap {
        typed::call(Api::OpenAiChat, &bad, client.chat().create(bad.clone())).await
    } else {
        client.chat().create(bad).await
    };
    assert!(refused.is_err());
    text
}

fn id(s: &Value) -> &str {
    s["span_id"].as_str().unwrap()
}

fn check(t: &Value, parent: &str, how: &str) {
    let plain = span(t, "chat gpt-4o");
    let streamed = span(t, "chat gpt-4o-mini");
    let responses = span(t, "chat gpt-5");
    let embeddings = span(t, "embeddings text-embedding-3-small");
    let refused = span(t, "chat bad-model");
    for s in [plain, streamed, responses, embeddings, refused] {
        assert_eq!(s["parent_span_id"], parent, "{how}: {}", s["name"]);
        assert_eq!(s["provider"], "openai", "{how}");
        assert_eq!(s["otel_span_kind"], "client", "{how}");
    }
    for s in [plain, streamed] {
        assert_eq!(s["kind"], "llm", "{how}");
        assert_eq!(s["input_tokens"], 50, "{how}: {s:#}");
        assert_eq!(s["output_tokens"], 20, "{how}");
        assert_eq!(s["cache_read_tokens"], 30, "{how}");
        assert_eq!(s["reasoning_tokens"], 7, "{how}");
        assert_eq!(s["status"], "unset", "{how}");
        assert_eq!(
            s["input_messages"][0]["parts"][0]["content"], "Say hello",
            "{how}"
        );
        assert_eq!(
            s["output_messages"][0]["parts"][0]["content"], "Hello world",
            "{how}: {s:#}"
        );
    }
    assert!(plain["time_to_first_token_ms"].is_null(), "{how}");
    let ttft = streamed["time_to_first_token_ms"].as_f64();
    assert!(ttft.is_some(), "{how}: {streamed:#}");
    // The span lasts until the stream ended, so past its first chunk.
    assert!(
        streamed["duration_ms"].as_f64() >= ttft,
        "{how}: duration before the first token: {streamed:#}"
    );
    assert_eq!(responses["input_tokens"], 40, "{how}");
    assert_eq!(responses["output_tokens"], 10, "{how}");
    assert_eq!(responses["cache_read_tokens"], 16, "{how}");
    assert_eq!(embeddings["kind"], "embedding", "{how}");
    assert_eq!(embeddings["input_tokens"], 8, "{how}");
    assert_eq!(refused["status"], "error", "{how}: {refused:#}");
    assert!(
        refused["cost_usd"].is_null() || refused["input_tokens"].is_null(),
        "{how}"
    );
    assert_eq!(t["trace"]["llm_call_count"], 5, "{how}: {:#}", t["trace"]);
    assert_eq!(t["trace"]["failed_call_count"], 1, "{how}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_openai_through_the_middleware_hook() {
    sdk();
    let client = traced_openai();
    let root = tracing::info_span!("middleware_hook");
    let tid = trace_id(&root);
    let text = calls(&client, false).instrument(root.clone()).await;
    assert_eq!(text, "Hello world");
    drop(root);
    sdk().flush().unwrap();
    let t = wait_trace(&tid, 6).await;
    check(&t, id(span(&t, "middleware_hook")), "middleware hook");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_openai_with_typed_wrappers() {
    sdk();
    let client = async_openai::Client::with_config(config());
    let root = tracing::info_span!("typed_wrappers");
    let tid = trace_id(&root);
    let text = calls(&client, true).instrument(root.clone()).await;
    assert_eq!(text, "Hello world");
    drop(root);
    sdk().flush().unwrap();
    let t = wait_trace(&tid, 6).await;
    check(&t, id(span(&t, "typed_wrappers")), "typed wrappers");
}

/// Calls made in spawned tasks stay in the caller's trace (spawn_traced), both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_spawned_tasks_have_no_orphans() {
    sdk();
    let root = tracing::info_span!("spawned_calls");
    let tid = trace_id(&root);
    async {
        let hooked = llmtrace_sdk::spawn_traced(async {
            let client = traced_openai();
            client.chat().create(chat("gpt-4o", false)).await.unwrap();
        });
        let wrapped = llmtrace_sdk::spawn_traced(async {
            let client = async_openai::Client::with_config(config());
            let r = chat("gpt-4o-mini", false);
            typed::call(Api::OpenAiChat, &r, client.chat().create(r.clone()))
                .await
                .unwrap();
        });
        hooked.await.unwrap();
        wrapped.await.unwrap();
    }
    .instrument(root.clone())
    .await;
    drop(root);
    sdk().flush().unwrap();
    let t = wait_trace(&tid, 3).await;
    let root_id = id(span(&t, "spawned_calls")).to_string();
    for name in ["chat gpt-4o", "chat gpt-4o-mini"] {
        assert_eq!(span(&t, name)["parent_span_id"], root_id.as_str(), "{name}");
    }
}
