//! Scores on the pages: how a score reads, the trace list's score cells, the scores of a trace
//! or span with their edit and delete buttons, and the trace page's two forms (annotate with a
//! score, add to a dataset). The forms post to the JSON API through `/ui/annotate.js`
//! (`assets_annotate.rs`); the keys: `a` scores the trace, `s` the selected span, `d` adds to
//! a dataset.

use crate::traces::url_encode;
use llmtrace_query::{DatasetView, ScoreConfig, ScoreName, ScoreView};
use maud::{html, Markup};

/// What the trace page's forms offer: the configs, the score names used so far, the datasets,
/// and the score name to open the form with (`?annotate=`, from the annotation queue).
#[derive(Debug, Clone, Default)]
pub struct AnnotationContext {
    /// Score configs of the project.
    pub configs: Vec<ScoreConfig>,
    /// Score names used in the project.
    pub names: Vec<ScoreName>,
    /// Datasets of the project.
    pub datasets: Vec<DatasetView>,
    /// Score name to annotate at once.
    pub annotate: Option<String>,
}

/// A number as a score shows it: an integer without decimals, else at most three.
pub(crate) fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A score's value as read: its label when it has one, else its number.
pub(crate) fn score_text(s: &ScoreView) -> String {
    match (&s.string_value, s.value) {
        (Some(l), _) => l.clone(),
        (None, Some(v)) => number(v),
        (None, None) => String::new(),
    }
}

/// The trace list's cell of one score name: the text, its tooltip and the filter a click sets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScoreCell {
    /// What the cell shows.
    pub text: String,
    /// Tooltip.
    pub title: String,
    /// The `score.*` parameters that filter the list by this cell.
    pub filter: Vec<(String, String)>,
}

/// The cell of score `name` over a trace's scores (oldest first): the average of the numeric
/// scores (NUMERIC), else the latest label; `None` without a score of that name.
pub(crate) fn score_cell(scores: &[ScoreView], name: &str) -> Option<ScoreCell> {
    let of_name: Vec<&ScoreView> = scores.iter().filter(|s| s.name == name).collect();
    let latest = of_name.last()?;
    let numeric: Vec<f64> = of_name
        .iter()
        .filter(|s| s.data_type == "NUMERIC")
        .filter_map(|s| s.value)
        .collect();
    let key = format!("score.{name}");
    let n = of_name.len();
    let scores_word = if n == 1 { "score" } else { "scores" };
    if let Some(first) = numeric.first() {
        let avg = numeric.iter().sum::<f64>() / numeric.len() as f64;
        let filter = if numeric.len() == 1 {
            vec![
                (format!("{key}.min"), number(*first)),
                (format!("{key}.max"), number(*first)),
            ]
        } else {
            vec![(key, "*".to_string())]
        };
        return Some(ScoreCell {
            text: number(avg),
            title: if numeric.len() > 1 {
                format!("{name}: average of {} {scores_word}", numeric.len())
            } else {
                format!("{name}: {n} {scores_word}")
            },
            filter,
        });
    }
    let label = score_text(latest);
    Some(ScoreCell {
        title: format!("{name}: latest of {n} {scores_word}"),
        filter: vec![(
            key,
            if label.is_empty() {
                "*".into()
            } else {
                label.clone()
            },
        )],
        text: label,
    })
}

/// A query string of pairs (`k=v&...`), encoded.
pub(crate) fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The scores given (of a trace or a span), each with its comment, source, and an edit and a
/// delete button for the script.
pub(crate) fn score_list(scores: &[ScoreView], empty: &str) -> Markup {
    html! {
        @if scores.is_empty() {
            p.dim { (empty) }
        } @else {
            ul.scores {
                @for s in scores {
                    li.score data-id=(s.id) data-name=(s.name) data-value=(score_text(s))
                        data-comment=(s.comment.as_deref().unwrap_or("")) data-span=(s.observation_id.as_deref().unwrap_or("")) {
                        span.score-name dir="auto" { (s.name) } ": "
                        strong.score-value dir="auto" { (score_text(s)) }
                        @if let Some(c) = &s.comment { " " span.comment dir="auto" { "“" (c) "”" } }
                        " " span.dim { (s.source.to_ascii_lowercase()) @if let Some(a) = &s.author { " · " span dir="auto" { (a) } } }
                        " " button.score-edit.link type="button" aria-label={ "Edit score " (s.name) } { "Edit" }
                        " " button.score-delete.link type="button" aria-label={ "Delete score " (s.name) } { "Delete" }
                    }
                }
            }
        }
    }
}

/// The trace's own scores (not about one span).
pub(crate) fn trace_scores(scores: &[ScoreView]) -> Vec<ScoreView> {
    scores
        .iter()
        .filter(|s| s.observation_id.is_none())
        .cloned()
        .collect()
}

