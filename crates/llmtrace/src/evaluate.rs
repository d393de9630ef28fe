//! The configured evaluators (`[[evaluators]]`, `llmtrace-evaluators`) run on every newly
//! stored span: the commit observer hands the spans some evaluator applies to to a task through
//! a bounded channel (a full channel drops the batch and counts it: ingest never waits for an
//! evaluator). That task scores rules at once and stores their scores through the ingest path;
//! each judge has its own bounded queue and worker, which makes the judge's calls (paced,
//! retried, traced: `judge.rs`) and stores the score with the judge's trace. Counts and the
//! last failure of each evaluator are kept for `/api/evaluators` and the health page, and
//! [`Evaluators`] also runs an evaluator over a past range (`evaluate_range.rs`).

use crate::judge::{JudgeRunner, Outcome};
use llmtrace_evaluators::{
    BoxFuture, Evaluator, EvaluatorControl, EvaluatorStatus, RunError, RunReport, RunRequest,
};
use llmtrace_ingest::Ingestor;
use llmtrace_model::{Score, Span};
use llmtrace_pipeline::CommitObserver;
use llmtrace_store::{SpanFate, TraceReader, WriteBatch, WriteOutcome};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Commits waiting for the evaluators before new ones are dropped.
const QUEUE: usize = 256;
/// Spans waiting for one judge before new ones are skipped.
const JUDGE_QUEUE: usize = 1_000;
/// Attempts to store scores when the ingest queue asks to retry.
const STORE_ATTEMPTS: u32 = 5;

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

/// What one evaluator did since start.
#[derive(Default)]
pub(crate) struct Stats {
    scored: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    /// The last failure and when (Unix nanoseconds).
    last_error: Mutex<Option<(String, u64)>>,
}

