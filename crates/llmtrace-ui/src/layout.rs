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

/// `/ui/theme.js`: sets `data-theme` on `<html>` from the reader's earlier choice (kept in
/// `localStorage`); without one the system setting (`prefers-color-scheme`) decides.
pub const THEME_SCRIPT: &str =
    "try{var t=localStorage.getItem('llmtrace-theme');if(t)document.documentElement.dataset.theme=t;}catch(e){}\n";

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
                // Applies a theme chosen with the toggle before the first paint (no flash); a
                // file, not inline: the pages' content security policy allows no inline script.
                script src="/ui/theme.js" {}
                script src="/ui/app.js" defer {}
                script src="/ui/annotate.js" defer {}
            }
            body {
                a.skip-link href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "llmtrace" }
                    button.nav-toggle type="button" aria-controls="main-nav" aria-expanded="false" { "Menu" }
                    nav #main-nav aria-label="Main" {
                        a href="/" aria-current=[(current == Nav::Traces).then_some("page")] { "Traces" }
                        a href="/dashboard" aria-current=[(current == Nav::Dashboard).then_some("page")] { "Dashboard" }
                        a href="/sessions" aria-current=[(current == Nav::Sessions).then_some("page")] { "Sessions" }
                        a href="/users" aria-current=[(current == Nav::Users).then_some("page")] { "Users" }
                        a href="/queue" aria-current=[(current == Nav::Queue).then_some("page")] { "Annotation queue" }
                        a href="/scores" aria-current=[(current == Nav::Scores).then_some("page")] { "Score configs" }
                        a href="/datasets" aria-current=[(current == Nav::Datasets).then_some("page")] { "Datasets" }
                        a href="/models" aria-current=[(current == Nav::Models).then_some("page")] { "Models & prices" }
                        a href="/health" aria-current=[(current == Nav::Health).then_some("page")] { "Health & alerts" }
                    }
                    button.theme-toggle type="button" title="Switch between light and dark" aria-label="Switch between light and dark" { "◐" }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
    .into_string()
}
