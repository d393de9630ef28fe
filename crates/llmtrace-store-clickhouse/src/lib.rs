//! The scale-out llmtrace store: ClickHouse, over its HTTP interface.
//!
//! - **Schema**: versioned migrations applied at connect (the `schema` module's docs give the
//!   layout and why): one wide `spans` table, a `ReplacingMergeTree(version)` keyed by
//!   `(project, trace_id, span_id)`, plus `scores`, `logs` and `schema_migrations`. The same SQL
//!   runs on Debian's ClickHouse 18.16 and on current releases (checked against 26.9); the few
//!   differences (column codecs, `LowCardinality`, fsync settings) are chosen from
//!   `SELECT version()` at connect.
//! - **Idempotence**: the writer reads the stored structure of the traces a batch touches and
//!   inserts only spans that are new or replace an incomplete copy (merged with it by
//!   [`merge_incomplete`](llmtrace_store::merge_incomplete)), so a retry is reported as
//!   [`SpanFate::Duplicate`](llmtrace_store::SpanFate) and changes no total. Should two nodes
//!   still insert the same span, the replacing engine and `FINAL` reads keep one copy.
//! - **Trace rollups**: the statistics read one row per model call (`calls`, ordered by start,
//!   the counting rule decided by the writer: wrappers, one provider response reported by two
//!   spans), written with the trace summaries and kept exact the same way, and their folds per
//!   ten seconds, minute and hour where those are known to hold every call (`folds.rs`, folded
//!   in the background, see [`ClickHouseStore::fold_now`]). The trace list, sessions
//!   and users read one summary row per trace (`trace_summaries`), which the writers write after
//!   each commit for the traces it changed; a plain read-modify-write rollup would lose updates
//!   when several nodes write one trace at once, so a writer that finds another writer's recent
//!   write to a trace (`trace_keys`) reads the trace back before summarizing it (`summaries.rs`).
//! - **Full-text search** (`TraceQuery::text`): each searchable span has a row of its
//!   normalized text (`llmtrace_store::search::span_search_text`, with a space in front) in
//!   `span_text`, ordered by the span's start, written with the span; a query keeps the traces
//!   with a span holding `' ' + word` for every word. Newest first it walks the trace list a
//!   window at a time and reads only the text of spans starting in or after the window
//!   (`search.rs`). Spans stored before schema version 3 have no text and are not found.
//! - **Durability**: a write returns `Ok` only after ClickHouse answered its inserts with 200.
//!   On 22.x and later the tables fsync each inserted part first (`fsync_after_insert`); 18.16
//!   has no such setting, so there an acknowledged write survives a server crash but not
//!   necessarily a power loss. Connection failures, timeouts, 5xx and overload errors are
//!   [`StoreError::Transient`]; bad SQL, unknown objects and type errors
//!   [`StoreError::Permanent`].
//! - **Atomicity**: logs and scores are inserted first, spans last, each one insert; all three
//!   are idempotent, so a batch that failed half-way is retried without double counting. A span
//!   insert that ClickHouse applied but whose answer was lost (timeout) makes the retry report
//!   those spans as duplicates (the metrics then miss their calls; the stored totals are right).
//! - **New traces**: `trace_keys` tells a writer cheaply which touched traces have stored spans
//!   (most have none), so it reads the structure of those only.
//! - **Retention** ([`ClickHouseStore::with_retention`], [`Retention`]): each row of `spans`,
//!   `logs`, `scores` and `responses` carries `expire_at` (its time plus its project's days,
//!   2106-02-07 for "forever"), and on ClickHouse 19.6 and later those tables have
//!   `TTL expire_at`, so merges delete expired rows. 18.16 has no TTL: retention is refused there.
//! - **Clusters**: [`ClickHouseStore::connect_cluster`] puts `Distributed` tables over local
//!   tables on every node, sharded by (project, trace id); no ZooKeeper needed for shards of one
//!   replica. Shards with several replicas get `Replicated*` local tables (ZooKeeper or
//!   ClickHouse Keeper), and reads and writes use each shard's first live replica; the store
//!   fails over to the next node given when the one it talks to cannot be reached.
//!
//! Limits accepted with several nodes on one ClickHouse: two nodes receiving the same span at
//! the same moment may both report it newly stored (the metrics count that call twice; the
//! stored totals do not), and an incomplete copy and its complete copy arriving at two nodes at
//! once resolve by version (the later write wins, without the merge). Within one node, writes
//! and cost recomputation batches are serialized.

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap
    )
)]

