//! Admission control: the bounded queue and the acknowledgement each admitted batch gets.

use crate::{PipelineConfig, PipelineStats};
use llmtrace_store::{WriteBatch, WriteOutcome};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Why a batch was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The queue is at its span or byte bound; retry later.
    #[error("ingest queue full ({queued_items} of {capacity_items} items, {queued_bytes} of {capacity_bytes} bytes queued)")]
    Overloaded {
        /// Items queued.
        queued_items: usize,
        /// Item capacity.
        capacity_items: usize,
        /// Bytes queued.
        queued_bytes: usize,
        /// Byte capacity.
        capacity_bytes: usize,
    },
    /// The batch alone is larger than the whole queue.
    #[error("batch of {items} items / {bytes} bytes exceeds the queue capacity")]
    TooLarge {
        /// Items in the batch.
        items: usize,
        /// Bytes in the batch.
        bytes: usize,
    },
    /// The project holds its share of a queue other projects are waiting in; retry later.
    #[error("project {project:?} holds {queued} queued items, its share of the queue is {quota} while other projects wait; retry later")]
    ProjectQuota {
        /// The project.
        project: String,
        /// Its items queued.
        queued: usize,
        /// The most it may hold while others wait.
        quota: usize,
    },
    /// The pipeline is shutting down.
    #[error("server is shutting down")]
    ShuttingDown,
}

/// Why an admitted batch was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The store failed transiently and retries ran out; the client should retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The store failed permanently.
    #[error("storage failed: {0}")]
    Failed(String),
}

/// Resolves when the batch is durably stored (or could not be).
pub struct Ack(oneshot::Receiver<Result<(), AckError>>);

impl Ack {
    /// Waits until the batch is durably stored, or failed.
    pub async fn wait(self) -> Result<(), AckError> {
        self.0
            .await
            .unwrap_or_else(|_| Err(AckError::Unavailable("writer stopped".into())))
    }
}

/// An admitted batch on its way to the writer.
pub(crate) struct Job {
    pub(crate) batch: WriteBatch,
    pub(crate) items: usize,
    pub(crate) bytes: usize,
    /// The project the batch belongs to (a request's batch has one), for its queue share.
    pub(crate) project: String,
    pub(crate) reply: Option<oneshot::Sender<Result<(), AckError>>>,
}

impl Job {
    pub(crate) fn new(batch: WriteBatch, bytes: usize) -> Self {
        let items = batch.spans.len() + batch.logs.len() + batch.scores.len();
        let project = batch
            .spans
            .first()
            .map(|s| s.project.clone())
            .or_else(|| batch.logs.first().map(|l| l.project.clone()))
            .or_else(|| batch.scores.first().map(|s| s.project.clone()))
            .unwrap_or_default();
        Job {
            batch,
            items,
            bytes,
            project,
            reply: None,
        }
    }
}

/// The items one project may hold while others wait: `share` of `capacity`, at least one batch's
/// worth (1) and at most the whole queue.
fn project_quota(capacity: usize, share: f64) -> usize {
    let share = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        1.0
    };
    ((capacity as f64 * share).ceil() as usize).clamp(1, capacity.max(1))
}

/// The bounded queue: counters checked and raised under one lock, so two receivers cannot both
/// slip past the bound; the channel itself is unbounded because the counters bound it.
pub(crate) struct Queue {
    tx: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    items: AtomicUsize,
    bytes: AtomicUsize,
    /// Items queued per project (projects with none are absent).
    by_project: Mutex<std::collections::HashMap<String, usize>>,
    /// The most items one project may hold while another has items queued.
    project_quota: usize,
    capacity_items: usize,
    capacity_bytes: usize,
    spans_written: AtomicU64,
    spans_duplicate: AtomicU64,
    commits: AtomicU64,
    last_commit_micros: AtomicU64,
    /// Group commits that failed in a row, up to the last one (0 once one succeeds).
    failing_commits: AtomicU64,
    /// Why the last failed commit failed.
    last_error: Mutex<Option<String>>,
}

