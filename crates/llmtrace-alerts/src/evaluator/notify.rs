//! Notifications: the log of recent ones, a bounded queue per webhook, delivery over HTTP with
//! retries, and the Alertmanager and generic payloads.

use super::{
    lock, rfc3339, DeliveryStatus, DeliveryView, NotificationStatus, NotificationView, WebhookView,
};
use crate::{Webhook, WebhookFormat};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Notifications kept for [`super::Evaluator::snapshot`].
const RECENT: usize = 100;
/// Notifications waiting per webhook; past it the oldest is dropped.
const QUEUE_CAPACITY: usize = 1024;
/// Attempts per notification and webhook.
pub(super) const MAX_ATTEMPTS: u32 = 5;
/// Wait after the first failed attempt; doubles after each further one.
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Timeout of one HTTP attempt (connect, send and response).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// `receiver` of the Alertmanager payload.
const RECEIVER: &str = "llmtrace";
/// Alertmanager's `endsAt` of an alert still firing (Go's zero time).
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One alert transition (or a per-trace budget event) to deliver.
#[derive(Debug, Clone)]
pub(super) struct Notification {
    /// `alertname`.
    pub(super) alert: String,
    /// Firing or resolved.
    pub(super) status: NotificationStatus,
    /// Labels, `alertname` and `severity` included.
    pub(super) labels: BTreeMap<String, String>,
    /// `summary`, `description`, `runbook_url`, ...
    pub(super) annotations: BTreeMap<String, String>,
    /// Label names of the Alertmanager `groupLabels`.
    pub(super) group_by: &'static [&'static str],
    /// The value that crossed (or no longer crosses) the threshold.
    pub(super) value: Option<f64>,
    /// When the condition became true.
    pub(super) starts_at: SystemTime,
    /// When it resolved; `None` while firing.
    pub(super) ends_at: Option<SystemTime>,
}

#[derive(Debug)]
struct Queued {
    id: u64,
    notification: Arc<Notification>,
}

#[derive(Debug, Clone)]
struct Delivery {
    status: DeliveryStatus,
    attempts: u32,
    last_error: Option<String>,
}

#[derive(Debug)]
struct Record {
    id: u64,
    time: SystemTime,
    notification: Arc<Notification>,
    deliveries: Vec<Delivery>,
}

#[derive(Debug, Default)]
struct Log {
    next_id: u64,
    recent: VecDeque<Record>,
}

#[derive(Debug)]
struct WebhookQueue {
    webhook: Webhook,
    queue: Mutex<VecDeque<Queued>>,
    wake: Notify,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// Queues notifications per webhook and delivers them.
#[derive(Debug)]
pub(super) struct Notifier {
    webhooks: Vec<WebhookQueue>,
    log: Mutex<Log>,
}

impl Notifier {
    /// A notifier for `webhooks` (none: notifications are only logged).
    pub(super) fn new(webhooks: &[Webhook]) -> Self {
        Notifier {
            webhooks: webhooks
                .iter()
                .map(|w| WebhookQueue {
                    webhook: w.clone(),
                    queue: Mutex::new(VecDeque::new()),
                    wake: Notify::new(),
                    delivered: AtomicU64::new(0),
                    failed: AtomicU64::new(0),
                    dropped: AtomicU64::new(0),
                })
                .collect(),
            log: Mutex::new(Log::default()),
        }
    }

    /// Logs `n` and queues it on every webhook, dropping the oldest queued notification of a
    /// full queue. Never blocks beyond brief mutexes.
    pub(super) fn enqueue(&self, n: Notification, now: SystemTime) {
        let notification = Arc::new(n);
        let id = {
            let mut log = lock(&self.log);
            let id = log.next_id;
            log.next_id += 1;
            log.recent.push_back(Record {
                id,
                time: now,
                notification: notification.clone(),
                deliveries: vec![
                    Delivery {
                        status: DeliveryStatus::Queued,
                        attempts: 0,
                        last_error: None,
                    };
                    self.webhooks.len()
                ],
            });
            while log.recent.len() > RECENT {
                log.recent.pop_front();
            }
            id
        };
        for (index, wh) in self.webhooks.iter().enumerate() {
            let dropped = {
                let mut queue = lock(&wh.queue);
                let dropped = if queue.len() >= QUEUE_CAPACITY {
                    queue.pop_front()
                } else {
                    None
                };
                queue.push_back(Queued {
                    id,
                    notification: notification.clone(),
                });
                dropped
            };
            wh.wake.notify_one();
            if let Some(old) = dropped {
                wh.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    webhook = %redact_url(&wh.webhook.url),
                    alert = %old.notification.alert,
                    "alert notification queue full; dropped the oldest notification"
                );
                self.update(old.id, index, |d| d.status = DeliveryStatus::Dropped);
            }
        }
    }

