//! Unit tests of the evaluator with an injected clock.

use super::notify::{alertmanager_payload, generic_payload};
use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn call(model: &str) -> CallSample {
    CallSample {
        project: "default".into(),
        model: model.into(),
        provider: "openai".into(),
        duration_seconds: 0.05,
        error: false,
        input_tokens: 100,
        output_tokens: 50,
        cache_read_tokens: 0,
        cost_usd: 0.0001,
    }
}

fn config() -> AlertConfig {
    AlertConfig {
        window_seconds: 300,
        for_seconds: 60,
        eval_interval_seconds: 1,
        ..AlertConfig::default()
    }
}

/// An evaluator and an instant not before its creation.
fn evaluator(config: AlertConfig) -> (Evaluator, Instant) {
    let e = Evaluator::new(config);
    (e, Instant::now())
}

fn state<'a>(view: &'a AlertsView, rule: &str, model: &str) -> Option<&'a StateView> {
    view.states
        .iter()
        .find(|s| s.rule == rule && s.model == model)
}

fn state_of(e: &Evaluator, rule: &str, model: &str) -> Option<AlertState> {
    state(&e.snapshot(), rule, model).map(|s| s.state)
}

fn notifications(e: &Evaluator, alert: &str) -> Vec<NotificationView> {
    let mut v: Vec<_> = e
        .snapshot()
        .notifications
        .into_iter()
        .filter(|n| n.alert == alert)
        .collect();
    v.reverse(); // oldest first
    v
}

#[test]
fn latency_pending_firing_resolved() {
    let (e, t0) = evaluator(config());
    let rule = "LLMHighP99Latency";
    for _ in 0..100 {
        e.record_call_at(
            &CallSample {
                duration_seconds: 12.0,
                ..call("gpt-4o")
            },
            t0,
        );
    }
    e.evaluate_at(t0 + secs(1));
    let view = e.snapshot();
    let s = state(&view, rule, "gpt-4o").unwrap();
    assert_eq!(s.state, AlertState::Pending);
    // All in (10, 15]: 10 + 5 * 0.99.
    assert!((s.value.unwrap() - 14.95).abs() < 1e-9);
    assert_eq!(s.threshold, 10.0);
    assert!(s.active_at.is_some());
    assert_eq!(s.labels["severity"], "warning");
    assert!(view.evaluated_at.is_some());
    assert!(notifications(&e, rule).is_empty());

    e.evaluate_at(t0 + secs(30));
    assert_eq!(state_of(&e, rule, "gpt-4o"), Some(AlertState::Pending));
    e.evaluate_at(t0 + secs(61));
    assert_eq!(state_of(&e, rule, "gpt-4o"), Some(AlertState::Firing));
    let sent = notifications(&e, rule);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, NotificationStatus::Firing);
    assert_eq!(sent[0].labels["model"], "gpt-4o");
    assert_eq!(sent[0].labels["alertname"], rule);
    assert!(sent[0].annotations["runbook_url"].ends_with("#llmhighp99latency"));
    assert!(sent[0].annotations["description"].contains("14.95 s"));
    assert!(sent[0].ends_at.is_none());

    // Fast calls while the slow ones are still in the window: still firing, no new notification.
    for i in 0..10 {
        for _ in 0..10 {
            e.record_call_at(&call("gpt-4o"), t0 + secs(200 + 10 * i));
        }
    }
    e.evaluate_at(t0 + secs(250));
    assert_eq!(state_of(&e, rule, "gpt-4o"), Some(AlertState::Firing));
    assert_eq!(notifications(&e, rule).len(), 1);

    // The slow calls aged out: resolved.
    e.evaluate_at(t0 + secs(306));
    let view = e.snapshot();
    let s = state(&view, rule, "gpt-4o").unwrap();
    assert_eq!(s.state, AlertState::Resolved);
    assert!(s.value.unwrap() <= 0.1);
    assert!(s.resolved_at.is_some());
    let sent = notifications(&e, rule);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].status, NotificationStatus::Resolved);
    assert!(sent[1].ends_at.is_some());
    assert_eq!(sent[1].starts_at, sent[0].starts_at);
    assert_eq!(sent[1].annotations, sent[0].annotations);

    // Resolved stays visible for a while, then inactive (and gone without traffic).
    e.evaluate_at(t0 + secs(320));
    assert_eq!(state_of(&e, rule, "gpt-4o"), Some(AlertState::Resolved));
    e.evaluate_at(t0 + secs(306 + 15 * 60));
    assert_eq!(state_of(&e, rule, "gpt-4o"), None);
    assert_eq!(notifications(&e, rule).len(), 2);
}

