//! Score aggregates and lookups beyond the trace detail, score configs and datasets
//! ([`llmtrace_store::AnnotationStore`]).
//!
//! Configs, datasets and dataset items are rows of `catalog` (version 8), a
//! `ReplacingMergeTree(version)` keyed by (project, kind, parent, key), one JSON document each;
//! a deletion writes a newer row with `deleted = 1`, read back with `FINAL` and skipped. A
//! deleted score is replaced the same way, by a row with the same id, trace and time whose
//! detail is [`SCORE_TOMBSTONE`], which every score reader skips (and which no score filter
//! matches: it has no name).

use crate::client::{lit, Client};
use crate::Versions;
use llmtrace_model::{Score, TraceId};
use llmtrace_store::{
    group_scores, Dataset, DatasetItem, ScoreConfig, ScoreName, ScoreStatsGroup, ScoredDims,
    StatsQuery, StoreError, MAX_LABELS,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The detail of a deleted score's replacement row.
pub(crate) const SCORE_TOMBSTONE: &str = r#"{"deleted":true}"#;

/// `catalog.kind` of a score config (key: its name).
const SCORE_CONFIG: &str = "score_config";
/// `catalog.kind` of a dataset (key: its name).
const DATASET: &str = "dataset";
/// `catalog.kind` of a dataset item (parent: its dataset, key: its id).
const DATASET_ITEM: &str = "dataset_item";

/// Trace ids per query when looking up scored spans.
const TRACES_PER_QUERY: usize = 500;

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Permanent(format!("{what}: {e}"))
}

#[derive(Deserialize)]
struct ScoreDetail {
    detail: String,
}

/// The live scores among stored score details (tombstones skipped).
pub(crate) fn live_scores(
    details: impl IntoIterator<Item = String>,
) -> Result<Vec<Score>, StoreError> {
    details
        .into_iter()
        .filter(|d| d != SCORE_TOMBSTONE)
        .map(|d| serde_json::from_str::<Score>(&d).map_err(|e| bad("stored score", e)))
        .collect()
}

