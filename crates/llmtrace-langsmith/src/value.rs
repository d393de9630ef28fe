//! Small JSON helpers: counts, strings, truncation, JSON to attribute values.

use llmtrace_model::AttrValue;
use serde_json::Value;

/// A non-negative integer count: integers, integral floats and numeric strings.
pub(crate) fn count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)
                .map(f64_to_u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// `f` as a whole number: the fraction dropped, negative and NaN to 0, beyond `u64::MAX` to
/// `u64::MAX`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "float to int `as` saturates, NaN -> 0"
)]
pub(crate) fn f64_to_u64(f: f64) -> u64 {
    f as u64
}

/// A finite float: numbers and numeric strings.
pub(crate) fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// The trimmed string, when `v` is a non-blank string.
pub(crate) fn text(v: &Value) -> Option<&str> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// A non-blank string, or a number as its text (ids sent as numbers).
pub(crate) fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Follows a path of object keys.
pub(crate) fn path<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .try_fold(v, |cur, k| cur.get(*k))
        .filter(|v| !v.is_null())
}

/// The one truncation of every receiver (with its visible marker).
pub(crate) use llmtrace_model::truncate_str as truncate;

/// A JSON value as an attribute: scalars as themselves, arrays of scalars as arrays, anything
/// else as its compact JSON text; strings longer than `max` bytes truncated. `None` for null.
pub(crate) fn attr(v: &Value, max: usize) -> Option<AttrValue> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AttrValue::Int(i),
            None => AttrValue::Double(n.as_f64()?),
        },
        Value::String(s) => AttrValue::Str(truncate(s.clone(), max)),
        Value::Array(items) if items.iter().all(is_scalar) => {
            AttrValue::Array(items.iter().filter_map(|i| attr(i, max)).collect())
        }
        other => AttrValue::Str(json_text(other, max)),
    })
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::Bool(_) | Value::Number(_) | Value::String(_))
}

/// Compact JSON text of a value, truncated to `max` bytes.
pub(crate) fn json_text(v: &Value, max: usize) -> String {
    truncate(v.to_string(), max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helpers() {
        assert_eq!(count(&json!(3)), Some(3));
        assert_eq!(count(&json!(3.0)), Some(3));
        assert_eq!(count(&json!("12")), Some(12));
        assert_eq!(count(&json!(-1)), None);
        assert_eq!(count(&json!(1.5)), None);
        assert_eq!(float(&json!("0.5")), Some(0.5));
        assert_eq!(path(&json!({"a": {"b": 1}}), &["a", "b"]), Some(&json!(1)));
        assert_eq!(path(&json!({"a": null}), &["a"]), None);
        let t = truncate("héllo".to_owned(), 2);
        assert_eq!(t, "h…[truncated by llmtrace: 5 of 6 bytes dropped]");
        assert_eq!(truncate("short".to_owned(), 10), "short");
        assert_eq!(
            attr(&json!(["a", 1]), 10),
            Some(AttrValue::Array(vec![
                AttrValue::Str("a".into()),
                AttrValue::Int(1)
            ]))
        );
        assert_eq!(
            attr(&json!({"k": 1}), 100),
            Some(AttrValue::Str("{\"k\":1}".into()))
        );
        assert_eq!(attr(&Value::Null, 10), None);
    }
}
