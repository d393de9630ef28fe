//! The part of a write that needs no transaction, done beside it: each span's search text, the
//! compressed detail blob of each trace of the batch and the batch's distinct long messages
//! (`crate::messages`).
//!
//! The writer plans the blobs first ([`plan`]: one per trace of the batch, its id and each
//! span's place in it), starts [`encode`] on another thread and inserts the span rows pointing
//! at those places meanwhile; it inserts a blob after the encoding ended, if a span row uses
//! it. A span the writer stores changed (merged with a stored incomplete copy, given another
//! copy's usage) has another detail: the writer encodes that one itself, and its place in the
//! planned blob stays unused.

use crate::rows::{encode_blob, write_span_detail};
use llmtrace_model::{Span, TraceId};
use llmtrace_store::messages::MessageHash;
use std::collections::HashMap;

/// Where each span of a batch goes: its trace's planned blob and its index in that blob.
pub(crate) struct BlobPlan {
    /// Per planned blob: its id and the batch indexes of its spans, in order.
    pub(crate) blobs: Vec<(i64, Vec<usize>)>,
    /// Per span of the batch: its blob (an index into `blobs`) and its index in that blob.
    pub(crate) places: Vec<(usize, u32)>,
}

impl BlobPlan {
    /// The batch index of the span planned at (`blob_id`, `index`), when `blob_id` is a blob of
    /// this plan.
    pub(crate) fn span_at(&self, blob_id: i64, index: usize) -> Option<usize> {
        let (_, spans) = self.blobs.iter().find(|(id, _)| *id == blob_id)?;
        spans.get(index).copied()
    }
}

/// Plans one blob per trace of `spans`, taking ids from `next_blob_id` on.
pub(crate) fn plan(spans: &[Span], next_blob_id: &mut i64) -> BlobPlan {
    let mut of_trace: HashMap<(&str, TraceId), usize> = HashMap::new();
    let mut blobs: Vec<(i64, Vec<usize>)> = Vec::new();
    let mut places = Vec::with_capacity(spans.len());
    for (i, span) in spans.iter().enumerate() {
        let blob = *of_trace
            .entry((span.project.as_str(), span.trace_id))
            .or_insert_with(|| {
                let id = *next_blob_id;
                *next_blob_id = next_blob_id.saturating_add(1);
                blobs.push((id, Vec::new()));
                blobs.len().saturating_sub(1)
            });
        let index = blobs.get_mut(blob).map_or(0, |(_, members)| {
            members.push(i);
            u32::try_from(members.len().saturating_sub(1)).unwrap_or(u32::MAX)
        });
        places.push((blob, index));
    }
    BlobPlan { blobs, places }
}

/// What [`encode`] made of a batch.
pub(crate) struct Encoded {
    /// Per planned blob, its stored bytes.
    pub(crate) blobs: Vec<Vec<u8>>,
    /// Per span of the batch, its search text.
    pub(crate) texts: Vec<String>,
    /// The distinct messages the blobs refer to, per project.
    pub(crate) messages: Vec<EncodedMessage>,
}

/// A message the blobs of a batch refer to, ready for the message table.
pub(crate) struct EncodedMessage {
    /// The project, as the batch spans name it.
    pub(crate) project: String,
    /// The content address.
    pub(crate) hash: MessageHash,
    /// The latest start of the batch spans referring to it (`crate::messages::keep_until`).
    pub(crate) keep_until_ns: i64,
    /// The stored bytes.
    pub(crate) data: Vec<u8>,
}

/// Encodes the planned blobs and the search texts of `spans`.
pub(crate) fn encode(
    spans: &[Span],
    plan: &BlobPlan,
    zstd: &mut zstd::bulk::Compressor<'static>,
) -> Result<Encoded, String> {
    let texts = spans
        .iter()
        .map(llmtrace_store::search::span_search_text)
        .collect();
    let mut blobs = Vec::with_capacity(plan.blobs.len());
    let mut messages: Vec<EncodedMessage> = Vec::new();
    let mut message_at: HashMap<(&str, MessageHash), usize> = HashMap::new();
    let mut rows = Vec::new();
    for (_, members) in &plan.blobs {
        let mut json = vec![b'['];
        for (k, i) in members.iter().enumerate() {
            if k > 0 {
                json.push(b',');
            }
            let span = spans
                .get(*i)
                .ok_or_else(|| format!("planned span {i} is not in the batch"))?;
            write_span_detail(&mut json, span, Some(&mut rows))?;
            let keep_until_ns = crate::messages::keep_until(span.start_unix_nano);
            for row in rows.drain(..) {
                match message_at.entry((span.project.as_str(), row.hash)) {
                    std::collections::hash_map::Entry::Occupied(o) => {
                        if let Some(m) = messages.get_mut(*o.get()) {
                            m.keep_until_ns = m.keep_until_ns.max(keep_until_ns);
                        }
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(messages.len());
                        messages.push(EncodedMessage {
                            project: span.project.clone(),
                            hash: row.hash,
                            keep_until_ns,
                            data: encode_blob(zstd, row.body)?,
                        });
                    }
                }
            }
        }
        json.push(b']');
        blobs.push(encode_blob(zstd, json)?);
    }
    Ok(Encoded {
        blobs,
        texts,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(project: &str, trace: u8, id: u8) -> Span {
        Span {
            project: project.into(),
            trace_id: TraceId([trace; 16]),
            span_id: llmtrace_model::SpanId([id; 8]),
            ..Default::default()
        }
    }

    #[test]
    fn one_blob_per_trace_and_project_with_places_in_batch_order() {
        let spans = [
            span("a", 1, 1),
            span("a", 2, 2),
            span("a", 1, 3),
            span("b", 1, 4),
        ];
        let mut next = 10;
        let plan = plan(&spans, &mut next);
        assert_eq!(next, 13);
        assert_eq!(
            plan.blobs,
            vec![(10, vec![0, 2]), (11, vec![1]), (12, vec![3])]
        );
        assert_eq!(plan.places, vec![(0, 0), (1, 0), (0, 1), (2, 0)]);
        assert_eq!(plan.span_at(10, 1), Some(2));
        assert_eq!(plan.span_at(12, 0), Some(3));
        assert_eq!(plan.span_at(12, 1), None);
        assert_eq!(plan.span_at(9, 0), None);
        let mut zstd = crate::rows::compressor().unwrap();
        let encoded = encode(&spans, &plan, &mut zstd).unwrap();
        assert_eq!(encoded.texts.len(), 4);
        let first = crate::rows::decode_blob(&encoded.blobs[0]).unwrap();
        assert_eq!(first.len(), 2);
    }
}
