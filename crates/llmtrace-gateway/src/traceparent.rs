//! The W3C `traceparent` header (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`).

use llmtrace_model::{SpanId, TraceId};

/// The app's span a gateway span joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traceparent {
    /// The app's trace.
    pub trace_id: TraceId,
    /// The app's span: the gateway span's parent.
    pub parent_span_id: SpanId,
}

impl Traceparent {
    /// Parses a header value; `None` when it is not a valid version-00 (or later, read as 00)
    /// `traceparent` (all-zero ids are invalid, as the W3C spec says).
    pub fn parse(value: &str) -> Option<Traceparent> {
        let mut fields = value.trim().split('-');
        let version = fields.next()?;
        let trace = fields.next()?;
        let parent = fields.next()?;
        let flags = fields.next()?;
        if version.len() != 2
            || version.eq_ignore_ascii_case("ff")
            || flags.len() != 2
            || !version
                .chars()
                .chain(flags.chars())
                .all(|c| c.is_ascii_hexdigit())
            || (version == "00" && fields.next().is_some())
            || trace.len() != 32
            || parent.len() != 16
        {
            return None;
        }
        Some(Traceparent {
            trace_id: TraceId::from_hex(trace).ok()?,
            parent_span_id: SpanId::from_hex(parent).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_headers() {
        let t =
            Traceparent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(t.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.parent_span_id.to_hex(), "00f067aa0ba902b7");
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
            "0é-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(Traceparent::parse(bad), None, "{bad}");
        }
        // A later version may carry more fields.
        assert!(
            Traceparent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz")
                .is_some()
        );
    }
}
