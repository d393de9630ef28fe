//! An evaluator over a past time range (`POST /api/evaluators/{name}/run`, `llmtrace
//! evaluate`): the project's traces started in the range are read page by page through the
//! store's `TraceReader` (newest first), and each span the evaluator applies to is evaluated
//! again, replacing its score. A dry run counts the spans and estimates what a judge's calls
//! would cost (a token per 4 characters of each prompt, [`ESTIMATED_OUTPUT_TOKENS`] a reply,
//! at the judge model's price) without calling anything. A run stops after [`MAX_SPANS`]
//! spans; judge calls keep their pace, so a long range takes a while (the dry run tells how
//! many calls).

use crate::evaluate::{judge_and_store, store, Evaluators, Judged, Running};
use llmtrace_evaluators::{
    estimated_tokens, parse_time_or_ago, Judge, RunError, RunReport, RunRequest,
    ESTIMATED_OUTPUT_TOKENS,
};
use llmtrace_model::{Score, Span, SpanKind};
use llmtrace_store::TraceQuery;

/// Most spans one run evaluates (or counts).
pub(crate) const MAX_SPANS: u64 = 50_000;
/// Traces read per page.
const PAGE: usize = 200;
/// Rule scores stored per batch.
const SCORE_BATCH: usize = 500;

/// Runs `request` for the evaluator `name` over `project`'s traces.
pub(crate) async fn run(
    ev: &Evaluators,
    project: &str,
    name: &str,
    request: RunRequest,
) -> Result<RunReport, RunError> {
    let r = ev.find(name).ok_or_else(|| {
        let names: Vec<&str> = ev.running.iter().map(|r| r.evaluator.name()).collect();
        RunError::NotFound(format!(
            "no evaluator {name:?} (configured: {})",
            names.join(", ")
        ))
    })?;
    let now = crate::judge::now_unix_nano();
    let since = parse_time_or_ago(&request.since, now)
        .map_err(|m| RunError::BadRequest(format!("since: {m}")))?;
    let until = match &request.until {
        Some(u) => {
            parse_time_or_ago(u, now).map_err(|m| RunError::BadRequest(format!("until: {m}")))?
        }
        None => now,
    };
    if since >= until {
        return Err(RunError::BadRequest(
            "since must be before until".to_string(),
        ));
    }
    let mut report = RunReport {
        evaluator: r.evaluator.name().to_string(),
        dry_run: request.dry_run,
        since: llmtrace_query::format_rfc3339_nanos(since),
        until: llmtrace_query::format_rfc3339_nanos(until),
        ..Default::default()
    };
    tracing::info!(evaluator = %name, project, since = %report.since, until = %report.until, dry_run = request.dry_run, "evaluator run over a past range");
    let mut pass = Pass {
        r,
        ev,
        project,
        dry_run: request.dry_run,
        report: &mut report,
        estimated_pico: Some(0),
        scores: Vec::new(),
    };
    pass.walk(since, until).await?;
    pass.flush().await?;
    let estimated = pass.estimated_pico;
    report.estimated_cost_usd = match r.evaluator.judge() {
        None => Some(0.0),
        Some(_) => estimated.map(|p| llmtrace_model::Money::from_pico(p).to_f64_usd()),
    };
    Ok(report)
}

/// One run's state.
struct Pass<'a> {
    r: &'a Running,
    ev: &'a Evaluators,
    project: &'a str,
    dry_run: bool,
    report: &'a mut RunReport,
    /// The judge calls' estimated cost so far, pico-USD; `None` once the model has no price.
    estimated_pico: Option<i64>,
    /// Rule scores not stored yet.
    scores: Vec<Score>,
}

