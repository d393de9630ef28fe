//! Bytes on disk of agent traces (`llmtrace_synth::agent_request`: 20 to 50 model calls a trace,
//! each resending the growing history), written two ways: each trace whole in one batch, and
//! as an SDK exports them while the agent runs (a few spans of a trace per batch, interleaved
//! with other traces). Prints bytes per span of each store, and the distinct message bytes of
//! the traces (the JSON of each distinct message once, per trace) to compare with.
//!
//! Then the same with large tool results (each distinct tool result grown by 2 to 6 KiB of
//! deterministic text, as web pages or files an agent reads), where storing each message once
//! matters: the synthetic results are a few hundred bytes, below the message table's 1 KiB.
//!
//! `cargo bench -p llmtrace-store-sqlite --bench agent_storage` (a measurement, not a timing:
//! no criterion).

use llmtrace_normalize::Normalizer;
use llmtrace_otlp::{spans_from_request, ConvertLimits};
use llmtrace_store::{SpanWriter, WriteBatch};
use llmtrace_store_sqlite::SqliteStore;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Requests of 2 traces (140 spans) generated.
const REQUESTS: usize = 100;
/// Spans of one trace per exported batch in the "as exported" layout.
const SPANS_PER_EXPORT: usize = 5;

/// Grows every tool result of `span` by 2 to 6 KiB of text derived from the result itself (so
/// the same result grows the same way in every span resending it), and rewrites the raw
/// `gen_ai.input.messages` attribute to match.
fn with_large_tool_results(span: &mut llmtrace_model::Span) {
    use llmtrace_model::{AttrValue, MessagePart};
    use std::hash::{Hash, Hasher};
    const WORDS: &[&str] = &[
        "clause", "tenant", "invoice", "latency", "policy", "renewal", "budget", "vendor",
        "appendix", "schedule", "warranty", "region", "quarter", "forecast", "audit", "notice",
    ];
    for m in &mut span.gen_ai.input_messages {
        if m.role != "tool" {
            continue;
        }
        for part in &mut m.parts {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            let text = match part {
                MessagePart::Text { content } => content,
                MessagePart::ToolCallResponse { response, .. } => {
                    let s = response.to_string();
                    *response = serde_json::Value::String(s);
                    match response {
                        serde_json::Value::String(s) => s,
                        _ => continue,
                    }
                }
                _ => continue,
            };
            text.hash(&mut h);
            let mut x = h.finish() | 1;
            let len = 2048 + (x % 4096) as usize;
            let mut doc = String::with_capacity(len + 16);
            while doc.len() < len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                doc.push(' ');
                doc.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
            }
            text.push_str(&doc);
        }
    }
    let raw = serde_json::to_string(&span.gen_ai.input_messages).unwrap();
    for kv in &mut span.attributes.0 {
        if kv.key == "gen_ai.input.messages" {
            kv.value = AttrValue::Str(raw.clone());
        }
    }
}

fn spans() -> Vec<llmtrace_model::Span> {
    let normalizer = Normalizer::new();
    let cfg = llmtrace_synth::SynthConfig::default();
    let mut rng = cfg.rng();
    let mut spans = Vec::new();
    for _ in 0..REQUESTS {
        let req = llmtrace_synth::agent_request(&mut rng, &cfg, 2, 1_767_225_600_000_000_000);
        spans.extend(spans_from_request(req, "default", &ConvertLimits::default()).items);
    }
    for s in &mut spans {
        normalizer.normalize(s);
    }
    spans
}

/// Used bytes of the store's file once closed (pages in use, the WAL checkpointed).
fn stored_bytes(dir: &std::path::Path) -> u64 {
    let c = rusqlite::Connection::open(dir.join(llmtrace_store_sqlite::DB_FILE_NAME)).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let pragma = |name: &str| -> i64 {
        c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    let sum = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap_or(0) };
    eprintln!(
        "  span blobs {} B in {} rows; messages {} B in {} rows; search index {} B",
        sum("SELECT coalesce(sum(length(data)), 0) FROM span_blobs"),
        sum("SELECT count(*) FROM span_blobs"),
        sum("SELECT coalesce(sum(length(data)), 0) FROM messages"),
        sum("SELECT count(*) FROM messages"),
        sum("SELECT coalesce(sum(length(block)), 0) FROM span_text_data"),
    );
    ((pragma("page_count") - pragma("freelist_count")) * pragma("page_size")) as u64
}

fn write_all(batches: Vec<Vec<llmtrace_model::Span>>) -> u64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        for spans in batches {
            rt.block_on(store.write(Arc::new(WriteBatch {
                spans,
                logs: vec![],
                scores: vec![],
            })))
            .unwrap();
        }
    }
    stored_bytes(dir.path())
}

fn main() {
    let plain = spans();
    report("agent traces", plain.clone());
    let mut large = plain;
    for s in &mut large {
        with_large_tool_results(s);
    }
    report("agent traces with large tool results", large);
}

fn report(what: &str, spans: Vec<llmtrace_model::Span>) {
    let n = spans.len() as u64;
    // Distinct message JSON per trace.
    let mut distinct: HashMap<llmtrace_model::TraceId, HashSet<Vec<u8>>> = HashMap::new();
    for s in &spans {
        let set = distinct.entry(s.trace_id).or_default();
        for m in s
            .gen_ai
            .input_messages
            .iter()
            .chain(&s.gen_ai.output_messages)
        {
            set.insert(serde_json::to_vec(m).unwrap());
        }
    }
    let distinct_bytes: usize = distinct
        .values()
        .flat_map(|set| set.iter().map(Vec::len))
        .sum();

    // Whole traces: one batch per request, as the load generator sends them.
    let whole: Vec<Vec<_>> = spans.chunks(140).map(<[_]>::to_vec).collect();
    // As exported: each trace's spans in start order, SPANS_PER_EXPORT at a time, the batches
    // of all traces interleaved round-robin.
    let mut by_trace: Vec<Vec<llmtrace_model::Span>> = Vec::new();
    let mut index: HashMap<llmtrace_model::TraceId, usize> = HashMap::new();
    for s in &spans {
        let i = *index.entry(s.trace_id).or_insert_with(|| {
            by_trace.push(Vec::new());
            by_trace.len() - 1
        });
        by_trace[i].push(s.clone());
    }
    for t in &mut by_trace {
        t.sort_by_key(|s| s.end_unix_nano);
    }
    let mut exported = Vec::new();
    let mut round = 0;
    loop {
        let mut any = false;
        for t in &by_trace {
            let part: Vec<_> = t
                .iter()
                .skip(round * SPANS_PER_EXPORT)
                .take(SPANS_PER_EXPORT)
                .cloned()
                .collect();
            if !part.is_empty() {
                any = true;
                exported.push(part);
            }
        }
        if !any {
            break;
        }
        round += 1;
    }

    let whole_bytes = write_all(whole);
    let exported_bytes = write_all(exported);
    println!(
        "{what}: {} traces, {n} spans; distinct message JSON {} B/span",
        by_trace.len(),
        distinct_bytes as u64 / n
    );
    println!(
        "whole traces per batch: {} B/span ({:.2}x the distinct message bytes)",
        whole_bytes / n,
        whole_bytes as f64 / distinct_bytes as f64
    );
    println!(
        "as exported ({SPANS_PER_EXPORT} spans of a trace per batch): {} B/span ({:.2}x)",
        exported_bytes / n,
        exported_bytes as f64 / distinct_bytes as f64
    );
}
