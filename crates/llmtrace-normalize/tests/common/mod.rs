//! Builders and the golden-case table shared by the normalizer's integration tests.

#![allow(dead_code, unreachable_pub, missing_docs)]

use llmtrace_model::{AttrValue, Attributes, MessagePart, Money, Span, SpanKind, Usage};
use llmtrace_normalize::Normalizer;

// ---------------------------------------------------------------------------------------------
// Builders

/// 2023-11-14T22:13:20Z, where every test span starts.
pub const START: u64 = 1_700_000_000_000_000_000;

pub fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.to_owned())
}
pub fn i(v: i64) -> AttrValue {
    AttrValue::Int(v)
}
pub fn f(v: f64) -> AttrValue {
    AttrValue::Double(v)
}
pub fn attrs(pairs: Vec<(&str, AttrValue)>) -> Attributes {
    let mut a = Attributes::default();
    for (k, v) in pairs {
        a.push(k, v);
    }
    a
}
/// An INTERNAL span of instrumentation scope `scope`, starting at [`START`] and lasting one
/// second.
pub fn span(name: &str, scope: &str, pairs: Vec<(&str, AttrValue)>) -> Span {
    Span {
        project: "default".into(),
        name: name.into(),
        service: "svc".into(),
        start_unix_nano: START,
        end_unix_nano: START + 1_000_000_000,
        otel_kind: 1,
        scope_name: scope.into(),
        attributes: attrs(pairs),
        ..Span::default()
    }
}
/// A span as [`span`] makes it, of OTLP span kind `otel_kind` and with no instrumentation scope.
pub fn span_with_kind(name: &str, otel_kind: i32, pairs: Vec<(&str, AttrValue)>) -> Span {
    Span {
        otel_kind,
        ..span(name, "", pairs)
    }
}
pub fn normalized(mut sp: Span) -> Span {
    Normalizer::new().normalize(&mut sp);
    sp
}
pub fn usage(
    input: Option<u64>,
    output: Option<u64>,
    cache_read: Option<u64>,
    cache_write: Option<u64>,
    reasoning: Option<u64>,
) -> Usage {
    Usage {
        input,
        output,
        cache_read,
        cache_write,
        cache_write_1h: None,
        reasoning,
    }
}
pub fn usd(amount: f64) -> Option<Money> {
    Money::from_f64_usd(amount)
}
pub fn text(content: &str) -> MessagePart {
    MessagePart::Text {
        content: content.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The golden-case table (OpenInference, OpenLLMetry legacy)

/// What a case must normalize to (every field is compared exactly).
pub struct Expect {
    pub kind: SpanKind,
    pub provider: Option<&'static str>,
    pub provider_raw: Option<&'static str>,
    pub operation: Option<&'static str>,
    pub request_model: Option<&'static str>,
    pub response_model: Option<&'static str>,
    pub usage: Usage,
    pub counts_usage: bool,
    pub finish_reasons: &'static [&'static str],
    pub user_id: Option<&'static str>,
    pub session_id: Option<&'static str>,
    pub input_messages: usize,
    pub output_messages: usize,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            kind: SpanKind::Span,
            provider: None,
            provider_raw: None,
            operation: None,
            request_model: None,
            response_model: None,
            usage: Usage::default(),
            counts_usage: false,
            finish_reasons: &[],
            user_id: None,
            session_id: None,
            input_messages: 0,
            output_messages: 0,
        }
    }
}

/// One table row; `E` is what the span must normalize to (a table may bring its own).
pub struct Case<E = Expect> {
    pub name: &'static str,
    pub span: Span,
    pub expect: E,
    /// Extra, case-specific assertions.
    pub extra: fn(&Span),
}

pub fn no_extra(_: &Span) {}

/// Normalizes each case's span and compares it with the case's [`Expect`], then runs its extra
/// assertions.
pub fn assert_cases(cases: Vec<Case>) {
    for case in cases {
        let sp = normalized(case.span);
        let e = &case.expect;
        let g = &sp.gen_ai;
        let n = case.name;
        assert_eq!(sp.kind, e.kind, "{n}: kind");
        assert_eq!(g.provider.as_deref(), e.provider, "{n}: provider");
        assert_eq!(
            g.provider_raw.as_deref(),
            e.provider_raw,
            "{n}: provider_raw"
        );
        assert_eq!(g.operation.as_deref(), e.operation, "{n}: operation");
        assert_eq!(
            g.request_model.as_deref(),
            e.request_model,
            "{n}: request_model"
        );
        assert_eq!(
            g.response_model.as_deref(),
            e.response_model,
            "{n}: response_model"
        );
        assert_eq!(sp.usage, e.usage, "{n}: usage");
        assert_eq!(sp.counts_usage, e.counts_usage, "{n}: counts_usage");
        assert_eq!(g.finish_reasons, e.finish_reasons, "{n}: finish_reasons");
        assert_eq!(g.user_id.as_deref(), e.user_id, "{n}: user_id");
        assert_eq!(g.session_id.as_deref(), e.session_id, "{n}: session_id");
        assert_eq!(
            g.input_messages.len(),
            e.input_messages,
            "{n}: input_messages {:?}",
            g.input_messages
        );
        assert_eq!(
            g.output_messages.len(),
            e.output_messages,
            "{n}: output_messages {:?}",
            g.output_messages
        );
        (case.extra)(&sp);
    }
}
