//! LangSmith OTel mode (`langsmith.*` next to OTel GenAI keys), reference §4.6 and the wire notes.
//!
//! * `langsmith.span.kind` (the run type) → kind: `llm`, `chain`, `tool`, `retriever`,
//!   `embedding` as named; `prompt`, `parser` → plain span. It is the operation only when the span
//!   has no `gen_ai.operation.name`.
//! * `langsmith.metadata.*`: `ls_provider` → provider and `ls_model_name` → request model (after
//!   `gen_ai.system` / `gen_ai.provider.name` and `gen_ai.request.model`), `ls_temperature`,
//!   `ls_max_tokens`, `ls_stop` → parameters, `user_id` → user, `session_id` / `thread_id` /
//!   `conversation_id` → session.
//! * `langsmith.trace.session_id` → session (after `session.id`, `gen_ai.conversation.id` and the
//!   metadata thread keys); `langsmith.trace.name` names tool spans.
//! * Tokens: `gen_ai.usage.*` (LangChain counts are cache-inclusive) plus the cache breakdown that
//!   only exists as a **Python repr string** `gen_ai.usage.input_token_details =
//!   "{'cache_read': 30, 'ephemeral_5m_input_tokens': 10}"` (`cache_read`, `cache_creation`, else
//!   `ephemeral_5m_input_tokens + ephemeral_1h_input_tokens`; the 1-hour part kept apart) and
//!   `gen_ai.usage.output_token_details` (`reasoning`).
//! * `gen_ai.prompt` / `gen_ai.completion` hold the run's inputs / outputs as JSON (LangChain
//!   serialized messages, request bodies, provider responses): they become messages when no
//!   `gen_ai.input.messages` / `gen_ai.output.messages` exist.
//!
//! `langsmith.span.tags` (comma-joined) has no normalized field and stays in the attributes.

use super::langfuse::{decoded_id, fill_provider, io_messages, json_count, put};
use crate::tokens::{InputCounting, OutputCounting, UsageCollector, UsageField};
use crate::value::{finite_f64, is_blank, non_empty_str, string_list};
use crate::Dialect;
use llmtrace_model::{AttrValue, Span, SpanKind};
use llmtrace_semconv::{gen_ai, general};
use serde_json::{Map, Number, Value};

/// The LangSmith OTel dialect.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LangSmith;

const PREFIX: &str = "langsmith.";
const SPAN_KIND: &str = "langsmith.span.kind";
const TRACE_NAME: &str = "langsmith.trace.name";
const TRACE_SESSION_ID: &str = "langsmith.trace.session_id";
const METADATA_PREFIX: &str = "langsmith.metadata.";
const USAGE_PREFIX: &str = "gen_ai.usage.";
const INPUT_TOKEN_DETAILS: &str = "input_token_details";
const OUTPUT_TOKEN_DETAILS: &str = "output_token_details";

