//! The score configs page (`/scores`): what annotators may enter per score name (type, range or
//! labels, description), a form adding or replacing one, and the score names in use with links
//! to their annotation queue and to the traces they score.

use crate::annotate::number;
use crate::format;
use crate::layout::{self, Nav};
use crate::traces::url_encode;
use llmtrace_query::{ScoreConfig, ScoreName};
use maud::html;

/// What a config allows, in words: `0 to 1`, `good, bad`, `true or false`.
pub(crate) fn allowed(c: &ScoreConfig) -> String {
    match c.data_type.as_str() {
        "NUMERIC" => match (c.min, c.max) {
            (Some(lo), Some(hi)) => format!("{} to {}", number(lo), number(hi)),
            (Some(lo), None) => format!("at least {}", number(lo)),
            (None, Some(hi)) => format!("at most {}", number(hi)),
            (None, None) => "any number".into(),
        },
        "CATEGORICAL" => c.categories.join(", "),
        "BOOLEAN" => "true or false".into(),
        _ => String::new(),
    }
}

/// The `/scores` page.
pub fn score_configs_page(configs: Result<&[ScoreConfig], &str>, names: &[ScoreName]) -> String {
    let body = html! {
        h1 { "Score configs" }
        p.dim { "A config says what annotators may enter for a score name; a score sent for a configured name must fit it (else 400)." }
        @match configs {
            Err(m) => { p.error role="alert" { (m) } }
            Ok([]) => { p.dim #no-configs { "No score config yet: scores of any name and value are accepted." } }
            Ok(configs) => {
                table.traces #configs {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Allowed" } th scope="col" { "Description" } th scope="col" {} } }
                    tbody { @for c in configs {
                        tr data-name=(c.name) {
                            td.name dir="auto" { (c.name) }
                            td { (c.data_type.to_ascii_lowercase()) }
                            td.name dir="auto" { (allowed(c)) }
                            td.name dir="auto" { (c.description.as_deref().unwrap_or("")) }
                            td { button.config-delete.link type="button" aria-label={ "Delete config " (c.name) } { "Delete" } }
                        }
                    } }
                }
            }
        }
        h2 { "Add or replace a config" }
        form.filters #config-form aria-label="Score config" {
            label { span { "Name" } input type="text" name="name" required autocomplete="off" dir="auto"; }
            label { span { "Type" }
                select name="data_type" {
                    option value="NUMERIC" { "numeric" }
                    option value="CATEGORICAL" { "categorical (labels)" }
                    option value="BOOLEAN" { "boolean" }
                }
            }
            label { span { "Min (numeric)" } input type="text" inputmode="decimal" name="min"; }
            label { span { "Max (numeric)" } input type="text" inputmode="decimal" name="max"; }
            label { span { "Labels (categorical, comma-separated)" } input type="text" name="categories" dir="auto" placeholder="good, bad"; }
            label.search { span { "Description" } input type="text" name="description" dir="auto"; }
            div.actions { button type="submit" { "Save config" } }
            p.status role="status" {}
        }
        h2 { "Score names in use" }
        @if names.is_empty() {
            p.dim { "No score yet." }
        } @else {
            table.traces #score-names-table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Scores" } th scope="col" { "Labels" } th scope="col" { "Annotate" } } }
                tbody { @for n in names {
                    tr {
                        td.name { a href={ "/?score." (url_encode(&n.name)) "=*" } dir="auto" { (n.name) } }
                        td.num { (format::count(n.count)) }
                        td.name dir="auto" { (n.labels.join(", ")) @if n.numeric && n.labels.is_empty() { span.dim { "numeric" } } }
                        td { a href={ "/queue?score=" (url_encode(&n.name)) } { "Queue: traces without it" } }
                    }
                } }
            }
        }
    };
    layout::page("Score configs", Nav::Scores, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_read_in_words_and_are_escaped() {
        let c = |t: &str, min, max, cats: &[&str]| ScoreConfig {
            name: "<n>".into(),
            data_type: t.into(),
            min,
            max,
            categories: cats.iter().map(|s| s.to_string()).collect(),
            description: Some("<d>".into()),
            ..Default::default()
        };
        assert_eq!(allowed(&c("NUMERIC", Some(0.0), Some(1.0), &[])), "0 to 1");
        assert_eq!(allowed(&c("NUMERIC", None, Some(5.5), &[])), "at most 5.5");
        assert_eq!(allowed(&c("CATEGORICAL", None, None, &["a", "b"])), "a, b");
        assert_eq!(allowed(&c("BOOLEAN", None, None, &[])), "true or false");
        let configs = [c("NUMERIC", None, None, &[])];
        let names = [ScoreName {
            name: "a b".into(),
            count: 2,
            numeric: true,
            labels: vec![],
        }];
        let html = score_configs_page(Ok(&configs), &names);
        assert!(!html.contains("<n>") && !html.contains("<d>"));
        assert!(html.contains("/queue?score=a%20b"));
        assert!(score_configs_page(Ok(&[]), &[]).contains("no-configs"));
    }
}
