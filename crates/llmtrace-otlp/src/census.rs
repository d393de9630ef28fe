//! Counts what a body will decode into, before it is decoded.
//!
//! Decoding multiplies memory: a minimal attribute or array value is 2–4 bytes of protobuf but a
//! heap object of 50–100 bytes once decoded, so a 64 MiB body of tiny values would decode into
//! gigabytes. The census walks the body without allocating and refuses it, with a count, when it
//! holds more spans (or log records) or more decoded values than the limits allow.
//!
//! Protobuf is walked with the OTLP schema (which field of which message is a sub-message); the
//! wire format is simple enough that a hand-written walker is shorter than any dependency, and
//! prost has no allocation-free visitor. OTLP/JSON is counted structurally: every object, array
//! and element separator is one decoded value at most, and the spans (log records) are counted
//! exactly with a serde visitor that ignores their contents.

use crate::{DecodeError, Format};
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

/// Caps on what one request may decode into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Spans (or log records) in one request.
    pub max_items: usize,
    /// Decoded values in one request: messages, attributes, array and map values, strings.
    pub max_nodes: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_items: 50_000,
            max_nodes: 1_000_000,
        }
    }
}

/// What a body holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// Spans (or log records).
    pub items: usize,
    /// Decoded values (an upper bound for OTLP/JSON).
    pub nodes: usize,
}

/// Which signal a body carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `ExportTraceServiceRequest`.
    Traces,
    /// `ExportLogsServiceRequest`.
    Logs,
}

/// Counts the spans (log records) and decoded values of `body`, failing with
/// [`DecodeError::TooMany`] as soon as a limit is passed and with a decode error when the body
/// is not well-formed.
pub fn census(
    body: &[u8],
    format: Format,
    signal: Signal,
    limits: DecodeLimits,
) -> Result<Census, DecodeError> {
    let mut counter = Counter {
        census: Census::default(),
        limits,
    };
    match format {
        Format::Protobuf => {
            let root = match signal {
                Signal::Traces => Msg::TraceRequest,
                Signal::Logs => Msg::LogsRequest,
            };
            walk(body, root, 0, &mut counter)?;
        }
        Format::Json => {
            counter.add_nodes(json_nodes(body))?;
            let items = json_items(body, signal)?;
            counter.census.items = items;
            if items > limits.max_items {
                return Err(too_many("spans or log records", limits.max_items));
            }
        }
    }
    Ok(counter.census)
}

fn too_many(what: &'static str, limit: usize) -> DecodeError {
    DecodeError::TooMany { what, limit }
}

struct Counter {
    census: Census,
    limits: DecodeLimits,
}

impl Counter {
    fn add_nodes(&mut self, n: usize) -> Result<(), DecodeError> {
        self.census.nodes = self.census.nodes.saturating_add(n);
        if self.census.nodes > self.limits.max_nodes {
            return Err(too_many("decoded values", self.limits.max_nodes));
        }
        Ok(())
    }

    fn add_item(&mut self) -> Result<(), DecodeError> {
        self.census.items = self.census.items.saturating_add(1);
        if self.census.items > self.limits.max_items {
            return Err(too_many("spans or log records", self.limits.max_items));
        }
        Ok(())
    }
}

/// The OTLP messages whose sub-messages decode into heap objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    TraceRequest,
    ResourceSpans,
    ScopeSpans,
    Span,
    Event,
    Link,
    LogsRequest,
    ResourceLogs,
    ScopeLogs,
    LogRecord,
    Resource,
    Scope,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
    /// A length-delimited field that is counted but not entered (strings, bytes, status, and
    /// sub-messages newer than this walker).
    Leaf,
}

