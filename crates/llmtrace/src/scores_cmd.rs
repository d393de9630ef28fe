//! `llmtrace scores config ...`: the score configs of the running server's project (what an
//! annotator may enter for a score name), through `GET/POST /api/score-configs` and
//! `DELETE /api/score-configs/{name}`.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

/// `llmtrace scores ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ScoresCommand {
    /// Score configs: list them, set one (create or replace), or delete one.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `llmtrace scores config ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ConfigCommand {
    /// List the project's score configs.
    List,
    /// Create or replace the config of a score name.
    Set(SetArgs),
    /// Delete the config of a score name.
    Delete(DeleteArgs),
}

/// `llmtrace scores config set`.
#[derive(Args, Debug)]
pub(crate) struct SetArgs {
    /// Score name.
    pub(crate) name: String,
    /// `numeric`, `categorical` or `boolean`.
    #[arg(long = "type")]
    pub(crate) data_type: String,
    /// Smallest allowed value (numeric).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) min: Option<f64>,
    /// Largest allowed value (numeric).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) max: Option<f64>,
    /// Allowed labels, comma-separated (categorical).
    #[arg(long, value_delimiter = ',')]
    pub(crate) categories: Vec<String>,
    /// What the score means, for annotators.
    #[arg(long)]
    pub(crate) description: Option<String>,
}

/// `llmtrace scores config delete`.
#[derive(Args, Debug)]
pub(crate) struct DeleteArgs {
    /// Score name.
    pub(crate) name: String,
}

/// The server's JSON answer, or its error message.
async fn answer(resp: reqwest::Response, url: &str) -> anyhow::Result<serde_json::Value> {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if !status.is_success() {
        let msg = body.get("error").and_then(|e| e.as_str()).unwrap_or(&text);
        bail!("{url} answered {status}: {msg}");
    }
    Ok(body)
}

/// One config as a line: `name  TYPE  range or labels  description`.
fn line(c: &serde_json::Value) -> String {
    let text = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let num = |k: &str| c.get(k).and_then(serde_json::Value::as_f64);
    let allowed = match text("data_type").as_str() {
        "NUMERIC" => format!(
            "{} to {}",
            num("min").map_or("-inf".into(), |x| x.to_string()),
            num("max").map_or("inf".into(), |x| x.to_string())
        ),
        "CATEGORICAL" => c
            .get("categories")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        _ => "true or false".into(),
    };
    format!(
        "{:<24} {:<12} {:<24} {}",
        text("name"),
        text("data_type"),
        allowed,
        text("description")
    )
}

/// Runs a `scores` command against the server at `server`.
pub(crate) async fn run(server: &str, cmd: ScoresCommand) -> anyhow::Result<()> {
    let ScoresCommand::Config(cmd) = cmd;
    let base = format!("{}/api/score-configs", server.trim_end_matches('/'));
    let reach = || format!("cannot reach {base}; is `llmtrace serve` running?");
    match cmd {
        ConfigCommand::List => {
            let resp = crate::client::http()
                .get(&base)
                .send()
                .await
                .with_context(reach)?;
            let body = answer(resp, &base).await?;
            let configs = body
                .get("configs")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default();
            if configs.is_empty() {
                println!("no score configs");
            }
            for c in &configs {
                println!("{}", line(c));
            }
        }
        ConfigCommand::Set(a) => {
            let config = serde_json::json!({
                "name": a.name,
                "data_type": a.data_type.to_ascii_uppercase(),
                "min": a.min,
                "max": a.max,
                "categories": a.categories,
                "description": a.description,
            });
            let resp = crate::client::http()
                .post(&base)
                .json(&config)
                .send()
                .await
                .with_context(reach)?;
            let stored = answer(resp, &base).await?;
            println!("{}", line(&stored));
        }
        ConfigCommand::Delete(a) => {
            let url = format!("{base}/{}", urlencoding_path(&a.name));
            let resp = crate::client::http()
                .delete(&url)
                .send()
                .await
                .with_context(reach)?;
            answer(resp, &url).await?;
            println!("deleted score config {:?}", a.name);
        }
    }
    Ok(())
}

/// A name as one URL path segment (percent-encoded except unreserved characters).
fn urlencoding_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_path_segment() {
        assert_eq!(urlencoding_path("tone"), "tone");
        assert_eq!(urlencoding_path("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn configs_print_their_allowed_values() {
        let c = serde_json::json!({"name": "q", "data_type": "NUMERIC", "min": 0.0, "max": 5.0});
        assert!(line(&c).contains("0 to 5"), "{}", line(&c));
        let c = serde_json::json!({"name": "tone", "data_type": "CATEGORICAL",
                                   "categories": ["polite", "rude"]});
        assert!(line(&c).contains("polite, rude"), "{}", line(&c));
    }
}
