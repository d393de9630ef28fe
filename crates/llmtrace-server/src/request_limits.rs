//! Caps on what one request of the JSON wires (Langfuse ingestion, OpenAI Agents, LangSmith)
//! may decode into, checked on counts before the body is parsed or converted; the OTLP receivers
//! apply the same [`DecodeLimits`] in the ingest path.

use crate::error::{api_error, class_error};
use axum::http::StatusCode;
use axum::response::Response;
use llmtrace_ingest::{DecodeLimits, ErrorClass};

/// Most per-event errors listed in a 207 answer; the rest are counted, not listed.
pub(crate) const MAX_LISTED_ERRORS: usize = 1000;

/// The 413 refusal when `body` (JSON) holds more values than one request may decode into.
pub(crate) fn check_json_values(limits: DecodeLimits, body: &[u8]) -> Option<Response> {
    let n = llmtrace_otlp::json_value_count(body);
    if n > limits.max_nodes {
        return Some(class_error(
            ErrorClass::PayloadTooLarge,
            format!(
                "request holds more than {} JSON values (--max-values-per-request); send smaller batches",
                limits.max_nodes
            ),
        ));
    }
    None
}

/// A JSON request body of at most `max_bytes`, read within the body deadline, refused (413)
/// when it holds more values than `limits` allow, parsed; or the answer refusing it.
pub(crate) async fn read_json_body(
    body: axum::body::Body,
    max_bytes: usize,
    limits: DecodeLimits,
) -> Result<serde_json::Value, Box<Response>> {
    let bytes = crate::body_read::read_body(body, max_bytes)
        .await
        .map_err(|e| Box::new(class_error(e.class, e.message)))?;
    if let Some(refused) = check_json_values(limits, &bytes) {
        return Err(Box::new(refused));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        Box::new(api_error(
            StatusCode::BAD_REQUEST,
            format!("body is not JSON: {e}"),
        ))
    })
}

/// The 413 refusal when a request carries more than `limits.max_items` `what`s.
pub(crate) fn check_items(limits: DecodeLimits, n: usize, what: &str) -> Option<Response> {
    if n > limits.max_items {
        return Some(class_error(
            ErrorClass::PayloadTooLarge,
            format!(
                "request holds {n} {what}, more than the limit of {} (--max-spans-per-request); send smaller batches",
                limits.max_items
            ),
        ));
    }
    None
}

/// Keeps the first [`MAX_LISTED_ERRORS`] of `errors`; the number left out.
pub(crate) fn truncate_errors<T>(errors: &mut Vec<T>) -> usize {
    let dropped = errors.len().saturating_sub(MAX_LISTED_ERRORS);
    errors.truncate(MAX_LISTED_ERRORS);
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_over_the_limits_are_refused_with_413() {
        let limits = DecodeLimits {
            max_items: 2,
            max_nodes: 5,
        };
        assert!(check_items(limits, 2, "events").is_none());
        assert_eq!(check_items(limits, 3, "events").unwrap().status(), 413);
        assert!(check_json_values(limits, br#"{"a":[1,2]}"#).is_none());
        assert_eq!(
            check_json_values(limits, br#"{"a":[1,2,3,4,5,6]}"#)
                .unwrap()
                .status(),
            413
        );
        let mut errors: Vec<u32> = (0..1500).collect();
        assert_eq!(truncate_errors(&mut errors), 500);
        assert_eq!(errors.len(), MAX_LISTED_ERRORS);
        let mut few = vec![1, 2];
        assert_eq!(truncate_errors(&mut few), 0);
        assert_eq!(few, [1, 2]);
    }
}
