//! `llmtrace pricing`: import a LiteLLM price file, recompute stored costs through the server,
//! and check the price table for missing, differing or stale prices.

use crate::cli::{CheckArgs, ImportArgs, PricingCommand, RecomputeArgs};
use anyhow::{bail, Context};
use llmtrace_pricing::{import_litellm, to_user_file, to_user_file_as, FileFormat, PriceEntry};
use std::collections::HashMap;

pub(crate) async fn run(server: &str, cmd: PricingCommand) -> anyhow::Result<()> {
    match cmd {
        PricingCommand::Import(a) => import(a),
        PricingCommand::Recompute(a) => recompute(server, a).await,
        PricingCommand::Check(a) => check(server, a).await,
    }
}

fn read_litellm(path: &std::path::Path) -> anyhow::Result<Vec<PriceEntry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    import_litellm(&text).with_context(|| format!("{} is not a LiteLLM price file", path.display()))
}

fn import(a: ImportArgs) -> anyhow::Result<()> {
    let entries = read_litellm(&a.file)?;
    if a.out.exists() && !a.force {
        bail!("{} exists; pass --force to overwrite it", a.out.display());
    }
    let text = match FileFormat::from_path(&a.out.to_string_lossy()) {
        Some(FileFormat::Json) => to_user_file_as(&entries, FileFormat::Json)?,
        _ => to_user_file(&entries),
    };
    std::fs::write(&a.out, text).with_context(|| format!("cannot write {}", a.out.display()))?;
    println!(
        "wrote {} price entries to {}; start the server with `llmtrace serve --prices {}`",
        entries.len(),
        a.out.display(),
        a.out.display()
    );
    Ok(())
}

async fn recompute(server: &str, a: RecomputeArgs) -> anyhow::Result<()> {
    let url = format!("{server}/api/pricing/recompute");
    let mut q: Vec<(&str, String)> = vec![("dry_run", a.dry_run.to_string())];
    q.extend(a.since.map(|v| ("since", v)));
    q.extend(a.model.map(|v| ("model", v)));
    let resp = crate::client::http()
        .post(&url)
        .query(&q)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}; is `llmtrace serve` running?"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.context("answer is not JSON")?;
    if !status.is_success() {
        bail!(
            "{url} answered {status}: {}",
            body["error"].as_str().unwrap_or("")
        );
    }
    let n = |k: &str| body[k].as_u64().unwrap_or(0);
    let s = |k: &str| body[k].as_str().unwrap_or("?").to_string();
    println!(
        "{}examined {} model-call spans, {} changed",
        if a.dry_run { "dry run: " } else { "" },
        n("spans_examined"),
        n("spans_changed")
    );
    println!(
        "total cost  before ${}  after ${}",
        s("total_before_usd"),
        s("total_after_usd")
    );
    println!(
        "unpriced    before {}  after {}",
        n("unpriced_before"),
        n("unpriced_after")
    );
    Ok(())
}

async fn get_json(url: &str) -> anyhow::Result<serde_json::Value> {
    let resp = crate::client::http()
        .get(url)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}; is `llmtrace serve` running?"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.context("answer is not JSON")?;
    if !status.is_success() {
        bail!(
            "{url} answered {status}: {}",
            body["error"].as_str().unwrap_or("")
        );
    }
    Ok(body)
}

/// The rates of an entry as JSON, without its identity and date (for comparison).
fn rates(e: &PriceEntry) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        for k in [
            "id",
            "source",
            "project",
            "effective_from",
            "model",
            "provider",
        ] {
            m.remove(k);
        }
    }
    v
}

async fn check(server: &str, a: CheckArgs) -> anyhow::Result<()> {
    let mut problems = 0usize;
    let unpriced = get_json(&format!("{server}/api/prices/unpriced")).await?;
    let models = unpriced["models"].as_array().cloned().unwrap_or_default();
    if models.is_empty() {
        println!("ok: every model seen in stored spans has a price");
    } else {
        println!("models seen without a price (their cost is unknown, not zero):");
        for m in &models {
            println!(
                "  {:<40} provider {:<16} {} spans, last seen {}",
                m["model"].as_str().unwrap_or(""),
                m["provider"].as_str().unwrap_or("-"),
                m["spans"],
                m["last_seen"].as_str().unwrap_or("")
            );
        }
        problems += models.len();
    }
    let table = get_json(&format!("{server}/api/prices")).await?;
    let entries: Vec<PriceEntry> = serde_json::from_value(table["entries"].clone())
        .context("the server's price table has an unexpected shape")?;
    if let Some(path) = &a.against {
        let reference: HashMap<(String, Option<String>), PriceEntry> = read_litellm(path)?
            .into_iter()
            .map(|e| ((e.model.clone(), e.provider.clone()), e))
            .collect();
        let mut differ = 0;
        for e in &entries {
            if let Some(r) = reference.get(&(e.model.clone(), e.provider.clone())) {
                if rates(e) != rates(r) {
                    if differ == 0 {
                        println!("price entries that differ from {}:", path.display());
                    }
                    differ += 1;
                    println!(
                        "  {}\n    table: {}\n    file:  {}",
                        e.id,
                        rates(e),
                        rates(r)
                    );
                }
            }
        }
        if differ == 0 {
            println!("ok: no entry differs from {}", path.display());
        }
        problems += differ;
    }
    if let Some(days) = a.max_age_days {
        let today = time::OffsetDateTime::now_utc().date();
        let snapshot = time::Date::parse(
            llmtrace_pricing::BUILTIN_SNAPSHOT_DATE,
            time::macros::format_description!("[year]-[month]-[day]"),
        )?;
        let age = (today - snapshot).whole_days();
        if age > days as i64 {
            println!(
                "stale: the built-in price table is from {} ({age} days ago, limit {days}); \
                 run `llmtrace pricing import` on a current LiteLLM file",
                llmtrace_pricing::BUILTIN_SNAPSHOT_DATE
            );
            problems += 1;
        } else {
            println!("ok: built-in price table is {age} days old");
        }
    }
    if problems > 0 {
        bail!("{problems} pricing problem(s) need attention");
    }
    Ok(())
}
