//! Rule evaluators: checks that run inside llmtrace on newly stored spans and record their
//! verdict as a score (`source = "evaluator:<name>"`, value 1 and label `pass`, or 0 and `fail`,
//! with the reason as its comment), configured in the config file:
//!
//! ```toml
//! [[evaluators]]
//! name = "answers-in-json"
//! kind = "rule"
//! span_kind = "llm"          # optional filters: span_kind, service, model (request or response)
//! sample_rate = 1.0          # share of matching spans evaluated (by span id: stable)
//! output_is_json = true      # one rule per evaluator, see `Rule`
//! ```
//!
//! Pure: the server feeds it stored spans and stores the scores it returns. A score's id is
//! derived from the evaluator and the span, so evaluating a span again replaces its score.

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

use llmtrace_model::{MessagePart, Score, Span};
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
    /// `rule` (the only kind that runs inside llmtrace today).
    #[serde(default)]
    pub kind: Option<String>,
    /// Only spans of this kind (`llm`, `embedding`, `tool`, ...).
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
}

/// What an evaluator checks.
#[derive(Debug, Clone)]
pub enum Rule {
    /// The output text contains a string.
    OutputContains(String),
    /// The output text matches a regular expression.
    OutputMatches(regex::Regex),
    /// The output text parses as JSON.
    OutputIsJson,
    /// Duration at most this many nanoseconds.
    MaxLatencyNanos(u64),
    /// Cost at most this many pico-USD.
    MaxCostPico(i64),
    /// Input plus output tokens at most this many.
    MaxTokens(u64),
}

/// A configured rule evaluator.
#[derive(Debug, Clone)]
pub struct Evaluator {
    name: String,
    span_kind: Option<String>,
    service: Option<String>,
    model: Option<String>,
    /// Spans whose sampling point (0..10,000) is below this are evaluated.
    sample_below: u64,
    rule: Rule,
}

