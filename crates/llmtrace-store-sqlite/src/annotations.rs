//! Score aggregates and lookups beyond the trace detail, score configs and datasets
//! ([`llmtrace_store::AnnotationStore`]). Configs, datasets and dataset items are rows of
//! `catalog` (version 11), one JSON document each, keyed by (project, kind, parent, key).

use crate::int::{count, int};
use crate::reader::project_id;
use llmtrace_model::{Score, SpanId, TraceId};
use llmtrace_store::{
    group_scores, Dataset, DatasetItem, ScoreConfig, ScoreName, ScoreStatsGroup, ScoredDims,
    StatsQuery, MAX_LABELS,
};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `catalog.kind` of a score config (key: its name).
const SCORE_CONFIG: &str = "score_config";
/// `catalog.kind` of a dataset (key: its name).
const DATASET: &str = "dataset";
/// `catalog.kind` of a dataset item (parent: its dataset, key: its id).
const DATASET_ITEM: &str = "dataset_item";

fn project_id_or_create(conn: &Connection, project: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT OR IGNORE INTO projects (name) VALUES (?1)")?
        .execute([project])?;
    conn.prepare_cached("SELECT id FROM projects WHERE name = ?1")?
        .query_row([project], |r| r.get(0))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> rusqlite::Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
    })
}

