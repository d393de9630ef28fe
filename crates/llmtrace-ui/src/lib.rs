//! The web UI: pages rendered on the server from the query layer's view models (the same ones
//! the JSON API returns), so the UI needs no build step and no Node toolchain. Interaction that
//! needs the browser (collapsing the span tree, showing a span without a reload) is a small
//! script of our own (`assets::SCRIPT`); everything works without it through plain links.
//!
//! The transport (routes, auth) lives in `llmtrace-server`; this crate only turns views into
//! HTML.

mod assets;
mod charts;
mod dashboard;
mod format;
mod groups;
mod health;
mod layout;
mod models;
mod trace;
mod traces;

pub use assets::{SCRIPT, STYLE};
pub use dashboard::{bucket_seconds, dashboard_page, DashboardData, DashboardForm};
pub use groups::{groups_page, GroupsForm, GroupsKind};
pub use health::{health_page, EvaluatorHealth, IngestHealth};
pub use models::{models_page, PriceTableSummary, STALE_AFTER_DAYS};
pub use trace::{span_panel, trace_page, trace_rows, RowsDirection, ROW_CHUNK};
pub use traces::{traces_page, RangePreset, TracesForm};

/// An error page (bad filter, unknown trace).
pub fn error_page(title: &str, message: &str) -> String {
    layout::page(
        title,
        layout::Nav::Traces,
        maud::html! {
            section.error-page {
                h1 { (title) }
                p { (message) }
                p { a href="/" { "Back to traces" } }
            }
        },
    )
}
