//! The one place token-usage keys are unified and converted to the llmtrace convention.
//!
//! # Convention
//!
//! [`Usage`] follows the OpenTelemetry GenAI conventions:
//!
//! * `input` counts **every** prompt token, cached ones included: `cache_read` and `cache_write`
//!   are parts of `input`, never added on top of it;
//! * `output` counts **every** generated token, reasoning included: `reasoning` is a part of
//!   `output`.
//!
//! A dialect collects raw counts with a [`UsageCollector`] (one rank per spelling, lower rank
//! wins, whatever the attribute order) and says how its source counts ([`InputCounting`],
//! [`OutputCounting`]); [`UsageCollector::fill`] converts and fills only the fields still unset.
//! After every dialect ran, [`finalize`] applies the reference §5.4 heuristics: an `input`
//! smaller than `cache_read + cache_write` cannot be inclusive, so the cache counts are added;
//! likewise an `output` smaller than `reasoning` gets the reasoning added.

use crate::value::token_count;
use llmtrace_model::{AttrValue, Usage};

/// One field of [`Usage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageField {
    /// All input tokens.
    Input,
    /// All output tokens.
    Output,
    /// Input tokens read from the provider cache.
    CacheRead,
    /// Input tokens written to the provider cache.
    CacheWrite,
    /// Reasoning tokens.
    Reasoning,
}

impl UsageField {
    fn index(self) -> usize {
        match self {
            UsageField::Input => 0,
            UsageField::Output => 1,
            UsageField::CacheRead => 2,
            UsageField::CacheWrite => 3,
            UsageField::Reasoning => 4,
        }
    }
}

/// How a source's input count treats cached tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputCounting {
    /// The input count already includes cache reads and writes (OTel, OpenLLMetry, OpenInference).
    IncludesCache,
    /// The input count excludes them (raw Anthropic API, OpenLIT for Anthropic, Langfuse).
    ExcludesCache,
}

/// How a source's output count treats reasoning tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputCounting {
    /// The output count already includes reasoning (OTel and most emitters).
    IncludesReasoning,
    /// The output count excludes it (Langfuse `usage_details`).
    ExcludesReasoning,
}

/// The spellings of the `gen_ai.usage.*` keys (suffix after `gen_ai.usage.`), each with its field
/// and rank (lower wins): OTel v1.26..v1.41.1, the post-move names, OpenLLMetry, OpenLIT and
/// pydantic-ai detail keys (reference §5.1).
const GEN_AI_USAGE_KEYS: &[(&str, UsageField, u8)] = &[
    ("input_tokens", UsageField::Input, 0),
    ("prompt_tokens", UsageField::Input, 1),
    ("output_tokens", UsageField::Output, 0),
    ("completion_tokens", UsageField::Output, 1),
    ("cache_read.input_tokens", UsageField::CacheRead, 0),
    ("cache_read_input_tokens", UsageField::CacheRead, 1),
    (
        "prompt_tokens_details.cached_tokens",
        UsageField::CacheRead,
        2,
    ),
    ("details.cache_read_tokens", UsageField::CacheRead, 3),
    ("cache_write.input_tokens", UsageField::CacheWrite, 0),
    ("cache_creation.input_tokens", UsageField::CacheWrite, 1),
    ("cache_creation_input_tokens", UsageField::CacheWrite, 2),
    ("details.cache_write_tokens", UsageField::CacheWrite, 3),
    ("reasoning.output_tokens", UsageField::Reasoning, 0),
    ("reasoning_tokens", UsageField::Reasoning, 1),
    (
        "completion_tokens_details.reasoning_tokens",
        UsageField::Reasoning,
        2,
    ),
    ("details.reasoning_tokens", UsageField::Reasoning, 3),
];

/// The field and rank of a `gen_ai.usage.*` key, given the part after `gen_ai.usage.`.
pub fn gen_ai_usage_key(suffix: &str) -> Option<(UsageField, u8)> {
    GEN_AI_USAGE_KEYS
        .iter()
        .find(|(k, _, _)| *k == suffix)
        .map(|(_, f, r)| (*f, *r))
}

/// Collects raw token counts from several spellings, keeping per field the value of the
/// best-ranked key (first seen among equal ranks). Blank, non-numeric and negative values are
/// ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct UsageCollector {
    slots: [Option<(u8, u64)>; 5],
}

impl UsageCollector {
    /// Offers a value for `field` under a key of rank `rank`; returns whether it was kept.
    pub fn offer(&mut self, field: UsageField, rank: u8, value: &AttrValue) -> bool {
        let Some(slot) = self.slots.get_mut(field.index()) else {
            return false;
        };
        if matches!(slot, Some((r, _)) if *r <= rank) {
            return false;
        }
        match token_count(value) {
            Some(n) => {
                *slot = Some((rank, n));
                true
            }
            None => false,
        }
    }

    /// Offers a value under a `gen_ai.usage.*` key (`suffix` is the part after `gen_ai.usage.`);
    /// returns whether the key is a known usage spelling.
    pub fn offer_gen_ai_usage(&mut self, suffix: &str, value: &AttrValue) -> bool {
        match gen_ai_usage_key(suffix) {
            Some((field, rank)) => {
                self.offer(field, rank, value);
                true
            }
            None => false,
        }
    }

