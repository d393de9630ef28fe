//! The built-in evaluator against real HTTP webhook receivers.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::post;
use axum::{Json, Router};
use llmtrace_alerts::evaluator::{DeliveryStatus, Evaluator, BUDGET_ALERT};
use llmtrace_alerts::{AlertConfig, CallSample, TraceTotals, Webhook, WebhookFormat};
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Collects POST bodies by path; answers 503 to the first `fail_first` requests.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<(String, Value)>>>,
    fail_first: Arc<AtomicU32>,
    requests: Arc<AtomicU32>,
}

impl Receiver {
    fn bodies(&self, path: &str) -> Vec<Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Polls (up to `limit`) until `path` got `n` bodies.
    async fn wait_for(&self, path: &str, n: usize, limit: Duration) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let bodies = self.bodies(path);
            if bodies.len() >= n {
                return bodies;
            }
            assert!(
                start.elapsed() < limit,
                "{path}: {} of {n} notifications after {limit:?}",
                bodies.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn receive(State(rx): State<Receiver>, uri: Uri, Json(body): Json<Value>) -> StatusCode {
    rx.requests.fetch_add(1, Ordering::SeqCst);
    if rx
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    rx.bodies
        .lock()
        .unwrap()
        .push((uri.path().to_string(), body));
    StatusCode::OK
}

/// A receiver on 127.0.0.1:0; its base URL.
async fn start_receiver(fail_first: u32) -> (String, Receiver) {
    let rx = Receiver::default();
    rx.fail_first.store(fail_first, Ordering::SeqCst);
    let app = Router::new()
        .route("/{*path}", post(receive))
        .with_state(rx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), rx)
}

fn webhook(url: String, format: WebhookFormat) -> Webhook {
    Webhook { url, format }
}

fn call(model: &str, error: bool) -> CallSample {
    CallSample {
        project: "acme".into(),
        model: model.into(),
        provider: "openai".into(),
        duration_seconds: 0.2,
        error,
        input_tokens: 100,
        output_tokens: 20,
        cache_read_tokens: 0,
        cost_usd: 0.0001,
    }
}

fn trace(id: &str, tokens: u64) -> TraceTotals {
    TraceTotals {
        project: "acme".into(),
        trace_id: id.into(),
        name: Some("research-agent".into()),
        tokens,
        cost_usd: 0.01,
    }
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
const LIMIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_and_generic_receivers_get_firing_then_resolved() {
    let (base, rx) = start_receiver(0).await;
    let e = Evaluator::new(AlertConfig {
        window_seconds: 300,
        for_seconds: 0,
        webhooks: vec![
            webhook(format!("{base}/am"), WebhookFormat::Alertmanager),
            webhook(format!("{base}/generic"), WebhookFormat::Generic),
        ],
        ..AlertConfig::default()
    });
    let notifier = e.spawn_notifier();
    let t0 = Instant::now();
    for i in 0..100 {
        e.record_call_at(&call("gpt-4o", i < 10), t0);
        e.record_call_at(&call("claude", false), t0);
    }
    e.evaluate_at(t0 + Duration::from_secs(1));

    let am = rx.wait_for("/am", 1, LIMIT).await;
    let p = &am[0];
    assert_eq!(p["version"], "4");
    assert_eq!(p["status"], "firing");
    assert_eq!(p["receiver"], "llmtrace");
    assert_eq!(p["groupLabels"]["alertname"], "LLMHighErrorRate");
    assert_eq!(p["groupLabels"]["model"], "gpt-4o");
    assert_eq!(p["commonLabels"]["severity"], "critical");
    let alerts = p["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["status"], "firing");
    assert_eq!(a["labels"]["alertname"], "LLMHighErrorRate");
    assert_eq!(a["labels"]["model"], "gpt-4o");
    assert_eq!(a["labels"]["severity"], "critical");
    assert!(a["annotations"]["summary"]
        .as_str()
        .unwrap()
        .contains("gpt-4o"));
    assert!(a["annotations"]["description"]
        .as_str()
        .unwrap()
        .contains("10.00%"));
    assert!(a["annotations"]["runbook_url"]
        .as_str()
        .unwrap()
        .ends_with("#llmhigherrorrate"));
    assert_eq!(a["endsAt"], ZERO_TIME);
    let starts_at = a["startsAt"].as_str().unwrap().to_string();
    assert!(starts_at.ends_with('Z'), "{starts_at}");
    let fingerprint = a["fingerprint"].as_str().unwrap().to_string();

    let generic = rx.wait_for("/generic", 1, LIMIT).await;
    let g = &generic[0];
    assert_eq!(g["alert"], "LLMHighErrorRate");
    assert_eq!(g["status"], "firing");
    assert_eq!(g["labels"]["model"], "gpt-4o");
    assert_eq!(g["value"], 0.1);
    assert_eq!(g["starts_at"], starts_at.as_str());
    assert!(g["ends_at"].is_null());

    // Traffic back to normal once the errors aged out of the window.
    for _ in 0..100 {
        e.record_call_at(&call("gpt-4o", false), t0 + Duration::from_secs(350));
    }
    e.evaluate_at(t0 + Duration::from_secs(351));
    let am = rx.wait_for("/am", 2, LIMIT).await;
    let p = &am[1];
    assert_eq!(p["status"], "resolved");
    let a = &p["alerts"][0];
    assert_eq!(a["status"], "resolved");
    assert_eq!(a["labels"]["model"], "gpt-4o");
    assert_eq!(a["startsAt"], starts_at.as_str());
    assert_ne!(a["endsAt"], ZERO_TIME);
    assert_eq!(a["fingerprint"], fingerprint.as_str());
    let generic = rx.wait_for("/generic", 2, LIMIT).await;
    assert_eq!(generic[1]["status"], "resolved");
    assert_eq!(generic[1]["value"], 0.0);
    assert!(generic[1]["ends_at"].is_string());
    // Nothing else fired (the healthy model, the other rules).
    assert_eq!(rx.bodies("/am").len(), 2);

    let view = e.snapshot();
    assert_eq!(view.notifications.len(), 2);
    for n in &view.notifications {
        for d in &n.deliveries {
            // The view is updated right after the response; allow for that race.
            assert!(
                matches!(d.status, DeliveryStatus::Ok | DeliveryStatus::Sending),
                "{d:?}"
            );
            assert_eq!(d.attempts, 1);
        }
    }
    notifier.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_until_the_receiver_accepts() {
    let (base, rx) = start_receiver(2).await;
    let e = Evaluator::new(AlertConfig {
        trace_max_tokens: Some(1_000),
        webhooks: vec![webhook(format!("{base}/hook"), WebhookFormat::Generic)],
        ..AlertConfig::default()
    });
    let notifier = e.spawn_notifier();
    e.record_trace(&trace("4bf92f3577b34da6a3ce929d0e0e4736", 5_000));
    let bodies = rx.wait_for("/hook", 1, Duration::from_secs(15)).await;
    assert_eq!(bodies[0]["alert"], BUDGET_ALERT);
    assert_eq!(rx.requests.load(Ordering::SeqCst), 3);
    // The view records the attempts.
    let start = Instant::now();
    loop {
        let view = e.snapshot();
        let d = &view.notifications[0].deliveries[0];
        if d.status == DeliveryStatus::Ok {
            assert_eq!(d.attempts, 3);
            assert!(d.last_error.as_deref().unwrap().contains("503"));
            assert_eq!(view.webhooks[0].delivered, 1);
            break;
        }
        assert!(start.elapsed() < LIMIT, "{d:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    notifier.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_notifies_the_receiver_once_per_trace() {
    let (base, rx) = start_receiver(0).await;
    let e = Evaluator::new(AlertConfig {
        trace_max_tokens: Some(10_000),
        trace_max_cost_usd: Some(5.0),
        eval_interval_seconds: 30,
        webhooks: vec![webhook(format!("{base}/am"), WebhookFormat::Alertmanager)],
        ..AlertConfig::default()
    });
    let task = e.spawn();
    let id = "0af7651916cd43dd8448eb211c80319c";
    e.record_trace(&trace(id, 9_000));
    e.record_trace(&trace(id, 12_000));
    // Delivered right away, not at the next evaluation tick (30 s away).
    let bodies = rx.wait_for("/am", 1, LIMIT).await;
    let p = &bodies[0];
    assert_eq!(p["status"], "firing");
    assert_eq!(p["groupLabels"]["trace_id"], id);
    let a = &p["alerts"][0];
    assert_eq!(a["labels"]["alertname"], BUDGET_ALERT);
    assert_eq!(a["labels"]["project"], "acme");
    assert_eq!(a["labels"]["trace_id"], id);
    assert_eq!(a["labels"]["name"], "research-agent");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(a["annotations"]["tokens"], "12000");
    assert_eq!(a["annotations"]["max_tokens"], "10000");
    assert!(a["annotations"]["description"]
        .as_str()
        .unwrap()
        .contains(id));

    // The same trace growing further is not notified again.
    e.record_trace(&trace(id, 50_000));
    e.record_trace(&TraceTotals {
        cost_usd: 9.0,
        ..trace(id, 60_000)
    });
    // A second trace is.
    let other = "11111111111111111111111111111111";
    e.record_trace(&trace(other, 20_000));
    let bodies = rx.wait_for("/am", 2, LIMIT).await;
    assert_eq!(bodies[1]["alerts"][0]["labels"]["trace_id"], other);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.bodies("/am").len(), 2);
    assert_eq!(e.budget_exceeded_total(), [("acme".to_string(), 2)]);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_never_blocks_when_the_webhook_is_down() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = Evaluator::new(AlertConfig {
        for_seconds: 0,
        trace_max_tokens: Some(0),
        webhooks: vec![webhook(
            format!("http://{addr}/"),
            WebhookFormat::Alertmanager,
        )],
        ..AlertConfig::default()
    });
    let task = e.spawn();

    // The first notification is being retried.
    e.record_trace(&trace("first", 1));
    let start = Instant::now();
    loop {
        let view = e.snapshot();
        let d = &view.notifications[0].deliveries[0];
        if d.attempts >= 2 {
            assert_eq!(d.status, DeliveryStatus::Sending);
            assert!(d.last_error.is_some());
            break;
        }
        assert!(start.elapsed() < LIMIT, "{d:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Meanwhile ingest goes on at full speed.
    let start = Instant::now();
    for i in 0..5_000 {
        e.record_trace(&trace(&format!("{i:032x}"), 1));
        e.record_call(&call("gpt-4o", i % 2 == 0));
        e.record_call(&call("claude", false));
    }
    e.evaluate_now();
    // A generous bound: 15,000 records take milliseconds.
    assert!(start.elapsed() < Duration::from_secs(20));
    let view = e.snapshot();
    assert!(view.webhooks[0].dropped > 0, "{:?}", view.webhooks[0]);
    assert!(view.webhooks[0].queued <= 1024);
    assert_eq!(view.notifications.len(), 100);
    assert_eq!(e.budget_exceeded_total(), [("acme".to_string(), 5_001)]);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_ticker_fires_and_resolves_in_real_time() {
    let (base, rx) = start_receiver(0).await;
    let e = Evaluator::new(AlertConfig {
        window_seconds: 2,
        for_seconds: 0,
        eval_interval_seconds: 1,
        webhooks: vec![webhook(format!("{base}/am"), WebhookFormat::Alertmanager)],
        ..AlertConfig::default()
    });
    let task = e.spawn();
    for _ in 0..20 {
        e.record_call(&CallSample {
            duration_seconds: 30.0,
            ..call("slow-model", false)
        });
    }
    let bodies = rx.wait_for("/am", 1, Duration::from_secs(10)).await;
    assert_eq!(bodies[0]["status"], "firing");
    assert_eq!(
        bodies[0]["alerts"][0]["labels"]["alertname"],
        "LLMHighP99Latency"
    );
    assert_eq!(bodies[0]["alerts"][0]["labels"]["model"], "slow-model");
    assert_eq!(bodies[0]["alerts"][0]["labels"]["severity"], "warning");

    // Fast calls until the slow ones aged out and the alert resolved.
    let start = Instant::now();
    while rx.bodies("/am").len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(15), "not resolved");
        e.record_call(&call("slow-model", false));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bodies = rx.bodies("/am");
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(bodies[1]["alerts"][0]["labels"]["model"], "slow-model");
    let view = e.snapshot();
    let s = view
        .states
        .iter()
        .find(|s| s.rule == "LLMHighP99Latency" && s.model == "slow-model")
        .unwrap();
    assert_eq!(
        serde_json::to_value(s.state).unwrap(),
        serde_json::json!("resolved")
    );
    task.abort();
}
