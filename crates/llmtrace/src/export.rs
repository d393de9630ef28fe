//! `llmtrace export` and `llmtrace import`: traces out of a store in pages, and back into a
//! running server through its OTLP endpoint (so they are normalized, priced and deduplicated
//! like any export).

use crate::cli::{ExportArgs, TracesImportArgs};
use anyhow::{bail, Context};
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Traces read per page.
const PAGE: usize = 200;

/// A progress line on stderr at most every two seconds: traces and spans so far, the rate, and
/// the time left when the total is known.
struct Progress {
    what: &'static str,
    started: Instant,
    last: Instant,
    traces: u64,
    spans: u64,
    /// What is done and what the whole is, in one unit (spans for an export, bytes of the file
    /// for an import), when known.
    done: u64,
    whole: Option<u64>,
}

impl Progress {
    fn new(what: &'static str, whole: Option<u64>) -> Self {
        let now = Instant::now();
        Progress {
            what,
            started: now,
            last: now,
            traces: 0,
            spans: 0,
            done: 0,
            whole,
        }
    }

    /// Counts `traces` and `spans` more, of which `done` units of the whole.
    fn add(&mut self, traces: u64, spans: u64, done: u64) {
        self.traces = self.traces.saturating_add(traces);
        self.spans = self.spans.saturating_add(spans);
        self.done = self.done.saturating_add(done);
        if self.last.elapsed() >= Duration::from_secs(2) {
            self.last = Instant::now();
            self.print(false);
        }
    }

    /// Seconds left at the rate so far, when the whole is known and some of it is done.
    fn eta_secs(&self) -> Option<f64> {
        let whole = self.whole?;
        if self.done == 0 {
            return None;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let left = whole.saturating_sub(self.done) as f64;
        Some(elapsed * left / self.done as f64)
    }

    fn print(&self, last: bool) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let eta = match (last, self.eta_secs()) {
            (false, Some(eta)) => format!(", ETA {}", human_secs(eta)),
            _ => String::new(),
        };
        eprintln!(
            "{} {} traces, {} spans ({:.0} spans/s){eta}",
            self.what,
            self.traces,
            self.spans,
            self.spans as f64 / secs
        );
    }
}

/// `42s`, `3m05s`, `2h07m`.
fn human_secs(secs: f64) -> String {
    let s = secs.round().clamp(0.0, 1e9) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// Streams the traces of a project out, page by page.
pub(crate) async fn export(a: ExportArgs) -> anyhow::Result<()> {
    let otlp = match a.format.as_str() {
        "jsonl" => false,
        "otlp" => true,
        other => bail!("unknown format {other:?}: use jsonl or otlp"),
    };
    let store = Arc::new(
        llmtrace_store_sqlite::SqliteStore::open_dir(&a.data_dir)
            .with_context(|| format!("cannot open the store in {}", a.data_dir.display()))?,
    );
    let query = llmtrace_query::Query::new(store.clone());
    let mut out: Box<dyn Write> = match &a.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let params_of = |cursor| llmtrace_query::TraceListParams {
        since: a.since.clone(),
        until: a.until.clone(),
        service: a.service.clone(),
        limit: Some(PAGE),
        cursor,
        ..Default::default()
    };
    let (_, total_spans) = store
        .count_traces(
            &params_of(None)
                .to_query(&a.project)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut progress = Progress::new("exported", Some(total_spans));
    let mut cursor = None;
    loop {
        let params = params_of(cursor.take());
        let page = query
            .list_traces(&a.project, &params)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for t in &page.traces {
            let spans = if otlp {
                let id = llmtrace_model::TraceId::from_hex(&t.trace_id)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let Some(detail) = llmtrace_store::TraceReader::get_trace(&*store, &a.project, id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                else {
                    continue; // deleted meanwhile (retention)
                };
                let spans: Vec<llmtrace_model::Span> =
                    detail.spans.into_iter().map(|s| s.span).collect();
                let req = llmtrace_otlp::request_from_spans(&spans);
                serde_json::to_writer(&mut out, &req)?;
                spans.len()
            } else {
                let view = match query.get_trace(&a.project, &t.trace_id).await {
                    Ok(v) => v,
                    Err(llmtrace_query::QueryError::NotFound(_)) => continue,
                    Err(e) => bail!("{e}"),
                };
                serde_json::to_writer(&mut out, &view)?;
                view.spans.len()
            };
            out.write_all(b"\n")?;
            let spans = u64::try_from(spans).unwrap_or(u64::MAX);
            progress.add(1, spans, spans);
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.flush()?;
    progress.print(true);
    Ok(())
}

/// Sends each OTLP/JSON line to the server's `/v1/traces`.
pub(crate) async fn import(server: &str, a: TracesImportArgs) -> anyhow::Result<()> {
    let (input, size): (Box<dyn BufRead>, Option<u64>) = if a.file.as_os_str() == "-" {
        (Box::new(std::io::BufReader::new(std::io::stdin())), None)
    } else {
        let file = std::fs::File::open(&a.file)
            .with_context(|| format!("cannot open {}", a.file.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(std::io::BufReader::new(file)), size)
    };
    let http = crate::client::http();
    let url = format!("{}/v1/traces", server.trim_end_matches('/'));
    let mut progress = Progress::new("imported", size);
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let not_otlp = || {
            format!(
                "line {}: not an OTLP/JSON export request (import reads `llmtrace export \
                 --format otlp`)",
                n + 1
            )
        };
        let value: serde_json::Value = serde_json::from_str(&line).with_context(not_otlp)?;
        if value.get("resourceSpans").is_none() && value.get("resource_spans").is_none() {
            bail!(not_otlp());
        }
        let req: llmtrace_otlp::ExportTraceServiceRequest =
            serde_json::from_value(value).with_context(not_otlp)?;
        let spans: usize = req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        // A full or busy server answers 429/503: wait as it says and send again.
        loop {
            let resp = http
                .post(&url)
                .header("content-type", "application/json")
                .body(line.clone())
                .send()
                .await
                .with_context(|| format!("cannot reach {url}; is `llmtrace serve` running?"))?;
            let status = resp.status();
            if status.is_success() {
                break;
            }
            if status.as_u16() == 429 || status.as_u16() == 503 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let body = resp.text().await.unwrap_or_default();
            bail!("line {}: {url} answered {status}: {body}", n + 1);
        }
        let read = u64::try_from(line.len().saturating_add(1)).unwrap_or(u64::MAX);
        progress.add(1, u64::try_from(spans).unwrap_or(u64::MAX), read);
    }
    progress.print(true);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_rate_so_far() {
        let mut p = Progress::new("exported", Some(1000));
        assert_eq!(p.eta_secs(), None, "nothing done yet");
        p.started = Instant::now() - Duration::from_secs(1000);
        p.add(10, 250, 250);
        let eta = p.eta_secs().unwrap();
        // 250 of 1000 in 1000 s: 750 more at 0.25/s is 3000 s (and a few for a slow machine).
        assert!((3000.0..3060.0).contains(&eta), "{eta}");
        assert_eq!(Progress::new("imported", None).eta_secs(), None);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_secs(0.2), "0s");
        assert_eq!(human_secs(42.4), "42s");
        assert_eq!(human_secs(185.0), "3m05s");
        assert_eq!(human_secs(7620.0), "2h07m");
        assert_eq!(human_secs(f64::NAN), "0s");
    }
}
