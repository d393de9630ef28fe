//! Thresholds, windows and receivers shared by the rule generator and the built-in evaluator,
//! and the observations the evaluator is fed.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Alert thresholds and timing. Defaults follow the seed's alerting section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// Window of the rates and quantiles (`rate(...[window])`), seconds. Default 300.
    pub window_seconds: u64,
    /// How long a condition must hold before its alert fires (`for:`), seconds. Default 300.
    pub for_seconds: u64,
    /// Evaluation interval (rule group `interval:` and the built-in evaluator's tick), seconds.
    /// Default 30 for Prometheus; the built-in evaluator ticks at most every second.
    pub eval_interval_seconds: u64,
    /// `LLMHighP99Latency`: p99 call duration above this, seconds. Default 10.
    pub p99_latency_seconds: f64,
    /// `LLMHighErrorRate`: errors / calls above this ratio. Default 0.01.
    pub error_rate: f64,
    /// `LLMTokensPerCallHigh`: (input + output) tokens per call above this. Default 50,000.
    pub tokens_per_call: f64,
    /// `LLMCacheHitRatioLow`: cache-read / input tokens below this, for models that use the
    /// prompt cache at all. Default 0.2.
    pub cache_hit_ratio_min: f64,
    /// `LLMCostBurnRateHigh`: USD per hour above this, per model. Default 10.
    pub cost_usd_per_hour: f64,
    /// Per-trace budget in tokens (input + output of counted calls); `None`: no budget.
    pub trace_max_tokens: Option<u64>,
    /// Per-trace budget in USD; `None`: no budget.
    pub trace_max_cost_usd: Option<f64>,
    /// Base URL of the runbook; each alert links `<base>#<alertname lowercase>`.
    pub runbook_url: String,
    /// Where the built-in evaluator sends notifications.
    pub webhooks: Vec<Webhook>,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            window_seconds: 300,
            for_seconds: 300,
            eval_interval_seconds: 30,
            p99_latency_seconds: 10.0,
            error_rate: 0.01,
            tokens_per_call: 50_000.0,
            cache_hit_ratio_min: 0.2,
            cost_usd_per_hour: 10.0,
            trace_max_tokens: None,
            trace_max_cost_usd: None,
            runbook_url: "https://github.com/llmtrace/llmtrace/blob/main/docs/alerts.md".into(),
            webhooks: Vec::new(),
        }
    }
}

impl AlertConfig {
    /// The rate window.
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_seconds.max(1))
    }

    /// The `for` duration.
    pub fn for_duration(&self) -> Duration {
        Duration::from_secs(self.for_seconds)
    }
}

/// A webhook receiver of the built-in evaluator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `http://` URL the notifications are POSTed to.
    pub url: String,
    /// Payload shape.
    #[serde(default)]
    pub format: WebhookFormat,
}

/// Payload shape of a webhook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Alertmanager's webhook payload (`version: "4"`, `alerts: [...]`), so any receiver built
    /// for Alertmanager works unchanged.
    #[default]
    Alertmanager,
    /// A flat JSON object per notification.
    Generic,
}

/// One counted model call, as the evaluator sees it (fed after each durable commit; each call
/// once, retries excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct CallSample {
    /// The call's project: every project has windows and alerts of its own.
    pub project: String,
    /// Model (response model, else request model; `other` past the label limit).
    pub model: String,
    /// Canonical provider, `unknown` when not known.
    pub provider: String,
    /// Call duration from the span's timestamps, seconds.
    pub duration_seconds: f64,
    /// Whether the call failed.
    pub error: bool,
    /// Input tokens (cache included).
    pub input_tokens: u64,
    /// Output tokens (reasoning included).
    pub output_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Effective cost in USD (0 when unpriced).
    pub cost_usd: f64,
}

/// A trace's totals after a commit touched it (for per-trace budgets).
#[derive(Debug, Clone, PartialEq)]
pub struct TraceTotals {
    /// Tenant.
    pub project: String,
    /// Trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// The trace's root span name, when known.
    pub name: Option<String>,
    /// Input + output tokens of its counted calls.
    pub tokens: u64,
    /// Effective cost of its counted calls, USD.
    pub cost_usd: f64,
}
