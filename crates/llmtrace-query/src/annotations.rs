//! Use cases over scores, score configs and datasets, with their API views and validation
//! (`docs/api.md`, `docs/evaluations.md`).

use crate::{format_rfc3339_nanos, Query, QueryError};
use llmtrace_store::{Dataset, DatasetItem, ScoreConfig, ScoreName, ScoreStatsGroup};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest score, config, dataset or item name accepted.
pub const MAX_NAME_BYTES: usize = 200;
/// Most labels a categorical score config may list.
pub const MAX_CATEGORIES: usize = 100;
/// Longest description of a score config or dataset.
pub const MAX_DESCRIPTION_BYTES: usize = 4096;

/// Aggregates of one score name in one group of `GET /api/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreStatsView {
    /// Start of the group's time bucket (only with `bucket`), by score time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_start: Option<String>,
    /// Group value: the scored span's (the root span's for a trace score); null when none.
    pub key: Option<String>,
    /// Score name.
    pub name: String,
    /// Scores.
    pub count: u64,
    /// Scores with a numeric value.
    pub numeric_count: u64,
    /// Mean of the numeric values (null when none).
    pub avg: Option<f64>,
    /// Smallest numeric value.
    pub min: Option<f64>,
    /// Largest numeric value.
    pub max: Option<f64>,
    /// Scores per label.
    pub labels: BTreeMap<String, u64>,
}

impl From<&ScoreStatsGroup> for ScoreStatsView {
    fn from(g: &ScoreStatsGroup) -> Self {
        ScoreStatsView {
            bucket_start: g.bucket_start_unix_nano.map(format_rfc3339_nanos),
            key: g.key.clone(),
            name: g.name.clone(),
            count: g.count,
            numeric_count: g.numeric_count,
            avg: g.average(),
            min: g.min,
            max: g.max,
            labels: g.labels.iter().cloned().collect(),
        }
    }
}

/// `GET /api/scores/names`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreNamesView {
    /// The project's score names, most used first.
    pub names: Vec<ScoreName>,
}

/// `GET /api/score-configs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreConfigsView {
    /// The configs, by name.
    pub configs: Vec<ScoreConfig>,
}

/// A dataset as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetView {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// Items.
    pub item_count: u64,
}

impl From<&Dataset> for DatasetView {
    fn from(d: &Dataset) -> Self {
        DatasetView {
            name: d.name.clone(),
            description: d.description.clone(),
            created_at: format_rfc3339_nanos(d.created_unix_nano),
            item_count: d.item_count,
        }
    }
}

/// `GET /api/datasets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetListView {
    /// The datasets, by name.
    pub datasets: Vec<DatasetView>,
}

/// A dataset item as the API shows it (and each line of the JSONL export): the keys Langfuse
/// (`expectedOutput`, `sourceTraceId`, `sourceObservationId`) and Phoenix (`input`, `output`,
/// `metadata`) users load, under llmtrace's names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetItemView {
    /// Id.
    pub id: String,
    /// Input.
    pub input: serde_json::Value,
    /// The output the source produced.
    pub output: Option<serde_json::Value>,
    /// The output wanted.
    pub expected_output: Option<serde_json::Value>,
    /// Anything else.
    pub metadata: Option<serde_json::Value>,
    /// Trace it came from.
    pub source_trace_id: Option<String>,
    /// Span it came from.
    pub source_span_id: Option<String>,
    /// When it was added.
    pub created_at: String,
}

impl From<&DatasetItem> for DatasetItemView {
    fn from(i: &DatasetItem) -> Self {
        DatasetItemView {
            id: i.id.clone(),
            input: i.input.clone(),
            output: i.output.clone(),
            expected_output: i.expected_output.clone(),
            metadata: i.metadata.clone(),
            source_trace_id: i.source_trace_id.clone(),
            source_span_id: i.source_span_id.clone(),
            created_at: format_rfc3339_nanos(i.created_unix_nano),
        }
    }
}

impl DatasetItemView {
    /// One line of the JSONL export: this view plus the camelCase keys Langfuse's dataset
    /// import reads (`expectedOutput`, `sourceTraceId`, `sourceObservationId`).
    pub fn jsonl_line(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "expectedOutput".into(),
                self.expected_output.clone().unwrap_or_default(),
            );
            o.insert("sourceTraceId".into(), self.source_trace_id.clone().into());
            o.insert(
                "sourceObservationId".into(),
                self.source_span_id.clone().into(),
            );
        }
        v
    }
}

/// `GET /api/datasets/{name}/items`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetItemsView {
    /// The dataset.
    pub dataset: String,
    /// Its items, oldest first.
    pub items: Vec<DatasetItemView>,
}

/// Body of `POST /api/datasets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDataset {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A name the API accepts: not empty, at most [`MAX_NAME_BYTES`], no control characters.
pub fn check_name(what: &str, name: &str) -> Result<(), QueryError> {
    if name.trim().is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(QueryError::BadRequest(format!(
            "{what} must be 1 to {MAX_NAME_BYTES} bytes without control characters, got {name:?}"
        )));
    }
    Ok(())
}

