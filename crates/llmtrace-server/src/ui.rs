//! The web UI's routes: `/` (traces), `/health` (ingest health and alerts, server-wide like
//! `/metrics`), `/traces/{id}` (one trace; `?span=` selects a span),
//! `/traces/{id}/spans/{span_id}` (a span's detail panel, swapped in by the page's script) and
//! the two assets; the annotation pages (`/queue`, `/scores`, `/datasets`) are in
//! `ui/annotations.rs`, the session page (`/sessions/{id}`, a session as one conversation) in
//! `ui/session.rs`. Pages come from `llmtrace-ui`; with API keys configured the browser asks for
//! them (HTTP Basic: public key as user name, secret key as password).

use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use llmtrace_query::QueryError;
use llmtrace_ui::TracesForm;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

mod annotations;
mod session;
mod suggest;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(traces))
        .route("/traces/{trace_id}", get(trace))
        .route("/traces/{trace_id}/spans/{span_id}", get(span))
        .route("/traces/{trace_id}/rows", get(rows))
        .route("/traces/{trace_id}/match", get(search_match))
        .route("/dashboard", get(dashboard))
        .route("/sessions", get(sessions))
        .route("/users", get(users))
        .route("/health", get(health))
        .route("/models", get(models))
        .route("/ui/style.css", get(style))
        .route("/ui/app.js", get(script))
        .route("/ui/theme.js", get(theme_script))
        .route("/ui/suggest/{field}", get(suggest::suggest))
        .merge(annotations::routes())
        .merge(session::routes())
        // Pages, the stylesheet and the script compress well (about a fifth of their size); a
        // browser always asks for gzip.
        .layer(tower_http::compression::CompressionLayer::new())
}

fn page(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

/// The 400 page of a query string that does not parse.
fn invalid(title: &str, e: &QueryRejection) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        llmtrace_ui::error_page(title, &e.body_text()),
    )
}

/// The RFC 3339 start of a range of `secs` ending now.
fn preset_since(secs: u64) -> String {
    llmtrace_query::format_rfc3339_nanos(
        now_unix_nano().saturating_sub(secs.saturating_mul(1_000_000_000)),
    )
}

/// Whether a path is one of the UI's pages or assets (a refused request gets the sign-in page).
pub(crate) fn is_ui_path(path: &str) -> bool {
    matches!(
        path,
        "/" | "/dashboard" | "/sessions" | "/users" | "/health" | "/models"
    ) || path.starts_with("/traces/")
        || path.starts_with("/ui/")
        || annotations::is_annotation_path(path)
        || session::is_session_path(path)
}

/// The project of a browser request, or the 401 that makes the browser ask for a key.
pub(crate) fn project<'a>(
    st: &'a AppState,
    headers: &'a HeaderMap,
) -> Result<&'a str, Box<Response>> {
    st.auth.project(headers).map_err(|e| sign_in(&e))
}

/// Who a browser request is, or the 401 that makes the browser ask for a key.
pub(crate) fn identify<'a>(
    st: &'a AppState,
    headers: &HeaderMap,
) -> Result<crate::Identity<'a>, Box<Response>> {
    st.auth.identify(headers).map_err(|e| sign_in(&e))
}

/// The 401 sign-in page for a refused browser request.
fn sign_in(e: &llmtrace_ingest::IngestError) -> Box<Response> {
    {
        let mut r = page(
            StatusCode::UNAUTHORIZED,
            llmtrace_ui::error_page(
                "Sign in",
                &format!(
                    "{} Use your project's public key as user name and its secret key as password.",
                    e.message
                ),
            ),
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"llmtrace\""),
        );
        Box::new(r)
    }
}

fn query_error_page(e: &QueryError) -> Response {
    match e {
        QueryError::BadRequest(m) => page(
            StatusCode::BAD_REQUEST,
            llmtrace_ui::error_page("Invalid request", m),
        ),
        QueryError::NotFound(m) => page(
            StatusCode::NOT_FOUND,
            llmtrace_ui::error_page("Not found", m),
        ),
        QueryError::Store(err) => {
            tracing::error!(error = %err, "UI query failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                llmtrace_ui::error_page("Storage unavailable", &err.to_string()),
            )
        }
    }
}