mod annotations;
mod calls;
mod client;
mod folds;
mod group_folds;
mod messages;
mod newest;
mod reader;
mod recompute;
mod retention;
mod rowbinary;
mod rows;
mod schema;
mod search;
mod summaries;
#[cfg(feature = "testserver")]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "test code (starts ClickHouse servers for tests only): fixed inputs, and a panic \
              fails the test that used it"
)]
pub mod testserver;
mod world;
mod writer;

use async_trait::async_trait;
use llmtrace_model::{Score, TraceId};
use llmtrace_store::{
    AnnotationStore, CostRecomputer, Dataset, DatasetItem, Pricer, RecomputeReport,
    RecomputeRequest, ScoreConfig, ScoreName, ScoreStatsGroup, SpanWriter, StatsGroup, StatsQuery,
    StoreError, StoreHealth, TraceDetail, TraceGroup, TraceGroupQuery, TracePage, TraceQuery,
    TraceReader, UnpricedModel, WriteBatch, WriteOutcome,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use retention::Retention;

/// Database used when the URL names none.
pub const DEFAULT_DATABASE: &str = "llmtrace";

/// The ClickHouse backend. Cheap to clone; clones share one HTTP connection pool.
#[derive(Clone)]
pub struct ClickHouseStore {
    inner: Arc<Inner>,
    /// Per-project retention applied to the rows this store writes.
    retention: Arc<Retention>,
}

struct Inner {
    ch: client::Client,
    db: String,
    server_version: String,
    versions: Versions,
    /// Serializes this node's writes and recomputation batches.
    write_lock: tokio::sync::Mutex<()>,
    /// Marks older than this were folded (`folds::fold_dirty`).
    folded_to: AtomicU64,
    /// One fold at a time.
    fold_lock: tokio::sync::Mutex<()>,
    /// How old an hour's last write must be before the hour is folded, in nanoseconds.
    hour_fold_margin: AtomicU64,
}

/// How often the store folds the call statistics written since the last fold.
const FOLD_INTERVAL: Duration = Duration::from_secs(1);

/// Row versions for the replacing tables: wall-clock nanoseconds, strictly increasing within
/// this process, so a later copy of a row wins over an earlier one, across nodes too as far as
/// their clocks agree.
pub(crate) struct Versions {
    last: AtomicU64,
    writer: u64,
}

impl Versions {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        // A random id for this store's writes (`trace_keys.writer`): a randomly seeded hash of
        // the clock and the process id.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        Versions {
            last: AtomicU64::new(0),
            writer: h.finish().max(1),
        }
    }

    /// This store's writer id: tells its `trace_keys` rows from other nodes' (never 0, the id
    /// of backfilled rows).
    pub(crate) fn writer(&self) -> u64 {
        self.writer
    }

    /// The next version.
    pub(crate) fn next(&self) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(prev.saturating_add(1));
            match self
                .last
                .compare_exchange(prev, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(p) => prev = p,
            }
        }
    }
}

