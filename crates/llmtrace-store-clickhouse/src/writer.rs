//! The write path.
//!
//! For one batch: read the stored structure (no JSON columns) of every trace the batch touches,
//! decide each span's fate against it in batch order (duplicate, new, replacing an incomplete
//! copy; counted call or not, following the counting rule), then insert logs, scores and finally
//! the new span rows, each insert one `JSONEachRow` request that returns only after ClickHouse
//! stored it. The touched traces' summaries are computed from the stored rows plus the new ones.

use crate::client::{lit, Client};
use crate::retention::{now_secs, Retention};
use crate::rows::{SpanRow, ALL_COLUMNS};
use crate::world::{Key, World};
use crate::Versions;
use llmtrace_model::{LogRecord, Score, Span};
use llmtrace_store::{
    merge_incomplete, CallCorrection, CallRef, SpanFate, StoreError, TouchedTrace, UsageTotals,
    WriteBatch, WriteOutcome,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

#[derive(Serialize)]
struct ScoreRow<'a> {
    project: &'a str,
    score_id: &'a str,
    trace_id: String,
    time_ns: u64,
    detail: String,
    version: u64,
    expire_at: u32,
}

#[derive(Serialize)]
struct LogRow<'a> {
    project: &'a str,
    trace_id: String,
    span_id: String,
    time_ns: u64,
    log_hash: String,
    event_name: &'a str,
    detail: String,
    expire_at: u32,
}

fn encode_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Permanent(format!("cannot encode: {e}"))
}

fn log_row<'a>(log: &'a LogRecord, retention: &Retention) -> Result<LogRow<'a>, StoreError> {
    let detail = serde_json::to_string(log).map_err(encode_err)?;
    let hash = Sha256::digest(detail.as_bytes());
    Ok(LogRow {
        project: &log.project,
        trace_id: log.trace_id.map(|t| t.to_hex()).unwrap_or_default(),
        span_id: log.span_id.map(|s| s.to_hex()).unwrap_or_default(),
        time_ns: log.time_unix_nano,
        log_hash: hex::encode(hash.iter().take(16).copied().collect::<Vec<u8>>()),
        event_name: &log.event_name,
        detail,
        expire_at: retention.expire_at(&log.project, log.time_unix_nano, now_secs()),
    })
}

fn score_row<'a>(
    score: &'a Score,
    versions: &Versions,
    retention: &Retention,
) -> Result<ScoreRow<'a>, StoreError> {
    Ok(ScoreRow {
        project: &score.project,
        score_id: &score.id,
        trace_id: score.trace_id.to_ascii_lowercase(),
        time_ns: score.timestamp_unix_nano,
        detail: serde_json::to_string(score).map_err(encode_err)?,
        version: versions.next(),
        expire_at: retention.expire_at(&score.project, score.timestamp_unix_nano, now_secs()),
    })
}

/// A row of the `responses` index.
#[derive(serde::Serialize)]
struct ResponseRow<'a> {
    project: &'a str,
    response_id: &'a str,
    trace_id: &'a str,
    /// That of the span row.
    expire_at: u32,
}

