//! The web UI: pages rendered on the server from the query layer's view models (the same ones
//! the JSON API returns), so the UI needs no build step and no Node toolchain. Interaction that
//! needs the browser (collapsing the span tree, showing a span without a reload) is a small
//! script of our own (`assets::SCRIPT`); everything works without it through plain links.
//!
//! The transport (routes, auth) lives in `llmtrace-server`; this crate only turns views into
//! HTML.

mod annotate;
mod assets;
mod assets_annotate;
mod assets_explorer;
mod charts;
mod dashboard;
mod datasets;
mod export;
mod format;
mod groups;
mod health;
mod json_view;
mod layout;
mod models;
mod score_charts;
mod score_configs;
mod session;
mod span_io;
mod trace;
mod traces;

pub use annotate::AnnotationContext;
pub use assets::{SCRIPT, STYLE};
pub use assets_annotate::ANNOTATE_SCRIPT;
pub use dashboard::{
    bucket_seconds, dashboard_page, last_hour_with_data, young_since, DashboardData, DashboardForm,
    RangeFit, DEFAULT_RANGE_SECONDS, MIN_FITTED_SECONDS,
};
pub use datasets::{dataset_page, datasets_page};
pub use groups::{groups_page, GroupsForm, GroupsKind};
pub use health::{health_page, EvaluatorHealth, IngestHealth};
pub use layout::THEME_SCRIPT;
pub use models::{models_page, ModelPrice, PriceTableSummary, STALE_AFTER_DAYS};
pub use score_configs::score_configs_page;
pub use session::session_page;
pub use trace::{search_snippet, span_panel, trace_page, trace_rows, RowsDirection, ROW_CHUNK};
pub use traces::{traces_page, ListContext, RangePreset, TracesForm, SCORE_COLUMNS};

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

/// The whole stylesheet served at `/ui/style.css`: the base rules, then each page family's own.
pub fn stylesheet() -> &'static str {
    static SHEET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        [
            assets::STYLE,
            assets_explorer::STYLE,
            session::STYLE,
            charts::STYLE,
        ]
        .concat()
    });
    SHEET.as_str()
}

/// The whole script served at `/ui/app.js`: the trace tree's, then each page family's own.
pub fn script() -> &'static str {
    static JS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| [assets::SCRIPT, assets_explorer::SCRIPT].join("\n"));
    JS.as_str()
}