/// Where a store's database lives, parsed from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    base: String,
    database: String,
    user: Option<String>,
    password: Option<String>,
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Parses `clickhouse://[user[:password]@]host[:port][/database]` (HTTP interface; port 8123
/// by default) or the same with `http://` / `https://`.
fn parse_url(url: &str) -> Result<Target, StoreError> {
    let bad = |why: &str| StoreError::Permanent(format!("bad clickhouse url {url:?}: {why}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = match scheme {
        "clickhouse" | "http" => "http",
        "https" => "https",
        _ => return Err(bad("scheme must be clickhouse, http or https")),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, p.trim_matches('/')),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.is_empty() {
        return Err(bad("no host"));
    }
    let has_port = match hostport.rsplit_once(':') {
        Some((_, port)) => !port.contains(']'),
        None => false,
    };
    let hostport = if has_port {
        hostport.to_string()
    } else {
        format!("{hostport}:8123")
    };
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
            None => (Some(u.to_string()), None),
        },
        None => (None, None),
    };
    let database = if path.is_empty() {
        DEFAULT_DATABASE.to_string()
    } else {
        path.to_string()
    };
    if !is_identifier(&database) {
        return Err(bad("the database name must be letters, digits and _"));
    }
    Ok(Target {
        base: format!("{scheme}://{hostport}/"),
        database,
        user,
        password,
    })
}

/// The server's version (`SELECT version()`).
async fn server_version(ch: &client::Client) -> Result<String, StoreError> {
    #[derive(serde::Deserialize)]
    struct V {
        v: String,
    }
    Ok(ch
        .select::<V>("SELECT version() AS v")
        .await?
        .into_iter()
        .next()
        .map(|r| r.v)
        .unwrap_or_default())
}

/// How many replicas the largest shard of `cluster` has, as the server behind `ch` sees its
/// `remote_servers`; a cluster it does not know is refused.
async fn cluster_replicas(
    ch: &client::Client,
    cluster: &str,
    url: &str,
) -> Result<u32, StoreError> {
    #[derive(serde::Deserialize)]
    struct R {
        shards: u32,
        replicas: u32,
    }
    let rows = ch
        .select::<R>(&format!(
            "SELECT toUInt32(uniqExact(shard_num)) AS shards, toUInt32(max(replica_num)) AS replicas \
             FROM system.clusters WHERE cluster = {}",
            client::lit(cluster)
        ))
        .await?;
    match rows.first() {
        Some(r) if r.shards > 0 => Ok(r.replicas),
        _ => Err(StoreError::Permanent(format!(
            "clickhouse at {url} has no cluster {cluster:?} in its remote_servers"
        ))),
    }
}

/// Refuses a node whose llmtrace tables exist but are not replicated (a database made before
/// the cluster had replicas): creating replicas of it is not something llmtrace does.
async fn refuse_unreplicated(ch: &client::Client, db: &str, url: &str) -> Result<(), StoreError> {
    #[derive(serde::Deserialize)]
    struct E {
        engine: String,
    }
    let rows = ch
        .select::<E>(&format!(
            "SELECT engine FROM system.tables WHERE database = {} AND name = 'spans_local'",
            client::lit(db)
        ))
        .await?;
    match rows.first() {
        Some(e) if !e.engine.starts_with("Replicated") => Err(StoreError::Permanent(format!(
            "clickhouse at {url}: the cluster has replicas but the tables of database {db} are \
             not replicated ({}); convert them to Replicated engines by hand (see \
             deploy/clickhouse/README.md) or use another database",
            e.engine
        ))),
        _ => Ok(()),
    }
}

/// The `shard` macro of a server in a replicated cluster (its `replica` macro must exist too):
/// the replicated tables' ZooKeeper paths are built from them.
async fn shard_macro(ch: &client::Client, url: &str) -> Result<String, StoreError> {
    #[derive(serde::Deserialize)]
    struct M {
        #[serde(rename = "macro")]
        name: String,
        substitution: String,
    }
    let macros = ch
        .select::<M>("SELECT macro, substitution FROM system.macros")
        .await?;
    let get = |name: &str| {
        macros
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.substitution.clone())
    };
    match (get("shard"), get("replica")) {
        (Some(shard), Some(_)) => Ok(shard),
        _ => Err(StoreError::Permanent(format!(
            "clickhouse at {url} is in a cluster with replicas but lacks the macros shard and \
             replica (<macros><shard>..</shard><replica>..</replica></macros>, see \
             deploy/clickhouse/)"
        ))),
    }
}

