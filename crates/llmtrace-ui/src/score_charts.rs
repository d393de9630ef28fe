//! The dashboard's score charts: per score name (the most used few), the average over time by
//! model and by service for numeric scores, and the label counts over time for labelled ones.
//! Nothing shows when the range has no score. Colours and formats are the dashboard's: a model,
//! service or label keeps its page colour ([`Colors`]), and every point links to the traces of
//! its bucket with that score (and model or service).

use crate::charts::{self, Axis, Colors, Dash, Series, Unit};
use crate::dashboard::with_filters;
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

/// The average of score `name` per bucket, one series per group key (the most scored first),
/// coloured by `colors`; each links to the traces with that score and key (`dimension`:
/// `model` or `service`) under the filters `base`.
pub(crate) fn average_series(
    stats: &StatsView,
    name: &str,
    buckets: &[String],
    colors: &Colors,
    dimension: &str,
    base: &[(String, String)],
) -> Vec<Series> {
    let mut per_key: BTreeMap<String, u64> = BTreeMap::new();
    for s in of_name(stats, name).filter(|s| s.numeric_count > 0) {
        let k = per_key.entry(key_name(s)).or_default();
        *k = k.saturating_add(s.numeric_count);
    }
    let mut keys: Vec<(String, u64)> = per_key.into_iter().collect();
    keys.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
    keys.into_iter()
        .take(KEYS)
        .map(|(key, _)| Series {
            hue: colors.hue(&key),
            link: (key != NONE).then(|| {
                with_filters(
                    base,
                    &[(dimension, key.as_str()), (&score_param(name), "*")],
                )
            }),
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
        })
        .collect()
}

/// The count of each label of score `name` per bucket (all groups summed), most used first;
/// each links to the traces with that label under the filters `base`.
pub(crate) fn label_series(
    stats: &StatsView,
    name: &str,
    buckets: &[String],
    colors: &Colors,
    base: &[(String, String)],
) -> Vec<Series> {
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
        .map(|(label, _)| Series {
            name: label.to_string(),
            hue: colors.hue(label),
            link: Some(with_filters(base, &[(&score_param(name), label)])),
            values: buckets
                .iter()
                .map(|b| {
                    let n: u64 = of_name(stats, name)
                        .filter(|s| s.bucket_start.as_deref() == Some(b))
                        .filter_map(|s| s.labels.get(label))
                        .sum();
                    (n > 0).then(|| charts::count_value(n))
                })
                .collect(),
            dash: Dash::Solid,
        })
        .collect()
}

/// The key of scores without a model (or service).
const NONE: &str = "(none)";

/// The trace list's filter parameter of score `name` (`score.NAME`; `*` is any value).
fn score_param(name: &str) -> String {
    format!("score.{name}")
}

/// The legend name of a score group's key.
pub(crate) fn key_name(s: &ScoreStatsView) -> String {
    s.key.clone().unwrap_or_else(|| NONE.into())
}

/// The score charts of the dashboard: `by_model` and `by_service` are the bucketed statistics
/// grouped by model and by service; `buckets` their bucket starts, `axis` the page's chart
/// axis, `colors` its key colours and `base` the dashboard's own filters (kept in the links).
pub(crate) fn score_charts(
    by_model: &StatsView,
    by_service: Option<&StatsView>,
    buckets: &[String],
    axis: &Axis,
    colors: &Colors,
    base: &[(String, String)],
) -> Markup {
    let names = names(by_model);
    html! {
        @if !names.is_empty() {
            h2 #score-charts { "Scores" }
            div.charts {
                @for name in &names {
                    @let avg = average_series(by_model, name, buckets, colors, "model", base);
                    @if !avg.is_empty() {
                        (charts::lines(&format!("Average {name} by model"), axis, &avg, Unit::Number))
                        @if let Some(by_service) = by_service {
                            @let avg = average_series(by_service, name, buckets, colors, "service", base);
                            @if !avg.is_empty() {
                                (charts::lines(&format!("Average {name} by service"), axis, &avg, Unit::Number))
                            }
                        }
                    }
                    @let counts = label_series(by_model, name, buckets, colors, base);
                    @if !counts.is_empty() {
                        (charts::bars(&format!("{name}: scores per label"), axis, &counts, Unit::Count))
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
        let colors = Colors::new(["gpt", "(none)", "polite", "<rude>"]);
        let avg = average_series(&s, "q", &buckets, &colors, "model", &[]);
        assert_eq!(avg.len(), 2);
        assert_eq!(avg[0].name, "gpt");
        assert_eq!(avg[0].values, vec![Some(0.5), Some(1.0), None]);
        assert_eq!(avg[1].name, "(none)");
        // The page's colour of each key; a link to the traces with the score (and the key,
        // unless it is "(none)").
        assert_eq!(avg[0].hue, colors.hue("gpt"));
        assert_eq!(avg[1].hue, colors.hue("(none)"));
        assert_ne!(avg[0].hue, avg[1].hue);
        assert_eq!(
            avg[0].link,
            Some(vec![
                ("model".to_string(), "gpt".to_string()),
                ("score.q".to_string(), "*".to_string())
            ])
        );
        assert_eq!(avg[1].link, None);
        assert!(average_series(&s, "tone", &buckets, &colors, "model", &[]).is_empty());
        let labels = label_series(&s, "tone", &buckets, &colors, &[]);
        assert_eq!(labels[0].hue, colors.hue("polite"));
        assert_eq!(labels[0].name, "polite");
        assert_eq!(labels[0].values, vec![Some(2.0), Some(1.0), None]);
        let axis = Axis {
            labels: vec!["a".into(), "b".into(), "c".into()],
            windows: vec![],
        };
        let html = score_charts(&s, None, &buckets, &axis, &colors, &[]).into_string();
        assert!(html.contains("Average q by model"));
        assert!(html.contains("tone: scores per label"));
        assert!(html.contains("&lt;rude&gt;") && !html.contains("<rude>"));
        assert!(score_charts(
            &stats(serde_json::json!([])),
            None,
            &buckets,
            &Axis::default(),
            &colors,
            &[]
        )
        .into_string()
        .is_empty());
    }
}