/// Writes one batch (see the module doc).
pub(crate) async fn write(
    ch: &Client,
    db: &str,
    versions: &Versions,
    retention: &Retention,
    batch: &std::sync::Arc<WriteBatch>,
) -> Result<WriteOutcome, StoreError> {
    let mut outcome = WriteOutcome::default();
    let mut phases = llmtrace_store::WritePhases::start();
    // Encoding the span rows (JSON of the detail, searchable text) needs no stored data: it
    // runs on a blocking thread while the lookups below wait for ClickHouse.
    let encoding = {
        let batch = batch.clone();
        tokio::task::spawn_blocking(move || {
            batch
                .spans
                .iter()
                .map(|s| SpanRow::from_span(s, 0))
                .collect::<Vec<_>>()
        })
    };
    let mut touched: Vec<Key> = Vec::new();
    let mut seen: std::collections::HashSet<Key> = Default::default();
    for s in &batch.spans {
        let key = (s.project.clone(), s.trace_id.to_hex());
        if seen.insert(key.clone()) {
            touched.push(key);
        }
    }
    // The version of the summaries computed from what this write loads (see `summaries.rs`).
    let load_version = versions.next();
    let mut world = World::default();
    world.load_traces(ch, db, &touched).await?;
    let stored_starts: std::collections::HashMap<Key, u64> = touched
        .iter()
        .filter_map(|k| {
            let start = world
                .traces
                .get(k)?
                .rows
                .values()
                .map(|r| r.start_ns)
                .min()?;
            Some((k.clone(), start))
        })
        .collect();
    phases.mark("load traces");
    let rids: Vec<(String, String)> = batch
        .spans
        .iter()
        .filter(|s| s.kind.is_model_call())
        .filter_map(|s| Some((s.project.clone(), s.gen_ai.response_id.clone()?)))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    world.load_responses(ch, db, rids.iter().cloned()).await?;
    load_incomplete_copies(ch, db, &mut world, batch).await?;
    // The touched traces' call keys before this write places its spans (a call whose key moves
    // gets a tombstone at the old one).
    let stored_calls = crate::calls::stored_keys(&world, &touched);
    // The touched traces' span starts before this write (a searchable span whose start moves
    // gets a tombstone at the old one, `search.rs`).
    let stored_span_starts = span_starts(&world, &touched);
    phases.mark("load responses");
    let encoded = encoding
        .await
        .map_err(|e| StoreError::Permanent(format!("row encoding failed: {e}")))?;
    phases.mark("wait for encoding");
    let mut new_rows: Vec<SpanRow> = Vec::new();
    for (index, (span, encoded)) in batch.spans.iter().zip(encoded).enumerate() {
        let (fate, mut row, merged) = place(
            &mut world,
            versions,
            span,
            encoded,
            &mut outcome.call_corrections,
        )?;
        if let Some(r) = row.as_mut() {
            r.expire_at = retention.expire_at(&r.project, r.start_ns, now_secs());
        }
        outcome.record(fate);
        outcome.merged_spans.extend(merged.map(|m| (index, m)));
        new_rows.extend(row);
    }
    apply_usage_sources(
        ch,
        db,
        &mut world,
        (versions, retention),
        &mut new_rows,
        &mut outcome.call_corrections,
    )
    .await?;
    phases.mark("place spans");
    // Logs and scores first, spans last: all three are idempotent, so if a later insert fails
    // and the batch is retried, nothing is stored twice and the spans' fates are reported then.
    // The traces whose summary this batch changes: the touched ones, and those loaded because
    // they share a provider response id with the batch (a claim may have moved).
    let mut changed: Vec<Key> = touched.clone();
    let touched_set: std::collections::HashSet<&Key> = touched.iter().collect();
    changed.extend(
        world
            .traces
            .iter()
            .filter(|(k, t)| !t.rows.is_empty() && !touched_set.contains(k))
            .map(|(k, _)| k.clone()),
    );
    let logs = batch
        .logs
        .iter()
        .map(|l| log_row(l, retention))
        .collect::<Result<Vec<_>, _>>()?;
    ch.insert(&format!("{db}.logs"), &logs).await?;
    outcome.logs_written = logs.len() as u64;
    let mut attached = Vec::with_capacity(batch.scores.len());
    for s in &batch.scores {
        attached.push(crate::annotations::attach_by_response(ch, db, s, &new_rows).await?);
    }
    let scores = batch
        .scores
        .iter()
        .zip(&attached)
        .map(|(s, a)| score_row(a.as_ref().unwrap_or(s), versions, retention))
        .collect::<Result<Vec<_>, _>>()?;
    ch.insert(&format!("{db}.scores"), &scores).await?;
    outcome.scores_written = scores.len() as u64;
    // The keys of the changed traces before the response index and the spans (a writer that
    // finds this write's response rows then finds its keys too, see `summaries.rs`).
    ch.insert(
        &format!("{db}.trace_keys"),
        &trace_key_rows(
            &changed,
            &new_rows,
            versions.writer(),
            load_version,
            retention,
        ),
    )
    .await?;
    // The response index before the spans: a lookup may then find a trace that lacks the span
    // (harmless), never miss a stored one.
    let responses: Vec<ResponseRow<'_>> = new_rows
        .iter()
        .filter(|r| r.is_call != 0 && !r.response_id.is_empty())
        .map(|r| ResponseRow {
            project: &r.project,
            response_id: &r.response_id,
            trace_id: &r.trace_id,
            expire_at: r.expire_at,
        })
        .collect();
    // The messages before the spans too: a reader that finds a span finds its messages.
    let messages = crate::messages::rows_of(&new_rows)?;
    let (responses_table, messages_table) = (format!("{db}.responses"), format!("{db}.messages"));
    tokio::try_join!(
        ch.insert(&responses_table, &responses),
        ch.insert(&messages_table, &messages)
    )?;
    phases.mark("insert keys, responses, messages, logs, scores");
    let texts = crate::search::rows_of(&new_rows, &stored_span_starts, retention);
    let (spans, text) = (format!("{db}.spans"), format!("{db}.span_text"));
    tokio::try_join!(ch.insert(&spans, &new_rows), ch.insert(&text, &texts))?;
    phases.mark("insert spans");
    // The touched traces' summaries: reported in the outcome, and stored unless a race makes
    // the summaries read back.
    let mut summaries = Vec::with_capacity(touched.len());
    for key in &touched {
        if let Some(summary) = world.summary(key).map_err(StoreError::Permanent)? {
            summaries.push((key, summary));
        }
    }
    phases.mark("summarize");
    crate::summaries::after_write(
        ch,
        db,
        &world,
        crate::summaries::Written {
            changed: &changed,
            touched: touched.len(),
            rids: &rids,
            summaries: &summaries,
            stored_starts: &stored_starts,
            stored_calls: &stored_calls,
        },
        (versions, load_version),
        retention,
    )
    .await?;
    phases.mark("summaries");
    outcome.traces = summaries
        .into_iter()
        .map(|(key, summary)| TouchedTrace {
            project: key.0.clone(),
            summary,
        })
        .collect();
    tracing::debug!(
        spans = batch.spans.len(),
        traces = outcome.traces.len(),
        phases = %phases,
        "clickhouse write"
    );
    Ok(outcome)
}

