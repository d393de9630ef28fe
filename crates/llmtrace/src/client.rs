//! The query commands: call the server's JSON API and print tables or trees.

use crate::cli::{StatsArgs, TraceArgs, TracesArgs};
use anyhow::{bail, Context};
use llmtrace_query::{SpanView, StatsView, TraceDetailView, TraceListView};
use std::collections::HashMap;

static SECRET_KEY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Remembers the `--secret-key` for every request the commands make.
pub(crate) fn set_secret_key(key: Option<String>) {
    let _ = SECRET_KEY.set(key);
}

/// An HTTP client that authenticates with `--secret-key` when given.
pub(crate) fn http() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(Some(key)) = SECRET_KEY.get() {
        if let Ok(v) = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")) {
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap_or_default()
}

async fn get_json(url: &str, query: &[(&str, String)]) -> anyhow::Result<serde_json::Value> {
    let resp = http()
        .get(url)
        .query(query)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}; is `llmtrace serve` running?"))?;
    let status = resp.status();
    let body: serde_json::Value = resp
        .json()
        .await
        .with_context(|| format!("{url} answered {status} with a body that is not JSON"))?;
    if !status.is_success() {
        let msg = body.get("error").and_then(|e| e.as_str()).unwrap_or("");
        bail!("{url} answered {status}: {msg}");
    }
    Ok(body)
}

fn tokens(input: Option<u64>, output: Option<u64>) -> String {
    match (input, output) {
        (None, None) => String::new(),
        (i, o) => format!("{}/{}", i.unwrap_or(0), o.unwrap_or(0)),
    }
}

/// A dollar amount for tables; `+` marks a lower bound (some calls unpriced), `?` unknown.
/// A cost that may be unknown (no call priced: "unknown", never $0) or partial (some calls
/// unpriced: "≥$0.0012 (1 unpriced)").
fn usd(v: Option<f64>, unpriced: u64) -> String {
    match v {
        None => "unknown".into(),
        Some(v) if unpriced > 0 => format!("≥${v:.4} ({unpriced} unpriced)"),
        Some(v) => format!("${v:.4}"),
    }
}

fn duration(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        format!("{ms:.1}ms")
    }
}

