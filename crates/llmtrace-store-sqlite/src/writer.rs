//! The write path: one transaction per group commit. Spans are inserted idempotently, the
//! counting rule of `llmtrace_store::TraceRollup` is applied with two narrow lookups per model
//! call, and each touched trace's rollup is read and written once per commit.

use crate::claims::{self, Claim, ClaimState, SourceUsage, UsageSource};
use crate::int::{count, int, position};
use crate::rows::{encode_blob, encode_log, write_span_detail};
use crate::traces;
#[cfg(test)]
use llmtrace_model::SpanKind;
use llmtrace_model::{Span, SpanId, TraceId};
use llmtrace_store::{
    CallCorrection, CallRef, SpanFate, TouchedTrace, TraceRollup, UsageSourceKey, UsageTotals,
    WriteBatch, WriteOutcome,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// Kind codes of model calls (llm, embedding), as stored.
const CALL_KINDS: &str = "(0, 1)";

/// A failure inside the write transaction.
#[derive(Debug)]
pub(crate) enum WriteFailure {
    /// SQLite refused.
    Sql(rusqlite::Error),
    /// A value could not be encoded.
    Encode(String),
}

impl From<rusqlite::Error> for WriteFailure {
    fn from(e: rusqlite::Error) -> Self {
        WriteFailure::Sql(e)
    }
}

/// The writer's connection and the state it keeps between commits.
pub(crate) struct Writer {
    conn: Connection,
    project_ids: HashMap<String, i64>,
    /// Id the next new trace row gets. Only this writer inserts traces, so ids can be handed out
    /// in memory, in arrival order (see `schema.rs` for why that order matters).
    next_trace_ref: i64,
    /// Id the next span blob gets (same single-writer allocation).
    next_blob_id: i64,
    zstd: zstd::bulk::Compressor<'static>,
    resources: crate::resources::ResourceCache,
    price_refs: crate::prices::PriceRefs,
    /// Whether any span may be stored incomplete (so a new span may replace one): false until
    /// the first incomplete span, which spares every other write the lookup.
    maybe_incomplete: bool,
    /// Re-prices spans merged from an incomplete and a complete copy.
    merge_pricer: Option<llmtrace_store::Pricer>,
    /// Copies committed WAL pages into the database beside the writer.
    checkpoints: crate::checkpoint::Checkpointer,
}

/// A trace touched by the current commit.
struct Pending {
    /// `traces.id`, allocated for a new trace.
    row_id: i64,
    /// Whether the row is already stored (update) or new (insert).
    exists: bool,
    rollup: TraceRollup,
    /// The trace's blob of span details in this commit: id, JSON array being built, count.
    blob: Option<(i64, Vec<u8>, u32)>,
    /// Search text of the trace's spans written in this commit (row id, whether the row
    /// replaced a stored copy, start in Unix nanoseconds, text), indexed at the end of the transaction: a full-text write
    /// before the rows the rollup triggers watch would make FTS5 flush its pending terms at
    /// each of their statements (a statement journal is a savepoint to a virtual table).
    search: Vec<(i64, bool, i64, TextOf)>,
}

/// Where a written span's search text comes from.
enum TextOf {
    /// The encoding beside the transaction, for the batch's span at this index.
    Batch(usize),
    /// Computed by the writer (the span was stored changed).
    Own(String),
}

/// The batch being written and where its encoding puts each span's detail.
#[derive(Clone, Copy)]
struct Planned<'a> {
    plan: &'a crate::encode::BlobPlan,
    spans: &'a [Span],
}

type PendingTraces = HashMap<(i64, TraceId), Pending>;

fn next_id(conn: &Connection, table: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        &format!("SELECT coalesce(max(id), 0) + 1 FROM {table}"),
        [],
        |r| r.get(0),
    )
}

/// Ids handed out in memory by the single writer.
struct Ids {
    next_trace_ref: i64,
    next_blob_id: i64,
}

