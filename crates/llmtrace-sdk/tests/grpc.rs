//! OTLP/gRPC export (feature `grpc`): `cargo test -p llmtrace-sdk --features grpc --test grpc`.
#![cfg(feature = "grpc")]

mod common;

use common::{server, trace_id, wait_trace};

#[tokio::test]
async fn grpc_export_reaches_the_server() {
    let guard = llmtrace_sdk::Builder::new()
        .service_name("grpc-test")
        .protocol(llmtrace_sdk::Protocol::Grpc)
        .endpoint(format!("http://{}", server().grpc))
        .header("x-test", "1")
        .install()
        .unwrap();
    let root = tracing::info_span!("grpc_root");
    let tid = trace_id(&root);
    root.in_scope(|| {
        let call = llmtrace_sdk::genai::GenAiSpan::chat("openai", "gpt-4o");
        call.record_usage(&llmtrace_sdk::genai::Usage::new(10, 2));
    });
    drop(root);
    drop(guard);
    let t = wait_trace(&tid, 2).await;
    assert_eq!(t["trace"]["service"], "grpc-test");
    assert_eq!(t["trace"]["input_tokens"], 10);
}
