//! Scores (evaluations): a named value attached to a trace or one of its spans, as Langfuse
//! SDKs send them (`POST /api/public/scores`).

use serde::{Deserialize, Serialize};

/// One score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Score {
    /// Tenant.
    pub project: String,
    /// Client-chosen id; a score sent again with the same id replaces the stored one.
    pub id: String,
    /// Trace scored (32 hex characters, as the OpenTelemetry-based SDKs send it).
    pub trace_id: String,
    /// Span (observation) scored, when the score is about one span (16 hex characters).
    pub observation_id: Option<String>,
    /// Score name (`correctness`, `user-feedback`, ...).
    pub name: String,
    /// Numeric value (NUMERIC and BOOLEAN scores).
    pub value: Option<f64>,
    /// Label (CATEGORICAL scores, and the label of BOOLEAN ones when sent).
    pub string_value: Option<String>,
    /// `NUMERIC`, `CATEGORICAL` or `BOOLEAN`.
    pub data_type: String,
    /// Free-text comment.
    pub comment: Option<String>,
    /// Where it came from (`API`, `EVAL`, `ANNOTATION`).
    pub source: String,
    /// Environment (`default`, `production`, ...).
    pub environment: Option<String>,
    /// When the score was given, Unix nanoseconds.
    pub timestamp_unix_nano: u64,
    /// Who gave it (a user, an annotator, an evaluator), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The provider response the score is about (`gen_ai.response.id`), for a score sent
    /// without its span: the store attaches it to the call span that carries that response
    /// when that span is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
}

/// A score id derived from what identifies a score: `prefix` and the first 16 bytes of the
/// SHA-256 of `parts` (each ended by a NUL byte, so `["ab", "c"]` and `["a", "bc"]` differ), in
/// hex. The same parts give the same id, so a retried delivery replaces instead of adding.
pub fn digest_id(prefix: &str, parts: &[&str]) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    format!(
        "{prefix}-{}",
        hex::encode(h.finalize().get(..16).unwrap_or_default())
    )
}

/// A score as `POST /api/scores` takes it (see docs/api.md): `trace_id` and `name` are
/// required; `value` (a number or a boolean) and/or `label`; `id` (`fallback_id()` when absent),
/// `span_id`, `comment`, `source` (default `API`), `author`, `timestamp` (RFC 3339; default
/// `now_unix_nano`) are optional. The data type follows the value: a boolean is `BOOLEAN`, a
/// number `NUMERIC`, a label alone `CATEGORICAL`.
pub fn score_from_api_json(
    project: &str,
    v: &serde_json::Value,
    now_unix_nano: u64,
    fallback_id: &mut dyn FnMut(&Score) -> String,
) -> Result<Score, String> {
    use serde_json::Value;
    let obj = v.as_object().ok_or("a score must be a JSON object")?;
    let text = |k: &str| -> Result<Option<String>, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(crate::truncate_str(s.clone(), 64 * 1024))),
            Some(_) => Err(format!("{k} must be a string")),
        }
    };
    let trace_id = text("trace_id")?.ok_or("trace_id is required")?;
    let trace_id = crate::TraceId::from_hex(trace_id.trim())
        .map_err(|_| "trace_id must be 32 hex characters (not all zero)".to_string())?
        .to_hex();
    let observation_id = match text("span_id")? {
        Some(s) => Some(
            crate::SpanId::from_hex(s.trim())
                .map_err(|_| "span_id must be 16 hex characters (not all zero)".to_string())?
                .to_hex(),
        ),
        None => None,
    };
    let name = text("name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or("name is required")?;
    let label = text("label")?;
    let (value, string_value, data_type) = match obj.get("value") {
        None | Some(Value::Null) => match label {
            Some(l) => (None, Some(l), "CATEGORICAL"),
            None => return Err("a score needs a value (number or boolean) or a label".into()),
        },
        Some(Value::Bool(b)) => (
            Some(if *b { 1.0 } else { 0.0 }),
            Some(label.unwrap_or_else(|| if *b { "True" } else { "False" }.into())),
            "BOOLEAN",
        ),
        Some(Value::Number(n)) => match n.as_f64().filter(|x| x.is_finite()) {
            Some(x) => (Some(x), label, "NUMERIC"),
            None => return Err("value must be a finite number".into()),
        },
        Some(_) => return Err("value must be a number or a boolean".into()),
    };
    let timestamp_unix_nano = match text("timestamp")? {
        Some(t) => crate::time::parse_time_str(&t)
            .ok_or_else(|| format!("timestamp {t:?} is not an RFC 3339 time"))?,
        None => now_unix_nano,
    };
    let mut score = Score {
        project: project.to_string(),
        id: String::new(),
        trace_id,
        observation_id,
        name,
        value,
        string_value,
        data_type: data_type.to_string(),
        comment: text("comment")?,
        source: text("source")?.unwrap_or_else(|| "API".into()),
        environment: text("environment")?,
        timestamp_unix_nano,
        author: text("author")?,
        response_id: None,
    };
    score.id = match text("id")?.filter(|s| !s.is_empty()) {
        Some(id) => id,
        None => fallback_id(&score),
    };
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Score, String> {
        score_from_api_json("p", &v, 7, &mut |_| "generated".into())
    }

    #[test]
    fn api_scores_infer_their_type() {
        let t = "0af7651916cd43dd8448eb211c80319c";
        let s = parse(json!({"trace_id": t, "name": "helpful", "value": true, "author": "ann"}))
            .unwrap();
        assert_eq!((s.value, s.data_type.as_str()), (Some(1.0), "BOOLEAN"));
        assert_eq!(s.string_value.as_deref(), Some("True"));
        assert_eq!(s.author.as_deref(), Some("ann"));
        assert_eq!(
            (s.id.as_str(), s.timestamp_unix_nano, s.source.as_str()),
            ("generated", 7, "API")
        );
        let s = parse(
            json!({"trace_id": t, "span_id": "b7ad6b7169203331", "name": "relevance",
            "value": 0.75, "label": "good", "id": "s1", "timestamp": "2026-12-06T10:00:00Z"}),
        )
        .unwrap();
        assert_eq!(
            (s.value, s.data_type.as_str(), s.id.as_str()),
            (Some(0.75), "NUMERIC", "s1")
        );
        assert_eq!(s.observation_id.as_deref(), Some("b7ad6b7169203331"));
        let s = parse(json!({"trace_id": t, "name": "tone", "label": "polite"})).unwrap();
        assert_eq!((s.value, s.data_type.as_str()), (None, "CATEGORICAL"));
        for bad in [
            json!([]),
            json!({"name": "x", "value": 1}),
            json!({"trace_id": "xyz", "name": "x", "value": 1}),
            json!({"trace_id": t, "value": 1}),
            json!({"trace_id": t, "name": "x"}),
            json!({"trace_id": t, "name": "x", "value": "high"}),
            json!({"trace_id": t, "name": "x", "value": 1, "span_id": "short"}),
            json!({"trace_id": t, "name": "x", "value": 1, "timestamp": "yesterday"}),
            json!({"trace_id": t, "name": 5, "value": 1}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
