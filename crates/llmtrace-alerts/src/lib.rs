//! Alerting on the LLM metrics llmtrace derives from spans.
//!
//! - [`rules`]: a Prometheus rule file (recording rules and the `LLM*` alerts, per model) built
//!   from [`AlertConfig`] thresholds, and a promtool unit-test file for it.
//! - [`evaluator`]: the same alerts evaluated in-process over sliding windows, for teams without
//!   Prometheus, with per-trace budgets and webhook notifications.
//!
//! Both read the same thresholds, so `llmtrace rules` and the built-in evaluator agree.

mod config;
pub mod evaluator;
pub mod rules;

pub use config::{AlertConfig, CallSample, TraceTotals, Webhook, WebhookFormat};
