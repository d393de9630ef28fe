//! `llmtrace-storefill`: writes generated RAG traces (`llmtrace_synth::rag_request`, 5 spans a
//! trace) into a store through the same ingest path as `POST /v1/traces` (decode, normalize,
//! price, bounded pipeline with group commits, store), minus HTTP and the load generator's
//! network work, so a 100M-span store for the query benchmarks takes minutes of writer time
//! instead of hours of HTTP.
//!
//! The traces' start times are spread evenly over the last `--spread-hours` (default 720: 30
//! days), newest last, so 24-hour and 30-day dashboards both have data in range.
//!
//! ```sh
//! cargo run --release -p llmtrace-storefill -- --data-dir /tmp/llmtrace-10m --spans 10000000
//! cargo run --release -p llmtrace-storefill -- --clickhouse http://127.0.0.1:8123/llmtrace --spans 100000000
//! ```

use anyhow::{bail, Context, Result};
use clap::Parser;
use llmtrace_ingest::{IngestConfig, Ingestor, PriceTable};
use llmtrace_pipeline::{Pipeline, PipelineConfig};
use llmtrace_synth::{rag_request, SynthConfig};
use prost::Message as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser)]
struct Args {
    /// SQLite: the data dir (created when missing).
    #[arg(long, conflicts_with = "clickhouse")]
    data_dir: Option<std::path::PathBuf>,
    /// ClickHouse: `http://host:port/database`.
    #[arg(long)]
    clickhouse: Option<String>,
    /// Spans to write (rounded up to whole requests of `--traces-per-request` × 5 spans).
    #[arg(long, default_value_t = 1_000_000)]
    spans: u64,
    /// Traces per generated request.
    #[arg(long, default_value_t = 20)]
    traces_per_request: usize,
    /// Concurrent producers (each generates, encodes and decodes its own requests). Each waits
    /// for its request's commit, so this bounds the spans in flight: 4 producers gave commits of
    /// 400 spans and 4,000-6,000 spans/s into ClickHouse, 64 give about 18,000.
    #[arg(long, default_value_t = 64)]
    tasks: u64,
    /// Hours over which the traces' start times are spread, ending now.
    #[arg(long, default_value_t = 720)]
    spread_hours: u64,
    /// Project the traces belong to.
    #[arg(long, default_value = "default")]
    project: String,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

const SPANS_PER_TRACE: u64 = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let (store, linger): (Arc<dyn llmtrace_store::SpanWriter>, Duration) =
        match (&args.data_dir, &args.clickhouse) {
            (Some(dir), None) => {
                std::fs::create_dir_all(dir)?;
                let store = llmtrace_store_sqlite::SqliteStore::open_dir(dir)
                    .with_context(|| format!("cannot open the store in {}", dir.display()))?;
                (Arc::new(store), Duration::ZERO)
            }
            (None, Some(url)) => {
                let store = llmtrace_store_clickhouse::ClickHouseStore::connect(url)
                    .await
                    .with_context(|| format!("cannot reach ClickHouse at {url}"))?;
                (Arc::new(store), Duration::from_millis(10))
            }
            _ => bail!("give --data-dir (SQLite) or --clickhouse URL"),
        };
    let pipeline = Pipeline::start(
        store,
        PipelineConfig {
            max_queued_spans: 200_000,
            max_queued_bytes: 256 << 20,
            max_batch_spans: 20_000,
            retry_for: Duration::from_secs(60),
            linger,
            max_project_share: 1.0,
        },
    );
    let ingest = Arc::new(Ingestor::new(
        pipeline,
        Arc::new(PriceTable::new(
            llmtrace_pricing::PriceBook::builtin().map_err(anyhow::Error::msg)?,
        )),
        IngestConfig::default(),
    ));
    let per_request = u64::try_from(args.traces_per_request)?.saturating_mul(SPANS_PER_TRACE);
    let requests = args.spans.div_ceil(per_request.max(1));
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let spread = args.spread_hours.saturating_mul(3_600_000_000_000);
    let next = Arc::new(AtomicU64::new(0));
    let written = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let producers: Vec<_> = (0..args.tasks.max(1))
        .map(|task| {
            let (ingest, next, written) = (ingest.clone(), next.clone(), written.clone());
            let cfg = SynthConfig::new("rag-service", args.seed.wrapping_add(task));
            let (project, traces) = (args.project.clone(), args.traces_per_request);
            tokio::spawn(async move {
                let mut rng = cfg.rng();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return Ok::<(), anyhow::Error>(());
                    }
                    // Oldest first: request i ends `spread × (requests - i) / requests` ago.
                    let ago = (u128::from(spread) * u128::from(requests - i)
                        / u128::from(requests.max(1))) as u64;
                    let req = rag_request(&mut rng, &cfg, traces, now.saturating_sub(ago));
                    let bytes = req.encoded_len();
                    loop {
                        match ingest.export_traces(&project, req.clone(), bytes).await {
                            Ok(_) => break,
                            Err(e)
                                if matches!(
                                    e.class,
                                    llmtrace_ingest::ErrorClass::Overloaded
                                        | llmtrace_ingest::ErrorClass::QuotaExceeded
                                ) =>
                            {
                                tokio::time::sleep(Duration::from_millis(5)).await
                            }
                            Err(e) => bail!("{}", e.message),
                        }
                    }
                    written.fetch_add(per_request, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let report = {
        let written = written.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let n = written.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "{n} spans, {:.0} spans/s, ETA {:.0} s",
                    n as f64 / secs,
                    (requests.saturating_mul(per_request).saturating_sub(n)) as f64
                        / (n as f64 / secs).max(1.0)
                );
            }
        })
    };
    for p in producers {
        p.await??;
    }
    report.abort();
    let n = written.load(Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"spans": n, "seconds": secs, "spans_per_s": n as f64 / secs})
    );
    Ok(())
}
