//! GenAI content sent as OTLP log records (the v1.28–v1.36 per-message events, and the v1.37
//! `gen_ai.client.inference.operation.details` event as OpenLIT sends it) attached to the span
//! they belong to. Logs and spans arrive separately, so this runs when a trace is read: each log
//! correlated to a span becomes one of its events, and when the span has no messages of its own,
//! the OTel GenAI dialect reads them from those events.

use crate::Dialect;
use llmtrace_model::{AttrValue, LogRecord, Span, SpanEvent};

/// Key under which a log record's body is handed to the dialect (the form Azure AI Inference
/// uses for per-message span events).
const EVENT_CONTENT: &str = "gen_ai.event.content";

/// Whether a log record carries GenAI content (an event named `gen_ai.*`).
pub fn is_gen_ai_log(log: &LogRecord) -> bool {
    log.event_name.starts_with("gen_ai.")
}

/// Attaches the GenAI log records of `span` (same span id) as span events, and fills its input
/// and output messages from them when it has none.
pub fn attach_logs<'a>(span: &mut Span, logs: impl IntoIterator<Item = &'a LogRecord>) {
    let mut converted = Vec::new();
    for log in logs {
        if log.span_id != Some(span.span_id) || !is_gen_ai_log(log) {
            continue;
        }
        let mut attributes = log.attributes.clone();
        if let Some(body) = &log.body {
            if attributes.get(EVENT_CONTENT).is_none() {
                let body = match body {
                    AttrValue::Str(s) => AttrValue::Str(s.clone()),
                    other => AttrValue::Str(other.to_json().to_string()),
                };
                attributes.push(EVENT_CONTENT, body);
            }
        }
        converted.push(SpanEvent {
            time_unix_nano: log.time_unix_nano,
            name: log.event_name.clone(),
            attributes,
        });
    }
    if converted.is_empty() {
        return;
    }
    converted.sort_by_key(|e| e.time_unix_nano);
    if span.gen_ai.input_messages.is_empty() || span.gen_ai.output_messages.is_empty() {
        let mut carrier = Span {
            events: converted.clone(),
            ..Span::default()
        };
        crate::OtelGenAi.apply(&mut carrier);
        if span.gen_ai.input_messages.is_empty() {
            span.gen_ai.input_messages = carrier.gen_ai.input_messages;
        }
        if span.gen_ai.output_messages.is_empty() {
            span.gen_ai.output_messages = carrier.gen_ai.output_messages;
        }
        if span.gen_ai.system_instructions.is_empty() {
            span.gen_ai.system_instructions = carrier.gen_ai.system_instructions;
        }
    }
    span.events.extend(converted);
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::{Attributes, MessagePart, SpanId};

    fn log(name: &str, body: AttrValue, t: u64) -> LogRecord {
        LogRecord {
            event_name: name.into(),
            span_id: Some(SpanId([4; 8])),
            body: Some(body),
            time_unix_nano: t,
            ..Default::default()
        }
    }

    #[test]
    fn per_message_log_events_become_messages() {
        let mut span = Span {
            span_id: SpanId([4; 8]),
            ..Default::default()
        };
        let mut user = Attributes::default();
        user.push("content", AttrValue::Str("What is 2+2?".into()));
        let mut choice_msg = Attributes::default();
        choice_msg.push("content", AttrValue::Str("4".into()));
        let mut choice = Attributes::default();
        choice.push("index", AttrValue::Int(0));
        choice.push("finish_reason", AttrValue::Str("stop".into()));
        choice.push("message", AttrValue::Map(choice_msg));
        let logs = vec![
            log("gen_ai.choice", AttrValue::Map(choice), 2),
            log("gen_ai.user.message", AttrValue::Map(user), 1),
            LogRecord {
                span_id: Some(SpanId([5; 8])),
                ..log(
                    "gen_ai.user.message",
                    AttrValue::Str("other span".into()),
                    1,
                )
            },
            log("app.log", AttrValue::Str("not genai".into()), 1),
        ];
        attach_logs(&mut span, &logs);
        assert_eq!(span.events.len(), 2);
        assert_eq!(span.gen_ai.input_messages.len(), 1);
        assert_eq!(span.gen_ai.input_messages[0].role, "user");
        assert_eq!(
            span.gen_ai.input_messages[0].parts,
            vec![MessagePart::Text {
                content: "What is 2+2?".into()
            }]
        );
        assert_eq!(span.gen_ai.output_messages.len(), 1);
        assert_eq!(span.gen_ai.output_messages[0].text_content(), "4");
    }
}