impl Dialect for LangSmith {
    fn name(&self) -> &'static str {
        "langsmith"
    }

    fn detect(&self, span: &Span) -> bool {
        span.attributes.iter().any(|kv| kv.key.starts_with(PREFIX))
    }

    fn apply(&self, span: &mut Span) {
        let Span {
            name,
            attributes,
            gen_ai: g,
            usage,
            kind,
            ..
        } = span;
        let mut f = Found::default();
        for kv in attributes.iter() {
            f.offer(kv.key.as_str(), &kv.value);
        }

        let run_type = f
            .span_kind
            .and_then(non_empty_str)
            .map(|t| t.trim().to_ascii_lowercase());
        if let Some(t) = run_type.as_deref() {
            if *kind == SpanKind::Span {
                if let Some(k) = kind_for_run_type(t) {
                    *kind = k;
                }
            }
            if g.operation.is_none() && !f.has_gen_operation {
                g.operation = Some(t.to_owned());
            }
        }

        if !f.has_gen_provider {
            if let Some(p) = f.ls_provider.and_then(non_empty_str) {
                fill_provider(g, p);
            }
        }
        if g.request_model.is_none() && !f.has_request_model {
            g.request_model = f
                .ls_model_name
                .and_then(non_empty_str)
                .map(|m| m.trim().to_owned());
        }

        // Usage: the standard keys plus the repr-encoded breakdowns.
        let mut c = f.usage;
        let mut cache_write_1h = None;
        if let Some(Value::Object(d)) = f.input_token_details.and_then(python_dict) {
            let get = |k: &str| d.get(k).and_then(json_count);
            put(&mut c, UsageField::CacheRead, 10, get("cache_read"));
            put(&mut c, UsageField::CacheWrite, 10, get("cache_creation"));
            let e5 = get("ephemeral_5m_input_tokens");
            let e1 = get("ephemeral_1h_input_tokens");
            if e5.is_some() || e1.is_some() {
                let sum = e5.unwrap_or(0).saturating_add(e1.unwrap_or(0));
                put(&mut c, UsageField::CacheWrite, 11, Some(sum));
            }
            cache_write_1h = e1;
        }
        if let Some(Value::Object(d)) = f.output_token_details.and_then(python_dict) {
            put(
                &mut c,
                UsageField::Reasoning,
                10,
                d.get("reasoning").and_then(json_count),
            );
        }
        c.fill(
            usage,
            InputCounting::IncludesCache,
            OutputCounting::IncludesReasoning,
        );
        if usage.cache_write_1h.is_none() {
            usage.cache_write_1h =
                cache_write_1h.map(|h| usage.cache_write.map_or(h, |w| h.min(w)));
        }

        // Messages from the run inputs / outputs.
        if g.input_messages.is_empty() && !f.has_input_messages {
            if let Some(v) = f.prompt {
                g.input_messages = io_messages(v, "user");
            }
        }
        if g.output_messages.is_empty() && !f.has_output_messages {
            if let Some(v) = f.completion {
                g.output_messages = io_messages(v, "assistant");
            }
        }

        // Parameters from the LangSmith metadata.
        let p = &mut g.params;
        if p.temperature.is_none() {
            p.temperature = f.ls_temperature.and_then(finite_f64);
        }
        if p.max_tokens.is_none() {
            p.max_tokens = f.ls_max_tokens.and_then(AttrValue::as_i64);
        }
        if p.stop_sequences.is_empty() {
            if let Some(v) = f.ls_stop {
                p.stop_sequences = string_list(v);
            }
        }

        // User and session.
        if g.user_id.is_none() && !f.has_user_attr {
            g.user_id = f.meta_user_id.and_then(decoded_id);
        }
        if g.session_id.is_none() && !f.has_session_attr {
            g.session_id = f
                .meta_session_id
                .and_then(decoded_id)
                .or_else(|| f.trace_session_id.and_then(decoded_id));
        }

        if *kind == SpanKind::Tool && g.tool_name.is_none() && !f.has_tool_name {
            g.tool_name = f
                .trace_name
                .and_then(non_empty_str)
                .or(Some(name.as_str()).filter(|n| !n.trim().is_empty()))
                .map(|n| n.trim().to_owned());
        }
    }
}

/// `langsmith.span.kind` → kind; `Some(SpanKind::Span)` for `prompt` / `parser`.
fn kind_for_run_type(t: &str) -> Option<SpanKind> {
    Some(match t {
        "llm" => SpanKind::Llm,
        "chain" => SpanKind::Chain,
        "tool" => SpanKind::Tool,
        "retriever" => SpanKind::Retriever,
        "embedding" => SpanKind::Embedding,
        "prompt" | "parser" => SpanKind::Span,
        _ => return None,
    })
}

