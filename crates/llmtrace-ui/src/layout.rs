//! The page frame: head, navigation, main.

use maud::{html, Markup, DOCTYPE};

/// Which navigation entry is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Traces,
    Dashboard,
    Sessions,
    Users,
    Models,
    Health,
    Queue,
    Scores,
    Datasets,
}

/// A whole page.
pub(crate) fn page(title: &str, current: Nav, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · llmtrace" }
                link rel="stylesheet" href="/ui/style.css";
                script src="/ui/app.js" defer {}
                script src="/ui/annotate.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "llmtrace" }
                    nav aria-label="Main" {
                        a href="/" aria-current=[(current == Nav::Traces).then_some("page")] { "Traces" }
                        a href="/dashboard" aria-current=[(current == Nav::Dashboard).then_some("page")] { "Dashboard" }
                        a href="/sessions" aria-current=[(current == Nav::Sessions).then_some("page")] { "Sessions" }
                        a href="/users" aria-current=[(current == Nav::Users).then_some("page")] { "Users" }
                        a href="/queue" aria-current=[(current == Nav::Queue).then_some("page")] { "Annotation queue" }
                        a href="/scores" aria-current=[(current == Nav::Scores).then_some("page")] { "Score configs" }
                        a href="/datasets" aria-current=[(current == Nav::Datasets).then_some("page")] { "Datasets" }
                        a href="/models" aria-current=[(current == Nav::Models).then_some("page")] { "Models & prices" }
                        a href="/health" aria-current=[(current == Nav::Health).then_some("page")] { "Health & alerts" }
                        a href="/api/stats" { "Stats (JSON)" }
                        a href="/metrics" { "Metrics" }
                    }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}