impl Evaluator {
    /// Validates a configuration: a name, kind `rule`, exactly one rule, a sample rate within
    /// 0..=1, a regular expression that compiles.
    pub fn new(c: &EvaluatorConfig) -> Result<Self, ConfigError> {
        let invalid = |m: &str| ConfigError::Invalid {
            name: c.name.clone(),
            message: m.to_string(),
        };
        if c.name.trim().is_empty() {
            return Err(invalid("name is required"));
        }
        match c.kind.as_deref() {
            None | Some("rule") => {}
            Some(other) => {
                return Err(invalid(&format!(
                    "kind {other:?} is not supported (only \"rule\"; LLM-as-judge evaluators are not built yet)"
                )))
            }
        }
        let mut rules = Vec::new();
        if let Some(s) = &c.output_contains {
            rules.push(Rule::OutputContains(s.clone()));
        }
        if let Some(p) = &c.output_matches {
            let re = regex::RegexBuilder::new(p)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| invalid(&format!("output_matches: {e}")))?;
            rules.push(Rule::OutputMatches(re));
        }
        if c.output_is_json == Some(true) {
            rules.push(Rule::OutputIsJson);
        }
        if let Some(ms) = c.max_latency_ms {
            if !(ms.is_finite() && ms >= 0.0) {
                return Err(invalid("max_latency_ms must be a non-negative number"));
            }
            let nanos = std::time::Duration::try_from_secs_f64(ms / 1000.0)
                .map_err(|_| invalid("max_latency_ms is out of range"))?
                .as_nanos();
            rules.push(Rule::MaxLatencyNanos(
                u64::try_from(nanos).unwrap_or(u64::MAX),
            ));
        }
        if let Some(usd) = c.max_cost_usd {
            let m = llmtrace_model::Money::from_f64_usd(usd)
                .filter(|m| m.pico_usd >= 0)
                .ok_or_else(|| invalid("max_cost_usd must be a non-negative number"))?;
            rules.push(Rule::MaxCostPico(m.pico_usd));
        }
        if let Some(n) = c.max_tokens {
            rules.push(Rule::MaxTokens(n));
        }
        let rule = match rules.len() {
            1 => rules.pop().ok_or_else(|| invalid("no rule"))?,
            0 => return Err(invalid("give one rule (output_contains, output_matches, output_is_json, max_latency_ms, max_cost_usd or max_tokens)")),
            _ => return Err(invalid("give one rule per evaluator")),
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
            span_kind: c.span_kind.clone(),
            service: c.service.clone(),
            model: c.model.clone(),
            sample_below,
            rule,
        })
    }

    /// The evaluator's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `span` is one this evaluator looks at (filters and sampling).
    pub fn applies_to(&self, span: &Span) -> bool {
        if span.incomplete {
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

    /// The score of `span`, or `None` when the evaluator does not apply or the span lacks what
    /// the rule reads (no output text, no cost, no tokens).
    pub fn evaluate(&self, span: &Span) -> Option<Score> {
        if !self.applies_to(span) {
            return None;
        }
        let (pass, reason) = match &self.rule {
            Rule::OutputContains(s) => {
                let out = output_text(span)?;
                let ok = out.contains(s.as_str());
                (
                    ok,
                    format!("output {} {s:?}", if ok { "contains" } else { "lacks" }),
                )
            }
            Rule::OutputMatches(re) => {
                let out = output_text(span)?;
                let ok = re.is_match(&out);
                (
                    ok,
                    format!(
                        "output {} /{}/",
                        if ok { "matches" } else { "does not match" },
                        re.as_str()
                    ),
                )
            }
            Rule::OutputIsJson => {
                let out = output_text(span)?;
                match serde_json::from_str::<serde_json::Value>(out.trim()) {
                    Ok(_) => (true, "output is JSON".to_string()),
                    Err(e) => (false, format!("output is not JSON: {e}")),
                }
            }
            Rule::MaxLatencyNanos(max) => {
                let d = span.end_unix_nano.saturating_sub(span.start_unix_nano);
                (d <= *max, format!("lasted {:.1} ms", d as f64 / 1e6))
            }
            Rule::MaxCostPico(max) => {
                let cost = span.cost.effective()?;
                (
                    cost.pico_usd <= *max,
                    format!("cost ${}", cost.to_decimal_string()),
                )
            }
            Rule::MaxTokens(max) => {
                let u = &span.usage;
                if u.input.is_none() && u.output.is_none() {
                    return None;
                }
                let total = u.input.unwrap_or(0).saturating_add(u.output.unwrap_or(0));
                (total <= *max, format!("{total} tokens"))
            }
        };
        let id = llmtrace_model::digest_id(
            "eval",
            &[
                self.name.as_str(),
                &span.project,
                &span.trace_id.to_hex(),
                &span.span_id.to_hex(),
            ],
        );
        Some(Score {
            project: span.project.clone(),
            id,
            trace_id: span.trace_id.to_hex(),
            observation_id: Some(span.span_id.to_hex()),
            name: self.name.clone(),
            value: Some(if pass { 1.0 } else { 0.0 }),
            string_value: Some(if pass { "pass" } else { "fail" }.into()),
            data_type: "NUMERIC".into(),
            comment: Some(reason),
            source: format!("evaluator:{}", self.name),
            environment: None,
            timestamp_unix_nano: span.end_unix_nano,
            author: Some(format!("evaluator:{}", self.name)),
        })
    }
}

/// A span's place in the sampling range 0..10,000, from its ids (stable across runs).
fn sample_point(span: &Span) -> u64 {
    let folded = u64::from_be_bytes(span.span_id.0) ^ span.trace_id.key_i64().cast_unsigned();
    folded % 10_000
}

/// The text of a span's output messages (joined), or `None` when it has none.
fn output_text(span: &Span) -> Option<String> {
    let mut out = String::new();
    for m in &span.gen_ai.output_messages {
        for p in &m.parts {
            if let MessagePart::Text { content } = p {
                out.push_str(content);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}