#[test]
fn pending_clears_without_notification() {
    let (e, t0) = evaluator(config());
    let rule = "LLMHighErrorRate";
    for i in 0..10 {
        e.record_call_at(
            &CallSample {
                error: i < 5,
                ..call("m")
            },
            t0,
        );
    }
    e.evaluate_at(t0 + secs(1));
    assert_eq!(state_of(&e, rule, "m"), Some(AlertState::Pending));
    e.evaluate_at(t0 + secs(59));
    assert_eq!(state_of(&e, rule, "m"), Some(AlertState::Pending));
    for _ in 0..1000 {
        e.record_call_at(&call("m"), t0 + secs(59));
    }
    // 5 / 1010 < 1 % before `for` elapsed: back to inactive, never notified.
    e.evaluate_at(t0 + secs(60));
    let view = e.snapshot();
    let s = state(&view, rule, "m").unwrap();
    assert_eq!(s.state, AlertState::Inactive);
    assert!(s.active_at.is_none());
    assert!(notifications(&e, rule).is_empty());
}

#[test]
fn error_rate_fires_at_once_with_zero_for() {
    let (e, t0) = evaluator(AlertConfig {
        for_seconds: 0,
        ..config()
    });
    let rule = "LLMHighErrorRate";
    for i in 0..100 {
        e.record_call_at(
            &CallSample {
                error: i % 20 == 0,
                ..call("bad")
            },
            t0,
        );
        e.record_call_at(&call("good"), t0);
    }
    e.evaluate_at(t0 + secs(1));
    let view = e.snapshot();
    let s = state(&view, rule, "bad").unwrap();
    assert_eq!(s.state, AlertState::Firing);
    assert!((s.value.unwrap() - 0.05).abs() < 1e-9);
    assert_eq!(s.labels["severity"], "critical");
    let good = state(&view, rule, "good").unwrap();
    assert_eq!(good.state, AlertState::Inactive);
    assert_eq!(good.value, Some(0.0));
    let sent = notifications(&e, rule);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].labels["model"], "bad");

    // No calls in the window: resolves.
    e.evaluate_at(t0 + secs(400));
    let view = e.snapshot();
    let s = state(&view, rule, "bad").unwrap();
    assert_eq!(s.state, AlertState::Resolved);
    assert_eq!(s.value, None);
    assert!(state(&view, rule, "good").is_none());
    let sent = notifications(&e, rule);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].status, NotificationStatus::Resolved);
    assert_eq!(sent[1].value, None);
}

#[test]
fn tokens_per_call() {
    let (e, t0) = evaluator(AlertConfig {
        for_seconds: 0,
        ..config()
    });
    let rule = "LLMTokensPerCallHigh";
    for _ in 0..3 {
        e.record_call_at(
            &CallSample {
                input_tokens: 60_000,
                output_tokens: 1_000,
                ..call("big")
            },
            t0,
        );
        e.record_call_at(&call("small"), t0);
    }
    e.evaluate_at(t0 + secs(1));
    let view = e.snapshot();
    let s = state(&view, rule, "big").unwrap();
    assert_eq!(s.state, AlertState::Firing);
    assert_eq!(s.value, Some(61_000.0));
    assert_eq!(s.labels["severity"], "info");
    assert_eq!(
        state(&view, rule, "small").unwrap().state,
        AlertState::Inactive
    );
    assert_eq!(notifications(&e, rule).len(), 1);
}

#[test]
fn cache_ratio_only_for_models_using_the_cache() {
    let (e, t0) = evaluator(AlertConfig {
        for_seconds: 0,
        ..config()
    });
    let rule = "LLMCacheHitRatioLow";
    for _ in 0..10 {
        e.record_call_at(
            &CallSample {
                cache_read_tokens: 50,
                ..call("cached")
            },
            t0,
        );
        e.record_call_at(&call("nocache"), t0);
    }
    e.evaluate_at(t0 + secs(1));
    let view = e.snapshot();
    let s = state(&view, rule, "cached").unwrap();
    assert_eq!(s.state, AlertState::Inactive);
    assert_eq!(s.value, Some(0.5));
    // Never read from the cache: the rule does not apply at all.
    assert!(state(&view, rule, "nocache").is_none());

    // The cache stops hitting: once the hits age out, the ratio is 0.
    for _ in 0..10 {
        e.record_call_at(&call("cached"), t0 + secs(350));
        e.record_call_at(&call("nocache"), t0 + secs(350));
    }
    e.evaluate_at(t0 + secs(351));
    let view = e.snapshot();
    let s = state(&view, rule, "cached").unwrap();
    assert_eq!(s.state, AlertState::Firing);
    assert_eq!(s.value, Some(0.0));
    assert!(state(&view, rule, "nocache").is_none());
    let sent = notifications(&e, rule);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].labels["model"], "cached");
    assert_eq!(sent[0].labels["severity"], "info");

    // A cache-using model without traffic in the window: no condition, resolves.
    e.evaluate_at(t0 + secs(700));
    assert_eq!(state_of(&e, rule, "cached"), Some(AlertState::Resolved));
}