impl Writer {
    pub(crate) fn new(
        conn: Connection,
        checkpoints: crate::checkpoint::Checkpointer,
    ) -> rusqlite::Result<Self> {
        let next_trace_ref = next_id(&conn, "traces")?;
        let next_blob_id = next_id(&conn, "span_blobs")?;
        let maybe_incomplete = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM spans WHERE incomplete = 1)",
            [],
            |r| r.get(0),
        )?;
        Ok(Writer {
            checkpoints,
            maybe_incomplete,
            merge_pricer: None,
            conn,
            project_ids: HashMap::new(),
            next_trace_ref,
            next_blob_id,
            zstd: crate::rows::compressor()
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?,
            resources: Default::default(),
            price_refs: Default::default(),
        })
    }

    /// Sets the pricing of merged spans.
    /// The writer's connection, for the writes outside ingest's group commits (annotations).
    pub(crate) fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn set_merge_pricer(&mut self, pricer: llmtrace_store::Pricer) {
        self.merge_pricer = Some(pricer);
    }

    /// Re-prices one batch of stored spans (see `recompute.rs`) on the writer connection.
    /// Deletes one batch of expired traces (see `retention.rs`).
    pub(crate) fn expire_batch(
        &mut self,
        expiry: &crate::retention::Expiry,
        max_traces: usize,
    ) -> rusqlite::Result<crate::retention::Expired> {
        crate::retention::expire_batch(&mut self.conn, expiry, max_traces)
    }

    /// Bytes of pages in use, and one batch of the oldest traces deleted when `over` says the
    /// store is over its limit (see `retention.rs`).
    pub(crate) fn shrink_batch(
        &mut self,
        limit: u64,
        max_traces: usize,
    ) -> rusqlite::Result<Option<crate::retention::Expired>> {
        if crate::retention::used_bytes(&self.conn)? <= limit {
            return Ok(None);
        }
        crate::retention::expire_oldest_batch(&mut self.conn, max_traces).map(Some)
    }

    pub(crate) fn recompute_batch(
        &mut self,
        req: &llmtrace_store::RecomputeRequest,
        pricer: &(dyn Fn(&Span) -> llmtrace_model::SpanCost + Send + Sync),
        progress: &mut crate::recompute::Progress,
        report: &mut llmtrace_store::RecomputeReport,
    ) -> Result<(), String> {
        crate::recompute::batch(
            &mut self.conn,
            &mut self.price_refs,
            req,
            pricer,
            progress,
            report,
        )
    }

    /// Writes one batch in one transaction, committed durably before returning.
    pub(crate) fn write(&mut self, batch: &WriteBatch) -> Result<WriteOutcome, WriteFailure> {
        let result = self.write_tx(batch);
        if result.is_err() {
            // The transaction rolled back: forget ids handed out inside it.
            self.project_ids.clear();
            self.resources.clear();
            self.price_refs.clear();
            self.next_trace_ref = next_id(&self.conn, "traces")?;
            self.next_blob_id = next_id(&self.conn, "span_blobs")?;
        }
        result
    }

    fn write_tx(&mut self, batch: &WriteBatch) -> Result<WriteOutcome, WriteFailure> {
        let tx = self.conn.transaction()?;
        let mut outcome = WriteOutcome::default();
        let mut pending: PendingTraces = HashMap::new();
        let mut batch_resources = Default::default();
        let mut ids = Ids {
            next_trace_ref: self.next_trace_ref,
            next_blob_id: self.next_blob_id,
        };
        let mut merged = None;
        let mut phases = llmtrace_store::WritePhases::start();
        let plan = crate::encode::plan(&batch.spans, &mut ids.next_blob_id);
        let planned = Planned {
            plan: &plan,
            spans: &batch.spans,
        };
        let mut blob_used = vec![false; plan.blobs.len()];
        let zstd = &mut self.zstd;
        let encoded = std::thread::scope(|scope| -> Result<_, WriteFailure> {
            // Search texts and detail blobs are encoded on another core meanwhile.
            let encoding = scope.spawn(|| {
                let started = std::time::Instant::now();
                crate::encode::encode(&batch.spans, &plan, zstd).map(|e| (e, started.elapsed()))
            });
            for (index, span) in batch.spans.iter().enumerate() {
                let pid = project_id(&tx, &mut self.project_ids, &span.project)?;
                let resource_id = self.resources.id_of(
                    &tx,
                    &mut batch_resources,
                    pid,
                    &span.resource_attributes,
                )?;
                let price_ref = match &span.cost.price_id {
                    Some(id) => Some(crate::prices::price_ref(
                        &tx,
                        &mut self.price_refs,
                        id,
                        span.cost.price_effective_from.as_deref().unwrap_or(""),
                    )?),
                    None => None,
                };
                let ctx = SpanCtx {
                    pid,
                    resource_id,
                    price_ref,
                };
                let (fate, used_plan) = insert_span(
                    &tx,
                    ctx,
                    (span, index, planned),
                    &mut pending,
                    &mut ids,
                    Merging {
                        maybe_incomplete: self.maybe_incomplete,
                        pricer: self.merge_pricer.as_ref(),
                        price_refs: &mut self.price_refs,
                    },
                    &mut outcome.call_corrections,
                    &mut merged,
                )?;
                if used_plan {
                    if let Some(used) = plan
                        .places
                        .get(index)
                        .and_then(|(blob, _)| blob_used.get_mut(*blob))
                    {
                        *used = true;
                    }
                }
                if let Some(m) = merged.take() {
                    outcome.merged_spans.push((index, m));
                }
                self.maybe_incomplete |= span.incomplete;
                outcome.record(fate);
            }
            phases.mark("spans");
            let encoded = encoding
                .join()
                .map_err(|_| WriteFailure::Encode("the span encoder panicked".into()))?
                .map_err(WriteFailure::Encode)?;
            phases.mark("wait for encoding");
            Ok(encoded)
        });
        let (encoded, encoding) = encoded?;
        for ((blob_id, _), (data, used)) in
            plan.blobs.iter().zip(encoded.blobs.iter().zip(&blob_used))
        {
            if *used {
                tx.prepare_cached("INSERT INTO span_blobs (id, data) VALUES (?1, ?2)")?
                    .execute(params![blob_id, data])?;
            }
        }
        for m in &encoded.messages {
            let project_id = project_id(&tx, &mut self.project_ids, &m.project)?;
            crate::messages::save(&tx, project_id, &m.hash, m.keep_until_ns, &m.data)?;
        }
        phases.mark("insert blobs and messages");
        let mut blob_time = std::time::Duration::ZERO;
        let project_names: HashMap<i64, &str> = self
            .project_ids
            .iter()
            .map(|(name, id)| (*id, name.as_str()))
            .collect();
        outcome.traces.reserve(pending.len());
        let mut search = Vec::new();
        let mut texts = encoded.texts;
        for ((pid, _), p) in pending {
            search.extend(p.search.into_iter().map(|(row_id, replaced, start, text)| {
                let text = match text {
                    TextOf::Own(t) => t,
                    TextOf::Batch(i) => texts.get_mut(i).map(std::mem::take).unwrap_or_default(),
                };
                (row_id, replaced, start, text)
            }));
            traces::save(&tx, pid, p.row_id, p.exists, &p.rollup)?;
            let blob_started = std::time::Instant::now();
            if let Some(project) = project_names.get(&pid) {
                outcome.traces.push(TouchedTrace {
                    project: (*project).to_string(),
                    summary: p.rollup.summary,
                });
            }
            if let Some((blob_id, mut json, count)) = p.blob {
                if count > 0 {
                    json.push(b']');
                    let data = encode_blob(&mut self.zstd, json).map_err(WriteFailure::Encode)?;
                    tx.prepare_cached("INSERT INTO span_blobs (id, data) VALUES (?1, ?2)")?
                        .execute(params![blob_id, data])?;
                }
            }
            blob_time = blob_time.saturating_add(blob_started.elapsed());
        }
        phases.mark("traces and changed spans' blobs");
        phases.add("of which blobs", blob_time);
        phases.add("encoding beside", encoding);
        for log in &batch.logs {
            let pid = project_id(&tx, &mut self.project_ids, &log.project)?;
            let detail = encode_log(&mut self.zstd, log).map_err(WriteFailure::Encode)?;
            tx.prepare_cached(
                "INSERT INTO logs (project_id, trace_key, trace_id, span_id, time_ns, event_name, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                pid,
                log.trace_id.map(|t| t.key_i64()),
                log.trace_id.map(|t| t.0.to_vec()),
                log.span_id.map(|s| s.0.to_vec()),
                int(log.time_unix_nano),
                log.event_name,
                detail
            ])?;
            outcome.logs_written = outcome.logs_written.saturating_add(1);
        }
        for score in &batch.scores {
            let pid = project_id(&tx, &mut self.project_ids, &score.project)?;
            let attached = attach_by_response(&tx, pid, score)?;
            let score = attached.as_ref().unwrap_or(score);
            let detail =
                serde_json::to_vec(score).map_err(|e| WriteFailure::Encode(e.to_string()))?;
            tx.prepare_cached(
                "INSERT INTO scores (project_id, score_id, trace_id, time_ns, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (project_id, score_id) DO UPDATE SET \
                 trace_id = excluded.trace_id, time_ns = excluded.time_ns, detail = excluded.detail",
            )?
            .execute(params![
                pid,
                score.id,
                score.trace_id.to_ascii_lowercase(),
                int(score.timestamp_unix_nano),
                detail
            ])?;
            outcome.scores_written = outcome.scores_written.saturating_add(1);
        }
        phases.mark("logs and scores");
        crate::rollup_fold::fold(&tx)?;
        phases.mark("fold rollups");
        // In row order: FTS5 flushes its pending terms whenever a row id is not above the last.
        search.sort_unstable_by_key(|(row_id, ..)| *row_id);
        for (row_id, replaced, _, text) in &search {
            crate::search_index::index_span(&tx, *row_id, *replaced, text)?;
        }
        crate::search_walk::raise_bounds(
            &tx,
            search
                .iter()
                .filter(|(.., text)| !text.is_empty())
                .map(|(row_id, _, start, _)| (*row_id, *start)),
        )?;
        phases.mark("search index");
        tx.commit()?;
        self.checkpoints.committed();
        phases.mark("commit");
        tracing::debug!(
            spans = batch.spans.len(),
            traces = outcome.traces.len(),
            phases = %phases,
            "sqlite write"
        );
        self.next_trace_ref = ids.next_trace_ref;
        self.next_blob_id = ids.next_blob_id;
        Ok(outcome)
    }
}

