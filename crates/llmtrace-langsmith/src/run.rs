//! The LangSmith run object, as posted or patched.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One LangSmith run (a post, a patch, or both merged). Every field is optional because a patch
/// carries only what changed; loosely typed fields stay JSON values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    /// Run id (a UUID, v7 from current SDKs).
    pub id: Option<String>,
    /// Id of the root run of the trace.
    pub trace_id: Option<String>,
    /// Parent run id; absent for a root.
    pub parent_run_id: Option<String>,
    /// `<%Y%m%dT%H%M%S%fZ><run_id>` segments joined by `.` from the root down to this run.
    pub dotted_order: Option<String>,
    /// Run name.
    pub name: Option<String>,
    /// `llm`, `chain`, `tool`, `retriever`, `embedding`, `prompt`, `parser`.
    pub run_type: Option<String>,
    /// Start: an ISO-8601 string (with or without offset), or epoch seconds / milliseconds.
    pub start_time: Option<Value>,
    /// End, like `start_time`; absent while the run is unfinished.
    pub end_time: Option<Value>,
    /// Inputs (a JSON object).
    pub inputs: Option<Value>,
    /// Outputs (a JSON object).
    pub outputs: Option<Value>,
    /// Error text (Python `repr` plus traceback) when the run failed.
    pub error: Option<Value>,
    /// `{"metadata": {...}, "runtime": {...}, "invocation_params": {...}}`.
    pub extra: Option<Value>,
    /// Run events (`[{"name", "time", "kwargs"}]`, e.g. `new_token`).
    pub events: Option<Value>,
    /// Tags (a list of strings).
    pub tags: Option<Value>,
    /// LangSmith project (tracing session) name.
    pub session_name: Option<String>,
    /// LangSmith project (tracing session) id.
    pub session_id: Option<String>,
    /// Serialized manifest of the runnable (kept only for llm and prompt runs by the SDK).
    pub serialized: Option<Value>,
}

/// A large run field that multipart sends as its own part (`post.<id>.<field>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunField {
    /// `inputs`.
    Inputs,
    /// `outputs`.
    Outputs,
    /// `extra`.
    Extra,
    /// `events`.
    Events,
    /// `error`.
    Error,
    /// `serialized`.
    Serialized,
}

impl RunField {
    /// Parses a part-name suffix (`inputs`, `outputs`, ...); `None` for unknown fields.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "inputs" => RunField::Inputs,
            "outputs" => RunField::Outputs,
            "extra" => RunField::Extra,
            "events" => RunField::Events,
            "error" => RunField::Error,
            "serialized" => RunField::Serialized,
            _ => return None,
        })
    }
}

impl Run {
    /// Overlays `later` (a patch, or a repeated post): each field `later` has replaces this
    /// run's, as the SDK merges a post with its patch.
    pub fn merge(&mut self, later: Run) {
        fn take<T>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        take(&mut self.id, later.id);
        take(&mut self.trace_id, later.trace_id);
        take(&mut self.parent_run_id, later.parent_run_id);
        take(&mut self.dotted_order, later.dotted_order);
        take(&mut self.name, later.name);
        take(&mut self.run_type, later.run_type);
        take(&mut self.start_time, later.start_time);
        take(&mut self.end_time, later.end_time);
        take(&mut self.inputs, later.inputs);
        take(&mut self.outputs, later.outputs);
        take(&mut self.error, later.error);
        take(&mut self.extra, later.extra);
        take(&mut self.events, later.events);
        take(&mut self.tags, later.tags);
        take(&mut self.session_name, later.session_name);
        take(&mut self.session_id, later.session_id);
        take(&mut self.serialized, later.serialized);
    }

    /// Sets one large field (from its own multipart part); JSON `null` clears nothing.
    pub fn set_field(&mut self, field: RunField, value: Value) {
        if value.is_null() {
            return;
        }
        let slot = match field {
            RunField::Inputs => &mut self.inputs,
            RunField::Outputs => &mut self.outputs,
            RunField::Extra => &mut self.extra,
            RunField::Events => &mut self.events,
            RunField::Error => &mut self.error,
            RunField::Serialized => &mut self.serialized,
        };
        *slot = Some(value);
    }

    /// The error text, when the run failed (a string, or any other JSON as its text).
    pub fn error_text(&self) -> Option<String> {
        match self.error.as_ref()? {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// Whether the run is finished: it has an end time or an error.
    pub fn is_finished(&self) -> bool {
        self.end_time.as_ref().is_some_and(|v| !v.is_null()) || self.error_text().is_some()
    }

    /// `extra.metadata`, when it is an object.
    pub fn metadata(&self) -> Option<&serde_json::Map<String, Value>> {
        self.extra.as_ref()?.get("metadata")?.as_object()
    }

    /// One `extra.metadata` entry.
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        self.metadata()?.get(key).filter(|v| !v.is_null())
    }

    /// `extra.<key>`, when present.
    pub fn extra_value(&self, key: &str) -> Option<&Value> {
        self.extra.as_ref()?.get(key).filter(|v| !v.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_fields_win_and_nulls_do_not_erase() {
        let mut post: Run = serde_json::from_value(json!({
            "id": "a", "name": "call", "run_type": "llm", "start_time": "2026-01-01T00:00:00Z",
            "inputs": {"q": 1}, "parent_run_id": null
        }))
        .unwrap();
        assert!(!post.is_finished());
        let patch: Run = serde_json::from_value(json!({
            "id": "a", "end_time": "2026-01-01T00:00:01Z", "outputs": {"a": 2}, "name": null
        }))
        .unwrap();
        post.merge(patch);
        assert_eq!(post.name.as_deref(), Some("call"));
        assert_eq!(post.inputs, Some(json!({"q": 1})));
        assert_eq!(post.outputs, Some(json!({"a": 2})));
        assert!(post.is_finished());
        post.set_field(RunField::Error, json!("ValueError('x')"));
        assert_eq!(post.error_text().as_deref(), Some("ValueError('x')"));
        assert_eq!(RunField::parse("events"), Some(RunField::Events));
        assert_eq!(RunField::parse("attachments"), None);
    }
}
