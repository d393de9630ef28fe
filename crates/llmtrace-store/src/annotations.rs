//! What people and evaluators add on top of traces, and its queries: score aggregates, score
//! configs (what an annotator may enter for a score name), and datasets built from traces.

use crate::{StatsQuery, StoreError};
use async_trait::async_trait;
use llmtrace_model::{Score, TraceId};
use serde::{Deserialize, Serialize};

/// Aggregates of the scores of one name in one group (see [`AnnotationStore::score_stats`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ScoreStatsGroup {
    /// Start of the group's time bucket (by the score's time), when the query asked for buckets.
    pub bucket_start_unix_nano: Option<u64>,
    /// Group value: the dimension of the scored span, or of the trace's root span for a score
    /// on a whole trace (`None` when it has none).
    pub key: Option<String>,
    /// Score name.
    pub name: String,
    /// Scores.
    pub count: u64,
    /// Scores with a numeric value (NUMERIC and BOOLEAN).
    pub numeric_count: u64,
    /// Sum of the numeric values.
    pub sum: f64,
    /// Smallest numeric value.
    pub min: Option<f64>,
    /// Largest numeric value.
    pub max: Option<f64>,
    /// Scores per label, by label.
    pub labels: Vec<(String, u64)>,
}

impl ScoreStatsGroup {
    /// Mean of the numeric values, when there are any.
    pub fn average(&self) -> Option<f64> {
        if self.numeric_count == 0 {
            return None;
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "a count of scores as the divisor of a mean"
        )]
        let n = self.numeric_count as f64;
        Some(self.sum / n)
    }

    /// Adds one score.
    pub fn add(&mut self, score: &Score) {
        self.count = self.count.saturating_add(1);
        if let Some(v) = score.value.filter(|v| v.is_finite()) {
            self.numeric_count = self.numeric_count.saturating_add(1);
            self.sum += v;
            self.min = Some(self.min.map_or(v, |m| m.min(v)));
            self.max = Some(self.max.map_or(v, |m| m.max(v)));
        }
        if let Some(label) = &score.string_value {
            match self.labels.binary_search_by(|(l, _)| l.as_str().cmp(label)) {
                Ok(i) => {
                    if let Some((_, n)) = self.labels.get_mut(i) {
                        *n = n.saturating_add(1);
                    }
                }
                Err(i) => self.labels.insert(i, (label.clone(), 1)),
            }
        }
    }
}

/// The dimensions a score is grouped and filtered by, as the store found them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoredDims {
    /// Model (response model, else request model).
    pub model: Option<String>,
    /// Canonical provider.
    pub provider: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// Operation.
    pub operation: Option<String>,
}

/// Groups scores with their dimensions under a stats query (filters, grouping, buckets by the
/// score's time), the one rule every backend applies after fetching the scores in range:
/// groups ordered by bucket, key (`None` first), then name.
pub fn group_scores(
    q: &StatsQuery,
    scored: impl IntoIterator<Item = (Score, ScoredDims)>,
) -> Vec<ScoreStatsGroup> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(Option<u64>, Option<String>, String), ScoreStatsGroup> =
        BTreeMap::new();
    for (score, dims) in scored {
        let t = score.timestamp_unix_nano;
        if q.since_unix_nano.is_some_and(|s| t < s) || q.until_unix_nano.is_some_and(|u| t >= u) {
            continue;
        }
        let keep = |want: &Option<String>, got: &Option<String>| {
            want.as_ref().is_none_or(|w| got.as_ref() == Some(w))
        };
        if !keep(&q.service, &dims.service)
            || !keep(&q.model, &dims.model)
            || !keep(&q.provider, &dims.provider)
        {
            continue;
        }
        let key = match q.group_by {
            crate::GroupBy::Model => dims.model,
            crate::GroupBy::Provider => dims.provider,
            crate::GroupBy::Service => dims.service,
            crate::GroupBy::Operation => dims.operation,
        };
        let bucket = q.bucket_of(t);
        let g = groups
            .entry((bucket, key.clone(), score.name.clone()))
            .or_insert_with(|| ScoreStatsGroup {
                bucket_start_unix_nano: bucket,
                key,
                name: score.name.clone(),
                ..Default::default()
            });
        g.add(&score);
    }
    groups.into_values().collect()
}

