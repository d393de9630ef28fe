//! `--forward-otlp URL`: every span the store newly accepted is sent on, as OTLP/protobuf, to
//! other OTLP endpoints (a Collector, Jaeger, Tempo, a vendor, another llmtrace), after its
//! commit, so acknowledgements never wait for a target (nor the commit loop for the encoding). Each target has its own bounded queue,
//! retries transient failures with backoff, and counts what it sent and dropped (a full queue,
//! a refusal, retries exhausted): `llmtrace_forward_spans_total{target,outcome}` and the health
//! page. A retried delivery to llmtrace is not forwarded again (only spans the store newly
//! wrote or merged go on).

use llmtrace_metrics::Metrics;
use llmtrace_pipeline::CommitObserver;
use llmtrace_store::{SpanFate, WriteBatch, WriteOutcome};
use prost::Message;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Export requests waiting per target; beyond it new ones are dropped (and counted).
const QUEUE: usize = 1024;
/// Attempts per request before it is dropped.
const ATTEMPTS: u32 = 4;
/// Wait before the first retry (doubling).
const BACKOFF: Duration = Duration::from_millis(250);

/// One encoded export request and the spans it holds.
struct Job {
    body: Vec<u8>,
    spans: u64,
}

struct Target {
    /// The URL as shown in metrics (credentials removed).
    label: String,
    tx: mpsc::Sender<Job>,
}

/// Sends committed spans on to the targets. The commit loop only clones the spans into a
/// bounded queue; a dispatcher task encodes them once and hands the request to every target.
pub(crate) struct Forwarder {
    spans: mpsc::Sender<Vec<llmtrace_model::Span>>,
    labels: Vec<String>,
    metrics: Arc<Metrics>,
}

/// The traces URL of a target: the URL itself when it names `/v1/traces`, else the OTLP base
/// URL with `/v1/traces` appended (as `OTEL_EXPORTER_OTLP_ENDPOINT` works).
fn traces_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    if url.ends_with("/v1/traces") {
        url.to_string()
    } else {
        format!("{url}/v1/traces")
    }
}

/// The URL without user information (safe for labels and logs).
fn label_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            format!("{scheme}://{host}")
        }
        None => url.to_string(),
    }
}

impl Forwarder {
    /// A forwarder to `urls`, each with its worker on the current runtime.
    pub(crate) fn start(urls: &[String], metrics: Arc<Metrics>) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let targets: Vec<Target> = urls
            .iter()
            .map(|u| {
                let url = traces_url(u);
                let label = label_of(&url);
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(deliver(
                    rx,
                    http.clone(),
                    url,
                    label.clone(),
                    metrics.clone(),
                ));
                Target { label, tx }
            })
            .collect();
        let labels = targets.iter().map(|t| t.label.clone()).collect();
        let (spans, rx) = mpsc::channel(QUEUE);
        tokio::spawn(dispatch(rx, targets, metrics.clone()));
        Ok(Arc::new(Forwarder {
            spans,
            labels,
            metrics,
        }))
    }
}

/// Encodes each committed set of spans once and queues it for every target.
async fn dispatch(
    mut rx: mpsc::Receiver<Vec<llmtrace_model::Span>>,
    targets: Vec<Target>,
    metrics: Arc<Metrics>,
) {
    while let Some(spans) = rx.recv().await {
        let n = u64::try_from(spans.len()).unwrap_or(u64::MAX);
        let body = llmtrace_otlp::request_from_spans(&spans).encode_to_vec();
        for t in &targets {
            let job = Job {
                body: body.clone(),
                spans: n,
            };
            if t.tx.try_send(job).is_err() {
                metrics.record_forward(&t.label, 0, n);
            }
        }
    }
}

impl CommitObserver for Forwarder {
    fn committed(&self, batch: &WriteBatch, outcome: &WriteOutcome, _elapsed: Duration) {
        let merged: std::collections::HashMap<usize, &llmtrace_model::Span> =
            outcome.merged_spans.iter().map(|(i, s)| (*i, s)).collect();
        let spans: Vec<llmtrace_model::Span> = batch
            .spans
            .iter()
            .enumerate()
            .zip(&outcome.span_fates)
            .filter(|(_, fate)| **fate != SpanFate::Duplicate)
            .map(|((i, s), _)| merged.get(&i).copied().unwrap_or(s).clone())
            .collect();
        if spans.is_empty() {
            return;
        }
        let n = u64::try_from(spans.len()).unwrap_or(u64::MAX);
        if self.spans.try_send(spans).is_err() {
            for label in &self.labels {
                self.metrics.record_forward(label, 0, n);
            }
        }
    }
}

/// Sends one target's queue, in order.
async fn deliver(
    mut rx: mpsc::Receiver<Job>,
    http: reqwest::Client,
    url: String,
    label: String,
    metrics: Arc<Metrics>,
) {
    while let Some(job) = rx.recv().await {
        let mut backoff = BACKOFF;
        let mut delivered = false;
        for attempt in 1..=ATTEMPTS {
            let sent = http
                .post(&url)
                .header("content-type", "application/x-protobuf")
                .body(job.body.clone())
                .send()
                .await;
            let retryable = match sent {
                Ok(r) if r.status().is_success() => {
                    delivered = true;
                    break;
                }
                Ok(r) => {
                    let s = r.status().as_u16();
                    tracing::debug!(target_url = %label, status = s, attempt, "forwarding refused");
                    matches!(s, 429 | 502 | 503 | 504)
                }
                Err(e) => {
                    tracing::debug!(target_url = %label, error = %e, attempt, "forwarding failed");
                    true
                }
            };
            if !retryable || attempt == ATTEMPTS {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        if delivered {
            metrics.record_forward(&label, job.spans, 0);
        } else {
            tracing::warn!(target_url = %label, spans = job.spans, "forwarding dropped spans");
            metrics.record_forward(&label, 0, job.spans);
        }
    }
}

/// Every observer of each commit, in order: the metrics, the forwarder, the evaluators.
pub(crate) struct Observers(pub(crate) Vec<Arc<dyn CommitObserver>>);

impl CommitObserver for Observers {
    fn committed(&self, batch: &WriteBatch, outcome: &WriteOutcome, elapsed: Duration) {
        for o in &self.0 {
            o.committed(batch, outcome, elapsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_labels() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces/"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            label_of("https://u:p@c:4318/v1/traces"),
            "https://c:4318/v1/traces"
        );
    }
}
