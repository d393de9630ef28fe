//! Fallbacks that belong to no dialect, run after every dialect: user, session, error class,
//! provider from the API host, kind from the span name or the presence of a model, tool/agent
//! name from the span name, and finish reasons from the output messages.
//!
//! Like dialects, they only fill fields that are still unset.

use crate::alias::provider_for_host;
use crate::keys;
use crate::kind::{canonical_operation, kind_for_operation, kind_for_span_name, name_target};
use crate::value::{id_string, is_blank, non_empty_str};
use llmtrace_model::{AttrValue, Attributes, Span, SpanEvent, SpanKind, StatusCode};
use llmtrace_semconv::{gen_ai, general, operation as op};

/// The Vercel AI SDK 7's runtime context (`runtimeContext: { userId, sessionId }` with
/// `includeRuntimeContext`), on its agent, step and embedding spans (new format) and on every
/// `ai.*` span (legacy format).
const AI_SDK_CONTEXT_USER: &str = "ai.settings.context.userId";
const AI_SDK_CONTEXT_SESSION: &str = "ai.settings.context.sessionId";

/// Values found in one pass over the span attributes.
#[derive(Default)]
struct Found<'a> {
    user_id: Option<&'a AttrValue>,
    enduser_id: Option<&'a AttrValue>,
    api_user: Option<&'a AttrValue>,
    runtime_user: Option<&'a AttrValue>,
    session_id: Option<&'a AttrValue>,
    runtime_session: Option<&'a AttrValue>,
    conversation_id: Option<&'a AttrValue>,
    error_type: Option<&'a AttrValue>,
    server_address: Option<&'a AttrValue>,
}

fn offer<'a>(slot: &mut Option<&'a AttrValue>, v: &'a AttrValue) {
    if slot.is_none() && !is_blank(v) {
        *slot = Some(v);
    }
}

impl<'a> Found<'a> {
    fn scan(attrs: &'a Attributes) -> Self {
        let mut f = Found::default();
        for kv in attrs.iter() {
            let v = &kv.value;
            match kv.key.as_str() {
                general::USER_ID => offer(&mut f.user_id, v),
                general::ENDUSER_ID => offer(&mut f.enduser_id, v),
                general::SESSION_ID => offer(&mut f.session_id, v),
                AI_SDK_CONTEXT_USER => offer(&mut f.runtime_user, v),
                AI_SDK_CONTEXT_SESSION => offer(&mut f.runtime_session, v),
                gen_ai::CONVERSATION_ID => offer(&mut f.conversation_id, v),
                general::ERROR_TYPE => offer(&mut f.error_type, v),
                general::SERVER_ADDRESS => offer(&mut f.server_address, v),
                keys::GEN_AI_USER | keys::LLM_USER | keys::GEN_AI_REQUEST_USER => {
                    offer(&mut f.api_user, v)
                }
                _ => {}
            }
        }
        f
    }
}

/// First non-blank id under any of `keys` in `attrs`, in key order.
fn first_id(attrs: &Attributes, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| attrs.get(k).and_then(id_string))
}

