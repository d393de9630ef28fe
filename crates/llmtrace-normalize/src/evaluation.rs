//! OpenTelemetry evaluation results as scores: the `gen_ai.evaluation.result` event
//! (`gen_ai.evaluation.name`, `gen_ai.evaluation.score.value`, `gen_ai.evaluation.score.label`,
//! `gen_ai.evaluation.explanation`), sent as a log record parented to the evaluated span or, by
//! older emitters, as an event on the span itself.
//!
//! A score's id is derived from what identifies the result (trace, span, name, time and the
//! result itself), so a retried delivery replaces the stored score instead of adding one.

use llmtrace_model::{AttrValue, Attributes, LogRecord, Score, Span, SpanId, TraceId};

/// The event name of an evaluation result.
pub const EVALUATION_EVENT: &str = "gen_ai.evaluation.result";
/// The evaluation's name (the score's name).
pub const EVALUATION_NAME: &str = "gen_ai.evaluation.name";
/// Numeric result.
pub const SCORE_VALUE: &str = "gen_ai.evaluation.score.value";
/// Label result (`pass`, `relevant`, ...).
pub const SCORE_LABEL: &str = "gen_ai.evaluation.score.label";
/// Why the evaluator decided so.
pub const EXPLANATION: &str = "gen_ai.evaluation.explanation";
/// The provider response evaluated, for a result sent without its span.
pub const RESPONSE_ID: &str = "gen_ai.response.id";

/// The score of one evaluation event, or `None` when it is not one or names no evaluation.
fn score_of(
    project: &str,
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
    time_unix_nano: u64,
    attributes: &Attributes,
    evaluator: &str,
) -> Option<Score> {
    let name = attributes
        .get_str(EVALUATION_NAME)
        .filter(|n| !n.trim().is_empty())?
        .to_string();
    let value = attributes
        .get(SCORE_VALUE)
        .and_then(AttrValue::as_f64)
        .filter(|x| x.is_finite());
    let label = attributes.get_str(SCORE_LABEL).map(str::to_string);
    if value.is_none() && label.is_none() {
        return None;
    }
    let data_type = if value.is_some() {
        "NUMERIC"
    } else {
        "CATEGORICAL"
    };
    let comment = attributes.get_str(EXPLANATION).map(str::to_string);
    // Without its span, the response id finds it (when the store holds that call).
    let response_id = attributes
        .get_str(RESPONSE_ID)
        .filter(|r| !r.is_empty() && span_id.is_none())
        .map(str::to_string);
    if trace_id.is_none() && response_id.is_none() {
        return None;
    }
    let trace_hex = trace_id.map(|t| t.to_hex()).unwrap_or_default();
    let span_hex = span_id.map(|s| s.to_hex()).unwrap_or_default();
    let time = time_unix_nano.to_string();
    let value_text = value.map(|v| v.to_string()).unwrap_or_default();
    let mut parts = vec![
        project,
        trace_hex.as_str(),
        span_hex.as_str(),
        name.as_str(),
        time.as_str(),
        value_text.as_str(),
        label.as_deref().unwrap_or(""),
    ];
    // Ids of results with a span are as they were before response ids were read.
    if let Some(r) = &response_id {
        parts.push(r.as_str());
    }
    let id = llmtrace_model::digest_id("otel", &parts);
    Some(Score {
        project: project.to_string(),
        id,
        trace_id: trace_hex,
        observation_id: span_id.map(|s| s.to_hex()),
        name,
        value,
        string_value: label,
        data_type: data_type.to_string(),
        comment,
        source: "EVAL".into(),
        environment: None,
        timestamp_unix_nano: time_unix_nano,
        author: (!evaluator.is_empty()).then(|| evaluator.to_string()),
        response_id,
    })
}

/// The scores of the evaluation log records among `logs` (those with a trace id, or with the
/// `gen_ai.response.id` of the call evaluated: [`Score::response_id`]).
pub fn scores_from_logs(logs: &[LogRecord]) -> Vec<Score> {
    logs.iter()
        .filter(|l| l.event_name == EVALUATION_EVENT)
        .filter_map(|l| {
            score_of(
                &l.project,
                l.trace_id,
                l.span_id,
                l.time_unix_nano,
                &l.attributes,
                &l.service,
            )
        })
        .collect()
}