    fn update(&self, id: u64, index: usize, f: impl FnOnce(&mut Delivery)) {
        let mut log = lock(&self.log);
        if let Some(d) = log
            .recent
            .iter_mut()
            .rev()
            .find(|r| r.id == id)
            .and_then(|r| r.deliveries.get_mut(index))
        {
            f(d);
        }
    }

    /// Delivers queued notifications until the future is dropped; one worker per webhook, so a
    /// slow receiver delays only itself and each receiver gets notifications in order.
    pub(super) async fn run(self: Arc<Self>) {
        if self.webhooks.is_empty() {
            return;
        }
        // HTTPS with rustls and the system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` honored);
        // a redirect is an answer, not an instruction: a webhook URL is where notifications go.
        let client = match reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the alert webhook HTTP client");
                return;
            }
        };
        let mut workers = JoinSet::new();
        for index in 0..self.webhooks.len() {
            workers.spawn(self.clone().worker(index, client.clone()));
        }
        while workers.join_next().await.is_some() {}
    }

    async fn worker(self: Arc<Self>, index: usize, client: reqwest::Client) {
        let Some(wh) = self.webhooks.get(index) else {
            return;
        };
        loop {
            let next = lock(&wh.queue).pop_front();
            match next {
                Some(queued) => self.deliver(index, wh, &client, queued).await,
                None => wh.wake.notified().await,
            }
        }
    }

    async fn deliver(
        &self,
        index: usize,
        wh: &WebhookQueue,
        client: &reqwest::Client,
        queued: Queued,
    ) {
        let n = &queued.notification;
        let body = match wh.webhook.format {
            WebhookFormat::Alertmanager => alertmanager_payload(n),
            WebhookFormat::Generic => generic_payload(n),
        };
        let url = redact_url(&wh.webhook.url);
        let mut backoff = INITIAL_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            self.update(queued.id, index, |d| {
                d.status = DeliveryStatus::Sending;
                d.attempts = attempt;
            });
            let (retryable, error) = match client.post(&wh.webhook.url).json(&body).send().await {
                Ok(resp) if resp.status().is_success() => {
                    wh.delivered.fetch_add(1, Ordering::Relaxed);
                    self.update(queued.id, index, |d| d.status = DeliveryStatus::Ok);
                    tracing::debug!(webhook = %url, alert = %n.alert, status = n.status.as_str(), attempt, "alert notification delivered");
                    return;
                }
                Ok(resp) => {
                    let status = resp.status();
                    let note = if status.is_redirection() {
                        " (redirects are not followed)"
                    } else {
                        ""
                    };
                    (
                        status.is_server_error() || status.as_u16() == 429,
                        format!("HTTP {status}{note}"),
                    )
                }
                Err(e) => (true, error_chain(e)),
            };
            let last = attempt == MAX_ATTEMPTS || !retryable;
            self.update(queued.id, index, |d| {
                d.last_error = Some(error.clone());
                if last {
                    d.status = DeliveryStatus::Failed;
                }
            });
            if last {
                wh.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(webhook = %url, alert = %n.alert, attempts = attempt, error = %error, "alert notification not delivered");
                return;
            }
            tracing::debug!(webhook = %url, alert = %n.alert, attempt, error = %error, retry_in_ms = backoff.as_millis() as u64, "alert notification failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The recent notifications, newest first.
    pub(super) fn recent(&self) -> Vec<NotificationView> {
        let log = lock(&self.log);
        log.recent
            .iter()
            .rev()
            .map(|r| {
                let n = &r.notification;
                NotificationView {
                    id: r.id,
                    time: rfc3339(r.time),
                    alert: n.alert.clone(),
                    status: n.status,
                    labels: n.labels.clone(),
                    annotations: n.annotations.clone(),
                    value: n.value,
                    starts_at: rfc3339(n.starts_at),
                    ends_at: n.ends_at.map(rfc3339),
                    deliveries: r
                        .deliveries
                        .iter()
                        .zip(self.webhooks.iter())
                        .enumerate()
                        .map(|(i, (d, wh))| DeliveryView {
                            webhook: i,
                            url: redact_url(&wh.webhook.url),
                            status: d.status,
                            attempts: d.attempts,
                            last_error: d.last_error.clone(),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Per-webhook counters.
    pub(super) fn webhooks(&self) -> Vec<WebhookView> {
        self.webhooks
            .iter()
            .enumerate()
            .map(|(i, wh)| WebhookView {
                index: i,
                url: redact_url(&wh.webhook.url),
                format: wh.webhook.format,
                queued: lock(&wh.queue).len(),
                delivered: wh.delivered.load(Ordering::Relaxed),
                failed: wh.failed.load(Ordering::Relaxed),
                dropped: wh.dropped.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// An error with its sources, without the URL (which may hold a token).
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `scheme://host[:port]`, plus `/…` when the URL has a path or query: webhook URLs often
/// carry tokens, and the view is served over the API.
pub(super) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<invalid url>".into();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let tail = if rest[end..].trim_start_matches('/').is_empty() {
        ""
    } else {
        "/…"
    };
    format!("{scheme}://{host}{tail}")
}

/// Alertmanager's webhook payload (version 4) with this one alert.
pub(super) fn alertmanager_payload(n: &Notification) -> Value {
    let group_labels: BTreeMap<&str, &str> = n
        .labels
        .iter()
        .filter(|(k, _)| n.group_by.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    json!({
        "version": "4",
        "groupKey": group_key(&group_labels),
        "truncatedAlerts": 0,
        "status": n.status.as_str(),
        "receiver": RECEIVER,
        "groupLabels": group_labels,
        "commonLabels": n.labels,
        "commonAnnotations": n.annotations,
        "externalURL": "",
        "alerts": [{
            "status": n.status.as_str(),
            "labels": n.labels,
            "annotations": n.annotations,
            "startsAt": rfc3339(n.starts_at),
            "endsAt": n.ends_at.map_or_else(|| ZERO_TIME.to_string(), rfc3339),
            "generatorURL": "",
            "fingerprint": fingerprint(&n.labels),
        }],
    })
}

/// The flat payload of [`WebhookFormat::Generic`].
pub(super) fn generic_payload(n: &Notification) -> Value {
    json!({
        "alert": n.alert,
        "status": n.status.as_str(),
        "labels": n.labels,
        "annotations": n.annotations,
        "value": n.value,
        "starts_at": rfc3339(n.starts_at),
        "ends_at": n.ends_at.map(rfc3339),
    })
}

/// Alertmanager's group key for the root route: `{}:{a="x", b="y"}`.
fn group_key(labels: &BTreeMap<&str, &str>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{}}:{{{}}}", inner.join(", "))
}

/// Prometheus' label-set fingerprint (FNV-1a 64 over sorted names and values, each followed
/// by the 0xff separator), as 16 hex digits like Alertmanager's `fingerprint`.
pub(super) fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (k, v) in labels {
        add(k.as_bytes());
        add(&[0xff]);
        add(v.as_bytes());
        add(&[0xff]);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_paths_and_credentials() {
        assert_eq!(redact_url("http://127.0.0.1:9/"), "http://127.0.0.1:9");
        assert_eq!(redact_url("http://h:1/hooks/T0/B1/xyz"), "http://h:1/…");
        assert_eq!(redact_url("https://u:p@h/x?t=1"), "https://h/…");
        assert_eq!(redact_url("nope"), "<invalid url>");
    }

    #[test]
    fn fingerprint_matches_prometheus() {
        // FNV-1a 64 of the empty set is the offset basis.
        assert_eq!(fingerprint(&BTreeMap::new()), "cbf29ce484222325");
        let labels: BTreeMap<String, String> = [("alertname", "A"), ("model", "m")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let fp = fingerprint(&labels);
        assert_eq!(fp.len(), 16);
        assert_eq!(fp, fingerprint(&labels.clone()));
    }

    #[test]
    fn group_key_quotes_values() {
        let labels: BTreeMap<&str, &str> = [("alertname", "A"), ("model", "m\"x")].into();
        assert_eq!(group_key(&labels), r#"{}:{alertname="A", model="m\"x"}"#);
    }
}