/// The start of every stored span of the traces `keys` of the world.
fn span_starts(world: &World, keys: &[Key]) -> HashMap<crate::search::SpanKey, u64> {
    keys.iter()
        .filter_map(|k| Some((k, world.traces.get(k)?)))
        .flat_map(|(k, state)| {
            state
                .rows
                .values()
                .map(move |r| ((k.0.clone(), k.1.clone(), r.span_id.clone()), r.start_ns))
        })
        .collect()
}

/// A row of the `trace_keys` table.
#[derive(Serialize)]
pub(crate) struct TraceKeyRow<'a> {
    project: &'a str,
    trace_id: &'a str,
    writer: u64,
    at: u64,
    /// The latest expiry of the trace's rows this write stores, and at least the expiry of a
    /// row written now (the key must outlive every span of its trace).
    expire_at: u32,
}

/// One key row per changed trace, written by `writer` at `at`.
pub(crate) fn trace_key_rows<'a>(
    changed: &'a [Key],
    rows: &[SpanRow],
    writer: u64,
    at: u64,
    retention: &Retention,
) -> Vec<TraceKeyRow<'a>> {
    let mut latest: HashMap<(&str, &str), u32> = HashMap::new();
    for r in rows {
        let e = latest.entry((&r.project, &r.trace_id)).or_insert(0);
        *e = (*e).max(r.expire_at);
    }
    let now = now_secs();
    changed
        .iter()
        .map(|(project, trace_id)| TraceKeyRow {
            project,
            trace_id,
            writer,
            at,
            expire_at: latest
                .get(&(project.as_str(), trace_id.as_str()))
                .copied()
                .unwrap_or(0)
                .max(retention.expire_at(project, 0, now)),
        })
        .collect()
}

