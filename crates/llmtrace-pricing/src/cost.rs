//! The cost formula, on llmtrace's normalized token convention (input includes cache reads and
//! writes; output includes reasoning):
//!
//! ```text
//! uncached = input − cache_read − cache_write                       (saturating)
//! cost     = uncached × input
//!          + cache_read × cache_read                                  (absent ⇒ input)
//!          + (cache_write − cache_write_1h) × cache_write_5m          (absent ⇒ input)
//!          + cache_write_1h × cache_write_1h                          (absent ⇒ 5-minute write)
//!          + output × output                      when reasoning is not priced apart, else
//!          + (output − reasoning) × output + reasoning × reasoning
//! ```
//!
//! Prices come from the long-context tier whose threshold the prompt (input including cache)
//! exceeds — the highest such tier — and from the span's service tier. Embedding entries bill
//! input tokens only. The sum is exact in `u128` (1e-21 USD units) and rounded once, half up, to
//! pico-dollars.

use crate::model::Component;
use crate::price::units_to_money;
use crate::{ContextTier, Mode, Price, PriceEntry, ServiceTier};
use llmtrace_model::{Money, Usage};

/// The cost of `usage` under `entry` on a service tier.
pub fn compute_cost(entry: &PriceEntry, usage: &Usage, tier: ServiceTier) -> Money {
    let input = usage.input.unwrap_or(0);
    let cache_read = usage.cache_read.unwrap_or(0);
    let cache_write_1h = usage.cache_write_1h.unwrap_or(0);
    // cache_write counts every TTL; a larger 1-hour part than the total is taken as the total.
    let cache_write = usage.cache_write.unwrap_or(0).max(cache_write_1h);
    let output = usage.output.unwrap_or(0);
    let reasoning = usage.reasoning.unwrap_or(0);

    // The prompt size the long-context threshold is compared with: all input tokens.
    let prompt = input.max(cache_read.saturating_add(cache_write));
    let context = context_tier(entry, prompt);
    let rate = |c| entry.rate(context, tier, c);

    let input_price = rate(Component::Input).unwrap_or(Price::ZERO);
    let mut sum = Sum::default();
    if entry.mode == Mode::Embedding {
        sum.add(prompt, input_price);
        return sum.money();
    }
    let cache_read_price = rate(Component::CacheRead).unwrap_or(input_price);
    let write_5m_price = rate(Component::CacheWrite5m).unwrap_or(input_price);
    let write_1h_price = rate(Component::CacheWrite1h).unwrap_or(write_5m_price);
    let output_price = rate(Component::Output).unwrap_or(Price::ZERO);

    let uncached = input.saturating_sub(cache_read.saturating_add(cache_write));
    sum.add(uncached, input_price);
    sum.add(cache_read, cache_read_price);
    sum.add(cache_write - cache_write_1h, write_5m_price);
    sum.add(cache_write_1h, write_1h_price);
    match rate(Component::Reasoning) {
        Some(reasoning_price) => {
            sum.add(output.saturating_sub(reasoning), output_price);
            sum.add(reasoning, reasoning_price);
        }
        None => sum.add(output, output_price),
    }
    sum.money()
}

/// The highest long-context tier that applies to a prompt of this size.
fn context_tier(entry: &PriceEntry, prompt: u64) -> Option<&ContextTier> {
    entry.context_tiers.iter().rev().find(|t| t.applies(prompt))
}

/// An exact running sum in price units, saturating on (absurd) overflow.
#[derive(Default)]
struct Sum(u128);

impl Sum {
    fn add(&mut self, tokens: u64, price: Price) {
        let term = price.times(tokens).unwrap_or(u128::MAX);
        self.0 = self.0.saturating_add(term);
    }

    fn money(&self) -> Money {
        units_to_money(self.0)
    }
}