#[derive(Deserialize)]
struct DimsRow {
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    model: String,
    provider: String,
    service: String,
    operation: String,
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

#[derive(Deserialize)]
struct TraceOf {
    trace_id: String,
}

#[derive(Deserialize)]
struct SpanOf {
    span_id: String,
}

/// A score sent without its span but with the provider response it is about, attached to a
/// call span carrying that response: one of this batch's rows, else a stored one (found
/// through the `responses` index), in the score's trace if it names one.
pub(crate) async fn attach_by_response(
    ch: &Client,
    db: &str,
    score: &Score,
    batch_rows: &[crate::rows::SpanRow],
) -> Result<Option<Score>, StoreError> {
    let Some(response) = score
        .response_id
        .as_ref()
        .filter(|_| score.observation_id.is_none())
    else {
        return Ok(None);
    };
    let wanted_trace = score.trace_id.to_ascii_lowercase();
    let fits = |trace: &str| wanted_trace.is_empty() || wanted_trace == trace;
    let attach = |trace: String, span: String| {
        Some(Score {
            trace_id: trace,
            observation_id: Some(span),
            ..score.clone()
        })
    };
    if let Some(r) = batch_rows.iter().find(|r| {
        r.project == score.project
            && r.is_call == 1
            && &r.response_id == response
            && fits(&r.trace_id)
    }) {
        return Ok(attach(r.trace_id.clone(), r.span_id.clone()));
    }
    let traces: Vec<TraceOf> = ch
        .select(&format!(
            "SELECT DISTINCT trace_id FROM {db}.responses WHERE project = {} AND response_id = {} \
             ORDER BY trace_id",
            lit(&score.project),
            lit(response)
        ))
        .await?;
    for t in traces.into_iter().filter(|t| fits(&t.trace_id)) {
        let spans: Vec<SpanOf> = ch
            .select(&format!(
                "SELECT span_id FROM {db}.spans FINAL WHERE project = {} AND trace_id = {} \
                 AND is_call = 1 AND response_id = {} ORDER BY span_id LIMIT 1",
                lit(&score.project),
                lit(&t.trace_id),
                lit(response)
            ))
            .await?;
        if let Some(s) = spans.into_iter().next() {
            return Ok(attach(t.trace_id, s.span_id));
        }
    }
    Ok(None)
}

/// Aggregates of the scores in the query's range.
pub(crate) async fn score_stats(
    ch: &Client,
    db: &str,
    q: &StatsQuery,
) -> Result<Vec<ScoreStatsGroup>, StoreError> {
    let since = q.since_unix_nano.unwrap_or(0);
    let until = q.until_unix_nano.unwrap_or(u64::MAX);
    let rows: Vec<ScoreDetail> = ch
        .select(&format!(
            "SELECT detail FROM {db}.scores FINAL WHERE project = {} \
             AND time_ns >= {since} AND time_ns < {until}",
            lit(&q.project)
        ))
        .await?;
    let scores = live_scores(rows.into_iter().map(|r| r.detail))?;
    let traces: BTreeSet<&str> = scores.iter().map(|s| s.trace_id.as_str()).collect();
    // (trace, span) -> dims, and trace -> its root span's dims.
    let mut spans: HashMap<(String, String), ScoredDims> = HashMap::new();
    let mut roots: HashMap<String, ScoredDims> = HashMap::new();
    let traces: Vec<&str> = traces.into_iter().collect();
    let scored_spans: BTreeSet<String> = scores
        .iter()
        .filter_map(|s| s.observation_id.as_ref())
        .map(|s| lit(&s.to_ascii_lowercase()))
        .collect();
    let span_list = if scored_spans.is_empty() {
        "''".to_string()
    } else {
        scored_spans.into_iter().collect::<Vec<_>>().join(", ")
    };
    for chunk in traces.chunks(TRACES_PER_QUERY) {
        let ids: Vec<String> = chunk.iter().map(|t| lit(&t.to_ascii_lowercase())).collect();
        let rows: Vec<DimsRow> = ch
            .select(&format!(
                "SELECT trace_id, span_id, parent_span_id, model, provider, service, operation \
                 FROM {db}.spans FINAL WHERE project = {} AND trace_id IN ({}) \
                 AND (span_id IN ({span_list}) OR parent_span_id = '')",
                lit(&q.project),
                ids.join(", ")
            ))
            .await?;
        for r in rows {
            let dims = ScoredDims {
                model: non_empty(r.model),
                provider: non_empty(r.provider),
                service: non_empty(r.service),
                operation: non_empty(r.operation),
            };
            if r.parent_span_id.is_empty() {
                roots.entry(r.trace_id.clone()).or_insert(dims.clone());
            }
            spans.insert((r.trace_id, r.span_id), dims);
        }
    }
    let scored = scores.into_iter().map(|s| {
        let trace = s.trace_id.to_ascii_lowercase();
        let dims = match &s.observation_id {
            Some(span) => spans.get(&(trace, span.to_ascii_lowercase())).cloned(),
            None => roots.get(&trace).cloned(),
        };
        (s, dims.unwrap_or_default())
    });
    Ok(group_scores(q, scored))
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
    n: u64,
    numeric: u8,
    labels: Vec<String>,
}

/// The score names of a project, most used first, counted by ClickHouse (the latest copy of
/// each score; tombstones have no name).
pub(crate) async fn score_names(
    ch: &Client,
    db: &str,
    project: &str,
) -> Result<Vec<ScoreName>, StoreError> {
    let rows: Vec<NameRow> = ch
        .select(&format!(
            "SELECT name, toUInt64(count()) AS n, toUInt8(max(has_value)) AS numeric, \
             groupUniqArrayIf(label, label != '') AS labels FROM (\
             SELECT visitParamExtractString(detail, 'name') AS name, \
             toUInt8(visitParamExtractRaw(detail, 'value') NOT IN ('', 'null')) AS has_value, \
             visitParamExtractString(detail, 'string_value') AS label \
             FROM {db}.scores FINAL WHERE project = {}) WHERE name != '' GROUP BY name",
            lit(project)
        ))
        .await?;
    let mut names: Vec<ScoreName> = rows
        .into_iter()
        .map(|r| {
            let mut labels = r.labels;
            labels.sort_unstable();
            labels.truncate(MAX_LABELS);
            ScoreName {
                name: r.name,
                count: r.n,
                numeric: r.numeric != 0,
                labels,
            }
        })
        .collect();
    names.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    Ok(names)
}

/// The scores of these traces, oldest first.
pub(crate) async fn scores_of_traces(
    ch: &Client,
    db: &str,
    project: &str,
    traces: &[TraceId],
) -> Result<Vec<Score>, StoreError> {
    let mut out = Vec::new();
    for chunk in traces.chunks(TRACES_PER_QUERY) {
        let ids: Vec<String> = chunk.iter().map(|t| lit(&t.to_hex())).collect();
        let rows: Vec<ScoreDetail> = ch
            .select(&format!(
                "SELECT detail FROM {db}.scores FINAL WHERE project = {} AND trace_id IN ({}) \
                 ORDER BY time_ns, score_id",
                lit(project),
                ids.join(", ")
            ))
            .await?;
        out.extend(live_scores(rows.into_iter().map(|r| r.detail))?);
    }
    out.sort_by_key(|s| s.timestamp_unix_nano);
    Ok(out)
}

#[derive(Deserialize)]
struct StoredScore {
    trace_id: String,
    time_ns: u64,
    detail: String,
    expire_at: u32,
}

#[derive(Serialize)]
struct ScoreTombstone<'a> {
    project: &'a str,
    score_id: &'a str,
    trace_id: &'a str,
    time_ns: u64,
    detail: &'a str,
    version: u64,
    expire_at: u32,
}

