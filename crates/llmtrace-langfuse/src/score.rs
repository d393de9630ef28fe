//! Langfuse scores (`POST /api/public/scores`, and `score-create` events of the ingestion API).

/// One Langfuse score object as a score of `project`: `traceId`, `name` and `value` are
/// required; `id` (`fresh_id()` when absent), `observationId`, `dataType` (NUMERIC, CATEGORICAL,
/// BOOLEAN; inferred from the value when absent), `comment`, `source`, `environment` and
/// `timestamp` (`now_unix_nano` when absent) are optional.
pub fn score_from_json(
    project: &str,
    v: &serde_json::Value,
    now_unix_nano: u64,
    fresh_id: &mut dyn FnMut() -> String,
) -> Result<llmtrace_model::Score, String> {
    let str_field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let trace_id = str_field("traceId").ok_or("traceId is required")?;
    let name = str_field("name").ok_or("name is required")?;
    let value = v.get("value").ok_or("value is required")?;
    let declared = str_field("dataType").map(|t| t.to_ascii_uppercase());
    let (num, label, data_type) = match (value, declared.as_deref()) {
        (serde_json::Value::Number(n), Some("BOOLEAN")) => {
            let x = n.as_f64().unwrap_or(0.0);
            (
                Some(x),
                Some(if x != 0.0 { "True" } else { "False" }.to_string()),
                "BOOLEAN",
            )
        }
        (serde_json::Value::Bool(b), _) => (
            Some(if *b { 1.0 } else { 0.0 }),
            Some(if *b { "True" } else { "False" }.to_string()),
            "BOOLEAN",
        ),
        (serde_json::Value::Number(n), None | Some("NUMERIC")) => (n.as_f64(), None, "NUMERIC"),
        (serde_json::Value::String(s), None | Some("CATEGORICAL")) => {
            (None, Some(s.clone()), "CATEGORICAL")
        }
        (_, Some(t)) => return Err(format!("value does not fit dataType {t}")),
        _ => return Err("value must be a number, a string or a boolean".into()),
    };
    let timestamp_unix_nano = match str_field("timestamp") {
        Some(t) => llmtrace_model::time::parse_time_str(&t)
            .ok_or_else(|| format!("timestamp {t:?} is not an ISO-8601 time"))?,
        None => now_unix_nano,
    };
    Ok(llmtrace_model::Score {
        project: project.to_string(),
        id: str_field("id")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(fresh_id),
        // Stored under the ids the trace's spans get (UUIDs and other ids mapped the same way).
        trace_id: crate::ids::trace_id_of(&trace_id).to_hex(),
        observation_id: str_field("observationId").map(|s| crate::ids::span_id_of(&s).to_hex()),
        name,
        value: num,
        string_value: label,
        data_type: data_type.to_string(),
        comment: str_field("comment"),
        source: str_field("source").unwrap_or_else(|| "API".into()),
        environment: str_field("environment"),
        timestamp_unix_nano,
        author: str_field("authorUserId"),
        response_id: None,
    })
}
