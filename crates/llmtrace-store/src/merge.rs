//! How a span's complete copy replaces its incomplete one: what the complete copy lacks is kept
//! from the incomplete copy, so a LangSmith patch (end time, outputs) sent in a later request
//! than its post (inputs, name, model) does not lose the post's inputs.

use llmtrace_model::{Span, SpanKind, Usage};

/// Attributes that only mark a copy as unfinished (set by receivers on incomplete spans), never
/// carried into the complete copy.
pub const INCOMPLETE_MARKERS: &[&str] = &["langsmith.unfinished"];

/// The span stored when `new` replaces the stored incomplete copy `old`: `new`'s fields, and
/// `old`'s where `new` has none (name, parent, kind, every GenAI field, usage with its cost,
/// attribute keys, events, links, resource attributes).
pub fn merge_incomplete(old: &Span, mut new: Span) -> Span {
    if new.name.is_empty() {
        new.name = old.name.clone();
    }
    if new.parent_span_id.is_none() {
        new.parent_span_id = old.parent_span_id;
    }
    if new.kind == SpanKind::Span {
        new.kind = old.kind;
    }
    if new.start_unix_nano == 0 {
        new.start_unix_nano = old.start_unix_nano;
        new.end_unix_nano = new.end_unix_nano.max(old.start_unix_nano);
    }
    if new.service.is_empty() {
        new.service = old.service.clone();
    }
    let (g, o) = (&mut new.gen_ai, &old.gen_ai);
    macro_rules! keep {
        ($($f:ident),*) => {$(
            if g.$f.is_none() {
                g.$f = o.$f.clone();
            }
        )*};
    }
    keep!(
        provider,
        provider_raw,
        operation,
        request_model,
        response_model,
        time_to_first_token_s,
        user_id,
        session_id,
        error_type,
        tool_name,
        agent_name,
        response_id,
        service_tier
    );
    macro_rules! keep_vec {
        ($($f:ident),*) => {$(
            if g.$f.is_empty() {
                g.$f = o.$f.clone();
            }
        )*};
    }
    keep_vec!(
        finish_reasons,
        system_instructions,
        input_messages,
        output_messages
    );
    if g.params == Default::default() {
        g.params = o.params.clone();
    }
    if new.usage == Usage::default() && old.usage != Usage::default() {
        new.usage = old.usage;
        new.counts_usage = old.counts_usage;
        new.cost = old.cost.clone();
    }
    for kv in old.attributes.iter() {
        if new.attributes.get(&kv.key).is_none() && !INCOMPLETE_MARKERS.contains(&kv.key.as_str()) {
            new.attributes.push(kv.key.clone(), kv.value.clone());
        }
    }
    if new.events.is_empty() {
        new.events = old.events.clone();
    }
    if new.links.is_empty() {
        new.links = old.links.clone();
    }
    if new.resource_attributes.is_empty() {
        new.resource_attributes = old.resource_attributes.clone();
    }
    if new.scope_name.is_empty() {
        new.scope_name = old.scope_name.clone();
        new.scope_version = old.scope_version.clone();
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::{AttrValue, Message, SpanId};

    #[test]
    fn the_complete_copy_keeps_what_only_the_incomplete_one_had() {
        let mut old = Span {
            name: "ChatAnthropic".into(),
            parent_span_id: Some(SpanId([1; 8])),
            kind: SpanKind::Llm,
            start_unix_nano: 10,
            end_unix_nano: 10,
            incomplete: true,
            ..Default::default()
        };
        old.gen_ai.request_model = Some("claude-sonnet-4-6".into());
        old.gen_ai.input_messages = vec![Message::text("user", "hi")];
        old.attributes
            .push("langsmith.tags", AttrValue::Str("a".into()));
        old.attributes.push("shared", AttrValue::Int(1));
        old.attributes
            .push("langsmith.unfinished", AttrValue::Bool(true));
        let mut new = Span {
            start_unix_nano: 10,
            end_unix_nano: 900,
            ..Default::default()
        };
        new.gen_ai.output_messages = vec![Message::text("assistant", "hello")];
        new.usage.input = Some(5);
        new.attributes.push("shared", AttrValue::Int(2));
        let m = merge_incomplete(&old, new);
        assert_eq!(m.name, "ChatAnthropic");
        assert_eq!(m.parent_span_id, Some(SpanId([1; 8])));
        assert_eq!(m.kind, SpanKind::Llm);
        assert_eq!(m.end_unix_nano, 900);
        assert!(!m.incomplete);
        assert_eq!(m.gen_ai.request_model.as_deref(), Some("claude-sonnet-4-6"));
        assert_eq!(m.gen_ai.input_messages.len(), 1);
        assert_eq!(m.gen_ai.output_messages.len(), 1);
        assert_eq!(m.usage.input, Some(5));
        assert_eq!(m.attributes.get("shared"), Some(&AttrValue::Int(2)));
        assert_eq!(m.attributes.get("langsmith.unfinished"), None);
        assert_eq!(
            m.attributes.get("langsmith.tags"),
            Some(&AttrValue::Str("a".into()))
        );
    }
}