/// A score sent without its span but with the provider response it is about, attached to the
/// call span that owns that response (when stored, and in the score's trace if it names one).
fn attach_by_response(
    tx: &Transaction<'_>,
    pid: i64,
    score: &llmtrace_model::Score,
) -> rusqlite::Result<Option<llmtrace_model::Score>> {
    let Some(response) = score
        .response_id
        .as_ref()
        .filter(|_| score.observation_id.is_none())
    else {
        return Ok(None);
    };
    let owner: Option<(Vec<u8>, i64)> = tx
        .prepare_cached(
            "SELECT t.trace_id, c.span_key FROM call_responses c JOIN traces t ON t.id = c.trace_ref \
             WHERE c.project_id = ?1 AND c.response_id = ?2",
        )?
        .query_row(params![pid, response], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((trace, span_key)) = owner else {
        return Ok(None);
    };
    let Ok(trace) = TraceId::from_bytes(&trace).map(|t| t.to_hex()) else {
        return Ok(None);
    };
    if !score.trace_id.is_empty() && !score.trace_id.eq_ignore_ascii_case(&trace) {
        return Ok(None);
    }
    Ok(Some(llmtrace_model::Score {
        trace_id: trace,
        observation_id: Some(SpanId(span_key.to_be_bytes()).to_hex()),
        ..score.clone()
    }))
}

fn project_id(
    tx: &Transaction<'_>,
    cache: &mut HashMap<String, i64>,
    name: &str,
) -> rusqlite::Result<i64> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    tx.prepare_cached("INSERT OR IGNORE INTO projects (name) VALUES (?1)")?
        .execute([name])?;
    let id: i64 = tx
        .prepare_cached("SELECT id FROM projects WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?;
    cache.insert(name.to_string(), id);
    Ok(id)
}

/// The pending rollup of a span's trace: loaded from `traces`, or new with a fresh id.
fn pending_trace<'a>(
    tx: &Transaction<'_>,
    pid: i64,
    trace_id: TraceId,
    pending: &'a mut PendingTraces,
    ids: &mut Ids,
) -> rusqlite::Result<&'a mut Pending> {
    Ok(match pending.entry((pid, trace_id)) {
        Entry::Occupied(o) => o.into_mut(),
        Entry::Vacant(v) => v.insert(match traces::load(tx, pid, &trace_id)? {
            Some((row_id, rollup)) => Pending {
                row_id,
                exists: true,
                rollup,
                blob: None,
                search: Vec::new(),
            },
            None => {
                let row_id = ids.next_trace_ref;
                ids.next_trace_ref = ids.next_trace_ref.saturating_add(1);
                Pending {
                    row_id,
                    exists: false,
                    rollup: TraceRollup::new(trace_id),
                    blob: None,
                    search: Vec::new(),
                }
            }
        }),
    })
}