/// Everything the dialect reads, found in one pass.
#[derive(Default)]
struct Found<'a> {
    span_kind: Option<&'a AttrValue>,
    trace_name: Option<&'a AttrValue>,
    trace_session_id: Option<&'a AttrValue>,
    meta_session_id: Option<&'a AttrValue>,
    meta_user_id: Option<&'a AttrValue>,
    ls_provider: Option<&'a AttrValue>,
    ls_model_name: Option<&'a AttrValue>,
    ls_temperature: Option<&'a AttrValue>,
    ls_max_tokens: Option<&'a AttrValue>,
    ls_stop: Option<&'a AttrValue>,
    input_token_details: Option<&'a AttrValue>,
    output_token_details: Option<&'a AttrValue>,
    prompt: Option<&'a AttrValue>,
    completion: Option<&'a AttrValue>,
    usage: UsageCollector,
    has_gen_operation: bool,
    has_gen_provider: bool,
    has_request_model: bool,
    has_user_attr: bool,
    has_session_attr: bool,
    has_tool_name: bool,
    has_input_messages: bool,
    has_output_messages: bool,
}

fn offer<'a>(slot: &mut Option<&'a AttrValue>, v: &'a AttrValue) {
    if slot.is_none() && !is_blank(v) {
        *slot = Some(v);
    }
}

impl<'a> Found<'a> {
    fn offer(&mut self, key: &str, v: &'a AttrValue) {
        let present = !is_blank(v);
        let slot = match key {
            SPAN_KIND => &mut self.span_kind,
            TRACE_NAME => &mut self.trace_name,
            TRACE_SESSION_ID => &mut self.trace_session_id,
            gen_ai::PROMPT => &mut self.prompt,
            gen_ai::COMPLETION => &mut self.completion,
            gen_ai::OPERATION_NAME => {
                self.has_gen_operation |= present;
                return;
            }
            gen_ai::SYSTEM | gen_ai::PROVIDER_NAME => {
                self.has_gen_provider |= present;
                return;
            }
            gen_ai::REQUEST_MODEL => {
                self.has_request_model |= present;
                return;
            }
            gen_ai::TOOL_NAME => {
                self.has_tool_name |= present;
                return;
            }
            gen_ai::INPUT_MESSAGES => {
                self.has_input_messages |= present;
                return;
            }
            gen_ai::OUTPUT_MESSAGES => {
                self.has_output_messages |= present;
                return;
            }
            general::USER_ID | general::ENDUSER_ID => {
                self.has_user_attr |= present;
                return;
            }
            general::SESSION_ID | gen_ai::CONVERSATION_ID => {
                self.has_session_attr |= present;
                return;
            }
            _ => {
                if let Some(meta) = key.strip_prefix(METADATA_PREFIX) {
                    match meta {
                        "ls_provider" | "ls.provider" => &mut self.ls_provider,
                        "ls_model_name" | "ls.model_name" => &mut self.ls_model_name,
                        "ls_temperature" => &mut self.ls_temperature,
                        "ls_max_tokens" => &mut self.ls_max_tokens,
                        "ls_stop" => &mut self.ls_stop,
                        "user_id" => &mut self.meta_user_id,
                        "session_id" | "thread_id" | "conversation_id" => &mut self.meta_session_id,
                        _ => return,
                    }
                } else if let Some(suffix) = key.strip_prefix(USAGE_PREFIX) {
                    match suffix {
                        INPUT_TOKEN_DETAILS => &mut self.input_token_details,
                        OUTPUT_TOKEN_DETAILS => &mut self.output_token_details,
                        _ => {
                            self.usage.offer_gen_ai_usage(suffix, v);
                            return;
                        }
                    }
                } else {
                    return;
                }
            }
        };
        offer(slot, v);
    }
}

/// A dict given as a Python repr string (`"{'cache_read': 30}"`), a JSON text, or a structured
/// value.
pub(super) fn python_dict(v: &AttrValue) -> Option<Value> {
    match v {
        AttrValue::Str(s) => serde_json::from_str::<Value>(s.trim())
            .ok()
            .or_else(|| parse_python_literal(s)),
        AttrValue::Map(_) => Some(v.to_json()),
        _ => None,
    }
}