/// How a new counting call span with a response id fares against the span counting that
/// response so far.
enum Claim {
    /// Nobody else counts it (or the one counting it is this span's wrapper).
    Free,
    /// A preferred span counts it: this one does not.
    Lost,
    /// This span is preferred: the other (`was`) stops counting; `complete` says whether the
    /// metrics already counted the call through it.
    Displace {
        complete: bool,
        was: Option<CallRef>,
    },
}

/// Rule 5 of the counting rule: every response the new rows carry is counted with the usage of
/// its usage source ([`World::usage_source`]). A counting span whose usage differs from its
/// source's takes the source's usage and cost: a new row is rebuilt, a stored row is read whole
/// and written again with a newer version. Counted calls whose usage changed are reported as
/// corrections.
async fn apply_usage_sources(
    ch: &Client,
    db: &str,
    world: &mut World,
    (versions, retention): (&Versions, &Retention),
    new_rows: &mut Vec<SpanRow>,
    corrections: &mut Vec<CallCorrection>,
) -> Result<(), StoreError> {
    let rids: BTreeSet<(String, String)> = new_rows
        .iter()
        .filter(|r| r.is_call != 0 && !r.response_id.is_empty())
        .map(|r| (r.project.clone(), r.response_id.clone()))
        .collect();
    // (owner's project, trace id, span id) → its usage source's row, for stored owners.
    let mut stored: HashMap<(String, String, String), SpanRow> = HashMap::new();
    for (p, rid) in &rids {
        let (Some(owner), Some(source)) = (world.owner(p, rid, None), world.usage_source(p, rid))
        else {
            continue;
        };
        if (&owner.trace_id, &owner.span_id) == (&source.trace_id, &source.span_id)
            || owner.same_usage(source)
        {
            continue;
        }
        let owner_ref = (
            owner.project.clone(),
            owner.trace_id.clone(),
            owner.span_id.clone(),
        );
        let mut source = source.clone();
        let source = source.structure();
        // The last row of the span: the newest version when the batch holds two copies.
        let new_index = new_rows.iter().rposition(|r| {
            (&r.project, &r.trace_id, &r.span_id) == (&owner_ref.0, &owner_ref.1, &owner_ref.2)
        });
        match new_index {
            Some(i) => {
                if let Some(row) = new_rows.get_mut(i) {
                    retake_usage(world, row, &source, row.version, row.expire_at, corrections)?;
                }
            }
            None => {
                stored.insert(owner_ref, source);
            }
        }
    }
    if stored.is_empty() {
        return Ok(());
    }
    let mut by_project: HashMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = HashMap::new();
    for (p, t, id) in stored.keys() {
        let e = by_project.entry(p).or_default();
        e.0.insert(t);
        e.1.insert(id);
    }
    let list = |set: &BTreeSet<&str>| set.iter().map(|v| lit(v)).collect::<Vec<_>>().join(", ");
    for (project, (traces, spans)) in by_project {
        let sql = format!(
            "SELECT {ALL_COLUMNS} FROM {db}.spans FINAL WHERE project = {} AND trace_id IN ({}) \
             AND span_id IN ({})",
            lit(project),
            list(&traces),
            list(&spans)
        );
        let rows = ch.select::<SpanRow>(&sql).await?;
        crate::messages::load(ch, db, &rows, &mut world.messages).await?;
        for mut row in rows {
            let key = (
                row.project.clone(),
                row.trace_id.clone(),
                row.span_id.clone(),
            );
            let Some(source) = stored.get(&key) else {
                continue;
            };
            let version = versions.next().max(row.version.saturating_add(1));
            let expire_at = retention.expire_at(&row.project, row.start_ns, now_secs());
            retake_usage(world, &mut row, source, version, expire_at, corrections)?;
            new_rows.push(row);
        }
    }
    Ok(())
}

