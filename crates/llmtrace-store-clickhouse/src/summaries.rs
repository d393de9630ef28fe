//! The per-trace summary table (`trace_summaries`, schema version 6): one row per trace, written
//! by the writer after each commit for every trace the commit changed (the touched traces, and
//! the traces whose call a new span's claim displaced), `ReplacingMergeTree` by version, so the
//! trace list, sessions and users read one row per trace instead of computing every trace's
//! rollup from its spans.
//!
//! The rows hold what `reader.rs`'s rollup query computes, under the same column names, so the
//! list's filters and sorts apply to either. `get_trace` still computes a trace's summary from
//! its spans.
//!
//! **Several writers.** Every write first inserts a `trace_keys` row (its writer id, the time it
//! started) for each trace it changes, then its response-id rows and spans. After that it asks
//! whether another writer wrote, in the last [`RACE_WINDOW_NANOS`], to one of those traces or
//! to another trace holding one of its provider response ids (whose claims decide whether this
//! write's calls count):
//! - no: it summarizes its traces from what it loaded before writing, at a version taken
//!   before that load;
//! - yes: it records key rows for the traces concerned and the traces sharing their response
//!   ids, takes a version, reads them all back from ClickHouse and summarizes what it read.
//!
//! Of two racing writers, each sees the other's key row unless one inserted its keys after the
//! other's check, which is after the other's spans were stored; then the later one reads back
//! and sees both writes, with a later version than the other's. So the summary that wins saw
//! every write. Versions are the writers' clocks in nanoseconds: this holds while the nodes'
//! clocks differ by less than an insert and a check (milliseconds), so run NTP on them. Traces
//! changed only through a claim are always read back (rare). A write whose spans were stored
//! but whose summaries were not (the request failed after the spans insert) is retried by the
//! pipeline and its client, and the retry writes them.

use crate::client::{lit, Client};
use crate::retention::{now_secs, Retention};
use crate::rows::trace_id_of;
use crate::world::{Key, World};
use crate::Versions;
use llmtrace_store::StoreError;
use llmtrace_store::TraceSummary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The columns the backfill fills, in the order it selects them: those of the version that
/// creates the table (6), since the backfill runs when that version is applied; later columns
/// (`t_failed_calls`, version 7) take their defaults until the trace is written again.
const COLUMNS: &str = "project, trace_id, root_name, has_root, root_service, t_start, t_end, \
    span_count, llm_call_count, t_input, t_output, t_cache_read, t_cache_write, t_reasoning, \
    error_count, t_cost, t_unpriced, t_reported, t_user, t_session, t_services, t_req_models, \
    t_resp_models, t_providers, version, expire_at";

/// One trace's rollup: what the list query returns, and (with [`SummaryRecord`]'s extra
/// columns) a row of `trace_summaries`.
#[derive(Serialize, Deserialize)]
pub(crate) struct SummaryRow {
    trace_id: String,
    root_name: String,
    has_root: u8,
    root_service: String,
    t_start: u64,
    t_end: u64,
    span_count: u64,
    llm_call_count: u64,
    t_input: u64,
    t_output: u64,
    t_cache_read: u64,
    t_cache_write: u64,
    t_reasoning: u64,
    error_count: u64,
    t_cost: i64,
    t_unpriced: u64,
    t_reported: u64,
    t_failed_calls: u64,
    t_user: String,
    t_session: String,
}

impl SummaryRow {
    /// The row of a trace (stored as `trace_id`) with summary `s`.
    fn from_summary(trace_id: String, s: TraceSummary) -> Self {
        SummaryRow {
            trace_id,
            root_name: s.root_name,
            has_root: u8::from(s.has_root),
            root_service: s.service,
            t_start: s.start_unix_nano,
            t_end: s.end_unix_nano,
            span_count: s.span_count,
            llm_call_count: s.llm_call_count,
            t_input: s.input_tokens,
            t_output: s.output_tokens,
            t_cache_read: s.cache_read_tokens,
            t_cache_write: s.cache_write_tokens,
            t_reasoning: s.reasoning_tokens,
            error_count: s.error_count,
            t_cost: s.cost_pico,
            t_unpriced: s.unpriced_span_count,
            t_reported: s.reported_cost_span_count,
            t_failed_calls: s.failed_call_count,
            t_user: s.user_id.unwrap_or_default(),
            t_session: s.session_id.unwrap_or_default(),
        }
    }

