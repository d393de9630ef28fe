//! Attribute keys of the OpenTelemetry GenAI semantic conventions (v1.26 to v1.41.1 and the
//! post-move `semantic-conventions-genai` names) and of the general registry keys LLM spans use.
//!
//! Zero dependencies: the server's normalizer and the Rust SDK both use these constants, so a key
//! is spelled in exactly one place. Deprecated keys stay here as long as any emitter still sends them.
//!
//! ```
//! use llmtrace_semconv::{gen_ai, operation};
//!
//! assert_eq!(gen_ai::OPERATION_NAME, "gen_ai.operation.name");
//! assert_eq!(operation::CHAT, "chat");
//! ```

/// Keys of the OpenTelemetry GenAI conventions (`gen_ai.*`).
pub mod gen_ai {
    /// Operation name (`chat`, `embeddings`, `execute_tool`, ...), since v1.27.
    pub const OPERATION_NAME: &str = "gen_ai.operation.name";
    /// Provider, since v1.37 (replaces [`SYSTEM`]).
    pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
    /// Provider before v1.37 (deprecated, still widely sent).
    pub const SYSTEM: &str = "gen_ai.system";
    /// Model asked for.
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    /// Maximum tokens to generate.
    pub const REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
    /// Sampling temperature.
    pub const REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
    /// Nucleus sampling.
    pub const REQUEST_TOP_P: &str = "gen_ai.request.top_p";
    /// Top-k sampling.
    pub const REQUEST_TOP_K: &str = "gen_ai.request.top_k";
    /// Frequency penalty.
    pub const REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
    /// Presence penalty.
    pub const REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
    /// Stop sequences (string array).
    pub const REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
    /// Seed, since v1.30.
    pub const REQUEST_SEED: &str = "gen_ai.request.seed";
    /// Whether the call streamed, since v1.41.
    pub const REQUEST_STREAM: &str = "gen_ai.request.stream";
    /// Completion id.
    pub const RESPONSE_ID: &str = "gen_ai.response.id";
    /// Model that answered.
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// Finish reasons, one per choice.
    pub const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    /// Seconds from request to the first streamed chunk, since v1.41.
    pub const RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
    /// Input tokens, cached ones included (v1.27+).
    pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// Output tokens, reasoning included (v1.27+).
    pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    /// Input tokens before v1.27 (deprecated).
    pub const USAGE_PROMPT_TOKENS: &str = "gen_ai.usage.prompt_tokens";
    /// Output tokens before v1.27 (deprecated).
    pub const USAGE_COMPLETION_TOKENS: &str = "gen_ai.usage.completion_tokens";
    /// Tokens read from the provider cache (v1.40+).
    pub const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
    /// Tokens written to the provider cache (v1.40-v1.41 spelling).
    pub const USAGE_CACHE_CREATION_INPUT_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
    /// Tokens written to the provider cache (post-move spelling).
    pub const USAGE_CACHE_WRITE_INPUT_TOKENS: &str = "gen_ai.usage.cache_write.input_tokens";
    /// Cache read, pre-spec spelling (OpenLLMetry <= 0.4).
    pub const USAGE_CACHE_READ_INPUT_TOKENS_LEGACY: &str = "gen_ai.usage.cache_read_input_tokens";
    /// Cache write, pre-spec spelling (OpenLLMetry <= 0.4).
    pub const USAGE_CACHE_CREATION_INPUT_TOKENS_LEGACY: &str =
        "gen_ai.usage.cache_creation_input_tokens";
    /// Reasoning tokens, included in output (v1.41+).
    pub const USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
    /// Reasoning tokens, OpenLLMetry and OpenLIT spelling.
    pub const USAGE_REASONING_TOKENS: &str = "gen_ai.usage.reasoning_tokens";
    /// Total tokens (non-standard, OpenLLMetry and others).
    pub const USAGE_TOTAL_TOKENS: &str = "gen_ai.usage.total_tokens";
    /// Input chat history (JSON, v1.37+).
    pub const INPUT_MESSAGES: &str = "gen_ai.input.messages";
    /// Output messages, one per choice (JSON, v1.37+).
    pub const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
    /// System prompt given apart from the history (JSON array of parts, v1.37+).
    pub const SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
    /// Prompt as a JSON string of `[{role, content}]` (v1.26-v1.27, deprecated).
    pub const PROMPT: &str = "gen_ai.prompt";
    /// Completion as a JSON string of `[{role, content}]` (v1.26-v1.27, deprecated).
    pub const COMPLETION: &str = "gen_ai.completion";
    /// Conversation (session) id, since v1.34.
    pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
    /// Agent name.
    pub const AGENT_NAME: &str = "gen_ai.agent.name";
    /// Agent id.
    pub const AGENT_ID: &str = "gen_ai.agent.id";
    /// Tool name.
    pub const TOOL_NAME: &str = "gen_ai.tool.name";
    /// Tool call id.
    pub const TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
    /// Tool call arguments (opt-in).
    pub const TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
    /// Tool call result (opt-in).
    pub const TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
    /// Data source of a retrieval.
    pub const DATA_SOURCE_ID: &str = "gen_ai.data_source.id";
    /// Retrieval query text (v1.40+).
    pub const RETRIEVAL_QUERY_TEXT: &str = "gen_ai.retrieval.query.text";
    /// Workflow name (v1.41+).
    pub const WORKFLOW_NAME: &str = "gen_ai.workflow.name";
    /// Span event (v1.26-v1.27) carrying [`PROMPT`].
    pub const EVENT_CONTENT_PROMPT: &str = "gen_ai.content.prompt";
    /// Span event (v1.26-v1.27) carrying [`COMPLETION`].
    pub const EVENT_CONTENT_COMPLETION: &str = "gen_ai.content.completion";
    /// Event (v1.37+) carrying the inference attributes, messages included.
    pub const EVENT_OPERATION_DETAILS: &str = "gen_ai.client.inference.operation.details";
}