/// `llmtrace traces`.
pub(crate) async fn traces(server: &str, a: TracesArgs) -> anyhow::Result<()> {
    let mut q: Vec<(&str, String)> = vec![("limit", a.limit.to_string()), ("sort", a.sort)];
    q.extend(a.min_cost.map(|c| ("min_cost", c)));
    let opt = [
        ("service", a.service),
        ("model", a.model),
        ("provider", a.provider),
        ("user_id", a.user),
        ("session_id", a.session),
        ("since", a.since),
        ("until", a.until),
    ];
    q.extend(opt.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    if a.errors {
        q.push(("status", "error".into()));
    }
    if let Some(d) = a.min_duration_ms {
        q.push(("min_duration_ms", d.to_string()));
    }
    let json = get_json(&format!("{server}/api/traces"), &q).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let list: TraceListView = serde_json::from_value(json)?;
    if list.traces.is_empty() {
        println!("No traces yet. Send some with `llmtrace demo`, or point an OpenTelemetry exporter at {server}.");
        return Ok(());
    }
    println!(
        "{:<24} {:<32} {:<22} {:<16} {:>9} {:>5} {:>4} {:>13} {:>10} {:>4} USER",
        "START",
        "TRACE ID",
        "NAME",
        "SERVICE",
        "DURATION",
        "SPANS",
        "LLM",
        "TOKENS IN/OUT",
        "COST",
        "ERR",
    );
    for t in &list.traces {
        println!(
            "{:<24} {:<32} {:<22} {:<16} {:>9} {:>5} {:>4} {:>13} {:>10} {:>4} {}",
            t.start_time.get(..23).unwrap_or(&t.start_time),
            t.trace_id,
            truncate(&t.root_name, 22),
            truncate(&t.service, 16),
            duration(t.duration_ms),
            t.span_count,
            t.llm_call_count,
            tokens(Some(t.input_tokens), Some(t.output_tokens)),
            usd(t.cost_usd, t.unpriced_span_count),
            t.error_count,
            t.user_id.as_deref().unwrap_or("")
        );
    }
    if let Some(c) = list.next_cursor {
        println!("(more: --json shows next_cursor {c})");
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// `llmtrace trace <id>`.
pub(crate) async fn trace(server: &str, a: TraceArgs) -> anyhow::Result<()> {
    let json = get_json(&format!("{server}/api/traces/{}", a.trace_id), &[]).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let d: TraceDetailView = serde_json::from_value(json)?;
    let t = &d.trace;
    println!(
        "trace {}  {}  {}  spans {}  llm calls {}  tokens {}  cache read {}  cost {}  errors {}",
        t.trace_id,
        t.start_time,
        duration(t.duration_ms),
        t.span_count,
        t.llm_call_count,
        tokens(Some(t.input_tokens), Some(t.output_tokens)),
        t.cache_read_tokens,
        usd(t.cost_usd, t.unpriced_span_count),
        t.error_count
    );
    let ids: std::collections::HashSet<&str> = d.spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<Option<&str>, Vec<&SpanView>> = HashMap::new();
    for s in &d.spans {
        let parent = s.parent_span_id.as_deref().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(s);
    }
    fn print(
        span: &SpanView,
        depth: usize,
        children: &HashMap<Option<&str>, Vec<&SpanView>>,
        orphan: bool,
    ) {
        let model = span
            .response_model
            .as_deref()
            .or(span.request_model.as_deref())
            .unwrap_or("");
        let status = if span.status == "error" {
            format!(
                "  ERROR {}",
                span.error_type.as_deref().unwrap_or(&span.status_message)
            )
        } else {
            String::new()
        };
        println!(
            "{}{} [{}] {}{}{}{}{}{}",
            "  ".repeat(depth),
            span.name,
            span.kind,
            duration(span.duration_ms),
            if model.is_empty() {
                String::new()
            } else {
                format!("  {model}")
            },
            match tokens(span.input_tokens, span.output_tokens) {
                t if t.is_empty() => String::new(),
                t => format!("  tokens {t}"),
            },
            match (span.cost_usd, span.unpriced) {
                (Some(c), _) => format!(
                    "  ${c:.6}{}",
                    if span.cost_source.as_deref() == Some("reported") {
                        " (reported)"
                    } else {
                        ""
                    }
                ),
                (None, true) => "  cost ? (unpriced)".into(),
                (None, false) => String::new(),
            },
            status,
            if orphan {
                "  (parent not received)"
            } else {
                ""
            }
        );
        for c in children
            .get(&Some(span.span_id.as_str()))
            .into_iter()
            .flatten()
        {
            print(c, depth + 1, children, false);
        }
    }
    for root in children.get(&None).into_iter().flatten() {
        print(root, 1, &children, root.parent_span_id.is_some());
    }
    Ok(())
}

/// `llmtrace stats`.
pub(crate) async fn stats(server: &str, a: StatsArgs) -> anyhow::Result<()> {
    let mut q = vec![("group_by", a.by.clone())];
    q.extend(a.since.map(|v| ("since", v)));
    q.extend(a.until.map(|v| ("until", v)));
    let json = get_json(&format!("{server}/api/stats"), &q).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let s: StatsView = serde_json::from_value(json)?;
    println!(
        "{:<28} {:>7} {:>7} {:>7} {:>12} {:>12} {:>10} {:>11} {:>10} {:>10} {:>10}",
        s.group_by.to_uppercase(),
        "CALLS",
        "ERRORS",
        "ERR %",
        "INPUT TOK",
        "OUTPUT TOK",
        "CACHE RD",
        "COST",
        "P50",
        "P95",
        "P99"
    );
    for g in &s.groups {
        println!(
            "{:<28} {:>7} {:>7} {:>6.1}% {:>12} {:>12} {:>10} {:>11} {:>10} {:>10} {:>10}",
            truncate(g.key.as_deref().unwrap_or("(none)"), 28),
            g.calls,
            g.errors,
            g.error_rate * 100.0,
            g.input_tokens,
            g.output_tokens,
            g.cache_read_tokens,
            usd(g.cost_usd, g.unpriced_calls),
            duration(g.p50_ms),
            duration(g.p95_ms),
            duration(g.p99_ms)
        );
    }
    Ok(())
}