/// Checks a score config as sent.
pub fn check_config(c: &ScoreConfig) -> Result<(), QueryError> {
    check_name("name", &c.name)?;
    let bad = |m: String| Err(QueryError::BadRequest(m));
    match c.data_type.as_str() {
        "NUMERIC" => {
            if c.min.is_some_and(|x| !x.is_finite()) || c.max.is_some_and(|x| !x.is_finite()) {
                return bad("min and max must be finite numbers".into());
            }
            if let (Some(lo), Some(hi)) = (c.min, c.max) {
                if lo > hi {
                    return bad(format!("min {lo} is above max {hi}"));
                }
            }
            if !c.categories.is_empty() {
                return bad("categories belong to CATEGORICAL configs".into());
            }
        }
        "CATEGORICAL" => {
            if c.categories.is_empty() || c.categories.len() > MAX_CATEGORIES {
                return bad(format!(
                    "a CATEGORICAL config lists 1 to {MAX_CATEGORIES} categories"
                ));
            }
            for l in &c.categories {
                check_name("category", l)?;
            }
            if c.min.is_some() || c.max.is_some() {
                return bad("min and max belong to NUMERIC configs".into());
            }
        }
        "BOOLEAN" => {
            if c.min.is_some() || c.max.is_some() || !c.categories.is_empty() {
                return bad("a BOOLEAN config takes no min, max or categories".into());
            }
        }
        other => {
            return bad(format!(
                "data_type must be NUMERIC, CATEGORICAL or BOOLEAN, got {other:?}"
            ))
        }
    }
    check_description(c.description.as_deref())
}