async fn traces(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Query<TracesForm>, QueryRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    annotations::trace_list(st, headers, form, raw, false).await
}

/// `?span=` of the trace page; `?annotate=` opens its score form with that name; `?q=` (a
/// search from the list) opens the first span it matches.
#[derive(Deserialize)]
struct TraceParams {
    span: Option<String>,
    annotate: Option<String>,
    q: Option<String>,
}

async fn trace(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
    params: Result<Query<TraceParams>, QueryRejection>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let (selected, annotate, search) = match params {
        Ok(Query(p)) => (p.span, p.annotate, p.q.filter(|q| !q.trim().is_empty())),
        Err(_) => (None, None, None),
    };
    match st.query.get_trace(project, &trace_id).await {
        Ok(d) => {
            let ctx = annotations::annotation_context(&st, project, annotate).await;
            page(
                StatusCode::OK,
                llmtrace_ui::trace_page(&d, selected.as_deref(), search.as_deref(), &ctx),
            )
        }
        Err(e) => query_error_page(&e),
    }
}

/// `?from=&to=&dir=` of a chunk of trace rows.
#[derive(Deserialize)]
struct RowsParams {
    from: usize,
    to: usize,
    dir: Option<String>,
}

/// A chunk of a large trace's rows, loaded by the page's script as the reader scrolls.
async fn rows(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
    params: Result<Query<RowsParams>, QueryRejection>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let p = match params {
        Ok(Query(p)) => p,
        Err(e) => return invalid("Invalid rows", &e),
    };
    let dir = match p.dir.as_deref() {
        Some("before") => llmtrace_ui::RowsDirection::Before,
        _ => llmtrace_ui::RowsDirection::After,
    };
    match st.query.get_trace(project, &trace_id).await {
        Ok(d) => page(
            StatusCode::OK,
            llmtrace_ui::trace_rows(&d, p.from, p.to, dir),
        ),
        Err(e) => query_error_page(&e),
    }
}

/// `?q=` of a search match.
#[derive(Deserialize)]
struct MatchParams {
    q: String,
}

/// Where a search matched in a trace: a snippet linking to the span, swapped into the trace
/// list's row by the page's script (empty when nothing in the trace matches).
async fn search_match(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
    params: Result<Query<MatchParams>, QueryRejection>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let p = match params {
        Ok(Query(p)) => p,
        Err(e) => return invalid("Invalid search", &e),
    };
    match st.query.get_trace(project, &trace_id).await {
        Ok(d) => page(
            StatusCode::OK,
            llmtrace_query::search_match(&d.spans, &p.q)
                .map(|m| llmtrace_ui::search_snippet(&d.trace.trace_id, &p.q, &m))
                .unwrap_or_default(),
        ),
        Err(e) => query_error_page(&e),
    }
}

async fn span(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((trace_id, span_id)): Path<(String, String)>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match st.query.get_trace(project, &trace_id).await {
        Ok(d) => match d.spans.iter().find(|s| s.span_id == span_id) {
            Some(s) => page(
                StatusCode::OK,
                llmtrace_ui::span_panel(&d.trace.trace_id, s),
            ),
            None => page(
                StatusCode::NOT_FOUND,
                "<p class=\"error\">No such span in this trace.</p>".to_string(),
            ),
        },
        Err(e) => query_error_page(&e),
    }
}

fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// The filters of one dashboard, for its reads.
struct DashboardReads<'a> {
    st: &'a AppState,
    project: &'a str,
    service: Option<String>,
    model: Option<String>,
    provider: Option<String>,
}