    /// The summary this row holds.
    pub(crate) fn into_summary(self) -> Result<TraceSummary, String> {
        let opt = |s: String| (!s.is_empty()).then_some(s);
        Ok(TraceSummary {
            trace_id: trace_id_of(&self.trace_id)?,
            root_name: self.root_name,
            has_root: self.has_root != 0,
            service: self.root_service,
            start_unix_nano: self.t_start,
            end_unix_nano: self.t_end,
            span_count: self.span_count,
            llm_call_count: self.llm_call_count,
            input_tokens: self.t_input,
            output_tokens: self.t_output,
            cache_read_tokens: self.t_cache_read,
            cache_write_tokens: self.t_cache_write,
            reasoning_tokens: self.t_reasoning,
            error_count: self.error_count,
            cost_pico: self.t_cost,
            unpriced_span_count: self.t_unpriced,
            reported_cost_span_count: self.t_reported,
            failed_call_count: self.t_failed_calls,
            user_id: opt(self.t_user),
            session_id: opt(self.t_session),
        })
    }
}

/// One row of `trace_summaries`: the summary, and what the list filters on.
#[derive(Serialize)]
struct SummaryRecord {
    project: String,
    #[serde(flatten)]
    summary: SummaryRow,
    t_services: Vec<String>,
    t_req_models: Vec<String>,
    t_resp_models: Vec<String>,
    t_providers: Vec<String>,
    version: u64,
    expire_at: u32,
}

/// Another writer's `trace_keys` row younger than this means a possible race (far longer than
/// any write takes: a write's requests time out after a minute).
const RACE_WINDOW_NANOS: u64 = 10 * 60 * 1_000_000_000;

/// What a write stored, for [`after_write`].
pub(crate) struct Written<'a> {
    /// The touched traces first (`touched` of them), then those changed through a claim.
    pub(crate) changed: &'a [Key],
    /// How many of `changed` the write touched.
    pub(crate) touched: usize,
    /// The response ids of the write's call spans (project, id).
    pub(crate) rids: &'a [(String, String)],
    /// The touched traces' summaries, computed from the write's world.
    pub(crate) summaries: &'a [(&'a Key, TraceSummary)],
    /// The touched traces' starts before the write (those that had stored spans).
    pub(crate) stored_starts: &'a std::collections::HashMap<Key, u64>,
    /// The touched traces' call keys before the write (`calls.rs`).
    pub(crate) stored_calls: &'a crate::calls::StoredCalls,
}

/// Writes the summaries after a write stored its spans (see the module docs): those computed
/// from the write's world (loaded at `load_version`) when no other writer raced on the traces,
/// else the traces read back.
pub(crate) async fn after_write(
    ch: &Client,
    db: &str,
    world: &World,
    written: Written<'_>,
    (versions, load_version): (&Versions, u64),
    retention: &Retention,
) -> Result<(), StoreError> {
    let Written {
        changed,
        touched,
        rids,
        summaries,
        stored_starts,
        stored_calls,
    } = written;
    let (touched, claimed) = changed.split_at(touched.min(changed.len()));
    // Every other trace holding one of this write's response ids: its claims decide whether
    // this write's calls count, so another writer's recent write to it is a race too. Both
    // lookups at once; the rivals' own race check after (most writes have no rival).
    let mut watched: Vec<Key> = touched.to_vec();
    watched.extend(claimed.iter().cloned());
    let (rivals, mut racing) = tokio::try_join!(
        claim_rivals(ch, db, touched, rids),
        raced(ch, db, &watched, versions.writer())
    )?;
    if !rivals.is_empty() {
        racing.extend(raced(ch, db, &rivals, versions.writer()).await?);
        watched.extend(rivals);
    }
    if racing.is_empty() {
        let rows = records_of(summaries, world, load_version, retention);
        // The start each trace was listed at before this write, if it moved.
        let moved: Vec<SummaryRecord> = rows
            .iter()
            .filter_map(|r| {
                let key = (r.project.clone(), r.summary.trace_id.clone());
                let old = *stored_starts.get(&key)?;
                (old != r.summary.t_start).then(|| tombstone(r, old))
            })
            .collect();
        let keys: Vec<Key> = summaries.iter().map(|(k, _)| (*k).clone()).collect();
        let calls = crate::calls::records(world, &keys, load_version, retention, stored_calls);
        tokio::try_join!(
            crate::calls::insert(ch, db, &calls),
            insert(ch, db, &rows, &moved)
        )?;
        // Traces changed through a claim are read back (their other claims are not loaded).
        return write(ch, db, claimed, versions, retention, stored_calls).await;
    }
    write(ch, db, &watched, versions, retention, stored_calls).await
}