impl ClickHouseStore {
    /// Connects to the ClickHouse server at `url`
    /// (`clickhouse://[user[:password]@]host[:port][/database]`, the HTTP interface, port 8123
    /// by default; `http://` and `https://` are accepted too; the database defaults to
    /// [`DEFAULT_DATABASE`]), creates the database if missing and applies the migrations it
    /// lacks. An unreachable server is a [`StoreError::Transient`] failure.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_timeout(url, Duration::from_secs(60)).await
    }

    /// [`ClickHouseStore::connect`] with a per-request timeout (a request that takes longer
    /// fails as transient).
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let t = parse_url(url)?;
        let ch = client::Client::new(t.base.clone(), t.user, t.password, timeout)?;
        let version = server_version(&ch).await?;
        let node = schema::Node {
            ch: &ch,
            features: schema::ServerFeatures::from_version(&version),
            leads_shard: true,
            peers: Vec::new(),
        };
        schema::migrate(std::slice::from_ref(&node), &t.database, None).await?;
        tracing::info!(database = %t.database, %version, "clickhouse store ready");
        Ok(Self::from_parts(ch, t.database, version))
    }

    /// Connects to a ClickHouse cluster: `urls` are the cluster's nodes (same form as
    /// [`ClickHouseStore::connect`], one database for all), `cluster` the name of a cluster in
    /// the servers' `remote_servers` made of those nodes. Every node gets the database, local
    /// tables (`spans_local`, ...) and `Distributed` tables over them, sharded by project and
    /// trace id (a trace stays on one shard). Inserts use `insert_distributed_sync=1`, so a
    /// write is acknowledged only after every shard it touches stored its part.
    ///
    /// Shards with several replicas (the cluster needs `internal_replication` on, ZooKeeper or
    /// ClickHouse Keeper, and the macros `shard` and `replica` on every node; see
    /// `deploy/clickhouse/`): the local tables are then the `Replicated` engines, and requests
    /// use `load_balancing=in_order` and `prefer_localhost_replica=0`, so reads and writes go to
    /// the first live replica of each shard in the cluster's order, from every llmtrace node (a
    /// read sees the writes acknowledged before it, as long as that replica lives). A write is acknowledged once one replica of each shard stored it
    /// (set `insert_quorum` in the llmtrace user's profile to wait for more).
    ///
    /// Reads and writes go through the first node's `Distributed` tables; while it cannot be
    /// reached, through the next node in `urls` (in a replicated cluster any node reaches every
    /// shard). ClickHouse 18.16 stores a synchronous `Distributed` insert on the node it was
    /// sent to when that node is a replica of the shard, whatever the settings: the first URL
    /// should be the first replica of its shard in `remote_servers`, and every llmtrace node
    /// should get the same list (see `deploy/clickhouse/README.md`).
    pub async fn connect_cluster(urls: &[&str], cluster: &str) -> Result<Self, StoreError> {
        if !is_identifier(cluster) {
            return Err(StoreError::Permanent(format!(
                "bad clickhouse cluster name {cluster:?}"
            )));
        }
        let timeout = Duration::from_secs(60);
        let mut targets = Vec::with_capacity(urls.len());
        for url in urls {
            targets.push(parse_url(url)?);
        }
        let first = targets
            .first()
            .ok_or_else(|| StoreError::Permanent("no clickhouse node given".into()))?;
        let db = first.database.clone();
        if let Some(t) = targets.iter().find(|t| t.database != db) {
            return Err(StoreError::Permanent(format!(
                "every clickhouse node must use one database: {} and {}",
                db, t.database
            )));
        }
        let mut clients = Vec::with_capacity(targets.len());
        for t in &targets {
            clients.push(
                client::Client::new(t.base.clone(), t.user.clone(), t.password.clone(), timeout)?
                    .with_setting("insert_distributed_sync", "1"),
            );
        }
        let (Some(first_client), Some(first_url)) = (clients.first(), urls.first()) else {
            return Err(StoreError::Permanent("no clickhouse node given".into()));
        };
        let replicated = cluster_replicas(first_client, cluster, first_url).await? > 1;
        if replicated {
            // Every llmtrace node, whichever ClickHouse node it talks to, reads and writes each
            // shard on its first live replica (not on the replica it happens to talk to).
            clients = clients
                .into_iter()
                .map(|c| {
                    c.with_setting("load_balancing", "in_order")
                        .with_setting("prefer_localhost_replica", "0")
                        // A replica back from an outage is not read until it has caught up.
                        .with_setting("max_replica_delay_for_distributed_queries", "1")
                })
                .collect();
        }
        let mut versions = Vec::with_capacity(clients.len());
        // Per node, its shard (in a replicated cluster); the first listed node of a shard leads it.
        let mut shards: Vec<Option<String>> = Vec::with_capacity(clients.len());
        for (ch, url) in clients.iter().zip(urls) {
            versions.push(server_version(ch).await?);
            if replicated {
                shards.push(Some(shard_macro(ch, url).await?));
                refuse_unreplicated(ch, &db, url).await?;
            } else {
                shards.push(None);
            }
        }
        let nodes: Vec<schema::Node<'_>> = clients
            .iter()
            .zip(&versions)
            .enumerate()
            .map(|(i, (ch, v))| {
                let shard = shards.get(i).and_then(Option::as_ref);
                let same_shard: Vec<usize> = shards
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| shard.is_some() && s.as_ref() == shard)
                    .map(|(j, _)| j)
                    .collect();
                schema::Node {
                    ch,
                    features: schema::ServerFeatures::from_version(v),
                    leads_shard: same_shard.first().is_none_or(|&first| first == i),
                    peers: same_shard
                        .iter()
                        .filter(|&&j| j != i)
                        .filter_map(|&j| clients.get(j))
                        .collect(),
                }
            })
            .collect();
        let layout = schema::Cluster {
            name: cluster,
            replicated,
        };
        schema::migrate(&nodes, &db, Some(layout)).await?;
        tracing::info!(database = %db, version = %versions.first().map_or("", String::as_str), cluster, replicated, "clickhouse store ready");
        let fallbacks: Vec<client::Endpoint> = targets
            .iter()
            .skip(1)
            .map(|t| client::Endpoint {
                base: t.base.clone(),
                user: t.user.clone(),
                password: t.password.clone(),
            })
            .collect();
        let version = versions.swap_remove(0);
        let ch = clients.swap_remove(0).with_fallbacks(fallbacks, &db);
        Ok(Self::from_parts(ch, db, version))
    }

    fn from_parts(ch: client::Client, db: String, server_version: String) -> Self {
        let store = ClickHouseStore {
            inner: Arc::new(Inner {
                ch,
                db,
                server_version,
                versions: Versions::new(),
                write_lock: tokio::sync::Mutex::new(()),
                folded_to: AtomicU64::new(0),
                hour_fold_margin: AtomicU64::new(folds::HOUR_MARGIN_NANOS),
                fold_lock: tokio::sync::Mutex::new(()),
            }),
            retention: Arc::new(Retention::default()),
        };
        // The folder: every second while the store lives (see `folds.rs`).
        let inner = Arc::downgrade(&store.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(FOLD_INTERVAL).await;
                let Some(inner) = inner.upgrade() else {
                    return;
                };
                if let Err(e) = Self::fold(&inner).await {
                    tracing::warn!(error = %e, "clickhouse: folding the call statistics failed");
                }
            }
        });
        store
    }

    async fn fold(inner: &Inner) -> Result<(), StoreError> {
        let _one = inner.fold_lock.lock().await;
        let since = inner.folded_to.load(Ordering::Relaxed);
        let margin = inner.hour_fold_margin.load(Ordering::Relaxed);
        let next = folds::fold_dirty(&inner.ch, &inner.db, &inner.versions, since, margin).await?;
        inner.folded_to.store(next, Ordering::Relaxed);
        Ok(())
    }

    /// Folds the call statistics of every minute and hour written since the last fold now (the
    /// store does it every second in the background; statistics are exact either way, and
    /// faster over folded buckets). An hour is folded only once its last write is two minutes
    /// old; until then it is read by minutes.
    pub async fn fold_now(&self) -> Result<(), StoreError> {
        Self::fold(&self.inner).await
    }

    /// Sets how old an hour's last write must be before the hour's statistics are folded (two
    /// minutes by default: longer than any insert of this store can take, so no write is still
    /// on its way when the fold checks the hour's minutes). Shorter is only safe where no write
    /// is in flight during a fold, as in tests. Shared by every clone of this store.
    pub fn set_hour_fold_margin(&self, margin: Duration) {
        let nanos = u64::try_from(margin.as_nanos()).unwrap_or(u64::MAX);
        self.inner.hour_fold_margin.store(nanos, Ordering::Relaxed);
    }

    /// Sets how long each project's rows are kept (see [`Retention`]): rows this store writes
    /// from now on (and spans it rewrites when recomputing costs) expire after their project's
    /// days, and ClickHouse deletes them in its merges (`TTL expire_at`). Rows written before
    /// keep the expiry they were written with (forever when written without retention).
    /// Clones made before this call keep their retention.
    ///
    /// Fails ([`StoreError::Permanent`]) when a retention is 0 days, or when the retention is
    /// not empty and the server lacks TTL (ClickHouse before 19.6, such as Debian's 18.16). An
    /// empty retention (the default: everything kept forever) works on every server.
    pub fn with_retention(mut self, retention: Retention) -> Result<Self, StoreError> {
        retention.validate()?;
        let features = schema::ServerFeatures::from_version(self.server_version());
        if !retention.is_empty() && !features.has_ttl() {
            return Err(StoreError::Permanent(format!(
                "retention needs ClickHouse 19.6 or later (TTL); this server is {}",
                self.server_version()
            )));
        }
        self.retention = Arc::new(retention);
        Ok(self)
    }

    /// The retention this store applies to what it writes.
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// The database this store uses.
    pub fn database(&self) -> &str {
        &self.inner.db
    }

    /// The server's version, as `SELECT version()` gave it at connect.
    pub fn server_version(&self) -> &str {
        &self.inner.server_version
    }
}

