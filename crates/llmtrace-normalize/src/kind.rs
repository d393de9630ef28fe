//! Operation name → [`SpanKind`] (reference §5.2), and the span-name prefix fallback.

use crate::keys;
use llmtrace_model::SpanKind;
use llmtrace_semconv::operation as op;

/// Operations with a known kind. Operations known to be "other" map to [`SpanKind::Span`].
const OPERATION_KINDS: &[(&str, SpanKind)] = &[
    (op::CHAT, SpanKind::Llm),
    (op::TEXT_COMPLETION, SpanKind::Llm),
    (op::GENERATE_CONTENT, SpanKind::Llm),
    // Not OTel values, but sent in `gen_ai.operation.name` by some emitters.
    ("completion", SpanKind::Llm),
    ("generate", SpanKind::Llm),
    // LiteLLM's call types (see [`canonical_operation`]).
    ("acompletion", SpanKind::Llm),
    ("atext_completion", SpanKind::Llm),
    ("aembedding", SpanKind::Embedding),
    ("arerank", SpanKind::Reranker),
    (op::EMBEDDINGS, SpanKind::Embedding),
    ("embedding", SpanKind::Embedding),
    (op::RETRIEVAL, SpanKind::Retriever),
    (keys::OP_RERANK, SpanKind::Reranker),
    (op::EXECUTE_TOOL, SpanKind::Tool),
    (op::INVOKE_AGENT, SpanKind::Agent),
    (op::CREATE_AGENT, SpanKind::Agent),
    (keys::OP_PLAN, SpanKind::Agent),
    (op::INVOKE_WORKFLOW, SpanKind::Chain),
    (keys::OP_FETCH_RESPONSE, SpanKind::Span),
];

/// SDK-specific operation names and the OTel operation each one is: LiteLLM names its calls by
/// its Python functions (`acompletion` is `litellm.acompletion`, a chat call).
const OPERATION_ALIASES: &[(&str, &str)] = &[
    ("acompletion", op::CHAT),
    ("atext_completion", op::TEXT_COMPLETION),
    ("aembedding", op::EMBEDDINGS),
    ("arerank", keys::OP_RERANK),
];

/// The OTel operation name an SDK-specific one stands for (`acompletion` → `chat`), matched
/// case-insensitively; `None` for names that are already OTel's or unknown.
pub fn canonical_operation(operation: &str) -> Option<&'static str> {
    let operation = operation.trim();
    OPERATION_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(operation))
        .map(|(_, canonical)| *canonical)
}

/// The kind an operation name (`gen_ai.operation.name`) implies, matched case-insensitively.
///
/// `Some(SpanKind::Span)` means "known, and not a model/agent/tool step" (memory operations,
/// `fetch_response`): the caller must then not guess a kind from other hints. `None` means the
/// operation is unknown (custom values are allowed by the conventions).
pub fn kind_for_operation(operation: &str) -> Option<SpanKind> {
    let operation = operation.trim();
    OPERATION_KINDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(operation))
        .map(|(_, kind)| *kind)
        .or_else(|| {
            keys::MEMORY_OPS
                .iter()
                .any(|m| m.eq_ignore_ascii_case(operation))
                .then_some(SpanKind::Span)
        })
}

/// Span-name prefixes of the OTel naming rule `{operation} {target}` that identify a kind.
const NAME_PREFIXES: &[(&str, SpanKind)] = &[
    (op::CHAT, SpanKind::Llm),
    (op::TEXT_COMPLETION, SpanKind::Llm),
    (op::GENERATE_CONTENT, SpanKind::Llm),
    (op::EMBEDDINGS, SpanKind::Embedding),
    (op::RETRIEVAL, SpanKind::Retriever),
    (op::EXECUTE_TOOL, SpanKind::Tool),
    (op::INVOKE_AGENT, SpanKind::Agent),
    (op::CREATE_AGENT, SpanKind::Agent),
    (op::INVOKE_WORKFLOW, SpanKind::Chain),
];

/// The kind a span name implies when it follows the OTel `{operation} {target}` rule
/// (`chat gpt-4o`, `execute_tool search`, ...). Only a prefix followed by a space counts, except for
/// `invoke_agent` and `invoke_workflow`, which the conventions allow without a target.
pub fn kind_for_span_name(name: &str) -> Option<SpanKind> {
    let (first, rest) = match name.split_once(' ') {
        Some((first, rest)) => (first, Some(rest)),
        None => (name, None),
    };
    let kind = NAME_PREFIXES
        .iter()
        .find(|(prefix, _)| *prefix == first)
        .map(|(_, kind)| *kind)?;
    match rest {
        Some(rest) if !rest.trim().is_empty() => Some(kind),
        _ if first == op::INVOKE_AGENT || first == op::INVOKE_WORKFLOW => Some(kind),
        _ => None,
    }
}

/// The target part of an OTel span name (`execute_tool search` → `search`) when the name starts
/// with `prefix` followed by a space.
pub(crate) fn name_target<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    name.strip_prefix(prefix)?
        .strip_prefix(' ')
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_map_follows_the_reference() {
        assert_eq!(kind_for_operation("chat"), Some(SpanKind::Llm));
        assert_eq!(kind_for_operation("text_completion"), Some(SpanKind::Llm));
        assert_eq!(kind_for_operation("generate_content"), Some(SpanKind::Llm));
        assert_eq!(kind_for_operation("embeddings"), Some(SpanKind::Embedding));
        assert_eq!(kind_for_operation("retrieval"), Some(SpanKind::Retriever));
        assert_eq!(kind_for_operation("rerank"), Some(SpanKind::Reranker));
        assert_eq!(kind_for_operation("execute_tool"), Some(SpanKind::Tool));
        assert_eq!(kind_for_operation("invoke_agent"), Some(SpanKind::Agent));
        assert_eq!(kind_for_operation("create_agent"), Some(SpanKind::Agent));
        assert_eq!(kind_for_operation("plan"), Some(SpanKind::Agent));
        assert_eq!(kind_for_operation("invoke_workflow"), Some(SpanKind::Chain));
        assert_eq!(kind_for_operation("search_memory"), Some(SpanKind::Span));
        assert_eq!(kind_for_operation("fetch_response"), Some(SpanKind::Span));
        assert_eq!(kind_for_operation("CHAT"), Some(SpanKind::Llm));
        assert_eq!(kind_for_operation("my_custom_op"), None);
    }

    #[test]
    fn span_name_prefixes() {
        assert_eq!(kind_for_span_name("chat gpt-4o"), Some(SpanKind::Llm));
        assert_eq!(
            kind_for_span_name("execute_tool search"),
            Some(SpanKind::Tool)
        );
        assert_eq!(
            kind_for_span_name("embeddings text-embedding-3"),
            Some(SpanKind::Embedding)
        );
        assert_eq!(
            kind_for_span_name("retrieval my_index"),
            Some(SpanKind::Retriever)
        );
        assert_eq!(kind_for_span_name("invoke_agent"), Some(SpanKind::Agent));
        assert_eq!(
            kind_for_span_name("invoke_agent Planner"),
            Some(SpanKind::Agent)
        );
        assert_eq!(kind_for_span_name("chat"), None);
        assert_eq!(kind_for_span_name("chatbot handler"), None);
        assert_eq!(kind_for_span_name("openai.chat"), None);
        assert_eq!(
            name_target("execute_tool  search ", "execute_tool"),
            Some("search")
        );
        assert_eq!(name_target("execute_tool", "execute_tool"), None);
    }
}