impl Stats {
    /// Counts stored scores.
    pub(crate) fn scored(&self, n: u64) {
        self.scored.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts spans left unevaluated because the evaluator was behind.
    pub(crate) fn skipped(&self, n: u64) {
        self.skipped.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a failure and keeps its message; logs it when it differs from the last one (a
    /// provider that stays down logs once, not once a span).
    pub(crate) fn failed(&self, name: &str, error: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let Ok(mut last) = self.last_error.lock() else {
            return;
        };
        if last.as_ref().is_none_or(|(m, _)| m != error) {
            tracing::warn!(evaluator = %name, error = %error, "evaluation failed");
        } else {
            tracing::debug!(evaluator = %name, error = %error, "evaluation failed again");
        }
        *last = Some((error.to_string(), crate::judge::now_unix_nano()));
    }

    fn fill(&self, status: &mut EvaluatorStatus) {
        status.scored = self.scored.load(Ordering::Relaxed);
        status.failed = self.failed.load(Ordering::Relaxed);
        status.skipped = self.skipped.load(Ordering::Relaxed);
        if let Ok(last) = self.last_error.lock() {
            if let Some((m, at)) = last.as_ref() {
                status.last_error = Some(m.clone());
                status.last_error_at = Some(llmtrace_query::format_rfc3339_nanos(*at));
            }
        }
    }
}

/// One configured evaluator at work.
pub(crate) struct Running {
    pub(crate) evaluator: Evaluator,
    pub(crate) stats: Stats,
    /// The judge's caller, for an `llm_judge` evaluator.
    pub(crate) judge: Option<JudgeRunner>,
    /// The judge's queue of new spans.
    queue: Option<mpsc::Sender<Span>>,
}

/// The running evaluators: what the server's `/api/evaluators` and health page read.
pub(crate) struct Evaluators {
    pub(crate) running: Vec<Arc<Running>>,
    pub(crate) ingest: Arc<Ingestor>,
    pub(crate) reader: Arc<dyn TraceReader>,
}

impl Evaluators {
    /// Starts the evaluation task on the feed's spans, and a worker per judge.
    pub(crate) fn start(
        evaluators: &[Evaluator],
        rx: mpsc::Receiver<Vec<Span>>,
        ingest: Arc<Ingestor>,
        reader: Arc<dyn TraceReader>,
    ) -> anyhow::Result<Arc<Self>> {
        let mut running = Vec::new();
        for e in evaluators {
            let (judge, queue, judge_rx) = match e.judge() {
                Some(j) => {
                    let (tx, rx) = mpsc::channel(JUDGE_QUEUE);
                    (Some(JudgeRunner::new(e.name(), j)?), Some(tx), Some(rx))
                }
                None => (None, None, None),
            };
            let r = Arc::new(Running {
                evaluator: e.clone(),
                stats: Stats::default(),
                judge,
                queue,
            });
            if let Some(rx) = judge_rx {
                tokio::spawn(judge_worker(r.clone(), rx, ingest.clone()));
            }
            running.push(r);
        }
        tokio::spawn(rule_task(rx, running.clone(), ingest.clone()));
        Ok(Arc::new(Evaluators {
            running,
            ingest,
            reader,
        }))
    }

    /// The evaluator named `name`.
    pub(crate) fn find(&self, name: &str) -> Option<&Arc<Running>> {
        self.running.iter().find(|r| r.evaluator.name() == name)
    }
}

impl EvaluatorControl for Evaluators {
    fn statuses(&self) -> Vec<EvaluatorStatus> {
        self.running
            .iter()
            .map(|r| {
                let mut s = r.evaluator.describe();
                r.stats.fill(&mut s);
                s
            })
            .collect()
    }

    fn run<'a>(
        &'a self,
        project: &'a str,
        name: &'a str,
        request: RunRequest,
    ) -> BoxFuture<'a, Result<RunReport, RunError>> {
        Box::pin(crate::evaluate_range::run(self, project, name, request))
    }
}

/// Scores rules on the spans the feed hands over and stores them, and hands the spans each
/// judge applies to to its queue (a full queue skips them, counted); ends when the feed does.
async fn rule_task(
    mut rx: mpsc::Receiver<Vec<Span>>,
    running: Vec<Arc<Running>>,
    ingest: Arc<Ingestor>,
) {
    while let Some(spans) = rx.recv().await {
        for r in &running {
            if let Some(queue) = &r.queue {
                for s in spans.iter().filter(|s| r.evaluator.applies_to(s)) {
                    if queue.try_send(s.clone()).is_err() {
                        r.stats.skipped(1);
                    }
                }
                continue;
            }
            let scores: Vec<Score> = spans
                .iter()
                .filter_map(|s| r.evaluator.evaluate(s))
                .collect();
            if scores.is_empty() {
                continue;
            }
            let n = u64::try_from(scores.len()).unwrap_or(u64::MAX);
            match store(&ingest, vec![], scores).await {
                Ok(()) => r.stats.scored(n),
                Err(e) => r
                    .stats
                    .failed(r.evaluator.name(), &format!("scores not stored: {e}")),
            }
        }
    }
}

/// Judges the spans of a judge's queue, one at a time; ends when the queue does.
async fn judge_worker(r: Arc<Running>, mut rx: mpsc::Receiver<Span>, ingest: Arc<Ingestor>) {
    while let Some(span) = rx.recv().await {
        judge_and_store(&r, &ingest, &span).await;
    }
}

/// What judging one span came to.
pub(crate) enum Judged {
    /// Scored and stored.
    Scored,
    /// Nothing to judge.
    Nothing,
    /// Failed (counted, recorded).
    Failed,
}

/// Judges `span` with `r`'s judge and stores the judge's trace with the score; counts and
/// records the outcome.
pub(crate) async fn judge_and_store(r: &Running, ingest: &Ingestor, span: &Span) -> Judged {
    let Some(judge) = &r.judge else {
        return Judged::Nothing;
    };
    let name = r.evaluator.name();
    match judge.evaluate(&r.evaluator, span).await {
        Outcome::Nothing => Judged::Nothing,
        Outcome::Scored { score, spans } => match store(ingest, spans, vec![*score]).await {
            Ok(()) => {
                r.stats.scored(1);
                Judged::Scored
            }
            Err(e) => {
                r.stats.failed(name, &format!("score not stored: {e}"));
                Judged::Failed
            }
        },
        Outcome::Failed { error, spans } => {
            r.stats.failed(name, &error);
            if spans.is_empty() {
                return Judged::Failed;
            }
            if let Err(e) = store(ingest, spans, vec![]).await {
                tracing::warn!(evaluator = %name, error = %e, "the judge's trace was not stored");
            }
            Judged::Failed
        }
    }
}

/// Stores spans (normalized and priced: the judge's own trace) and scores in one batch,
/// waiting and retrying a few times while the ingest queue asks to.
pub(crate) async fn store(
    ingest: &Ingestor,
    spans: Vec<Span>,
    scores: Vec<Score>,
) -> Result<(), String> {
    let bytes = spans
        .iter()
        .map(Span::memory_estimate)
        .chain(
            scores
                .iter()
                .map(|s| 512usize.saturating_add(s.comment.as_ref().map_or(0, String::len))),
        )
        .fold(0usize, usize::saturating_add);
    let mut attempt = 1;
    loop {
        let result = if spans.is_empty() {
            ingest.export_scores(scores.clone()).await
        } else {
            ingest
                .export_raw_spans(spans.clone(), scores.clone(), bytes)
                .await
        };
        match result {
            Ok(_) => return Ok(()),
            Err(e) if e.class.retry_after().is_some() && attempt < STORE_ATTEMPTS => {
                tracing::debug!(error = %e.message, attempt, "evaluator results not stored yet");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.message),
        }
    }
}
