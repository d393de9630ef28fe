//! The session page (`/sessions/{session_id}`): the session's traces as one conversation, read
//! by the query layer (`Query::session_thread`, bounded) and rendered by `llmtrace-ui`.

use super::{page, project, query_error_page};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/sessions/{session_id}", get(session))
}

/// Whether a path is a session page.
pub(super) fn is_session_path(path: &str) -> bool {
    path.strip_prefix("/sessions/")
        .is_some_and(|rest| !rest.is_empty())
}

async fn session(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(session_id): Path<String>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match st.query.session_thread(project, &session_id).await {
        Ok(thread) => page(StatusCode::OK, llmtrace_ui::session_page(&thread)),
        Err(e) => query_error_page(&e),
    }
}
