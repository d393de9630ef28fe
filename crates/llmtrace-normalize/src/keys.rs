//! Attribute keys, event names and values this crate reads that `llmtrace-semconv` does not (yet)
//! define. Kept in one place so they can move to `llmtrace-semconv` unchanged.

/// `max_completion_tokens` request parameter (OpenLLMetry semconv-ai), a fallback for max tokens.
pub(crate) const REQUEST_MAX_COMPLETION_TOKENS: &str = "gen_ai.request.max_completion_tokens";
/// Seed before v1.30 (deprecated OTel name).
pub(crate) const OPENAI_REQUEST_SEED: &str = "gen_ai.openai.request.seed";
/// Streaming flag (OpenLLMetry >= 0.5), a fallback for `gen_ai.request.stream`.
pub(crate) const IS_STREAMING: &str = "gen_ai.is_streaming";
/// Time to first chunk in seconds, the metric name reused as a span attribute (pydantic-ai).
pub(crate) const CLIENT_TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
/// Time to first token in seconds, the metric name reused as a span attribute (OpenLIT).
pub(crate) const SERVER_TIME_TO_FIRST_TOKEN: &str = "gen_ai.server.time_to_first_token";

/// The provider API's `user` request field (not necessarily the application user).
pub(crate) const GEN_AI_USER: &str = "gen_ai.user";
/// The provider API's `user` request field, OpenLLMetry legacy name.
pub(crate) const LLM_USER: &str = "llm.user";
/// The provider API's `user` request field, OpenLIT name.
pub(crate) const GEN_AI_REQUEST_USER: &str = "gen_ai.request.user";

/// Per-message event (v1.28-v1.36): system message.
pub(crate) const EVENT_SYSTEM_MESSAGE: &str = "gen_ai.system.message";
/// Per-message event (v1.28-v1.36): user message.
pub(crate) const EVENT_USER_MESSAGE: &str = "gen_ai.user.message";
/// Per-message event (v1.28-v1.36): assistant message.
pub(crate) const EVENT_ASSISTANT_MESSAGE: &str = "gen_ai.assistant.message";
/// Per-message event (v1.28-v1.36): tool message.
pub(crate) const EVENT_TOOL_MESSAGE: &str = "gen_ai.tool.message";
/// Per-message event (v1.28-v1.36): one model choice (output).
pub(crate) const EVENT_CHOICE: &str = "gen_ai.choice";
/// Event attribute some SDKs (Azure AI Inference) use to carry the whole event body as JSON.
pub(crate) const EVENT_CONTENT: &str = "gen_ai.event.content";
/// Exception event of the GenAI conventions (v1.41).
pub(crate) const EVENT_OPERATION_EXCEPTION: &str = "gen_ai.client.operation.exception";

/// Operation (post-move repo): agent planning.
pub(crate) const OP_PLAN: &str = "plan";
/// Operation (non-OTel, OpenLLMetry `llm.request.type` value): reranking.
pub(crate) const OP_RERANK: &str = "rerank";
/// Operation (post-move repo): fetching a stored response, reports no usage.
pub(crate) const OP_FETCH_RESPONSE: &str = "fetch_response";
/// Memory operations (post-move repo).
pub(crate) const MEMORY_OPS: [&str; 7] = [
    "create_memory_store",
    "delete_memory_store",
    "create_memory",
    "update_memory",
    "upsert_memory",
    "search_memory",
    "delete_memory",
];

/// Service tier the provider actually used (v1.37+ name), which changes the price.
pub(crate) const OPENAI_RESPONSE_SERVICE_TIER: &str = "openai.response.service_tier";
/// Service tier asked for (v1.37+ name).
pub(crate) const OPENAI_REQUEST_SERVICE_TIER: &str = "openai.request.service_tier";
/// Service tier used, v1.28-v1.36 name.
pub(crate) const GEN_AI_OPENAI_RESPONSE_SERVICE_TIER: &str = "gen_ai.openai.response.service_tier";
/// Service tier asked for, v1.28-v1.36 name.
pub(crate) const GEN_AI_OPENAI_REQUEST_SERVICE_TIER: &str = "gen_ai.openai.request.service_tier";
/// Cost in USD as reported by the instrumentation (OpenLIT, some OTel emitters).
pub(crate) const GEN_AI_USAGE_COST: &str = "gen_ai.usage.cost";
/// The 1-hour-TTL part of Anthropic cache writes (anthropic SDK's own spans).
pub(crate) const ANTHROPIC_CACHE_WRITE_1H: &str =
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens";
