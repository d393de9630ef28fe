//! Stored spans back into an OTLP export request: what `llmtrace export` writes (OTLP/JSON
//! lines, as the Collector's file exporter does) and what a re-import reads. The attributes the
//! sender sent are kept with every span, so normalizing the result again gives the same typed
//! fields; spans are grouped by resource and scope as an SDK sends them.

use llmtrace_model::{AttrValue, Attributes, Span};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Status};
use std::collections::BTreeMap;

fn any(v: &AttrValue) -> AnyValue {
    let value = match v {
        AttrValue::Str(s) => any_value::Value::StringValue(s.clone()),
        AttrValue::Bool(b) => any_value::Value::BoolValue(*b),
        AttrValue::Int(i) => any_value::Value::IntValue(*i),
        AttrValue::Double(d) => any_value::Value::DoubleValue(*d),
        AttrValue::Array(a) => any_value::Value::ArrayValue(ArrayValue {
            values: a.iter().map(any).collect(),
        }),
        AttrValue::Map(m) => any_value::Value::KvlistValue(KeyValueList {
            values: key_values(m),
        }),
        AttrValue::Bytes(b) => {
            any_value::Value::BytesValue(hex::decode(&b.bytes_hex).unwrap_or_default())
        }
    };
    AnyValue { value: Some(value) }
}

fn key_values(a: &Attributes) -> Vec<KeyValue> {
    a.0.iter()
        .map(|kv| KeyValue {
            key: kv.key.clone(),
            value: Some(any(&kv.value)),
            ..Default::default()
        })
        .collect()
}

/// The OTLP span of a stored span.
fn otlp_span(s: &Span) -> opentelemetry_proto::tonic::trace::v1::Span {
    opentelemetry_proto::tonic::trace::v1::Span {
        trace_id: s.trace_id.0.to_vec(),
        span_id: s.span_id.0.to_vec(),
        parent_span_id: s.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        name: s.name.clone(),
        kind: s.otel_kind,
        start_time_unix_nano: s.start_unix_nano,
        end_time_unix_nano: s.end_unix_nano,
        attributes: key_values(&s.attributes),
        events: s
            .events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: e.time_unix_nano,
                name: e.name.clone(),
                attributes: key_values(&e.attributes),
                ..Default::default()
            })
            .collect(),
        links: s
            .links
            .iter()
            .map(|l| span::Link {
                trace_id: l.trace_id.0.to_vec(),
                span_id: l.span_id.0.to_vec(),
                attributes: key_values(&l.attributes),
                ..Default::default()
            })
            .collect(),
        status: Some(Status {
            code: i32::try_from(s.status.code()).unwrap_or(0),
            message: s.status_message.clone(),
        }),
        ..Default::default()
    }
}

/// An export request holding `spans`, grouped by resource (with `service.name` added when the
/// stored resource lacks it) and instrumentation scope.
pub fn request_from_spans(spans: &[Span]) -> ExportTraceServiceRequest {
    // (resource as JSON, service) -> (scope name, version) -> spans
    type Scopes<'a> = BTreeMap<(&'a str, &'a str), Vec<&'a Span>>;
    let mut groups: BTreeMap<(String, &str), (&Span, Scopes<'_>)> = BTreeMap::new();
    for s in spans {
        let resource = serde_json::to_string(&*s.resource_attributes).unwrap_or_default();
        let entry = groups
            .entry((resource, s.service.as_str()))
            .or_insert_with(|| (s, BTreeMap::new()));
        entry
            .1
            .entry((s.scope_name.as_str(), s.scope_version.as_str()))
            .or_default()
            .push(s);
    }
    let resource_spans = groups
        .into_values()
        .map(|(first, scopes)| {
            let mut attributes = key_values(&first.resource_attributes);
            if first.resource_attributes.get("service.name").is_none() && !first.service.is_empty()
            {
                attributes.push(KeyValue {
                    key: "service.name".into(),
                    value: Some(any(&AttrValue::Str(first.service.clone()))),
                    ..Default::default()
                });
            }
            ResourceSpans {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_spans: scopes
                    .into_iter()
                    .map(|((name, version), spans)| ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: name.to_string(),
                            version: version.to_string(),
                            ..Default::default()
                        }),
                        spans: spans.into_iter().map(otlp_span).collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{spans_from_request, ConvertLimits};
    use llmtrace_model::{SpanEvent, SpanId, StatusCode, TraceId};

    #[test]
    fn a_span_survives_the_round_trip() {
        let mut attrs = Attributes::default();
        attrs.push("gen_ai.request.model", AttrValue::Str("gpt-4o".into()));
        attrs.push("n", AttrValue::Int(-3));
        attrs.push("d", AttrValue::Double(0.5));
        attrs.push(
            "list",
            AttrValue::Array(vec![AttrValue::Bool(true), AttrValue::bytes(&[1, 2])]),
        );
        let mut resource = Attributes::default();
        resource.push("service.name", AttrValue::Str("svc".into()));
        let span = Span {
            project: "p".into(),
            trace_id: TraceId([3; 16]),
            span_id: SpanId([4; 8]),
            parent_span_id: Some(SpanId([5; 8])),
            name: "chat".into(),
            service: "svc".into(),
            start_unix_nano: 10,
            end_unix_nano: 20,
            otel_kind: 3,
            status: StatusCode::Error,
            status_message: "boom".into(),
            attributes: attrs,
            resource_attributes: std::sync::Arc::new(resource),
            scope_name: "scope".into(),
            scope_version: "1".into(),
            events: vec![SpanEvent {
                time_unix_nano: 15,
                name: "e".into(),
                attributes: Attributes::default(),
            }],
            ..Default::default()
        };
        let req = request_from_spans(std::slice::from_ref(&span));
        let back = spans_from_request(req, "p", &ConvertLimits::default()).items;
        assert_eq!(back.len(), 1);
        let b = &back[0];
        assert_eq!(
            (b.trace_id, b.span_id, b.parent_span_id),
            (span.trace_id, span.span_id, span.parent_span_id)
        );
        assert_eq!((b.start_unix_nano, b.end_unix_nano), (10, 20));
        assert_eq!(
            (b.status, b.status_message.as_str()),
            (StatusCode::Error, "boom")
        );
        assert_eq!(b.attributes, span.attributes);
        assert_eq!(b.service, "svc");
        assert_eq!(
            (b.scope_name.as_str(), b.scope_version.as_str()),
            ("scope", "1")
        );
        assert_eq!(b.events, span.events);
    }
}
