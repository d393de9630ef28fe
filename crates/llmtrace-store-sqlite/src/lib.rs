//! The default llmtrace store: one SQLite file under the data dir.
//!
//! - WAL journal with `synchronous=FULL`, so a committed group is durable before the pipeline
//!   acknowledges it.
//! - One dedicated writer connection (all writes come from the pipeline's single writer task),
//!   and a small pool of reader connections that run beside it.
//! - Versioned migrations applied at open ([`schema`]).
//! - Per-trace rollups maintained in the write transaction, following the counting rule of
//!   [`llmtrace_store::TraceRollup`].
//! - Call rollups (per bucket of 10 s, 1 min, 1 h, 1 day and dimensions) and session and user
//!   hours, logged by the writer connection's triggers and folded before each commit
//!   (`rollup_log`, `rollup_fold`); statistics, sessions and users read them
//!   (`call_rollups`, `group_hours`).

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
mod backup;
mod call_rollups;
mod checkpoint;
mod claims;
mod encode;
mod group_hours;
mod int;
mod messages;
mod prices;
mod reader;
mod recompute;
mod resources;
mod retention;
mod rollup_fold;
mod rollup_log;
mod rows;
mod schema;
mod search_index;
mod search_walk;
mod sketch_sql;
mod traces;
mod writer;

use async_trait::async_trait;
use llmtrace_model::Score;
use llmtrace_model::TraceId;
use llmtrace_store::{
    AnnotationStore, CostRecomputer, Dataset, DatasetItem, Pricer, RecomputeReport,
    RecomputeRequest, ScoreConfig, ScoreName, ScoreStatsGroup, SpanWriter, StatsGroup, StatsQuery,
    StoreError, StoreHealth, TraceDetail, TraceGroup, TraceGroupQuery, TracePage, TraceQuery,
    TraceReader, UnpricedModel, WriteBatch, WriteOutcome,
};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// File name of the database inside the data dir.
pub const DB_FILE_NAME: &str = "llmtrace.db";

pub use backup::{backup, BackupReport};

/// The schema version this build writes (`PRAGMA user_version` of its files); older files are
/// migrated at open, newer ones refused.
pub const SCHEMA_VERSION: usize = schema::SCHEMA_VERSION;
pub use retention::{Expired, Expiry};

/// The SQLite backend.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<writer::Writer>,
    readers: Mutex<Vec<Connection>>,
}

