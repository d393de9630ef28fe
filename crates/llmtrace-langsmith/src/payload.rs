//! Collecting the run operations of one payload (multipart parts, a batch, one run) and merging
//! the post and patch of each run.

use crate::ids::{format_uuid, parse_dotted_order, parse_uuid, Uuid};
use crate::{run_to_span, Error, Run, RunField};
use llmtrace_model::Span;
use serde::Deserialize;
use std::collections::HashMap;

/// A run operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Creates a run (`post`).
    Post,
    /// Finishes or updates a run (`patch`).
    Patch,
}

impl Op {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "post" => Some(Op::Post),
            "patch" => Some(Op::Patch),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    post: Option<Run>,
    patch: Option<Run>,
}

/// The runs of one payload, each with its post and patch kept apart until [`RunSet::into_runs`]
/// merges them (so the order of parts does not matter: a patch always wins over a post).
#[derive(Debug, Default)]
pub struct RunSet {
    entries: Vec<(Uuid, Entry)>,
    index: HashMap<Uuid, usize>,
    ignored_parts: usize,
    /// `feedback.<id>` parts, as sent (see [`crate::feedback_to_score`]).
    feedback: Vec<serde_json::Value>,
}

/// One run after merging its post and patch.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedRun {
    /// The merged run.
    pub run: Run,
    /// Whether the payload posted it.
    pub posted: bool,
    /// Whether the payload patched it.
    pub patched: bool,
}

/// A run that could not become a span (not malformed, only incomplete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The run id.
    pub run_id: String,
    /// Why.
    pub reason: String,
}

/// The spans of a payload.
#[derive(Debug, Clone, Default)]
pub struct Conversion {
    /// One span per usable run.
    pub spans: Vec<Span>,
    /// How many of them are unfinished (posted, not yet patched).
    pub unfinished: usize,
    /// Runs left out: patches that arrived without their post and without the fields that
    /// place a run (trace, start time). Merging those into an earlier stored post needs store
    /// support.
    pub skipped: Vec<Skipped>,
}

