//! The stored structure of some traces, loaded into memory, and the counting rule of
//! `llmtrace_store::TraceRollup` evaluated on it:
//! - a call span **nest-counts** unless a call span of its trace names it as parent (it is then
//!   a wrapper of that call);
//! - a nest-counting call span carrying a provider response id **counts** only if it has the
//!   smallest claim key among the nest-counting call spans of its project with that response id
//!   (one call reported by two spans that are not parent and child counts once);
//! - the counting span carries the usage of the copy with the smallest usage source key
//!   ([`World::usage_source`]), which the writer copies into it.
//!
//! The writer uses it to decide fates and the summaries it reports, `get_trace` to compute one
//! trace's summary; `reader.rs` evaluates the same rule in SQL for the trace list and stats.

use crate::client::{lit, Client};
use crate::rows::{summarize, trace_id_of, SpanRow, LITE_COLUMNS};
use llmtrace_store::{StoreError, TraceSummary};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Most values named in one `IN (...)` list (keeps the query text well under ClickHouse's
/// `max_query_size`).
const LOOKUP_CHUNK: usize = 1000;

/// A trace: (project, trace id hex).
pub(crate) type Key = (String, String);

/// The stored spans of one trace.
#[derive(Default)]
pub(crate) struct TraceState {
    pub(crate) rows: HashMap<String, SpanRow>,
    /// Per span id, how many call spans have it as parent.
    call_children: HashMap<String, u32>,
}

impl TraceState {
    fn add(&mut self, row: SpanRow) -> Option<SpanRow> {
        if row.is_call != 0 && !row.parent_span_id.is_empty() {
            let n = self
                .call_children
                .entry(row.parent_span_id.clone())
                .or_default();
            *n = n.saturating_add(1);
        }
        let old = self.rows.insert(row.span_id.clone(), row);
        if let Some(old) = &old {
            if old.is_call != 0 && !old.parent_span_id.is_empty() {
                if let Some(n) = self.call_children.get_mut(&old.parent_span_id) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        old
    }

    /// Whether a call span names `span_id` as parent.
    pub(crate) fn has_call_child(&self, span_id: &str) -> bool {
        self.call_children.get(span_id).is_some_and(|n| *n > 0)
    }

    /// Whether the span is a call without a call child.
    fn nest_counts(&self, span_id: &str) -> bool {
        self.rows
            .get(span_id)
            .is_some_and(|r| r.is_call != 0 && !self.has_call_child(span_id))
    }
}

/// Loaded traces, and who reports each provider response.
#[derive(Default)]
pub(crate) struct World {
    pub(crate) traces: HashMap<Key, TraceState>,
    /// (project, response id) → (trace id, span id) of the call spans carrying it.
    by_response: HashMap<(String, String), BTreeSet<(String, String)>>,
    /// The messages the full rows loaded refer to (`crate::messages`).
    pub(crate) messages: llmtrace_store::messages::Bodies,
}

/// Per span id of a trace, whether its usage counts.
pub(crate) type CountedFlags = HashMap<String, bool>;

/// A span of the world: (project, trace id, span id).
pub(crate) type SpanRef<'a> = (&'a str, &'a str, &'a str);

/// A trace's summary, its rows, and whether each row counts ([`World::summary_parts`]).
type SummaryParts<'a> = (TraceSummary, Vec<&'a SpanRow>, Vec<bool>);

impl World {
    /// Adds (or replaces) a span row; returns the replaced row.
    pub(crate) fn add(&mut self, row: SpanRow) -> Option<SpanRow> {
        let key = (row.project.clone(), row.trace_id.clone());
        let me = (row.trace_id.clone(), row.span_id.clone());
        if row.is_call != 0 && !row.response_id.is_empty() {
            self.by_response
                .entry((row.project.clone(), row.response_id.clone()))
                .or_default()
                .insert(me.clone());
        }
        let old = self.traces.entry(key).or_default().add(row);
        if let Some(o) = &old {
            let still = self
                .traces
                .get(&(o.project.clone(), o.trace_id.clone()))
                .and_then(|t| t.rows.get(&o.span_id))
                .is_some_and(|n| n.is_call != 0 && n.response_id == o.response_id);
            if !o.response_id.is_empty() && !still {
                if let Some(set) = self
                    .by_response
                    .get_mut(&(o.project.clone(), o.response_id.clone()))
                {
                    set.remove(&me);
                }
            }
        }
        old
    }

    /// The stored row of a span.
    pub(crate) fn row(&self, (p, t, s): SpanRef<'_>) -> Option<&SpanRow> {
        self.traces
            .get(&(p.to_string(), t.to_string()))
            .and_then(|st| st.rows.get(s))
    }

    fn nest_counts(&self, (p, t, s): SpanRef<'_>) -> bool {
        self.traces
            .get(&(p.to_string(), t.to_string()))
            .is_some_and(|st| st.nest_counts(s))
    }

    /// The span that counts the response `rid` of project `p`: the nest-counting call span with
    /// the smallest claim key, leaving out `except`.
    pub(crate) fn owner(
        &self,
        p: &str,
        rid: &str,
        except: Option<(&str, &str)>,
    ) -> Option<&SpanRow> {
        self.by_response
            .get(&(p.to_string(), rid.to_string()))?
            .iter()
            .filter(|(t, s)| except != Some((t.as_str(), s.as_str())))
            .filter(|(t, s)| self.nest_counts((p, t, s)))
            .filter_map(|(t, s)| self.row((p, t, s)))
            .min_by(|a, b| a.claim_key.cmp(&b.claim_key))
    }

    /// The copy of the response `rid` of project `p` that supplies the usage its counting span
    /// carries: the nest-counting call span with the smallest usage source key.
    pub(crate) fn usage_source(&self, p: &str, rid: &str) -> Option<&SpanRow> {
        self.by_response
            .get(&(p.to_string(), rid.to_string()))?
            .iter()
            .filter(|(t, s)| self.nest_counts((p, t, s)))
            .filter_map(|(t, s)| self.row((p, t, s)))
            .min_by(|a, b| a.usage_source_key().cmp(&b.usage_source_key()))
    }

    /// Whether a stored span counts (see the module doc).
    pub(crate) fn counts(&self, span: SpanRef<'_>) -> bool {
        let Some(row) = self.row(span) else {
            return false;
        };
        if !self.nest_counts(span) {
            return false;
        }
        if row.response_id.is_empty() {
            return true;
        }
        self.owner(span.0, &row.response_id, None)
            .is_some_and(|o| o.trace_id == row.trace_id && o.span_id == row.span_id)
    }

    /// The summary of a loaded trace and, per span id, whether it counts.
    pub(crate) fn summarize(
        &self,
        key: &Key,
    ) -> Result<Option<(TraceSummary, CountedFlags)>, String> {
        let Some((summary, rows, counted)) = self.summary_parts(key)? else {
            return Ok(None);
        };
        let flags = rows
            .iter()
            .zip(counted)
            .map(|(r, c)| (r.span_id.clone(), c))
            .collect();
        Ok(Some((summary, flags)))
    }

    /// The summary of a loaded trace (the writer's path: no per-span flags).
    pub(crate) fn summary(&self, key: &Key) -> Result<Option<TraceSummary>, String> {
        Ok(self.summary_parts(key)?.map(|(summary, _, _)| summary))
    }

    /// A loaded trace's summary, its rows, and whether each counts.
    fn summary_parts(&self, key: &Key) -> Result<Option<SummaryParts<'_>>, String> {
        let Some(state) = self.traces.get(key) else {
            return Ok(None);
        };
        if state.rows.is_empty() {
            return Ok(None);
        }
        let rows: Vec<&SpanRow> = state.rows.values().collect();
        let counted: Vec<bool> = rows
            .iter()
            .map(|r| self.counts((&key.0, &key.1, &r.span_id)))
            .collect();
        let summary = summarize(trace_id_of(&key.1)?, &rows, &counted)?;
        Ok(Some((summary, rows, counted)))
    }

    /// Loads the stored structure of the given traces (those not loaded yet).
    pub(crate) async fn load_traces(
        &mut self,
        ch: &Client,
        db: &str,
        keys: &[Key],
    ) -> Result<(), StoreError> {
        let mut by_project: HashMap<&str, Vec<&str>> = HashMap::new();
        for (p, t) in keys {
            if !self.traces.contains_key(&(p.clone(), t.clone())) {
                by_project.entry(p).or_default().push(t);
            }
        }
        for (project, traces) in by_project {
            for chunk in traces.chunks(LOOKUP_CHUNK) {
                for t in chunk {
                    self.traces
                        .entry((project.to_string(), t.to_string()))
                        .or_default();
                }
                let ids: Vec<String> = chunk.iter().map(|t| lit(t)).collect();
                // Most traces of a commit are new: ask the narrow key table which have stored
                // spans, and read the span structure of those only.
                #[derive(Deserialize)]
                struct Stored {
                    trace_id: String,
                }
                let stored = ch
                    .select::<Stored>(&format!(
                        "SELECT DISTINCT trace_id FROM {db}.trace_keys WHERE project = {} \
                         AND trace_id IN ({})",
                        lit(project),
                        ids.join(", ")
                    ))
                    .await?;
                if stored.is_empty() {
                    continue;
                }
                let ids: Vec<String> = stored.iter().map(|t| lit(&t.trace_id)).collect();
                let sql = format!(
                    "SELECT {LITE_COLUMNS} FROM {db}.spans FINAL WHERE project = {} \
                     AND trace_id IN ({})",
                    lit(project),
                    ids.join(", ")
                );
                for row in ch.select::<SpanRow>(&sql).await? {
                    self.add(row);
                }
            }
        }
        Ok(())
    }

    /// Loads every trace holding a call span that carries one of the response ids, plus the
    /// response ids of the loaded traces' call spans, so [`World::counts`] is exact for them.
    pub(crate) async fn load_responses(
        &mut self,
        ch: &Client,
        db: &str,
        extra: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), StoreError> {
        let mut wanted: HashSet<(String, String)> = extra.into_iter().collect();
        for ((p, _), st) in &self.traces {
            for r in st.rows.values() {
                if r.is_call != 0 && !r.response_id.is_empty() {
                    wanted.insert((p.clone(), r.response_id.clone()));
                }
            }
        }
        wanted.retain(|(_, rid)| !rid.is_empty());
        if wanted.is_empty() {
            return Ok(());
        }
        let mut by_project: HashMap<&str, Vec<&str>> = HashMap::new();
        for (p, rid) in &wanted {
            by_project.entry(p).or_default().push(rid);
        }
        #[derive(Deserialize)]
        struct T {
            trace_id: String,
        }
        let mut more: Vec<Key> = Vec::new();
        for (project, rids) in by_project {
            for chunk in rids.chunks(LOOKUP_CHUNK) {
                let list: Vec<String> = chunk.iter().map(|r| lit(r)).collect();
                let sql = format!(
                    "SELECT DISTINCT trace_id FROM {db}.responses WHERE project = {} \
                     AND response_id IN ({})",
                    lit(project),
                    list.join(", ")
                );
                for t in ch.select::<T>(&sql).await? {
                    more.push((project.to_string(), t.trace_id));
                }
            }
        }
        self.load_traces(ch, db, &more).await
    }
}
