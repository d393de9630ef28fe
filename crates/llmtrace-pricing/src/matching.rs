//! Matching a span's model id to price entries, through a precomputed normalized-key index.
//!
//! Both entry keys and the span's model are normalized the same way, in four cumulative levels,
//! and the first level with an eligible candidate wins:
//!
//! 1. **Id, provider decoration removed** (this includes the exact id): lowercased; path
//!    prefixes dropped (`anthropic/…`, `bedrock/…`, `bedrock/us-east-1/…`, `vertex_ai/…`,
//!    `azure/…`, `gemini/…`, `openai/…`, `models/…`, `openrouter/anthropic/…`: everything up to
//!    the last `/`); Bedrock region and vendor prefixes (`us.`, `eu.`, `apac.`, `global.`,
//!    `us-gov.`, … followed by `anthropic.`, `mistral.`, `cohere.`, …) and version suffixes
//!    (`-v1:0`, `-v2:0`, `-v1`) dropped. Among candidates the exact id (case-insensitive) is
//!    preferred, then the one with the fewest decorations.
//! 2. **Date snapshot removed**: `-20250514`, `-2025-04-14`, `@20240620` (and any Vertex
//!    `@version`). Undated entries are preferred, then the newest snapshot.
//! 3. **Dots as dashes**: `claude-3.5-sonnet` ≡ `claude-3-5-sonnet`, `gpt-4.1` ≡ `gpt-4-1`.
//! 4. **`-latest` removed**: `claude-3-5-sonnet-latest` ≡ `claude-3-5-sonnet`.
//!
//! Within a level the provider decides first: candidates of the span's provider family
//! (first-party, Bedrock, Vertex AI, Gemini API, Azure) rank before entries for any provider,
//! then first-party entries, then the other Google channel (Gemini ↔ Vertex), then anything else.
//! The family is taken from a cloud decoration in the model id itself (`bedrock/…`,
//! `us.anthropic.…`, `vertex_ai/…`, `…@20250929`, `azure/…`, `gemini/…`, `models/…`), else from
//! the span's `gen_ai.provider.name`.

use std::cmp::Ordering;
use std::collections::HashMap;

/// A provider family: which channel's price list applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Family {
    /// Not known (no provider attribute, or a provider llmtrace has no prices for).
    Unknown = 0,
    /// The model vendor's own API (OpenAI, Anthropic, Mistral, Cohere, DeepSeek, xAI).
    FirstParty = 1,
    /// AWS Bedrock.
    Bedrock = 2,
    /// Google Vertex AI.
    Vertex = 3,
    /// Google Gemini API (AI Studio).
    Gemini = 4,
    /// Azure OpenAI / Azure AI Foundry.
    Azure = 5,
    /// Entries only: no provider given, applies to every provider.
    Any = 6,
}

/// How many families a span can have (`Unknown..=Azure`), for per-family caches.
pub(crate) const SPAN_FAMILIES: usize = 6;

impl Family {
    /// The family of a provider name: an OTel `gen_ai.provider.name` (`aws.bedrock`,
    /// `gcp.vertex_ai`, `azure.ai.openai`, ...) or a LiteLLM provider (`bedrock_converse`,
    /// `vertex_ai-anthropic_models`, ...).
    pub(crate) fn of_provider(provider: &str) -> Family {
        let p = provider.trim().to_ascii_lowercase();
        match p.as_str() {
            "openai"
            | "anthropic"
            | "x_ai"
            | "xai"
            | "mistral_ai"
            | "mistral"
            | "mistralai"
            | "cohere"
            | "cohere_chat"
            | "deepseek"
            | "codestral"
            | "text-completion-openai"
            | "text-completion-codestral" => Family::FirstParty,
            "aws.bedrock" | "bedrock" | "bedrock_converse" | "bedrock_mantle"
            | "amazon_bedrock" | "aws_bedrock" => Family::Bedrock,
            "gcp.gemini" | "gcp.gen_ai" | "gemini" | "google" | "google_genai"
            | "google_ai_studio" => Family::Gemini,
            "azure.ai.openai" | "azure.ai.inference" | "azure" | "azure_ai" | "azure_text"
            | "azure_openai" => Family::Azure,
            _ if p == "gcp.vertex_ai" || p.starts_with("vertex_ai") || p == "vertex" => {
                Family::Vertex
            }
            _ => Family::Unknown,
        }
    }

    /// The family of an entry's provider: `None` (or a provider llmtrace does not know) applies
    /// to every provider.
    pub(crate) fn of_entry(provider: Option<&str>) -> Family {
        match provider.map(Family::of_provider) {
            None | Some(Family::Unknown) => Family::Any,
            Some(f) => f,
        }
    }

