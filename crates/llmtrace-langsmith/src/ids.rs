//! Run UUIDs to trace and span ids, and `dotted_order` parsing.
//!
//! * **Trace id** = the 16 bytes of the trace's UUID (the root run's id), so the trace shows
//!   under the id LangSmith shows.
//! * **Span id** = the run UUID folded to 8 bytes: its first half XOR its second half
//!   ([`span_id_for`]). Deterministic (a post and a patch sent in different requests land on
//!   the same span; the parent id is computed the same way from `parent_run_id`) and unique in
//!   practice for every UUID version: UUIDv7 runs created within one millisecond share their
//!   first 8 bytes (timestamp and counter high bits) and differ in the last 8, UUIDv1 ids share
//!   their last 8 bytes (clock sequence and node) and differ in the first 8, and v4 ids are
//!   random in both. (LangSmith's own OTel exporter takes the first 8 bytes, which collide for
//!   runs started in the same millisecond.) A fold of zero falls back to the last, then the
//!   first, 8 bytes; only the nil UUID is refused.

use llmtrace_model::{SpanId, TraceId};

/// A UUID as its 16 bytes.
pub type Uuid = [u8; 16];

/// Parses a UUID in its hyphenated (`01a213b5-3f2a-7953-adfc-36650a1daf2d`) or plain 32-hex
/// form, any case, optionally in braces; `None` otherwise.
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    let s = s.trim();
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    let hex_str: String = match s.len() {
        32 => s.to_owned(),
        36 => {
            let b = s.as_bytes();
            if [8, 13, 18, 23].iter().any(|&i| b.get(i) != Some(&b'-')) {
                return None;
            }
            s.chars().filter(|c| *c != '-').collect()
        }
        _ => return None,
    };
    let mut out = [0u8; 16];
    hex::decode_to_slice(hex_str, &mut out).ok()?;
    Some(out)
}

/// The canonical lowercase hyphenated text of a UUID.
pub fn format_uuid(u: &Uuid) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&hex::encode([*b]));
    }
    out
}

/// The trace id of a trace UUID; `None` for the nil UUID.
pub fn trace_id_for(u: &Uuid) -> Option<TraceId> {
    TraceId::from_bytes(u).ok()
}

/// The span id of a run UUID (see the module docs); `None` only for the nil UUID.
pub fn span_id_for(u: &Uuid) -> Option<SpanId> {
    let (lo, hi) = u.split_at_checked(8)?;
    let mut fold = [0u8; 8];
    for ((f, a), b) in fold.iter_mut().zip(lo).zip(hi) {
        *f = a ^ b;
    }
    SpanId::from_bytes(&fold)
        .or_else(|_| SpanId::from_bytes(hi))
        .or_else(|_| SpanId::from_bytes(lo))
        .ok()
}

/// One segment of a `dotted_order`: the run's start and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DottedSegment {
    /// Start of the run, Unix nanoseconds.
    pub start_unix_nano: u64,
    /// The run id.
    pub run_id: Uuid,
}

/// Parses a `dotted_order` (`<%Y%m%dT%H%M%S%fZ><uuid>` segments joined by `.`, root first);
/// `None` when any segment is malformed.
pub fn parse_dotted_order(s: &str) -> Option<Vec<DottedSegment>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.split('.')
        .map(|seg| {
            let z = seg.find(['Z', 'z'])?;
            // `Z` is one byte, so the cut after it is a char boundary.
            let (time, id) = seg.split_at_checked(z.checked_add(1)?)?;
            let start_unix_nano = crate::time::parse_time_str(time)?;
            let run_id = parse_uuid(id)?;
            Some(DottedSegment {
                start_unix_nano,
                run_id,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_forms() {
        let u = parse_uuid("01A213B5-3F2A-7953-ADFC-36650A1DAF2D").unwrap();
        assert_eq!(format_uuid(&u), "01a213b5-3f2a-7953-adfc-36650a1daf2d");
        assert_eq!(parse_uuid("01a213b53f2a7953adfc36650a1daf2d"), Some(u));
        assert_eq!(
            parse_uuid("{01a213b5-3f2a-7953-adfc-36650a1daf2d}"),
            Some(u)
        );
        assert_eq!(parse_uuid("01a213b5-3f2a-7953-adfc-36650a1daf2"), None);
        assert_eq!(parse_uuid("01a213b5x3f2a-7953-adfc-36650a1daf2d"), None);
        assert_eq!(parse_uuid("zz a213b5-3f2a-7953-adfc-36650a1daf2d"), None);
        assert_eq!(parse_uuid("run-1"), None);
    }

    #[test]
    fn ids_are_deterministic_distinct_and_never_zero() {
        let a = parse_uuid("01a213b6-31cd-71fd-a15b-d545f2beb214").unwrap();
        let b = parse_uuid("01a213b6-31cd-71fd-a15b-d54609adf272").unwrap();
        // Same millisecond and counter-high bits: LangSmith's first-8-bytes mapping collides,
        // the fold does not.
        assert_eq!(a[..8], b[..8]);
        assert_ne!(span_id_for(&a), span_id_for(&b));
        assert_eq!(span_id_for(&a), span_id_for(&a));
        assert_eq!(
            span_id_for(&a).unwrap().to_hex(),
            hex::encode((0..8).map(|i| a[i] ^ a[i + 8]).collect::<Vec<u8>>())
        );
        assert_eq!(
            trace_id_for(&a).unwrap().to_hex(),
            "01a213b631cd71fda15bd545f2beb214"
        );
        // Equal halves fold to zero: the last 8 bytes are used.
        let mut same = [0u8; 16];
        same[..8].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        same[8..].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(span_id_for(&same).unwrap().to_hex(), "0102030405060708");
        assert_eq!(span_id_for(&[0; 16]), None);
        assert_eq!(trace_id_for(&[0; 16]), None);
    }

    #[test]
    fn dotted_order() {
        let d = parse_dotted_order(
            "20261125T171615018569Z01a213b5-3f2a-7953-adfc-36650a1daf2d.\
             20261125T171615027130Z01a213b5-3f33-793c-80be-70c7d82c2a38",
        )
        .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            format_uuid(&d[0].run_id),
            "01a213b5-3f2a-7953-adfc-36650a1daf2d"
        );
        assert_eq!(d[1].start_unix_nano - d[0].start_unix_nano, 8_561_000);
        assert_eq!(parse_dotted_order(""), None);
        assert_eq!(parse_dotted_order("20261125T171615018569Znot-a-uuid"), None);
        assert_eq!(
            parse_dotted_order("01a213b5-3f2a-7953-adfc-36650a1daf2d"),
            None
        );
    }
}
