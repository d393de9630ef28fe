//! Read-side use cases over the store: trace search, one trace with its spans, and model-call
//! statistics, returned as the stable JSON view models of the API (`docs/api.md`). Knows the
//! store traits and nothing of HTTP; the API, the CLI and (later) the UI use these views.

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap
    )
)]

mod annotations;
mod dataset_items;
mod error;
mod export;
mod params;
mod search_match;
mod session_thread;
mod timefmt;
mod views;

pub use annotations::{
    check_config, check_name, check_score_against, DatasetItemView, DatasetItemsView,
    DatasetListView, DatasetView, NewDataset, ScoreConfigsView, ScoreNamesView, ScoreStatsView,
    MAX_CATEGORIES, MAX_DESCRIPTION_BYTES, MAX_NAME_BYTES,
};
pub use dataset_items::NewDatasetItem;
pub use error::QueryError;
pub use export::{
    csv_field, csv_text, trace_csv_row, traces_csv, TraceExport, MAX_EXPORT_TRACES,
    TRACE_CSV_COLUMNS,
};
pub use llmtrace_store::{ScoreConfig, ScoreName};
pub use params::{
    parse_bucket_seconds, score_params, RecomputeParams, StatsParams, TraceGroupParams,
    TraceListParams,
};
pub use search_match::{search_match, SearchMatch};
pub use session_thread::{
    turn_of, SessionThreadView, ToolCallView, TurnText, TurnView, MAX_THREAD_SPANS,
    MAX_THREAD_TRACES, MAX_THREAD_TURNS,
};
pub use timefmt::{format_rfc3339_nanos, parse_rfc3339};
pub use views::{
    known_cost_usd, EventView, LinkView, RecomputeView, ScoreView, SpanView, StatsGroupView,
    StatsView, TraceDetailView, TraceGroupListView, TraceGroupView, TraceListView,
    TraceSummaryView, UnpricedListView, UnpricedModelView,
};

use llmtrace_model::TraceId;
use llmtrace_store::{
    AnnotationStore, CostRecomputer, Pricer, RecomputeRequest, StatsQuery, Store, StoreHealth,
    TraceGroupBy, TraceQuery, TraceReader,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A trace without a root span counts as orphaned once its latest span ended this long ago.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(300);
/// How long a store health reading is reused (scrapes come every few seconds; the count scans
/// an index).
const HEALTH_TTL: Duration = Duration::from_secs(10);

/// Now, in Unix nanoseconds.
pub(crate) fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
        .try_into()
        .unwrap_or(u64::MAX)
}

/// The query layer.
#[derive(Clone)]
pub struct Query {
    reader: Arc<dyn TraceReader>,
    costs: Arc<dyn CostRecomputer>,
    annotations: Arc<dyn AnnotationStore>,
    health: Arc<Mutex<Option<(Instant, StoreHealth)>>>,
}

