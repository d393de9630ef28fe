//! [`PriceBook`]: the immutable price table in effect — per-project overrides, the user price
//! file and the built-in table — with its match index and a lookup cache.
//!
//! A span is priced from the highest-precedence source that has an entry for its model in
//! effect at the span's start (the newest `effective_from` not after the span's start day, UTC).
//! A source whose entries for the model all start later is skipped for that span, so a user
//! entry dated 2025-06-01 leaves earlier spans to the built-in price. Matching runs twice over
//! the sources: first without entries of another cloud than the span's (see
//! [`crate::matching`]), then with them, so a user's Azure-only price never prices OpenAI calls
//! the built-in table can price.

use crate::matching::{keys, Family, Index, SPAN_FAMILIES};
use crate::user_file::{check_unique, parse_user_file, FileFormat};
use crate::{cost, Day, PriceEntry, PriceSource, PricingError, ServiceTier};
use llmtrace_model::{Money, Span, Usage};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{OnceLock, PoisonError, RwLock};

/// The built-in table, generated from LiteLLM's price file by `gen-default-prices`.
const BUILTIN_JSON: &str = include_str!("../data/default_prices.json");

/// Distinct model strings cached per source chain; past this, lookups are computed uncached.
const MEMO_CAP: usize = 10_000;

/// The built-in entries, parsed once per process.
pub fn builtin_entries() -> Result<&'static [PriceEntry], PricingError> {
    static BUILTIN: OnceLock<Result<Vec<PriceEntry>, String>> = OnceLock::new();
    BUILTIN
        .get_or_init(|| {
            let mut entries =
                parse_user_file(BUILTIN_JSON, FileFormat::Json).map_err(|e| e.to_string())?;
            for e in &mut entries {
                e.source = PriceSource::Builtin;
                e.id = e.make_id();
            }
            Ok(entries)
        })
        .as_deref()
        .map_err(|e| PricingError::Builtin(e.clone()))
}

/// What pricing a span gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceOutcome {
    /// Priced from an entry.
    Priced {
        /// The computed cost.
        cost: Money,
        /// The id of the entry that priced it.
        price_id: String,
        /// That entry's `effective_from` (YYYY-MM-DD).
        effective_from: String,
    },
    /// A model call with usage whose model has no price: the cost is unknown (never zero).
    Unpriced,
    /// Not a model call, or a model call without any usage: there is nothing to price.
    NotApplicable,
}

/// One source's entries, grouped by (model, provider) with dates ascending, and indexed.
struct Source {
    entries: Vec<PriceEntry>,
    groups: Vec<Vec<u32>>,
    index: Index,
}

impl Source {
    fn new(
        kind: PriceSource,
        project: Option<&str>,
        mut entries: Vec<PriceEntry>,
    ) -> Result<Source, PricingError> {
        for e in &mut entries {
            e.source = kind;
            e.project = project.map(str::to_string);
            e.validate()?;
            e.id = e.make_id();
        }
        check_unique(&entries)?;
        let mut index = Index::default();
        let mut groups: Vec<Vec<u32>> = Vec::new();
        let mut by_key: HashMap<(String, Option<String>), u32> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let key = (
                e.model.trim().to_ascii_lowercase(),
                e.provider.as_ref().map(|p| p.trim().to_ascii_lowercase()),
            );
            let g = match by_key.get(&key) {
                Some(&g) => g,
                None => {
                    let g = groups.len() as u32;
                    groups.push(Vec::new());
                    index.add(g, &e.model, Family::of_entry(e.provider.as_deref()));
                    by_key.insert(key, g);
                    g
                }
            };
            groups[g as usize].push(i as u32);
        }
        for g in &mut groups {
            g.sort_by_key(|&i| entries[i as usize].effective_from);
        }
        Ok(Source {
            entries,
            groups,
            index,
        })
    }

    /// The group's entry in effect on `day`.
    fn in_effect(&self, group: u32, day: Day) -> Option<&PriceEntry> {
        self.groups
            .get(group as usize)?
            .iter()
            .rev()
            .map(|&i| &self.entries[i as usize])
            .find(|e| e.effective_from <= day)
    }
}

/// A matched group of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    source: u16,
    group: u32,
}

/// Cached match results: model string → per span family → groups in the order to try.
type Memo = HashMap<Box<str>, [Option<Box<[Hit]>>; SPAN_FAMILIES]>;

/// The sources one span consults, in precedence order, with their lookup cache.
struct Chain {
    sources: Vec<u16>,
    memo: RwLock<Memo>,
}

impl Chain {
    fn new(sources: Vec<u16>) -> Chain {
        Chain {
            sources,
            memo: RwLock::new(HashMap::new()),
        }
    }
}

