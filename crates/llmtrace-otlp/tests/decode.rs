//! Decoding and conversion of real OTLP bodies (protobuf and OTLP/JSON).

use llmtrace_model::{AttrValue, StatusCode};
use llmtrace_otlp::{decode_traces, spans_from_request, ConvertLimits, DecodeError, Format};

const JSON_BODY: &str = r#"{
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "rag-app"}}]},
    "scopeSpans": [{
      "scope": {"name": "manual", "version": "1.0"},
      "spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
         "name": "llm_call", "kind": 3, "startTimeUnixNano": "1700000000000000000",
         "endTimeUnixNano": "1700000001500000000",
         "attributes": [
           {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "120"}},
           {"key": "gen_ai.request.temperature", "value": {"doubleValue": 0.2}},
           {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}}
         ],
         "status": {"code": 2, "message": "boom"}},
        {"traceId": "00000000000000000000000000000000", "spanId": "eee19b7ec3c1b175", "name": "bad"},
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee1", "name": "short"}
      ]
    }]
  }]
}"#;

#[test]
fn otlp_json_with_string_int64_and_bad_ids() {
    let req = decode_traces(JSON_BODY.as_bytes(), Format::Json).unwrap();
    let c = spans_from_request(req, "default", &ConvertLimits::default());
    assert_eq!(c.items.len(), 1);
    assert_eq!(c.rejected.count, 2);
    assert!(c.rejected.first_reason.unwrap().contains("all zeros"));
    let s = &c.items[0];
    assert_eq!(s.trace_id.to_hex(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(s.service, "rag-app");
    assert_eq!(s.duration_nanos(), 1_500_000_000);
    assert_eq!(s.status, StatusCode::Error);
    assert_eq!(s.status_message, "boom");
    assert_eq!(s.otel_kind, 3);
    assert_eq!(s.scope_name, "manual");
    assert_eq!(
        s.attributes.get("gen_ai.usage.input_tokens"),
        Some(&AttrValue::Int(120))
    );
    assert_eq!(
        s.attributes.get("gen_ai.request.temperature"),
        Some(&AttrValue::Double(0.2))
    );
    assert_eq!(s.parent_span_id, None);
}

#[test]
fn protobuf_round_trip_and_malformed_bodies() {
    use prost::Message;
    let req = decode_traces(JSON_BODY.as_bytes(), Format::Json).unwrap();
    let bytes = req.encode_to_vec();
    let again = decode_traces(&bytes, Format::Protobuf).unwrap();
    assert_eq!(again, req);
    assert!(matches!(
        decode_traces(b"\xff\xff\xff", Format::Protobuf),
        Err(DecodeError::Protobuf(_))
    ));
    assert!(matches!(
        decode_traces(b"{\"resourceSpans\": 5}", Format::Json),
        Err(DecodeError::Json(_))
    ));
}

#[test]
fn long_attribute_values_are_truncated_not_rejected() {
    let long = "x".repeat(5000);
    let body = JSON_BODY.replace("\"a\"", &format!("\"{long}\""));
    let req = decode_traces(body.as_bytes(), Format::Json).unwrap();
    let c = spans_from_request(
        req,
        "default",
        &ConvertLimits {
            max_attribute_value_bytes: 100,
        },
    );
    let tags = c.items[0].attributes.get("tags").unwrap();
    let AttrValue::Array(a) = tags else {
        panic!("{tags:?}")
    };
    let s = a[0].as_str().unwrap();
    assert!(s.starts_with(&"x".repeat(100)));
    assert!(s.contains("truncated by llmtrace"));
}
