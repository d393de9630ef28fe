//! Pipeline semantics against a store whose writes can be held back.

use async_trait::async_trait;
use llmtrace_model::{Span, SpanId, TraceId};
use llmtrace_pipeline::{AckError, Pipeline, PipelineConfig, SubmitError};
use llmtrace_store::{SpanWriter, StoreError, WriteBatch, WriteOutcome};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Records written spans; each write waits for a permit, so a test can stall the writer.
struct GatedStore {
    gate: Semaphore,
    written: Mutex<Vec<SpanId>>,
    calls: AtomicUsize,
    fail_transient: AtomicUsize,
}

#[async_trait]
impl SpanWriter for GatedStore {
    async fn write(&self, batch: Arc<WriteBatch>) -> Result<WriteOutcome, StoreError> {
        self.gate.acquire().await.unwrap().forget();
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail_transient.load(Ordering::SeqCst) > 0 {
            self.fail_transient.fetch_sub(1, Ordering::SeqCst);
            return Err(StoreError::Transient("busy".into()));
        }
        // A span the store cannot take: the whole (atomic) write fails permanently.
        if batch.spans.iter().any(|s| s.name == "poison") {
            return Err(StoreError::Permanent("cannot store the poison span".into()));
        }
        self.written
            .lock()
            .unwrap()
            .extend(batch.spans.iter().map(|s| s.span_id));
        Ok(WriteOutcome {
            spans_written: batch.spans.len() as u64,
            ..Default::default()
        })
    }
}

fn batch(n: u64) -> WriteBatch {
    WriteBatch {
        spans: (0..n)
            .map(|i| Span {
                trace_id: TraceId([1; 16]),
                span_id: SpanId((i + 1).to_be_bytes()),
                ..Default::default()
            })
            .collect(),
        logs: vec![],
        scores: vec![],
    }
}

fn store(permits: usize) -> Arc<GatedStore> {
    Arc::new(GatedStore {
        gate: Semaphore::new(permits),
        written: Mutex::new(Vec::new()),
        calls: AtomicUsize::new(0),
        fail_transient: AtomicUsize::new(0),
    })
}

fn config(max_spans: usize) -> PipelineConfig {
    PipelineConfig {
        max_queued_spans: max_spans,
        max_queued_bytes: 1 << 20,
        max_batch_spans: 1000,
        retry_for: Duration::from_millis(500),
        linger: Duration::ZERO,
        max_project_share: 1.0,
    }
}