/// Parses a Python literal as printed by `repr()`: dicts, lists, tuples, strings (single or
/// double quotes, common escapes), integers, floats, `True`, `False`, `None`. `None` on anything
/// else or on trailing garbage.
pub(super) fn parse_python_literal(s: &str) -> Option<Value> {
    let mut p = PyParser {
        s: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = p.value()?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct PyParser<'a> {
    s: &'a [u8],
    i: usize,
    depth: u8,
}

const MAX_PY_DEPTH: u8 = 16;

impl PyParser<'_> {
    /// Moves past `n` bytes (the parser only moves past bytes it has seen, so `i` stays within
    /// `s`; saturating all the same).
    fn bump(&mut self, n: usize) {
        self.i = self.i.saturating_add(n);
    }

    /// The `n` bytes at the position, when there are that many.
    fn ahead(&self, n: usize) -> Option<&[u8]> {
        self.s.get(self.i..self.i.checked_add(n)?)
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.bump(1);
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'{' => self.nested(|p| p.dict()),
            b'[' => self.nested(|p| p.list(b']')),
            b'(' => self.nested(|p| p.list(b')')),
            b'\'' | b'"' => self.string().map(Value::String),
            b'-' | b'+' | b'0'..=b'9' | b'.' => self.number(),
            _ => self.word(),
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Option<Value>) -> Option<Value> {
        if self.depth >= MAX_PY_DEPTH {
            return None;
        }
        self.depth = self.depth.saturating_add(1);
        let v = f(self);
        self.depth = self.depth.saturating_sub(1);
        v
    }

    fn dict(&mut self) -> Option<Value> {
        self.bump(1); // '{'
        let mut m = Map::new();
        loop {
            if self.peek()? == b'}' {
                self.bump(1);
                return Some(Value::Object(m));
            }
            let key = match self.value()? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            if self.peek()? != b':' {
                return None;
            }
            self.bump(1);
            let v = self.value()?;
            m.insert(key, v);
            match self.peek()? {
                b',' => self.bump(1),
                b'}' => {}
                _ => return None,
            }
        }
    }

    fn list(&mut self, close: u8) -> Option<Value> {
        self.bump(1); // '[' or '('
        let mut items = Vec::new();
        loop {
            if self.peek()? == close {
                self.bump(1);
                return Some(Value::Array(items));
            }
            items.push(self.value()?);
            match self.peek()? {
                b',' => self.bump(1),
                c if c == close => {}
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let quote = *self.s.get(self.i)?;
        self.bump(1);
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.bump(1);
            match c {
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.bump(1);
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'x' => {
                            let hex = std::str::from_utf8(self.ahead(2)?).ok()?;
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            self.bump(2);
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        b'u' => {
                            let hex = std::str::from_utf8(self.ahead(4)?).ok()?;
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            self.bump(4);
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                c if c == quote => return String::from_utf8(out).ok(),
                c => out.push(c),
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| {
            c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'_')
        }) {
            self.bump(1);
        }
        let text: String = std::str::from_utf8(self.s.get(start..self.i)?)
            .ok()?
            .chars()
            .filter(|c| *c != '_')
            .collect();
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::Number(i.into()));
        }
        let f = text.parse::<f64>().ok()?;
        Number::from_f64(f).map(Value::Number)
    }

    fn word(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.bump(1);
        }
        match self.s.get(start..self.i)? {
            b"None" => Some(Value::Null),
            b"True" => Some(Value::Bool(true)),
            b"False" => Some(Value::Bool(false)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_repr() {
        assert_eq!(
            parse_python_literal("{'cache_read': 30, 'ephemeral_5m_input_tokens': 10}"),
            Some(json!({"cache_read": 30, "ephemeral_5m_input_tokens": 10}))
        );
        assert_eq!(
            parse_python_literal(
                r#"{'a': None, "b": [True, False, 1.5, (1, 2)], 'c': 'it\'s', 'd': {}}"#
            ),
            Some(json!({"a": null, "b": [true, false, 1.5, [1, 2]], "c": "it's", "d": {}}))
        );
        assert_eq!(parse_python_literal("{'a': 1,}"), Some(json!({"a": 1})));
        assert_eq!(parse_python_literal("{'a': 1"), None);
        assert_eq!(parse_python_literal("{'a': foo}"), None);
        assert_eq!(parse_python_literal("{'a': 1} x"), None);
        assert_eq!(parse_python_literal(&"[".repeat(100)), None);
    }
}