/// What an incomplete stored span contributed to its trace's totals.
struct OldContribution {
    error: bool,
    counted_usage: Option<UsageTotals>,
}

/// Columns read by [`call_contribution`], in order.
const CONTRIBUTION_COLUMNS: &str = "counts_usage, input_tokens, output_tokens, cache_read_tokens, \
     cache_write_tokens, reasoning_tokens, coalesce(reported_pico, cost_pico), unpriced, \
     reported_pico IS NOT NULL, status = 2";

/// What a stored call span adds to its trace's totals when counted, read from the
/// [`CONTRIBUTION_COLUMNS`] starting at column `at`.
fn call_contribution(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<UsageTotals> {
    let n = |i: usize| -> rusqlite::Result<u64> {
        Ok(count(
            r.get::<_, Option<i64>>(at.saturating_add(i))?.unwrap_or(0),
        ))
    };
    let cost = r.get::<_, Option<i64>>(at.saturating_add(6))?;
    let billing = UsageTotals {
        calls: 1,
        cost_pico: cost.unwrap_or(0),
        unpriced: u64::from(cost.is_none() && r.get::<_, bool>(at.saturating_add(7))?),
        reported: u64::from(r.get::<_, bool>(at.saturating_add(8))?),
        failed: u64::from(r.get::<_, bool>(at.saturating_add(9))?),
        ..Default::default()
    };
    if !r.get::<_, bool>(at)? {
        return Ok(billing);
    }
    Ok(UsageTotals {
        input: n(1)?,
        output: n(2)?,
        cache_read: n(3)?,
        cache_write: n(4)?,
        reasoning: n(5)?,
        ..billing
    })
}

/// The stored copy of a span if it is incomplete (so replaceable): its contribution, and the span
/// itself (to merge the new copy into).
fn incomplete_row(
    tx: &Transaction<'_>,
    (pid, project): (i64, &str),
    trace: &Pending,
    trace_id: TraceId,
    span_key: i64,
    planned: Planned<'_>,
) -> Result<Option<(OldContribution, Span)>, WriteFailure> {
    let row = tx
        .prepare_cached(&format!(
            "SELECT status, counted, {CONTRIBUTION_COLUMNS}, parent_key, name, service, kind, \
             start_ns, end_ns, counts_usage, blob_id, blob_index, cost_pico, reported_pico, \
             unpriced FROM spans WHERE trace_ref = ?1 AND span_key = ?2 AND incomplete = 1"
        ))?
        .query_row(params![trace.row_id, span_key], |r| {
            let counted: bool = r.get(1)?;
            let old = OldContribution {
                error: r.get::<_, i64>(0)? == 2,
                counted_usage: if counted {
                    Some(call_contribution(r, 2)?)
                } else {
                    None
                },
            };
            let row = crate::rows::SpanRow {
                project: project.to_string(),
                trace_id,
                span_key,
                parent_key: r.get(12)?,
                name: r.get(13)?,
                service: r.get(14)?,
                kind: r.get(15)?,
                start_ns: r.get(16)?,
                end_ns: r.get(17)?,
                status: r.get(0)?,
                counts_usage: r.get(18)?,
                incomplete: true,
                cost: llmtrace_model::SpanCost {
                    computed: r
                        .get::<_, Option<i64>>(21)?
                        .map(llmtrace_model::Money::from_pico),
                    reported: r
                        .get::<_, Option<i64>>(22)?
                        .map(llmtrace_model::Money::from_pico),
                    unpriced: r.get(23)?,
                    price_id: None,
                    price_effective_from: None,
                },
                resource_attributes: Default::default(),
            };
            Ok((
                old,
                row,
                r.get::<_, i64>(19)?,
                position(r.get::<_, i64>(20)?),
            ))
        })
        .optional()?;
    let Some((old, row, blob_id, blob_index)) = row else {
        return Ok(None);
    };
    // The detail: in this commit's blobs (not written yet), or a stored blob.
    if let Some(stored) = planned
        .plan
        .span_at(blob_id, blob_index)
        .and_then(|i| planned.spans.get(i))
    {
        // Stored by this commit as the batch has it: its detail is the batch span's.
        let detail = crate::rows::detail_of(stored).map_err(WriteFailure::Encode)?;
        let span = row.into_span(detail).map_err(WriteFailure::Encode)?;
        return Ok(Some((old, span)));
    }
    let mut details = match &trace.blob {
        Some((id, json, _)) if *id == blob_id => {
            let mut whole = json.clone();
            whole.push(b']');
            crate::rows::decode_blob(&whole)
        }
        _ => {
            let data: Vec<u8> = tx
                .prepare_cached("SELECT data FROM span_blobs WHERE id = ?1")?
                .query_row([blob_id], |r| r.get(0))?;
            crate::rows::decode_blob(&data)
        }
    }
    .map_err(WriteFailure::Encode)?;
    // Its messages: written by an earlier commit, or by this one (the writer's own details
    // save theirs at once).
    crate::messages::resolve(tx, pid, &mut details).map_err(WriteFailure::Encode)?;
    let detail = details
        .into_iter()
        .nth(blob_index)
        .ok_or_else(|| WriteFailure::Encode(format!("span blob {blob_id} lacks {blob_index}")))?;
    let span = row.into_span(detail).map_err(WriteFailure::Encode)?;
    Ok(Some((old, span)))
}

/// How spans replacing incomplete copies are merged.
struct Merging<'a> {
    /// Whether any incomplete span may be stored.
    maybe_incomplete: bool,
    /// Re-prices merged spans.
    pricer: Option<&'a llmtrace_store::Pricer>,
    /// The price-reference cache, for a merged span's new price.
    price_refs: &'a mut crate::prices::PriceRefs,
}