impl RunSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct runs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no run.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Multipart parts that were neither run data nor feedback (`attachment.*`, unknown
    /// fields).
    pub fn ignored_parts(&self) -> usize {
        self.ignored_parts
    }

    /// The `feedback.<id>` parts received, taken out of the set.
    pub fn take_feedback(&mut self) -> Vec<serde_json::Value> {
        std::mem::take(&mut self.feedback)
    }

    /// The post or patch of run `id`, created empty when new; `None` only if the index and the
    /// entries were out of step, which `slot` itself never lets happen.
    fn slot(&mut self, op: Op, id: Uuid) -> Option<&mut Run> {
        let i = *self.index.entry(id).or_insert_with(|| {
            let i = self.entries.len();
            self.entries.push((id, Entry::default()));
            i
        });
        let (_, entry) = self.entries.get_mut(i)?;
        let slot = match op {
            Op::Post => &mut entry.post,
            Op::Patch => &mut entry.patch,
        };
        Some(slot.get_or_insert_with(|| Run {
            id: Some(format_uuid(&id)),
            ..Run::default()
        }))
    }

    /// Adds one post or patch; `what` names it in errors. The run must have a UUID id.
    pub fn add(&mut self, op: Op, mut run: Run, what: &str) -> Result<(), Error> {
        let raw = run.id.as_deref().map(str::trim).unwrap_or_default();
        if raw.is_empty() {
            return Err(Error::Invalid(format!("{what}: id is required")));
        }
        let id = parse_uuid(raw)
            .ok_or_else(|| Error::Invalid(format!("{what}: id {raw:?} is not a UUID")))?;
        run.id = Some(format_uuid(&id));
        if let Some(slot) = self.slot(op, id) {
            slot.merge(run);
        }
        Ok(())
    }

    /// Adds one multipart part: `post.<id>` / `patch.<id>` (the run JSON) or
    /// `post.<id>.<field>` / `patch.<id>.<field>` (one large field as JSON).
    /// `feedback.<id>` parts are kept for [`RunSet::take_feedback`]; others
    /// (`attachment.<id>.<name>`, unknown fields) are counted and ignored.
    pub fn add_part(&mut self, name: &str, body: &[u8]) -> Result<(), Error> {
        if name.starts_with("feedback.") {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| Error::json(format!("multipart part {name:?}"), e))?;
            self.feedback.push(value);
            return Ok(());
        }
        let Some((op, rest)) = name.split_once('.') else {
            self.ignored_parts = self.ignored_parts.saturating_add(1);
            return Ok(());
        };
        let Some(op) = Op::parse(op) else {
            self.ignored_parts = self.ignored_parts.saturating_add(1);
            return Ok(());
        };
        let (raw_id, field) = match rest.split_once('.') {
            Some((id, f)) => (id, Some(f)),
            None => (rest, None),
        };
        let id = parse_uuid(raw_id).ok_or_else(|| {
            Error::Invalid(format!(
                "multipart part {name:?}: {raw_id:?} is not a run id (UUID)"
            ))
        })?;
        match field {
            None => {
                let value: serde_json::Value = serde_json::from_slice(body)
                    .map_err(|e| Error::json(format!("multipart part {name:?}"), e))?;
                if !value.is_object() {
                    return Err(Error::Invalid(format!(
                        "multipart part {name:?} must be a JSON object"
                    )));
                }
                let mut run: Run = serde_json::from_value(value)
                    .map_err(|e| Error::json(format!("multipart part {name:?}"), e))?;
                if let Some(own) = run.id.as_deref().filter(|s| !s.trim().is_empty()) {
                    if parse_uuid(own) != Some(id) {
                        return Err(Error::Invalid(format!(
                            "multipart part {name:?}: its id {own:?} differs from the part name"
                        )));
                    }
                }
                run.id = Some(format_uuid(&id));
                if let Some(slot) = self.slot(op, id) {
                    slot.merge(run);
                }
            }
            Some(f) => match RunField::parse(f) {
                Some(field) => {
                    let value: serde_json::Value = serde_json::from_slice(body)
                        .map_err(|e| Error::json(format!("multipart part {name:?}"), e))?;
                    if let Some(slot) = self.slot(op, id) {
                        slot.set_field(field, value);
                    }
                }
                None => self.ignored_parts = self.ignored_parts.saturating_add(1),
            },
        }
        Ok(())
    }

    /// The runs, in first-seen order, each post merged with its patch (patch fields win).
    pub fn into_runs(self) -> Vec<MergedRun> {
        self.entries
            .into_iter()
            .map(|(_, e)| {
                let (posted, patched) = (e.post.is_some(), e.patch.is_some());
                let run = match (e.post, e.patch) {
                    (Some(mut post), Some(patch)) => {
                        post.merge(patch);
                        post
                    }
                    (Some(r), None) | (None, Some(r)) => r,
                    (None, None) => Run::default(),
                };
                MergedRun {
                    run,
                    posted,
                    patched,
                }
            })
            .collect()
    }

    /// Converts every run into a span of `project`. A malformed run (bad id or timestamp) fails
    /// the whole payload; a run that cannot be placed (a patch without its post and without
    /// trace or start) is reported in [`Conversion::skipped`]. A run with neither `trace_id`
    /// nor `dotted_order` inherits the trace of its parent when the parent is in the payload.
    pub fn to_spans(self, project: &str) -> Result<Conversion, Error> {
        let mut runs = self.into_runs();
        inherit_traces(&mut runs);
        let mut out = Conversion::default();
        for m in runs {
            match run_to_span(&m.run, project) {
                Ok(span) => {
                    out.unfinished = out.unfinished.saturating_add(usize::from(span.incomplete));
                    out.spans.push(span);
                }
                Err(e) if e.is_malformed() => return Err(Error::Invalid(e.to_string())),
                Err(e) => out.skipped.push(Skipped {
                    run_id: m.run.id.clone().unwrap_or_default(),
                    reason: e.to_string(),
                }),
            }
        }
        Ok(out)
    }
}

