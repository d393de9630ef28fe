//! What a proxied call's answer told: ids, model, usage, finish reasons, output and errors,
//! accumulated from a whole body or from stream events.

/// Most bytes of output text (and tool arguments) kept per call when content is captured.
pub const MAX_CAPTURED_BYTES: usize = 1024 * 1024;

/// One part of an output message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text.
    Text(String),
    /// Reasoning (thinking) text.
    Reasoning(String),
    /// A tool call: its id, tool name and JSON arguments (as text, possibly streamed in pieces).
    ToolCall {
        /// Call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments as JSON text.
        arguments: String,
    },
}

/// One output message (one choice).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Role (`assistant`).
    pub role: String,
    /// Parts in order.
    pub parts: Vec<Part>,
    /// Why it ended.
    pub finish_reason: Option<String>,
}

/// Everything read from the answer.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Provider response id.
    pub response_id: Option<String>,
    /// Model that answered.
    pub response_model: Option<String>,
    /// Input tokens as the provider counts them (see `input_excludes_cache`).
    pub input_tokens: Option<i64>,
    /// Whether `input_tokens` leaves out cache reads and writes (Anthropic).
    pub input_excludes_cache: bool,
    /// Output tokens, reasoning included.
    pub output_tokens: Option<i64>,
    /// Input tokens read from the cache.
    pub cache_read_tokens: Option<i64>,
    /// Input tokens written to the cache.
    pub cache_write_tokens: Option<i64>,
    /// The part of `cache_write_tokens` written with a 1-hour lifetime (Anthropic).
    pub cache_write_1h_tokens: Option<i64>,
    /// Reasoning tokens (part of the output).
    pub reasoning_tokens: Option<i64>,
    /// Output messages, one per choice (by choice index).
    pub outputs: Vec<Output>,
    /// The provider's error: its type and message.
    pub error: Option<(String, String)>,
    /// When the first streamed content arrived (Unix nanoseconds).
    pub first_chunk_unix_nano: Option<u64>,
    /// Stream events too large to read, or a body too large to parse.
    pub unread: bool,
    /// Bytes of captured output so far (bounded by [`MAX_CAPTURED_BYTES`]).
    captured_bytes: usize,
}

impl Observed {
    /// The output message of choice `index`, created (with role `assistant`) when new; `None`
    /// for an index far beyond what any provider sends (a hostile stream).
    pub fn output(&mut self, index: usize) -> Option<&mut Output> {
        if index > 127 {
            return None;
        }
        while self.outputs.len() <= index {
            self.outputs.push(Output {
                role: "assistant".into(),
                ..Default::default()
            });
        }
        self.outputs.get_mut(index)
    }

    /// Whether `len` more bytes of content fit in the capture budget (and takes them).
    pub fn take_budget(&mut self, len: usize) -> bool {
        let next = self.captured_bytes.saturating_add(len);
        if next > MAX_CAPTURED_BYTES {
            return false;
        }
        self.captured_bytes = next;
        true
    }

    /// Appends text to the last part of `kind` of choice `index` (a new part when the last one
    /// is of another kind), within the capture budget.
    pub fn append_text(&mut self, index: usize, text: &str, reasoning: bool) {
        if text.is_empty() || !self.take_budget(text.len()) {
            return;
        }
        let Some(out) = self.output(index) else {
            return;
        };
        match (out.parts.last_mut(), reasoning) {
            (Some(Part::Text(t)), false) | (Some(Part::Reasoning(t)), true) => t.push_str(text),
            _ => out.parts.push(if reasoning {
                Part::Reasoning(text.to_string())
            } else {
                Part::Text(text.to_string())
            }),
        }
    }

    /// Records the first streamed content's time.
    pub fn first_chunk(&mut self, now_unix_nano: u64) {
        if self.first_chunk_unix_nano.is_none() {
            self.first_chunk_unix_nano = Some(now_unix_nano);
        }
    }

    /// The finish reasons of all choices, in order.
    pub fn finish_reasons(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter_map(|o| o.finish_reason.clone())
            .collect()
    }
}

/// A non-negative token count from JSON.
pub(crate) fn count(v: Option<&serde_json::Value>) -> Option<i64> {
    v.and_then(serde_json::Value::as_i64).filter(|n| *n >= 0)
}

/// A string from JSON.
pub(crate) fn string(v: Option<&serde_json::Value>) -> Option<String> {
    v.and_then(serde_json::Value::as_str).map(str::to_string)
}

/// The string under `key`, or "".
pub(crate) fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.get(key).and_then(serde_json::Value::as_str).unwrap_or("")
}
