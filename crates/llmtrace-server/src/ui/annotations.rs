//! The UI's annotation routes: the trace list and the annotation queue (`/queue?score=NAME`,
//! traces without that score) with their score columns and filters, the score configs page
//! (`/scores`), the datasets pages (`/datasets`, `/datasets/{name}`), the trace page's forms'
//! context, and the annotation script. Writes go through the JSON API (`/api/scores`, ...),
//! posted by the script.

use super::{invalid, page, preset_since, project, query_error_page};
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use llmtrace_query::{QueryError, ScoreConfig, ScoreName};
use llmtrace_ui::{AnnotationContext, TracesForm};
use std::sync::Arc;

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/queue", get(queue))
        .route("/scores", get(score_configs))
        .route("/datasets", get(datasets))
        .route("/datasets/{name}", get(dataset))
        .route("/ui/annotate.js", get(script))
}

/// Whether a path is one of these pages.
pub(super) fn is_annotation_path(path: &str) -> bool {
    matches!(path, "/queue" | "/scores" | "/datasets") || path.starts_with("/datasets/")
}

/// The project's score names, most used first (none when they cannot be read: the list still
/// shows).
async fn score_names(st: &AppState, project: &str) -> Vec<ScoreName> {
    match st.query.score_names(project).await {
        Ok(v) => v.names,
        Err(e) => {
            tracing::warn!(error = %e, "UI: score names unavailable");
            Vec::new()
        }
    }
}

async fn configs(st: &AppState, project: &str) -> Result<Vec<ScoreConfig>, QueryError> {
    Ok(st.query.score_configs(project).await?.configs)
}

/// What the trace page's forms offer (an unreadable part is left empty: the page still shows).
pub(super) async fn annotation_context(
    st: &AppState,
    project: &str,
    annotate: Option<String>,
) -> AnnotationContext {
    let (configs, names, datasets) = tokio::join!(
        configs(st, project),
        score_names(st, project),
        st.query.datasets(project)
    );
    AnnotationContext {
        configs: configs.unwrap_or_default(),
        names,
        datasets: datasets.map(|d| d.datasets).unwrap_or_default(),
        annotate: annotate.filter(|a| !a.trim().is_empty()),
    }
}

/// The trace list (`queue`: the annotation queue) for a query string.
pub(super) async fn trace_list(
    st: Arc<AppState>,
    headers: HeaderMap,
    form: Result<Query<TracesForm>, QueryRejection>,
    raw: Option<String>,
    queue: bool,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let form = match form {
        Ok(Query(f)) => f.with_score_filters(raw.as_deref().unwrap_or("")),
        Err(e) => return invalid("Invalid filters", &e),
    };
    let names = score_names(&st, project).await;
    let mut form = form;
    if queue && form.score.as_deref().is_none_or(|s| s.trim().is_empty()) {
        // The queue of the first configured score name, else of the most used one.
        let first = configs(&st, project)
            .await
            .ok()
            .and_then(|c| c.into_iter().next().map(|c| c.name))
            .or_else(|| names.first().map(|n| n.name.clone()));
        form.score = first;
    }
    let queue_name = form.score.clone().unwrap_or_default();
    let ctx = llmtrace_ui::ListContext {
        names: &names,
        queue: queue.then_some(queue_name.as_str()),
        listen_http: st.listen.get().map(|l| l.http.as_str()),
        listen_grpc: st.listen.get().map(|l| l.grpc.as_str()),
    };
    if queue && queue_name.trim().is_empty() {
        return page(
            StatusCode::OK,
            llmtrace_ui::traces_page(
                &form,
                Err("No score name yet: add a score config (Score configs) or a first score, then choose it here."),
                &ctx,
            ),
        );
    }
    let since_preset = form.range().seconds().map(preset_since);
    // The export links carry the start this query used.
    form.resolved_since = since_preset.clone();
    let mut params = match form.to_params(since_preset) {
        Ok(p) => p,
        Err(m) => {
            return page(
                StatusCode::BAD_REQUEST,
                llmtrace_ui::traces_page(&form, Err(&m), &ctx),
            )
        }
    };
    if !queue {
        params.without_score = None;
    }
    match st.query.list_traces(project, &params).await {
        Ok(list) => page(
            StatusCode::OK,
            llmtrace_ui::traces_page(&form, Ok(&list), &ctx),
        ),
        Err(QueryError::BadRequest(m)) => page(
            StatusCode::BAD_REQUEST,
            llmtrace_ui::traces_page(&form, Err(&m), &ctx),
        ),
        Err(e) => query_error_page(&e),
    }
}

async fn queue(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Query<TracesForm>, QueryRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    trace_list(st, headers, form, raw, true).await
}

async fn score_configs(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let (configs, names) = tokio::join!(configs(&st, project), score_names(&st, project));
    let configs = configs.map_err(|e| e.to_string());
    page(
        StatusCode::OK,
        llmtrace_ui::score_configs_page(configs.as_deref().map_err(String::as_str), &names),
    )
}

async fn datasets(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match st.query.datasets(project).await {
        Ok(list) => page(StatusCode::OK, llmtrace_ui::datasets_page(Ok(&list))),
        Err(e) => query_error_page(&e),
    }
}

async fn dataset(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match st.query.dataset_items(project, &name).await {
        Ok(items) => page(StatusCode::OK, llmtrace_ui::dataset_page(&name, Ok(&items))),
        Err(e) => query_error_page(&e),
    }
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        llmtrace_ui::ANNOTATE_SCRIPT,
    )
        .into_response()
}