/// Rebuilds a counting span's full row with its usage source's usage and cost, puts it into the
/// world and reports the correction (for a complete row: the metrics counted it).
fn retake_usage(
    world: &mut World,
    row: &mut SpanRow,
    source: &SpanRow,
    version: u64,
    expire_at: u32,
    corrections: &mut Vec<CallCorrection>,
) -> Result<(), StoreError> {
    let mut span = row
        .to_span(Some(&world.messages))
        .map_err(StoreError::Permanent)?;
    source.give_usage_to(&mut span);
    let mut rebuilt = SpanRow::from_span(&span, version).map_err(StoreError::Permanent)?;
    rebuilt.expire_at = expire_at;
    *row = rebuilt;
    world.add(if row.incomplete != 0 {
        row.clone()
    } else {
        row.structure()
    });
    if row.incomplete == 0 {
        corrections.push(CallCorrection {
            project: span.project.clone(),
            was: CallRef::of(&span),
            now: Some(CallRef::of(&span)),
            usage: UsageTotals::of_call(&span),
        });
    }
    Ok(())
}

/// Replaces the structure-only rows of stored incomplete copies that the batch's spans replace
/// by their full rows, which the merge of [`merge_incomplete`] needs.
async fn load_incomplete_copies(
    ch: &Client,
    db: &str,
    world: &mut World,
    batch: &WriteBatch,
) -> Result<(), StoreError> {
    let mut wanted: HashMap<&str, (BTreeSet<String>, BTreeSet<String>)> = HashMap::new();
    for s in &batch.spans {
        let (t, id) = (s.trace_id.to_hex(), s.span_id.to_hex());
        if world
            .row((&s.project, &t, &id))
            .is_some_and(|r| r.incomplete != 0)
        {
            let w = wanted.entry(&s.project).or_default();
            w.0.insert(t);
            w.1.insert(id);
        }
    }
    for (project, (traces, spans)) in wanted {
        let list =
            |set: &BTreeSet<String>| set.iter().map(|v| lit(v)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {ALL_COLUMNS} FROM {db}.spans FINAL WHERE project = {} AND trace_id IN ({}) \
             AND span_id IN ({}) AND incomplete = 1",
            lit(project),
            list(&traces),
            list(&spans)
        );
        let rows = ch.select::<SpanRow>(&sql).await?;
        crate::messages::load(ch, db, &rows, &mut world.messages).await?;
        for row in rows {
            if world
                .row((&row.project, &row.trace_id, &row.span_id))
                .is_some_and(|r| r.incomplete != 0 && r.version == row.version)
            {
                world.add(row);
            }
        }
    }
    Ok(())
}

/// A placed span's fate, its row to insert (none for a duplicate), and the span as stored when
/// it was merged with an incomplete copy.
type Placed = (SpanFate, Option<SpanRow>, Option<Span>);

