//! Attribute values as OTLP carries them, kept losslessly beside the normalized fields.

use serde::{Deserialize, Serialize};

/// One attribute value. Serializes to the natural JSON form (string, bool, number, array, object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A double. NaN and ±infinity, which JSON cannot hold, serialize as the strings `"NaN"`,
    /// `"Infinity"` and `"-Infinity"` (and read back as those strings), so one such value never
    /// makes its span unreadable.
    #[serde(serialize_with = "double_or_marker")]
    Double(f64),
    /// An array of values.
    Array(Vec<AttrValue>),
    /// Raw bytes, kept as lowercase hex (before `Map` so it deserializes back as bytes).
    Bytes(BytesHex),
    /// A key-value list (OTLP `kvlistValue`), order kept; a JSON object.
    Map(Attributes),
}

/// A finite double as a number; NaN and ±infinity as a visible string.
fn double_or_marker<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("Infinity")
    } else {
        s.serialize_str("-Infinity")
    }
}

/// Raw bytes shown as hex in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BytesHex {
    /// Hex of the bytes.
    pub bytes_hex: String,
}

impl AttrValue {
    /// Builds a bytes value.
    pub fn bytes(b: &[u8]) -> Self {
        AttrValue::Bytes(BytesHex {
            bytes_hex: hex::encode(b),
        })
    }

    /// The string, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer view: ints, integral doubles and numeric strings (OTLP/JSON and some SDKs send
    /// numbers as strings).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            AttrValue::Double(d) if d.fract() == 0.0 && d.is_finite() => Some(*d as i64),
            AttrValue::Str(s) => s.trim().parse::<i64>().ok().or_else(|| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|d| d.fract() == 0.0 && d.is_finite())
                    .map(|d| d as i64)
            }),
            _ => None,
        }
    }

    /// A float view: doubles, ints and numeric strings.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Double(d) => Some(*d),
            AttrValue::Int(i) => Some(*i as f64),
            AttrValue::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
    }

    /// A boolean view: bools and the strings `true`/`false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            AttrValue::Str(s) => match s.trim() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value` (a JSON string value stays a string).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// An estimate of the memory this value holds (itself, its strings and nested values): a
    /// million tiny array elements are a million values, not eight bytes each.
    pub fn memory_estimate(&self) -> usize {
        let own = std::mem::size_of::<AttrValue>();
        let inner = match self {
            AttrValue::Str(s) => s.len(),
            AttrValue::Array(a) => a
                .iter()
                .fold(0usize, |n, v| n.saturating_add(v.memory_estimate())),
            AttrValue::Map(m) => m.memory_estimate(),
            AttrValue::Bytes(b) => b.bytes_hex.len(),
            _ => 0,
        };
        own.saturating_add(inner)
    }

    /// Size in bytes of the string content, used for truncation decisions.
    pub fn approx_len(&self) -> usize {
        match self {
            AttrValue::Str(s) => s.len(),
            AttrValue::Array(a) => a.iter().map(AttrValue::approx_len).sum(),
            AttrValue::Map(m) => m
                .iter()
                .map(|kv| kv.key.len() + kv.value.approx_len())
                .sum(),
            AttrValue::Bytes(b) => b.bytes_hex.len(),
            _ => 8,
        }
    }
}

/// Cuts a string at a char boundary at most `max` bytes in, and appends a visible marker saying
/// how many bytes were dropped, so a user sees the value was truncated rather than short: the one
/// truncation of every receiver (`--max-attribute-bytes`).
pub fn truncate_str(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let original = s.len();
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        // Index 0 is always a char boundary, so this stops there at the latest.
        cut = cut.saturating_sub(1);
    }
    s.truncate(cut);
    s.push_str(&format!(
        "…[truncated by llmtrace: {} of {} bytes dropped]",
        original.saturating_sub(cut),
        original
    ));
    s
}

impl AttrValue {
    /// Truncates every string in this value (nested ones included) to `max` bytes with
    /// [`truncate_str`], and bytes to `max` bytes.
    pub fn truncate_strings(&mut self, max: usize) {
        match self {
            AttrValue::Str(s) if s.len() > max => *s = truncate_str(std::mem::take(s), max),
            AttrValue::Array(a) => a.iter_mut().for_each(|v| v.truncate_strings(max)),
            AttrValue::Map(m) => m.truncate_strings(max),
            AttrValue::Bytes(b) if b.bytes_hex.len() > max.saturating_mul(2) => {
                // Hex holds two characters a byte: keep the first `max` bytes.
                b.bytes_hex.truncate(max.saturating_mul(2));
            }
            _ => {}
        }
    }
}

/// A key and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The attribute key.
    pub key: String,
    /// The attribute value.
    pub value: AttrValue,
}

/// An ordered attribute list (OTLP order kept; duplicates kept as sent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(pub Vec<KeyValue>);

impl Attributes {
    /// Truncates every value's strings to `max` bytes (see [`AttrValue::truncate_strings`]).
    pub fn truncate_strings(&mut self, max: usize) {
        for kv in &mut self.0 {
            kv.value.truncate_strings(max);
        }
    }

    /// An estimate of the memory these attributes hold (keys, values, nested values).
    pub fn memory_estimate(&self) -> usize {
        self.0.iter().fold(0usize, |n, kv| {
            n.saturating_add(std::mem::size_of::<KeyValue>())
                .saturating_add(kv.key.len())
                .saturating_add(kv.value.memory_estimate())
        })
    }

    /// The first value under `key`.
    pub fn get(&self, key: &str) -> Option<&AttrValue> {
        self.0.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
    }

    /// The first non-empty string under `key`.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(AttrValue::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Appends a key-value pair.
    pub fn push(&mut self, key: impl Into<String>, value: AttrValue) {
        self.0.push(KeyValue {
            key: key.into(),
            value,
        });
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the pairs.
    pub fn iter(&self) -> impl Iterator<Item = &KeyValue> {
        self.0.iter()
    }
}

/// Serializes as a JSON object `{key: value}` (later duplicates win, as most backends show them).
impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for kv in &self.0 {
            m.serialize_entry(&kv.key, &kv.value)?;
        }
        m.end()
    }
}

/// Deserializes a JSON object keeping the key order (a plain map would sort keys).
impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Attributes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an attribute object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Attributes, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((key, value)) = map.next_entry::<String, AttrValue>()? {
                    out.push(KeyValue { key, value });
                }
                Ok(Attributes(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod memory_tests {
    use super::*;

    #[test]
    fn memory_estimate_counts_values_not_wire_bytes() {
        let tiny = AttrValue::Array(vec![AttrValue::Int(1); 1000]);
        assert!(tiny.memory_estimate() >= 1000 * std::mem::size_of::<AttrValue>());
        let text = AttrValue::Str("x".repeat(10_000));
        assert!(text.memory_estimate() >= 10_000);
        let attrs = Attributes(vec![KeyValue {
            key: "k".into(),
            value: tiny.clone(),
        }]);
        assert!(attrs.memory_estimate() > tiny.memory_estimate());
        let span = crate::Span {
            attributes: attrs.clone(),
            ..Default::default()
        };
        assert!(span.memory_estimate() > attrs.memory_estimate());
    }
}