impl DashboardReads<'_> {
    /// Statistics grouped by `group_by` over `[since, until)`, bucketed when `bucket` is set.
    fn stats(
        &self,
        group_by: &str,
        since: u64,
        until: u64,
        bucket: Option<u64>,
    ) -> llmtrace_query::StatsParams {
        llmtrace_query::StatsParams {
            group_by: Some(group_by.into()),
            since: Some(llmtrace_query::format_rfc3339_nanos(since)),
            until: Some(llmtrace_query::format_rfc3339_nanos(until)),
            bucket: bucket.map(|b| b.to_string()),
            service: self.service.clone(),
            model: self.model.clone(),
            provider: self.provider.clone(),
        }
    }

    /// The `limit` first traces by `sort` starting in `[since, until)` (either bound open).
    fn traces(
        &self,
        since: Option<u64>,
        until: Option<u64>,
        sort: &str,
        limit: usize,
    ) -> llmtrace_query::TraceListParams {
        llmtrace_query::TraceListParams {
            since: since.map(llmtrace_query::format_rfc3339_nanos),
            until: until.map(llmtrace_query::format_rfc3339_nanos),
            service: self.service.clone(),
            model: self.model.clone(),
            provider: self.provider.clone(),
            sort: Some(sort.into()),
            limit: Some(limit),
            ..Default::default()
        }
    }

    /// The per-model series of `[since, until)` in buckets of `bucket` seconds.
    async fn series(
        &self,
        since: u64,
        until: u64,
        bucket: u64,
    ) -> Result<llmtrace_query::StatsView, QueryError> {
        let p = self.stats("model", since, until, Some(bucket));
        self.st.query.stats(self.project, &p).await
    }

    /// The newest trace starting before `until` (any time when `None`): its start and end.
    async fn newest(&self, until: Option<u64>) -> Result<Option<(u64, u64)>, QueryError> {
        let p = self.traces(None, until, "time", 1);
        let list = self.st.query.list_traces(self.project, &p).await?;
        Ok(list.traces.first().and_then(|t| {
            let start = llmtrace_query::parse_rfc3339(&t.start_time).ok()?;
            let end = llmtrace_query::parse_rfc3339(&t.end_time)
                .unwrap_or(start)
                .max(start);
            Some((start, end))
        }))
    }
}

/// Bisection steps at most when looking for a young project's first trace (each a one-trace
/// list read; 12 halve a day to about 21 seconds).
const FIRST_TRACE_PROBES: usize = 12;