/// The scores of the evaluation events on `spans` (each about the span that carries it).
pub fn scores_from_span_events(spans: &[Span]) -> Vec<Score> {
    spans
        .iter()
        .flat_map(|s| {
            s.events
                .iter()
                .filter(|e| e.name == EVALUATION_EVENT)
                .filter_map(move |e| {
                    score_of(
                        &s.project,
                        Some(s.trace_id),
                        Some(s.span_id),
                        e.time_unix_nano,
                        &e.attributes,
                        "",
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::SpanEvent;

    fn attrs(pairs: &[(&str, AttrValue)]) -> Attributes {
        let mut a = Attributes::default();
        for (k, v) in pairs {
            a.push(*k, v.clone());
        }
        a
    }

    #[test]
    fn log_records_and_span_events_become_scores_with_stable_ids() {
        let log = LogRecord {
            project: "p".into(),
            time_unix_nano: 5,
            event_name: EVALUATION_EVENT.into(),
            trace_id: Some(TraceId([1; 16])),
            span_id: Some(SpanId([2; 8])),
            service: "judge".into(),
            attributes: attrs(&[
                (EVALUATION_NAME, AttrValue::Str("relevance".into())),
                (SCORE_VALUE, AttrValue::Double(0.8)),
                (SCORE_LABEL, AttrValue::Str("relevant".into())),
                (EXPLANATION, AttrValue::Str("on topic".into())),
            ]),
            ..Default::default()
        };
        let other = LogRecord {
            event_name: "gen_ai.user.message".into(),
            ..log.clone()
        };
        let scores = scores_from_logs(&[log.clone(), other, log.clone()]);
        assert_eq!(scores.len(), 2);
        let (a, b) = (&scores[0], &scores[1]);
        assert_eq!(a.id, b.id, "the same result twice has one id");
        assert_eq!(a.name, "relevance");
        assert_eq!(
            (a.value, a.string_value.as_deref()),
            (Some(0.8), Some("relevant"))
        );
        assert_eq!(a.data_type, "NUMERIC");
        assert_eq!(a.observation_id.as_deref(), Some("0202020202020202"));
        assert_eq!(a.comment.as_deref(), Some("on topic"));
        assert_eq!(a.author.as_deref(), Some("judge"));

        let span = Span {
            project: "p".into(),
            trace_id: TraceId([1; 16]),
            span_id: SpanId([3; 8]),
            events: vec![
                SpanEvent {
                    time_unix_nano: 9,
                    name: EVALUATION_EVENT.into(),
                    attributes: attrs(&[
                        (EVALUATION_NAME, AttrValue::Str("toxicity".into())),
                        (SCORE_LABEL, AttrValue::Str("none".into())),
                    ]),
                },
                SpanEvent {
                    time_unix_nano: 9,
                    name: EVALUATION_EVENT.into(),
                    attributes: attrs(&[(SCORE_VALUE, AttrValue::Int(1))]),
                },
            ],
            ..Default::default()
        };
        // Without a span, the response id says which call was evaluated; without either,
        // nothing to attach it to.
        let by_response = LogRecord {
            trace_id: None,
            span_id: None,
            attributes: attrs(&[
                (EVALUATION_NAME, AttrValue::Str("relevance".into())),
                (SCORE_VALUE, AttrValue::Double(0.8)),
                (RESPONSE_ID, AttrValue::Str("chatcmpl-1".into())),
            ]),
            ..log.clone()
        };
        let lost = LogRecord {
            attributes: attrs(&[
                (EVALUATION_NAME, AttrValue::Str("relevance".into())),
                (SCORE_VALUE, AttrValue::Double(0.8)),
            ]),
            ..by_response.clone()
        };
        let scores = scores_from_logs(&[by_response, lost]);
        assert_eq!(scores.len(), 1);
        assert_eq!(scores[0].response_id.as_deref(), Some("chatcmpl-1"));
        assert_eq!(
            (
                scores[0].trace_id.as_str(),
                scores[0].observation_id.as_deref()
            ),
            ("", None)
        );

        let scores = scores_from_span_events(&[span]);
        assert_eq!(scores.len(), 1, "an unnamed result is not a score");
        assert_eq!(scores[0].data_type, "CATEGORICAL");
        assert_eq!(
            scores[0].observation_id.as_deref(),
            Some("0303030303030303")
        );
    }
}
