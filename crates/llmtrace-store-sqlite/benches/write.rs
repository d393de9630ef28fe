//! SQLite batch write: one group commit of 20,000 normalized RAG spans (4,000 traces) into a
//! store that already holds earlier batches, `synchronous=FULL`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use llmtrace_normalize::Normalizer;
use llmtrace_otlp::{spans_from_request, ConvertLimits};
use llmtrace_store::{SpanWriter, WriteBatch};
use llmtrace_store_sqlite::SqliteStore;
use std::sync::Arc;

const SPANS: usize = 20_000;

fn batch(rng: &mut rand::rngs::StdRng, cfg: &llmtrace_synth::SynthConfig) -> WriteBatch {
    let normalizer = Normalizer::new();
    let mut spans = Vec::with_capacity(SPANS);
    for _ in 0..SPANS / 100 {
        let req = llmtrace_synth::rag_request(rng, cfg, 20, 1_767_225_600_000_000_000);
        spans.extend(spans_from_request(req, "default", &ConvertLimits::default()).items);
    }
    for s in &mut spans {
        normalizer.normalize(s);
    }
    WriteBatch {
        spans,
        logs: vec![],
        scores: vec![],
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let cfg = llmtrace_synth::SynthConfig::default();
    let mut rng = cfg.rng();
    let mut g = c.benchmark_group("sqlite");
    g.throughput(Throughput::Elements(SPANS as u64));
    g.sample_size(10);
    g.bench_function("write_20k_rag_spans", |b| {
        b.iter_batched(
            || Arc::new(batch(&mut rng, &cfg)),
            |batch| rt.block_on(store.write(batch)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
    eprintln!("store holds {} bytes after the run", store.size_bytes());
}

criterion_group!(benches, bench);
criterion_main!(benches);
