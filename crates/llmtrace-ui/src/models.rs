//! The models and prices page: every model seen with its calls, tokens, cost and latency, the
//! models without a price (a clear warning: their cost is unknown, not $0), and the price
//! table in effect with its age.

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
                        thead { tr { th scope="col" { "Model" } th scope="col" { "Provider" } th scope="col" { "Spans" } th scope="col" { "Last seen (UTC)" } } }
                        tbody { @for m in &u.models {
                            tr { td { (m.model) } td { (m.provider.as_deref().unwrap_or("")) } td.num { (format::count(m.spans)) } td { (format::time(&m.last_seen)) } }
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
                    table.traces #models {
                        thead { tr {
                            th scope="col" { "Model" } th scope="col" { "Calls" } th scope="col" { "Errors" }
                            th scope="col" { "Input" } th scope="col" { "Output" } th scope="col" { "Cache read" }
                            th scope="col" { "Cost" } th scope="col" { "p50" } th scope="col" { "p95" } th scope="col" { "p99" }
                        } }
                        tbody { @for g in &s.groups {
                            tr.failed[g.errors > 0] {
                                td.name { a href={ "/?model=" (crate::traces::url_encode(g.key.as_deref().unwrap_or(""))) } { (g.key.as_deref().unwrap_or("(none)")) } }
                                td.num { (format::count(g.calls)) }
                                td.num { (format::count(g.errors)) @if g.errors > 0 { " (" (format!("{:.1}", g.error_rate * 100.0)) " %)" } }
                                td.num { (format::count(g.input_tokens)) }
                                td.num { (format::count(g.output_tokens)) }
                                td.num { (format::count(g.cache_read_tokens)) }
                                td.num { (format::cost(g.cost_usd, g.unpriced_calls)) }
                                td.num { (format::duration_ms(g.p50_ms)) }
                                td.num { (format::duration_ms(g.p95_ms)) }
                                td.num { (format::duration_ms(g.p99_ms)) }
                            }
                        } }
                    }
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
        };
        let page = models_page(Ok(&empty_stats), Ok(&none), &prices);
        assert!(page.contains("stale-warning"), "{page}");
        assert!(!page.contains("unpriced-warning"));
        prices.builtin_age_days = Some(3);
        let page = models_page(Ok(&empty_stats), Ok(&none), &prices);
        assert!(!page.contains("stale-warning"), "{page}");
    }
}
