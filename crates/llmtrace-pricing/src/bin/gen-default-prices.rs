//! Generates `crates/llmtrace-pricing/data/default_prices.json`, the built-in price table, from
//! LiteLLM's `model_prices_and_context_window.json`.
//!
//! ```text
//! cargo run -p llmtrace-pricing --bin gen-default-prices [-- LITELLM_JSON [OUT_JSON]]
//! ```
//!
//! Defaults: `../shared/data/litellm_model_prices.json` beside the workspace, and the crate's
//! `data/default_prices.json`. The selection and conversion live in
//! [`llmtrace_pricing::generate_default_table`]; a test checks the committed file is its output.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir.join("../../../shared/data/litellm_model_prices.json"));
    let output = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir.join("data/default_prices.json"));
    let text = match std::fs::read_to_string(&input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gen-default-prices: cannot read {}: {e}", input.display());
            return ExitCode::FAILURE;
        }
    };
    let table = match llmtrace_pricing::generate_default_table(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gen-default-prices: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&output, &table) {
        eprintln!("gen-default-prices: cannot write {}: {e}", output.display());
        return ExitCode::FAILURE;
    }
    let entries = table
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"model\""))
        .count();
    println!(
        "gen-default-prices: wrote {entries} entries ({} bytes) to {}",
        table.len(),
        output.display()
    );
    ExitCode::SUCCESS
}