#[async_trait]
impl SpanWriter for ClickHouseStore {
    async fn write(&self, batch: Arc<WriteBatch>) -> Result<WriteOutcome, StoreError> {
        let i = &self.inner;
        let _guard = i.write_lock.lock().await;
        writer::write(&i.ch, &i.db, &i.versions, &self.retention, &batch).await
    }
}

#[async_trait]
impl AnnotationStore for ClickHouseStore {
    async fn score_stats(&self, query: &StatsQuery) -> Result<Vec<ScoreStatsGroup>, StoreError> {
        annotations::score_stats(&self.inner.ch, &self.inner.db, query).await
    }

    async fn score_names(&self, project: &str) -> Result<Vec<ScoreName>, StoreError> {
        annotations::score_names(&self.inner.ch, &self.inner.db, project).await
    }

    async fn scores_of_traces(
        &self,
        project: &str,
        traces: &[TraceId],
    ) -> Result<Vec<Score>, StoreError> {
        annotations::scores_of_traces(&self.inner.ch, &self.inner.db, project, traces).await
    }

    async fn delete_score(&self, project: &str, score_id: &str) -> Result<bool, StoreError> {
        let i = &self.inner;
        annotations::delete_score(&i.ch, &i.db, &i.versions, project, score_id).await
    }