impl Pass<'_> {
    /// Reads the range's traces page by page and evaluates their spans.
    async fn walk(&mut self, since: u64, until: u64) -> Result<(), RunError> {
        let unavailable = |e: llmtrace_store::StoreError| {
            RunError::Unavailable(format!("cannot read the stored traces: {e}"))
        };
        let mut cursor = None;
        loop {
            let page = self
                .ev
                .reader
                .list_traces(&TraceQuery {
                    project: self.project.to_string(),
                    since_unix_nano: Some(since),
                    until_unix_nano: Some(until),
                    limit: PAGE,
                    cursor,
                    ..Default::default()
                })
                .await
                .map_err(unavailable)?;
            for summary in &page.traces {
                self.report.traces_examined = self.report.traces_examined.saturating_add(1);
                let Some(detail) = self
                    .ev
                    .reader
                    .get_trace(self.project, summary.trace_id)
                    .await
                    .map_err(unavailable)?
                else {
                    continue;
                };
                for stored in &detail.spans {
                    if !self.r.evaluator.applies_to(&stored.span) {
                        continue;
                    }
                    if self.report.spans_matched >= MAX_SPANS {
                        self.report.limit_reached = true;
                        return Ok(());
                    }
                    self.report.spans_matched = self.report.spans_matched.saturating_add(1);
                    self.evaluate(&stored.span).await?;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(()),
            }
        }
    }

    /// Evaluates (or in a dry run estimates) one matching span.
    async fn evaluate(&mut self, span: &Span) -> Result<(), RunError> {
        let Some(judge) = self.r.evaluator.judge() else {
            match self.r.evaluator.evaluate(span) {
                Some(score) if !self.dry_run => {
                    self.scores.push(score);
                    if self.scores.len() >= SCORE_BATCH {
                        self.flush().await?;
                    }
                }
                Some(_) => {}
                None => self.report.spans_skipped = self.report.spans_skipped.saturating_add(1),
            }
            return Ok(());
        };
        let Some(prompt) = judge.prompt_for(span) else {
            self.report.spans_skipped = self.report.spans_skipped.saturating_add(1);
            return Ok(());
        };
        let tokens = estimated_tokens(&prompt);
        self.report.estimated_input_tokens =
            self.report.estimated_input_tokens.saturating_add(tokens);
        self.estimated_pico = self.estimated_pico.and_then(|sum| {
            call_cost(self.ev, self.project, judge, tokens).map(|c| sum.saturating_add(c))
        });
        if self.dry_run {
            return Ok(());
        }
        let counter = match judge_and_store(self.r, &self.ev.ingest, span).await {
            Judged::Scored => &mut self.report.spans_evaluated,
            Judged::Failed => &mut self.report.spans_failed,
            Judged::Nothing => &mut self.report.spans_skipped,
        };
        *counter = counter.saturating_add(1);
        Ok(())
    }

    /// Stores the rule scores not stored yet.
    async fn flush(&mut self) -> Result<(), RunError> {
        if self.scores.is_empty() {
            return Ok(());
        }
        let scores = std::mem::take(&mut self.scores);
        let n = u64::try_from(scores.len()).unwrap_or(u64::MAX);
        match store(&self.ev.ingest, vec![], scores).await {
            Ok(()) => {
                self.r.stats.scored(n);
                self.report.spans_evaluated = self.report.spans_evaluated.saturating_add(n);
                Ok(())
            }
            Err(e) => {
                let m = format!("scores not stored: {e}");
                self.r.stats.failed(self.r.evaluator.name(), &m);
                Err(RunError::Unavailable(m))
            }
        }
    }
}

/// The cost of one judge call of `input_tokens` prompt tokens and
/// [`ESTIMATED_OUTPUT_TOKENS`] reply tokens at the judge model's price, pico-USD; `None` when
/// the model has no price.
fn call_cost(ev: &Evaluators, project: &str, judge: &Judge, input_tokens: u64) -> Option<i64> {
    let mut call = Span {
        project: project.to_string(),
        kind: SpanKind::Llm,
        start_unix_nano: crate::judge::now_unix_nano(),
        ..Default::default()
    };
    call.gen_ai.provider = Some(judge.api().as_str().to_string());
    call.gen_ai.request_model = Some(judge.model().to_string());
    call.usage.input = Some(input_tokens);
    call.usage.output = Some(ESTIMATED_OUTPUT_TOKENS);
    match ev.ingest.prices().current().price_span(&call) {
        llmtrace_pricing::PriceOutcome::Priced { cost, .. } => Some(cost.pico_usd),
        _ => None,
    }
}
