//! The models and prices page: every model seen with its calls, tokens, cost and latency, the
//! models without a price (a clear warning: their cost is unknown, not $0), and the price
//! table in effect with its age. Each model shows the price that applies to it now and since
//! when, in words when the price has no known start date (built-in prices apply from "the
//! start": their effective date is the 1970 epoch, a placeholder never shown).

use crate::format;
use crate::layout::{self, Nav};
use llmtrace_query::{StatsView, UnpricedListView};
use maud::html;

/// The price table in effect, summarized.
#[derive(Debug, Clone, Default)]
pub struct PriceTableSummary {
    /// Entries in effect (built-in, user file, project overrides).
    pub entries: usize,
    /// Entries from the user's price file or project overrides.
    pub user_entries: usize,
    /// Date of the built-in snapshot (`YYYY-MM-DD`).
    pub builtin_snapshot: String,
    /// Its age in days, when known.
    pub builtin_age_days: Option<i64>,
    /// The price in effect now for each model seen (models without one are left out).
    pub model_prices: Vec<ModelPrice>,
}

/// The price in effect for one model seen.
#[derive(Debug, Clone, Default)]
pub struct ModelPrice {
    /// The model, as the statistics group it.
    pub model: String,
    /// Where the price comes from: `builtin`, `user` (the price file) or `project` (the
    /// project's overrides).
    pub source: String,
    /// The first day it applies (`YYYY-MM-DD`); `None`, empty or `1970-01-01` when its source
    /// gives no start date (built-in prices), shown as "since the start".
    pub effective_from: Option<String>,
    /// USD per million input tokens, exact (`"3"`, `"0.075"`).
    pub input_per_million: Option<String>,
    /// USD per million output tokens, exact.
    pub output_per_million: Option<String>,
}

/// When a price starts, in words: `since 2025-06-01`, or for a price without a known start
/// date (none, empty, or the 1970-01-01 placeholder) `since the start`.
pub(crate) fn since_words(effective_from: Option<&str>) -> String {
    match effective_from.map(str::trim) {
        Some(d) if !d.is_empty() && !d.starts_with("1970-01-01") => format!("since {d}"),
        _ => "since the start".into(),
    }
}

/// Where a price comes from, in words.
fn source_words(source: &str) -> &str {
    match source {
        "builtin" => "built-in",
        "user" => "your price file",
        "project" => "project override",
        other => other,
    }
}

/// The price of `model`, in words, with its source and start.
fn price_cell(prices: &[ModelPrice], model: Option<&str>) -> maud::Markup {
    let p = model.and_then(|m| prices.iter().find(|p| p.model == m));
    let rate = |v: &Option<String>| {
        v.as_deref()
            .map_or_else(|| "–".to_string(), |v| format!("${v}"))
    };
    html! {
        @match p {
            None => { span.badge.warn title="No price applies: the cost of its calls is unknown" { "no price" } }
            Some(p) => {
                (rate(&p.input_per_million)) " in · " (rate(&p.output_per_million)) " out per 1M tokens"
                br;
                span.dim title=(if since_words(p.effective_from.as_deref()) == "since the start" { "No known start date: this price applies to calls of any time" } else { "The first day this price applies (UTC)" }) {
                    (source_words(&p.source)) ", " (since_words(p.effective_from.as_deref()))
                }
            }
        }
    }
}

/// The built-in prices count as stale past this age.
pub const STALE_AFTER_DAYS: i64 = 90;

