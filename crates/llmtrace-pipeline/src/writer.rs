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

/// Writes the jobs as one batch and answers each of them. A batch that fails permanently is
/// split in halves and each half written again, down to single jobs, so one job the store cannot
/// take (a value it refuses) fails only its own client, never the others it was batched with.
async fn commit(
    queue: &Queue,
    store: &Arc<dyn SpanWriter>,
    jobs: Vec<Job>,
    config: &PipelineConfig,
    observer: Option<&dyn CommitObserver>,
) {
    let mut groups = vec![jobs];
    while let Some(mut jobs) = groups.pop() {
        let items: usize = jobs.iter().map(|j| j.items).sum();
        // Moved into one batch (no copy on the hot path); each job's share is remembered so a
        // failed batch can be given back to its jobs for the bisection below.
        let mut batch = WriteBatch::default();
        let mut shares = Vec::with_capacity(jobs.len());
        for job in &mut jobs {
            let b = std::mem::take(&mut job.batch);
            shares.push((b.spans.len(), b.logs.len(), b.scores.len()));
            batch.extend(b);
        }
        let started = Instant::now();
        let batch = Arc::new(batch);
        let result = write_with_retry(store, batch.clone(), config.retry_for).await;
        let result = match result {
            Ok(outcome) => {
                let elapsed = started.elapsed();
                queue.record_commit(&outcome, elapsed);
                if let Some(observer) = observer {
                    observer.committed(&batch, &outcome, elapsed);
                }
                Ok(())
            }
            Err(StoreError::Permanent(m)) if jobs.len() > 1 => {
                tracing::warn!(error = %m, jobs = jobs.len(), "group commit failed permanently; writing its halves apart");
                let whole = Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone());
                give_back(whole, &shares, &mut jobs);
                let second = jobs.split_off(jobs.len() / 2);
                groups.push(second);
                groups.push(jobs);
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, items, "group commit failed; batches failed back to clients");
                queue.record_failure(&e.to_string());
                Err(match e {
                    StoreError::Transient(m) => AckError::Unavailable(m),
                    other => AckError::Failed(other.to_string()),
                })
            }
        };
        for job in &jobs {
            queue.release(job.items, job.bytes, &job.project);
        }
        for job in jobs {
            if let Some(r) = job.reply {
                let _ = r.send(result.clone());
            }
        }
    }
}

/// Splits a batch built from `jobs` back into their own batches (`shares`: each job's counts of
/// spans, logs and scores, in order).
fn give_back(whole: WriteBatch, shares: &[(usize, usize, usize)], jobs: &mut [Job]) {
    let (mut spans, mut logs, mut scores) = (
        whole.spans.into_iter(),
        whole.logs.into_iter(),
        whole.scores.into_iter(),
    );
    for (job, (s, l, c)) in jobs.iter_mut().zip(shares) {
        job.batch = WriteBatch {
            spans: spans.by_ref().take(*s).collect(),
            logs: logs.by_ref().take(*l).collect(),
            scores: scores.by_ref().take(*c).collect(),
        };
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