/// Well-known values of `gen_ai.operation.name`.
pub mod operation {
    /// Chat completion.
    pub const CHAT: &str = "chat";
    /// Legacy text completion.
    pub const TEXT_COMPLETION: &str = "text_completion";
    /// Gemini-style content generation.
    pub const GENERATE_CONTENT: &str = "generate_content";
    /// Embeddings.
    pub const EMBEDDINGS: &str = "embeddings";
    /// Retrieval (v1.40+).
    pub const RETRIEVAL: &str = "retrieval";
    /// Tool execution.
    pub const EXECUTE_TOOL: &str = "execute_tool";
    /// Agent creation.
    pub const CREATE_AGENT: &str = "create_agent";
    /// Agent invocation.
    pub const INVOKE_AGENT: &str = "invoke_agent";
    /// Workflow invocation (v1.41+).
    pub const INVOKE_WORKFLOW: &str = "invoke_workflow";
}

/// General registry keys that LLM spans use.
pub mod general {
    /// Error class of a failed operation.
    pub const ERROR_TYPE: &str = "error.type";
    /// Application user.
    pub const USER_ID: &str = "user.id";
    /// End user (older general registry).
    pub const ENDUSER_ID: &str = "enduser.id";
    /// Session id.
    pub const SESSION_ID: &str = "session.id";
    /// Service name (resource attribute).
    pub const SERVICE_NAME: &str = "service.name";
    /// Server host.
    pub const SERVER_ADDRESS: &str = "server.address";
    /// Standard exception event name.
    pub const EXCEPTION_EVENT: &str = "exception";
    /// Exception type on an exception event.
    pub const EXCEPTION_TYPE: &str = "exception.type";
    /// Exception message on an exception event.
    pub const EXCEPTION_MESSAGE: &str = "exception.message";
}

/// Keys llmtrace itself defines (the SDK sets them, the server reads them).
pub mod llmtrace {
    /// Number of spans an SDK dropped since its last report.
    pub const SDK_DROPPED_SPANS: &str = "llmtrace.sdk.dropped_spans";
    /// Set (true) by the normalizer on a span whose usage object's parts disagreed with its own
    /// total: the total decided the input side. Counted on the health page.
    pub const USAGE_TOTAL_MISMATCH: &str = "llmtrace.usage.total_mismatch";
    /// Set by the pricing stage on a span whose provider was filled from the price entry that
    /// matched its model (the span named none): the entry's id.
    pub const PROVIDER_FROM_PRICE: &str = "llmtrace.provider_from_price";
}
