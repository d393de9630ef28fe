//! A RAG pipeline instrumented with llmtrace-sdk, against a local mock provider.
//!
//! ```sh
//! llmtrace serve &                       # or any OTLP/HTTP endpoint
//! OTEL_SERVICE_NAME=rag-app cargo run -p llmtrace-sdk --example rag_pipeline
//! ```
//!
//! Trace: `invoke_workflow rag_query` → `embeddings text-embedding-3-small` (middleware),
//! `retrieval docs` (helper), `rerank rerank-v3.5` (helper), `chat claude-sonnet-4-6` (middleware,
//! streaming).

#[path = "support/mock_provider.rs"]
mod mock_provider;

use llmtrace_sdk::genai::{GenAiSpan, Usage};
use llmtrace_sdk::observe;
use reqwest_middleware::ClientWithMiddleware;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
enum RagError {
    #[error("provider call failed: {0}")]
    Http(#[from] reqwest_middleware::Error),
    #[error("reading the answer failed: {0}")]
    Body(#[from] reqwest::Error),
}

struct App {
    client: ClientWithMiddleware,
    base: String,
}

#[observe(kind = "retrieval", name = "docs")]
fn search(embedding: Vec<f64>, top_k: usize) -> Vec<String> {
    let _ = embedding;
    (0..top_k).map(|i| format!("chunk-{i}")).collect()
}

impl App {
    async fn embed(&self, text: &str) -> Result<Vec<f64>, RagError> {
        let v: serde_json::Value = self
            .client
            .post(format!("{}/v1/embeddings", self.base))
            .json(&json!({"model": "text-embedding-3-small", "input": text}))
            .send()
            .await?
            .json()
            .await?;
        Ok(v["data"][0]["embedding"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default())
    }

    fn rerank(&self, chunks: Vec<String>) -> Vec<String> {
        let span = GenAiSpan::rerank("cohere", "rerank-v3.5");
        span.in_scope(|| {
            span.record_usage(&Usage {
                input_tokens: Some(120),
                ..Default::default()
            });
            chunks.into_iter().take(2).collect()
        })
    }

    #[observe(kind = "chain", name = "rag_query")]
    async fn rag_query(&self, question: String) -> Result<String, RagError> {
        let embedding = self.embed(&question).await?;
        let chunks = self.rerank(search(embedding, 5));
        let resp = self
            .client
            .post(format!("{}/v1/messages", self.base))
            .header("anthropic-version", "2023-06-01")
            .json(&json!({
                "model": "claude-sonnet-4-6", "max_tokens": 512, "stream": true,
                "system": "Answer from the context.",
                "messages": [{"role": "user", "content": format!("{question}\n\ncontext: {chunks:?}")}]
            }))
            .send()
            .await?;
        // The caller streams the answer; the middleware records TTFT and usage on the way.
        let mut resp = resp;
        let mut answer = String::new();
        while let Some(chunk) = resp.chunk().await? {
            answer.push_str(&String::from_utf8_lossy(&chunk));
        }
        Ok(format!("{} bytes of SSE", answer.len()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = llmtrace_sdk::init()?;
    let client = llmtrace_sdk::middleware::traced_client(reqwest::Client::new());

    let base = mock_provider::start().await?;
    let app = App { client, base };
    let root = tracing::info_span!("handle_request", user.id = "alice");
    let answer = llmtrace_sdk::Instrument::instrument(
        app.rag_query("How does Rust prevent data races?".into()),
        root.clone(),
    )
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
