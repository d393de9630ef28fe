//! In-process harness: a real SQLite store in a temp dir, the real pipeline, ingest path and
//! transports on free loopback ports; optionally a gate that stalls the store's writes.

#![allow(dead_code, unreachable_pub, missing_docs)]

use async_trait::async_trait;
use llmtrace_ingest::{IngestConfig, Ingestor};
use llmtrace_model::TraceId;
use llmtrace_pipeline::{Pipeline, PipelineConfig};
use llmtrace_query::Query;
use llmtrace_server::{AppState, BoundServer, ServerConfig};
use llmtrace_store::{
    CostRecomputer, Pricer, RecomputeReport, RecomputeRequest, SpanWriter, StatsGroup, StatsQuery,
    StoreError, TraceDetail, TracePage, TraceQuery, TraceReader, UnpricedModel, WriteBatch,
    WriteOutcome,
};
use llmtrace_store_sqlite::SqliteStore;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How the test store's writes fail, set by a test at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFailure {
    /// Writes go through.
    None,
    /// Every write fails as retryable (`StoreError::Transient`: a busy or full disk).
    Transient,
    /// Every write fails for good (`StoreError::Permanent`), naming a store internal.
    Permanent,
}

/// A SQLite store whose writes wait for a permit when gated, and fail when told to.
pub struct GatedStore {
    pub inner: SqliteStore,
    pub gate: Option<Semaphore>,
    pub failure: std::sync::Mutex<WriteFailure>,
}

impl GatedStore {
    /// Makes every later write fail (or succeed again) as `f` says.
    pub fn fail_writes(&self, f: WriteFailure) {
        *self.failure.lock().unwrap() = f;
    }
}

#[async_trait]
impl SpanWriter for GatedStore {
    async fn write(&self, batch: Arc<WriteBatch>) -> Result<WriteOutcome, StoreError> {
        if let Some(g) = &self.gate {
            g.acquire().await.expect("gate").forget();
        }
        let failure = *self.failure.lock().unwrap();
        match failure {
            WriteFailure::None => self.inner.write(batch).await,
            WriteFailure::Transient => {
                Err(StoreError::Transient("database or disk is full".into()))
            }
            WriteFailure::Permanent => Err(StoreError::Permanent(
                "SECRET-INTERNAL /var/lib/llmtrace/db.sqlite: malformed".into(),
            )),
        }
    }
}

