//! Score metrics: every committed score counts under its project, name and source, numeric
//! values add up, names past the label limit read `other`, and a project's scrape shows only its
//! own series.

use llmtrace_metrics::{Format, Metrics, MetricsConfig, Scope, ScrapeStats};
use llmtrace_model::Score;
use llmtrace_pipeline::CommitObserver;
use llmtrace_store::{WriteBatch, WriteOutcome};
use std::time::Duration;

fn score(project: &str, name: &str, source: &str, value: Option<f64>) -> Score {
    Score {
        project: project.into(),
        id: format!("{project}-{name}-{value:?}"),
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        name: name.into(),
        value,
        source: source.into(),
        ..Default::default()
    }
}

fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

#[test]
fn scores_count_by_name_and_source_and_values_add_up() {
    let metrics = Metrics::new(
        MetricsConfig {
            max_label_values: 2,
            settle: Duration::ZERO,
        },
        None,
        false,
    );
    let batch = WriteBatch {
        scores: vec![
            score("a", "helpful", "API", Some(1.0)),
            score("a", "helpful", "API", Some(0.0)),
            score("a", "helpful", "API", Some(0.5)),
            score("a", "tone", "EVAL", None),
            score("b", "helpful", "API", Some(1.0)),
            score("a", "fourth", "API", Some(2.0)),
        ],
        ..Default::default()
    };
    metrics.committed(&batch, &WriteOutcome::default(), Duration::ZERO);
    let text = metrics.render(Format::Prometheus, &ScrapeStats::default());
    let count = |labels: &str| {
        line(&text, &format!("llmtrace_scores_total{{{labels}}} "))
            .unwrap_or_else(|| panic!("no {labels}:\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!(count(r#"project="a",name="helpful",source="API""#), 3.0);
    assert_eq!(count(r#"project="a",name="tone",source="EVAL""#), 1.0);
    assert_eq!(count(r#"project="b",name="helpful",source="API""#), 1.0);
    // Two names kept; the third is `other`.
    assert_eq!(count(r#"project="a",name="other",source="API""#), 1.0);
    let sum = line(
        &text,
        r#"llmtrace_score_values{project="a",name="helpful",source="API"} "#,
    )
    .unwrap();
    assert!(sum.ends_with(" 1.5"), "{sum}");

    promtool_check(&text);

    let only_b = metrics.render_scoped(
        Format::Prometheus,
        &ScrapeStats::default(),
        Scope::Project("b"),
    );
    assert!(only_b.contains(r#"llmtrace_scores_total{project="b",name="helpful",source="API"} 1"#));
    assert!(!only_b.contains(r#"project="a""#), "{only_b}");
}

/// `promtool check metrics` on the exposition (HELP, TYPE, naming lints); required in CI.
fn promtool_check(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping promtool check: promtool not runnable ({e})");
            return;
        }
        Err(e) => panic!("promtool is required in CI: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