/// The price table in effect: immutable, `Send + Sync`, cheap to share in an `Arc`.
///
/// Lookups are memoized per model string (hits and misses), so pricing a span of a model seen
/// before is a hash lookup under an uncontended read lock plus the cost arithmetic.
pub struct PriceBook {
    /// In precedence order: projects (by name), user, built-in.
    sources: Vec<Source>,
    /// User and built-in sources.
    default_chain: Chain,
    /// Per project with overrides: its overrides, then the default chain's sources.
    projects: HashMap<String, Chain>,
}

impl fmt::Debug for PriceBook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PriceBook")
            .field(
                "entries",
                &self.sources.iter().map(|s| s.entries.len()).sum::<usize>(),
            )
            .field("projects", &self.projects.len())
            .finish()
    }
}

impl PriceBook {
    /// The built-in table only.
    pub fn builtin() -> Result<Self, PricingError> {
        PriceBook::builder().builtin().build()
    }

    /// Starts a book from sources: `.builtin()`, `.user_file(text, format)`,
    /// `.project_override(project, entries)`, then `.build()`.
    pub fn builder() -> PriceBookBuilder {
        PriceBookBuilder::default()
    }

    /// Prices one span: pure, no side effects beyond the lookup cache.
    ///
    /// Not a model call ([`llmtrace_model::SpanKind::is_model_call`]), no usage at all, or a
    /// failed call whose counts are all zero ⇒ [`PriceOutcome::NotApplicable`]. Otherwise the response model, then the request model, is
    /// matched (see [`crate::matching`]) against the span's project's sources at its start time;
    /// no match ⇒ [`PriceOutcome::Unpriced`]. The service tier comes from
    /// `gen_ai.service_tier`.
    pub fn price_span(&self, span: &Span) -> PriceOutcome {
        if !span.kind.is_model_call() || !has_usage(&span.usage) || failed_without_usage(span) {
            return PriceOutcome::NotApplicable;
        }
        let chain = self.chain(&span.project);
        let family = Family::of_span(
            span.gen_ai
                .provider
                .as_deref()
                .or(span.gen_ai.provider_raw.as_deref()),
        );
        let day = Day::from_unix_nanos(span.start_unix_nano);
        let entry = [
            span.gen_ai.response_model.as_deref(),
            span.gen_ai.request_model.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find_map(|model| self.find(chain, family, model, day));
        match entry {
            Some(e) => PriceOutcome::Priced {
                cost: cost::compute_cost(
                    e,
                    &span.usage,
                    ServiceTier::from_span_value(span.gen_ai.service_tier.as_deref()),
                ),
                price_id: e.id.clone(),
                effective_from: e.effective_from.to_string(),
            },
            None => PriceOutcome::Unpriced,
        }
    }

    /// Every entry of the table in effect, in precedence order: project overrides (by project
    /// name), the user file, the built-in table.
    pub fn entries(&self) -> impl Iterator<Item = &PriceEntry> {
        self.sources.iter().flat_map(|s| s.entries.iter())
    }

    /// The entries that can price a span of `project`, in precedence order: its own overrides,
    /// the user file, the built-in table (never another project's overrides).
    pub fn entries_for<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a PriceEntry> {
        self.entries()
            .filter(move |e| e.project.as_deref().is_none_or(|p| p == project))
    }

    /// The entry that prices `model` for a span of `provider` (OTel or LiteLLM provider name)
    /// starting at `at_unix_nano`, from the user and built-in sources.
    pub fn lookup(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<&PriceEntry> {
        self.find(
            &self.default_chain,
            Family::of_span(provider),
            model,
            Day::from_unix_nanos(at_unix_nano),
        )
    }

    /// Like [`PriceBook::lookup`], with the project's overrides first.
    pub fn lookup_for_project(
        &self,
        project: &str,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<&PriceEntry> {
        self.find(
            self.chain(project),
            Family::of_span(provider),
            model,
            Day::from_unix_nanos(at_unix_nano),
        )
    }

    fn chain(&self, project: &str) -> &Chain {
        if self.projects.is_empty() {
            return &self.default_chain;
        }
        self.projects.get(project).unwrap_or(&self.default_chain)
    }

    fn find(&self, chain: &Chain, family: Family, model: &str, day: Day) -> Option<&PriceEntry> {
        if model.trim().is_empty() {
            return None;
        }
        let slot = (family as usize).min(SPAN_FAMILIES - 1);
        {
            let memo = chain.memo.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(Some(hits)) = memo.get(model).map(|slots| &slots[slot]) {
                return self.first_in_effect(hits, day);
            }
        }
        let hits = self.match_model(chain, family, model);
        let found = self.first_in_effect(&hits, day);
        let mut memo = chain.memo.write().unwrap_or_else(PoisonError::into_inner);
        if memo.len() < MEMO_CAP || memo.contains_key(model) {
            memo.entry(model.into()).or_default()[slot] = Some(hits.into_boxed_slice());
        }
        found
    }

    /// The groups that match, in the order to try: the best of each source without other
    /// clouds' entries, then the best of each source with them.
    fn match_model(&self, chain: &Chain, span_family: Family, model: &str) -> Vec<Hit> {
        let q = keys(model);
        let pref = match q.hint {
            Family::Bedrock | Family::Vertex | Family::Azure | Family::Gemini => q.hint,
            _ if span_family != Family::Unknown => span_family,
            _ => q.hint,
        };
        let mut hits = Vec::new();
        for strict in [true, false] {
            for &source in &chain.sources {
                if let Some(group) = self.sources[source as usize].index.best(&q, pref, strict) {
                    let hit = Hit { source, group };
                    if !hits.contains(&hit) {
                        hits.push(hit);
                    }
                }
            }
        }
        hits
    }

    fn first_in_effect(&self, hits: &[Hit], day: Day) -> Option<&PriceEntry> {
        hits.iter()
            .find_map(|h| self.sources[h.source as usize].in_effect(h.group, day))
    }
}

/// Whether any usage count is present.
/// A failed call whose counts are all zero: the provider billed nothing, and there is nothing to
/// price (it must not raise the unpriced-model alarm).
fn failed_without_usage(span: &Span) -> bool {
    let u = &span.usage;
    span.is_error()
        && [
            u.input,
            u.output,
            u.cache_read,
            u.cache_write,
            u.cache_write_1h,
            u.reasoning,
        ]
        .iter()
        .all(|v| v.unwrap_or(0) == 0)
}

fn has_usage(u: &Usage) -> bool {
    u.input.is_some()
        || u.output.is_some()
        || u.cache_read.is_some()
        || u.cache_write.is_some()
        || u.cache_write_1h.is_some()
        || u.reasoning.is_some()
}

/// Builds a [`PriceBook`] from its sources. Parse errors surface from [`PriceBookBuilder::build`].
#[derive(Default)]
pub struct PriceBookBuilder {
    builtin: bool,
    user: Vec<PriceEntry>,
    projects: BTreeMap<String, Vec<PriceEntry>>,
    error: Option<PricingError>,
}

impl fmt::Debug for PriceBookBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PriceBookBuilder")
            .field("builtin", &self.builtin)
            .field("user", &self.user.len())
            .field("projects", &self.projects.len())
            .finish()
    }
}

impl PriceBookBuilder {
    /// Includes the built-in table (lowest precedence).
    pub fn builtin(mut self) -> Self {
        self.builtin = true;
        self
    }

