//! `async-openai` traced by llmtrace-sdk, against a local mock provider.
//!
//! ```sh
//! llmtrace serve &
//! OTEL_SERVICE_NAME=async-openai-app cargo run -p llmtrace-sdk --example async_openai
//! ```
//!
//! The client's HTTP goes through the SDK's middleware: `async-openai` (with its `middleware`
//! feature) takes a tower service that executes each request, and the service sends it with
//! [`llmtrace_sdk::middleware::traced_client`]. The calls themselves are written as usual, and
//! each becomes a `chat {model}` / `embeddings {model}` span, child of the caller's span.
//! The embeddings call shows the other way, for clients without a hook: [`llmtrace_sdk::typed`].
//!
//! Trace: `answer_question` → `chat gpt-4o-mini` (plain), `chat gpt-4o-mini` (streamed, with
//! time to first token and usage), `embeddings text-embedding-3-small`.

#[path = "support/mock_provider.rs"]
mod mock_provider;

use async_openai::config::OpenAIConfig;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, ChatCompletionStreamOptions,
    CreateChatCompletionRequestArgs,
};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use futures_util::StreamExt as _;
use llmtrace_sdk::typed::{self, Api};
use llmtrace_sdk::Instrument;

/// An `async-openai` client whose requests go through the llmtrace middleware.
fn traced_openai(config: OpenAIConfig) -> async_openai::Client<OpenAIConfig> {
    let http = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());
    let service = tower::service_fn(move |factory: HttpRequestFactory| {
        let http = http.clone();
        async move {
            let request = factory.build().await?;
            Ok::<_, tower::BoxError>(http.execute(request).await?)
        }
    });
    async_openai::Client::with_config(config).with_http_service(service)
}

async fn answer_question(
    client: &async_openai::Client<OpenAIConfig>,
    plain: &async_openai::Client<OpenAIConfig>,
) -> Result<String, Box<dyn std::error::Error>> {
    let question = ChatCompletionRequestUserMessageArgs::default()
        .content("What is the weather in Paris?")
        .build()?;
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([question.clone().into()])
        .build()?;
    let first = client.chat().create(request).await?;

    let streamed = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([question.into()])
        .stream(true)
        .stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        })
        .build()?;
    let mut stream = client.chat().create_stream(streamed).await?;
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            text.push_str(choice.delta.content.as_deref().unwrap_or(""));
        }
    }

    // A client without the hook: wrap the call instead.
    let embed = CreateEmbeddingRequestArgs::default()
        .model("text-embedding-3-small")
        .input(text.clone())
        .build()?;
    let vectors = typed::call(
        Api::OpenAiEmbeddings,
        &embed,
        plain.embeddings().create(embed.clone()),
    )
    .await?;
    Ok(format!(
        "{} / {text} / {} dimensions",
        first
            .choices
            .first()
            .and_then(|c| c.message.content.clone())
            .unwrap_or_default(),
        vectors.data.first().map(|d| d.embedding.len()).unwrap_or(0)
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = llmtrace_sdk::init()?;
    let base = mock_provider::start().await?;
    let config = OpenAIConfig::new()
        .with_api_base(format!("{base}/v1"))
        .with_api_key("sk-example");
    let client = traced_openai(config.clone());
    let plain = async_openai::Client::with_config(config);
    let root = tracing::info_span!("answer_question");
    let answer = answer_question(&client, &plain)
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