fn classify(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | DiskFull | SystemIoFailure | OutOfMemory) => {
            StoreError::Transient(e.to_string())
        }
        _ => StoreError::Permanent(e.to_string()),
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // 16 MiB of page cache on the writer: 64 MiB measured no faster at 400k spans and held
    // 57 MiB more (BENCHMARKS.md, write path).
    conn.pragma_update(None, "cache_size", -16384)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    // Checkpoints run beside the writer (`checkpoint.rs`), not inside its commits.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", checkpoint::WAL_KEEP_BYTES)?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) `DB_FILE_NAME` inside `data_dir`, applying migrations.
    pub fn open_dir(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Permanent(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        Self::open(&data_dir.join(DB_FILE_NAME))
    }

    /// Opens (creating if needed) the database file at `path`, applying migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path).map_err(classify)?;
        configure(&conn).map_err(classify)?;
        sketch_sql::register(&conn).map_err(classify)?;
        let before = schema::migrate(&mut conn).map_err(StoreError::Permanent)?;
        if before > 0 && before < schema::SEARCH_MIGRATION {
            search_index::backfill(&mut conn).map_err(StoreError::Permanent)?;
        }
        rollup_log::install(&conn).map_err(classify)?;
        if before > 0 && before < schema::ROLLUP_MIGRATION {
            let tx = conn.transaction().map_err(classify)?;
            rollup_log::backfill(&tx).map_err(classify)?;
            rollup_fold::fold(&tx).map_err(classify)?;
            tx.commit().map_err(classify)?;
        }
        if before > 0 && before < schema::SEARCH_CHUNKS_MIGRATION {
            let tx = conn.transaction().map_err(classify)?;
            search_walk::backfill(&tx).map_err(classify)?;
            tx.commit().map_err(classify)?;
        }
        // The writer takes the write lock when its transactions begin: a deferred one that read
        // first could not write after a checkpoint restarted the WAL under its snapshot.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        let checkpoints = checkpoint::Checkpointer::start(path).map_err(classify)?;
        let writer = writer::Writer::new(conn, checkpoints).map_err(classify)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Sets the pricing function applied to a span merged from its incomplete and complete
    /// copies (the complete copy was priced at ingest without what only the incomplete copy
    /// had, e.g. its model); a cost the client reported is kept.
    pub fn set_merge_pricer(&self, pricer: Pricer) {
        if let Ok(mut w) = self.inner.writer.lock() {
            w.set_merge_pricer(pricer);
        }
    }

    /// Runs `f` on the writer connection, on the blocking pool, holding the writer lock for
    /// that call only (ingest's group commits run between calls).
    async fn on_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut writer::Writer) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut w = inner
                .writer
                .lock()
                .map_err(|_| StoreError::Permanent("writer lock poisoned".into()))?;
            f(&mut w).map_err(classify)
        })
        .await
        .map_err(|e| StoreError::Permanent(format!("writer task failed: {e}")))?
    }

    /// Deletes the traces `expiry` says have expired, with everything that belongs to them, in
    /// transactions of at most `batch` traces (ingest's commits run between them); what it
    /// deleted.
    pub async fn expire(&self, expiry: &Expiry, batch: usize) -> Result<Expired, StoreError> {
        let batch = batch.max(1);
        let mut total = Expired::default();
        loop {
            let expiry = expiry.clone();
            let done = self
                .on_writer(move |w| w.expire_batch(&expiry, batch))
                .await?;
            total.add(done);
            if usize::try_from(done.traces).unwrap_or(usize::MAX) < batch {
                return Ok(total);
            }
        }
    }

    /// Deletes the oldest traces (of the project whose oldest trace is the oldest), in
    /// transactions of at most `batch`, until the pages in use take at most `limit` bytes; what
    /// it deleted. The file keeps its size (freed pages are reused by later writes).
    pub async fn shrink_to(&self, limit: u64, batch: usize) -> Result<Expired, StoreError> {
        let batch = batch.max(1);
        let mut total = Expired::default();
        loop {
            match self
                .on_writer(move |w| w.shrink_batch(limit, batch))
                .await?
            {
                Some(done) if done.traces > 0 => total.add(done),
                _ => return Ok(total),
            }
        }
    }

    /// How many traces, and spans in them, the filters of `query` select (its cursor, sort and
    /// limit ignored): what an export of that query will read.
    pub async fn count_traces(&self, query: &TraceQuery) -> Result<(u64, u64), StoreError> {
        let q = query.clone();
        self.read(move |c| reader::count_traces(c, &q).map_err(classify))
            .await
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Bytes on disk (database plus WAL).
    pub fn size_bytes(&self) -> u64 {
        let wal = self.inner.path.with_extension("db-wal");
        [self.inner.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .fold(0, u64::saturating_add)
    }

    /// Runs `f` on a pooled reader connection on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.lock().ok().and_then(|mut v| v.pop());
            let conn = match conn {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(classify)?;
                    c.pragma_update(None, "busy_timeout", 5000)
                        .map_err(classify)?;
                    c.pragma_update(None, "cache_size", -16384)
                        .map_err(classify)?;
                    c
                }
            };
            let out = f(&conn);
            if let Ok(mut pool) = inner.readers.lock() {
                if pool.len() < 8 {
                    pool.push(conn);
                }
            }
            out
        })
        .await
        .map_err(|e| StoreError::Permanent(format!("reader task failed: {e}")))?
    }
}

#[async_trait]
impl AnnotationStore for SqliteStore {
    async fn score_stats(&self, query: &StatsQuery) -> Result<Vec<ScoreStatsGroup>, StoreError> {
        let q = query.clone();
        self.read(move |c| annotations::score_stats(c, &q).map_err(classify))
            .await
    }

    async fn score_names(&self, project: &str) -> Result<Vec<ScoreName>, StoreError> {
        let p = project.to_string();
        self.read(move |c| annotations::score_names(c, &p).map_err(classify))
            .await
    }

    async fn scores_of_traces(
        &self,
        project: &str,
        traces: &[TraceId],
    ) -> Result<Vec<Score>, StoreError> {
        let (p, t) = (project.to_string(), traces.to_vec());
        self.read(move |c| annotations::scores_of_traces(c, &p, &t).map_err(classify))
            .await
    }

    async fn delete_score(&self, project: &str, score_id: &str) -> Result<bool, StoreError> {
        let (p, id) = (project.to_string(), score_id.to_string());
        self.on_writer(move |w| annotations::delete_score(w.connection(), &p, &id))
            .await
    }

    async fn score_configs(&self, project: &str) -> Result<Vec<ScoreConfig>, StoreError> {
        let p = project.to_string();
        self.read(move |c| annotations::score_configs(c, &p).map_err(classify))
            .await
    }

    async fn put_score_config(&self, config: &ScoreConfig) -> Result<(), StoreError> {
        let c = config.clone();
        self.on_writer(move |w| annotations::put_score_config(w.connection(), &c))
            .await
    }

    async fn delete_score_config(&self, project: &str, name: &str) -> Result<bool, StoreError> {
        let (p, n) = (project.to_string(), name.to_string());
        self.on_writer(move |w| annotations::delete_score_config(w.connection(), &p, &n))
            .await
    }