    async fn score_configs(&self, project: &str) -> Result<Vec<ScoreConfig>, StoreError> {
        annotations::score_configs(&self.inner.ch, &self.inner.db, project).await
    }

    async fn put_score_config(&self, config: &ScoreConfig) -> Result<(), StoreError> {
        let i = &self.inner;
        annotations::put_score_config(&i.ch, &i.db, &i.versions, config).await
    }

    async fn delete_score_config(&self, project: &str, name: &str) -> Result<bool, StoreError> {
        let i = &self.inner;
        annotations::delete_score_config(&i.ch, &i.db, &i.versions, project, name).await
    }

    async fn datasets(&self, project: &str) -> Result<Vec<Dataset>, StoreError> {
        annotations::datasets(&self.inner.ch, &self.inner.db, project).await
    }

    async fn put_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        let i = &self.inner;
        annotations::put_dataset(&i.ch, &i.db, &i.versions, dataset).await
    }

    async fn put_dataset_item(&self, item: &DatasetItem) -> Result<bool, StoreError> {
        let i = &self.inner;
        annotations::put_dataset_item(&i.ch, &i.db, &i.versions, item).await
    }

    async fn dataset_items(
        &self,
        project: &str,
        dataset: &str,
    ) -> Result<Option<Vec<DatasetItem>>, StoreError> {
        annotations::dataset_items(&self.inner.ch, &self.inner.db, project, dataset).await
    }

    async fn delete_dataset_item(
        &self,
        project: &str,
        dataset: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let i = &self.inner;
        annotations::delete_dataset_item(&i.ch, &i.db, &i.versions, project, dataset, id).await
    }
}

