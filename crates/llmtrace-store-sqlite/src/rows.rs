//! Model ↔ row conversion: the columns that are filtered or summed on, and one compressed JSON
//! blob for the rest of the span.

use llmtrace_model::{Attributes, LogRecord, Span, SpanCost, SpanId, StatusCode, TraceId};
pub(crate) use llmtrace_store::span_detail::{write_span_detail, SpanDetail};
use std::collections::BTreeSet;

/// zstd level for blobs: 1 is the fastest positive level; per-trace blobs compress well with it.
const ZSTD_LEVEL: i32 = 1;

/// The detail of `span` as a stored blob would give it back (every message inline).
pub(crate) fn detail_of(span: &Span) -> Result<SpanDetail, String> {
    let mut json = Vec::new();
    write_span_detail(&mut json, span, None)?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

/// Compresses a blob, reusing the writer's compression context (creating a zstd context per
/// blob costs more than compressing it).
pub(crate) fn encode_blob(
    zstd: &mut zstd::bulk::Compressor<'static>,
    json: Vec<u8>,
) -> Result<Vec<u8>, String> {
    compress_if_worth_it(zstd, json)
}

/// Below this many bytes a JSON blob is stored as is: zstd's per-frame overhead (headers,
/// entropy tables) costs more time than it saves space on small rows.
const COMPRESS_MIN_BYTES: usize = 256;

/// The first bytes of every zstd frame; a stored JSON blob starts with `[` or `{` instead.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn compress_if_worth_it(
    zstd: &mut zstd::bulk::Compressor<'static>,
    json: Vec<u8>,
) -> Result<Vec<u8>, String> {
    if json.len() < COMPRESS_MIN_BYTES {
        return Ok(json);
    }
    zstd.compress(&json).map_err(|e| e.to_string())
}

/// A compression context for detail blobs.
pub(crate) fn compressor() -> Result<zstd::bulk::Compressor<'static>, String> {
    zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| e.to_string())
}

/// Compresses a log record.
pub(crate) fn encode_log(
    zstd: &mut zstd::bulk::Compressor<'static>,
    log: &LogRecord,
) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(log).map_err(|e| e.to_string())?;
    compress_if_worth_it(zstd, json)
}

/// Decodes a stored log record.
pub(crate) fn decode_log(blob: &[u8]) -> Result<LogRecord, String> {
    serde_json::from_slice(&json_of(blob)?).map_err(|e| e.to_string())
}

/// The details of a stored blob, in blob-index order.
pub(crate) fn decode_blob(blob: &[u8]) -> Result<Vec<SpanDetail>, String> {
    serde_json::from_slice(&json_of(blob)?).map_err(|e| e.to_string())
}

/// The JSON of a stored blob, decompressing it when it is a zstd frame.
pub(crate) fn json_of(blob: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    if blob.starts_with(&ZSTD_MAGIC) {
        zstd::stream::decode_all(blob)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| e.to_string())
    } else {
        Ok(std::borrow::Cow::Borrowed(blob))
    }
}

/// The columns of a span row needed to rebuild it.
pub(crate) struct SpanRow {
    pub(crate) project: String,
    pub(crate) trace_id: TraceId,
    pub(crate) span_key: i64,
    pub(crate) parent_key: Option<i64>,
    pub(crate) name: String,
    pub(crate) service: String,
    pub(crate) kind: i64,
    pub(crate) start_ns: i64,
    pub(crate) end_ns: i64,
    pub(crate) status: i64,
    pub(crate) counts_usage: bool,
    pub(crate) incomplete: bool,
    pub(crate) cost: SpanCost,
    pub(crate) resource_attributes: std::sync::Arc<Attributes>,
}

impl SpanRow {
    /// Rebuilds the span from its row and its detail.
    pub(crate) fn into_span(self, d: SpanDetail) -> Result<Span, String> {
        Ok(Span {
            project: self.project,
            trace_id: self.trace_id,
            span_id: SpanId(self.span_key.to_be_bytes()),
            parent_span_id: self.parent_key.map(|p| SpanId(p.to_be_bytes())),
            name: self.name,
            service: self.service,
            start_unix_nano: crate::int::count(self.start_ns),
            end_unix_nano: crate::int::count(self.end_ns),
            otel_kind: d.otel_kind,
            status: StatusCode::from_code(self.status),
            status_message: d.status_message,
            kind: llmtrace_model::SpanKind::from_code(self.kind),
            gen_ai: d.gen_ai,
            usage: d.usage,
            cost: self.cost,
            incomplete: self.incomplete,
            counts_usage: self.counts_usage,
            attributes: d.attributes,
            resource_attributes: self.resource_attributes,
            scope_name: d.scope_name,
            scope_version: d.scope_version,
            events: d.events,
            links: d.links,
        })
    }
}

/// Separator of the set columns (`models`, `providers`, `services`): a control character that
/// never occurs in names, also placed at both ends so `instr(col, SEP||value||SEP)` matches whole
/// values only.
pub(crate) const SET_SEP: char = '\u{1f}';

/// Joins a set as `SEP a SEP b SEP`.
pub(crate) fn join_set(set: &BTreeSet<String>) -> String {
    let mut s = String::from(SET_SEP);
    for v in set {
        s.push_str(v);
        s.push(SET_SEP);
    }
    s
}

/// Splits a joined set.
pub(crate) fn split_set(s: &str) -> BTreeSet<String> {
    s.split(SET_SEP)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// The pattern matching one whole value in a set column.
pub(crate) fn set_member_pattern(v: &str) -> String {
    format!("{SET_SEP}{v}{SET_SEP}")
}
