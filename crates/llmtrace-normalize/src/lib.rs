//! Attribute dialects (OTel GenAI and others) normalized into one GenAI model; pure and
//! synchronous.
//!
//! A [`Normalizer`] takes a [`Span`] decoded from OTLP (ids, names, times, status, attributes,
//! events set; `kind`, `gen_ai`, `usage`, `counts_usage` at their defaults) and fills `kind`,
//! `gen_ai.*`, `usage` and `counts_usage`:
//!
//! 1. every [`Dialect`] that detects its keys runs, in priority order ([`default_dialects`]);
//!    each fills only fields still unset, so the first dialect wins per field;
//! 2. the generic fallbacks run (user, session, error class, kind from the span name or from the
//!    presence of a model);
//! 3. finalization: the token heuristics of [`tokens::finalize`] and the rule of
//!    [`aggregate::counts_usage`].
//!
//! Tokens follow the model's convention (input includes cache, output includes reasoning), see
//! [`tokens`].

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

pub mod aggregate;
pub mod alias;
mod billing;
mod dialect;
pub mod evaluation;
mod generic;
mod keys;
pub mod kind;
mod logs;
pub mod messages;
mod registry;
pub mod tokens;
mod value;
mod wire;

pub use dialect::OtelGenAi;
pub use logs::{attach_logs, is_gen_ai_log};
pub use registry::default_dialects;

use llmtrace_model::Span;

/// One attribute dialect: detects whether a span speaks it and fills the normalized fields it can.
pub trait Dialect: Send + Sync {
    /// Stable short name (`otel_genai`, `openinference`, ...).
    fn name(&self) -> &'static str;
    /// Whether the span carries this dialect's keys.
    fn detect(&self, span: &Span) -> bool;
    /// Fills fields of span.gen_ai / span.usage / span.kind that are still unset (first dialect in
    /// priority order wins per field).
    fn apply(&self, span: &mut Span);
}

/// Runs the dialects, the generic fallbacks and finalization over spans.
pub struct Normalizer {
    dialects: Vec<Box<dyn Dialect>>,
}

impl Normalizer {
    /// The default registry, in its documented priority order ([`default_dialects`]).
    pub fn new() -> Self {
        Self::with_dialects(default_dialects())
    }

    /// A normalizer over the given dialects, in the given priority order (earlier wins per field).
    pub fn with_dialects(dialects: Vec<Box<dyn Dialect>>) -> Self {
        Normalizer { dialects }
    }

    /// Names of the dialects, in priority order.
    pub fn dialect_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.dialects.iter().map(|d| d.name())
    }

    /// Normalizes one span in place: runs every detecting dialect in order, then the generic
    /// fallbacks, then finalization (token heuristics and `counts_usage`).
    pub fn normalize(&self, span: &mut Span) {
        for d in &self.dialects {
            if d.detect(span) {
                d.apply(span);
            }
        }
        generic::apply(span);
        billing::apply(span);
        tokens::finalize(&mut span.usage);
        span.counts_usage = aggregate::counts_usage(span);
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Normalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.dialect_names()).finish()
    }
}
