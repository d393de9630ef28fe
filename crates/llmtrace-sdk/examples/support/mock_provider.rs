//! A local mock of the Anthropic Messages and OpenAI Chat Completions (plain and streamed) /
//! Embeddings APIs, so the
//! examples run offline. Answers are canned; usage is realistic.

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// A response id no other answer has, in this process or another example's (one provider
/// response seen twice counts once, across traces too).
fn next_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Starts the mock on a free loopback port; returns its base URL.
pub(crate) async fn start() -> std::io::Result<String> {
    let app = axum::Router::new()
        .route("/v1/messages", post(anthropic))
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/embeddings", post(embeddings));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

async fn anthropic(Json(req): Json<Value>) -> Response {
    let model = req["model"].as_str().unwrap_or("claude").to_string();
    let usage = json!({"input_tokens": 220, "cache_read_input_tokens": 1800, "cache_creation_input_tokens": 0, "output_tokens": 1});
    if req["stream"] == true {
        let events = [
            (
                "message_start",
                json!({"type": "message_start", "message": {"id": format!("msg_{}", next_id()), "model": model, "role": "assistant", "content": [], "usage": usage}}),
            ),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Rust's ownership model "}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "prevents data races at compile time."}}),
            ),
            (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            (
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 64}}),
            ),
            ("message_stop", json!({"type": "message_stop"})),
        ];
        let chunks: Vec<String> = events
            .iter()
            .map(|(e, d)| format!("event: {e}\ndata: {d}\n\n"))
            .collect();
        let stream = futures_util::stream::unfold(chunks.into_iter(), |mut it| async move {
            let next = it.next()?;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Some((Ok::<Bytes, std::io::Error>(Bytes::from(next)), it))
        });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap_or_default();
    }
    Json(json!({
        "id": format!("msg_{}", next_id()), "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "Rust's ownership model prevents data races."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 220, "cache_read_input_tokens": 1800, "cache_creation_input_tokens": 0, "output_tokens": 64}
    }))
    .into_response()
}

/// First turn: two tool calls. After tool results: the final answer.
async fn openai_chat(Json(req): Json<Value>) -> Response {
    let model = req["model"].as_str().unwrap_or("gpt-4o").to_string();
    if req["stream"] == true {
        return openai_chat_stream(&model, req["stream_options"]["include_usage"] == true);
    }
    let after_tools = req["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
    let (message, finish) = if after_tools {
        (
            json!({"role": "assistant", "content": "It is 18°C and 14:05 in Paris."}),
            "stop",
        )
    } else {
        (
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{\"city\":\"Paris\"}"}}
            ]}),
            "tool_calls",
        )
    };
    Json(json!({
        "id": format!("chatcmpl-{}", next_id()), "object": "chat.completion", "created": 1764000000,
        "model": format!("{model}-2024-08-06"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 310, "completion_tokens": 42, "total_tokens": 352, "prompt_tokens_details": {"cached_tokens": 256}}
    }))
    .into_response()
}

/// A streamed answer in three chunks (and the usage, when asked for with `include_usage`).
fn openai_chat_stream(model: &str, include_usage: bool) -> Response {
    let id = format!("chatcmpl-{}", next_id());
    let chunk = |delta: Value, finish: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": 1764000000,
               "model": format!("{model}-2024-08-06"),
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut events = vec![
        chunk(
            json!({"role": "assistant", "content": "Paris is "}),
            Value::Null,
        ),
        chunk(json!({"content": "sunny today."}), Value::Null),
        chunk(json!({}), json!("stop")),
    ];
    if include_usage {
        events.push(json!({"id": id, "object": "chat.completion.chunk",
            "created": 1764000000, "model": format!("{model}-2024-08-06"), "choices": [],
            "usage": {"prompt_tokens": 120, "completion_tokens": 6, "total_tokens": 126,
                      "prompt_tokens_details": {"cached_tokens": 0}}}));
    }
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(body))
        .unwrap_or_default()
}

async fn embeddings(Json(req): Json<Value>) -> Response {
    Json(json!({
        "object": "list", "model": req["model"],
        "data": [{"object": "embedding", "index": 0, "embedding": [0.12, -0.03, 0.88]}],
        "usage": {"prompt_tokens": 9, "total_tokens": 9}
    }))
    .into_response()
}
