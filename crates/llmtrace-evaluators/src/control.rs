//! What the transport knows of the running evaluators: their status (`GET /api/evaluators`,
//! the health page) and a run over a past time range (`POST /api/evaluators/{name}/run`). The
//! server holds an [`EvaluatorControl`] and nothing else of them: the binary implements it.

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

/// One evaluator as configured, with what it did since the server started.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EvaluatorStatus {
    /// Name (the score's name).
    pub name: String,
    /// `rule` or `llm_judge`.
    pub kind: String,
    /// `span` (each matching span) or `trace` (the trace, from its root span).
    pub target: String,
    /// Only spans of this kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_kind: Option<String>,
    /// Only spans of this service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Only calls of this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Share of matching spans evaluated.
    pub sample_rate: f64,
    /// The judge of an `llm_judge` evaluator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeStatus>,
    /// Scores stored since start.
    pub scored: u64,
    /// Evaluations that failed since start (the judge's call or reply, or storing the score).
    pub failed: u64,
    /// Spans left unevaluated since start because the evaluator was behind.
    pub skipped: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When it happened (RFC 3339).
    pub last_error_at: Option<String>,
}

/// The judge of an `llm_judge` evaluator, as configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JudgeStatus {
    /// `openai` or `anthropic`.
    pub api: String,
    /// The URL called.
    pub url: String,
    /// The judge model.
    pub model: String,
    /// The configured labels (empty for a numeric judge).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Most calls a minute.
    pub max_per_minute: u32,
}

/// `POST /api/evaluators/{name}/run`'s body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Start of the range: RFC 3339, or a duration before now (`30m`, `24h`, `7d`).
    pub since: String,
    /// End of the range (same forms); now when absent.
    #[serde(default)]
    pub until: Option<String>,
    /// Count and estimate only: evaluate nothing, call no provider.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a run over a time range did, or would do.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    /// The evaluator.
    pub evaluator: String,
    /// Whether nothing was evaluated.
    pub dry_run: bool,
    /// The range's start (RFC 3339).
    pub since: String,
    /// The range's end (RFC 3339).
    pub until: String,
    /// Traces started in the range that were read.
    pub traces_examined: u64,
    /// Spans (or traces, for a trace evaluator) the evaluator applies to.
    pub spans_matched: u64,
    /// Scores stored.
    pub spans_evaluated: u64,
    /// Matching spans without what the evaluator reads (no output, no prompt content).
    pub spans_skipped: u64,
    /// Evaluations that failed.
    pub spans_failed: u64,
    /// Prompt tokens the judge calls take, estimated (a token per 4 characters); 0 for rules.
    pub estimated_input_tokens: u64,
    /// Their estimated cost in USD (input tokens as estimated, 50 output tokens a call), `null`
    /// when the judge model has no price; 0 for rules.
    pub estimated_cost_usd: Option<f64>,
    /// The run stopped at its span limit: narrow the range.
    pub limit_reached: bool,
}

/// Why a run was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// No evaluator of that name.
    #[error("{0}")]
    NotFound(String),
    /// A bad range.
    #[error("{0}")]
    BadRequest(String),
    /// The store could not be read, or the scores not stored.
    #[error("{0}")]
    Unavailable(String),
}

/// A boxed future, as [`EvaluatorControl::run`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The running evaluators, as the transport sees them.
pub trait EvaluatorControl: Send + Sync {
    /// Each configured evaluator with its counts.
    fn statuses(&self) -> Vec<EvaluatorStatus>;

    /// Runs (or with `dry_run` counts) evaluator `name` over the spans of `project`'s traces
    /// started in the request's range; ends when every span is evaluated.
    fn run<'a>(
        &'a self,
        project: &'a str,
        name: &'a str,
        request: RunRequest,
    ) -> BoxFuture<'a, Result<RunReport, RunError>>;
}

/// A time of a range in Unix nanoseconds: RFC 3339, or a duration before `now_unix_nano`
/// (`90s`, `30m`, `24h`, `7d`, `2w`).
pub fn parse_time_or_ago(text: &str, now_unix_nano: u64) -> Result<u64, String> {
    let t = text.trim();
    let unit_at = t
        .find(|c: char| !c.is_ascii_digit())
        .filter(|at| *at > 0 && t.len() > *at);
    if let Some(at) = unit_at {
        let (n, unit) = t.split_at(at);
        let secs: Option<u64> = match unit {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3_600),
            "d" => Some(86_400),
            "w" => Some(604_800),
            _ => None,
        };
        if let (Some(per), Ok(n)) = (secs, n.parse::<u64>()) {
            // Longer ago than the epoch: since the beginning.
            let nanos = n.saturating_mul(per).saturating_mul(1_000_000_000);
            return Ok(now_unix_nano.saturating_sub(nanos));
        }
    }
    llmtrace_model::time::parse_time_str(t).ok_or_else(|| {
        format!("{text:?} is neither an RFC 3339 time nor a duration like 30m, 24h or 7d")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        let now = 1_000_000 * 1_000_000_000;
        assert_eq!(
            parse_time_or_ago("24h", now).unwrap(),
            now - 86_400 * 1_000_000_000
        );
        assert_eq!(
            parse_time_or_ago(" 30m ", now).unwrap(),
            now - 1_800 * 1_000_000_000
        );
        assert_eq!(
            parse_time_or_ago("7d", now).unwrap(),
            now - 7 * 86_400 * 1_000_000_000
        );
        assert_eq!(parse_time_or_ago("99999999w", now).unwrap(), 0);
        assert_eq!(
            parse_time_or_ago("2026-01-01T00:00:00Z", now).unwrap(),
            1_767_225_600 * 1_000_000_000
        );
        for bad in ["", "h", "24x", "yesterday", "-5m"] {
            assert!(parse_time_or_ago(bad, now).is_err(), "{bad}");
        }
    }
}
