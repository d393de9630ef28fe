//! The dashboard's score charts: per score name (the most used few), the average over time by
//! model and by service for numeric scores, and the label counts over time for labelled ones.
//! Nothing shows when the range has no score.

use crate::annotate::number;
use crate::charts::{self, Dash, Series};
use crate::format;
use llmtrace_query::{ScoreStatsView, StatsView};
use maud::{html, Markup};
use std::collections::BTreeMap;

/// Score names charted at most.
const NAMES: usize = 4;
/// Models or services drawn at most per chart.
const KEYS: usize = 6;
/// Labels drawn at most per chart.
const LABELS: usize = 8;

/// The score names of `stats`, most scores first.
fn names(stats: &StatsView) -> Vec<String> {
    let mut count: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &stats.scores {
        let c = count.entry(s.name.as_str()).or_default();
        *c = c.saturating_add(s.count);
    }
    let mut v: Vec<(&str, u64)> = count.into_iter().collect();
    v.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
    v.into_iter()
        .take(NAMES)
        .map(|(n, _)| n.to_string())
        .collect()
}

fn of_name<'a>(stats: &'a StatsView, name: &'a str) -> impl Iterator<Item = &'a ScoreStatsView> {
    stats.scores.iter().filter(move |s| s.name == name)
}

/// The average of score `name` per bucket, one series per group key (the most scored first).
pub(crate) fn average_series(stats: &StatsView, name: &str, buckets: &[String]) -> Vec<Series> {
    let mut per_key: BTreeMap<String, u64> = BTreeMap::new();
    for s in of_name(stats, name).filter(|s| s.numeric_count > 0) {
        let k = per_key.entry(key_name(s)).or_default();
        *k = k.saturating_add(s.numeric_count);
    }
    let mut keys: Vec<(String, u64)> = per_key.into_iter().collect();
    keys.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
    keys.into_iter()
        .take(KEYS)
        .enumerate()
        .map(|(i, (key, _))| Series {
            values: buckets
                .iter()
                .map(|b| {
                    of_name(stats, name)
                        .find(|s| s.bucket_start.as_deref() == Some(b) && key_name(s) == key)
                        .and_then(|s| s.avg)
                })
                .collect(),
            name: key,
            dash: Dash::Solid,
            color: i,
        })
        .collect()
}

/// The count of each label of score `name` per bucket (all groups summed), most used first.
pub(crate) fn label_series(stats: &StatsView, name: &str, buckets: &[String]) -> Vec<Series> {
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for s in of_name(stats, name) {
        for (l, c) in &s.labels {
            let t = totals.entry(l.as_str()).or_default();
            *t = t.saturating_add(*c);
        }
    }
    let mut labels: Vec<(&str, u64)> = totals.into_iter().collect();
    labels.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
    labels
        .into_iter()
        .take(LABELS)
        .enumerate()
        .map(|(i, (label, _))| Series {
            name: label.to_string(),
            values: buckets
                .iter()
                .map(|b| {
                    let n: u64 = of_name(stats, name)
                        .filter(|s| s.bucket_start.as_deref() == Some(b))
                        .filter_map(|s| s.labels.get(label))
                        .sum();
                    (n > 0).then_some(n as f64)
                })
                .collect(),
            dash: Dash::Solid,
            color: i,
        })
        .collect()
}

fn key_name(s: &ScoreStatsView) -> String {
    s.key.clone().unwrap_or_else(|| "(none)".into())
}

/// The score charts of the dashboard: `by_model` and `by_service` are the bucketed statistics
/// grouped by model and by service; `buckets` their bucket starts, `labels` the axis labels.
pub(crate) fn score_charts(
    by_model: &StatsView,
    by_service: Option<&StatsView>,
    buckets: &[String],
    labels: &[String],
) -> Markup {
    let names = names(by_model);
    let count_fmt = |v: f64| format::count(v.round() as u64);
    let value_fmt = |v: f64| number(v);
    html! {
        @if !names.is_empty() {
            h2 #score-charts { "Scores" }
            div.charts {
                @for name in &names {
                    @let avg = average_series(by_model, name, buckets);
                    @if !avg.is_empty() {
                        (charts::lines(&format!("Average {name} by model"), labels, &avg, None, &value_fmt))
                        @if let Some(by_service) = by_service {
                            @let avg = average_series(by_service, name, buckets);
                            @if !avg.is_empty() {
                                (charts::lines(&format!("Average {name} by service"), labels, &avg, None, &value_fmt))
                            }
                        }
                    }
                    @let counts = label_series(by_model, name, buckets);
                    @if !counts.is_empty() {
                        (charts::bars(&format!("{name}: scores per label"), labels, &counts, &count_fmt))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(scores: serde_json::Value) -> StatsView {
        serde_json::from_value(serde_json::json!({
            "group_by": "model", "since": null, "until": null, "groups": [], "scores": scores
        }))
        .unwrap()
    }

    #[test]
    fn averages_by_key_and_labels_per_bucket() {
        let b = |m: u64| format!("1970-01-01T00:0{m}:00.000000000Z");
        let s = stats(serde_json::json!([
            {"bucket_start": b(1), "key": "gpt", "name": "q", "count": 2, "numeric_count": 2, "avg": 0.5, "min": 0.0, "max": 1.0, "labels": {}},
            {"bucket_start": b(2), "key": "gpt", "name": "q", "count": 1, "numeric_count": 1, "avg": 1.0, "min": 1.0, "max": 1.0, "labels": {}},
            {"bucket_start": b(2), "key": null, "name": "q", "count": 1, "numeric_count": 1, "avg": 0.0, "min": 0.0, "max": 0.0, "labels": {}},
            {"bucket_start": b(1), "key": "gpt", "name": "tone", "count": 3, "numeric_count": 0, "avg": null, "min": null, "max": null, "labels": {"polite": 2, "<rude>": 1}},
            {"bucket_start": b(2), "key": "claude", "name": "tone", "count": 1, "numeric_count": 0, "avg": null, "min": null, "max": null, "labels": {"polite": 1}}
        ]));
        let buckets = vec![b(1), b(2), b(3)];
        assert_eq!(names(&s), vec!["q".to_string(), "tone".to_string()]);
        let avg = average_series(&s, "q", &buckets);
        assert_eq!(avg.len(), 2);
        assert_eq!(avg[0].name, "gpt");
        assert_eq!(avg[0].values, vec![Some(0.5), Some(1.0), None]);
        assert_eq!(avg[1].name, "(none)");
        assert!(average_series(&s, "tone", &buckets).is_empty());
        let labels = label_series(&s, "tone", &buckets);
        assert_eq!(labels[0].name, "polite");
        assert_eq!(labels[0].values, vec![Some(2.0), Some(1.0), None]);
        let html =
            score_charts(&s, None, &buckets, &["a".into(), "b".into(), "c".into()]).into_string();
        assert!(html.contains("Average q by model"));
        assert!(html.contains("tone: scores per label"));
        assert!(html.contains("&lt;rude&gt;") && !html.contains("<rude>"));
        assert!(
            score_charts(&stats(serde_json::json!([])), None, &buckets, &[])
                .into_string()
                .is_empty()
        );
    }
}