    /// The collected raw value of a field.
    pub fn get(&self, field: UsageField) -> Option<u64> {
        self.slots
            .get(field.index())
            .copied()
            .flatten()
            .map(|(_, n)| n)
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// Converts the collected counts to the llmtrace convention and fills the fields of `usage`
    /// that are still unset.
    pub fn fill(&self, usage: &mut Usage, input: InputCounting, output: OutputCounting) {
        let cache_read = self.get(UsageField::CacheRead);
        let cache_write = self.get(UsageField::CacheWrite);
        let reasoning = self.get(UsageField::Reasoning);
        let mut input_total = self.get(UsageField::Input);
        if input == InputCounting::ExcludesCache {
            input_total = input_total.map(|i| {
                i.saturating_add(cache_read.unwrap_or(0))
                    .saturating_add(cache_write.unwrap_or(0))
            });
        }
        let mut output_total = self.get(UsageField::Output);
        if output == OutputCounting::ExcludesReasoning {
            output_total = output_total.map(|o| o.saturating_add(reasoning.unwrap_or(0)));
        }
        fill_opt(&mut usage.input, input_total);
        fill_opt(&mut usage.output, output_total);
        fill_opt(&mut usage.cache_read, cache_read);
        fill_opt(&mut usage.cache_write, cache_write);
        fill_opt(&mut usage.reasoning, reasoning);
    }
}

fn fill_opt(slot: &mut Option<u64>, value: Option<u64>) {
    if slot.is_none() {
        *slot = value;
    }
}

/// Applies the §5.4 heuristics once every dialect has filled `usage`: an input count smaller than
/// `cache_read + cache_write` cannot include them (raw Anthropic/Bedrock numbers from an unknown
/// emitter), so they are added; an output count smaller than `reasoning` gets it added. Both are
/// idempotent: after the fix-up the condition no longer holds.
pub fn finalize(usage: &mut Usage) {
    if let Some(input) = usage.input {
        let cached = usage
            .cache_read
            .unwrap_or(0)
            .saturating_add(usage.cache_write.unwrap_or(0));
        if input < cached {
            usage.input = Some(input.saturating_add(cached));
        }
    }
    if let (Some(output), Some(reasoning)) = (usage.output, usage.reasoning) {
        if output < reasoning {
            usage.output = Some(output.saturating_add(reasoning));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> AttrValue {
        AttrValue::Int(i)
    }

    #[test]
    fn best_rank_wins_regardless_of_order() {
        let mut c = UsageCollector::default();
        assert!(c.offer_gen_ai_usage("prompt_tokens", &int(5)));
        assert!(c.offer_gen_ai_usage("input_tokens", &int(7)));
        assert!(c.offer_gen_ai_usage("prompt_tokens", &int(9)));
        assert_eq!(c.get(UsageField::Input), Some(7));
        assert!(!c.offer_gen_ai_usage("total_tokens", &int(1)));
        assert!(c.offer_gen_ai_usage("cache_creation_input_tokens", &int(3)));
        assert!(c.offer_gen_ai_usage("cache_write.input_tokens", &int(4)));
        assert_eq!(c.get(UsageField::CacheWrite), Some(4));
    }

    #[test]
    fn negative_and_blank_values_are_ignored() {
        let mut c = UsageCollector::default();
        c.offer_gen_ai_usage("input_tokens", &int(-1));
        c.offer_gen_ai_usage("input_tokens", &AttrValue::Str(String::new()));
        assert!(c.is_empty());
        c.offer_gen_ai_usage("prompt_tokens", &AttrValue::Str("12".into()));
        assert_eq!(c.get(UsageField::Input), Some(12));
    }

    #[test]
    fn exclusive_sources_are_converted() {
        let mut c = UsageCollector::default();
        c.offer(UsageField::Input, 0, &int(120));
        c.offer(UsageField::CacheRead, 0, &int(30));
        c.offer(UsageField::CacheWrite, 0, &int(10));
        c.offer(UsageField::Output, 0, &int(45));
        c.offer(UsageField::Reasoning, 0, &int(5));
        let mut u = Usage::default();
        c.fill(
            &mut u,
            InputCounting::ExcludesCache,
            OutputCounting::ExcludesReasoning,
        );
        assert_eq!(u.input, Some(160));
        assert_eq!(u.output, Some(50));
        assert_eq!(u.uncached_input(), 120);
    }

    #[test]
    fn fill_keeps_fields_already_set() {
        let mut c = UsageCollector::default();
        c.offer(UsageField::Input, 0, &int(1));
        c.offer(UsageField::Output, 0, &int(2));
        let mut u = Usage {
            input: Some(100),
            ..Usage::default()
        };
        c.fill(
            &mut u,
            InputCounting::IncludesCache,
            OutputCounting::IncludesReasoning,
        );
        assert_eq!((u.input, u.output), (Some(100), Some(2)));
    }

    #[test]
    fn heuristic_adds_cache_when_input_cannot_be_inclusive() {
        let mut u = Usage {
            input: Some(20),
            cache_read: Some(30),
            cache_write: Some(10),
            cache_write_1h: None,
            output: Some(3),
            reasoning: Some(8),
        };
        finalize(&mut u);
        assert_eq!(u.input, Some(60));
        assert_eq!(u.output, Some(11));
        finalize(&mut u);
        assert_eq!((u.input, u.output), (Some(60), Some(11)));

        let mut inclusive = Usage {
            input: Some(160),
            cache_read: Some(30),
            cache_write: Some(10),
            ..Usage::default()
        };
        finalize(&mut inclusive);
        assert_eq!(inclusive.input, Some(160));
    }
}
