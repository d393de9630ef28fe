//! The write pipeline: the only stateful stage between the receivers and the store.
//!
//! - **Admission** ([`Pipeline::submit`]): a batch is admitted only if the queue stays within its
//!   span and byte bounds; otherwise the caller gets [`SubmitError::Overloaded`] at once and
//!   answers its client with a retryable error. Nothing is dropped silently and the queue never
//!   grows past its bounds.
//! - **Group commit**: one writer task takes every waiting batch (up to a span cap), writes them
//!   in one store call, then acknowledges each of them.
//! - **Acknowledgement after commit**: [`Ack`] resolves only after the store said the batch is
//!   durable, or with the error that prevented it.
//! - **Observation** ([`CommitObserver`]): after each durable commit, an observer (the metrics)
//!   is told what was written, so derived counters follow stored data exactly.
//! - **Shutdown** ([`Pipeline::shutdown`]): stop admitting, write what is queued, then stop.

mod admission;
mod writer;

pub use admission::{Ack, AckError, SubmitError};

use admission::{Job, Queue};
use llmtrace_store::{SpanWriter, WriteBatch, WriteOutcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Bounds and batching of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Most spans (and log records) waiting to be written.
    pub max_queued_spans: usize,
    /// Most bytes (approximate in-memory size) waiting to be written.
    pub max_queued_bytes: usize,
    /// Most spans in one group commit.
    pub max_batch_spans: usize,
    /// How long a failed transient write is retried before the batches are failed back.
    pub retry_for: Duration,
    /// How long the writer may keep collecting jobs for a commit once it has one, as long as
    /// they keep coming (it stops at the first gap of a fifth of this): bigger commits for
    /// stores that pay much per commit (ClickHouse: a part per table and its merges), at the
    /// cost of that much more latency. Zero commits what is queued at once.
    pub linger: Duration,
    /// The share of `max_queued_spans` one project may hold while another project also has
    /// spans queued (a project alone may use the whole queue): one tenant cannot fill the queue
    /// for all. Beyond it the project's batches are refused as over quota (429).
    pub max_project_share: f64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            max_queued_spans: 200_000,
            max_queued_bytes: 256 * 1024 * 1024,
            max_batch_spans: 20_000,
            retry_for: Duration::from_secs(5),
            linger: Duration::ZERO,
            max_project_share: 0.5,
        }
    }
}

/// Counters for self-observation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Items (spans and logs) waiting.
    pub queued_items: usize,
    /// Bytes waiting.
    pub queued_bytes: usize,
    /// Capacity in items.
    pub capacity_items: usize,
    /// Capacity in bytes.
    pub capacity_bytes: usize,
    /// Spans newly stored since start.
    pub spans_written: u64,
    /// Duplicate spans (retried deliveries) ignored since start.
    pub spans_duplicate: u64,
    /// Group commits since start.
    pub commits: u64,
    /// Duration of the last group commit, microseconds.
    pub last_commit_micros: u64,
    /// Group commits that failed in a row up to now (0 when the last one succeeded): the store
    /// cannot write (disk full, database gone); health reports it.
    pub failing_commits: u64,
    /// Why the last failed commit failed.
    pub last_error: Option<String>,
    /// Whether the pipeline still admits work (false once shut down).
    pub writer_running: bool,
}

/// Told about each durable group commit, on the writer task, before the clients are
/// acknowledged: it must be quick and must never block or wait.
pub trait CommitObserver: Send + Sync {
    /// `batch` was committed with `outcome` (whose `span_fates` follow `batch.spans`) in
    /// `elapsed`.
    fn committed(&self, batch: &WriteBatch, outcome: &WriteOutcome, elapsed: Duration);
}

/// Handle to the running pipeline; cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    queue: Arc<Queue>,
    writer: Arc<tokio::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Pipeline {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(store: Arc<dyn SpanWriter>, config: PipelineConfig) -> Self {
        Self::start_observed(store, config, None)
    }

    /// Starts the writer task, telling `observer` about each durable commit.
    pub fn start_observed(
        store: Arc<dyn SpanWriter>,
        config: PipelineConfig,
        observer: Option<Arc<dyn CommitObserver>>,
    ) -> Self {
        let (queue, rx) = Queue::new(&config);
        let queue = Arc::new(queue);
        let handle = tokio::spawn(writer::run(queue.clone(), rx, store, config, observer));
        Pipeline {
            queue,
            writer: Arc::new(tokio::sync::Mutex::new(Some(handle))),
        }
    }

    /// Admits a batch, or refuses it at once when the queue is full or shutting down. `bytes`
    /// is the caller's estimate of the batch's size (the decoded request size is a good one).
    pub fn submit(&self, batch: WriteBatch, bytes: usize) -> Result<Ack, SubmitError> {
        self.queue.admit(Job::new(batch, bytes))
    }

    /// Current queue figures.
    pub fn stats(&self) -> PipelineStats {
        self.queue.stats()
    }

    /// Stops admitting, writes everything already admitted, and waits for the writer to end.
    pub async fn shutdown(&self) {
        self.queue.close();
        if let Some(handle) = self.writer.lock().await.take() {
            let _ = handle.await;
        }
    }
}