/// The traces other than `touched` holding one of the response ids `rids` (per the
/// `responses` index).
async fn claim_rivals(
    ch: &Client,
    db: &str,
    touched: &[Key],
    rids: &[(String, String)],
) -> Result<Vec<Key>, StoreError> {
    #[derive(serde::Deserialize)]
    struct T {
        trace_id: String,
    }
    let mut by_project: std::collections::HashMap<&str, Vec<String>> = Default::default();
    for (p, r) in rids {
        by_project.entry(p).or_default().push(lit(r));
    }
    let touched: std::collections::HashSet<&Key> = touched.iter().collect();
    let mut out = Vec::new();
    for (project, list) in by_project {
        for chunk in list.chunks(1000) {
            let found: Vec<T> = ch
                .select(&format!(
                    "SELECT DISTINCT trace_id FROM {db}.responses WHERE project = {} \
                     AND response_id IN ({})",
                    lit(project),
                    chunk.join(", ")
                ))
                .await?;
            out.extend(
                found
                    .into_iter()
                    .map(|t| (project.to_string(), t.trace_id))
                    .filter(|k| !touched.contains(k)),
            );
        }
    }
    Ok(out)
}

/// Which of `keys` another writer wrote to recently (see [`RACE_WINDOW_NANOS`]).
async fn raced(
    ch: &Client,
    db: &str,
    keys: &[Key],
    me: u64,
) -> Result<std::collections::HashSet<Key>, StoreError> {
    #[derive(serde::Deserialize)]
    struct T {
        trace_id: String,
    }
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .saturating_sub(RACE_WINDOW_NANOS);
    let mut by_project: std::collections::HashMap<&str, Vec<String>> = Default::default();
    for (p, t) in keys {
        by_project.entry(p).or_default().push(lit(t));
    }
    let mut out = std::collections::HashSet::new();
    for (project, ids) in by_project {
        for chunk in ids.chunks(1000) {
            let found: Vec<T> = ch
                .select(&format!(
                    "SELECT DISTINCT trace_id FROM {db}.trace_keys WHERE project = {} \
                     AND trace_id IN ({}) AND writer != {me} AND at >= {since}",
                    lit(project),
                    chunk.join(", ")
                ))
                .await?;
            out.extend(found.into_iter().map(|t| (project.to_string(), t.trace_id)));
        }
    }
    Ok(out)
}

/// Writes the summaries of `keys` read back from ClickHouse, and of the traces sharing a
/// provider response id with them (a claim between them may have moved): records a
/// `trace_keys` row for each (so a writer racing on them reads them back too), takes a version,
/// reads them and their claimants, summarizes them. Their call rows (`calls.rs`) are written
/// too, with a tombstone for each call key in `before` (the keys a writer saw before it
/// changed them) that a trace no longer has.
pub(crate) async fn write(
    ch: &Client,
    db: &str,
    keys: &[Key],
    versions: &Versions,
    retention: &Retention,
    before: &crate::calls::StoredCalls,
) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut scout = World::default();
    scout.load_traces(ch, db, keys).await?;
    scout
        .load_responses(ch, db, std::iter::empty::<(String, String)>())
        .await?;
    let mut all: Vec<Key> = keys.to_vec();
    let known: std::collections::HashSet<&Key> = keys.iter().collect();
    all.extend(
        scout
            .traces
            .iter()
            .filter(|(k, t)| !t.rows.is_empty() && !known.contains(k))
            .map(|(k, _)| k.clone()),
    );
    let key_rows =
        crate::writer::trace_key_rows(&all, &[], versions.writer(), versions.next(), retention);
    ch.insert(&format!("{db}.trace_keys"), &key_rows).await?;
    let version = versions.next();
    let mut world = World::default();
    world.load_traces(ch, db, &all).await?;
    // Two rounds: the claimants of `all`'s response ids, then theirs, so every claim of `all`
    // is decided on every span that makes it.
    for _ in 0..2 {
        world
            .load_responses(ch, db, std::iter::empty::<(String, String)>())
            .await?;
    }
    let rows = records(&world, &all, version, retention)?;
    // Any start of a span may have been a trace's start in a summary written by a writer that
    // saw only some of its spans: each but the current one gets a tombstone.
    let mut tombstones = Vec::new();
    for r in &rows {
        let key = (r.project.clone(), r.summary.trace_id.clone());
        let starts: BTreeSet<u64> = world
            .traces
            .get(&key)
            .map(|t| t.rows.values().map(|row| row.start_ns).collect())
            .unwrap_or_default();
        tombstones.extend(
            starts
                .into_iter()
                .filter(|s| *s != r.summary.t_start)
                .map(|s| tombstone(r, s)),
        );
    }
    let calls = crate::calls::records(&world, &all, version, retention, before);
    tokio::try_join!(
        crate::calls::insert(ch, db, &calls),
        insert(ch, db, &rows, &tombstones)
    )?;
    Ok(())
}

