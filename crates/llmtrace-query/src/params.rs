//! API query parameters, as received, and their validation into store queries.

use crate::{parse_rfc3339, QueryError};
use llmtrace_model::Money;
use llmtrace_store::{GroupBy, StatsQuery, TraceCursor, TraceQuery, TraceSort, MAX_PAGE_SIZE};
use serde::Deserialize;

/// Parameters of `GET /api/traces` (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TraceListParams {
    /// Service filter.
    pub service: Option<String>,
    /// Model filter.
    pub model: Option<String>,
    /// Provider filter.
    pub provider: Option<String>,
    /// `error` for traces with errors only.
    pub status: Option<String>,
    /// User filter.
    pub user_id: Option<String>,
    /// Session filter.
    pub session_id: Option<String>,
    /// RFC 3339 lower bound of the trace start.
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive) of the trace start.
    pub until: Option<String>,
    /// Minimum duration in milliseconds.
    pub min_duration_ms: Option<f64>,
    /// Minimum cost in USD (decimal, e.g. `0.05`).
    pub min_cost: Option<String>,
    /// `time` (default, newest first) or `cost` (costliest first).
    pub sort: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
}

fn time_param(name: &str, v: &Option<String>) -> Result<Option<u64>, QueryError> {
    non_empty(v)
        .map(|s| parse_rfc3339(&s).map_err(|e| QueryError::BadRequest(format!("{name}: {e}"))))
        .transpose()
}

impl TraceListParams {
    /// Validates into a store query.
    pub fn to_query(&self, project: &str) -> Result<TraceQuery, QueryError> {
        let errors_only = match self.status.as_deref() {
            None | Some("") => false,
            Some("error") => true,
            Some(other) => {
                return Err(QueryError::BadRequest(format!(
                    "status: unsupported value {other:?} (only \"error\")"
                )))
            }
        };
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(QueryError::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}"
            )));
        }
        let min_duration_nanos = match self.min_duration_ms {
            Some(ms) if !(ms >= 0.0 && ms.is_finite()) => {
                return Err(QueryError::BadRequest(format!(
                    "min_duration_ms must be a non-negative number, got {ms}"
                )))
            }
            Some(ms) => Some((ms * 1e6) as u64),
            None => None,
        };
        let min_cost_pico = match non_empty(&self.min_cost) {
            Some(c) => Some(
                Money::parse_decimal(&c)
                    .filter(|m| m.pico_usd >= 0)
                    .ok_or_else(|| {
                        QueryError::BadRequest(format!(
                            "min_cost must be a non-negative decimal amount of USD, got {c:?}"
                        ))
                    })?
                    .pico_usd,
            ),
            None => None,
        };
        let sort = match self.sort.as_deref() {
            None | Some("") | Some("time") => TraceSort::Time,
            Some("cost") => TraceSort::Cost,
            Some(other) => {
                return Err(QueryError::BadRequest(format!(
                    "sort must be time or cost, got {other:?}"
                )))
            }
        };
        let cursor = match non_empty(&self.cursor) {
            Some(c) => Some(
                TraceCursor::decode(&c)
                    .ok_or_else(|| QueryError::BadRequest(format!("cursor {c:?} is not valid")))?,
            ),
            None => None,
        };
        Ok(TraceQuery {
            project: project.to_string(),
            service: non_empty(&self.service),
            model: non_empty(&self.model),
            provider: non_empty(&self.provider),
            errors_only,
            user_id: non_empty(&self.user_id),
            session_id: non_empty(&self.session_id),
            since_unix_nano: time_param("since", &self.since)?,
            until_unix_nano: time_param("until", &self.until)?,
            min_duration_nanos,
            min_cost_pico,
            sort,
            limit,
            cursor,
        })
    }
}

/// Parameters of `GET /api/stats`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatsParams {
    /// `model` (default), `provider`, `service` or `operation`.
    pub group_by: Option<String>,
    /// RFC 3339 lower bound of the call start.
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    pub until: Option<String>,
}

impl StatsParams {
    /// Validates into a store query.
    pub fn to_query(&self, project: &str) -> Result<StatsQuery, QueryError> {
        let group = self.group_by.as_deref().unwrap_or("model");
        let group_by = GroupBy::parse(group).ok_or_else(|| {
            QueryError::BadRequest(format!(
                "group_by must be model, provider, service or operation, got {group:?}"
            ))
        })?;
        Ok(StatsQuery {
            project: project.to_string(),
            group_by,
            since_unix_nano: time_param("since", &self.since)?,
            until_unix_nano: time_param("until", &self.until)?,
        })
    }
}

/// Parameters of `POST /api/pricing/recompute` (query string).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecomputeParams {
    /// RFC 3339: only spans starting at or after this time.
    pub since: Option<String>,
    /// Only spans of this model.
    pub model: Option<String>,
    /// `true` to compute and report without writing.
    pub dry_run: Option<bool>,
}

impl RecomputeParams {
    /// Validates into a store request.
    pub fn to_request(
        &self,
        project: &str,
    ) -> Result<llmtrace_store::RecomputeRequest, QueryError> {
        Ok(llmtrace_store::RecomputeRequest {
            project: project.to_string(),
            since_unix_nano: time_param("since", &self.since)?,
            model: non_empty(&self.model),
            dry_run: self.dry_run.unwrap_or(false),
            batch_spans: 2_000,
        })
    }
}
