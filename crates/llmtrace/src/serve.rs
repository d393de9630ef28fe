//! `llmtrace serve`: open the store, start the pipeline, bind, serve until SIGINT/SIGTERM,
//! then drain the pipeline so every acknowledged span is committed.

use crate::cli::ServeArgs;
use crate::config::{ServeConfig, StoreChoice};
use anyhow::Context;
use llmtrace_alerts::evaluator::Evaluator;
use llmtrace_ingest::{ConvertLimits, IngestConfig, Ingestor, PriceTable};
use llmtrace_metrics::{Metrics, MetricsConfig};
use llmtrace_pipeline::{Pipeline, PipelineConfig};
use llmtrace_pricing::{FileFormat, PriceBook};
use llmtrace_query::Query;
use llmtrace_server::{AppState, Auth, BoundServer, PriceReloader, ServerConfig};
use llmtrace_store_clickhouse::ClickHouseStore;
use llmtrace_store_sqlite::SqliteStore;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let cfg = ServeConfig::resolve(&args)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cfg.log)
                .with_context(|| format!("invalid log filter {:?}", cfg.log))?,
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let prices = Arc::new(PriceTable::new(
        price_loader(cfg.prices.clone())().map_err(anyhow::Error::msg)?,
    ));
    tracing::info!(
        entries = prices.current().entries().count(),
        "price table loaded"
    );
    match cfg.store.clone() {
        StoreChoice::Sqlite => {
            let store =
                Arc::new(SqliteStore::open_dir(&cfg.data_dir).with_context(|| {
                    format!("cannot open the store in {}", cfg.data_dir.display())
                })?);
            store.set_merge_pricer(prices.live_pricer());
            let location = format!("data in {}", store.path().display());
            let limit = cfg.max_disk_bytes.and_then(|b| u64::try_from(b).ok());
            let expirer: Option<Expirer> =
                (!cfg.retention.is_empty() || limit.is_some()).then(|| {
                    let store = store.clone();
                    Arc::new(move |expiry: llmtrace_store_sqlite::Expiry| {
                        let store = store.clone();
                        Box::pin(async move {
                            let expired = store.expire(&expiry, RETENTION_BATCH).await?;
                            // Back under 90 % of the limit, so a pass does not run at every commit.
                            let shrunk = match limit {
                                Some(l) => store.shrink_to(l / 10 * 9, DISK_LIMIT_BATCH).await?,
                                None => Default::default(),
                            };
                            Ok((expired, shrunk))
                        }) as ExpiryFuture
                    }) as Expirer
                });
            serve_on(cfg, store, prices, location, expirer).await
        }
        StoreChoice::ClickHouse(url) => {
            let store = connect_clickhouse(|| ClickHouseStore::connect(&url))
                .await?
                .with_retention(cfg.retention.clone())?;
            let location = format!(
                "ClickHouse {} database {}",
                store.server_version(),
                store.database()
            );
            serve_on(cfg, Arc::new(store), prices, location, None).await
        }
        StoreChoice::ClickHouseCluster(urls, cluster) => {
            let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
            let store = connect_clickhouse(|| ClickHouseStore::connect_cluster(&refs, &cluster))
                .await?
                .with_retention(cfg.retention.clone())?;
            let location = format!("ClickHouse cluster {cluster} ({} shards)", urls.len());
            serve_on(cfg, Arc::new(store), prices, location, None).await
        }
    }
}

/// Connects to ClickHouse, waiting up to a minute for a server that is still starting.
async fn connect_clickhouse<F, Fut>(connect: F) -> anyhow::Result<ClickHouseStore>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<ClickHouseStore, llmtrace_store::StoreError>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match connect().await {
            Ok(s) => return Ok(s),
            Err(llmtrace_store::StoreError::Transient(m))
                if std::time::Instant::now() < deadline =>
            {
                tracing::warn!(error = %m, "ClickHouse not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(anyhow::anyhow!("cannot use the ClickHouse store: {e}")),
        }
    }
}

/// Traces deleted per writer transaction by a retention pass on SQLite.
const RETENTION_BATCH: usize = 500;
/// Traces deleted per transaction, oldest first, over `--max-disk-bytes`: small, so the pass
/// stops close to the target (the size is checked between batches).
const DISK_LIMIT_BATCH: usize = 20;

/// What a pass deleted: by retention, and for the disk limit.
type PassResult = (
    llmtrace_store_sqlite::Expired,
    llmtrace_store_sqlite::Expired,
);

type ExpiryFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<PassResult, llmtrace_store::StoreError>> + Send>,
>;

