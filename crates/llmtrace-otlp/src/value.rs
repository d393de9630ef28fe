//! OTLP `AnyValue` and `KeyValue` into model attributes, with long strings truncated.

use llmtrace_model::{AttrValue, Attributes, KeyValue};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue as OtlpKv};

/// Converts OTLP key-values, truncating any string longer than `max_value_bytes`.
pub(crate) fn attributes(kvs: Vec<OtlpKv>, max_value_bytes: usize) -> Attributes {
    let mut out = Vec::with_capacity(kvs.len());
    for kv in kvs {
        out.push(KeyValue {
            key: kv.key,
            value: any_value(kv.value, max_value_bytes),
        });
    }
    Attributes(out)
}

/// Converts one OTLP value; an empty `AnyValue` becomes an empty string.
pub(crate) fn any_value(v: Option<AnyValue>, max_value_bytes: usize) -> AttrValue {
    match v.and_then(|v| v.value) {
        Some(Value::StringValue(s)) => AttrValue::Str(truncate(s, max_value_bytes)),
        Some(Value::BoolValue(b)) => AttrValue::Bool(b),
        Some(Value::IntValue(i)) => AttrValue::Int(i),
        Some(Value::DoubleValue(d)) => AttrValue::Double(d),
        Some(Value::ArrayValue(a)) => AttrValue::Array(
            a.values
                .into_iter()
                .map(|v| any_value(Some(v), max_value_bytes))
                .collect(),
        ),
        Some(Value::KvlistValue(kv)) => AttrValue::Map(attributes(kv.values, max_value_bytes)),
        Some(Value::BytesValue(b)) => AttrValue::bytes(b.get(..max_value_bytes).unwrap_or(&b)),
        // A string-table reference (OTLP profiles dictionary); spans never carry a table.
        Some(Value::StringValueStrindex(i)) => AttrValue::Int(i.into()),
        None => AttrValue::Str(String::new()),
    }
}

/// The one truncation of every receiver (with its visible marker).
pub(crate) use llmtrace_model::truncate_str as truncate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_at_char_boundary_with_marker() {
        let s = "héllo wörld".to_string();
        let t = truncate(s, 2);
        assert!(t.starts_with('h'));
        assert!(
            t.contains("truncated by llmtrace: 12 of 13 bytes dropped"),
            "{t}"
        );
        assert_eq!(truncate("short".into(), 10), "short");
    }
}