    /// The family a span's provider attribute says.
    pub(crate) fn of_span(provider: Option<&str>) -> Family {
        provider.map_or(Family::Unknown, Family::of_provider)
    }
}

/// A model id normalized at the four levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    /// Lowercased, trimmed id.
    pub(crate) exact: String,
    /// Level keys (see the module docs).
    pub(crate) levels: [String; 4],
    /// Family a cloud decoration in the id says, or `Unknown`.
    pub(crate) hint: Family,
    /// How many decorations level 1 removed.
    pub(crate) decorations: u8,
    /// The snapshot date level 2 removed, as YYYYMMDD, or 0.
    pub(crate) date: u32,
}

/// A Bedrock-style id split into vendor and the rest.
pub(crate) struct BedrockParts<'a> {
    /// `anthropic` of `us.anthropic.claude-…`.
    pub(crate) vendor: Option<&'a str>,
    /// Whether a region prefix (`us.`) was present.
    pub(crate) region: bool,
    /// The id after the region and vendor.
    pub(crate) rest: &'a str,
}

const BEDROCK_REGIONS: &[&str] = &[
    "us", "eu", "apac", "ap", "au", "jp", "global", "us-gov", "ca", "in", "sa", "me", "af",
];

const BEDROCK_VENDORS: &[&str] = &[
    "anthropic",
    "openai",
    "google",
    "mistral",
    "cohere",
    "deepseek",
    "xai",
    "meta",
    "amazon",
    "ai21",
    "qwen",
    "moonshot",
    "moonshotai",
    "zai",
    "minimax",
    "writer",
    "nvidia",
    "twelvelabs",
    "stability",
    "luma",
];

/// Splits `us.anthropic.claude-…` / `anthropic.claude-…` (lowercase, one path segment).
pub(crate) fn strip_bedrock(s: &str) -> BedrockParts<'_> {
    let vendor_split = |s: &'_ str| -> Option<(usize, usize)> {
        let (head, _) = s.split_once('.')?;
        BEDROCK_VENDORS
            .contains(&head)
            .then_some((head.len(), head.len() + 1))
    };
    if let Some((region, rest)) = s.split_once('.') {
        if BEDROCK_REGIONS.contains(&region) {
            if let Some((vlen, skip)) = vendor_split(rest) {
                return BedrockParts {
                    vendor: Some(&rest[..vlen]),
                    region: true,
                    rest: &rest[skip..],
                };
            }
        }
    }
    match vendor_split(s) {
        Some((vlen, skip)) => BedrockParts {
            vendor: Some(&s[..vlen]),
            region: false,
            rest: &s[skip..],
        },
        None => BedrockParts {
            vendor: None,
            region: false,
            rest: s,
        },
    }
}

/// Removes a Bedrock version suffix: `-v1:0`, `:0`, then `-v2`.
fn strip_bedrock_version(s: &str) -> Option<&str> {
    let mut out = s;
    if let Some((head, tail)) = out.rsplit_once(':') {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            out = head;
        }
    }
    if let Some((head, tail)) = out.rsplit_once("-v") {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            out = head;
        }
    }
    (out.len() != s.len()).then_some(out)
}