/// One row of `trace_list` (schema version 9): a summary row, or (`deleted = 1`) the tombstone
/// of a start the trace no longer has.
#[derive(Serialize)]
struct ListRecord<'a> {
    #[serde(flatten)]
    record: &'a SummaryRecord,
    deleted: u8,
}

/// One row of `trace_counts` (schema version 9): list rows written for an hour, minute or
/// second of starts.
#[derive(Serialize)]
struct CountRecord<'a> {
    project: &'a str,
    unit: u8,
    bucket: u64,
    expire_at: u32,
    rows: u64,
}

/// The tombstone of trace `of`'s row at `start` in `trace_list`, at `of`'s version.
fn tombstone(of: &SummaryRecord, start: u64) -> SummaryRecord {
    let summary = TraceSummary {
        start_unix_nano: start,
        ..TraceSummary::default()
    };
    SummaryRecord {
        project: of.project.clone(),
        summary: SummaryRow::from_summary(of.summary.trace_id.clone(), summary),
        t_services: Vec::new(),
        t_req_models: Vec::new(),
        t_resp_models: Vec::new(),
        t_providers: Vec::new(),
        version: of.version,
        expire_at: of.expire_at,
    }
}

/// Inserts summary rows into `trace_list` (with the tombstones of starts their traces left,
/// then the marks of their sessions' and users' folds) and `trace_summaries`, with their counts
/// in `trace_counts`. In that order: the list's walk
/// plans from the counts, so a row in the list is always counted, and a trace the summaries
/// show is always in the list.
async fn insert(
    ch: &Client,
    db: &str,
    rows: &[SummaryRecord],
    tombstones: &[SummaryRecord],
) -> Result<(), StoreError> {
    let list: Vec<ListRecord<'_>> = rows
        .iter()
        .map(|record| ListRecord { record, deleted: 0 })
        .chain(
            tombstones
                .iter()
                .map(|record| ListRecord { record, deleted: 1 }),
        )
        .collect();
    let mut counts: std::collections::BTreeMap<(&str, u8, u64, u32), u64> = Default::default();
    for r in &list {
        for (unit, width) in crate::newest::UNITS.iter().enumerate() {
            let bucket = r.record.summary.t_start.checked_div(*width).unwrap_or(0);
            let unit = u8::try_from(unit).unwrap_or(u8::MAX);
            let n = counts
                .entry((r.record.project.as_str(), unit, bucket, r.record.expire_at))
                .or_default();
            *n = n.saturating_add(1);
        }
    }
    let counts: Vec<CountRecord<'_>> = counts
        .into_iter()
        .map(|((project, unit, bucket, expire_at), rows)| CountRecord {
            project,
            unit,
            bucket,
            expire_at,
            rows,
        })
        .collect();
    ch.insert(&format!("{db}.trace_counts"), &counts).await?;
    ch.insert(&format!("{db}.trace_list"), &list).await?;
    // The sessions' and users' folds of the starts written refold from the list.
    let mut touched = crate::folds::Touched::new();
    for r in &list {
        crate::group_folds::touch(
            &mut touched,
            &r.record.project,
            r.record.summary.t_start,
            r.record.expire_at,
        );
    }
    crate::folds::mark(ch, db, &touched).await?;
    ch.insert(&format!("{db}.trace_summaries"), rows).await
}

/// The summary rows of the given traces, from the world (which must hold every span of them
/// and every span claiming their calls' response ids). Traces without stored spans are
/// skipped.
fn records(
    world: &World,
    keys: &[Key],
    version: u64,
    retention: &Retention,
) -> Result<Vec<SummaryRecord>, StoreError> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(s) = world.summary(key).map_err(StoreError::Permanent)? else {
            continue;
        };
        out.extend(record(world, key, s, version, retention));
    }
    Ok(out)
}

/// The summary rows of traces already summarized from the world ([`records`] for them).
fn records_of(
    summaries: &[(&Key, TraceSummary)],
    world: &World,
    version: u64,
    retention: &Retention,
) -> Vec<SummaryRecord> {
    summaries
        .iter()
        .filter_map(|(key, s)| record(world, key, s.clone(), version, retention))
        .collect()
}

