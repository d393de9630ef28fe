//! The annotation API (docs/api.md): score names, deletion of a score, score configs, and
//! datasets built from traces. The transport only: the use cases and checks are
//! `llmtrace_query`'s, the storage the store's.

use crate::api::respond;
use crate::error::api_error;
use crate::AppState;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Json;
use llmtrace_query::{NewDataset, NewDatasetItem, QueryError};
use llmtrace_store::ScoreConfig;
use serde::Deserialize;
use std::sync::Arc;

/// Largest annotation request body.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/scores/names", get(score_names))
        .route("/api/scores/{id}", delete(delete_score))
        .route("/api/score-configs", get(configs).post(put_config))
        .route("/api/score-configs/{name}", delete(delete_config))
        .route("/api/datasets", get(datasets).post(create_dataset))
        .route(
            "/api/datasets/{name}/items",
            get(dataset_items).post(add_item),
        )
        .route("/api/datasets/{name}/items/{id}", delete(delete_item))
}

fn done(r: Result<(), QueryError>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => crate::api::query_error(e),
    }
}

/// The request's project, or the answer refusing it.
fn project(st: &AppState, headers: &HeaderMap) -> Result<String, Box<Response>> {
    st.auth
        .project(headers)
        .map(str::to_string)
        .map_err(|e| Box::new(crate::api::unauthorized(e)))
}

/// The JSON body (the limits of every JSON body), in the shape `T`.
async fn json_body<T: serde::de::DeserializeOwned>(
    st: &AppState,
    body: axum::body::Body,
) -> Result<T, Box<Response>> {
    let json =
        crate::request_limits::read_json_body(body, MAX_BODY, st.ingest.decode_limits()).await?;
    serde_json::from_value(json).map_err(|e| {
        Box::new(api_error(
            StatusCode::BAD_REQUEST,
            format!("invalid body: {e}"),
        ))
    })
}

macro_rules! try_or_respond {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

async fn score_names(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    respond(st.query.score_names(&p).await)
}

async fn delete_score(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    done(st.query.delete_score(&p, &id).await)
}

async fn configs(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    respond(st.query.score_configs(&p).await)
}

async fn put_config(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    let mut config: ScoreConfig = try_or_respond!(json_body(&st, body).await);
    config.data_type = config.data_type.to_ascii_uppercase();
    respond(st.query.put_score_config(&p, config).await)
}

async fn delete_config(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    done(st.query.delete_score_config(&p, &name).await)
}

async fn datasets(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    respond(st.query.datasets(&p).await)
}

async fn create_dataset(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    let d: NewDataset = try_or_respond!(json_body(&st, body).await);
    respond(
        st.query
            .put_dataset(&p, &d, crate::langfuse::unix_now())
            .await,
    )
}

/// `?format=jsonl` of the items listing.
#[derive(Deserialize)]
struct ItemsFormat {
    format: Option<String>,
}

async fn dataset_items(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    format: Result<UrlQuery<ItemsFormat>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    let jsonl = match format {
        Ok(UrlQuery(ItemsFormat { format: None })) => false,
        Ok(UrlQuery(ItemsFormat { format: Some(f) })) => match f.as_str() {
            "json" => false,
            "jsonl" => true,
            other => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    format!("format must be json or jsonl, got {other:?}"),
                )
            }
        },
        Err(e) => return api_error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let view = match st.query.dataset_items(&p, &name).await {
        Ok(v) => v,
        Err(e) => return crate::api::query_error(e),
    };
    if !jsonl {
        return Json(view).into_response();
    }
    let mut body = String::new();
    for item in &view.items {
        body.push_str(&item.jsonl_line().to_string());
        body.push('\n');
    }
    let file = format!(
        "attachment; filename=\"{}.jsonl\"",
        name.replace(
            |c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "_"
        )
    );
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (header::CONTENT_DISPOSITION, file),
        ],
        body,
    )
        .into_response()
}

async fn add_item(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: axum::body::Body,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    let new: NewDatasetItem = try_or_respond!(json_body(&st, body).await);
    match st
        .query
        .add_dataset_item(&p, &name, new, crate::langfuse::unix_now())
        .await
    {
        Ok(item) => (StatusCode::CREATED, Json(item)).into_response(),
        Err(e) => crate::api::query_error(e),
    }
}

async fn delete_item(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    done(st.query.delete_dataset_item(&p, &name, &id).await)
}