/// The family a leading path segment says (`bedrock/…`, `vertex_ai/…`).
fn hint_of_segment(seg: &str) -> Family {
    match seg {
        "bedrock" | "bedrock_converse" | "bedrock_mantle" | "converse" | "invoke" => {
            Family::Bedrock
        }
        "vertex_ai" | "vertex_ai_beta" | "projects" | "publishers" => Family::Vertex,
        "azure" | "azure_ai" | "azure_text" => Family::Azure,
        "gemini" | "models" => Family::Gemini,
        "anthropic"
        | "openai"
        | "mistral"
        | "cohere"
        | "cohere_chat"
        | "deepseek"
        | "xai"
        | "codestral"
        | "text-completion-openai"
        | "text-completion-codestral" => Family::FirstParty,
        _ => Family::Unknown,
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits a date-snapshot suffix off: (stem, YYYYMMDD or 0).
fn strip_date(s: &str) -> (&str, u32) {
    if let Some((stem, version)) = s.split_once('@') {
        let date = if version.len() == 8 && all_digits(version) {
            version.parse().unwrap_or(0)
        } else {
            0
        };
        return (stem, date);
    }
    let b = s.as_bytes();
    // -YYYY-MM-DD
    if b.len() > 11 {
        let tail = &s[s.len() - 11..];
        let t = tail.as_bytes();
        if t[0] == b'-'
            && t[5] == b'-'
            && t[8] == b'-'
            && all_digits(&tail[1..5])
            && all_digits(&tail[6..8])
            && all_digits(&tail[9..11])
        {
            let ymd = format!("{}{}{}", &tail[1..5], &tail[6..8], &tail[9..11]);
            return (&s[..s.len() - 11], ymd.parse().unwrap_or(0));
        }
    }
    // -YYYYMMDD (years 2000..=2099)
    if b.len() > 9 {
        let tail = &s[s.len() - 9..];
        if tail.starts_with("-20") && all_digits(&tail[1..]) {
            return (&s[..s.len() - 9], tail[1..].parse().unwrap_or(0));
        }
    }
    (s, 0)
}

/// Normalizes a model id at the four levels.
pub(crate) fn keys(model: &str) -> Keys {
    let exact = model.trim().to_ascii_lowercase();
    let mut decorations: u8 = 0;
    let mut hint = Family::Unknown;

    // Level 1: path prefixes, Bedrock region/vendor/version.
    let last = match exact.rsplit_once('/') {
        Some((prefix, last)) if !last.is_empty() => {
            decorations = decorations.saturating_add(prefix.split('/').count() as u8);
            hint = hint_of_segment(prefix.split('/').next().unwrap_or(""));
            last
        }
        _ => exact.as_str(),
    };
    let parts = strip_bedrock(last);
    let mut bare = parts.rest;
    if parts.vendor.is_some() {
        decorations = decorations.saturating_add(1 + u8::from(parts.region));
    }
    let colon_version = bare.rsplit_once(':').is_some_and(|(h, t)| {
        all_digits(t) && h.rsplit_once("-v").is_some_and(|(_, v)| all_digits(v))
    });
    if parts.vendor.is_some() || colon_version {
        if let Some(stripped) = strip_bedrock_version(bare) {
            bare = stripped;
            decorations = decorations.saturating_add(1);
        }
        if hint == Family::Unknown {
            hint = Family::Bedrock;
        }
    }
    if hint == Family::Unknown && bare.contains('@') {
        hint = Family::Vertex;
    }

    // Level 2: date snapshot.
    let (undated, date) = strip_date(bare);
    // Level 3: dots as dashes.
    let dashed = undated.replace('.', "-");
    // Level 4: -latest.
    let unlatest = dashed
        .strip_suffix("-latest")
        .unwrap_or(&dashed)
        .to_string();

    Keys {
        levels: [bare.to_string(), undated.to_string(), dashed, unlatest],
        exact,
        hint,
        decorations,
        date,
    }
}

/// One indexed entry group at one level.
#[derive(Debug, Clone)]
struct Cand {
    group: u32,
    family: Family,
    exact: Box<str>,
    decorations: u8,
    date: u32,
}

/// The normalized-key index of one price source.
#[derive(Debug, Default)]
pub(crate) struct Index {
    levels: [HashMap<String, Vec<Cand>>; 4],
}

impl Index {
    /// Adds a group (one model key and provider of a source).
    pub(crate) fn add(&mut self, group: u32, model: &str, family: Family) {
        let k = keys(model);
        // A key equal to the previous level's still goes in: each level has its own map.
        for (level, key) in k.levels.iter().enumerate() {
            self.levels[level]
                .entry(key.clone())
                .or_default()
                .push(Cand {
                    group,
                    family,
                    exact: k.exact.clone().into_boxed_str(),
                    decorations: k.decorations,
                    date: k.date,
                });
        }
    }

    /// The best group for a query, or `None`. `strict` excludes entries of a different cloud
    /// than the span's (see [`eligible`]).
    pub(crate) fn best(&self, q: &Keys, pref: Family, strict: bool) -> Option<u32> {
        for level in 0..4 {
            let Some(cands) = self.levels[level].get(&q.levels[level]) else {
                continue;
            };
            let best = cands
                .iter()
                .filter(|c| !strict || eligible(pref, c.family))
                .min_by(|a, b| compare(level, pref, q, a, b));
            if let Some(c) = best {
                return Some(c.group);
            }
        }
        None
    }
}

/// Whether an entry of family `fam` may price a span of family `pref` in the strict pass:
/// entries for any provider, first-party entries, the span's own family, and the other Google
/// channel. A span of unknown family may use anything.
fn eligible(pref: Family, fam: Family) -> bool {
    match (pref, fam) {
        (Family::Unknown, _) | (_, Family::Any) | (_, Family::FirstParty) => true,
        (Family::Gemini | Family::Vertex, Family::Gemini | Family::Vertex) => true,
        (p, f) => p == f,
    }
}

/// Rank of an entry family for a span family (lower is better).
fn family_rank(pref: Family, fam: Family) -> u8 {
    let pref = if pref == Family::Unknown {
        Family::FirstParty
    } else {
        pref
    };
    let google = |f| matches!(f, Family::Gemini | Family::Vertex);
    if fam == pref {
        0
    } else if fam == Family::Any {
        1
    } else if fam == Family::FirstParty || (pref == Family::FirstParty && fam == Family::Gemini) {
        2
    } else if google(pref) && google(fam) {
        3
    } else {
        4
    }
}

fn compare(level: usize, pref: Family, q: &Keys, a: &Cand, b: &Cand) -> Ordering {
    let by_family = family_rank(pref, a.family).cmp(&family_rank(pref, b.family));
    let by_level = if level == 0 {
        // exact id first
        (*a.exact != *q.exact).cmp(&(*b.exact != *q.exact))
    } else {
        // undated first, then newest snapshot
        (a.date != 0).cmp(&(b.date != 0)).then(b.date.cmp(&a.date))
    };
    by_family
        .then(by_level)
        .then(a.decorations.cmp(&b.decorations))
        .then(a.exact.cmp(&b.exact))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_ids() {
        let cases: &[(&str, [&str; 4], Family)] = &[
            (
                "claude-sonnet-4-6",
                ["claude-sonnet-4-6"; 4],
                Family::Unknown,
            ),
            (
                "anthropic/claude-sonnet-4-6",
                ["claude-sonnet-4-6"; 4],
                Family::FirstParty,
            ),
            (
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                [
                    "claude-sonnet-4-5-20250929",
                    "claude-sonnet-4-5",
                    "claude-sonnet-4-5",
                    "claude-sonnet-4-5",
                ],
                Family::Bedrock,
            ),
            (
                "bedrock/us-gov-west-1/anthropic.claude-3-haiku-20240307-v1:0",
                [
                    "claude-3-haiku-20240307",
                    "claude-3-haiku",
                    "claude-3-haiku",
                    "claude-3-haiku",
                ],
                Family::Bedrock,
            ),
            (
                "anthropic.claude-opus-4-6-v1",
                ["claude-opus-4-6"; 4],
                Family::Bedrock,
            ),
            (
                "vertex_ai/claude-sonnet-4-5@20250929",
                [
                    "claude-sonnet-4-5@20250929",
                    "claude-sonnet-4-5",
                    "claude-sonnet-4-5",
                    "claude-sonnet-4-5",
                ],
                Family::Vertex,
            ),
            (
                "claude-3-5-sonnet@20240620",
                [
                    "claude-3-5-sonnet@20240620",
                    "claude-3-5-sonnet",
                    "claude-3-5-sonnet",
                    "claude-3-5-sonnet",
                ],
                Family::Vertex,
            ),
            (
                "GPT-4o-2024-08-06",
                ["gpt-4o-2024-08-06", "gpt-4o", "gpt-4o", "gpt-4o"],
                Family::Unknown,
            ),
            (
                "claude-3.5-sonnet-latest",
                [
                    "claude-3.5-sonnet-latest",
                    "claude-3.5-sonnet-latest",
                    "claude-3-5-sonnet-latest",
                    "claude-3-5-sonnet",
                ],
                Family::Unknown,
            ),
            (
                "models/gemini-2.5-pro",
                [
                    "gemini-2.5-pro",
                    "gemini-2.5-pro",
                    "gemini-2-5-pro",
                    "gemini-2-5-pro",
                ],
                Family::Gemini,
            ),
            ("azure/gpt-4o", ["gpt-4o"; 4], Family::Azure),
            ("deepseek-v3", ["deepseek-v3"; 4], Family::Unknown),
        ];
        for (id, levels, hint) in cases {
            let k = keys(id);
            assert_eq!(k.levels, levels.map(String::from), "{id}");
            assert_eq!(k.hint, *hint, "{id}");
        }
        assert_eq!(keys("claude-sonnet-4-5-20250929").date, 20_250_929);
        assert_eq!(keys("gpt-4o-2024-08-06").date, 20_240_806);
    }

    #[test]
    fn provider_families() {
        assert_eq!(Family::of_provider("aws.bedrock"), Family::Bedrock);
        assert_eq!(Family::of_provider("bedrock_converse"), Family::Bedrock);
        assert_eq!(Family::of_provider("gcp.vertex_ai"), Family::Vertex);
        assert_eq!(
            Family::of_provider("vertex_ai-anthropic_models"),
            Family::Vertex
        );
        assert_eq!(Family::of_provider("azure.ai.openai"), Family::Azure);
        assert_eq!(Family::of_provider("gcp.gemini"), Family::Gemini);
        assert_eq!(Family::of_provider("x_ai"), Family::FirstParty);
        assert_eq!(Family::of_provider("groq"), Family::Unknown);
        assert_eq!(Family::of_entry(None), Family::Any);
        assert_eq!(Family::of_entry(Some("groq")), Family::Any);
    }
}
