//! Evaluators: checks that run inside llmtrace on newly stored spans and record their verdict
//! as a score (source and author `evaluator:<name>`), configured in the config file:
//!
//! ```toml
//! [[evaluators]]
//! name = "answers-in-json"
//! kind = "rule"              # the default
//! span_kind = "llm"          # optional filters: span_kind, service, model (request or response)
//! sample_rate = 1.0          # share of matching spans evaluated (by span id: stable)
//! output_is_json = true      # one rule per evaluator, see `Rule`
//!
//! [[evaluators]]
//! name = "helpful"
//! kind = "llm_judge"         # a model judges the span's input and output, see `Judge`
//! prompt = "Question: {{input}}\nAnswer: {{output}}\nIs the answer helpful? Reply good or bad."
//! api = "openai"             # or "anthropic"
//! judge_model = "gpt-4o-mini"
//! api_key_env = "OPENAI_API_KEY"
//! labels = ["good", "bad"]   # else the first number of the reply, within optional min/max
//! ```
//!
//! A rule scores value 1 and label `pass`, or 0 and `fail`, with the reason as its comment; a
//! judge scores the label (`CATEGORICAL`) or the number (`NUMERIC`) of its reply, with the
//! reply as the comment. `target = "trace"` evaluates the trace's root span and stores the
//! score on the trace instead of the span.
//!
//! Pure: the server feeds it stored spans, makes the judge's calls, and stores the scores. A
//! score's id is derived from the evaluator and what it scored, so evaluating again replaces
//! the score.

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

mod control;
mod judge;
mod rule;

pub use control::{
    parse_time_or_ago, BoxFuture, EvaluatorControl, EvaluatorStatus, JudgeStatus, RunError,
    RunReport, RunRequest,
};
pub use judge::{
    estimated_tokens, first_number, input_text, output_text, parse_label, render_template, Judge,
    JudgeApi, ScoreParser, Verdict, ANTHROPIC_MAX_TOKENS, DEFAULT_MAX_PER_MINUTE,
    ESTIMATED_OUTPUT_TOKENS, EVALUATOR_SERVICE, MAX_COMMENT_BYTES, MAX_RENDERED_BYTES,
};
pub use rule::Rule;

use llmtrace_model::{Score, Span};
use serde::Deserialize;

/// Why an evaluator's configuration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Wrong or missing fields.
    #[error("evaluator {name:?}: {message}")]
    Invalid {
        /// The evaluator's name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// One `[[evaluators]]` table of the config file, as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorConfig {
    /// Name (the score's name, and `evaluator:<name>` its source).
    pub name: String,
    /// `rule` (the default) or `llm_judge`.
    #[serde(default)]
    pub kind: Option<String>,
    /// `span` (the default: each matching span) or `trace` (the trace's root span; the score
    /// is stored on the trace).
    #[serde(default)]
    pub target: Option<String>,
    /// Only spans of this kind (`llm`, `embedding`, `tool`, ...). A judge of spans defaults to
    /// `llm`.
    #[serde(default)]
    pub span_kind: Option<String>,
    /// Only spans of this service.
    #[serde(default)]
    pub service: Option<String>,
    /// Only calls of this model (request or response model).
    #[serde(default)]
    pub model: Option<String>,
    /// Share of matching spans evaluated, 0 to 1 (default 1).
    #[serde(default)]
    pub sample_rate: Option<f64>,
    /// Rule: the output text contains this.
    #[serde(default)]
    pub output_contains: Option<String>,
    /// Rule: the output text matches this regular expression.
    #[serde(default)]
    pub output_matches: Option<String>,
    /// Rule: the output text is a JSON document.
    #[serde(default)]
    pub output_is_json: Option<bool>,
    /// Rule: the span lasted at most this many milliseconds.
    #[serde(default)]
    pub max_latency_ms: Option<f64>,
    /// Rule: the call cost at most this many USD.
    #[serde(default)]
    pub max_cost_usd: Option<f64>,
    /// Rule: the call used at most this many tokens (input + output).
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Judge: the prompt template; `{{input}}` and `{{output}}` are replaced by the span's input
    /// messages and output text.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Judge: `openai` (OpenAI-compatible chat completions, the default) or `anthropic`
    /// (Messages API).
    #[serde(default)]
    pub api: Option<String>,
    /// Judge: the API's base URL (default `https://api.openai.com/v1` or
    /// `https://api.anthropic.com/v1`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Judge: the model that judges.
    #[serde(default)]
    pub judge_model: Option<String>,
    /// Judge: the environment variable holding the API key (none sent when absent).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Judge: the labels the reply is read as (a categorical score); without them, the first
    /// number of the reply (a numeric score).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Judge: the smallest number accepted (numeric judges).
    #[serde(default)]
    pub min: Option<f64>,
    /// Judge: the largest number accepted (numeric judges).
    #[serde(default)]
    pub max: Option<f64>,
    /// Judge: most calls a minute, retries included (default 60).
    #[serde(default)]
    pub max_per_minute: Option<u32>,
}

