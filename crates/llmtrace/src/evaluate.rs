//! The configured rule evaluators (`[[evaluators]]`, `llmtrace-evaluators`) run on every newly
//! stored span: the commit observer hands the spans to a task through a bounded channel (a full
//! channel drops the batch and counts it: ingest never waits for an evaluator), and the task
//! stores the scores through the ingest path like any score.

use llmtrace_evaluators::Evaluator;
use llmtrace_ingest::Ingestor;
use llmtrace_model::Span;
use llmtrace_pipeline::CommitObserver;
use llmtrace_store::{SpanFate, WriteBatch, WriteOutcome};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Commits waiting for the evaluators before new ones are dropped.
const QUEUE: usize = 256;

/// Hands each commit's newly stored spans that some evaluator looks at to the evaluation task.
pub(crate) struct EvaluationFeed {
    evaluators: Arc<Vec<Evaluator>>,
    tx: mpsc::Sender<Vec<Span>>,
    /// Spans not evaluated because the task was behind.
    dropped: AtomicU64,
}

impl EvaluationFeed {
    /// The feed and the receiving end the evaluation task reads.
    pub(crate) fn new(evaluators: Vec<Evaluator>) -> (Arc<Self>, mpsc::Receiver<Vec<Span>>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (
            Arc::new(EvaluationFeed {
                evaluators: Arc::new(evaluators),
                tx,
                dropped: AtomicU64::new(0),
            }),
            rx,
        )
    }

    /// The evaluators.
    pub(crate) fn evaluators(&self) -> Arc<Vec<Evaluator>> {
        self.evaluators.clone()
    }
}

impl CommitObserver for EvaluationFeed {
    fn committed(&self, batch: &WriteBatch, outcome: &WriteOutcome, _elapsed: Duration) {
        let merged: std::collections::HashMap<usize, &Span> =
            outcome.merged_spans.iter().map(|(i, s)| (*i, s)).collect();
        let spans: Vec<Span> = batch
            .spans
            .iter()
            .enumerate()
            .zip(&outcome.span_fates)
            .filter(|(_, fate)| **fate != SpanFate::Duplicate)
            .map(|((i, s), _)| merged.get(&i).copied().unwrap_or(s))
            .filter(|s| self.evaluators.iter().any(|e| e.applies_to(s)))
            .cloned()
            .collect();
        if spans.is_empty() {
            return;
        }
        let n = u64::try_from(spans.len()).unwrap_or(u64::MAX);
        if self.tx.try_send(spans).is_err() {
            let before = self.dropped.fetch_add(n, Ordering::Relaxed);
            if before == 0 {
                tracing::warn!("evaluators are behind: spans left unevaluated (counted)");
            }
        }
    }
}

/// Evaluates the spans the feed hands over and stores the scores; ends when the feed does.
pub(crate) async fn run(
    mut rx: mpsc::Receiver<Vec<Span>>,
    evaluators: Arc<Vec<Evaluator>>,
    ingest: Arc<Ingestor>,
) {
    while let Some(spans) = rx.recv().await {
        let scores: Vec<_> = spans
            .iter()
            .flat_map(|s| evaluators.iter().filter_map(move |e| e.evaluate(s)))
            .collect();
        if scores.is_empty() {
            continue;
        }
        // A full queue asks to retry; the scores are small, so wait and try a few times.
        for attempt in 0..5u32 {
            match ingest.export_scores(scores.clone()).await {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e.message, attempt, "evaluator scores not stored yet");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}