/// Deletes a score (writes its tombstone); whether it existed.
pub(crate) async fn delete_score(
    ch: &Client,
    db: &str,
    versions: &Versions,
    project: &str,
    score_id: &str,
) -> Result<bool, StoreError> {
    let rows: Vec<StoredScore> = ch
        .select(&format!(
            "SELECT trace_id, time_ns, detail, toUInt32(expire_at) AS expire_at \
             FROM {db}.scores FINAL WHERE project = {} AND score_id = {}",
            lit(project),
            lit(score_id)
        ))
        .await?;
    let Some(stored) = rows.into_iter().find(|r| r.detail != SCORE_TOMBSTONE) else {
        return Ok(false);
    };
    ch.insert(
        &format!("{db}.scores"),
        &[ScoreTombstone {
            project,
            score_id,
            trace_id: &stored.trace_id,
            time_ns: stored.time_ns,
            detail: SCORE_TOMBSTONE,
            version: versions.next(),
            expire_at: stored.expire_at,
        }],
    )
    .await?;
    Ok(true)
}

#[derive(Serialize)]
struct CatalogRow<'a> {
    project: &'a str,
    kind: &'a str,
    parent: &'a str,
    key: &'a str,
    created_ns: u64,
    detail: &'a str,
    deleted: u8,
    version: u64,
}

#[derive(Deserialize)]
struct StoredDoc {
    key: String,
    created_ns: u64,
    detail: String,
    deleted: u8,
}

/// The live documents of one kind (and parent) of a project, oldest first.
async fn docs(
    ch: &Client,
    db: &str,
    project: &str,
    kind: &str,
    parent: &str,
    key: Option<&str>,
) -> Result<Vec<StoredDoc>, StoreError> {
    let key_cond = key.map_or(String::new(), |k| format!(" AND key = {}", lit(k)));
    let mut rows: Vec<StoredDoc> = ch
        .select(&format!(
            "SELECT key, created_ns, detail, deleted FROM {db}.catalog FINAL \
             WHERE project = {} AND kind = {} AND parent = {}{key_cond}",
            lit(project),
            lit(kind),
            lit(parent)
        ))
        .await?;
    rows.retain(|r| r.deleted == 0);
    rows.sort_by(|a, b| {
        a.created_ns
            .cmp(&b.created_ns)
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(rows)
}

fn parse<T: serde::de::DeserializeOwned>(docs: Vec<StoredDoc>) -> Result<Vec<T>, StoreError> {
    docs.iter()
        .map(|d| serde_json::from_str(&d.detail).map_err(|e| bad("stored catalog document", e)))
        .collect()
}

/// Where a document goes in `catalog`.
struct Place<'a> {
    project: &'a str,
    kind: &'a str,
    parent: &'a str,
    key: &'a str,
}

impl Place<'_> {
    async fn created(&self, ch: &Client, db: &str) -> Result<Option<u64>, StoreError> {
        Ok(
            docs(ch, db, self.project, self.kind, self.parent, Some(self.key))
                .await?
                .first()
                .map(|d| d.created_ns),
        )
    }

    async fn write(
        &self,
        ch: &Client,
        db: &str,
        versions: &Versions,
        created_ns: u64,
        detail: &str,
        deleted: bool,
    ) -> Result<(), StoreError> {
        ch.insert(
            &format!("{db}.catalog"),
            &[CatalogRow {
                project: self.project,
                kind: self.kind,
                parent: self.parent,
                key: self.key,
                created_ns,
                detail,
                deleted: u8::from(deleted),
                version: versions.next(),
            }],
        )
        .await
    }

    /// Writes a deletion; whether a live document was there.
    async fn delete(&self, ch: &Client, db: &str, versions: &Versions) -> Result<bool, StoreError> {
        let Some(created) = self.created(ch, db).await? else {
            return Ok(false);
        };
        self.write(ch, db, versions, created, "", true).await?;
        Ok(true)
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| bad("cannot encode document", e))
}