/// The dashboard's range and how it was chosen, found with one-trace list reads only (no
/// statistics pass, so the page's four reads then run together over the final range). Asked for
/// (a preset or `since`/`until`), the range is kept. Left to the dashboard, the default (the
/// last 24 hours) fits the data: a young project (nothing older than the range) gets a range
/// starting at its first trace, found by bisection; a project with nothing in the range but
/// older data gets the last hour with data.
async fn dashboard_range(
    reads: &DashboardReads<'_>,
    form: &llmtrace_ui::DashboardForm,
    (since, until): (u64, u64),
) -> Result<(u64, u64, llmtrace_ui::RangeFit), QueryError> {
    let asked = Ok((since, until, llmtrace_ui::RangeFit::Asked));
    if !form.fits_data() {
        return asked;
    }
    let Some((newest_start, newest_end)) = reads.newest(None).await? else {
        return asked; // no data at all
    };
    if newest_start < since {
        // Nothing in the range, older data: the last hour with data.
        let (since, until) = llmtrace_ui::last_hour_with_data(newest_end);
        let fit = llmtrace_ui::RangeFit::LastHourWithData {
            newest: newest_start,
        };
        return Ok((since, until, fit));
    }
    if reads.newest(Some(since)).await?.is_some() {
        return asked; // data before the range: not young
    }
    // Young: the first trace starts in [lo, hi).
    let (mut lo, mut hi) = (since, newest_start.saturating_add(1));
    for _ in 0..FIRST_TRACE_PROBES {
        let gap = hi.saturating_sub(lo);
        if gap <= 30 * 1_000_000_000 {
            break;
        }
        let mid = lo.saturating_add(gap / 2);
        if reads.newest(Some(mid)).await?.is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let fitted = llmtrace_ui::young_since(lo, until);
    if fitted <= since {
        return asked;
    }
    let width = llmtrace_ui::bucket_seconds(fitted, until)
        .saturating_mul(1_000_000_000)
        .max(1);
    let first_data = lo
        .saturating_sub(lo.checked_rem(width).unwrap_or(0))
        .max(fitted);
    Ok((fitted, until, llmtrace_ui::RangeFit::Young { first_data }))
}

/// The dashboard: the range (fitted to the data unless asked for), then four reads of the query
/// layer run together.
async fn dashboard(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Query<llmtrace_ui::DashboardForm>, QueryRejection>,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let form = match form {
        Ok(Query(f)) => f,
        Err(e) => return invalid("Invalid filters", &e),
    };
    // An unknown preset, an unreadable time or an empty range: 400 with the reason.
    let window = match form.window(now_unix_nano()) {
        Ok(w) => w,
        Err(m) => {
            return page(
                StatusCode::BAD_REQUEST,
                llmtrace_ui::dashboard_page(&form, Err(&m)),
            )
        }
    };
    let (service, model, provider) = form.filters();
    let reads = DashboardReads {
        st: &st,
        project,
        service,
        model,
        provider,
    };
    let (since, until, fit) = match dashboard_range(&reads, &form, window).await {
        Ok(r) => r,
        Err(e) => return query_error_page(&e),
    };
    let bucket = llmtrace_ui::bucket_seconds(since, until);
    let (models_p, costly_p, slow_p) = (
        reads.stats("model", since, until, None),
        reads.traces(Some(since), Some(until), "cost", 10),
        reads.traces(Some(since), Some(until), "duration", 10),
    );
    let (series, models, costliest, slowest) = tokio::join!(
        reads.series(since, until, bucket),
        st.query.stats(project, &models_p),
        st.query.list_traces(project, &costly_p),
        st.query.list_traces(project, &slow_p),
    );
    match (series, models, costliest, slowest) {
        (Ok(series), Ok(models), Ok(costliest), Ok(slowest)) => {
            // The score charts by service need the same series grouped by service.
            let services = match series.scores.is_empty() {
                true => None,
                false => {
                    let p = reads.stats("service", since, until, Some(bucket));
                    st.query.stats(project, &p).await.ok()
                }
            };
            let data = llmtrace_ui::DashboardData {
                since_unix_nano: since,
                until_unix_nano: until,
                bucket_seconds: bucket,
                fit,
                series: &series,
                models: &models,
                costliest: &costliest,
                slowest: &slowest,
                services: services.as_ref(),
            };
            page(
                StatusCode::OK,
                llmtrace_ui::dashboard_page(&form, Ok(&data)),
            )
        }
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => query_error_page(&e),
    }
}

async fn sessions(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Query<llmtrace_ui::GroupsForm>, QueryRejection>,
) -> Response {
    groups(st, headers, form, llmtrace_ui::GroupsKind::Sessions).await
}

async fn users(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Query<llmtrace_ui::GroupsForm>, QueryRejection>,
) -> Response {
    groups(st, headers, form, llmtrace_ui::GroupsKind::Users).await
}

/// The sessions or users page.
async fn groups(
    st: Arc<AppState>,
    headers: HeaderMap,
    form: Result<Query<llmtrace_ui::GroupsForm>, QueryRejection>,
    kind: llmtrace_ui::GroupsKind,
) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let form = match form {
        Ok(Query(f)) => f,
        Err(e) => return invalid("Invalid filters", &e),
    };
    let since = form.range().seconds().map(preset_since);
    let params = llmtrace_query::TraceGroupParams {
        since,
        until: None,
        limit: Some(50),
        offset: form.offset,
    };
    let by = match kind {
        llmtrace_ui::GroupsKind::Sessions => llmtrace_store::TraceGroupBy::Session,
        llmtrace_ui::GroupsKind::Users => llmtrace_store::TraceGroupBy::User,
    };
    match st.query.trace_groups(project, by, &params).await {
        Ok(list) => page(
            StatusCode::OK,
            llmtrace_ui::groups_page(kind, &form, Ok(&list)),
        ),
        Err(e) => query_error_page(&e),
    }
}