/// A description the API accepts: at most [`MAX_DESCRIPTION_BYTES`].
fn check_description(d: Option<&str>) -> Result<(), QueryError> {
    if d.is_some_and(|d| d.len() > MAX_DESCRIPTION_BYTES) {
        return Err(QueryError::BadRequest(format!(
            "description must be at most {MAX_DESCRIPTION_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Whether a score fits its name's config (when the project has one): why not, if it does not.
pub fn check_score_against(c: &ScoreConfig, s: &llmtrace_model::Score) -> Result<(), String> {
    match c.data_type.as_str() {
        "NUMERIC" => {
            let v = s
                .value
                .ok_or_else(|| format!("score {:?} takes a numeric value", c.name))?;
            if c.min.is_some_and(|lo| v < lo) || c.max.is_some_and(|hi| v > hi) {
                return Err(format!(
                    "score {:?} must be within {} to {}, got {v}",
                    c.name,
                    c.min.map_or("-inf".into(), |x| x.to_string()),
                    c.max.map_or("inf".into(), |x| x.to_string()),
                ));
            }
        }
        "CATEGORICAL" => {
            let l = s.string_value.as_deref().unwrap_or("");
            if !c.categories.iter().any(|x| x == l) {
                return Err(format!(
                    "score {:?} takes one of {:?}, got {l:?}",
                    c.name, c.categories
                ));
            }
        }
        "BOOLEAN" if !matches!(s.value, Some(v) if v == 0.0 || v == 1.0) => {
            return Err(format!("score {:?} takes true or false", c.name));
        }
        _ => {}
    }
    Ok(())
}

impl Query {
    /// `GET /api/scores/names`.
    pub async fn score_names(&self, project: &str) -> Result<ScoreNamesView, QueryError> {
        Ok(ScoreNamesView {
            names: self.annotations.score_names(project).await?,
        })
    }

    /// `DELETE /api/scores/{id}`.
    pub async fn delete_score(&self, project: &str, id: &str) -> Result<(), QueryError> {
        if self.annotations.delete_score(project, id).await? {
            Ok(())
        } else {
            Err(QueryError::NotFound(format!("score {id:?} not found")))
        }
    }

    /// `GET /api/score-configs`.
    pub async fn score_configs(&self, project: &str) -> Result<ScoreConfigsView, QueryError> {
        Ok(ScoreConfigsView {
            configs: self.annotations.score_configs(project).await?,
        })
    }

    /// `POST /api/score-configs`: validates and stores (replacing the config of that name).
    pub async fn put_score_config(
        &self,
        project: &str,
        mut config: ScoreConfig,
    ) -> Result<ScoreConfig, QueryError> {
        check_config(&config)?;
        config.project = project.to_string();
        self.annotations.put_score_config(&config).await?;
        Ok(config)
    }

    /// `DELETE /api/score-configs/{name}`.
    pub async fn delete_score_config(&self, project: &str, name: &str) -> Result<(), QueryError> {
        if self.annotations.delete_score_config(project, name).await? {
            Ok(())
        } else {
            Err(QueryError::NotFound(format!(
                "score config {name:?} not found"
            )))
        }
    }

    /// `GET /api/datasets`.
    pub async fn datasets(&self, project: &str) -> Result<DatasetListView, QueryError> {
        Ok(DatasetListView {
            datasets: self
                .annotations
                .datasets(project)
                .await?
                .iter()
                .map(DatasetView::from)
                .collect(),
        })
    }

    /// `POST /api/datasets`: creates a dataset, or updates its description.
    pub async fn put_dataset(
        &self,
        project: &str,
        d: &NewDataset,
        now_unix_nano: u64,
    ) -> Result<DatasetView, QueryError> {
        check_name("name", &d.name)?;
        check_description(d.description.as_deref())?;
        let set = Dataset {
            project: project.to_string(),
            name: d.name.clone(),
            description: d.description.clone(),
            created_unix_nano: now_unix_nano,
            item_count: 0,
        };
        self.annotations.put_dataset(&set).await?;
        self.annotations
            .datasets(project)
            .await?
            .iter()
            .find(|x| x.name == d.name)
            .map(DatasetView::from)
            .ok_or_else(|| QueryError::NotFound(format!("dataset {:?} not found", d.name)))
    }

    /// `GET /api/datasets/{name}/items`.
    pub async fn dataset_items(
        &self,
        project: &str,
        dataset: &str,
    ) -> Result<DatasetItemsView, QueryError> {
        let items = self
            .annotations
            .dataset_items(project, dataset)
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("dataset {dataset:?} not found")))?;
        Ok(DatasetItemsView {
            dataset: dataset.to_string(),
            items: items.iter().map(DatasetItemView::from).collect(),
        })
    }

    /// `DELETE /api/datasets/{name}/items/{id}`.
    pub async fn delete_dataset_item(
        &self,
        project: &str,
        dataset: &str,
        id: &str,
    ) -> Result<(), QueryError> {
        if self
            .annotations
            .delete_dataset_item(project, dataset, id)
            .await?
        {
            Ok(())
        } else {
            Err(QueryError::NotFound(format!(
                "item {id:?} of dataset {dataset:?} not found"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(min: Option<f64>, max: Option<f64>) -> ScoreConfig {
        ScoreConfig {
            name: "q".into(),
            data_type: "NUMERIC".into(),
            min,
            max,
            ..Default::default()
        }
    }

    #[test]
    fn configs_are_checked() {
        assert!(check_config(&numeric(Some(0.0), Some(1.0))).is_ok());
        assert!(check_config(&numeric(Some(2.0), Some(1.0))).is_err());
        assert!(check_config(&numeric(Some(f64::NAN), None)).is_err());
        let mut c = numeric(None, None);
        c.data_type = "TEXT".into();
        assert!(check_config(&c).is_err());
        c.data_type = "CATEGORICAL".into();
        assert!(check_config(&c).is_err(), "no categories");
        c.categories = vec!["good".into(), "bad".into()];
        assert!(check_config(&c).is_ok());
        c.name = String::new();
        assert!(check_config(&c).is_err());
    }

    #[test]
    fn names_categories_and_descriptions_are_bounded() {
        assert!(check_name("name", &"n".repeat(MAX_NAME_BYTES)).is_ok());
        assert!(check_name("name", &"n".repeat(MAX_NAME_BYTES + 1)).is_err());
        assert!(check_name("name", "a\nb").is_err());
        let cat = |n: usize| ScoreConfig {
            name: "tone".into(),
            data_type: "CATEGORICAL".into(),
            categories: (0..n).map(|i| format!("l{i}")).collect(),
            ..Default::default()
        };
        assert!(check_config(&cat(MAX_CATEGORIES)).is_ok());
        assert!(check_config(&cat(MAX_CATEGORIES + 1)).is_err());
        let described = |n: usize| ScoreConfig {
            description: Some("d".repeat(n)),
            ..numeric(None, None)
        };
        assert!(check_config(&described(MAX_DESCRIPTION_BYTES)).is_ok());
        assert!(check_config(&described(MAX_DESCRIPTION_BYTES + 1)).is_err());
    }

    #[test]
    fn scores_are_checked_against_their_config() {
        let s = |v: Option<f64>, l: Option<&str>| llmtrace_model::Score {
            value: v,
            string_value: l.map(str::to_string),
            ..Default::default()
        };
        let c = numeric(Some(0.0), Some(1.0));
        assert!(check_score_against(&c, &s(Some(0.5), None)).is_ok());
        assert!(check_score_against(&c, &s(Some(1.5), None)).is_err());
        assert!(check_score_against(&c, &s(None, Some("x"))).is_err());
        let cat = ScoreConfig {
            name: "tone".into(),
            data_type: "CATEGORICAL".into(),
            categories: vec!["polite".into()],
            ..Default::default()
        };
        assert!(check_score_against(&cat, &s(None, Some("polite"))).is_ok());
        assert!(check_score_against(&cat, &s(None, Some("rude"))).is_err());
    }
}
