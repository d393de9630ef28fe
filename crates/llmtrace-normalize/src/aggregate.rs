//! Whether a span's usage is a real call's own usage (`Span::counts_usage`).

use llmtrace_model::Span;
use llmtrace_semconv::operation as op;

/// The `counts_usage` rule: true only for model-call kinds ([`SpanKind::Llm`],
/// [`SpanKind::Embedding`]) that carry some usage.
///
/// Aggregate spans never count: agent, chain, tool and plain spans, and any span whose operation
/// is `invoke_agent`, `create_agent` or `invoke_workflow`, whatever kind a dialect gave it. Such
/// spans (pydantic-ai and OTel `invoke_agent`, Vercel outer `ai.generateText`, workflow spans)
/// report the **sum** of the model calls beneath them, so counting them too would bill every token
/// twice. Summing `usage` over the spans with `counts_usage == true` therefore counts each call
/// once. (Two model-call spans for one call, e.g. an instrumentation span wrapping the provider
/// SDK's own span, are resolved by the store, which sees the parent chain.)
///
/// [`SpanKind::Llm`]: llmtrace_model::SpanKind::Llm
/// [`SpanKind::Embedding`]: llmtrace_model::SpanKind::Embedding
pub fn counts_usage(span: &Span) -> bool {
    span.kind.is_model_call() && !span.usage.is_empty() && !is_aggregate_operation(span)
}

fn is_aggregate_operation(span: &Span) -> bool {
    span.gen_ai.operation.as_deref().is_some_and(|o| {
        let o = o.trim();
        [op::INVOKE_AGENT, op::CREATE_AGENT, op::INVOKE_WORKFLOW]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(o))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::{SpanKind, Usage};

    fn span(kind: SpanKind, op: Option<&str>, usage: Usage) -> Span {
        let mut s = Span {
            kind,
            usage,
            ..Span::default()
        };
        s.gen_ai.operation = op.map(str::to_owned);
        s
    }

    #[test]
    fn only_model_calls_with_usage_count() {
        let u = Usage {
            input: Some(10),
            ..Usage::default()
        };
        assert!(counts_usage(&span(SpanKind::Llm, Some("chat"), u)));
        assert!(counts_usage(&span(SpanKind::Embedding, None, u)));
        assert!(!counts_usage(&span(SpanKind::Llm, None, Usage::default())));
        for k in [
            SpanKind::Agent,
            SpanKind::Chain,
            SpanKind::Tool,
            SpanKind::Span,
            SpanKind::Retriever,
        ] {
            assert!(!counts_usage(&span(k, None, u)), "{k:?}");
        }
        assert!(!counts_usage(&span(SpanKind::Llm, Some("invoke_agent"), u)));
        assert!(!counts_usage(&span(
            SpanKind::Llm,
            Some("invoke_workflow"),
            u
        )));
    }
}