/// The annotation form and the dataset form of a trace page.
pub(crate) fn forms(trace_id: &str, ctx: &AnnotationContext) -> Markup {
    let configs = serde_json::to_string(&ctx.configs).unwrap_or_else(|_| "[]".into());
    let mut names: Vec<&str> = ctx.configs.iter().map(|c| c.name.as_str()).collect();
    for n in &ctx.names {
        if !names.contains(&n.name.as_str()) {
            names.push(&n.name);
        }
    }
    let datasets: Vec<&str> = ctx.datasets.iter().map(|d| d.name.as_str()).collect();
    let datasets_json = serde_json::to_string(&datasets).unwrap_or_else(|_| "[]".into());
    html! {
        section.annotate aria-label="Annotate" {
            form #annotate-form data-trace=(trace_id) data-configs=(configs) data-open=[ctx.annotate.as_deref()] {
                h3 { "Add a score " span.dim.keys { "(a: the trace, s: the selected span; Enter saves, Esc leaves)" } }
                input type="hidden" name="id" value="";
                label { span { "About" }
                    select name="about" {
                        option value="trace" { "the trace" }
                        option value="span" { "the selected span" }
                    }
                }
                label { span { "Name" }
                    input type="text" name="name" list="score-names" required autocomplete="off" dir="auto" value=[ctx.annotate.as_deref()];
                }
                datalist #score-names { @for n in &names { option value=(n) {} } }
                label { span { "Value or label" }
                    input type="text" name="value" list="score-values" required autocomplete="off" dir="auto" placeholder="0.8, true, good";
                }
                datalist #score-values {}
                label.wide { span { "Comment" }
                    input type="text" name="comment" autocomplete="off" dir="auto";
                }
                div.actions {
                    button type="submit" { "Save score" }
                    button.link type="reset" { "Clear" }
                    span.hint.dim {}
                }
                p.status role="status" {}
            }
            form #dataset-form data-trace=(trace_id) data-datasets=(datasets_json) {
                h3 { "Add to a dataset " span.dim.keys { "(d)" } }
                label { span { "About" }
                    select name="about" {
                        option value="trace" { "the trace" }
                        option value="span" { "the selected span" }
                    }
                }
                label { span { "Dataset" }
                    input type="text" name="dataset_name" list="dataset-names" required autocomplete="off" dir="auto" placeholder="new or existing";
                }
                datalist #dataset-names { @for d in &datasets { option value=(d) {} } }
                label.wide { span { "Expected output (optional)" }
                    textarea name="expected_output" rows="2" dir="auto" {}
                }
                div.actions { button type="submit" { "Add to dataset" } }
                p.status role="status" {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(name: &str, value: Option<f64>, label: Option<&str>, data_type: &str) -> ScoreView {
        ScoreView {
            id: format!("{name}-{value:?}-{label:?}"),
            name: name.into(),
            value,
            string_value: label.map(str::to_string),
            data_type: data_type.into(),
            comment: None,
            source: "ANNOTATION".into(),
            author: None,
            observation_id: None,
            timestamp: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn numbers_read_short() {
        assert_eq!(number(1.0), "1");
        assert_eq!(number(0.75), "0.75");
        assert_eq!(number(2.0 / 3.0), "0.667");
        assert_eq!(number(-3.5), "-3.5");
    }

    #[test]
    fn cells_average_numbers_and_show_the_latest_label() {
        let scores = vec![
            score("quality", Some(0.5), None, "NUMERIC"),
            score("tone", None, Some("rude"), "CATEGORICAL"),
            score("quality", Some(1.0), None, "NUMERIC"),
            score("tone", None, Some("polite"), "CATEGORICAL"),
            score("ok", Some(1.0), Some("True"), "BOOLEAN"),
            score("single", Some(3.0), None, "NUMERIC"),
        ];
        let q = score_cell(&scores, "quality").unwrap();
        assert_eq!(q.text, "0.75");
        assert!(q.title.contains("average of 2"));
        assert_eq!(q.filter, vec![("score.quality".into(), "*".into())]);
        let t = score_cell(&scores, "tone").unwrap();
        assert_eq!(t.text, "polite");
        assert_eq!(t.filter, vec![("score.tone".into(), "polite".into())]);
        assert_eq!(score_cell(&scores, "ok").unwrap().text, "True");
        let s = score_cell(&scores, "single").unwrap();
        assert_eq!(
            query_string(&s.filter),
            "score.single.min=3&score.single.max=3"
        );
        assert!(score_cell(&scores, "missing").is_none());
    }

    #[test]
    fn lists_and_forms_escape_what_clients_sent() {
        let mut s = score("<b>n</b>", None, Some("<i>l</i>"), "CATEGORICAL");
        s.comment = Some("\"><script>x</script>".into());
        let html = score_list(&[s], "none").into_string();
        assert!(!html.contains("<b>n") && !html.contains("<i>l") && !html.contains("<script>"));
        assert!(html.contains("&lt;i&gt;l&lt;/i&gt;"));
        let ctx = AnnotationContext {
            configs: vec![ScoreConfig {
                name: "q\"<".into(),
                data_type: "NUMERIC".into(),
                ..Default::default()
            }],
            annotate: Some("<x>".into()),
            ..Default::default()
        };
        let html = forms("ab", &ctx).into_string();
        assert!(!html.contains("<x>"), "{html}");
        assert!(html.contains("data-configs=\"[{&quot;name&quot;:&quot;q\\&quot;&lt;"));
        assert_eq!(
            score_list(&[], "No scores").into_string(),
            "<p class=\"dim\">No scores</p>"
        );
    }
}