/// The models page.
pub fn models_page(
    stats: Result<&StatsView, &str>,
    unpriced: Result<&UnpricedListView, &str>,
    prices: &PriceTableSummary,
) -> String {
    let stale = prices
        .builtin_age_days
        .is_some_and(|d| d > STALE_AFTER_DAYS);
    let body = html! {
        h1 { "Models and prices" }
        @match unpriced {
            Ok(u) if !u.models.is_empty() => {
                section.unpriced aria-label="Models without a price" {
                    p.warn role="alert" #unpriced-warning {
                        strong { (u.models.len()) " model" @if u.models.len() > 1 { "s" } " without a price." }
                        " Their calls have no cost (unknown, not $0), so trace and model costs are lower bounds. "
                        "Add them to a price file (" code { "--prices" } ", see docs/pricing.md) and run "
                        code { "llmtrace pricing recompute" } "."
                    }
                    table.traces {
                        thead { tr { th scope="col" { "Model" } th scope="col" { "Provider" } th scope="col" { "Spans" } th scope="col" { "Last seen" } } }
                        tbody { @for m in &u.models {
                            tr { td { (m.model) } td { (m.provider.as_deref().unwrap_or("")) } td.num { (format::count(m.spans)) } td { (format::when(&m.last_seen)) } }
                        } }
                    }
                }
            }
            Ok(_) => {}
            Err(m) => { p.error role="alert" { (m) } }
        }
        section aria-label="Models seen" {
            h2 { "Models seen" }
            @match stats {
                Err(m) => { p.error role="alert" { (m) } }
                Ok(s) if s.groups.is_empty() => { p { "No model calls yet." } }
                Ok(s) => {
                    div.scroll { table.traces #models {
                        thead { tr {
                            th scope="col" { "Model" } th scope="col" { "Calls" } th scope="col" { "Errors" }
                            th scope="col" { "Input" } th scope="col" { "Output" } th scope="col" { "Cache read" }
                            th scope="col" { "Cost" } th scope="col" { "p50" } th scope="col" { "p95" } th scope="col" { "p99" }
                            th scope="col" { "Price in effect" }
                        } }
                        tbody { @for g in &s.groups {
                            tr.failed[g.errors > 0] {
                                td.name { a href={ "/?model=" (crate::traces::url_encode(g.key.as_deref().unwrap_or(""))) } { (g.key.as_deref().unwrap_or("(none)")) } }
                                td.num { (format::count(g.calls)) }
                                td.num { (format::count(g.errors)) @if g.errors > 0 { " (" (format::share(g.errors, g.calls)) ")" } }
                                td.num { (format::count(g.input_tokens)) }
                                td.num { (format::count(g.output_tokens)) }
                                td.num { (format::count(g.cache_read_tokens)) }
                                td.num { (format::cost(g.cost_usd, g.unpriced_calls)) }
                                td.num { (format::duration_ms(g.p50_ms)) }
                                td.num { (format::duration_ms(g.p95_ms)) }
                                td.num { (format::duration_ms(g.p99_ms)) }
                                td.name { (price_cell(&prices.model_prices, g.key.as_deref())) }
                            }
                        } }
                    } }
                }
            }
        }
        section aria-label="Price table" {
            h2 { "Price table" }
            dl.totals #price-table {
                div { dt { "Entries in effect" } dd { (format::count(prices.entries as u64)) } }
                div { dt { "From your price file" } dd { (format::count(prices.user_entries as u64)) } }
                div { dt { "Built-in snapshot" } dd class=[stale.then_some("warn")] {
                    (prices.builtin_snapshot)
                    @if let Some(d) = prices.builtin_age_days { " (" (d) " days old)" }
                } }
            }
            @if stale {
                p.warn role="alert" #stale-warning { "The built-in prices are more than " (STALE_AFTER_DAYS) " days old: providers change prices. Check with "
                    code { "llmtrace pricing check --against model_prices.json" } " and import a newer LiteLLM file with " code { "llmtrace pricing import" } "." }
            }
            p.dim { "Every entry, with its rates and effective dates: " a href="/api/prices" { "/api/prices" } "." }
        }
    };
    layout::page("Models and prices", Nav::Models, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_builtin_prices_are_flagged() {
        let empty_stats = StatsView {
            group_by: "model".into(),
            since: None,
            until: None,
            bucket_seconds: None,
            groups: vec![],
            scores: vec![],
        };
        let none = UnpricedListView { models: vec![] };
        let mut prices = PriceTableSummary {
            entries: 10,
            user_entries: 0,
            builtin_snapshot: "2026-01-01".into(),
            builtin_age_days: Some(STALE_AFTER_DAYS + 1),
            model_prices: vec![],
        };
        let page = models_page(Ok(&empty_stats), Ok(&none), &prices);
        assert!(page.contains("stale-warning"), "{page}");
        assert!(!page.contains("unpriced-warning"));
        prices.builtin_age_days = Some(3);
        let page = models_page(Ok(&empty_stats), Ok(&none), &prices);
        assert!(!page.contains("stale-warning"), "{page}");
    }

    #[test]
    fn prices_without_a_start_date_read_since_the_start() {
        assert_eq!(since_words(Some("1970-01-01")), "since the start");
        assert_eq!(since_words(Some("")), "since the start");
        assert_eq!(since_words(None), "since the start");
        assert_eq!(since_words(Some("2025-06-01")), "since 2025-06-01");
        let stats: StatsView = serde_json::from_value(serde_json::json!({
            "group_by": "model", "since": null, "until": null,
            "groups": [
                {"key": "gpt-4o", "calls": 3, "errors": 1, "error_rate": 0.3333,
                 "input_tokens": 100, "output_tokens": 10, "cache_read_tokens": 0, "cache_write_tokens": 0,
                 "reasoning_tokens": 0, "cost_usd": 0.5, "unpriced_calls": 0, "p50_ms": 10.0, "p95_ms": 20.0, "p99_ms": 30.0},
                {"key": "mine", "calls": 1, "errors": 0, "error_rate": 0.0,
                 "input_tokens": 1, "output_tokens": 1, "cache_read_tokens": 0, "cache_write_tokens": 0,
                 "reasoning_tokens": 0, "cost_usd": 0.1, "unpriced_calls": 0, "p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0}
            ]
        }))
        .unwrap();
        let prices = PriceTableSummary {
            builtin_snapshot: "2026-01-01".into(),
            model_prices: vec![
                ModelPrice {
                    model: "gpt-4o".into(),
                    source: "builtin".into(),
                    effective_from: Some("1970-01-01".into()),
                    input_per_million: Some("2.5".into()),
                    output_per_million: Some("10".into()),
                },
                ModelPrice {
                    model: "mine".into(),
                    source: "user".into(),
                    effective_from: Some("2025-06-01".into()),
                    input_per_million: Some("1".into()),
                    output_per_million: None,
                },
            ],
            ..Default::default()
        };
        let none = UnpricedListView { models: vec![] };
        let page = models_page(Ok(&stats), Ok(&none), &prices);
        assert!(!page.contains("1970"), "{page}");
        assert!(page.contains("built-in, since the start"), "{page}");
        assert!(page.contains("your price file, since 2025-06-01"), "{page}");
        assert!(page.contains("$2.5 in · $10 out per 1M tokens"), "{page}");
        // The shared percent format: 1 of 3 calls failed.
        assert!(page.contains("1 (33%)"), "{page}");
    }
}