/// The summary row of one trace of the world, whose summary is `s`.
fn record(
    world: &World,
    key: &Key,
    s: TraceSummary,
    version: u64,
    retention: &Retention,
) -> Option<SummaryRecord> {
    let state = world.traces.get(key)?;
    let latest_start = state.rows.values().map(|r| r.start_ns).max().unwrap_or(0);
    let mut services = BTreeSet::new();
    let (mut req, mut resp, mut providers) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for r in state.rows.values() {
        services.insert(r.service.clone());
        if r.is_call != 0 {
            for (set, v) in [
                (&mut req, &r.request_model),
                (&mut resp, &r.response_model),
                (&mut providers, &r.provider),
            ] {
                if !v.is_empty() {
                    set.insert(v.clone());
                }
            }
        }
    }
    Some(SummaryRecord {
        project: key.0.clone(),
        summary: SummaryRow::from_summary(key.1.clone(), s),
        t_services: services.into_iter().collect(),
        t_req_models: req.into_iter().collect(),
        t_resp_models: resp.into_iter().collect(),
        t_providers: providers.into_iter().collect(),
        version,
        // Kept as long as the trace's latest-starting span.
        expire_at: retention.expire_at(&key.0, latest_start, now_secs()),
    })
}

/// The columns the list reads from a summary row, with the rollup query's names and
/// `t_duration`.
const LIST_COLUMNS: &str = "trace_id, root_name, has_root, root_service, t_start, t_end, \
    toInt64(greatest(t_end, t_start) - t_start) AS t_duration, span_count, llm_call_count, \
    t_input, t_output, t_cache_read, t_cache_write, t_reasoning, error_count, t_cost, \
    t_unpriced, t_reported, t_failed_calls, t_user, t_session, t_services, t_req_models, \
    t_resp_models, t_providers";

/// The project's trace summaries (latest version of each), with the rollup query's column
/// names and `t_duration`; `filter` is a further condition on `trace_id` (it must only name
/// sort-key columns, which is safe under `FINAL`).
pub(crate) fn summaries_sql(db: &str, project: &str, filter: &str) -> String {
    format!(
        "SELECT {LIST_COLUMNS} FROM {db}.trace_summaries FINAL WHERE project = {}{filter}",
        lit(project)
    )
}

/// The project's rows of `trace_list` (latest version of each start of each trace) kept by
/// `filter` (conditions on its sort key only, which is safe under `FINAL`), as
/// [`summaries_sql`] gives them, with `deleted` (1 for a start the trace left).
pub(crate) fn list_sql(db: &str, project: &str, filter: &str) -> String {
    format!(
        "SELECT {LIST_COLUMNS}, deleted FROM {db}.trace_list FINAL WHERE project = {}{filter}",
        lit(project)
    )
}

/// Fills `trace_summaries` from the spans of a database created before it (every project's
/// rollups, computed by the rollup query), at version 1 so that any summary a writer writes
/// meanwhile wins; each expires with the latest-expiring of its spans. In a cluster (`local` is
/// `_local`) each node fills its own table with the traces of its own shard, the rollups still
/// computed over the whole cluster (claims cross shards). A long statement: it gets its own
/// timeout; a failure leaves the version unapplied, and running it again is harmless.
pub(crate) async fn backfill(ch: &Client, db: &str, local: &str) -> Result<(), StoreError> {
    #[derive(serde::Deserialize)]
    struct P {
        project: String,
    }
    let projects: Vec<P> = ch
        .select(&format!("SELECT DISTINCT project FROM {db}.spans{local}"))
        .await?;
    for p in projects {
        let project = lit(&p.project);
        let filter = if local.is_empty() {
            String::new()
        } else {
            format!(
                " AND trace_id GLOBAL IN (SELECT trace_id FROM {db}.spans{local} \
                 WHERE project = {project})"
            )
        };
        let rollups = crate::reader::trace_rollups_sql(db, &p.project, &filter);
        let sql = format!(
            "INSERT INTO {db}.trace_summaries{local} ({COLUMNS}) \
             SELECT {project}, trace_id, root_name, has_root, root_service, t_start, t_end, \
             span_count, llm_call_count, t_input, t_output, t_cache_read, t_cache_write, \
             t_reasoning, error_count, t_cost, t_unpriced, t_reported, t_user, t_session, \
             t_services, t_req_models, t_resp_models, t_providers, toUInt64(1), e \
             FROM ({rollups}) ANY LEFT JOIN \
             (SELECT trace_id, max(expire_at) AS e FROM {db}.spans{local} \
              WHERE project = {project} GROUP BY trace_id) USING (trace_id)"
        );
        ch.execute_with_timeout(&sql, crate::schema::BACKFILL_TIMEOUT)
            .await?;
    }
    Ok(())
}