/// The message a length-delimited field `field` of `msg` decodes into.
fn child(msg: Msg, field: u64) -> Msg {
    use Msg::*;
    match (msg, field) {
        (TraceRequest, 1) => ResourceSpans,
        (ResourceSpans, 1) | (ResourceLogs, 1) => Resource,
        (ResourceSpans, 2) => ScopeSpans,
        (ScopeSpans, 1) | (ScopeLogs, 1) => Scope,
        (ScopeSpans, 2) => Span,
        (Span, 9) | (Event, 3) | (Link, 4) | (Resource, 1) | (Scope, 3) | (LogRecord, 6) => {
            KeyValue
        }
        (Span, 11) => Event,
        (Span, 13) => Link,
        (LogsRequest, 1) => ResourceLogs,
        (ResourceLogs, 2) => ScopeLogs,
        (ScopeLogs, 2) => LogRecord,
        (LogRecord, 5) | (KeyValue, 2) | (ArrayValue, 1) => AnyValue,
        (AnyValue, 5) => ArrayValue,
        (AnyValue, 6) => KeyValueList,
        (KeyValueList, 1) => KeyValue,
        _ => Leaf,
    }
}

/// Deeper than prost's own recursion limit is refused.
const MAX_DEPTH: u32 = 100;

fn walk(mut buf: &[u8], msg: Msg, depth: u32, counter: &mut Counter) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(malformed("nested deeper than 100 levels"));
    }
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let field = key >> 3;
        match key & 7 {
            0 => {
                varint(&mut buf)?;
            }
            1 => buf = skip(buf, 8)?,
            5 => buf = skip(buf, 4)?,
            2 => {
                let len = usize::try_from(varint(&mut buf)?)
                    .map_err(|_| malformed("length out of range"))?;
                let (inner, rest) = buf
                    .split_at_checked(len)
                    .ok_or_else(|| malformed("length past the end of the body"))?;
                buf = rest;
                counter.add_nodes(1)?;
                let sub = child(msg, field);
                if matches!(sub, Msg::Span | Msg::LogRecord) {
                    counter.add_item()?;
                }
                if sub != Msg::Leaf {
                    walk(inner, sub, depth.saturating_add(1), counter)?;
                }
            }
            _ => return Err(malformed("unsupported wire type")),
        }
    }
    Ok(())
}

fn malformed(why: &str) -> DecodeError {
    DecodeError::Protobuf(why.to_string())
}

fn skip(buf: &[u8], n: usize) -> Result<&[u8], DecodeError> {
    buf.get(n..)
        .ok_or_else(|| malformed("fixed-width value past the end of the body"))
}

/// Reads a base-128 varint (at most 10 bytes).
fn varint(buf: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let (&byte, rest) = buf
            .split_first()
            .ok_or_else(|| malformed("varint past the end of the body"))?;
        *buf = rest;
        value |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(malformed("varint longer than 10 bytes"))
}

/// An upper bound of the values any JSON body decodes into (its objects, arrays and element
/// separators outside strings), counted without parsing: receivers of other JSON wires check it
/// against [`DecodeLimits::max_nodes`] before they parse.
pub fn json_value_count(body: &[u8]) -> usize {
    json_nodes(body)
}

fn json_nodes(body: &[u8]) -> usize {
    let (mut nodes, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' | b',' => nodes = nodes.saturating_add(1),
            _ => {}
        }
    }
    nodes
}

/// Counts the elements of a JSON array without keeping them.
#[derive(Default)]
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0usize;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n = n.saturating_add(1);
                }
                Ok(Count(n))
            }
        }
        d.deserialize_any(CountVisitor)
    }
}

#[derive(Deserialize, Default)]
struct JsonScope {
    #[serde(default, alias = "log_records", alias = "logRecords")]
    spans: Count,
}

#[derive(Deserialize, Default)]
struct JsonResource {
    #[serde(
        default,
        alias = "scope_spans",
        alias = "scopeLogs",
        alias = "scope_logs"
    )]
    #[serde(rename = "scopeSpans")]
    scopes: Option<Vec<JsonScope>>,
}

#[derive(Deserialize, Default)]
struct JsonRequest {
    #[serde(
        default,
        alias = "resource_spans",
        alias = "resourceLogs",
        alias = "resource_logs"
    )]
    #[serde(rename = "resourceSpans")]
    resources: Option<Vec<JsonResource>>,
}