/// Fills a missing `trace_id` from the parent's, for parents in the same payload.
fn inherit_traces(runs: &mut [MergedRun]) {
    let known_trace = |r: &Run| -> Option<String> {
        r.trace_id.clone().or_else(|| {
            let d = parse_dotted_order(r.dotted_order.as_deref()?)?;
            d.first().map(|s| format_uuid(&s.run_id))
        })
    };
    let placeless = |r: &Run| r.trace_id.is_none() && r.dotted_order.is_none();
    if !runs.iter().any(|m| placeless(&m.run)) {
        return;
    }
    // A few passes resolve chains of trace-less runs (parent before or after the child).
    for _ in 0..8 {
        let traces: HashMap<Uuid, String> = runs
            .iter()
            .filter_map(|m| {
                let id = parse_uuid(m.run.id.as_deref()?)?;
                let trace = known_trace(&m.run)
                    .or_else(|| m.run.parent_run_id.is_none().then(|| format_uuid(&id)))?;
                Some((id, trace))
            })
            .collect();
        let mut changed = false;
        for m in runs.iter_mut().filter(|m| placeless(&m.run)) {
            let parent = m.run.parent_run_id.as_deref().and_then(parse_uuid);
            if let Some(t) = parent.and_then(|p| traces.get(&p)) {
                m.run.trace_id = Some(t.clone());
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Collects multipart parts (`(name, body)` pairs, in order) into a [`RunSet`].
pub fn runs_from_multipart_parts<'a, I>(parts: I) -> Result<RunSet, Error>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    let mut set = RunSet::new();
    for (name, body) in parts {
        set.add_part(name, body)?;
    }
    Ok(set)
}

#[derive(Deserialize)]
struct Batch {
    #[serde(default)]
    post: Option<Vec<Run>>,
    #[serde(default)]
    patch: Option<Vec<Run>>,
}

/// Reads a `/runs/batch` body: `{"post": [run, ...], "patch": [run, ...]}` (either key may be
/// absent).
pub fn runs_from_batch(body: &[u8]) -> Result<RunSet, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Error::json("batch body", e))?;
    if !value.is_object() {
        return Err(Error::Invalid(
            "batch body must be an object {\"post\": [...], \"patch\": [...]}".into(),
        ));
    }
    let batch: Batch = serde_json::from_value(value).map_err(|e| Error::json("batch body", e))?;
    let mut set = RunSet::new();
    for (op, key, runs) in [
        (Op::Post, "post", batch.post),
        (Op::Patch, "patch", batch.patch),
    ] {
        for (i, run) in runs.into_iter().flatten().enumerate() {
            set.add(op, run, &format!("{key}[{i}]"))?;
        }
    }
    Ok(set)
}

/// Reads one run (`POST /runs`, or `PATCH /runs/{id}` with `path_id`, which the body's `id`,
/// when present, must match).
pub fn run_from_json(body: &[u8], op: Op, path_id: Option<&str>) -> Result<RunSet, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Error::json("run body", e))?;
    if !value.is_object() {
        return Err(Error::Invalid("a run must be a JSON object".into()));
    }
    let mut run: Run = serde_json::from_value(value).map_err(|e| Error::json("run body", e))?;
    if let Some(p) = path_id {
        let id = parse_uuid(p)
            .ok_or_else(|| Error::Invalid(format!("run id {p:?} in the path is not a UUID")))?;
        match run.id.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(own) if parse_uuid(own) != Some(id) => {
                return Err(Error::Invalid(format!(
                    "the body's id {own:?} differs from the path's {p:?}"
                )))
            }
            _ => run.id = Some(format_uuid(&id)),
        }
    }
    let mut set = RunSet::new();
    set.add(op, run, "run")?;
    Ok(set)
}