impl Queue {
    pub(crate) fn new(config: &PipelineConfig) -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Queue {
                tx: Mutex::new(Some(tx)),
                items: AtomicUsize::new(0),
                bytes: AtomicUsize::new(0),
                by_project: Mutex::new(std::collections::HashMap::new()),
                project_quota: project_quota(config.max_queued_spans, config.max_project_share),
                capacity_items: config.max_queued_spans,
                capacity_bytes: config.max_queued_bytes,
                spans_written: AtomicU64::new(0),
                spans_duplicate: AtomicU64::new(0),
                commits: AtomicU64::new(0),
                last_commit_micros: AtomicU64::new(0),
                failing_commits: AtomicU64::new(0),
                last_error: Mutex::new(None),
            },
            rx,
        )
    }

    pub(crate) fn admit(&self, mut job: Job) -> Result<Ack, SubmitError> {
        if job.items > self.capacity_items || job.bytes > self.capacity_bytes {
            return Err(SubmitError::TooLarge {
                items: job.items,
                bytes: job.bytes,
            });
        }
        let guard = self.tx.lock().map_err(|_| SubmitError::ShuttingDown)?;
        let Some(tx) = guard.as_ref() else {
            return Err(SubmitError::ShuttingDown);
        };
        let items = self.items.load(Ordering::Acquire);
        let bytes = self.bytes.load(Ordering::Acquire);
        if items + job.items > self.capacity_items || bytes + job.bytes > self.capacity_bytes {
            return Err(SubmitError::Overloaded {
                queued_items: items,
                capacity_items: self.capacity_items,
                queued_bytes: bytes,
                capacity_bytes: self.capacity_bytes,
            });
        }
        {
            let mut by_project = self
                .by_project
                .lock()
                .map_err(|_| SubmitError::ShuttingDown)?;
            let mine = by_project.get(&job.project).copied().unwrap_or(0);
            let others_waiting = items > mine;
            if others_waiting && mine + job.items > self.project_quota {
                return Err(SubmitError::ProjectQuota {
                    project: job.project.clone(),
                    queued: mine,
                    quota: self.project_quota,
                });
            }
            *by_project.entry(job.project.clone()).or_default() += job.items;
        }
        let (reply, rx) = oneshot::channel();
        job.reply = Some(reply);
        self.items.fetch_add(job.items, Ordering::AcqRel);
        self.bytes.fetch_add(job.bytes, Ordering::AcqRel);
        let (n, b, project) = (job.items, job.bytes, job.project.clone());
        if let Err(mpsc::error::SendError(job)) = tx.send(job) {
            drop(job);
            self.release(n, b, &project);
            return Err(SubmitError::ShuttingDown);
        }
        Ok(Ack(rx))
    }

    /// Gives back the room of a written (or failed) job.
    pub(crate) fn release(&self, items: usize, bytes: usize, project: &str) {
        self.items.fetch_sub(items, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        if let Ok(mut by_project) = self.by_project.lock() {
            if let Some(n) = by_project.get_mut(project) {
                *n = n.saturating_sub(items);
                if *n == 0 {
                    by_project.remove(project);
                }
            }
        }
    }

    /// Stops admission; the writer drains what is queued and ends when the channel is empty.
    pub(crate) fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
    }

    /// Records a successful group commit.
    pub(crate) fn record_commit(&self, outcome: &WriteOutcome, elapsed: Duration) {
        self.spans_written
            .fetch_add(outcome.spans_written, Ordering::Relaxed);
        self.spans_duplicate
            .fetch_add(outcome.spans_duplicate, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.last_commit_micros
            .store(elapsed.as_micros() as u64, Ordering::Relaxed);
        self.failing_commits.store(0, Ordering::Relaxed);
    }

    /// Records a failed group commit (after its retries).
    pub(crate) fn record_failure(&self, error: &str) {
        self.failing_commits.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error.to_owned());
        }
    }

    pub(crate) fn stats(&self) -> PipelineStats {
        PipelineStats {
            spans_written: self.spans_written.load(Ordering::Relaxed),
            spans_duplicate: self.spans_duplicate.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            last_commit_micros: self.last_commit_micros.load(Ordering::Relaxed),
            queued_items: self.items.load(Ordering::Acquire),
            queued_bytes: self.bytes.load(Ordering::Acquire),
            capacity_items: self.capacity_items,
            capacity_bytes: self.capacity_bytes,
            failing_commits: self.failing_commits.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
            writer_running: self.tx.lock().is_ok_and(|tx| tx.is_some()),
        }
    }
}
