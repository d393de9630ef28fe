//! `/ui/suggest/{field}`: the values a trace-list filter suggests as the reader types, with how
//! often each occurs: services, models and providers by calls over the last 30 days (from the
//! call statistics), users by traces (from the user summaries). Fetched by the page's script
//! when a filter field gets the focus, so the list page itself stays one query.

use super::{preset_since, project};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmtrace_query::{StatsParams, TraceGroupParams};
use llmtrace_store::TraceGroupBy;
use serde::Serialize;
use std::sync::Arc;

/// Values suggested at most per field.
const MAX_SUGGESTIONS: usize = 200;

/// How far back suggestions look.
const SUGGEST_SECONDS: u64 = 30 * 86_400;

/// One suggested value.
#[derive(Debug, Serialize)]
struct Suggestion {
    /// The value.
    value: String,
    /// How often it occurs, in `unit`s.
    count: u64,
    /// `calls` or `traces`.
    unit: &'static str,
}

/// The suggestions of one filter field (`service`, `model`, `provider`, `user`).
pub(super) async fn suggest(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(field): Path<String>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let since = Some(preset_since(SUGGEST_SECONDS));
    let found = match field.as_str() {
        "service" | "model" | "provider" => {
            let params = StatsParams {
                group_by: Some(field.clone()),
                since,
                ..Default::default()
            };
            st.query.stats(project, &params).await.map(|v| {
                v.groups
                    .into_iter()
                    .filter_map(|g| {
                        Some(Suggestion {
                            value: g.key?,
                            count: g.calls,
                            unit: "calls",
                        })
                    })
                    .collect::<Vec<_>>()
            })
        }
        "user" => {
            let params = TraceGroupParams {
                since,
                limit: Some(MAX_SUGGESTIONS),
                ..Default::default()
            };
            st.query
                .trace_groups(project, TraceGroupBy::User, &params)
                .await
                .map(|v| {
                    v.groups
                        .into_iter()
                        .map(|g| Suggestion {
                            value: g.id,
                            count: g.trace_count,
                            unit: "traces",
                        })
                        .collect::<Vec<_>>()
                })
        }
        _ => {
            return (
                StatusCode::NOT_FOUND,
                "no suggestions for this field: use service, model, provider or user",
            )
                .into_response()
        }
    };
    match found {
        Ok(mut list) => {
            // Most frequent first, then by name.
            list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            list.truncate(MAX_SUGGESTIONS);
            Json(list).into_response()
        }
        Err(e) => super::query_error_page(&e),
    }
}
