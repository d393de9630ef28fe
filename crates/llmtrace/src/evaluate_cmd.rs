//! `llmtrace evaluate`: runs a configured evaluator of the running server over the traces of
//! a past time range (`POST /api/evaluators/{name}/run`), or with `--dry-run` prints how many
//! spans it would evaluate and what its judge calls would cost.

use anyhow::{bail, Context};
use clap::Args;

#[derive(Args, Debug)]
pub(crate) struct EvaluateArgs {
    /// The evaluator: its `name` in the server's config file.
    #[arg(long)]
    pub(crate) evaluator: String,
    /// Start of the range (traces started then or later): RFC 3339, or a duration before now
    /// such as 30m, 24h or 7d.
    #[arg(long)]
    pub(crate) since: String,
    /// End of the range (traces started before it), in the same forms [default: now].
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Count the spans and estimate the judge's cost; evaluate nothing, call no provider.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The run endpoint of evaluator `name` on `server` (the name percent-encoded).
fn run_url(server: &str, name: &str) -> anyhow::Result<reqwest::Url> {
    let mut url =
        reqwest::Url::parse(server).with_context(|| format!("--server {server:?} is not a URL"))?;
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("--server {server:?} cannot take a path"))?
        .pop_if_empty()
        .extend(["api", "evaluators", name, "run"]);
    Ok(url)
}

/// `llmtrace evaluate`.
pub(crate) async fn run(server: &str, a: EvaluateArgs) -> anyhow::Result<()> {
    let url = run_url(server, &a.evaluator)?;
    let resp = crate::client::http()
        .post(url.clone())
        .json(&serde_json::json!({"since": a.since, "until": a.until, "dry_run": a.dry_run}))
        .send()
        .await
        .with_context(|| format!("cannot reach {url}; is `llmtrace serve` running?"))?;
    let status = resp.status();
    let body: serde_json::Value = resp
        .json()
        .await
        .with_context(|| format!("{url} answered {status} with a body that is not JSON"))?;
    if !status.is_success() {
        bail!(
            "{url} answered {status}: {}",
            body["error"].as_str().unwrap_or("")
        );
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    }
    let report: llmtrace_evaluators::RunReport =
        serde_json::from_value(body).context("the server's answer has an unexpected shape")?;
    if !a.json {
        print_report(&report);
    }
    if report.spans_failed > 0 {
        bail!(
            "{} evaluation(s) failed; the health page (/health) shows the last error",
            report.spans_failed
        );
    }
    Ok(())
}

fn print_report(r: &llmtrace_evaluators::RunReport) {
    println!(
        "{}evaluator {} over traces started {} to {}: {} traces read, {} spans match",
        if r.dry_run { "dry run: " } else { "" },
        r.evaluator,
        r.since,
        r.until,
        r.traces_examined,
        r.spans_matched
    );
    if r.limit_reached {
        println!(
            "stopped at {} spans (the newest traces first): narrow the range with --since/--until",
            r.spans_matched
        );
    }
    if r.estimated_input_tokens > 0 {
        let cost = match r.estimated_cost_usd {
            Some(c) => format!("${c:.4}"),
            None => "unknown (the judge model has no price)".into(),
        };
        println!(
            "judge calls: {} prompt tokens (estimated), estimated cost {cost}",
            r.estimated_input_tokens
        );
    }
    if r.dry_run {
        println!(
            "{} spans have nothing to evaluate; nothing was evaluated",
            r.spans_skipped
        );
    } else {
        println!(
            "{} scored, {} with nothing to evaluate, {} failed",
            r.spans_evaluated, r.spans_skipped, r.spans_failed
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_in_the_path() {
        assert_eq!(
            run_url("http://127.0.0.1:4318", "my judge/2")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:4318/api/evaluators/my%20judge%2F2/run"
        );
        assert_eq!(
            run_url("https://x.example/base/", "a").unwrap().as_str(),
            "https://x.example/base/api/evaluators/a/run"
        );
    }
}
