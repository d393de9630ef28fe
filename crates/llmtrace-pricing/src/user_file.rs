//! The user price file (`--prices FILE`): TOML or JSON, one entry per model (and provider) and
//! `effective_from` date, prices in USD per **million** tokens as decimal strings (or numbers).
//! The built-in table is stored in the same format (JSON). See `docs/pricing.md` for the format.
//!
//! ```toml
//! version = 1
//!
//! [[prices]]
//! model = "claude-sonnet-4-6"
//! provider = "anthropic"          # optional; absent = any provider
//! effective_from = "2025-06-01"   # optional; absent = 1970-01-01 (always)
//! input = "3"
//! output = "15"
//! cache_read = "0.30"
//! cache_write_5m = "3.75"
//! cache_write_1h = "6"
//! batch = { input = "1.5", output = "7.5" }
//! ```

use crate::model::{ContextTier, Mode, PriceEntry, PriceSource, Rates, TierRates};
use crate::{Day, Price, PricingError};
use serde::{Deserialize, Serialize};

/// Price file syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl FileFormat {
    /// The format a file name's extension says (`.toml`, `.json`), if any.
    pub fn from_path(path: &str) -> Option<FileFormat> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".toml") {
            Some(FileFormat::Toml)
        } else if lower.ends_with(".json") {
            Some(FileFormat::Json)
        } else {
            None
        }
    }
}

/// The whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// Format version; only 1 exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    /// Free text (where the prices came from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default)]
    prices: Vec<RawPrice>,
}

/// Prices of one set (standard or a service tier), USD per million tokens.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_read: Option<Price>,
    #[serde(
        default,
        alias = "cache_write",
        skip_serializing_if = "Option::is_none"
    )]
    cache_write_5m: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_write_1h: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning: Option<Price>,
}

impl From<&Rates> for RawRates {
    fn from(r: &Rates) -> Self {
        RawRates {
            input: r.input,
            output: r.output,
            cache_read: r.cache_read,
            cache_write_5m: r.cache_write_5m,
            cache_write_1h: r.cache_write_1h,
            reasoning: r.reasoning,
        }
    }
}

impl From<RawRates> for Rates {
    fn from(r: RawRates) -> Self {
        Rates {
            input: r.input,
            output: r.output,
            cache_read: r.cache_read,
            cache_write_5m: r.cache_write_5m,
            cache_write_1h: r.cache_write_1h,
            reasoning: r.reasoning,
        }
    }
}

/// A long-context tier.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    above_input_tokens: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    inclusive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_read: Option<Price>,
    #[serde(
        default,
        alias = "cache_write",
        skip_serializing_if = "Option::is_none"
    )]
    cache_write_5m: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_write_1h: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<RawRates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flex: Option<RawRates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priority: Option<RawRates>,
}

/// One entry.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    model: String,
    /// Makes the entry a per-project override (highest precedence, that project's spans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    effective_from: Option<Day>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_read: Option<Price>,
    #[serde(
        default,
        alias = "cache_write",
        skip_serializing_if = "Option::is_none"
    )]
    cache_write_5m: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_write_1h: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<RawRates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flex: Option<RawRates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priority: Option<RawRates>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    context_tiers: Vec<RawTier>,
}

fn tier_rates(
    standard: Rates,
    batch: Option<RawRates>,
    flex: Option<RawRates>,
    priority: Option<RawRates>,
) -> TierRates {
    TierRates {
        standard,
        batch: batch.map(Rates::from),
        flex: flex.map(Rates::from),
        priority: priority.map(Rates::from),
    }
}

impl RawPrice {
    fn into_entry(self) -> Result<PriceEntry, PricingError> {
        let standard = Rates {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read,
            cache_write_5m: self.cache_write_5m,
            cache_write_1h: self.cache_write_1h,
            reasoning: self.reasoning,
        };
        let context_tiers = self
            .context_tiers
            .into_iter()
            .map(|t| ContextTier {
                above_input_tokens: t.above_input_tokens,
                inclusive: t.inclusive,
                rates: tier_rates(
                    Rates {
                        input: t.input,
                        output: t.output,
                        cache_read: t.cache_read,
                        cache_write_5m: t.cache_write_5m,
                        cache_write_1h: t.cache_write_1h,
                        reasoning: t.reasoning,
                    },
                    t.batch,
                    t.flex,
                    t.priority,
                ),
            })
            .collect();
        let provider = self.provider.filter(|p| !p.trim().is_empty());
        let mut entry = PriceEntry {
            id: String::new(),
            source: if self.project.is_some() {
                PriceSource::Project
            } else {
                PriceSource::User
            },
            project: self.project.filter(|p| !p.trim().is_empty()),
            model: self.model.trim().to_string(),
            provider,
            effective_from: self.effective_from.unwrap_or(Day::EPOCH),
            mode: self.mode.unwrap_or_default(),
            rates: tier_rates(standard, self.batch, self.flex, self.priority),
            context_tiers,
        };
        entry.validate()?;
        entry.id = entry.make_id();
        Ok(entry)
    }