/// Deletes what an expiry says has expired (the embedded store's retention; ClickHouse uses
/// TTL instead).
type Expirer = Arc<dyn Fn(llmtrace_store_sqlite::Expiry) -> ExpiryFuture + Send + Sync>;

/// The cutoffs of `retention` at `now_ns`.
fn expiry_at(
    retention: &llmtrace_store_clickhouse::Retention,
    now_ns: u64,
) -> llmtrace_store_sqlite::Expiry {
    let before =
        |days: u32| now_ns.saturating_sub(u64::from(days).saturating_mul(86_400_000_000_000));
    llmtrace_store_sqlite::Expiry {
        default_before_ns: retention.default_days.map(before),
        projects: retention
            .projects
            .iter()
            .map(|(p, d)| (p.clone(), before(*d)))
            .collect(),
    }
}

/// Runs a retention pass at start and every `interval`, counting what it deleted.
fn spawn_retention(
    expire: Expirer,
    retention: llmtrace_store_clickhouse::Retention,
    interval: Duration,
    metrics: Arc<Metrics>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now_ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| u64::try_from(d.as_nanos()).ok())
                .unwrap_or(0);
            match expire(expiry_at(&retention, now_ns)).await {
                Ok((expired, shrunk)) => {
                    if expired.traces > 0 {
                        metrics.record_retention(expired.traces, expired.spans);
                        tracing::info!(
                            traces = expired.traces,
                            spans = expired.spans,
                            "retention deleted expired traces"
                        );
                    }
                    if shrunk.traces > 0 {
                        metrics.record_disk_limit(shrunk.traces, shrunk.spans);
                        tracing::warn!(
                            traces = shrunk.traces,
                            spans = shrunk.spans,
                            "the store reached --max-disk-bytes: deleted its oldest traces"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "retention pass failed; retrying later"),
            }
        }
    })
}

