//! `llmtrace demo`: realistic synthetic traffic sent over real OTLP/HTTP protobuf, so a
//! newcomer sees data within a minute.

use crate::cli::DemoArgs;
use anyhow::{bail, Context};
use prost::Message;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) async fn run(server: &str, a: DemoArgs) -> anyhow::Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("system clock before 1970")?;
    let seed = a.seed.unwrap_or(now.as_nanos() as u64);
    let mut rng = llmtrace_synth::SynthConfig::new("demo", seed).rng();
    let requests =
        llmtrace_synth::demo_requests(&mut rng, a.traces, now.as_nanos() as u64, a.spread_secs);
    let url = format!("{server}/v1/traces");
    let client = crate::client::http();
    let mut spans = 0usize;
    for req in &requests {
        let n: usize = req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        let resp = client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(req.encode_to_vec())
            .send()
            .await
            .with_context(|| {
                format!("cannot reach {url}; start the server with `llmtrace serve`")
            })?;
        if !resp.status().is_success() {
            bail!("{url} answered {}", resp.status());
        }
        spans += n;
    }
    println!(
        "sent {} traces ({spans} spans) to {url}; now try `llmtrace traces` or `llmtrace stats --by model`",
        a.traces
    );
    Ok(())
}