/// A score name used in a project, with how often and how.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ScoreName {
    /// Score name.
    pub name: String,
    /// Scores of that name.
    pub count: u64,
    /// Whether any carries a numeric value.
    pub numeric: bool,
    /// Labels seen (at most [`MAX_LABELS`]), sorted.
    pub labels: Vec<String>,
}

/// Labels [`ScoreName::labels`] lists at most.
pub const MAX_LABELS: usize = 50;

/// What an annotator may enter for a score name in a project (Langfuse's "score config").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ScoreConfig {
    /// Tenant.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    /// Score name.
    pub name: String,
    /// `NUMERIC`, `CATEGORICAL` or `BOOLEAN`.
    pub data_type: String,
    /// Smallest allowed value (NUMERIC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest allowed value (NUMERIC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Allowed labels (CATEGORICAL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// What the score means, for annotators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A named collection of examples (input, expected output) built from traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Dataset {
    /// Tenant.
    #[serde(default)]
    pub project: String,
    /// Name, unique in the project.
    pub name: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was created, Unix nanoseconds.
    #[serde(default)]
    pub created_unix_nano: u64,
    /// Items it holds (filled by [`AnnotationStore::datasets`]).
    #[serde(default)]
    pub item_count: u64,
}

/// One example of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DatasetItem {
    /// Tenant.
    #[serde(default)]
    pub project: String,
    /// The dataset's name.
    #[serde(default)]
    pub dataset: String,
    /// Id, unique in the dataset; an item stored again under the same id replaces it.
    pub id: String,
    /// Input (messages, a prompt, any JSON).
    pub input: serde_json::Value,
    /// The output the source span or trace produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// The output wanted (editable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_output: Option<serde_json::Value>,
    /// Anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// Trace it came from (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_trace_id: Option<String>,
    /// Span it came from (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_span_id: Option<String>,
    /// When it was added, Unix nanoseconds (kept when the item is replaced).
    #[serde(default)]
    pub created_unix_nano: u64,
}

/// Scores beyond the trace detail, score configs and datasets.
///
/// Contract, for every implementation: everything is per project (another project's rows are
/// never read, counted or changed); writes are durable on `Ok` and visible to every read that
/// starts after; a config, dataset or item stored again under its key replaces the stored one.
#[async_trait]
pub trait AnnotationStore: Send + Sync {
    /// Aggregates of the scores given in the query's time range (by score time), grouped by the
    /// query's dimension as [`group_scores`] does.
    async fn score_stats(&self, query: &StatsQuery) -> Result<Vec<ScoreStatsGroup>, StoreError>;

    /// The score names of a project, most used first.
    async fn score_names(&self, project: &str) -> Result<Vec<ScoreName>, StoreError>;

    /// The scores of these traces (on them or their spans), oldest first.
    async fn scores_of_traces(
        &self,
        project: &str,
        traces: &[TraceId],
    ) -> Result<Vec<Score>, StoreError>;

    /// Deletes a score; whether it existed.
    async fn delete_score(&self, project: &str, score_id: &str) -> Result<bool, StoreError>;

    /// The score configs of a project, by name.
    async fn score_configs(&self, project: &str) -> Result<Vec<ScoreConfig>, StoreError>;

    /// Stores a score config (replacing the one of that name).
    async fn put_score_config(&self, config: &ScoreConfig) -> Result<(), StoreError>;

    /// Deletes a score config; whether it existed.
    async fn delete_score_config(&self, project: &str, name: &str) -> Result<bool, StoreError>;

    /// The datasets of a project with their item counts, by name.
    async fn datasets(&self, project: &str) -> Result<Vec<Dataset>, StoreError>;

    /// Stores a dataset (replacing its description; its items stay).
    async fn put_dataset(&self, dataset: &Dataset) -> Result<(), StoreError>;

    /// Stores an item of an existing dataset (replacing the item of that id, whose creation
    /// time is kept); `false` (nothing stored) when the dataset does not exist.
    async fn put_dataset_item(&self, item: &DatasetItem) -> Result<bool, StoreError>;

    /// The items of a dataset, oldest first; `None` when the dataset does not exist.
    async fn dataset_items(
        &self,
        project: &str,
        dataset: &str,
    ) -> Result<Option<Vec<DatasetItem>>, StoreError>;

    /// Deletes an item; whether it existed.
    async fn delete_dataset_item(
        &self,
        project: &str,
        dataset: &str,
        id: &str,
    ) -> Result<bool, StoreError>;
}
