//! Property and corpus tests of the OTLP decoders: any bytes, valid exports with random bytes
//! changed, and odd values (any double, integer, time or string) never panic; whatever decodes
//! converts into spans whose attributes serialize; the census counts what prost decodes. The
//! checked-in corpus (`tests/corpus`) holds the hostile cases found so far. Bounded: a few
//! hundred cases per property.

use llmtrace_otlp::{
    census, decode_logs, decode_traces, logs_from_request, spans_from_request, ConvertLimits,
    DecodeLimits, ExportTraceServiceRequest, Format, Signal,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span};
use proptest::prelude::*;
use prost::Message;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn valid_span(attributes: Vec<KeyValue>, start: u64, end: u64, name: String) -> Span {
    Span {
        trace_id: vec![7; 16],
        span_id: vec![9; 8],
        name,
        kind: 3,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        events: vec![span::Event {
            name: "e".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Decodes `body` both ways and converts what decodes; checks the census agrees with prost.
fn exercise(body: &[u8]) -> Result<(), TestCaseError> {
    let limits = ConvertLimits::default();
    for format in [Format::Protobuf, Format::Json] {
        let counted = census(body, format, Signal::Traces, DecodeLimits::default());
        if let Ok(req) = decode_traces(body, format) {
            let n: usize = req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            if let Ok(c) = counted {
                prop_assert_eq!(c.items, n, "census and decoder disagree");
            }
            let converted = spans_from_request(req, "p", &limits);
            for s in &converted.items {
                prop_assert!(serde_json::to_string(&s.attributes).is_ok());
            }
        }
        if let Ok(req) = decode_logs(body, format) {
            let _ = logs_from_request(req, "p", &limits);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, max_shrink_iters: 100, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        exercise(&body)?;
    }

    #[test]
    fn valid_exports_with_bytes_changed_never_panic(
        changes in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6)
    ) {
        let attrs = vec![
            kv("gen_ai.request.model", any_value::Value::StringValue("gpt-4o".into())),
            kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(12)),
            kv("list", any_value::Value::ArrayValue(ArrayValue { values: vec![
                AnyValue { value: Some(any_value::Value::DoubleValue(0.5)) },
            ]})),
        ];
        let mut body = request(vec![valid_span(attrs, 1, 2, "chat".into())]).encode_to_vec();
        for (at, byte) in changes {
            let i = at.index(body.len());
            body[i] = byte;
        }
        exercise(&body)?;
        let json = String::from_utf8_lossy(&body).into_owned();
        exercise(json.as_bytes())?;
    }

    #[test]
    fn odd_values_convert_and_serialize(
        double in any::<f64>(),
        int in any::<i64>(),
        start in any::<u64>(),
        end in any::<u64>(),
        text in "\\PC{0,40}",
    ) {
        let attrs = vec![
            kv("d", any_value::Value::DoubleValue(double)),
            kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(int)),
            kv("gen_ai.usage.output_tokens", any_value::Value::IntValue(int)),
            kv("s", any_value::Value::StringValue(text.clone())),
        ];
        let req = request(vec![valid_span(attrs, start, end, text)]);
        for body in [req.encode_to_vec(), serde_json::to_vec(&req).unwrap()] {
            exercise(&body)?;
        }
        let c = spans_from_request(req, "p", &ConvertLimits::default());
        prop_assert_eq!(c.items.len(), 1);
    }
}

/// Every corpus file decodes and converts, or is refused with an error: never a panic.
#[test]
fn the_corpus_decodes_or_is_refused() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let body = std::fs::read(&path).unwrap();
        exercise(&body).unwrap();
        seen += 1;
    }
    assert!(seen >= 5, "corpus at {} is missing", dir.display());
    // The named cases behave as documented.
    let json = std::fs::read(dir.join("max_tokens_and_times.json")).unwrap();
    let c = spans_from_request(
        decode_traces(&json, Format::Json).unwrap(),
        "p",
        &ConvertLimits::default(),
    );
    assert_eq!(c.items.len(), 2, "extreme values are kept, not rejected");
    let bad = std::fs::read(dir.join("invalid_utf8_name.bin")).unwrap();
    assert!(decode_traces(&bad, Format::Protobuf).is_err());
}

/// 100,000 nested arrays: refused by the census (and by prost's recursion limit), never a
/// stack overflow.
#[test]
fn deep_nesting_is_refused() {
    let mut body = Vec::new();
    // Innermost first: an AnyValue holding an ArrayValue holding the previous AnyValue.
    let mut value: Vec<u8> = vec![0x18, 0x01]; // AnyValue{int_value: 1}
    for _ in 0..100_000 {
        let mut array = vec![0x0a];
        push_len(&mut array, value.len());
        array.extend_from_slice(&value);
        let mut any = vec![0x2a];
        push_len(&mut any, array.len());
        any.extend_from_slice(&array);
        value = any;
    }
    let mut kv = vec![0x0a, 0x01, b'k', 0x12];
    push_len(&mut kv, value.len());
    kv.extend_from_slice(&value);
    let mut span = vec![0x0a, 0x10];
    span.extend_from_slice(&[1; 16]);
    span.extend_from_slice(&[0x12, 0x08]);
    span.extend_from_slice(&[2; 8]);
    span.push(0x4a);
    push_len(&mut span, kv.len());
    span.extend_from_slice(&kv);
    let mut scope = vec![0x12];
    push_len(&mut scope, span.len());
    scope.extend_from_slice(&span);
    let mut resource = vec![0x12];
    push_len(&mut resource, scope.len());
    resource.extend_from_slice(&scope);
    body.push(0x0a);
    push_len(&mut body, resource.len());
    body.extend_from_slice(&resource);
    assert!(census(
        &body,
        Format::Protobuf,
        Signal::Traces,
        DecodeLimits::default()
    )
    .is_err());
    assert!(decode_traces(&body, Format::Protobuf).is_err());
}

fn push_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}