fn encode<T: serde::Serialize>(v: &T) -> rusqlite::Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// The dimensions of the span a score is about (the trace's root span for a trace score).
fn dims_of(
    conn: &Connection,
    pid: i64,
    score: &Score,
    traces: &mut HashMap<String, Option<(i64, i64)>>,
) -> rusqlite::Result<ScoredDims> {
    let trace = match traces.get(&score.trace_id) {
        Some(t) => *t,
        None => {
            let t = match TraceId::from_hex(&score.trace_id) {
                Ok(id) => conn
                    .prepare_cached(
                        "SELECT id, root_span_id FROM traces \
                         WHERE project_id = ?1 AND trace_key = ?2 AND trace_id = ?3",
                    )?
                    .query_row(params![pid, id.key_i64(), &id.0[..]], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
                    })
                    .optional()?
                    .map(|(r, root)| {
                        let root = SpanId::from_bytes(&root).map(|s| s.key_i64()).unwrap_or(0);
                        (r, root)
                    }),
                Err(_) => None,
            };
            traces.insert(score.trace_id.clone(), t);
            t
        }
    };
    let Some((trace_ref, root_key)) = trace else {
        return Ok(ScoredDims::default());
    };
    let span_key = match &score.observation_id {
        Some(s) => match SpanId::from_hex(s) {
            Ok(id) => id.key_i64(),
            Err(_) => return Ok(ScoredDims::default()),
        },
        None => root_key,
    };
    Ok(conn
        .prepare_cached(
            "SELECT model, provider, service, operation FROM spans \
             WHERE trace_ref = ?1 AND span_key = ?2",
        )?
        .query_row(params![trace_ref, span_key], |r| {
            Ok(ScoredDims {
                model: r.get(0)?,
                provider: r.get(1)?,
                service: r.get(2)?,
                operation: r.get(3)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Aggregates of the scores in the query's range.
pub(crate) fn score_stats(
    conn: &Connection,
    q: &StatsQuery,
) -> rusqlite::Result<Vec<ScoreStatsGroup>> {
    let Some(pid) = project_id(conn, &q.project)? else {
        return Ok(Vec::new());
    };
    let since = q.since_unix_nano.map_or(i64::MIN, int);
    let until = q.until_unix_nano.map_or(i64::MAX, int);
    let mut stmt = conn.prepare_cached(
        "SELECT detail FROM scores WHERE project_id = ?1 AND time_ns >= ?2 AND time_ns < ?3",
    )?;
    let rows = stmt.query_map(params![pid, since, until], |r| r.get::<_, Vec<u8>>(0))?;
    let mut traces = HashMap::new();
    let mut scored = Vec::new();
    for row in rows {
        let score: Score = decode(&row?)?;
        let dims = dims_of(conn, pid, &score, &mut traces)?;
        scored.push((score, dims));
    }
    Ok(group_scores(q, scored))
}

/// The score names of a project, most used first.
pub(crate) fn score_names(conn: &Connection, project: &str) -> rusqlite::Result<Vec<ScoreName>> {
    let Some(pid) = project_id(conn, project)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(CAST(detail AS TEXT), '$.name'), count(*), \
         max(json_extract(CAST(detail AS TEXT), '$.value') IS NOT NULL) \
         FROM scores WHERE project_id = ?1 GROUP BY 1",
    )?;
    let mut names: Vec<ScoreName> = stmt
        .query_map([pid], |r| {
            Ok(ScoreName {
                name: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                count: count(r.get(1)?),
                numeric: r.get::<_, i64>(2)? != 0,
                labels: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut labels_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT json_extract(CAST(detail AS TEXT), '$.name'), \
         json_extract(CAST(detail AS TEXT), '$.string_value') FROM scores \
         WHERE project_id = ?1 AND json_extract(CAST(detail AS TEXT), '$.string_value') \
         IS NOT NULL",
    )?;
    for row in stmt.query_map([pid], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
    })? {
        let (name, label) = row?;
        let set = labels_of.entry(name.unwrap_or_default()).or_default();
        if set.len() < MAX_LABELS {
            set.insert(label);
        }
    }
    for n in &mut names {
        n.labels = labels_of
            .remove(&n.name)
            .unwrap_or_default()
            .into_iter()
            .collect();
    }
    names.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    Ok(names)
}

/// The scores of these traces, oldest first.
pub(crate) fn scores_of_traces(
    conn: &Connection,
    project: &str,
    traces: &[TraceId],
) -> rusqlite::Result<Vec<Score>> {
    let Some(pid) = project_id(conn, project)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT time_ns, id, detail FROM scores WHERE project_id = ?1 AND trace_id = ?2",
    )?;
    let mut rows: Vec<(i64, i64, Score)> = Vec::new();
    for t in traces {
        for row in stmt.query_map(params![pid, t.to_hex()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, Vec<u8>>(2)?))
        })? {
            let (time, id, detail) = row?;
            rows.push((time, id, decode(&detail)?));
        }
    }
    rows.sort_by_key(|(time, id, _)| (*time, *id));
    Ok(rows.into_iter().map(|(_, _, s)| s).collect())
}

/// Deletes a score; whether it existed.
pub(crate) fn delete_score(
    conn: &Connection,
    project: &str,
    score_id: &str,
) -> rusqlite::Result<bool> {
    let Some(pid) = project_id(conn, project)? else {
        return Ok(false);
    };
    Ok(conn
        .prepare_cached("DELETE FROM scores WHERE project_id = ?1 AND score_id = ?2")?
        .execute(params![pid, score_id])?
        > 0)
}

/// The documents of one kind (and parent) of a project, oldest first.
fn catalog<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    project: &str,
    kind: &str,
    parent: &str,
) -> rusqlite::Result<Vec<T>> {
    let Some(pid) = project_id(conn, project)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT detail FROM catalog WHERE project_id = ?1 AND kind = ?2 AND parent = ?3 \
         ORDER BY created_ns, key",
    )?;
    let rows = stmt.query_map(params![pid, kind, parent], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|r| r.and_then(|d| decode(&d))).collect()
}

/// Stores a document, keeping the creation time of the one it replaces.
fn put(
    conn: &Connection,
    project: &str,
    kind: &str,
    parent: &str,
    key: &str,
    created_ns: u64,
    detail: &[u8],
) -> rusqlite::Result<()> {
    let pid = project_id_or_create(conn, project)?;
    conn.prepare_cached(
        "INSERT INTO catalog (project_id, kind, parent, key, created_ns, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (project_id, kind, parent, key) \
         DO UPDATE SET detail = excluded.detail",
    )?
    .execute(params![pid, kind, parent, key, int(created_ns), detail])?;
    Ok(())
}

fn remove(
    conn: &Connection,
    project: &str,
    kind: &str,
    parent: &str,
    key: &str,
) -> rusqlite::Result<bool> {
    let Some(pid) = project_id(conn, project)? else {
        return Ok(false);
    };
    Ok(conn
        .prepare_cached(
            "DELETE FROM catalog WHERE project_id = ?1 AND kind = ?2 AND parent = ?3 AND key = ?4",
        )?
        .execute(params![pid, kind, parent, key])?
        > 0)
}

/// The stored creation time of a document, when it exists.
fn created(
    conn: &Connection,
    project: &str,
    kind: &str,
    parent: &str,
    key: &str,
) -> rusqlite::Result<Option<i64>> {
    let Some(pid) = project_id(conn, project)? else {
        return Ok(None);
    };
    conn.prepare_cached(
        "SELECT created_ns FROM catalog \
         WHERE project_id = ?1 AND kind = ?2 AND parent = ?3 AND key = ?4",
    )?
    .query_row(params![pid, kind, parent, key], |r| r.get(0))
    .optional()
}

/// The score configs of a project, by name.
pub(crate) fn score_configs(
    conn: &Connection,
    project: &str,
) -> rusqlite::Result<Vec<ScoreConfig>> {
    let mut configs: Vec<ScoreConfig> = catalog(conn, project, SCORE_CONFIG, "")?;
    configs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(configs)
}

/// Stores a score config.
pub(crate) fn put_score_config(conn: &Connection, c: &ScoreConfig) -> rusqlite::Result<()> {
    put(conn, &c.project, SCORE_CONFIG, "", &c.name, 0, &encode(c)?)
}

/// Deletes a score config.
pub(crate) fn delete_score_config(
    conn: &Connection,
    project: &str,
    name: &str,
) -> rusqlite::Result<bool> {
    remove(conn, project, SCORE_CONFIG, "", name)
}

/// The datasets of a project with their item counts, by name.
pub(crate) fn datasets(conn: &Connection, project: &str) -> rusqlite::Result<Vec<Dataset>> {
    let mut sets: Vec<Dataset> = catalog(conn, project, DATASET, "")?;
    if let Some(pid) = project_id(conn, project)? {
        let mut stmt = conn.prepare_cached(
            "SELECT count(*) FROM catalog WHERE project_id = ?1 AND kind = ?2 AND parent = ?3",
        )?;
        for d in &mut sets {
            d.item_count = count(stmt.query_row(params![pid, DATASET_ITEM, d.name], |r| r.get(0))?);
        }
    }
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sets)
}

