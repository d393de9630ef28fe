//! Decode + normalize (+ price) per 1,000 RAG spans (protobuf body → normalized, priced model
//! spans), one core.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use llmtrace_normalize::Normalizer;
use llmtrace_otlp::{decode_traces, spans_from_request, ConvertLimits, Format};
use prost::Message;

fn bench(c: &mut Criterion) {
    let cfg = llmtrace_synth::SynthConfig::default();
    let mut rng = cfg.rng();
    // 200 traces × 5 spans = 1,000 spans in one body, about 625 bytes per span.
    let body =
        llmtrace_synth::rag_request(&mut rng, &cfg, 200, 1_767_225_600_000_000_000).encode_to_vec();
    let normalizer = Normalizer::new();
    let limits = ConvertLimits::default();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("decode_1k_rag_spans", |b| {
        b.iter(|| decode_traces(&body, Format::Protobuf).unwrap())
    });
    g.bench_function("decode_normalize_1k_rag_spans", |b| {
        b.iter(|| {
            let req = decode_traces(&body, Format::Protobuf).unwrap();
            let mut spans = spans_from_request(req, "default", &limits).items;
            for s in &mut spans {
                normalizer.normalize(s);
            }
            spans
        })
    });
    let book = llmtrace_pricing::PriceBook::builtin().unwrap();
    g.bench_function("decode_normalize_price_1k_rag_spans", |b| {
        b.iter(|| {
            let req = decode_traces(&body, Format::Protobuf).unwrap();
            let mut spans = spans_from_request(req, "default", &limits).items;
            for s in &mut spans {
                normalizer.normalize(s);
                llmtrace_pricing::apply(&book, s);
            }
            spans
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