/// What an evaluator scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Each matching span; the score is on the span.
    Span,
    /// Each trace, through its root span; the score is on the trace.
    Trace,
}

impl Target {
    /// The config file's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Span => "span",
            Target::Trace => "trace",
        }
    }
}

/// How an evaluator judges.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A rule, checked in process.
    Rule(Rule),
    /// A model, called by the server.
    Judge(Judge),
}

/// A configured evaluator.
#[derive(Debug, Clone)]
pub struct Evaluator {
    name: String,
    target: Target,
    span_kind: Option<String>,
    service: Option<String>,
    model: Option<String>,
    sample_rate: f64,
    /// Spans whose sampling point (0..10,000) is below this are evaluated.
    sample_below: u64,
    kind: Kind,
}

impl Evaluator {
    /// Validates a configuration: a name, a known kind and target, a sample rate within 0..=1;
    /// for a rule exactly one rule (a regular expression that compiles), for a judge a prompt
    /// with a placeholder, a model, an API, an endpoint URL and one score parser.
    pub fn new(c: &EvaluatorConfig) -> Result<Self, ConfigError> {
        let invalid = |m: &str| ConfigError::Invalid {
            name: c.name.clone(),
            message: m.to_string(),
        };
        if c.name.trim().is_empty() {
            return Err(invalid("name is required"));
        }
        let target = match c.target.as_deref() {
            None | Some("span") => Target::Span,
            Some("trace") => Target::Trace,
            Some(other) => {
                return Err(invalid(&format!(
                    "target {other:?} is not supported (\"span\" or \"trace\")"
                )))
            }
        };
        let kind = match c.kind.as_deref() {
            None | Some("rule") => {
                if Judge::any_set(c) {
                    return Err(invalid(
                        "prompt, api, endpoint, judge_model, api_key_env, labels, min, max and max_per_minute apply to kind = \"llm_judge\" only",
                    ));
                }
                Kind::Rule(Rule::from_config(c, &invalid)?)
            }
            Some("llm_judge") => Kind::Judge(Judge::from_config(c, &invalid)?),
            Some(other) => {
                return Err(invalid(&format!(
                    "kind {other:?} is not supported (\"rule\" or \"llm_judge\")"
                )))
            }
        };
        if let Some(k) = &c.span_kind {
            if llmtrace_model::SpanKind::parse(k).is_none() {
                return Err(invalid(&format!("span_kind {k:?} is not a span kind (llm, embedding, retriever, reranker, tool, agent, chain, span)")));
            }
        }
        // A judge of spans reads prompts and completions: model calls unless told otherwise.
        let span_kind = match (&kind, target, &c.span_kind) {
            (Kind::Judge(_), Target::Span, None) => Some("llm".to_string()),
            _ => c.span_kind.clone(),
        };
        let rate = c.sample_rate.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&rate) {
            return Err(invalid("sample_rate must be between 0 and 1"));
        }
        let sample_below = (0..=10_000u64)
            .find(|p| (*p as f64) >= rate * 10_000.0)
            .unwrap_or(10_000);
        Ok(Evaluator {
            name: c.name.trim().to_string(),
            target,
            span_kind,
            service: c.service.clone(),
            model: c.model.clone(),
            sample_rate: rate,
            sample_below,
            kind,
        })
    }

    /// The evaluator's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it scores.
    pub fn target(&self) -> Target {
        self.target
    }

    /// How it judges.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The judge, for an `llm_judge` evaluator.
    pub fn judge(&self) -> Option<&Judge> {
        match &self.kind {
            Kind::Judge(j) => Some(j),
            Kind::Rule(_) => None,
        }
    }

    /// Its configuration as a status with nothing counted yet.
    pub fn describe(&self) -> EvaluatorStatus {
        EvaluatorStatus {
            name: self.name.clone(),
            kind: match self.kind {
                Kind::Rule(_) => "rule",
                Kind::Judge(_) => "llm_judge",
            }
            .into(),
            target: self.target.as_str().into(),
            span_kind: self.span_kind.clone(),
            service: self.service.clone(),
            model: self.model.clone(),
            sample_rate: self.sample_rate,
            judge: self.judge().map(|j| JudgeStatus {
                api: j.api().as_str().into(),
                url: j.url(),
                model: j.model().into(),
                labels: match j.parser() {
                    ScoreParser::Labels(l) => l.clone(),
                    ScoreParser::Numeric { .. } => vec![],
                },
                max_per_minute: j.max_per_minute(),
            }),
            ..Default::default()
        }
    }

    /// Whether `span` is one this evaluator looks at: complete, not a judge's own call, the
    /// root span for a trace evaluator, the filters, the sample.
    pub fn applies_to(&self, span: &Span) -> bool {
        if span.incomplete || span.service == EVALUATOR_SERVICE {
            return false;
        }
        if self.target == Target::Trace && span.parent_span_id.is_some() {
            return false;
        }
        if self
            .span_kind
            .as_deref()
            .is_some_and(|k| k != span.kind.as_str())
        {
            return false;
        }
        if self.service.as_deref().is_some_and(|s| s != span.service) {
            return false;
        }
        if let Some(m) = &self.model {
            let g = &span.gen_ai;
            if g.request_model.as_deref() != Some(m.as_str())
                && g.response_model.as_deref() != Some(m.as_str())
            {
                return false;
            }
        }
        sample_point(span) < self.sample_below
    }

    /// A rule evaluator's score of `span`, or `None` when the evaluator does not apply, the
    /// span lacks what the rule reads (no output text, no cost, no tokens), or the evaluator is
    /// a judge (whose score needs its call: [`Evaluator::judge_score`]).
    pub fn evaluate(&self, span: &Span) -> Option<Score> {
        let Kind::Rule(rule) = &self.kind else {
            return None;
        };
        if !self.applies_to(span) {
            return None;
        }
        let (pass, reason) = rule.check(span)?;
        Some(Score {
            value: Some(if pass { 1.0 } else { 0.0 }),
            string_value: Some(if pass { "pass" } else { "fail" }.into()),
            data_type: "NUMERIC".into(),
            comment: Some(reason),
            ..self.score_of(span)
        })
    }

    /// The score of a judge's `verdict` on `span`, with its `reply` (trimmed, cut at
    /// [`MAX_COMMENT_BYTES`]) as the comment.
    pub fn judge_score(&self, span: &Span, verdict: &Verdict, reply: &str) -> Score {
        let (value, string_value, data_type) = match verdict {
            Verdict::Label(l) => (None, Some(l.clone()), "CATEGORICAL"),
            Verdict::Number(v) => (Some(*v), None, "NUMERIC"),
        };
        Score {
            value,
            string_value,
            data_type: data_type.into(),
            comment: Some(llmtrace_model::truncate_str(
                reply.trim().to_string(),
                MAX_COMMENT_BYTES,
            )),
            ..self.score_of(span)
        }
    }

    /// The identity of this evaluator's score of `span` (the trace's, for a trace evaluator),
    /// without its value.
    fn score_of(&self, span: &Span) -> Score {
        let (trace, span_hex) = (span.trace_id.to_hex(), span.span_id.to_hex());
        let (id, observation_id) = match self.target {
            Target::Span => (
                llmtrace_model::digest_id(
                    "eval",
                    &[self.name.as_str(), &span.project, &trace, &span_hex],
                ),
                Some(span_hex),
            ),
            Target::Trace => (
                llmtrace_model::digest_id("eval", &[self.name.as_str(), &span.project, &trace]),
                None,
            ),
        };
        Score {
            project: span.project.clone(),
            id,
            trace_id: trace,
            observation_id,
            name: self.name.clone(),
            source: format!("evaluator:{}", self.name),
            timestamp_unix_nano: span.end_unix_nano,
            author: Some(format!("evaluator:{}", self.name)),
            ..Default::default()
        }
    }
}

/// A span's place in the sampling range 0..10,000, from its ids (stable across runs).
fn sample_point(span: &Span) -> u64 {
    let folded = u64::from_be_bytes(span.span_id.0) ^ span.trace_id.key_i64().cast_unsigned();
    folded % 10_000
}
