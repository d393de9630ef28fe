//! Langfuse ids as OpenTelemetry ids: hex ids (the OTel-based SDKs, UUIDs without dashes) are
//! used as they are, anything else is hashed to a stable id. The OpenAI Agents receiver maps its
//! ids the same way.

use llmtrace_model::{SpanId, TraceId};

/// FNV-1a over `s` from `basis`: a stable fallback id for entity ids that are not hex.
fn fnv(s: &str, basis: u64) -> u64 {
    let mut h = basis;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.max(1)
}

/// A Langfuse trace id as an OpenTelemetry trace id: 32 hex characters (the OTel-based SDKs, or
/// a UUID without dashes) are used as they are; any other id is hashed.
pub fn trace_id_of(id: &str) -> TraceId {
    let compact: String = id.chars().filter(|c| *c != '-').collect();
    if let Ok(t) = TraceId::from_hex(&compact) {
        return t;
    }
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&fnv(id, 0xcbf2_9ce4_8422_2325).to_be_bytes());
    b[8..].copy_from_slice(&fnv(id, 0x8422_2325_cbf2_9ce4).to_be_bytes());
    TraceId(b)
}

/// A Langfuse observation id as a span id: 16 hex characters are used as they are, a UUID by
/// its last 8 bytes (the random part of v4 and v7 UUIDs), anything else hashed.
pub fn span_id_of(id: &str) -> SpanId {
    let compact: String = id.chars().filter(|c| *c != '-').collect();
    if let Ok(s) = SpanId::from_hex(&compact) {
        return s;
    }
    // `get`: a 32-byte id of multi-byte characters has no char boundary at 16.
    if let Some(Ok(s)) = compact
        .get(16..)
        .filter(|_| compact.len() == 32)
        .map(SpanId::from_hex)
    {
        return s;
    }
    SpanId(fnv(id, 0xcbf2_9ce4_8422_2325).to_be_bytes())
}

/// The root span standing for a Langfuse trace.
pub fn root_span_id(trace_id: &str) -> SpanId {
    SpanId(fnv(&format!("langfuse-trace:{trace_id}"), 0xcbf2_9ce4_8422_2325).to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32-byte id of multi-byte characters (no char boundary at 16) is hashed, not sliced.
    #[test]
    fn non_ascii_ids_never_panic() {
        for id in [
            "€€€€€€€€€€ab",
            "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€ab",
            "ab€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€",
        ] {
            let s = span_id_of(id);
            assert_eq!(s, span_id_of(id), "stable");
            let _ = trace_id_of(id);
        }
        assert_eq!(
            span_id_of("0123456789abcdef0123456789abcdef"),
            SpanId::from_hex("0123456789abcdef").unwrap()
        );
    }
}
