//! The price model: one [`PriceEntry`] per model (and provider) and `effective_from` date, with
//! per-token prices for each usage component, service tiers and long-context tiers.
//!
//! Serialized for the API with every price as a decimal string in USD per million tokens.

use crate::{Day, Price, PricingError};
use serde::{Deserialize, Serialize};

/// What kind of call an entry prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Chat / messages / generate-content calls.
    #[default]
    Chat,
    /// Legacy text completions.
    Completion,
    /// OpenAI Responses API models.
    Responses,
    /// Embeddings: only input tokens are billed.
    Embedding,
}

impl Mode {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Chat => "chat",
            Mode::Completion => "completion",
            Mode::Responses => "responses",
            Mode::Embedding => "embedding",
        }
    }

    /// Parses the lowercase name (as LiteLLM and price files write it).
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "chat" => Some(Mode::Chat),
            "completion" => Some(Mode::Completion),
            "responses" => Some(Mode::Responses),
            "embedding" => Some(Mode::Embedding),
            _ => None,
        }
    }
}

/// The service tier a call ran on, which selects the price set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTier {
    /// The default tier (`default`, `auto`, `standard`, absent or unknown).
    #[default]
    Standard,
    /// Batch API.
    Batch,
    /// OpenAI / Gemini flex processing.
    Flex,
    /// Priority processing.
    Priority,
}

impl ServiceTier {
    /// Reads `gen_ai.openai.response.service_tier`-style values, case-insensitively: anything
    /// containing `batch`, `flex` or `priority` selects that tier; everything else (`default`,
    /// `auto`, `standard`, `scale`, absent) is [`ServiceTier::Standard`].
    pub fn from_span_value(value: Option<&str>) -> ServiceTier {
        let Some(v) = value else {
            return ServiceTier::Standard;
        };
        // The common values, without allocating.
        for (name, tier) in [
            ("default", ServiceTier::Standard),
            ("auto", ServiceTier::Standard),
            ("standard", ServiceTier::Standard),
            ("priority", ServiceTier::Priority),
            ("flex", ServiceTier::Flex),
            ("batch", ServiceTier::Batch),
        ] {
            if v.eq_ignore_ascii_case(name) {
                return tier;
            }
        }
        let v = v.to_ascii_lowercase();
        if v.contains("priority") {
            ServiceTier::Priority
        } else if v.contains("flex") {
            ServiceTier::Flex
        } else if v.contains("batch") {
            ServiceTier::Batch
        } else {
            ServiceTier::Standard
        }
    }
}

/// One usage component with its own price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    Input,
    Output,
    CacheRead,
    CacheWrite5m,
    CacheWrite1h,
    Reasoning,
}

/// Per-token prices of one tier. An absent price falls back as documented on each field (and
/// first to the same component of the enclosing tier, see [`PriceEntry`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rates {
    /// Uncached input tokens. Required on an entry's standard prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Price>,
    /// Output tokens (reasoning included unless `reasoning` is set). Absent ⇒ free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Price>,
    /// Input tokens read from the cache. Absent ⇒ the input price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<Price>,
    /// Input tokens written to the cache with the default (5-minute) TTL. Absent ⇒ the input
    /// price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_5m: Option<Price>,
    /// Input tokens written to the cache with a 1-hour TTL. Absent ⇒ the 5-minute write price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<Price>,
    /// Reasoning tokens, when priced apart from output. Absent ⇒ billed as output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Price>,
}

impl Rates {
    /// Whether no price is set.
    pub fn is_empty(&self) -> bool {
        self.input.is_none()
            && self.output.is_none()
            && self.cache_read.is_none()
            && self.cache_write_5m.is_none()
            && self.cache_write_1h.is_none()
            && self.reasoning.is_none()
    }

    pub(crate) fn get(&self, c: Component) -> Option<Price> {
        match c {
            Component::Input => self.input,
            Component::Output => self.output,
            Component::CacheRead => self.cache_read,
            Component::CacheWrite5m => self.cache_write_5m,
            Component::CacheWrite1h => self.cache_write_1h,
            Component::Reasoning => self.reasoning,
        }
    }

