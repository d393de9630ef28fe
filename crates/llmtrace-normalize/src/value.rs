//! Small, allocation-conscious views of attribute values shared by every dialect: the "empty
//! means absent" rule, numeric strings, string lists and JSON decoding.

use llmtrace_model::AttrValue;
use serde_json::Value;

/// How many times a JSON string whose content is itself a JSON string is unwrapped.
const MAX_JSON_DEPTH: usize = 3;

/// Whether a value counts as absent: an empty (or blank) string or an empty array or map.
pub(crate) fn is_blank(v: &AttrValue) -> bool {
    match v {
        AttrValue::Str(s) => s.trim().is_empty(),
        AttrValue::Array(a) => a.is_empty(),
        AttrValue::Map(m) => m.is_empty(),
        _ => false,
    }
}

/// The string, when the value is a non-blank string.
pub(crate) fn non_empty_str(v: &AttrValue) -> Option<&str> {
    v.as_str().filter(|s| !s.trim().is_empty())
}

/// An identifier-like value as an owned string: a non-blank string, or an integer (some SDKs send
/// numeric user or conversation ids).
pub(crate) fn id_string(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::Str(s) if !s.trim().is_empty() => Some(s.clone()),
        AttrValue::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// A token count: a non-negative integer (numeric strings accepted); negative counts are ignored.
pub(crate) fn token_count(v: &AttrValue) -> Option<u64> {
    v.as_i64().and_then(|i| u64::try_from(i).ok())
}

/// A finite float (numeric strings accepted).
pub(crate) fn finite_f64(v: &AttrValue) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}

/// A list of non-empty strings from a string array, a JSON string of an array, or one plain string.
pub(crate) fn string_list(v: &AttrValue) -> Vec<String> {
    match v {
        AttrValue::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                AttrValue::Str(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
            .collect(),
        AttrValue::Str(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Vec::new();
            }
            if t.starts_with('[') {
                if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(t) {
                    return items
                        .into_iter()
                        .filter_map(|i| match i {
                            Value::String(s) if !s.is_empty() => Some(s),
                            _ => None,
                        })
                        .collect();
                }
            }
            vec![s.clone()]
        }
        _ => Vec::new(),
    }
}

/// Parses a JSON text, unwrapping a JSON string whose content is itself JSON (double encoding).
/// `None` when the text is not JSON.
pub(crate) fn parse_json_str(s: &str) -> Option<Value> {
    let mut v: Value = serde_json::from_str(s.trim()).ok()?;
    for _ in 0..MAX_JSON_DEPTH {
        match &v {
            Value::String(inner) if looks_like_json_container(inner) => {
                match serde_json::from_str::<Value>(inner.trim()) {
                    Ok(next) => v = next,
                    Err(_) => break,
                }
            }
            _ => break,
        }
    }
    Some(v)
}

/// Whether a string starts like a JSON object or array (cheap pre-check before parsing).
pub(crate) fn looks_like_json_container(s: &str) -> bool {
    matches!(s.trim_start().as_bytes().first(), Some(b'[' | b'{'))
}

/// A structured view of an attribute: a string is parsed as JSON, a structured value (OTLP array
/// or kvlist) is converted. `None` for blank values and for strings that are not JSON.
pub(crate) fn json_of(v: &AttrValue) -> Option<Value> {
    if is_blank(v) {
        return None;
    }
    match v {
        AttrValue::Str(s) => parse_json_str(s),
        other => Some(other.to_json()),
    }
}

/// `f` as an integer: the fraction dropped, NaN to 0, beyond the `i64` range to `i64::MIN` or
/// `i64::MAX`.
#[allow(
    clippy::cast_possible_truncation,
    reason = "float to int `as` saturates, NaN -> 0"
)]
pub(crate) fn f64_to_i64(f: f64) -> i64 {
    f as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_are_absent() {
        assert!(is_blank(&AttrValue::Str("  ".into())));
        assert!(is_blank(&AttrValue::Array(vec![])));
        assert!(!is_blank(&AttrValue::Int(0)));
        assert_eq!(non_empty_str(&AttrValue::Str(String::new())), None);
        assert_eq!(non_empty_str(&AttrValue::Str("x".into())), Some("x"));
    }

    #[test]
    fn token_counts_accept_numeric_strings_and_reject_negatives() {
        assert_eq!(token_count(&AttrValue::Str("42".into())), Some(42));
        assert_eq!(token_count(&AttrValue::Double(7.0)), Some(7));
        assert_eq!(token_count(&AttrValue::Int(-3)), None);
        assert_eq!(token_count(&AttrValue::Str("abc".into())), None);
    }

    #[test]
    fn string_lists_from_every_shape() {
        let arr = AttrValue::Array(vec![AttrValue::Str("a".into()), AttrValue::Str("".into())]);
        assert_eq!(string_list(&arr), vec!["a"]);
        assert_eq!(
            string_list(&AttrValue::Str(r#"["stop","length"]"#.into())),
            vec!["stop", "length"]
        );
        assert_eq!(string_list(&AttrValue::Str("stop".into())), vec!["stop"]);
        assert!(string_list(&AttrValue::Str(String::new())).is_empty());
    }

    #[test]
    fn double_encoded_json_is_unwrapped() {
        let inner = r#"[{"role":"user"}]"#;
        let outer = serde_json::to_string(inner).unwrap();
        let v = parse_json_str(&outer).unwrap();
        assert_eq!(v[0]["role"], "user");
        // A JSON string that is plain text stays a string.
        assert_eq!(
            parse_json_str(r#""hello""#).unwrap(),
            Value::String("hello".into())
        );
        assert_eq!(parse_json_str("not json"), None);
    }
}
