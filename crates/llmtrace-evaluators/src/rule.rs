//! Rule evaluators: a check of one span (its output text, duration, cost or tokens) that passes
//! or fails, with the reason.

use crate::ConfigError;
use llmtrace_model::{MessagePart, Span};

/// What a rule evaluator checks.
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

impl Rule {
    /// The one rule of a configuration: exactly one of the rule fields must be set.
    pub(crate) fn from_config(
        c: &crate::EvaluatorConfig,
        invalid: &dyn Fn(&str) -> ConfigError,
    ) -> Result<Rule, ConfigError> {
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
        match rules.len() {
            1 => rules.pop().ok_or_else(|| invalid("no rule")),
            0 => Err(invalid("give one rule (output_contains, output_matches, output_is_json, max_latency_ms, max_cost_usd or max_tokens), or kind = \"llm_judge\"")),
            _ => Err(invalid("give one rule per evaluator")),
        }
    }

    /// Whether any rule field of `c` is set.
    pub(crate) fn any_set(c: &crate::EvaluatorConfig) -> bool {
        c.output_contains.is_some()
            || c.output_matches.is_some()
            || c.output_is_json.is_some()
            || c.max_latency_ms.is_some()
            || c.max_cost_usd.is_some()
            || c.max_tokens.is_some()
    }

    /// The verdict on `span` (pass, reason), or `None` when the span lacks what the rule reads
    /// (no output text, no cost, no tokens).
    pub(crate) fn check(&self, span: &Span) -> Option<(bool, String)> {
        Some(match self {
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
        })
    }
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