/// Runs every fallback on `span`.
pub(crate) fn apply(span: &mut Span) {
    let (span_start, span_end) = (span.start_unix_nano, span.end_unix_nano);
    let Span {
        name,
        status,
        attributes,
        resource_attributes,
        events,
        gen_ai: g,
        kind,
        ..
    } = span;
    let f = Found::scan(attributes);

    // User: span `user.id` → `enduser.id` → the AI SDK's runtime context, then the resource,
    // then (only when nothing else) the provider API's `user` request field.
    if g.user_id.is_none() {
        g.user_id = f
            .user_id
            .or(f.enduser_id)
            .or(f.runtime_user)
            .and_then(id_string)
            .or_else(|| {
                first_id(
                    resource_attributes,
                    &[general::USER_ID, general::ENDUSER_ID],
                )
            })
            .or_else(|| f.api_user.and_then(id_string));
    }

    // Session: span `session.id` → `gen_ai.conversation.id` → the AI SDK's runtime context, then
    // the resource.
    if g.session_id.is_none() {
        g.session_id = f
            .session_id
            .or(f.conversation_id)
            .or(f.runtime_session)
            .and_then(id_string)
            .or_else(|| {
                first_id(
                    resource_attributes,
                    &[general::SESSION_ID, gen_ai::CONVERSATION_ID],
                )
            });
    }

    // Error class: `error.type` when the status is ERROR or unset (an explicit OK wins); for an
    // ERROR status without it, the `exception` event, then the GenAI exception event. The status
    // itself is never changed.
    if g.error_type.is_none() && *status != StatusCode::Ok {
        g.error_type = f
            .error_type
            .and_then(non_empty_str)
            .map(str::to_owned)
            .or_else(|| {
                if *status == StatusCode::Error {
                    exception_type(events, general::EXCEPTION_EVENT)
                        .or_else(|| exception_type(events, keys::EVENT_OPERATION_EXCEPTION))
                } else {
                    None
                }
            });
    }

    let has_model = g.request_model.is_some() || g.response_model.is_some();

    // Provider from a well-known API host, for spans that name a model.
    if g.provider.is_none() && has_model {
        if let Some(p) = f
            .server_address
            .and_then(non_empty_str)
            .and_then(provider_for_host)
        {
            g.provider = Some(p.to_owned());
        }
    }

    // Kind: span-name prefix, then "a model is named ⇒ llm", unless the operation is a known
    // non-model one (memory operations, `fetch_response`).
    if *kind == SpanKind::Span {
        let operation_decided = g
            .operation
            .as_deref()
            .and_then(kind_for_operation)
            .is_some();
        if !operation_decided {
            if let Some(k) = kind_for_span_name(name) {
                *kind = k;
            } else if has_model {
                *kind = SpanKind::Llm;
            }
        }
    }

    // Tool / agent name from an OTel-style span name.
    match kind {
        SpanKind::Tool if g.tool_name.is_none() => {
            g.tool_name = name_target(name, op::EXECUTE_TOOL).map(str::to_owned);
        }
        SpanKind::Agent if g.agent_name.is_none() => {
            g.agent_name = name_target(name, op::INVOKE_AGENT)
                .or_else(|| name_target(name, op::CREATE_AGENT))
                .map(str::to_owned);
        }
        _ => {}
    }

    // Finish reasons from the output messages when no attribute carried them.
    if g.finish_reasons.is_empty() {
        g.finish_reasons = g
            .output_messages
            .iter()
            .filter_map(|m| m.finish_reason.clone())
            .collect();
    }

    // SDK-specific operation names become OTel's (LiteLLM's `acompletion` → `chat`).
    if let Some(c) = g.operation.as_deref().and_then(canonical_operation) {
        g.operation = Some(c.to_owned());
    }

    // A time to first chunk is only measured on a streamed call.
    if g.params.stream.is_none()
        && [
            gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK,
            keys::CLIENT_TIME_TO_FIRST_CHUNK,
        ]
        .iter()
        .any(|k| attributes.get(k).is_some())
    {
        g.params.stream = Some(true);
    }
    // A time to first token needs a streamed call, or, when nothing says whether the call
    // streamed, a first token clearly before the end: LiteLLM's Langfuse callbacks set the
    // completion start of every call, at about its end.
    if let Some(ttft) = g.time_to_first_token_s {
        let keep = match g.params.stream {
            Some(streamed) => streamed,
            None => first_token_before_end(span_start, span_end, ttft),
        };
        if !keep {
            g.time_to_first_token_s = None;
        }
    }
}

/// Whether a first token `ttft` seconds after `start` came clearly before `end`: at least 1 ms
/// and 5 % of the call's duration before it.
fn first_token_before_end(start: u64, end: u64, ttft: f64) -> bool {
    let duration = end.saturating_sub(start) as f64 / 1e9;
    let gap = duration - ttft;
    duration > 0.0 && gap >= 0.001_f64.max(duration * 0.05)
}