    pub(crate) fn slot(&mut self, c: Component) -> &mut Option<Price> {
        match c {
            Component::Input => &mut self.input,
            Component::Output => &mut self.output,
            Component::CacheRead => &mut self.cache_read,
            Component::CacheWrite5m => &mut self.cache_write_5m,
            Component::CacheWrite1h => &mut self.cache_write_1h,
            Component::Reasoning => &mut self.reasoning,
        }
    }
}

/// Standard prices plus optional service-tier prices. A price missing from a service tier falls
/// back to the standard price of the same component.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TierRates {
    /// Standard-tier prices (flattened: `input`, `output`, ... at this level).
    #[serde(flatten)]
    pub standard: Rates,
    /// Batch API prices (LiteLLM `*_batches`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Rates>,
    /// Flex prices (LiteLLM `*_flex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flex: Option<Rates>,
    /// Priority prices (LiteLLM `*_priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Rates>,
}

impl TierRates {
    /// The price set of a service tier, if the entry has one.
    pub fn for_tier(&self, tier: ServiceTier) -> Option<&Rates> {
        match tier {
            ServiceTier::Standard => Some(&self.standard),
            ServiceTier::Batch => self.batch.as_ref(),
            ServiceTier::Flex => self.flex.as_ref(),
            ServiceTier::Priority => self.priority.as_ref(),
        }
    }

    pub(crate) fn for_tier_mut(&mut self, tier: ServiceTier) -> &mut Rates {
        match tier {
            ServiceTier::Standard => &mut self.standard,
            ServiceTier::Batch => self.batch.get_or_insert_with(Rates::default),
            ServiceTier::Flex => self.flex.get_or_insert_with(Rates::default),
            ServiceTier::Priority => self.priority.get_or_insert_with(Rates::default),
        }
    }

    /// Drops empty service-tier sets.
    pub(crate) fn tidy(&mut self) {
        for t in [&mut self.batch, &mut self.flex, &mut self.priority] {
            if t.as_ref().is_some_and(Rates::is_empty) {
                *t = None;
            }
        }
    }
}

/// Long-context prices: when a request's prompt tokens (input including cache) exceed
/// `above_input_tokens` (or reach it, when `inclusive`), these prices apply to every token of the
/// request — input, cache and output — not only to the tokens past the threshold (LiteLLM's
/// `*_above_200k_tokens` semantics). A price missing here falls back to the entry's price of the
/// same component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextTier {
    /// The threshold in prompt tokens.
    pub above_input_tokens: u64,
    /// Whether a prompt of exactly `above_input_tokens` already gets these prices (xAI).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inclusive: bool,
    /// The tier's prices.
    #[serde(flatten)]
    pub rates: TierRates,
}

impl ContextTier {
    /// Whether a request with this many prompt tokens gets this tier's prices.
    pub fn applies(&self, prompt_tokens: u64) -> bool {
        prompt_tokens > self.above_input_tokens
            || (self.inclusive && prompt_tokens == self.above_input_tokens)
    }
}

/// Which table an entry comes from; also its precedence (project over user over built-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// A per-project override.
    Project,
    /// The user price file.
    User,
    /// The default table compiled into the binary (generated from LiteLLM's price file).
    #[default]
    Builtin,
}

impl PriceSource {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceSource::Project => "project",
            PriceSource::User => "user",
            PriceSource::Builtin => "builtin",
        }
    }
}

/// The prices of one model (on one provider) from one date on.
///
/// How a price is found for a component, tier and context: the context tier's service-tier
/// price, the context tier's standard price, the entry's service-tier price, the entry's standard
/// price; if all are absent, the component's fallback (cache read and 5-minute cache write ⇒
/// input, 1-hour cache write ⇒ 5-minute cache write, reasoning ⇒ output, output ⇒ free).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceEntry {
    /// Stable id, e.g. `builtin:claude-sonnet-4-6@1970-01-01`, `user:gpt-4o@2025-06-01`,
    /// `user:azure/gpt-4o@2025-06-01`, `project:acme:gpt-4o@2025-06-01`.
    #[serde(default)]
    pub id: String,
    /// The table it comes from.
    #[serde(default)]
    pub source: PriceSource,
    /// The project, for [`PriceSource::Project`] entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Model key as priced (`claude-sonnet-4-6`, `gemini/gemini-2.5-pro`,
    /// `us.anthropic.claude-sonnet-4-5-20250929-v1:0`).
    pub model: String,
    /// Provider: a LiteLLM provider (`anthropic`, `bedrock_converse`,
    /// `vertex_ai-language-models`, ...) or an OTel `gen_ai.provider.name` (`aws.bedrock`, ...);
    /// `None` ⇒ any provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// First day (UTC) the entry applies to.
    pub effective_from: Day,
    /// Call kind.
    #[serde(default)]
    pub mode: Mode,
    /// Prices (standard ones flattened at this level, plus `batch`, `flex`, `priority`).
    #[serde(flatten)]
    pub rates: TierRates,
    /// Long-context tiers, ascending by threshold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_tiers: Vec<ContextTier>,
}