/// The project's models (stats, unpriced) and the price table in effect.
async fn models(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let project = match project(&st, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let stats = st
        .query
        .stats(project, &llmtrace_query::StatsParams::default())
        .await
        .map_err(|e| e.to_string());
    let unpriced = st
        .query
        .unpriced_models(project)
        .await
        .map_err(|e| e.to_string());
    let book = st.ingest.prices().current();
    let user_entries = book
        .entries_for(project)
        .filter(|e| e.source != llmtrace_pricing::PriceSource::Builtin)
        .count();
    let snapshot = llmtrace_pricing::BUILTIN_SNAPSHOT_DATE;
    // The price in effect now for each model seen (a built-in price has no start date: its
    // effective_from is the 1970 epoch, which the page shows as "since the start").
    let now = now_unix_nano();
    let model_prices = stats
        .as_ref()
        .map(|s| {
            s.groups
                .iter()
                .filter_map(|g| g.key.as_deref())
                .filter_map(|m| {
                    let e = book.lookup_for_project(project, None, m, now)?;
                    Some(llmtrace_ui::ModelPrice {
                        model: m.to_string(),
                        source: e.source.as_str().to_string(),
                        effective_from: (e.effective_from != llmtrace_pricing::Day::EPOCH)
                            .then(|| e.effective_from.to_string()),
                        input_per_million: e
                            .rates
                            .standard
                            .input
                            .map(|p| p.to_per_million_string()),
                        output_per_million: e
                            .rates
                            .standard
                            .output
                            .map(|p| p.to_per_million_string()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let summary = llmtrace_ui::PriceTableSummary {
        entries: book.entries_for(project).count(),
        user_entries,
        builtin_snapshot: snapshot.to_string(),
        builtin_age_days: age_days(snapshot),
        model_prices,
    };
    page(
        StatusCode::OK,
        llmtrace_ui::models_page(
            stats.as_ref().map_err(String::as_str),
            unpriced.as_ref().map_err(String::as_str),
            &summary,
        ),
    )
}

/// Days from a `YYYY-MM-DD` date to today (UTC).
fn age_days(date: &str) -> Option<i64> {
    let then = llmtrace_query::parse_rfc3339(&format!("{date}T00:00:00Z")).ok()?;
    i64::try_from(now_unix_nano().saturating_sub(then) / 86_400_000_000_000).ok()
}

/// Server-wide health and alerts (the same figures `/api/ingest`, `/api/evaluators` and
/// `/api/alerts` serve).
async fn health(State(st): State<Arc<AppState>>) -> Response {
    let ingest = crate::observability::ingest_health(&st).await;
    let alerts = st.alerts.as_ref().map(|a| a.snapshot());
    let evaluators: Vec<llmtrace_ui::EvaluatorHealth> = st
        .evaluators
        .as_ref()
        .map(|e| e.statuses())
        .unwrap_or_default()
        .into_iter()
        .map(|e| llmtrace_ui::EvaluatorHealth {
            detail: match &e.judge {
                Some(j) => format!("{} · {} at {}", e.target, j.model, j.url),
                None => e.target.clone(),
            },
            name: e.name,
            kind: e.kind,
            scored: e.scored,
            failed: e.failed,
            skipped: e.skipped,
            last_error: e.last_error,
            last_error_at: e.last_error_at,
        })
        .collect();
    page(
        StatusCode::OK,
        llmtrace_ui::health_page(&ingest, &evaluators, alerts.as_ref()),
    )
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        llmtrace_ui::stylesheet(),
    )
        .into_response()
}

async fn theme_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        llmtrace_ui::THEME_SCRIPT,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        llmtrace_ui::script(),
    )
        .into_response()
}