#[async_trait]
impl TraceReader for ClickHouseStore {
    async fn list_traces(&self, query: &TraceQuery) -> Result<TracePage, StoreError> {
        reader::list_traces(&self.inner.ch, &self.inner.db, query).await
    }

    async fn get_trace(
        &self,
        project: &str,
        trace_id: TraceId,
    ) -> Result<Option<TraceDetail>, StoreError> {
        reader::get_trace(&self.inner.ch, &self.inner.db, project, trace_id).await
    }

    async fn health(&self, orphan_before_unix_nano: u64) -> Result<StoreHealth, StoreError> {
        let i = &self.inner;
        Ok(StoreHealth {
            size_bytes: Some(reader::size_bytes(&i.ch, &i.db).await?),
            orphan_traces: reader::orphan_traces(&i.ch, &i.db, orphan_before_unix_nano).await?,
        })
    }

    async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError> {
        folds::stats(&self.inner.ch, &self.inner.db, query).await
    }

    async fn trace_groups(&self, query: &TraceGroupQuery) -> Result<Vec<TraceGroup>, StoreError> {
        group_folds::trace_groups(&self.inner.ch, &self.inner.db, query).await
    }
}

#[async_trait]
impl CostRecomputer for ClickHouseStore {
    async fn recompute_costs(
        &self,
        req: &RecomputeRequest,
        pricer: Pricer,
    ) -> Result<RecomputeReport, StoreError> {
        let i = &self.inner;
        let mut report = RecomputeReport::default();
        let mut progress = recompute::Progress::default();
        while !progress.done {
            // One batch per lock hold: this node's ingest writes run between batches.
            let _guard = i.write_lock.lock().await;
            recompute::batch(
                &i.ch,
                &i.db,
                (&i.versions, &self.retention),
                req,
                pricer.as_ref(),
                &mut progress,
                &mut report,
            )
            .await?;
        }
        Ok(report)
    }

    async fn unpriced_models(&self, project: &str) -> Result<Vec<UnpricedModel>, StoreError> {
        folds::unpriced_models(&self.inner.ch, &self.inner.db, project).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("clickhouse://127.0.0.1:8123/llmtrace").unwrap();
        assert_eq!(t.base, "http://127.0.0.1:8123/");
        assert_eq!(t.database, "llmtrace");
        let t = parse_url("http://u:p@ch.local/other_db").unwrap();
        assert_eq!(t.base, "http://ch.local:8123/");
        assert_eq!(
            (t.user.as_deref(), t.password.as_deref()),
            (Some("u"), Some("p"))
        );
        assert_eq!(t.database, "other_db");
        assert_eq!(
            parse_url("clickhouse://h").unwrap().database,
            DEFAULT_DATABASE
        );
        assert!(parse_url("clickhouse://h/bad-name").is_err());
        assert!(parse_url("postgres://h/x").is_err());
        assert!(parse_url("127.0.0.1:8123").is_err());
    }

    #[test]
    fn versions_increase() {
        let v = Versions::new();
        let a = v.next();
        assert!(v.next() > a);
    }
}