/// The score configs of a project, by name.
pub(crate) async fn score_configs(
    ch: &Client,
    db: &str,
    project: &str,
) -> Result<Vec<ScoreConfig>, StoreError> {
    let mut c: Vec<ScoreConfig> = parse(docs(ch, db, project, SCORE_CONFIG, "", None).await?)?;
    c.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(c)
}

/// Stores a score config.
pub(crate) async fn put_score_config(
    ch: &Client,
    db: &str,
    versions: &Versions,
    c: &ScoreConfig,
) -> Result<(), StoreError> {
    let place = Place {
        project: &c.project,
        kind: SCORE_CONFIG,
        parent: "",
        key: &c.name,
    };
    place.write(ch, db, versions, 0, &json(c)?, false).await
}

/// Deletes a score config.
pub(crate) async fn delete_score_config(
    ch: &Client,
    db: &str,
    versions: &Versions,
    project: &str,
    name: &str,
) -> Result<bool, StoreError> {
    Place {
        project,
        kind: SCORE_CONFIG,
        parent: "",
        key: name,
    }
    .delete(ch, db, versions)
    .await
}

/// The datasets of a project with their item counts, by name.
pub(crate) async fn datasets(
    ch: &Client,
    db: &str,
    project: &str,
) -> Result<Vec<Dataset>, StoreError> {
    let mut sets: Vec<Dataset> = parse(docs(ch, db, project, DATASET, "", None).await?)?;
    #[derive(Deserialize)]
    struct Count {
        parent: String,
        n: u64,
    }
    let counts: Vec<Count> = ch
        .select(&format!(
            "SELECT parent, toUInt64(countIf(deleted = 0)) AS n FROM {db}.catalog FINAL \
             WHERE project = {} AND kind = {} GROUP BY parent",
            lit(project),
            lit(DATASET_ITEM)
        ))
        .await?;
    let counts: HashMap<String, u64> = counts.into_iter().map(|c| (c.parent, c.n)).collect();
    for d in &mut sets {
        d.item_count = counts.get(&d.name).copied().unwrap_or(0);
    }
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sets)
}

/// Stores a dataset (its creation time kept when it exists).
pub(crate) async fn put_dataset(
    ch: &Client,
    db: &str,
    versions: &Versions,
    d: &Dataset,
) -> Result<(), StoreError> {
    let place = Place {
        project: &d.project,
        kind: DATASET,
        parent: "",
        key: &d.name,
    };
    let mut d = d.clone();
    d.item_count = 0;
    if let Some(created) = place.created(ch, db).await? {
        d.created_unix_nano = created;
    }
    place
        .write(ch, db, versions, d.created_unix_nano, &json(&d)?, false)
        .await
}

/// Stores an item of an existing dataset; `false` when the dataset does not exist.
pub(crate) async fn put_dataset_item(
    ch: &Client,
    db: &str,
    versions: &Versions,
    item: &DatasetItem,
) -> Result<bool, StoreError> {
    let set = Place {
        project: &item.project,
        kind: DATASET,
        parent: "",
        key: &item.dataset,
    };
    if set.created(ch, db).await?.is_none() {
        return Ok(false);
    }
    let place = Place {
        project: &item.project,
        kind: DATASET_ITEM,
        parent: &item.dataset,
        key: &item.id,
    };
    let mut item = item.clone();
    if let Some(created) = place.created(ch, db).await? {
        item.created_unix_nano = created;
    }
    place
        .write(
            ch,
            db,
            versions,
            item.created_unix_nano,
            &json(&item)?,
            false,
        )
        .await?;
    Ok(true)
}

/// The items of a dataset, oldest first; `None` when it does not exist.
pub(crate) async fn dataset_items(
    ch: &Client,
    db: &str,
    project: &str,
    dataset: &str,
) -> Result<Option<Vec<DatasetItem>>, StoreError> {
    if docs(ch, db, project, DATASET, "", Some(dataset))
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    parse(docs(ch, db, project, DATASET_ITEM, dataset, None).await?).map(Some)
}

/// Deletes a dataset item.
pub(crate) async fn delete_dataset_item(
    ch: &Client,
    db: &str,
    versions: &Versions,
    project: &str,
    dataset: &str,
    id: &str,
) -> Result<bool, StoreError> {
    Place {
        project,
        kind: DATASET_ITEM,
        parent: dataset,
        key: id,
    }
    .delete(ch, db, versions)
    .await
}