impl PriceEntry {
    /// A chat entry with only an input and an output price, effective from 1970-01-01 (build the
    /// rest by setting fields).
    pub fn new(model: impl Into<String>, input: Price, output: Price) -> PriceEntry {
        PriceEntry {
            id: String::new(),
            source: PriceSource::User,
            project: None,
            model: model.into(),
            provider: None,
            effective_from: Day::EPOCH,
            mode: Mode::Chat,
            rates: TierRates {
                standard: Rates {
                    input: Some(input),
                    output: Some(output),
                    ..Rates::default()
                },
                ..TierRates::default()
            },
            context_tiers: Vec::new(),
        }
    }

    /// Checks the entry (a standard input price, distinct tier thresholds) and puts its context
    /// tiers in ascending order.
    pub fn validate(&mut self) -> Result<(), PricingError> {
        let invalid = |reason: &str| PricingError::InvalidEntry {
            model: self.model.clone(),
            reason: reason.to_string(),
        };
        if self.model.trim().is_empty() {
            return Err(invalid("empty model"));
        }
        if self.rates.standard.input.is_none() {
            return Err(invalid("no input price"));
        }
        self.context_tiers
            .sort_by_key(|t| (t.above_input_tokens, !t.inclusive));
        if self.context_tiers.windows(2).any(|w| {
            w[0].above_input_tokens == w[1].above_input_tokens && w[0].inclusive == w[1].inclusive
        }) {
            return Err(invalid("two context tiers with the same threshold"));
        }
        self.rates.tidy();
        for t in &mut self.context_tiers {
            t.rates.tidy();
        }
        Ok(())
    }

    /// The id this entry gets in a source.
    pub(crate) fn make_id(&self) -> String {
        let prefix = match (&self.source, &self.project) {
            (PriceSource::Project, Some(p)) => format!("project:{p}:"),
            (PriceSource::Project, None) => "project:".to_string(),
            (PriceSource::User, _) => "user:".to_string(),
            (PriceSource::Builtin, _) => "builtin:".to_string(),
        };
        match (&self.provider, self.source) {
            (Some(p), PriceSource::User | PriceSource::Project) => {
                format!("{prefix}{p}/{}@{}", self.model, self.effective_from)
            }
            _ => format!("{prefix}{}@{}", self.model, self.effective_from),
        }
    }

    /// The price of a component for a service tier and an optional context tier, following the
    /// fallback chain documented on [`PriceEntry`] (without the component fallback).
    pub(crate) fn rate(
        &self,
        context: Option<&ContextTier>,
        tier: ServiceTier,
        c: Component,
    ) -> Option<Price> {
        let in_set = |set: &TierRates| {
            set.for_tier(tier)
                .and_then(|r| r.get(c))
                .or_else(|| set.standard.get(c))
        };
        context
            .and_then(|ctx| in_set(&ctx.rates))
            .or_else(|| in_set(&self.rates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_tiers_from_span_values() {
        let cases = [
            (None, ServiceTier::Standard),
            (Some("default"), ServiceTier::Standard),
            (Some("auto"), ServiceTier::Standard),
            (Some("scale"), ServiceTier::Standard),
            (Some("priority"), ServiceTier::Priority),
            (Some("ON_DEMAND_PRIORITY"), ServiceTier::Priority),
            (Some("Flex"), ServiceTier::Flex),
            (Some("batch"), ServiceTier::Batch),
        ];
        for (v, want) in cases {
            assert_eq!(ServiceTier::from_span_value(v), want, "{v:?}");
        }
    }
}