#[test]
fn cost_burn_rate() {
    let (e, t0) = evaluator(AlertConfig {
        for_seconds: 0,
        ..config()
    });
    let rule = "LLMCostBurnRateHigh";
    for i in 0..10 {
        e.record_call_at(
            &CallSample {
                cost_usd: 0.5,
                ..call("pricey")
            },
            t0 + secs(i * 10),
        );
        e.record_call_at(&call("cheap"), t0 + secs(i * 10));
    }
    e.evaluate_at(t0 + secs(100));
    let view = e.snapshot();
    let s = state(&view, rule, "pricey").unwrap();
    assert_eq!(s.state, AlertState::Firing);
    // 5 USD in a 5 minute window: 60 USD/hour.
    assert!((s.value.unwrap() - 60.0).abs() < 1e-9);
    assert_eq!(s.labels["severity"], "warning");
    assert_eq!(
        state(&view, rule, "cheap").unwrap().state,
        AlertState::Inactive
    );
    let sent = notifications(&e, rule);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].annotations["description"].contains("60.00 USD/hour"));
}

#[test]
fn flapping_alert_goes_pending_again_from_resolved() {
    let (e, t0) = evaluator(config());
    let rule = "LLMHighErrorRate";
    let bad = CallSample {
        error: true,
        ..call("m")
    };
    e.record_call_at(&bad, t0);
    e.evaluate_at(t0);
    e.evaluate_at(t0 + secs(60));
    assert_eq!(state_of(&e, rule, "m"), Some(AlertState::Firing));
    e.evaluate_at(t0 + secs(400));
    assert_eq!(state_of(&e, rule, "m"), Some(AlertState::Resolved));
    e.record_call_at(&bad, t0 + secs(410));
    e.evaluate_at(t0 + secs(410));
    assert_eq!(state_of(&e, rule, "m"), Some(AlertState::Pending));
    e.evaluate_at(t0 + secs(470));
    assert_eq!(state_of(&e, rule, "m"), Some(AlertState::Firing));
    let sent = notifications(&e, rule);
    let statuses: Vec<_> = sent.iter().map(|n| n.status).collect();
    assert_eq!(
        statuses,
        [
            NotificationStatus::Firing,
            NotificationStatus::Resolved,
            NotificationStatus::Firing
        ]
    );
}

fn trace(project: &str, id: &str, tokens: u64, cost: f64) -> TraceTotals {
    TraceTotals {
        project: project.into(),
        trace_id: id.into(),
        name: Some("agent-run".into()),
        tokens,
        cost_usd: cost,
    }
}

#[test]
fn budget_notifies_once_per_trace() {
    let (e, _) = evaluator(AlertConfig {
        trace_max_tokens: Some(1_000),
        trace_max_cost_usd: Some(1.0),
        ..config()
    });
    e.record_trace(&trace("p1", "a", 900, 0.5));
    assert!(notifications(&e, BUDGET_ALERT).is_empty());
    e.record_trace(&trace("p1", "a", 1_001, 0.5));
    e.record_trace(&trace("p1", "a", 5_000, 3.0));
    e.record_trace(&trace("p1", "b", 10, 1.5));
    e.record_trace(&trace("p2", "a", 2_000, 0.0));
    let sent = notifications(&e, BUDGET_ALERT);
    assert_eq!(sent.len(), 3);
    let n = &sent[0];
    assert_eq!(n.status, NotificationStatus::Firing);
    assert_eq!(n.labels["alertname"], BUDGET_ALERT);
    assert_eq!(n.labels["project"], "p1");
    assert_eq!(n.labels["trace_id"], "a");
    assert_eq!(n.labels["name"], "agent-run");
    assert_eq!(n.labels["severity"], "critical");
    assert_eq!(n.annotations["tokens"], "1001");
    assert_eq!(n.annotations["max_tokens"], "1000");
    assert!(n.annotations["description"].contains("1001 tokens (budget 1000)"));
    assert!(n.annotations["runbook_url"].ends_with("#llmtracebudgetexceeded"));
    assert_eq!(n.value, Some(1001.0));
    // Over the cost budget only: the value is the cost.
    assert_eq!(sent[1].value, Some(1.5));
    assert_eq!(
        e.budget_exceeded_total(),
        [("p1".to_string(), 2), ("p2".to_string(), 1)]
    );
    let view = e.snapshot();
    assert_eq!(view.budget.remembered_traces, 3);
    assert_eq!(view.budget.exceeded_total[0].traces, 2);
}

