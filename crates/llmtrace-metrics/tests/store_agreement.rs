//! The `llm_*` counters equal the store's `/api/stats` totals after the last commit, whatever
//! order and grouping the copies of each call arrive in (issue: counting truth). A real SQLite
//! store decides each write; the metrics follow its fates and corrections.

use llmtrace_metrics::{Format, Metrics, MetricsConfig, ScrapeStats};
use llmtrace_model::{Money, Span, StatusCode};
use llmtrace_pipeline::CommitObserver;
use llmtrace_store::testsuite::{llm, span};
use llmtrace_store::{GroupBy, SpanWriter, StatsQuery, TraceReader, WriteBatch};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

fn priced(mut s: Span, pico: i64) -> Span {
    s.cost.computed = Some(Money::from_pico(pico));
    s
}

fn with_response(mut s: Span, rid: &str) -> Span {
    s.gen_ai.response_id = Some(rid.into());
    s
}

/// Calls reported by several spans, one trace id range per case.
fn multi_copy_calls() -> Vec<Span> {
    let mut spans = Vec::new();
    // OpenLLMetry's streamed span (output 21 from the chunks) in the app's trace, the anthropic
    // SDK's own span (the provider's 20) orphaned in a trace of its own.
    let mut app = with_response(
        llm(1, 2, Some(1), "claude-sonnet-4-6", 160, 21, 10, 900),
        "m1",
    );
    app.scope_name = "opentelemetry.instrumentation.anthropic".into();
    app.gen_ai.params.stream = Some(true);
    let mut sdk = with_response(
        llm(2, 5, Some(77), "claude-sonnet-4-6", 160, 20, 12, 880),
        "m1",
    );
    sdk.scope_name = "com.anthropic.sdk.python".into();
    spans.extend([
        span(1, 1, None, "workflow", 0, 2000),
        priced(app, 1_050_000),
        priced(sdk, 1_000_000),
    ]);
    // A hand-made wrapper (input without cache: 120) around the SDK's span (160).
    spans.extend([
        priced(
            llm(3, 1, None, "claude-sonnet-4-6", 120, 45, 0, 1000),
            800_000,
        ),
        priced(
            llm(3, 2, Some(1), "claude-sonnet-4-6", 160, 45, 10, 980),
            900_000,
        ),
    ]);
    // Siblings under a context leak, reporting one response.
    spans.extend([
        span(4, 1, None, "batch", 0, 100),
        with_response(llm(4, 2, Some(1), "gpt-4o", 100, 10, 10, 50), "r4"),
        with_response(llm(4, 3, Some(1), "gpt-4o", 100, 10, 12, 50), "r4"),
    ]);
    // OpenInference's span with the SDK's span as its child, both with the response id, and a
    // failed call reported by a wrapper and its inner span.
    let mut inner = with_response(
        llm(5, 2, Some(1), "claude-sonnet-4-6", 160, 20, 1, 90),
        "m5",
    );
    inner.scope_name = "com.anthropic.sdk.python".into();
    let mut failed_outer = llm(6, 1, None, "gpt-4o", 0, 0, 0, 100);
    failed_outer.status = StatusCode::Error;
    let mut failed_inner = llm(6, 2, Some(1), "gpt-4o", 0, 0, 1, 90);
    failed_inner.status = StatusCode::Error;
    failed_inner.gen_ai.error_type = Some("RateLimitError".into());
    spans.extend([
        with_response(llm(5, 1, None, "claude-sonnet-4-6", 160, 21, 0, 100), "m5"),
        priced(inner, 700_000),
        failed_outer,
        failed_inner,
        // An unpriced model.
        llm(7, 1, None, "mystery-model", 10, 5, 0, 10),
    ]);
    // A complete wrapper whose inner call arrives first incomplete, then complete.
    let mut started = llm(8, 2, Some(1), "gpt-4o", 0, 0, 1, 8);
    started.incomplete = true;
    started.usage = Default::default();
    spans.extend([
        llm(8, 1, None, "gpt-4o", 50, 5, 0, 10),
        started,
        llm(8, 2, Some(1), "gpt-4o", 60, 6, 1, 8),
    ]);
    // An instrumentation span (OpenInference-like, output 21) wrapping OpenLLMetry's streamed
    // span (chunk-counted, 20), both with the response id: the inner call counts, with 20.
    let mut counted_from_chunks = with_response(
        llm(9, 2, Some(1), "claude-sonnet-4-6", 160, 20, 1, 90),
        "m9",
    );
    counted_from_chunks.scope_name = "opentelemetry.instrumentation.anthropic".into();
    counted_from_chunks.gen_ai.params.stream = Some(true);
    spans.extend([
        with_response(llm(9, 1, None, "claude-sonnet-4-6", 160, 21, 0, 100), "m9"),
        counted_from_chunks,
    ]);
    for s in &mut spans {
        if s.kind.is_model_call() && s.cost.computed.is_none() && s.model() == Some("mystery-model")
        {
            s.cost.unpriced = true;
        }
    }
    spans
}

