//! LangSmith feedback (`POST /feedback`, and `feedback.<id>` parts of a multipart runs batch) as
//! scores: `key` is the score's name, `score` (a number or a boolean) its value, `value` (a
//! string) its label, `comment` its comment. The run it is about is placed with the same id
//! mapping as runs ([`crate::ids`]): the trace is `trace_id` (the root run's id); a feedback on
//! a run other than the root is about that run's span.

use crate::ids::{parse_uuid, span_id_for, trace_id_for};
use crate::Error;
use llmtrace_model::Score;
use serde_json::Value;

/// One feedback object as a score of `project`; `now_unix_nano` dates one without
/// `created_at`. The feedback must name its `trace_id` (llmtrace stores feedback by trace; the
/// SDK sends it when given `trace_id=`), a `key`, and a `score` or a `value`.
pub fn feedback_to_score(project: &str, v: &Value, now_unix_nano: u64) -> Result<Score, Error> {
    let invalid = |m: &str| Error::Invalid(format!("feedback: {m}"));
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("must be a JSON object"))?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::trim);
    let uuid = |k: &str| text(k).filter(|s| !s.is_empty()).map(parse_uuid);
    let trace = match uuid("trace_id") {
        Some(Some(u)) => u,
        Some(None) => return Err(invalid("trace_id is not a UUID")),
        None => {
            return Err(invalid(
                "trace_id is required (pass trace_id= to create_feedback; llmtrace stores \
                 feedback by trace)",
            ))
        }
    };
    let run = match uuid("run_id") {
        Some(Some(u)) => Some(u),
        Some(None) => return Err(invalid("run_id is not a UUID")),
        None => None,
    };
    let key = text("key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| invalid("key is required"))?;
    let label = match obj.get("value") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Bool(b)) => Some(if *b { "True" } else { "False" }.to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let (value, data_type) = match obj.get("score") {
        Some(Value::Bool(b)) => (Some(if *b { 1.0 } else { 0.0 }), "BOOLEAN"),
        Some(Value::Number(n)) => (n.as_f64().filter(|x| x.is_finite()), "NUMERIC"),
        None | Some(Value::Null) => (None, "CATEGORICAL"),
        Some(_) => return Err(invalid("score must be a number or a boolean")),
    };
    if value.is_none() && label.is_none() {
        return Err(invalid("a feedback needs a score or a value"));
    }
    let timestamp_unix_nano = match text("created_at") {
        Some(t) => crate::time::parse_time_str(t)
            .ok_or_else(|| invalid(&format!("created_at {t:?} is not a time")))?,
        None => now_unix_nano,
    };
    let source = obj
        .get("feedback_source")
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .map(|t| match t {
            "model" => "EVAL".to_string(),
            "api" => "API".to_string(),
            other => other.to_ascii_uppercase(),
        })
        .unwrap_or_else(|| "API".into());
    let id = match uuid("id") {
        Some(Some(u)) => crate::ids::format_uuid(&u),
        _ => return Err(invalid("id (a UUID) is required")),
    };
    Ok(Score {
        project: project.to_string(),
        id,
        trace_id: trace_id_for(&trace)
            .ok_or_else(|| invalid("trace_id is the nil UUID"))?
            .to_hex(),
        observation_id: run
            .filter(|r| *r != trace)
            .and_then(|r| span_id_for(&r))
            .map(|s| s.to_hex()),
        name: key.to_string(),
        value,
        string_value: label,
        data_type: data_type.to_string(),
        comment: text("comment")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        source,
        environment: None,
        timestamp_unix_nano,
        author: None,
        response_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TRACE: &str = "01a213b5-3f2a-7953-adfc-36650a1daf2d";
    const RUN: &str = "01a213b5-3f2b-7000-8000-000000000001";

    #[test]
    fn feedback_becomes_a_score_on_its_run() {
        let s = feedback_to_score(
            "p",
            &json!({"id": "5e3f3f44-1c3b-4b5c-9d4e-2f1a0b9c8d7e", "trace_id": TRACE, "run_id": RUN,
                    "key": "correctness", "score": 0.5, "value": "partly", "comment": "close",
                    "feedback_source": {"type": "model"}, "created_at": "2026-12-06T10:00:00Z"}),
            7,
        )
        .unwrap();
        assert_eq!(s.trace_id, "01a213b53f2a7953adfc36650a1daf2d");
        assert_eq!(
            s.observation_id,
            Some(span_id_for(&parse_uuid(RUN).unwrap()).unwrap().to_hex())
        );
        assert_eq!(
            (s.value, s.string_value.as_deref()),
            (Some(0.5), Some("partly"))
        );
        assert_eq!(
            (s.source.as_str(), s.data_type.as_str()),
            ("EVAL", "NUMERIC")
        );
        assert_eq!(s.comment.as_deref(), Some("close"));
        // On the root run: about the trace.
        let root = feedback_to_score(
            "p",
            &json!({"id": "5e3f3f44-1c3b-4b5c-9d4e-2f1a0b9c8d7f", "trace_id": TRACE, "run_id": TRACE,
                    "key": "user_feedback", "score": true}),
            7,
        )
        .unwrap();
        assert_eq!(root.observation_id, None);
        assert_eq!(
            (root.value, root.data_type.as_str()),
            (Some(1.0), "BOOLEAN")
        );
        assert_eq!(root.timestamp_unix_nano, 7);
        for bad in [
            json!({"id": "5e3f3f44-1c3b-4b5c-9d4e-2f1a0b9c8d7e", "run_id": RUN, "key": "k", "score": 1}),
            json!({"id": "5e3f3f44-1c3b-4b5c-9d4e-2f1a0b9c8d7e", "trace_id": "x", "key": "k", "score": 1}),
            json!({"id": "5e3f3f44-1c3b-4b5c-9d4e-2f1a0b9c8d7e", "trace_id": TRACE, "score": 1}),
            json!({"id": "5e3f3f44-1c3b-4b5c-9d4e-2f1a0b9c8d7e", "trace_id": TRACE, "key": "k"}),
            json!({"trace_id": TRACE, "key": "k", "score": 1}),
            json!({"id": "5e3f3f44-1c3b-4b5c-9d4e-2f1a0b9c8d7e", "trace_id": TRACE, "key": "k", "score": "hi"}),
            json!([]),
        ] {
            assert!(feedback_to_score("p", &bad, 7).is_err(), "{bad}");
        }
    }
}
