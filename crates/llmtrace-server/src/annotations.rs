//! The annotation API (docs/api.md): score names, deletion of a score, score configs, and
//! datasets built from traces. The transport only: the use cases and checks are
//! `llmtrace_query`'s, the storage the store's.

use crate::error::api_error;
use crate::AppState;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Json;
use llmtrace_model::{Message, MessagePart};
use llmtrace_query::{DatasetItemView, NewDataset, QueryError, SpanView};
use llmtrace_store::{DatasetItem, ScoreConfig};
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

fn respond<T: serde::Serialize>(r: Result<T, QueryError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => crate::api::query_error(e),
    }
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

/// The JSON body, within the size and shape limits of every JSON body.
async fn json_body<T: serde::de::DeserializeOwned>(
    st: &AppState,
    body: axum::body::Body,
) -> Result<T, Box<Response>> {
    let bytes = crate::body_read::read_body(body, MAX_BODY)
        .await
        .map_err(|e| Box::new(crate::error::class_error(e.class, e.message)))?;
    if let Some(refused) =
        crate::request_limits::check_json_values(st.ingest.decode_limits(), &bytes)
    {
        return Err(Box::new(refused));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
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

/// Body of `POST /api/datasets/{name}/items`: an item given in full (`input`, ...), or taken
/// from a stored span (`trace_id` and `span_id`) or trace (`trace_id` alone: its root span's
/// messages, else its first model call's input and last model call's output).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    id: Option<String>,
    input: Option<serde_json::Value>,
    output: Option<serde_json::Value>,
    expected_output: Option<serde_json::Value>,
    metadata: Option<serde_json::Value>,
    trace_id: Option<String>,
    span_id: Option<String>,
}

/// Messages as the chat APIs write them: `{"role", "content"}` with the text when every part
/// is text, else the parts as stored.
fn chat_messages(system: &[MessagePart], messages: &[Message]) -> serde_json::Value {
    let mut out = Vec::new();
    if !system.is_empty() {
        out.push(chat_message(&Message {
            role: "system".into(),
            parts: system.to_vec(),
            ..Default::default()
        }));
    }
    out.extend(messages.iter().map(chat_message));
    serde_json::Value::Array(out)
}

fn chat_message(m: &Message) -> serde_json::Value {
    let all_text = m
        .parts
        .iter()
        .all(|p| matches!(p, MessagePart::Text { .. }));
    if all_text {
        serde_json::json!({"role": m.role, "content": m.text_content()})
    } else {
        serde_json::json!({"role": m.role, "content": m.parts})
    }
}

/// A completion as a string when it is one text message, else as messages.
fn completion(messages: &[Message]) -> Option<serde_json::Value> {
    match messages {
        [] => None,
        [m] if m
            .parts
            .iter()
            .all(|p| matches!(p, MessagePart::Text { .. })) =>
        {
            Some(m.text_content().into())
        }
        many => Some(chat_messages(&[], many)),
    }
}

/// Input and output of a span, or of a trace (see [`NewItem`]).
fn from_spans(
    spans: &[SpanView],
    span_id: Option<&str>,
) -> Option<(serde_json::Value, Option<serde_json::Value>)> {
    let of = |s: &SpanView| {
        (
            chat_messages(&s.system_instructions, &s.input_messages),
            completion(&s.output_messages),
        )
    };
    if let Some(id) = span_id {
        let id = id.to_ascii_lowercase();
        return spans.iter().find(|s| s.span_id == id).map(of);
    }
    let root = spans.iter().find(|s| s.parent_span_id.is_none());
    if let Some(r) = root.filter(|r| !r.input_messages.is_empty() || !r.output_messages.is_empty())
    {
        return Some(of(r));
    }
    let calls: Vec<&SpanView> = spans
        .iter()
        .filter(|s| !s.input_messages.is_empty() || !s.output_messages.is_empty())
        .collect();
    match (calls.first(), calls.last()) {
        (Some(first), Some(last)) => Some((
            chat_messages(&first.system_instructions, &first.input_messages),
            completion(&last.output_messages),
        )),
        _ => root.map(of),
    }
}

async fn add_item(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: axum::body::Body,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    let new: NewItem = try_or_respond!(json_body(&st, body).await);
    let now = crate::langfuse::unix_now();
    let (input, output) = match (&new.trace_id, new.input.clone()) {
        (Some(trace), None) => {
            let detail = match st.query.get_trace(&p, trace).await {
                Ok(d) => d,
                Err(e) => return crate::api::query_error(e),
            };
            match from_spans(&detail.spans, new.span_id.as_deref()) {
                Some((input, output)) => (input, new.output.clone().or(output)),
                None => {
                    return api_error(
                        StatusCode::NOT_FOUND,
                        format!(
                            "span {:?} not found in trace {trace}",
                            new.span_id.as_deref().unwrap_or("")
                        ),
                    )
                }
            }
        }
        (_, Some(input)) => (input, new.output.clone()),
        (None, None) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "an item needs an input, or a trace_id (and span_id) to take it from",
            )
        }
    };
    let trace = new.trace_id.as_deref().map(str::to_ascii_lowercase);
    let span = new.span_id.as_deref().map(str::to_ascii_lowercase);
    let id = new.id.clone().unwrap_or_else(|| match (&trace, &span) {
        // The same span added twice is one item (its expected output edited in place).
        (Some(t), s) => llmtrace_model::digest_id("item", &[t, s.as_deref().unwrap_or("")]),
        (None, _) => llmtrace_model::digest_id("item", &[&input.to_string()]),
    });
    let item = DatasetItem {
        project: p.clone(),
        dataset: name.clone(),
        id,
        input,
        output,
        expected_output: new.expected_output,
        metadata: new.metadata,
        source_trace_id: trace,
        source_span_id: span,
        created_unix_nano: now,
    };
    if let Err(e) = st.query.put_dataset_item(&item).await {
        return crate::api::query_error(e);
    }
    (StatusCode::CREATED, Json(DatasetItemView::from(&item))).into_response()
}

async fn delete_item(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let p = try_or_respond!(project(&st, &headers));
    done(st.query.delete_dataset_item(&p, &name, &id).await)
}