    /// Adds a user price file's entries (see [`crate::parse_user_file`]); may be called more
    /// than once, the entries of all calls forming one source. Entries with a `project` become
    /// that project's overrides.
    pub fn user_file(mut self, text: &str, format: FileFormat) -> Self {
        match parse_user_file(text, format) {
            Ok(entries) => {
                for e in entries {
                    match e.project.clone() {
                        Some(project) => self.projects.entry(project).or_default().push(e),
                        None => self.user.push(e),
                    }
                }
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Adds already-parsed entries to the user source.
    pub fn user_entries(mut self, entries: Vec<PriceEntry>) -> Self {
        self.user.extend(entries);
        self
    }

    /// Adds overrides for one project (highest precedence for that project's spans).
    pub fn project_override(
        mut self,
        project: impl Into<String>,
        entries: Vec<PriceEntry>,
    ) -> Self {
        self.projects
            .entry(project.into())
            .or_default()
            .extend(entries);
        self
    }

    /// Validates every entry, assigns ids, and builds the index.
    pub fn build(self) -> Result<PriceBook, PricingError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut sources = Vec::new();
        let mut project_sources = Vec::new();
        for (project, entries) in self.projects {
            project_sources.push((project.clone(), sources.len() as u16));
            sources.push(Source::new(PriceSource::Project, Some(&project), entries)?);
        }
        let mut default_sources = Vec::new();
        if !self.user.is_empty() {
            default_sources.push(sources.len() as u16);
            sources.push(Source::new(PriceSource::User, None, self.user)?);
        }
        if self.builtin {
            default_sources.push(sources.len() as u16);
            sources.push(Source::new(
                PriceSource::Builtin,
                None,
                builtin_entries()?.to_vec(),
            )?);
        }
        let projects = project_sources
            .into_iter()
            .map(|(project, source)| {
                let mut chain = vec![source];
                chain.extend(&default_sources);
                (project, Chain::new(chain))
            })
            .collect();
        Ok(PriceBook {
            sources,
            default_chain: Chain::new(default_sources),
            projects,
        })
    }
}