#[test]
fn no_budget_no_notification() {
    let (e, _) = evaluator(config());
    e.record_trace(&trace("p", "a", u64::MAX, 1e9));
    assert!(e.snapshot().notifications.is_empty());
    assert!(e.budget_exceeded_total().is_empty());
}

#[test]
fn budget_memory_is_bounded() {
    let (e, _) = evaluator(AlertConfig {
        trace_max_tokens: Some(0),
        ..config()
    });
    for i in 0..(BUDGET_MEMORY + 10) {
        e.record_trace(&trace("p", &format!("{i:032x}"), 1, 0.0));
    }
    let view = e.snapshot();
    assert_eq!(view.budget.remembered_traces, BUDGET_MEMORY);
    assert_eq!(view.notifications.len(), 100);
    assert_eq!(e.budget_exceeded_total()[0].1, (BUDGET_MEMORY + 10) as u64);
}

fn sample(status: NotificationStatus) -> Notification {
    let t = SystemTime::UNIX_EPOCH + secs(1_700_000_000);
    Notification {
        alert: "LLMHighErrorRate".into(),
        status,
        labels: rule_labels(
            Rule::HighErrorRate,
            &super::window::Series {
                project: "default".into(),
                model: "gpt-4o".into(),
            },
        ),
        annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
        group_by: &["alertname", "project", "model"],
        value: Some(0.5),
        starts_at: t,
        ends_at: (status == NotificationStatus::Resolved).then(|| t + secs(60)),
    }
}

#[test]
fn alertmanager_payload_shape() {
    let p = alertmanager_payload(&sample(NotificationStatus::Firing));
    assert_eq!(p["version"], "4");
    assert_eq!(p["status"], "firing");
    assert_eq!(p["receiver"], "llmtrace");
    assert_eq!(p["truncatedAlerts"], 0);
    assert_eq!(
        p["groupKey"],
        r#"{}:{alertname="LLMHighErrorRate", model="gpt-4o", project="default"}"#
    );
    assert_eq!(
        p["groupLabels"],
        serde_json::json!({"alertname": "LLMHighErrorRate", "model": "gpt-4o", "project": "default"})
    );
    assert_eq!(p["commonLabels"]["severity"], "critical");
    assert_eq!(p["commonAnnotations"]["summary"], "s");
    let a = &p["alerts"][0];
    assert_eq!(a["status"], "firing");
    assert_eq!(a["labels"]["alertname"], "LLMHighErrorRate");
    assert_eq!(a["labels"]["model"], "gpt-4o");
    assert_eq!(a["startsAt"], "2023-11-14T22:13:20Z");
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
    assert!(p.get("externalURL").is_some());
    assert!(a.get("generatorURL").is_some());

    let p = alertmanager_payload(&sample(NotificationStatus::Resolved));
    assert_eq!(p["status"], "resolved");
    assert_eq!(p["alerts"][0]["endsAt"], "2023-11-14T22:14:20Z");
}

#[test]
fn generic_payload_shape() {
    let p = generic_payload(&sample(NotificationStatus::Firing));
    assert_eq!(
        p,
        serde_json::json!({
            "alert": "LLMHighErrorRate",
            "status": "firing",
            "labels": {"alertname": "LLMHighErrorRate", "model": "gpt-4o", "project": "default", "severity": "critical"},
            "annotations": {"summary": "s"},
            "value": 0.5,
            "starts_at": "2023-11-14T22:13:20Z",
            "ends_at": null,
        })
    );
    let p = generic_payload(&sample(NotificationStatus::Resolved));
    assert_eq!(p["ends_at"], "2023-11-14T22:14:20Z");
}