/// `exception.type` of the first event named `event_name` that has one.
fn exception_type(events: &[SpanEvent], event_name: &str) -> Option<String> {
    events
        .iter()
        .filter(|e| e.name == event_name)
        .find_map(|e| e.attributes.get_str(general::EXCEPTION_TYPE))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::Message;

    fn s(v: &str) -> AttrValue {
        AttrValue::Str(v.to_owned())
    }

    fn span_with(attrs: &[(&str, AttrValue)]) -> Span {
        let mut span = Span::default();
        for (k, v) in attrs {
            span.attributes.push(*k, v.clone());
        }
        span
    }

    #[test]
    fn user_precedence() {
        let mut sp = span_with(&[("gen_ai.user", s("api")), ("enduser.id", s("end"))]);
        apply(&mut sp);
        assert_eq!(sp.gen_ai.user_id.as_deref(), Some("end"));

        let mut sp = span_with(&[("enduser.id", s("end")), ("user.id", s("u1"))]);
        apply(&mut sp);
        assert_eq!(sp.gen_ai.user_id.as_deref(), Some("u1"));

        let mut sp = span_with(&[("gen_ai.user", s("api"))]);
        std::sync::Arc::make_mut(&mut sp.resource_attributes).push("user.id", s("res"));
        apply(&mut sp);
        assert_eq!(sp.gen_ai.user_id.as_deref(), Some("res"));

        let mut sp = span_with(&[("llm.user", s("api")), ("user.id", s(""))]);
        apply(&mut sp);
        assert_eq!(sp.gen_ai.user_id.as_deref(), Some("api"));
    }

    #[test]
    fn session_precedence() {
        let mut sp = span_with(&[("gen_ai.conversation.id", s("c")), ("session.id", s("s"))]);
        apply(&mut sp);
        assert_eq!(sp.gen_ai.session_id.as_deref(), Some("s"));

        let mut sp = span_with(&[("gen_ai.conversation.id", AttrValue::Int(7))]);
        std::sync::Arc::make_mut(&mut sp.resource_attributes).push("session.id", s("res"));
        apply(&mut sp);
        assert_eq!(sp.gen_ai.session_id.as_deref(), Some("7"));

        let mut sp = span_with(&[]);
        std::sync::Arc::make_mut(&mut sp.resource_attributes).push("session.id", s("res"));
        apply(&mut sp);
        assert_eq!(sp.gen_ai.session_id.as_deref(), Some("res"));
    }

    fn event(name: &str, ty: &str) -> SpanEvent {
        let mut attributes = Attributes::default();
        attributes.push("exception.type", s(ty));
        SpanEvent {
            time_unix_nano: 1,
            name: name.to_owned(),
            attributes,
        }
    }

    #[test]
    fn error_type_rules() {
        let mut sp = span_with(&[]);
        sp.status = StatusCode::Error;
        sp.events
            .push(event("gen_ai.client.operation.exception", "GenAiErr"));
        sp.events.push(event("exception", "ValueError"));
        apply(&mut sp);
        assert_eq!(sp.gen_ai.error_type.as_deref(), Some("ValueError"));

        let mut sp = span_with(&[("error.type", s("rate_limited"))]);
        sp.status = StatusCode::Error;
        sp.events.push(event("exception", "ValueError"));
        apply(&mut sp);
        assert_eq!(sp.gen_ai.error_type.as_deref(), Some("rate_limited"));

        let mut sp = span_with(&[]);
        sp.status = StatusCode::Error;
        sp.events
            .push(event("gen_ai.client.operation.exception", "Timeout"));
        apply(&mut sp);
        assert_eq!(sp.gen_ai.error_type.as_deref(), Some("Timeout"));

        // error.type with an unset status: recorded, status untouched.
        let mut sp = span_with(&[("error.type", s("timeout"))]);
        apply(&mut sp);
        assert_eq!(sp.gen_ai.error_type.as_deref(), Some("timeout"));
        assert_eq!(sp.status, StatusCode::Unset);

        // An exception event without an error status is a handled exception.
        let mut sp = span_with(&[]);
        sp.events.push(event("exception", "ValueError"));
        apply(&mut sp);
        assert_eq!(sp.gen_ai.error_type, None);

        // Explicit OK wins over a stray error.type.
        let mut sp = span_with(&[("error.type", s("x"))]);
        sp.status = StatusCode::Ok;
        apply(&mut sp);
        assert_eq!(sp.gen_ai.error_type, None);
    }

    #[test]
    fn kind_fallbacks() {
        let mut sp = span_with(&[]);
        sp.name = "chat claude-overloaded".into();
        apply(&mut sp);
        assert_eq!(sp.kind, SpanKind::Llm);

        let mut sp = span_with(&[]);
        sp.name = "execute_tool get_weather".into();
        apply(&mut sp);
        assert_eq!(sp.kind, SpanKind::Tool);
        assert_eq!(sp.gen_ai.tool_name.as_deref(), Some("get_weather"));

        let mut sp = span_with(&[]);
        sp.name = "invoke_agent Planner".into();
        apply(&mut sp);
        assert_eq!(sp.kind, SpanKind::Agent);
        assert_eq!(sp.gen_ai.agent_name.as_deref(), Some("Planner"));

        let mut sp = span_with(&[("server.address", s("api.anthropic.com"))]);
        sp.name = "llm_call".into();
        sp.gen_ai.request_model = Some("claude-sonnet-4-6".into());
        apply(&mut sp);
        assert_eq!(sp.kind, SpanKind::Llm);
        assert_eq!(sp.gen_ai.provider.as_deref(), Some("anthropic"));

        // A known non-model operation blocks the guesses.
        let mut sp = span_with(&[]);
        sp.name = "chat gpt-4o".into();
        sp.gen_ai.operation = Some("search_memory".into());
        sp.gen_ai.request_model = Some("gpt-4o".into());
        apply(&mut sp);
        assert_eq!(sp.kind, SpanKind::Span);

        // No hint at all: stays a plain span, no provider from the host without a model.
        let mut sp = span_with(&[("server.address", s("api.openai.com"))]);
        sp.name = "POST".into();
        apply(&mut sp);
        assert_eq!(sp.kind, SpanKind::Span);
        assert_eq!(sp.gen_ai.provider, None);
    }

    #[test]
    fn finish_reasons_from_output_messages() {
        let mut sp = span_with(&[]);
        let mut m = Message::text("assistant", "x");
        m.finish_reason = Some("length".into());
        sp.gen_ai.output_messages = vec![m, Message::text("assistant", "y")];
        apply(&mut sp);
        assert_eq!(sp.gen_ai.finish_reasons, vec!["length"]);
    }
}