#[async_trait]
impl TraceReader for GatedStore {
    async fn list_traces(&self, q: &TraceQuery) -> Result<TracePage, StoreError> {
        self.inner.list_traces(q).await
    }
    async fn get_trace(&self, p: &str, t: TraceId) -> Result<Option<TraceDetail>, StoreError> {
        self.inner.get_trace(p, t).await
    }
    async fn health(&self, before: u64) -> Result<llmtrace_store::StoreHealth, StoreError> {
        self.inner.health(before).await
    }
    async fn stats(&self, q: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError> {
        self.inner.stats(q).await
    }
    async fn trace_groups(
        &self,
        q: &llmtrace_store::TraceGroupQuery,
    ) -> Result<Vec<llmtrace_store::TraceGroup>, StoreError> {
        self.inner.trace_groups(q).await
    }
}

#[async_trait]
impl llmtrace_store::AnnotationStore for GatedStore {
    async fn score_stats(
        &self,
        q: &llmtrace_store::StatsQuery,
    ) -> Result<Vec<llmtrace_store::ScoreStatsGroup>, StoreError> {
        self.inner.score_stats(q).await
    }
    async fn score_names(
        &self,
        project: &str,
    ) -> Result<Vec<llmtrace_store::ScoreName>, StoreError> {
        self.inner.score_names(project).await
    }
    async fn scores_of_traces(
        &self,
        project: &str,
        traces: &[TraceId],
    ) -> Result<Vec<llmtrace_model::Score>, StoreError> {
        self.inner.scores_of_traces(project, traces).await
    }
    async fn delete_score(&self, project: &str, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_score(project, id).await
    }
    async fn score_configs(
        &self,
        project: &str,
    ) -> Result<Vec<llmtrace_store::ScoreConfig>, StoreError> {
        self.inner.score_configs(project).await
    }
    async fn put_score_config(&self, c: &llmtrace_store::ScoreConfig) -> Result<(), StoreError> {
        self.inner.put_score_config(c).await
    }
    async fn delete_score_config(&self, project: &str, name: &str) -> Result<bool, StoreError> {
        self.inner.delete_score_config(project, name).await
    }
    async fn datasets(&self, project: &str) -> Result<Vec<llmtrace_store::Dataset>, StoreError> {
        self.inner.datasets(project).await
    }
    async fn put_dataset(&self, d: &llmtrace_store::Dataset) -> Result<(), StoreError> {
        self.inner.put_dataset(d).await
    }
    async fn put_dataset_item(&self, i: &llmtrace_store::DatasetItem) -> Result<bool, StoreError> {
        self.inner.put_dataset_item(i).await
    }
    async fn dataset_items(
        &self,
        project: &str,
        dataset: &str,
    ) -> Result<Option<Vec<llmtrace_store::DatasetItem>>, StoreError> {
        self.inner.dataset_items(project, dataset).await
    }
    async fn delete_dataset_item(
        &self,
        project: &str,
        dataset: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        self.inner.delete_dataset_item(project, dataset, id).await
    }
}

#[async_trait]
impl CostRecomputer for GatedStore {
    async fn recompute_costs(
        &self,
        req: &RecomputeRequest,
        pricer: Pricer,
    ) -> Result<RecomputeReport, StoreError> {
        self.inner.recompute_costs(req, pricer).await
    }
    async fn unpriced_models(&self, project: &str) -> Result<Vec<UnpricedModel>, StoreError> {
        self.inner.unpriced_models(project).await
    }
}

pub struct Harness {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub store: Arc<GatedStore>,
    pub _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub pipeline: Pipeline,
}

pub struct Options {
    pub gated: bool,
    pub queue_max_spans: usize,
    pub max_body_bytes: usize,
    pub max_decompressed_bytes: usize,
    pub keys: Vec<llmtrace_server::ApiKey>,
    pub max_label_values: usize,
    /// With keys: `/metrics` open (`--public-metrics`).
    pub public_metrics: bool,
    /// Caps on what one request may decode into.
    pub decode: llmtrace_ingest::DecodeLimits,
    /// The share of the queue one project may hold while others wait.
    pub max_project_share: f64,
    /// With keys: the admin key (`--admin-key`).
    pub admin_key: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gated: false,
            queue_max_spans: 100_000,
            max_body_bytes: 1 << 20,
            max_decompressed_bytes: 4 << 20,
            keys: vec![],
            max_label_values: 100,
            public_metrics: false,
            decode: llmtrace_ingest::DecodeLimits::default(),
            max_project_share: 1.0,
            admin_key: None,
        }
    }
}