/// Ids a span row refers to.
#[derive(Clone, Copy)]
struct SpanCtx {
    pid: i64,
    resource_id: i64,
    price_ref: Option<i64>,
}

/// Inserts one span (the batch's span at `batch_index`) unless stored already, folds it into
/// the trace rollup following the counting rule, and says what it did and whether the row uses
/// the span's planned place in the blob encoded beside the transaction (it does unless the span
/// is stored changed).
#[allow(clippy::too_many_arguments)]
fn insert_span(
    tx: &Transaction<'_>,
    ctx: SpanCtx,
    (span, batch_index, planned): (&Span, usize, Planned<'_>),
    pending: &mut PendingTraces,
    ids: &mut Ids,
    merging: Merging<'_>,
    corrections: &mut Vec<CallCorrection>,
    merged_out: &mut Option<Span>,
) -> Result<(SpanFate, bool), WriteFailure> {
    let mut ctx = ctx;
    let pid = ctx.pid;
    let trace = pending_trace(tx, pid, span.trace_id, pending, ids)?;
    let trace_ref = trace.row_id;
    let stored_incomplete = if merging.maybe_incomplete {
        incomplete_row(
            tx,
            (pid, &span.project),
            trace,
            span.trace_id,
            span.span_id.key_i64(),
            planned,
        )?
    } else {
        None
    };
    let merged;
    // Whether the span stored differs from the batch's (so its planned detail is not its own).
    let mut changed = false;
    let (span, replaced) = match stored_incomplete {
        Some((old, old_span)) => {
            let mut m = llmtrace_store::merge_incomplete(&old_span, span.clone());
            if let (Some(pricer), true) = (merging.pricer, m.kind.is_model_call()) {
                let reported = m.cost.reported;
                m.cost = pricer(&m);
                m.cost.reported = reported;
                ctx.price_ref = match &m.cost.price_id {
                    Some(id) => Some(crate::prices::price_ref(
                        tx,
                        merging.price_refs,
                        id,
                        m.cost.price_effective_from.as_deref().unwrap_or(""),
                    )?),
                    None => None,
                };
            }
            merged = m;
            changed = true;
            (&merged, Some(old))
        }
        None if span.start_unix_nano == 0 => {
            // A copy that does not know its start (a Langfuse update) and has nothing to merge
            // with starts at its end.
            let mut m = span.clone();
            m.start_unix_nano = m.end_unix_nano;
            if m.name.is_empty() {
                m.name = "unnamed".into();
            }
            merged = m;
            changed = true;
            (&merged, None)
        }
        None => (span, None),
    };
    let is_call = span.kind.is_model_call();
    // A call that already has a call child is a wrapper: it does not count.
    let has_call_child = is_call
        && tx
            .prepare_cached(&format!(
                "SELECT 1 FROM spans WHERE trace_ref = ?1 AND parent_key = ?2 \
                 AND kind IN {CALL_KINDS} LIMIT 1"
            ))?
            .exists(params![trace_ref, span.span_id.key_i64()])?;
    let mut counted = is_call && !has_call_child;
    let response_id = span
        .gen_ai
        .response_id
        .as_deref()
        .filter(|r| counted && !r.is_empty());
    let state = match response_id {
        Some(rid) => claims::claim_response(tx, pid, rid, trace_ref, span, |r| {
            trace_id_of_row(tx, pending, pid, r)
        })?,
        None => ClaimState {
            claim: Claim::None,
            source: None,
        },
    };
    if matches!(state.claim, Claim::Lost(_)) {
        counted = false;
    }
    // Rule 5: the counting span carries the usage of the copy closest to the provider.
    let own_source = UsageSource {
        key: UsageSourceKey::of(span),
        trace_ref,
        span_key: span.span_id.key_i64(),
    };
    let mut new_source = None;
    let mut usage_taken = false;
    let mut owner_takes: Option<(claims::Owner, SourceUsage)> = None;
    let substituted;
    let span = match (&state.claim, state.source) {
        (Claim::Free | Claim::Displace(_), Some(src))
            if src.key < own_source.key
                && (src.trace_ref, src.span_key) != (trace_ref, own_source.span_key) =>
        {
            match SourceUsage::load(tx, src.trace_ref, src.span_key)? {
                Some(u) => {
                    let mut m = span.clone();
                    u.apply_to(&mut m);
                    ctx.price_ref = u.price_ref;
                    substituted = m;
                    changed = true;
                    usage_taken = true;
                    new_source = Some(src);
                    &substituted
                }
                None => {
                    new_source = Some(own_source);
                    span
                }
            }
        }
        (Claim::Free | Claim::Displace(_), _) => {
            new_source = Some(own_source);
            span
        }
        // This copy is closer to the provider, or it is the source itself arriving complete.
        (Claim::Lost(owner), Some(src))
            if own_source.key < src.key
                || (src.trace_ref, src.span_key) == (trace_ref, own_source.span_key) =>
        {
            owner_takes = Some((*owner, SourceUsage::of_span(span, ctx.price_ref)));
            new_source = Some(own_source);
            span
        }
        _ => span,
    };
    let trace = pending_trace(tx, pid, span.trace_id, pending, ids)?;
    let planned_place = planned
        .plan
        .places
        .get(batch_index)
        .and_then(|(blob, index)| Some((planned.plan.blobs.get(*blob)?.0, *index)))
        .filter(|_| !changed);
    let (blob_id, blob_index) = match planned_place {
        Some(place) => place,
        None => {
            let (blob_id, _, blob_index) = trace.blob.get_or_insert_with(|| {
                let id = ids.next_blob_id;
                ids.next_blob_id = ids.next_blob_id.saturating_add(1);
                (id, vec![b'['], 0)
            });
            (*blob_id, *blob_index)
        }
    };
    let u = &span.usage;
    let values = params![
        pid,
        trace_ref,
        span.span_id.key_i64(),
        span.parent_span_id.map(|p| p.key_i64()),
        span.name,
        span.service,
        span.kind.code(),
        int(span.start_unix_nano),
        int(span.end_unix_nano),
        span.status.code(),
        span.gen_ai.provider,
        span.gen_ai.operation,
        span.model(),
        u.input.map(int),
        u.output.map(int),
        u.cache_read.map(int),
        u.cache_write.map(int),
        u.reasoning.map(int),
        span.counts_usage,
        counted,
        blob_id,
        blob_index,
        ctx.resource_id,
        span.cost.computed.map(|m| m.pico_usd),
        span.cost.reported.map(|m| m.pico_usd),
        span.cost.unpriced,
        ctx.price_ref,
        span.incomplete,
    ];
    let was_stored = replaced.is_some();
    if was_stored {
        // Stored merged with its incomplete copy: what the metrics must observe.
        *merged_out = Some(span.clone());
    }
    let row_id: i64;
    if let Some(old) = replaced {
        row_id = tx
            .prepare_cached(
                "UPDATE spans SET project_id = ?1, parent_key = ?4, name = ?5, service = ?6, kind = ?7, \
                 start_ns = ?8, end_ns = ?9, status = ?10, provider = ?11, operation = ?12, model = ?13, \
                 input_tokens = ?14, output_tokens = ?15, cache_read_tokens = ?16, \
                 cache_write_tokens = ?17, reasoning_tokens = ?18, counts_usage = ?19, counted = ?20, \
                 blob_id = ?21, blob_index = ?22, resource_id = ?23, cost_pico = ?24, \
                 reported_pico = ?25, unpriced = ?26, price_ref = ?27, incomplete = ?28 \
                 WHERE trace_ref = ?2 AND span_key = ?3 RETURNING id",
            )?
            .query_row(values, |r| r.get(0))?;
        let s = &mut trace.rollup.summary;
        s.span_count = s.span_count.saturating_sub(1);
        s.error_count = s.error_count.saturating_sub(u64::from(old.error));
        if let Some(usage) = old.counted_usage {
            trace.rollup.sub_usage(&usage);
        }
    } else {
        let inserted = tx
            .prepare_cached(
                "INSERT INTO spans (project_id, trace_ref, span_key, parent_key, \
                 name, service, kind, start_ns, end_ns, status, provider, operation, model, \
                 input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
                 counts_usage, counted, blob_id, blob_index, resource_id, \
                 cost_pico, reported_pico, unpriced, price_ref, incomplete) \
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28) \
                 ON CONFLICT (trace_ref, span_key) DO NOTHING",
            )?
            .execute(values)?;
        if inserted == 0 {
            // Stored already, complete: a repeat.
            return Ok((SpanFate::Duplicate, false));
        }
        row_id = tx.last_insert_rowid();
    }
    let uses_plan = planned_place.is_some();
    trace.search.push((
        row_id,
        was_stored,
        int(span.start_unix_nano),
        if uses_plan {
            TextOf::Batch(batch_index)
        } else {
            TextOf::Own(llmtrace_store::search::span_search_text(span))
        },
    ));
    if !uses_plan {
        if let Some((_, json, count)) = trace.blob.as_mut() {
            if *count > 0 {
                json.push(b',');
            }
            let mut rows = Vec::new();
            write_span_detail(json, span, Some(&mut rows)).map_err(WriteFailure::Encode)?;
            crate::messages::save_span_rows(tx, ctx.pid, span.start_unix_nano, rows)?;
            *count = count.saturating_add(1);
        }
    }
    let rollup = &mut trace.rollup;
    rollup.add_span(span);
    if !is_call {
        return Ok((SpanFate::Stored, uses_plan));
    }
    if counted {
        rollup.add_usage(&UsageTotals::of_call(span));
    }
    let mut fate = if counted && !span.incomplete {
        SpanFate::CountedCall
    } else {
        SpanFate::Stored
    };
    if let (Some(rid), Some(source)) = (response_id, &new_source) {
        match &state.claim {
            Claim::Free | Claim::Displace(_) => claims::save_claim(
                tx,
                pid,
                rid,
                (
                    trace_ref,
                    span.span_id.key_i64(),
                    llmtrace_store::is_provider_sdk_span(span),
                ),
                source,
            )?,
            Claim::Lost(owner) => claims::save_claim(
                tx,
                pid,
                rid,
                (owner.trace_ref, owner.span_key, owner.provider_sdk),
                source,
            )?,
            Claim::None => {}
        }
    }
    // A counted call parent of this call is a wrapper: stop counting it.
    if let Some(parent) = span.parent_span_id {
        let wrapper = tx
            .prepare_cached(&format!(
                "SELECT id, incomplete, {CONTRIBUTION_COLUMNS} FROM spans \
                 WHERE trace_ref = ?1 AND span_key = ?2 AND kind IN {CALL_KINDS} AND counted = 1"
            ))?
            .query_row(params![trace_ref, parent.key_i64()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    call_contribution(r, 2)?,
                    r.get::<_, bool>(1)?,
                ))
            })
            .optional()?;
        if let Some((row_id, usage, wrapper_incomplete)) = wrapper {
            tx.prepare_cached("UPDATE spans SET counted = 0 WHERE id = ?1")?
                .execute([row_id])?;
            rollup.sub_usage(&usage);
            if !wrapper_incomplete {
                // The metrics counted this call when its wrapper arrived.
                fate = SpanFate::Stored;
                corrections.push(CallCorrection {
                    project: span.project.clone(),
                    was: CallRef {
                        trace_id: span.trace_id,
                        span_id: parent,
                    },
                    // An incomplete span counts when its complete copy arrives.
                    now: (counted && !span.incomplete).then(|| CallRef::of(span)),
                    usage: UsageTotals::of_call(span),
                });
            }
        }
    }
    if let Claim::Displace(old) = state.claim {
        // Another span reported this call first; this one is preferred, so the other stops
        // counting (in its own trace, which may be another one).
        if let Some(usage) = counted_contribution(tx, old.trace_ref, old.span_key)? {
            tx.prepare_cached(
                "UPDATE spans SET counted = 0 WHERE trace_ref = ?1 AND span_key = ?2",
            )?
            .execute(params![old.trace_ref, old.span_key])?;
            pending_trace(tx, pid, old.trace_id, pending, ids)?
                .rollup
                .sub_usage(&usage);
            if !old.incomplete {
                fate = SpanFate::Stored;
                corrections.push(CallCorrection {
                    project: span.project.clone(),
                    was: CallRef {
                        trace_id: old.trace_id,
                        span_id: SpanId(old.span_key.to_be_bytes()),
                    },
                    now: (counted && !span.incomplete).then(|| CallRef::of(span)),
                    usage: UsageTotals::of_call(span),
                });
            }
        }
    }
    if usage_taken && fate == SpanFate::CountedCall {
        // The metrics count this call from the batch's span: its usage came from another copy.
        corrections.push(CallCorrection {
            project: span.project.clone(),
            was: CallRef::of(span),
            now: Some(CallRef::of(span)),
            usage: UsageTotals::of_call(span),
        });
    }
    if let Some((owner, usage)) = owner_takes {
        // This copy is closer to the provider than the one the counting span's usage came
        // from: the counting span (kept) takes this copy's usage.
        if let Some(old) = counted_contribution(tx, owner.trace_ref, owner.span_key)? {
            usage.store(tx, owner.trace_ref, owner.span_key)?;
            if let Some(new) = counted_contribution(tx, owner.trace_ref, owner.span_key)? {
                let rollup = &mut pending_trace(tx, pid, owner.trace_id, pending, ids)?.rollup;
                rollup.sub_usage(&old);
                rollup.add_usage(&new);
                if !owner.incomplete {
                    let owner_ref = CallRef {
                        trace_id: owner.trace_id,
                        span_id: SpanId(owner.span_key.to_be_bytes()),
                    };
                    corrections.push(CallCorrection {
                        project: span.project.clone(),
                        was: owner_ref,
                        now: Some(owner_ref),
                        usage: new,
                    });
                }
            }
        }
    }
    Ok((fate, uses_plan))
}