/// Places one span of the batch into the world, in batch order, and says what that did; the
/// row to insert comes back unless the span is a duplicate. `encoded` is the span's row (any
/// version); a span replacing a stored incomplete copy is merged with it first
/// ([`merge_incomplete`]) and encoded again.
fn place(
    world: &mut World,
    versions: &Versions,
    span: &Span,
    encoded: Result<SpanRow, String>,
    corrections: &mut Vec<CallCorrection>,
) -> Result<Placed, StoreError> {
    let (p, t, id) = (
        span.project.clone(),
        span.trace_id.to_hex(),
        span.span_id.to_hex(),
    );
    let (stored_version, merged) = match world.row((&p, &t, &id)) {
        Some(old) if old.incomplete == 0 => return Ok((SpanFate::Duplicate, None, None)),
        Some(old) => {
            // Structure only if its full row could not be read (replaced meanwhile).
            let old_span = if old.detail.is_empty() {
                old.lite_span()
            } else {
                old.to_span(Some(&world.messages))
            }
            .map_err(StoreError::Permanent)?;
            (
                Some(old.version),
                Some(merge_incomplete(&old_span, span.clone())),
            )
        }
        None => (None, None),
    };
    let version = versions
        .next()
        .max(stored_version.map_or(0, |v| v.saturating_add(1)));
    let mut row = match merged.as_ref() {
        Some(m) => SpanRow::from_span(m, version),
        None => encoded,
    }
    .map_err(StoreError::Permanent)?;
    row.version = version;
    let is_call = row.is_call != 0;
    let incomplete = row.incomplete != 0;
    // A counting call parent of this call is a wrapper of it: it stops counting now.
    let wrapper_complete = (is_call && !row.parent_span_id.is_empty())
        .then(|| {
            let parent = (p.as_str(), t.as_str(), row.parent_span_id.as_str());
            world
                .counts(parent)
                .then(|| world.row(parent).map(|w| w.incomplete == 0))
                .flatten()
        })
        .flatten();
    // The span counting this call's response so far (this span's own earlier copy aside). When
    // that earlier copy was the owner, the claim stays with this span (as on SQLite).
    let own_copy_owns = is_call
        && !row.response_id.is_empty()
        && world
            .owner(&p, &row.response_id, None)
            .is_some_and(|o| o.trace_id == t && o.span_id == id);
    let rival = (is_call && !row.response_id.is_empty() && !own_copy_owns)
        .then(|| world.owner(&p, &row.response_id, Some((&t, &id))))
        .flatten()
        .map(|o| {
            let is_parent = o.trace_id == t && o.span_id == row.parent_span_id;
            let was = crate::rows::call_ref(&o.trace_id, &o.span_id);
            (o.claim_key.clone(), o.incomplete == 0, is_parent, was)
        });
    // The world keeps the detail of incomplete rows only (a later copy merges with it).
    world.add(if incomplete {
        row.clone()
    } else {
        row.structure()
    });
    let nest_counts = is_call
        && world
            .traces
            .get(&(p.clone(), t.clone()))
            .is_some_and(|st| !st.has_call_child(&id));
    let claim = match rival {
        Some((key, complete, false, was)) if nest_counts => {
            if row.claim_key < key {
                Claim::Displace { complete, was }
            } else {
                Claim::Lost
            }
        }
        _ => Claim::Free,
    };
    let counted = nest_counts && !matches!(claim, Claim::Lost);
    let mut fate = if counted && !incomplete {
        SpanFate::CountedCall
    } else {
        SpanFate::Stored
    };
    let me = CallRef::of(span);
    // What the call counts with: the stored (merged) span's usage.
    let usage = UsageTotals::of_call(merged.as_ref().unwrap_or(span));
    if !is_call {
        fate = SpanFate::Stored;
    } else if wrapper_complete == Some(true) {
        // The metrics counted this call when its wrapper arrived.
        fate = SpanFate::Stored;
        let wrapper = crate::rows::call_ref(&t, &row.parent_span_id);
        corrections.extend(wrapper.map(|was| CallCorrection {
            project: p.clone(),
            was,
            // An incomplete span counts when its complete copy arrives.
            now: (counted && !incomplete).then_some(me),
            usage,
        }));
    }
    if let Claim::Displace {
        complete: true,
        was,
    } = claim
    {
        // ... or when the span now displaced arrived.
        fate = SpanFate::Stored;
        corrections.extend(was.map(|was| CallCorrection {
            project: p.clone(),
            was,
            now: (!incomplete).then_some(me),
            usage,
        }));
    }
    Ok((fate, Some(row), merged))
}