impl Harness {
    pub async fn start(o: Options) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(GatedStore {
            inner: SqliteStore::open_dir(dir.path()).unwrap(),
            gate: o.gated.then(|| Semaphore::new(0)),
            failure: std::sync::Mutex::new(WriteFailure::None),
        });
        let metrics = Arc::new(llmtrace_metrics::Metrics::new(
            llmtrace_metrics::MetricsConfig {
                max_label_values: o.max_label_values,
                settle: std::time::Duration::ZERO,
            },
            None,
            false,
        ));
        let pipeline = Pipeline::start_observed(
            store.clone(),
            PipelineConfig {
                max_queued_spans: o.queue_max_spans,
                max_queued_bytes: 64 << 20,
                max_batch_spans: 10_000,
                retry_for: Duration::from_secs(1),
                linger: Duration::ZERO,
                max_project_share: o.max_project_share,
            },
            Some(metrics.clone()),
        );
        let prices = Arc::new(llmtrace_ingest::PriceTable::new(
            llmtrace_pricing::PriceBook::builtin().unwrap(),
        ));
        store.inner.set_merge_pricer(prices.live_pricer());
        let ingest = Arc::new(Ingestor::new(
            pipeline.clone(),
            prices,
            IngestConfig {
                max_decompressed_bytes: o.max_decompressed_bytes,
                decode: o.decode,
                ..Default::default()
            },
        ));
        let state = Arc::new(AppState {
            ingest,
            query: Query::new(store.clone()),
            auth: if o.keys.is_empty() {
                llmtrace_server::Auth::open("default")
            } else {
                llmtrace_server::Auth::with_keys(o.keys.clone())
                    .with_public_metrics(o.public_metrics)
                    .with_admin_key(o.admin_key)
            },
            max_body_bytes: o.max_body_bytes,
            metrics: Some(metrics),
            alerts: None,
            reload_prices: None,
            gateway: None,
            listen: Default::default(),
            evaluators: None,
        });
        let server = BoundServer::bind(
            &ServerConfig {
                http_listen: "127.0.0.1:0".parse().unwrap(),
                grpc_listen: "127.0.0.1:0".parse().unwrap(),
                tls: None,
            },
            state,
        )
        .await
        .unwrap();
        let (http, grpc) = (server.http_addr().unwrap(), server.grpc_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Harness {
            http,
            grpc,
            store,
            _dir: dir,
            shutdown: Some(tx),
            task: Some(task),
            pipeline,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.pipeline.shutdown().await;
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = reqwest::get(self.url(path)).await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
}

pub fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

pub fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

pub fn i(v: i64) -> any_value::Value {
    any_value::Value::IntValue(v)
}

pub const T0: u64 = 1_767_225_600_000_000_000;

/// A span of trace `trace` (16 bytes derived from the number).
pub fn span(
    trace: u8,
    id: u8,
    parent: Option<u8>,
    name: &str,
    start_ms: u64,
    dur_ms: u64,
    attrs: Vec<KeyValue>,
) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.into(),
        kind: 1,
        start_time_unix_nano: T0 + start_ms * 1_000_000,
        end_time_unix_nano: T0 + (start_ms + dur_ms) * 1_000_000,
        attributes: attrs,
        ..Default::default()
    }
}

/// The RAG trace of the acceptance tests: root `rag_query`, `retrieve`, `rerank`, `llm_call`.
pub fn rag_spans(trace: u8) -> Vec<Span> {
    let mut llm = span(
        trace,
        4,
        Some(1),
        "llm_call",
        300,
        1500,
        vec![
            kv("gen_ai.system", s("anthropic")),
            kv("gen_ai.operation.name", s("chat")),
            kv("gen_ai.request.model", s("claude-sonnet-4-6")),
            kv("gen_ai.response.model", s("claude-sonnet-4-6-20260101")),
            kv("gen_ai.usage.input_tokens", i(160)),
            kv("gen_ai.usage.output_tokens", i(45)),
            kv("gen_ai.usage.cache_read.input_tokens", i(30)),
        ],
    );
    llm.kind = 3;
    vec![
        span(
            trace,
            1,
            None,
            "rag_query",
            0,
            2000,
            vec![kv("user.id", s("u-1"))],
        ),
        span(
            trace,
            2,
            Some(1),
            "retrieve",
            10,
            100,
            vec![kv("gen_ai.operation.name", s("retrieval"))],
        ),
        span(trace, 3, Some(1), "rerank", 120, 50, vec![]),
        llm,
    ]
}

/// POSTs `spans` as OTLP/protobuf to the harness, with `Authorization: Bearer <key>` when
/// given; returns the status.
pub async fn post_spans(h: &Harness, spans: Vec<Span>, key: Option<&str>) -> u16 {
    use prost::Message;
    let mut rq = reqwest::Client::new()
        .post(h.url("/v1/traces"))
        .header("content-type", "application/x-protobuf");
    if let Some(k) = key {
        rq = rq.header("authorization", format!("Bearer {k}"));
    }
    let r = rq
        .body(request(spans).encode_to_vec())
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

pub fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", s("rag-app"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub fn error_status(msg: &str) -> Option<Status> {
    Some(Status {
        code: 2,
        message: msg.into(),
    })
}