    async fn datasets(&self, project: &str) -> Result<Vec<Dataset>, StoreError> {
        let p = project.to_string();
        self.read(move |c| annotations::datasets(c, &p).map_err(classify))
            .await
    }

    async fn put_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        let d = dataset.clone();
        self.on_writer(move |w| annotations::put_dataset(w.connection(), &d))
            .await
    }

    async fn put_dataset_item(&self, item: &DatasetItem) -> Result<bool, StoreError> {
        let i = item.clone();
        self.on_writer(move |w| annotations::put_dataset_item(w.connection(), &i))
            .await
    }

    async fn dataset_items(
        &self,
        project: &str,
        dataset: &str,
    ) -> Result<Option<Vec<DatasetItem>>, StoreError> {
        let (p, d) = (project.to_string(), dataset.to_string());
        self.read(move |c| annotations::dataset_items(c, &p, &d).map_err(classify))
            .await
    }

    async fn delete_dataset_item(
        &self,
        project: &str,
        dataset: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let (p, d, i) = (project.to_string(), dataset.to_string(), id.to_string());
        self.on_writer(move |w| annotations::delete_dataset_item(w.connection(), &p, &d, &i))
            .await
    }
}

#[async_trait]
impl SpanWriter for SqliteStore {
    async fn write(&self, batch: Arc<WriteBatch>) -> Result<WriteOutcome, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut w = inner
                .writer
                .lock()
                .map_err(|_| StoreError::Permanent("writer lock poisoned".into()))?;
            w.write(&batch).map_err(|e| match e {
                writer::WriteFailure::Sql(e) => classify(e),
                writer::WriteFailure::Encode(m) => StoreError::Permanent(m),
            })
        })
        .await
        .map_err(|e| StoreError::Permanent(format!("writer task failed: {e}")))?
    }
}

#[async_trait]
impl TraceReader for SqliteStore {
    async fn list_traces(&self, query: &TraceQuery) -> Result<TracePage, StoreError> {
        let q = query.clone();
        self.read(move |c| reader::list_traces(c, &q).map_err(classify))
            .await
    }

    async fn get_trace(
        &self,
        project: &str,
        trace_id: TraceId,
    ) -> Result<Option<TraceDetail>, StoreError> {
        let project = project.to_string();
        self.read(move |c| reader::get_trace(c, &project, trace_id))
            .await
    }

    async fn health(&self, orphan_before_unix_nano: u64) -> Result<StoreHealth, StoreError> {
        let size = self.size_bytes();
        let before = i64::try_from(orphan_before_unix_nano).unwrap_or(i64::MAX);
        let orphans = self
            .read(move |c| {
                c.prepare_cached("SELECT count(*) FROM traces WHERE has_root = 0 AND end_ns < ?1")
                    .and_then(|mut st| st.query_row([before], |r| r.get::<_, i64>(0)))
                    .map_err(classify)
            })
            .await?;
        Ok(StoreHealth {
            size_bytes: Some(size),
            orphan_traces: int::count(orphans),
        })
    }

    async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsGroup>, StoreError> {
        let q = query.clone();
        self.read(move |c| call_rollups::stats(c, &q).map_err(classify))
            .await
    }

    async fn trace_groups(&self, query: &TraceGroupQuery) -> Result<Vec<TraceGroup>, StoreError> {
        let q = query.clone();
        self.read(move |c| group_hours::trace_groups(c, &q).map_err(classify))
            .await
    }
}

#[async_trait]
impl CostRecomputer for SqliteStore {
    async fn recompute_costs(
        &self,
        req: &RecomputeRequest,
        pricer: Pricer,
    ) -> Result<RecomputeReport, StoreError> {
        let mut report = RecomputeReport::default();
        let mut progress = recompute::Progress {
            after_id: 0,
            done: false,
        };
        while !progress.done {
            // One batch per writer-lock hold: group commits of ingest run between batches.
            let inner = self.inner.clone();
            let req = req.clone();
            let pricer = pricer.clone();
            let (p, r) = tokio::task::spawn_blocking(move || {
                let mut w = inner
                    .writer
                    .lock()
                    .map_err(|_| StoreError::Permanent("writer lock poisoned".into()))?;
                w.recompute_batch(&req, pricer.as_ref(), &mut progress, &mut report)
                    .map_err(StoreError::Permanent)?;
                Ok::<_, StoreError>((progress, report))
            })
            .await
            .map_err(|e| StoreError::Permanent(format!("recompute task failed: {e}")))??;
            progress = p;
            report = r;
        }
        Ok(report)
    }

    async fn unpriced_models(&self, project: &str) -> Result<Vec<UnpricedModel>, StoreError> {
        let project = project.to_string();
        self.read(move |c| recompute::unpriced_models(c, &project).map_err(classify))
            .await
    }
}
