//! The writer task: group commit, bounded retry of transient failures, acknowledgement.

use crate::admission::{AckError, Job, Queue};
use crate::{CommitObserver, PipelineConfig};
use llmtrace_store::{SpanWriter, StoreError, WriteBatch, WriteOutcome};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Runs until the queue is closed and drained.
pub(crate) async fn run(
    queue: Arc<Queue>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    store: Arc<dyn SpanWriter>,
    config: PipelineConfig,
    observer: Option<Arc<dyn CommitObserver>>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut items = jobs[0].items;
        while items < config.max_batch_spans {
            match rx.try_recv() {
                Ok(job) => {
                    items += job.items;
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        if !config.linger.is_zero() {
            let deadline = tokio::time::Instant::now() + config.linger;
            let gap = config.linger / 5;
            while items < config.max_batch_spans {
                let wait = gap.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
                match tokio::time::timeout(wait, rx.recv()).await {
                    Ok(Some(job)) => {
                        items += job.items;
                        jobs.push(job);
                    }
                    _ => break,
                }
            }
        }
        commit(&queue, &store, jobs, &config, observer.as_deref()).await;
    }
    tracing::debug!("pipeline writer stopped");
}

/// Writes the jobs as one batch and answers each of them.
async fn commit(
    queue: &Queue,
    store: &Arc<dyn SpanWriter>,
    mut jobs: Vec<Job>,
    config: &PipelineConfig,
    observer: Option<&dyn CommitObserver>,
) {
    let (items, bytes) = jobs
        .iter()
        .fold((0, 0), |(i, b), j| (i + j.items, b + j.bytes));
    let mut batch = WriteBatch::default();
    for job in &mut jobs {
        batch.extend(std::mem::take(&mut job.batch));
    }
    let started = Instant::now();
    let batch = Arc::new(batch);
    let result = write_with_retry(store, batch.clone(), config.retry_for).await;
    queue.release(items, bytes);
    let result = match result {
        Ok(outcome) => {
            let elapsed = started.elapsed();
            queue.record_commit(&outcome, elapsed);
            if let Some(observer) = observer {
                observer.committed(&batch, &outcome, elapsed);
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, items, "group commit failed; batches failed back to clients");
            Err(match e {
                StoreError::Transient(m) => AckError::Unavailable(m),
                other => AckError::Failed(other.to_string()),
            })
        }
    };
    for job in jobs {
        if let Some(r) = job.reply {
            let _ = r.send(result.clone());
        }
    }
}

/// Retries transient failures with doubling backoff for at most `retry_for`.
async fn write_with_retry(
    store: &Arc<dyn SpanWriter>,
    batch: Arc<WriteBatch>,
    retry_for: Duration,
) -> Result<WriteOutcome, StoreError> {
    let deadline = Instant::now() + retry_for;
    let mut backoff = Duration::from_millis(50);
    loop {
        match store.write(batch.clone()).await {
            Err(StoreError::Transient(m)) if Instant::now() + backoff < deadline => {
                tracing::warn!(error = %m, backoff_ms = backoff.as_millis() as u64, "transient store failure, retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}