/// Sums of the counter samples of `family` (Prometheus text) whose labels contain `filter`.
fn counter_sum(text: &str, family: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| {
            (l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} ")))
                && l.contains(filter)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_equal_stats_for_any_arrival_order() {
    let spans = multi_copy_calls();
    for seed in 0..120u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut order = spans.clone();
        order.shuffle(&mut rng);
        // A retried delivery of a random span.
        if let Some(again) = order.get(rng.random_range(0..order.len())).cloned() {
            order.push(again);
        }
        let dir = tempfile::tempdir().unwrap();
        let store = llmtrace_store_sqlite::SqliteStore::open_dir(dir.path()).unwrap();
        let metrics = Metrics::new(
            MetricsConfig {
                max_label_values: 100,
                // Every copy arrives within the window here.
                settle: Duration::from_secs(3600),
            },
            None,
            false,
        );
        let mut rest = order.as_slice();
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(4));
            let (now, later) = rest.split_at(n);
            rest = later;
            let batch = WriteBatch {
                spans: now.to_vec(),
                logs: vec![],
                scores: vec![],
            };
            let batch = Arc::new(batch);
            let outcome = store.write(batch.clone()).await.unwrap();
            metrics.committed(&batch, &outcome, Duration::ZERO);
        }
        metrics.settle_all();
        let text = metrics.render(Format::Prometheus, &ScrapeStats::default());
        let stats = store
            .stats(&StatsQuery {
                project: "default".into(),
                group_by: GroupBy::Model,
                ..Default::default()
            })
            .await
            .unwrap();
        let sum = |f: fn(&llmtrace_store::StatsGroup) -> u64| stats.iter().map(f).sum::<u64>();
        let ctx = format!(
            "seed {seed}, order {:?}",
            order
                .iter()
                .map(|s| (s.trace_id.to_hex(), s.span_id.to_hex()))
                .collect::<Vec<_>>()
        );
        assert_eq!(sum(|g| g.calls), 8, "{ctx}");
        assert_eq!(
            counter_sum(&text, "llm_calls_total", ""),
            sum(|g| g.calls) as f64,
            "{ctx}"
        );
        assert_eq!(
            counter_sum(&text, "llm_errors_total", ""),
            sum(|g| g.errors) as f64,
            "{ctx}"
        );
        for (kind, total) in [
            ("input", sum(|g| g.input_tokens)),
            ("output", sum(|g| g.output_tokens)),
            ("cache_read", sum(|g| g.cache_read_tokens)),
            ("cache_write", sum(|g| g.cache_write_tokens)),
            ("reasoning", sum(|g| g.reasoning_tokens)),
        ] {
            let filter = format!("type=\"{kind}\"");
            assert_eq!(
                counter_sum(&text, "llm_tokens_total", &filter),
                total as f64,
                "{kind} tokens, {ctx}"
            );
        }
        // The provider's figures won: 20 output on the OpenLLMetry call, 160 input under the
        // hand-made wrapper.
        assert_eq!(
            sum(|g| g.output_tokens),
            20 + 45 + 10 + 20 + 5 + 6 + 20,
            "{ctx}"
        );
        let cost_pico: i64 = stats.iter().map(|g| g.cost_pico).sum();
        assert_eq!(cost_pico, 1_000_000 + 900_000 + 700_000, "{ctx}");
        let cost_usd = counter_sum(&text, "llm_cost_usd_total", "");
        assert!(
            (cost_usd - cost_pico as f64 / 1e12).abs() < 1e-15,
            "cost {cost_usd} vs {cost_pico} pico, {ctx}"
        );
        let unpriced: u64 = stats.iter().map(|g| g.unpriced_calls).sum();
        assert_eq!(unpriced, 1, "{ctx}");
        assert_eq!(
            counter_sum(&text, "llmtrace_unpriced_calls_total", ""),
            1.0,
            "{ctx}"
        );
        assert_eq!(
            counter_sum(&text, "llmtrace_late_call_corrections_total", ""),
            0.0
        );
    }
}

/// With the settle window passed before a later copy arrives, the correction cannot reach the
/// counters: it is counted as late instead (and the counters never go down).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_later_than_the_window_is_counted_as_late() {
    let dir = tempfile::tempdir().unwrap();
    let store = llmtrace_store_sqlite::SqliteStore::open_dir(dir.path()).unwrap();
    let metrics = Metrics::new(
        MetricsConfig {
            max_label_values: 100,
            settle: Duration::ZERO,
        },
        None,
        false,
    );
    let wrapper = llm(3, 1, None, "claude-sonnet-4-6", 120, 45, 0, 1000);
    let inner = llm(3, 2, Some(1), "claude-sonnet-4-6", 160, 45, 10, 980);
    for s in [wrapper, inner] {
        let batch = Arc::new(WriteBatch {
            spans: vec![s],
            logs: vec![],
            scores: vec![],
        });
        let outcome = store.write(batch.clone()).await.unwrap();
        metrics.committed(&batch, &outcome, Duration::ZERO);
    }
    let text = metrics.render(Format::Prometheus, &ScrapeStats::default());
    assert_eq!(counter_sum(&text, "llm_calls_total", ""), 1.0);
    assert_eq!(
        counter_sum(&text, "llm_tokens_total", "type=\"input\""),
        120.0,
        "the wrapper's figure stays in the counter"
    );
    assert_eq!(
        counter_sum(&text, "llmtrace_late_call_corrections_total", ""),
        1.0
    );
}