/// Runs the server on a ready store until SIGINT/SIGTERM, then drains the pipeline.
async fn serve_on<S: llmtrace_store::Store + 'static>(
    cfg: ServeConfig,
    store: Arc<S>,
    prices: Arc<PriceTable>,
    location: String,
    expirer: Option<Expirer>,
) -> anyhow::Result<()> {
    let load_prices = price_loader(cfg.prices.clone());
    let evaluator = Evaluator::new(cfg.alerts.clone());
    let _evaluator_tasks = evaluator.spawn();
    let budgets = cfg.alerts.trace_max_tokens.is_some() || cfg.alerts.trace_max_cost_usd.is_some();
    let metrics = Arc::new(Metrics::new(
        MetricsConfig {
            max_label_values: cfg.metrics_max_label_values,
            settle: cfg.metrics_settle,
        },
        Some(evaluator.clone()),
        budgets,
    ));
    let _retention = expirer.map(|expire| {
        spawn_retention(
            expire,
            cfg.retention.clone(),
            cfg.retention_interval,
            metrics.clone(),
        )
    });
    let (evaluation_feed, evaluation_rx) = if cfg.evaluators.is_empty() {
        (None, None)
    } else {
        for e in &cfg.evaluators {
            match e.judge() {
                Some(j) => {
                    tracing::info!(evaluator = %e.name(), judge = %j.model(), url = %j.url(), "judge evaluator on")
                }
                None => tracing::info!(evaluator = %e.name(), "rule evaluator on"),
            }
        }
        let (feed, rx) = crate::evaluate::EvaluationFeed::new(cfg.evaluators.clone());
        (Some(feed), Some(rx))
    };
    let pipeline = Pipeline::start_observed(
        store.clone(),
        PipelineConfig {
            max_queued_spans: cfg.queue_max_spans,
            max_queued_bytes: cfg.queue_max_bytes,
            max_batch_spans: cfg.batch_max_spans,
            retry_for: Duration::from_secs(5),
            linger: cfg.commit_linger,
            max_project_share: cfg.queue_max_project_share,
        },
        Some({
            let mut observers: Vec<Arc<dyn llmtrace_pipeline::CommitObserver>> =
                vec![metrics.clone()];
            if !cfg.forward_otlp.is_empty() {
                observers.push(crate::forward::Forwarder::start(
                    &cfg.forward_otlp,
                    metrics.clone(),
                )?);
            }
            if let Some(feed) = &evaluation_feed {
                observers.push(feed.clone());
            }
            if observers.len() == 1 {
                metrics.clone() as Arc<dyn llmtrace_pipeline::CommitObserver>
            } else {
                Arc::new(crate::forward::Observers(observers))
            }
        }),
    );
    let ingest = Arc::new(Ingestor::new(
        pipeline.clone(),
        prices,
        IngestConfig {
            max_decompressed_bytes: cfg.max_decompressed_bytes,
            convert: ConvertLimits {
                max_attribute_value_bytes: cfg.max_attribute_bytes,
            },
            decode: llmtrace_ingest::DecodeLimits {
                max_items: cfg.max_spans_per_request,
                max_nodes: cfg.max_values_per_request,
            },
        },
    ));
    let evaluators = match evaluation_rx {
        Some(rx) => Some(crate::evaluate::Evaluators::start(
            &cfg.evaluators,
            rx,
            ingest.clone(),
            store.clone(),
        )?),
        None => None,
    };
    let state = Arc::new(AppState {
        ingest,
        query: Query::new(store.clone()),
        auth: if cfg.api_keys.is_empty() {
            let auth = Auth::open(llmtrace_model::DEFAULT_PROJECT);
            // Listening beyond loopback without keys (--allow-unauthenticated): any host.
            if cfg.http_listen.ip().is_loopback() {
                auth
            } else {
                auth.any_host()
            }
        } else {
            Auth::with_keys(cfg.api_keys.clone())
                .with_public_metrics(cfg.public_metrics)
                .with_admin_key(cfg.admin_key.as_deref())
        },
        max_body_bytes: cfg.max_body_bytes,
        metrics: Some(metrics),
        alerts: Some(evaluator),
        reload_prices: Some(load_prices),
        gateway: match &cfg.gateway {
            Some(g) => {
                let gateway =
                    llmtrace_server::Gateway::new(g.clone()).map_err(anyhow::Error::msg)?;
                for (name, url) in gateway.upstreams() {
                    tracing::info!(upstream = %name, url = %url, "gateway route /gateway/{name}");
                }
                Some(Arc::new(gateway))
            }
            None => None,
        },
        listen: Default::default(),
        evaluators: evaluators.map(|e| e as Arc<dyn llmtrace_evaluators::EvaluatorControl>),
    });
    let fd_limit = raise_fd_limit();
    let server = BoundServer::bind(
        &ServerConfig {
            http_listen: cfg.http_listen,
            grpc_listen: cfg.grpc_listen,
            tls: cfg.tls.clone(),
        },
        state,
    )
    .await?
    .with_limits(connection_limits(fd_limit));
    let (http, grpc) = (server.http_addr()?, server.grpc_addr()?);
    tracing::info!(%http, %grpc, store = %location, "llmtrace listening");
    println!(
        "llmtrace listening: OTLP/HTTP + API on http://{http}, OTLP/gRPC on {grpc}, {location}"
    );
    server.serve(shutdown_signal()).await?;
    tracing::info!("shutting down: committing queued spans");
    pipeline.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Builds the price book from the built-in table and the user's price file, reading the file
/// each time it is called (at start, and before each cost recomputation).
fn price_loader(path: Option<PathBuf>) -> PriceReloader {
    Arc::new(move || {
        let mut b = PriceBook::builder().builtin();
        if let Some(path) = &path {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read price file {}: {e}", path.display()))?;
            let format = FileFormat::from_path(&path.to_string_lossy()).unwrap_or(FileFormat::Toml);
            b = b.user_file(&text, format);
        }
        b.build().map_err(|e| match &path {
            Some(p) => format!("price file {}: {e}", p.display()),
            None => e.to_string(),
        })
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Raises the soft limit of open files to the hard limit (a server holding many client
/// connections needs more than the usual 1,024) and returns the limit in force, when known.
fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(current), maximum) = (limit.current, limit.maximum) else {
        return None;
    };
    let target = maximum.unwrap_or(current);
    if target <= current {
        return Some(current);
    }
    match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum,
        },
    ) {
        Ok(()) => {
            tracing::info!(from = current, to = target, "raised the open-file limit");
            Some(target)
        }
        Err(e) => {
            tracing::warn!(error = %e, limit = current, "cannot raise the open-file limit");
            Some(current)
        }
    }
}

/// The HTTP connection bounds: the limit stays well below the open-file limit, so files, the
/// store and gRPC keep descriptors when HTTP clients hold many connections.
fn connection_limits(fd_limit: Option<u64>) -> llmtrace_server::ConnectionLimits {
    let defaults = llmtrace_server::ConnectionLimits::default();
    let max_connections =
        fd_limit
            .map(|n| n.saturating_sub(256).max(64))
            .map_or(defaults.max_connections, |n| {
                usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .min(defaults.max_connections)
            });
    llmtrace_server::ConnectionLimits {
        max_connections,
        ..defaults
    }
}
