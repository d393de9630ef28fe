//! [rig](https://crates.io/crates/rig-core) traced by llmtrace-sdk, against a local mock provider.
//!
//! ```sh
//! llmtrace serve &
//! OTEL_SERVICE_NAME=rig-app cargo run -p llmtrace-sdk --example rig_agent
//! ```
//!
//! rig sends through any transport implementing its `HttpClientExt`; `rig-reqwest` (feature
//! `reqwest-middleware-rustls`) makes one of a `reqwest_middleware::ClientWithMiddleware`, so the
//! provider clients are built on [`llmtrace_sdk::middleware::traced_client`] with `connect`. The
//! calls are plain rig calls, and each becomes a `chat {model}` / `embeddings {model}` span,
//! child of the caller's span.
//!
//! rig also opens its own `chat` / `embeddings` span around each call (targets
//! `rig::completions` / `rig::modalities`); unless `LLMTRACE_SDK_FILTER` says otherwise, this
//! example turns them off so each call is one span (kept, they would sit between the caller and
//! the llmtrace span; the server still counts each call once).
//!
//! Trace: `handle_question` → `chat claude-sonnet-4-6`, `chat gpt-4o-mini` (streamed, with time
//! to first token and usage), `embeddings text-embedding-3-small`.

#[path = "support/mock_provider.rs"]
mod mock_provider;

use futures_util::StreamExt as _;
use llmtrace_sdk::Instrument;
use rig_core::completion::CompletionRequest;
use rig_core::providers::anthropic::{Anthropic, AnthropicConfig};
use rig_core::providers::openai::{OpenAI, OpenAIConfig};
use rig_core::streaming::{Item, StreamEvent};

async fn handle_question(
    anthropic: &Anthropic,
    openai: &OpenAI,
) -> Result<String, Box<dyn std::error::Error>> {
    let answer = anthropic
        .completion("claude-sonnet-4-6")
        .call(CompletionRequest::new("Why is Rust memory safe?").max_tokens(256))
        .await?
        .text();

    let mut stream = openai
        .chat("gpt-4o-mini")
        .stream(CompletionRequest::new("What is the weather in Paris?"))?;
    let mut weather = String::new();
    while let Some(item) = stream.next().await {
        if let Item::Event(StreamEvent::Text { text, .. }) = item? {
            weather.push_str(&text);
        }
    }

    let vectors = openai
        .embedding("text-embedding-3-small", None)
        .call(vec![answer.clone()])
        .await?;
    Ok(format!(
        "{answer} / {weather} / {} dimensions",
        vectors.embeddings.first().map(|e| e.vec.len()).unwrap_or(0)
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut sdk = llmtrace_sdk::Builder::from_env();
    if std::env::var_os(llmtrace_sdk::FILTER_ENV).is_none() {
        sdk = sdk.filter("info,rig::completions=off,rig::modalities=off");
    }
    let _guard = sdk.install()?;
    let base = mock_provider::start().await?;

    // One traced transport for both providers.
    let http = rig_reqwest::ReqwestMiddlewareClient::from(llmtrace_sdk::middleware::traced_client(
        reqwest::Client::new(),
    ));
    let anthropic = AnthropicConfig::new("sk-ant-example")
        .with_base_url(&base)
        .connect(http.clone());
    let openai = OpenAIConfig::new("sk-example")
        .with_base_url(format!("{base}/v1"))
        .connect(http);

    let root = tracing::info_span!("handle_question");
    let answer = handle_question(&anthropic, &openai)
        .instrument(root.clone())
        .await?;
    println!("trace_id={}", trace_id(&root));
    println!("{answer}");
    Ok(())
}

fn trace_id(span: &tracing::Span) -> String {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.context().span().span_context().trace_id().to_string()
}