#[test]
fn snapshot_json_shape() {
    let (e, t0) = evaluator(AlertConfig {
        for_seconds: 0,
        trace_max_cost_usd: Some(1.0),
        webhooks: vec![crate::Webhook {
            url: "http://127.0.0.1:9/hook/secret".into(),
            format: WebhookFormat::Generic,
        }],
        ..config()
    });
    e.record_call_at(
        &CallSample {
            error: true,
            ..call("gpt-4o")
        },
        t0,
    );
    e.evaluate_at(t0 + secs(1));
    e.record_trace(&trace("p", "t", 0, 2.0));
    let v = serde_json::to_value(e.snapshot()).unwrap();
    assert_eq!(v["eval_interval_seconds"], 1);
    assert!(v["evaluated_at"].is_string());
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 5);
    assert_eq!(rules[0]["name"], "LLMHighP99Latency");
    assert_eq!(rules[0]["threshold"], 10.0);
    assert_eq!(rules[0]["window_seconds"], 300);
    assert_eq!(rules[0]["for_seconds"], 0);
    assert!(rules[0]["description"].is_string());
    let firing = v["states"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == "firing")
        .unwrap();
    assert_eq!(firing["rule"], "LLMHighErrorRate");
    assert_eq!(firing["model"], "gpt-4o");
    assert_eq!(firing["labels"]["model"], "gpt-4o");
    assert_eq!(firing["value"], 1.0);
    for k in ["since", "active_at", "fired_at"] {
        assert!(firing[k].is_string(), "{k}");
    }
    assert!(firing["resolved_at"].is_null());
    let n = &v["notifications"][0];
    assert_eq!(n["alert"], BUDGET_ALERT);
    assert_eq!(n["status"], "firing");
    assert_eq!(n["deliveries"][0]["status"], "queued");
    assert_eq!(n["deliveries"][0]["attempts"], 0);
    assert_eq!(n["deliveries"][0]["url"], "http://127.0.0.1:9/…");
    assert_eq!(v["webhooks"][0]["format"], "generic");
    assert_eq!(v["webhooks"][0]["queued"], 2);
    assert_eq!(v["budget"]["trace_max_cost_usd"], 1.0);
    assert!(v["budget"]["trace_max_tokens"].is_null());
    assert_eq!(
        v["budget"]["exceeded_total"],
        serde_json::json!([{"project": "p", "traces": 1}])
    );
}

#[test]
fn full_queue_drops_oldest() {
    let (e, _) = evaluator(AlertConfig {
        trace_max_tokens: Some(0),
        webhooks: vec![crate::Webhook {
            url: "http://127.0.0.1:9/".into(),
            format: WebhookFormat::Alertmanager,
        }],
        ..config()
    });
    for i in 0..1100 {
        e.record_trace(&trace("p", &format!("{i}"), 1, 0.0));
    }
    let view = e.snapshot();
    assert_eq!(view.webhooks[0].queued, 1024);
    assert_eq!(view.webhooks[0].dropped, 1100 - 1024);
    assert_eq!(view.webhooks[0].url, "http://127.0.0.1:9");
}

#[test]
fn tick_interval_is_at_least_a_second() {
    let (e, _) = evaluator(AlertConfig {
        eval_interval_seconds: 0,
        ..config()
    });
    assert_eq!(e.tick_interval(), secs(1));
    let (e, _) = evaluator(AlertConfig::default());
    assert_eq!(e.tick_interval(), secs(30));
}

/// Each project has windows and alerts of its own: one project's failing calls fire for it
/// alone, and never dilute or trip another project's rate for the same model.
#[test]
fn projects_have_their_own_windows_and_alerts() {
    let (e, t0) = evaluator(config());
    let rule = "LLMHighErrorRate";
    for i in 0..100 {
        e.record_call_at(
            &CallSample {
                project: "noisy".into(),
                error: true,
                ..call("gpt-4o")
            },
            t0,
        );
        e.record_call_at(
            &CallSample {
                project: "quiet".into(),
                error: i == 0,
                ..call("gpt-4o")
            },
            t0,
        );
    }
    e.evaluate_at(t0 + secs(1));
    e.evaluate_at(t0 + secs(70));
    let view = e.snapshot();
    let of = |project: &str| {
        view.states
            .iter()
            .find(|s| s.rule == rule && s.project == project && s.model == "gpt-4o")
            .map(|s| (s.state, s.value))
    };
    assert_eq!(of("noisy").map(|s| s.0), Some(AlertState::Firing));
    assert_eq!(of("noisy").and_then(|s| s.1), Some(1.0));
    // 1 of 100 failed: 1 %, its own rate, not the 101 of 200 of a shared window.
    assert_eq!(of("quiet").and_then(|s| s.1), Some(0.01));
    assert_ne!(of("quiet").map(|s| s.0), Some(AlertState::Firing));
    let fired: Vec<_> = view
        .notifications
        .iter()
        .filter(|n| n.alert == rule)
        .map(|n| n.labels["project"].clone())
        .collect();
    assert_eq!(fired, ["noisy"]);
}
