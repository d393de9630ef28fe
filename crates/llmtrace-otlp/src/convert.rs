//! OTLP requests into model spans and log records, one resource and scope at a time, moving
//! strings instead of copying them. A span with an unusable id is rejected alone, with a reason.

use crate::value::{any_value, attributes};
use llmtrace_model::{
    Attributes, LogRecord, Span, SpanEvent, SpanId, SpanLink, StatusCode, TraceId,
};
use opentelemetry_proto::tonic::collector::{
    logs::v1::ExportLogsServiceRequest, trace::v1::ExportTraceServiceRequest,
};

/// Limits applied while converting.
#[derive(Debug, Clone, Copy)]
pub struct ConvertLimits {
    /// Strings longer than this many bytes are truncated with a visible marker.
    pub max_attribute_value_bytes: usize,
}

impl Default for ConvertLimits {
    fn default() -> Self {
        ConvertLimits {
            max_attribute_value_bytes: 256 * 1024,
        }
    }
}

/// Spans that were not usable, with the first reason (OTLP `partial_success` carries both).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejected {
    /// How many items were rejected.
    pub count: u64,
    /// The first reason, naming the item.
    pub first_reason: Option<String>,
}

impl Rejected {
    fn add(&mut self, reason: impl FnOnce() -> String) {
        self.count = self.count.saturating_add(1);
        if self.first_reason.is_none() {
            self.first_reason = Some(reason());
        }
    }
}

/// The result of converting one request.
#[derive(Debug, Default)]
pub struct Converted<T> {
    /// Usable items.
    pub items: Vec<T>,
    /// Rejected items.
    pub rejected: Rejected,
}

const UNKNOWN_SERVICE: &str = "unknown_service";

fn service_of(resource: &Attributes) -> String {
    resource
        .get_str("service.name")
        .unwrap_or(UNKNOWN_SERVICE)
        .to_string()
}

/// Converts an export request into spans of `project`. Spans whose trace or span id is missing,
/// of the wrong length or all zero are rejected; an invalid parent id is treated as no parent.
pub fn spans_from_request(
    req: ExportTraceServiceRequest,
    project: &str,
    limits: &ConvertLimits,
) -> Converted<Span> {
    let max = limits.max_attribute_value_bytes;
    let mut out = Converted::default();
    for rs in req.resource_spans {
        let resource_attributes = std::sync::Arc::new(
            rs.resource
                .map(|r| attributes(r.attributes, max))
                .unwrap_or_default(),
        );
        let service = service_of(&resource_attributes);
        for ss in rs.scope_spans {
            let (scope_name, scope_version) =
                ss.scope.map(|s| (s.name, s.version)).unwrap_or_default();
            for s in ss.spans {
                let trace_id = match TraceId::from_bytes(&s.trace_id) {
                    Ok(t) => t,
                    Err(e) => {
                        out.rejected.add(|| {
                            format!("span {:?} (id {}): {e}", s.name, hex::encode(&s.span_id))
                        });
                        continue;
                    }
                };
                let span_id = match SpanId::from_bytes(&s.span_id) {
                    Ok(t) => t,
                    Err(e) => {
                        out.rejected
                            .add(|| format!("span {:?} in trace {trace_id}: {e}", s.name));
                        continue;
                    }
                };
                let parent_span_id = SpanId::from_bytes(&s.parent_span_id).ok();
                let (status, status_message) = s
                    .status
                    .map(|st| (StatusCode::from_code(st.code.into()), st.message))
                    .unwrap_or_default();
                let events = s
                    .events
                    .into_iter()
                    .map(|e| SpanEvent {
                        time_unix_nano: e.time_unix_nano,
                        name: e.name,
                        attributes: attributes(e.attributes, max),
                    })
                    .collect();
                let links = s
                    .links
                    .into_iter()
                    .filter_map(|l| {
                        Some(SpanLink {
                            trace_id: TraceId::from_bytes(&l.trace_id).ok()?,
                            span_id: SpanId::from_bytes(&l.span_id).ok()?,
                            attributes: attributes(l.attributes, max),
                        })
                    })
                    .collect();
                out.items.push(Span {
                    project: project.to_string(),
                    trace_id,
                    span_id,
                    parent_span_id,
                    name: s.name,
                    service: service.clone(),
                    start_unix_nano: s.start_time_unix_nano,
                    end_unix_nano: s.end_time_unix_nano.max(s.start_time_unix_nano),
                    otel_kind: s.kind,
                    status,
                    status_message,
                    attributes: attributes(s.attributes, max),
                    resource_attributes: resource_attributes.clone(),
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                    events,
                    links,
                    ..Span::default()
                });
            }
        }
    }
    out
}

/// Converts a logs export into log records of `project`. Records are never rejected: a bad
/// trace or span id only drops the correlation.
pub fn logs_from_request(
    req: ExportLogsServiceRequest,
    project: &str,
    limits: &ConvertLimits,
) -> Converted<LogRecord> {
    let max = limits.max_attribute_value_bytes;
    let mut out = Converted::default();
    for rl in req.resource_logs {
        let resource_attributes = rl
            .resource
            .map(|r| attributes(r.attributes, max))
            .unwrap_or_default();
        let service = service_of(&resource_attributes);
        for sl in rl.scope_logs {
            let scope_name = sl.scope.map(|s| s.name).unwrap_or_default();
            for r in sl.log_records {
                let attrs = attributes(r.attributes, max);
                let event_name = if r.event_name.is_empty() {
                    attrs.get_str("event.name").unwrap_or_default().to_string()
                } else {
                    r.event_name
                };
                let time = if r.time_unix_nano != 0 {
                    r.time_unix_nano
                } else {
                    r.observed_time_unix_nano
                };
                out.items.push(LogRecord {
                    project: project.to_string(),
                    time_unix_nano: time,
                    severity_number: r.severity_number,
                    severity_text: r.severity_text,
                    event_name,
                    trace_id: TraceId::from_bytes(&r.trace_id).ok(),
                    span_id: SpanId::from_bytes(&r.span_id).ok(),
                    body: r.body.map(|b| any_value(Some(b), max)),
                    attributes: attrs,
                    resource_attributes: resource_attributes.clone(),
                    service: service.clone(),
                    scope_name: scope_name.clone(),
                });
            }
        }
    }
    out
}