impl Query {
    /// Builds the query layer over a store.
    pub fn new<S: Store + 'static>(store: Arc<S>) -> Self {
        Query {
            reader: store.clone(),
            costs: store.clone(),
            annotations: store,
            health: Arc::new(Mutex::new(None)),
        }
    }

    /// The store's size and orphaned traces (no root span, latest span ended more than
    /// [`ORPHAN_GRACE`] ago), read at most every 10 seconds.
    pub async fn store_health(&self) -> Result<StoreHealth, QueryError> {
        if let Ok(cached) = self.health.lock() {
            if let Some((at, h)) = cached.as_ref() {
                if at.elapsed() < HEALTH_TTL {
                    return Ok(h.clone());
                }
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let before = u64::try_from(now.saturating_sub(ORPHAN_GRACE).as_nanos()).unwrap_or(u64::MAX);
        let h = self.reader.health(before).await?;
        if let Ok(mut cached) = self.health.lock() {
            *cached = Some((Instant::now(), h.clone()));
        }
        Ok(h)
    }

    /// `GET /api/prices/unpriced`: models seen on model calls without a price.
    pub async fn unpriced_models(&self, project: &str) -> Result<UnpricedListView, QueryError> {
        let models = self.costs.unpriced_models(project).await?;
        Ok(UnpricedListView {
            models: models.iter().map(UnpricedModelView::from).collect(),
        })
    }

    /// `POST /api/pricing/recompute`: re-prices stored spans with `pricer`.
    pub async fn recompute_costs(
        &self,
        project: &str,
        params: &RecomputeParams,
        pricer: Pricer,
    ) -> Result<RecomputeView, QueryError> {
        let req: RecomputeRequest = params.to_request(project)?;
        let report = self.costs.recompute_costs(&req, pricer).await?;
        Ok(RecomputeView::from(&report))
    }

    /// `GET /api/traces`.
    pub async fn list_traces(
        &self,
        project: &str,
        params: &TraceListParams,
    ) -> Result<TraceListView, QueryError> {
        let q: TraceQuery = params.to_query(project)?;
        let page = self.reader.list_traces(&q).await?;
        let ids: Vec<TraceId> = page.traces.iter().map(|t| t.trace_id).collect();
        let mut scores: std::collections::HashMap<String, Vec<ScoreView>> = Default::default();
        if !ids.is_empty() {
            for s in self.annotations.scores_of_traces(project, &ids).await? {
                scores
                    .entry(s.trace_id.to_ascii_lowercase())
                    .or_default()
                    .push(ScoreView::from(&s));
            }
        }
        Ok(TraceListView {
            traces: page
                .traces
                .iter()
                .map(|t| {
                    let mut v = TraceSummaryView::from(t);
                    v.scores = scores.remove(&v.trace_id).unwrap_or_default();
                    v
                })
                .collect(),
            next_cursor: page.next_cursor.map(|c| c.encode()),
        })
    }

    /// `GET /api/traces/{trace_id}`: a malformed id is a bad request, an unknown one not found.
    pub async fn get_trace(
        &self,
        project: &str,
        trace_id: &str,
    ) -> Result<TraceDetailView, QueryError> {
        let id = TraceId::from_hex(trace_id).map_err(|e| {
            QueryError::BadRequest(format!(
                "invalid trace id {trace_id:?}: {e} (expected 32 hex characters)"
            ))
        })?;
        let mut detail = self
            .reader
            .get_trace(project, id)
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("trace {} not found", id.to_hex())))?;
        // GenAI content sent as log records joins its span here, where both are known.
        if detail.logs.iter().any(llmtrace_normalize::is_gen_ai_log) {
            for s in &mut detail.spans {
                llmtrace_normalize::attach_logs(&mut s.span, &detail.logs);
            }
        }
        Ok(TraceDetailView::from(&detail))
    }

    /// `GET /api/stats`.
    pub async fn stats(
        &self,
        project: &str,
        params: &StatsParams,
    ) -> Result<StatsView, QueryError> {
        let q: StatsQuery = params.to_query(project)?;
        let groups = self.reader.stats(&q).await?;
        let scores = self.annotations.score_stats(&q).await?;
        Ok(StatsView {
            scores: scores.iter().map(ScoreStatsView::from).collect(),
            group_by: q.group_by.as_str().to_string(),
            since: q.since_unix_nano.map(format_rfc3339_nanos),
            until: q.until_unix_nano.map(format_rfc3339_nanos),
            bucket_seconds: q.bucket_nanos.map(|n| n / 1_000_000_000),
            groups: groups.iter().map(StatsGroupView::from).collect(),
        })
    }

    /// `GET /api/sessions` and `GET /api/users`: traces grouped by session or user.
    pub async fn trace_groups(
        &self,
        project: &str,
        by: TraceGroupBy,
        params: &TraceGroupParams,
    ) -> Result<TraceGroupListView, QueryError> {
        let q = params.to_query(project, by)?;
        let groups = self.reader.trace_groups(&q).await?;
        Ok(TraceGroupListView {
            group_by: by.as_str().to_string(),
            next_offset: (groups.len() == q.limit).then_some(q.offset.saturating_add(q.limit)),
            groups: groups.iter().map(TraceGroupView::from).collect(),
        })
    }
}
