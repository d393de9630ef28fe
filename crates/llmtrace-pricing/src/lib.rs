//! Pricing for llmtrace: exact, versioned per-token prices and the pure stage that turns a
//! span's usage into a cost with provenance. No IO, no async: callers read files and pass text.
//!
//! - [`PriceBook`] holds the table in effect: per-project overrides, a user price file
//!   ([`parse_user_file`], format in `docs/pricing.md`) and the built-in table generated from
//!   LiteLLM's price file ([`generate_default_table`], `src/bin/gen-default-prices.rs`).
//! - [`PriceBook::price_span`] / [`apply`] price a span: matching ([`matching`] documents the
//!   order), the entry in effect at the span's start, then the formula in [`cost`].
//! - Money is exact: prices are integers of 1e-21 USD per token ([`Price`]), costs are summed in
//!   `u128` and rounded once, half up, to [`llmtrace_model::Money`] pico-dollars.
//! - [`import_litellm`] and [`to_user_file`] serve `llmtrace pricing import`.

mod book;
pub mod cost;
mod date;
mod error;
mod litellm;
pub mod matching;
mod model;
mod price;
mod user_file;

pub use book::{builtin_entries, PriceBook, PriceBookBuilder, PriceOutcome};
pub use cost::compute_cost;
pub use date::Day;
pub use error::PricingError;
pub use litellm::{
    generate_default_table, import_litellm, BUILTIN_SNAPSHOT_DATE, DEFAULT_TABLE_NOTE,
};
pub use model::{ContextTier, Mode, PriceEntry, PriceSource, Rates, ServiceTier, TierRates};
pub use price::{Price, PER_MILLION_DECIMALS, PER_TOKEN_DECIMALS};
pub use user_file::{parse_user_file, to_user_file, to_user_file_as, FileFormat};

use llmtrace_model::Span;

/// Prices a span in place: sets `cost.computed`, `cost.price_id`, `cost.price_effective_from`
/// and `cost.unpriced` from [`PriceBook::price_span`] (clearing them when there is nothing to
/// price); leaves `cost.reported` alone. Idempotent.
pub fn apply(book: &PriceBook, span: &mut Span) {
    let mut cost = std::mem::take(&mut span.cost);
    apply_to_cost(book, span, &mut cost);
    span.cost = cost;
}

/// Like [`apply`], writing into `cost` instead of the span's own (for re-pricing stored spans).
pub fn apply_to_cost(book: &PriceBook, span: &Span, cost: &mut llmtrace_model::SpanCost) {
    let (computed, price_id, effective_from, unpriced) = match book.price_span(span) {
        PriceOutcome::Priced {
            cost,
            price_id,
            effective_from,
        } => (Some(cost), Some(price_id), Some(effective_from), false),
        PriceOutcome::Unpriced => (None, None, None, true),
        PriceOutcome::NotApplicable => (None, None, None, false),
    };
    cost.computed = computed;
    cost.price_id = price_id;
    cost.price_effective_from = effective_from;
    cost.unpriced = unpriced;
}