    fn from_entry(e: &PriceEntry, explicit_dates: bool) -> RawPrice {
        let s = &e.rates.standard;
        let raw = |r: &Option<Rates>| r.as_ref().map(RawRates::from);
        RawPrice {
            model: e.model.clone(),
            project: e.project.clone(),
            provider: e.provider.clone(),
            effective_from: (explicit_dates || e.effective_from != Day::EPOCH)
                .then_some(e.effective_from),
            mode: (e.mode != Mode::Chat).then_some(e.mode),
            input: s.input,
            output: s.output,
            cache_read: s.cache_read,
            cache_write_5m: s.cache_write_5m,
            cache_write_1h: s.cache_write_1h,
            reasoning: s.reasoning,
            batch: raw(&e.rates.batch),
            flex: raw(&e.rates.flex),
            priority: raw(&e.rates.priority),
            context_tiers: e
                .context_tiers
                .iter()
                .map(|t| {
                    let s = &t.rates.standard;
                    RawTier {
                        above_input_tokens: t.above_input_tokens,
                        inclusive: t.inclusive,
                        input: s.input,
                        output: s.output,
                        cache_read: s.cache_read,
                        cache_write_5m: s.cache_write_5m,
                        cache_write_1h: s.cache_write_1h,
                        reasoning: s.reasoning,
                        batch: raw(&t.rates.batch),
                        flex: raw(&t.rates.flex),
                        priority: raw(&t.rates.priority),
                    }
                })
                .collect(),
        }
    }
}

/// Parses a user price file. Entries get [`PriceSource::User`] and `user:` ids; unknown keys,
/// invalid prices or dates, entries without an input price and duplicate entries are errors.
pub fn parse_user_file(text: &str, format: FileFormat) -> Result<Vec<PriceEntry>, PricingError> {
    let file: RawFile = match format {
        FileFormat::Toml => toml::from_str(text)?,
        FileFormat::Json => serde_json::from_str(text)?,
    };
    if let Some(v) = file.version.filter(|v| *v != 1) {
        return Err(PricingError::UnsupportedVersion(v));
    }
    let entries = file
        .prices
        .into_iter()
        .map(RawPrice::into_entry)
        .collect::<Result<Vec<_>, _>>()?;
    check_unique(&entries)?;
    Ok(entries)
}

/// Errors on two entries with the same id (model, provider and `effective_from`).
pub(crate) fn check_unique(entries: &[PriceEntry]) -> Result<(), PricingError> {
    let mut ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    match ids.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(PricingError::Duplicate {
            id: w[0].to_string(),
        }),
        None => Ok(()),
    }
}

/// Writes entries as a TOML user price file (with a header comment), the format
/// `llmtrace pricing import` produces. Every entry's `effective_from` is written out.
pub fn to_user_file(entries: &[PriceEntry]) -> String {
    // Serializing these plain structs cannot fail; an error would only drop the body.
    let body = to_user_file_as(entries, FileFormat::Toml).unwrap_or_default();
    format!(
        "# llmtrace price file: prices in USD per million tokens (decimal strings).\n\
         # Absent cache_read / cache_write_5m fall back to input, cache_write_1h to cache_write_5m,\n\
         # reasoning to output. See docs/pricing.md.\n\n{body}"
    )
}

/// Writes entries as a user price file in TOML or JSON (no header comment).
pub fn to_user_file_as(entries: &[PriceEntry], format: FileFormat) -> Result<String, PricingError> {
    let file = RawFile {
        version: Some(1),
        note: None,
        prices: entries
            .iter()
            .map(|e| RawPrice::from_entry(e, true))
            .collect(),
    };
    match format {
        FileFormat::Toml => {
            toml::to_string_pretty(&file).map_err(|e| PricingError::Write(e.to_string()))
        }
        FileFormat::Json => {
            serde_json::to_string_pretty(&file).map_err(|e| PricingError::Write(e.to_string()))
        }
    }
}

/// Writes the built-in table: JSON, one entry per line (readable diffs), `effective_from`
/// omitted (1970-01-01).
pub(crate) fn to_builtin_json(entries: &[PriceEntry], note: &str) -> Result<String, PricingError> {
    let mut out = String::from("{\n\"version\": 1,\n\"note\": ");
    out.push_str(&serde_json::to_string(note)?);
    out.push_str(",\n\"prices\": [\n");
    for (i, e) in entries.iter().enumerate() {
        out.push_str(&serde_json::to_string(&RawPrice::from_entry(e, false))?);
        out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
    }
    out.push_str("]\n}\n");
    Ok(out)
}