/// Stores a dataset (its creation time kept when it exists).
pub(crate) fn put_dataset(conn: &Connection, d: &Dataset) -> rusqlite::Result<()> {
    let mut d = d.clone();
    d.item_count = 0;
    if let Some(was) = created(conn, &d.project, DATASET, "", &d.name)? {
        d.created_unix_nano = crate::int::count(was);
    }
    put(
        conn,
        &d.project,
        DATASET,
        "",
        &d.name,
        d.created_unix_nano,
        &encode(&d)?,
    )
}

/// Stores an item of an existing dataset; `false` when the dataset does not exist.
pub(crate) fn put_dataset_item(conn: &Connection, item: &DatasetItem) -> rusqlite::Result<bool> {
    if created(conn, &item.project, DATASET, "", &item.dataset)?.is_none() {
        return Ok(false);
    }
    let mut item = item.clone();
    if let Some(was) = created(conn, &item.project, DATASET_ITEM, &item.dataset, &item.id)? {
        item.created_unix_nano = crate::int::count(was);
    }
    put(
        conn,
        &item.project,
        DATASET_ITEM,
        &item.dataset,
        &item.id,
        item.created_unix_nano,
        &encode(&item)?,
    )?;
    Ok(true)
}

/// The items of a dataset, oldest first; `None` when it does not exist.
pub(crate) fn dataset_items(
    conn: &Connection,
    project: &str,
    dataset: &str,
) -> rusqlite::Result<Option<Vec<DatasetItem>>> {
    if created(conn, project, DATASET, "", dataset)?.is_none() {
        return Ok(None);
    }
    catalog(conn, project, DATASET_ITEM, dataset).map(Some)
}

/// Deletes a dataset item.
pub(crate) fn delete_dataset_item(
    conn: &Connection,
    project: &str,
    dataset: &str,
    id: &str,
) -> rusqlite::Result<bool> {
    remove(conn, project, DATASET_ITEM, dataset, id)
}