/// The trace id of a trace row: from this commit's pending traces (a trace new in this commit
/// has no row yet), else from its stored row.
fn trace_id_of_row(
    tx: &Transaction<'_>,
    pending: &PendingTraces,
    pid: i64,
    trace_ref: i64,
) -> rusqlite::Result<Option<TraceId>> {
    if let Some(((_, id), _)) = pending
        .iter()
        .find(|((p, _), t)| *p == pid && t.row_id == trace_ref)
    {
        return Ok(Some(*id));
    }
    Ok(tx
        .prepare_cached("SELECT trace_id FROM traces WHERE id = ?1")?
        .query_row([trace_ref], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .map(TraceId))
}

/// The contribution of a stored span while it counts.
fn counted_contribution(
    tx: &Transaction<'_>,
    trace_ref: i64,
    span_key: i64,
) -> rusqlite::Result<Option<UsageTotals>> {
    tx.prepare_cached(&format!(
        "SELECT {CONTRIBUTION_COLUMNS} FROM spans \
         WHERE trace_ref = ?1 AND span_key = ?2 AND counted = 1"
    ))?
    .query_row(params![trace_ref, span_key], |r| call_contribution(r, 0))
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_kind_codes_match_the_model() {
        assert_eq!(
            CALL_KINDS,
            format!("({}, {})", SpanKind::Llm.code(), SpanKind::Embedding.code())
        );
    }
}