#[tokio::test]
async fn full_queue_refuses_at_once_and_acks_only_after_write() {
    let st = store(0);
    let p = Pipeline::start(st.clone(), config(10));
    let a = p.submit(batch(6), 100).unwrap();
    let err = p.submit(batch(6), 100).err().unwrap();
    assert!(
        matches!(
            err,
            SubmitError::Overloaded {
                queued_items: 6,
                capacity_items: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        p.submit(batch(11), 1).err().unwrap(),
        SubmitError::TooLarge { .. }
    ));
    let b = p.submit(batch(4), 100).unwrap();
    assert_eq!(p.stats().queued_items, 10);
    // Nothing is acknowledged while the writer is stalled.
    let mut a = Box::pin(a.wait());
    assert!(tokio::time::timeout(Duration::from_millis(100), &mut a)
        .await
        .is_err());
    st.gate.add_permits(10);
    a.await.unwrap();
    b.wait().await.unwrap();
    assert_eq!(st.written.lock().unwrap().len(), 10);
    assert_eq!(p.stats().queued_items, 0);
    assert_eq!(p.stats().spans_written, 10);
}

#[tokio::test]
async fn waiting_batches_are_group_committed() {
    let st = store(0);
    let p = Pipeline::start(st.clone(), config(100));
    let first = p.submit(batch(1), 10).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await; // writer holds the first job
    let acks: Vec<_> = (0..5).map(|_| p.submit(batch(2), 10).unwrap()).collect();
    st.gate.add_permits(100);
    first.wait().await.unwrap();
    for a in acks {
        a.wait().await.unwrap();
    }
    assert_eq!(
        st.calls.load(Ordering::SeqCst),
        2,
        "five waiting batches in one commit"
    );
}

/// With a linger, a commit takes the jobs that keep arriving after its first one (gaps shorter
/// than a fifth of the linger); without, each job that finds the writer idle is its own commit.
#[tokio::test]
async fn a_lingering_commit_takes_jobs_that_keep_arriving() {
    for linger in [Duration::from_secs(2), Duration::ZERO] {
        let st = store(1000);
        let p = Pipeline::start(
            st.clone(),
            PipelineConfig {
                linger,
                ..config(100)
            },
        );
        let mut acks = Vec::new();
        for _ in 0..4 {
            acks.push(p.submit(batch(2), 10).unwrap());
            // Well inside the 400 ms gap of the 2 s linger; without one the idle writer has
            // long taken the job.
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        for a in acks {
            a.wait().await.unwrap();
        }
        let calls = st.calls.load(Ordering::SeqCst);
        if linger.is_zero() {
            assert!(
                calls > 1,
                "without linger the writer did not wait: {calls} commit(s)"
            );
        } else {
            assert_eq!(calls, 1, "one lingering commit");
        }
    }
}

#[tokio::test]
async fn transient_failures_are_retried_then_failed_back() {
    let st = store(100);
    st.fail_transient.store(2, Ordering::SeqCst);
    let p = Pipeline::start(st.clone(), config(100));
    p.submit(batch(3), 10).unwrap().wait().await.unwrap();
    assert_eq!(st.written.lock().unwrap().len(), 3);

    st.fail_transient.store(1000, Ordering::SeqCst);
    let err = p.submit(batch(3), 10).unwrap().wait().await.unwrap_err();
    assert!(matches!(err, AckError::Unavailable(_)), "{err:?}");
    assert_eq!(
        p.stats().queued_items,
        0,
        "room is given back after a failure"
    );
}

#[tokio::test]
async fn shutdown_writes_what_was_admitted_then_refuses() {
    let st = store(0);
    let p = Pipeline::start(st.clone(), config(100));
    let acks: Vec<_> = (0..3).map(|_| p.submit(batch(2), 10).unwrap()).collect();
    let p2 = p.clone();
    let shut = tokio::spawn(async move { p2.shutdown().await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(p.submit(batch(1), 1).err(), Some(SubmitError::ShuttingDown));
    st.gate.add_permits(100);
    for a in acks {
        a.wait().await.unwrap();
    }
    shut.await.unwrap();
    assert_eq!(st.written.lock().unwrap().len(), 6);
}

/// A job the store refuses permanently fails only its own client: the group commit it was part
/// of is split and written again around it; health reports the failing commits until one works.
#[tokio::test]
async fn a_permanently_failing_job_is_isolated_from_its_group() {
    let st = store(0);
    let p = Pipeline::start(st.clone(), config(100));
    let first = p.submit(batch(1), 10).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await; // writer holds the first job
    let mut poisoned = batch(1);
    poisoned.spans[0].name = "poison".into();
    poisoned.spans[0].span_id = SpanId([9; 8]);
    let mut acks: Vec<_> = (0..3).map(|_| p.submit(batch(2), 10).unwrap()).collect();
    let bad = p.submit(poisoned, 10).unwrap();
    acks.extend((0..3).map(|_| p.submit(batch(2), 10).unwrap()));
    st.gate.add_permits(1000);
    first.wait().await.unwrap();
    for a in acks {
        a.wait()
            .await
            .expect("a job batched with the poisoned one is stored");
    }
    assert!(matches!(bad.wait().await, Err(AckError::Failed(_))));
    let stats = p.stats();
    assert!(
        stats.last_error.as_deref().unwrap_or("").contains("poison"),
        "{stats:?}"
    );
    assert_eq!(stats.queued_items, 0, "every job's room is given back");
    assert_eq!(
        stats.failing_commits, 0,
        "the store works: the halves around the poisoned job committed after it"
    );
}

/// Health sees a store that cannot write: failing commits are counted until one succeeds.
#[tokio::test]
async fn failing_commits_are_reported_until_one_succeeds() {
    let st = store(1000);
    st.fail_transient.store(1000, Ordering::SeqCst);
    let p = Pipeline::start(st.clone(), config(100));
    assert!(matches!(
        p.submit(batch(1), 10).unwrap().wait().await,
        Err(AckError::Unavailable(_))
    ));
    let stats = p.stats();
    assert_eq!(stats.failing_commits, 1, "{stats:?}");
    assert!(stats.last_error.as_deref().unwrap_or("").contains("busy"));
    st.fail_transient.store(0, Ordering::SeqCst);
    p.submit(batch(1), 10).unwrap().wait().await.unwrap();
    assert_eq!(p.stats().failing_commits, 0);
}

/// A batch of `n` spans of `project`.
fn project_batch(project: &str, n: u64, first_id: u8) -> WriteBatch {
    let mut b = batch(n);
    for (i, s) in (0u8..).zip(b.spans.iter_mut()) {
        s.project = project.into();
        s.span_id = SpanId([first_id, i, 0, 0, 0, 0, 0, 1]);
    }
    b
}

#[tokio::test]
async fn one_project_cannot_hold_more_than_its_share_while_another_waits() {
    let st = store(0); // stalled: nothing is written, the queue only fills
    let p = Pipeline::start(
        st.clone(),
        PipelineConfig {
            max_project_share: 0.5,
            ..config(100)
        },
    );
    // Alone, a project may use the whole queue.
    let mut acks = vec![p.submit(project_batch("noisy", 60, 1), 10).unwrap()];
    // Another project is admitted beside it.
    acks.push(p.submit(project_batch("quiet", 10, 2), 10).unwrap());
    // Now the noisy one is over its share (50 of 100) while "quiet" waits: 429-class refusal.
    let err = p
        .submit(project_batch("noisy", 5, 3), 10)
        .err()
        .expect("over quota");
    assert!(
        matches!(&err, SubmitError::ProjectQuota { project, queued: 60, quota: 50 } if project == "noisy"),
        "{err}"
    );
    // The quiet project still gets in up to its own share.
    acks.push(p.submit(project_batch("quiet", 20, 4), 10).unwrap());
    assert_eq!(p.stats().queued_items, 90);
    st.gate.add_permits(1000);
    for a in acks {
        a.wait().await.unwrap();
    }
    // Drained: the noisy project is alone again and may use the queue.
    p.submit(project_batch("noisy", 80, 5), 10)
        .unwrap()
        .wait()
        .await
        .unwrap();
}