fn json_items(body: &[u8], _signal: Signal) -> Result<usize, DecodeError> {
    let req: JsonRequest =
        serde_json::from_slice(body).map_err(|e| DecodeError::Json(e.to_string()))?;
    Ok(req
        .resources
        .unwrap_or_default()
        .iter()
        .flat_map(|r| r.scopes.as_deref().unwrap_or_default())
        .fold(0usize, |n, s| n.saturating_add(s.spans.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    fn request(spans: usize, values_per_span: usize) -> ExportTraceServiceRequest {
        let value = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(any_value::Value::IntValue(1))
                    };
                    values_per_span
                ],
            })),
        };
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "s".into(),
            attributes: vec![KeyValue {
                key: "k".into(),
                value: Some(value),
                ..Default::default()
            }],
            events: vec![span::Event {
                name: "e".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span; spans],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    const LOOSE: DecodeLimits = DecodeLimits {
        max_items: usize::MAX,
        max_nodes: usize::MAX,
    };

    #[test]
    fn protobuf_counts_spans_and_every_decoded_value() {
        let body = request(3, 5).encode_to_vec();
        let c = census(&body, Format::Protobuf, Signal::Traces, LOOSE).unwrap();
        assert_eq!(c.items, 3);
        // Per span: the span, trace id, span id, name, the attribute, its key, its value, the
        // array, 5 elements, the event and its name = 15; plus resource spans and scope spans.
        assert_eq!(c.nodes, 2 + 3 * 15);
    }

    #[test]
    fn json_counts_spans_exactly_and_values_from_above() {
        let req = request(4, 5);
        let body = serde_json::to_vec(&req).unwrap();
        let c = census(&body, Format::Json, Signal::Traces, LOOSE).unwrap();
        assert_eq!(c.items, 4);
        assert!(c.nodes >= 4 * 10, "{c:?}");
    }

    #[test]
    fn a_limit_passed_is_refused_with_its_count() {
        let body = request(10, 1).encode_to_vec();
        let tight = DecodeLimits {
            max_items: 9,
            max_nodes: usize::MAX,
        };
        let err = census(&body, Format::Protobuf, Signal::Traces, tight).unwrap_err();
        assert!(
            matches!(err, DecodeError::TooMany { limit: 9, .. }),
            "{err}"
        );
        let body = request(1, 1_100_000).encode_to_vec();
        let err = census(
            &body,
            Format::Protobuf,
            Signal::Traces,
            DecodeLimits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::TooMany {
                    limit: 1_000_000,
                    ..
                }
            ),
            "{err}"
        );
        let json = serde_json::to_vec(&request(1, 2_000_000)).unwrap();
        let err = census(&json, Format::Json, Signal::Traces, DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::TooMany { .. }), "{err}");
    }

    #[test]
    fn malformed_protobuf_is_an_error_not_a_panic() {
        for body in [
            &[0x0a, 0xff][..],       // length past the end
            &[0x0a, 0x05, 0x12][..], // truncated sub-message
            &[0x09, 0x01][..],       // fixed64 cut short
            &[
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
            ][..], // long varint
            &[0x0b][..],             // group wire type
        ] {
            assert!(census(body, Format::Protobuf, Signal::Traces, LOOSE).is_err());
        }
        // 200 nested arrays: refused past 100 levels instead of recursing without bound.
        let mut v = AnyValue {
            value: Some(any_value::Value::IntValue(1)),
        };
        for _ in 0..200 {
            v = AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![v] })),
            };
        }
        let mut req = request(1, 0);
        req.resource_spans[0].scope_spans[0].spans[0].attributes[0].value = Some(v);
        let err = census(
            &req.encode_to_vec(),
            Format::Protobuf,
            Signal::Traces,
            LOOSE,
        );
        assert!(err.is_err());
    }
}
