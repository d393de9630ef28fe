//! Model ↔ row conversion, and the per-trace rollup computed from stored rows.

use llmtrace_model::{
    Attributes, GenAi, Money, Span, SpanCost, SpanId, SpanKind, StatusCode, TraceId, Usage,
};
use llmtrace_store::messages::{Bodies, MessageRow};
use llmtrace_store::search::span_search_text;
use llmtrace_store::span_detail::{write_span_detail, SpanDetail};
use llmtrace_store::{TraceRollup, TraceSummary, UsageTotals};
use serde::{Deserialize, Serialize};

use crate::retention::NEVER;

/// A condition true for every stored span (ids are never empty) that names the sorting-key
/// columns `trace_id` and `span_id` (queries name `project` anyway): ClickHouse 18.16 fails a
/// `FINAL` read through a `Distributed` table whose query does not name them all ("Cannot find
/// column ... in source stream").
pub(crate) const KEY_COLUMNS_USED: &str = "trace_id != '' AND span_id != ''";

/// Every column of `spans` except the big JSON ones, for reads that only need structure.
pub(crate) const LITE_COLUMNS: &str = "project, trace_id, span_id, parent_span_id, name, service, \
    kind, is_call, not_root, root_key, start_ns, end_ns, status, provider, operation, model, \
    request_model, response_model, user_id, session_id, input_tokens, output_tokens, \
    cache_read_tokens, cache_write_tokens, reasoning_tokens, counts_usage, cost_computed, \
    cost_reported, unpriced, price_id, price_effective_from, incomplete, response_id, claim_key, \
    version";

/// Every column of `spans`.
pub(crate) const ALL_COLUMNS: &str = "project, trace_id, span_id, parent_span_id, name, service, \
    kind, is_call, not_root, root_key, start_ns, end_ns, status, provider, operation, model, \
    request_model, response_model, user_id, session_id, input_tokens, output_tokens, \
    cache_read_tokens, cache_write_tokens, reasoning_tokens, counts_usage, cost_computed, \
    cost_reported, unpriced, price_id, price_effective_from, incomplete, response_id, claim_key, \
    version, detail, resource";

/// One row of `spans`, as inserted and read (`JSONEachRow` field names are the columns).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SpanRow {
    pub(crate) project: String,
    pub(crate) trace_id: String,
    pub(crate) span_id: String,
    pub(crate) parent_span_id: String,
    pub(crate) name: String,
    pub(crate) service: String,
    pub(crate) kind: u8,
    pub(crate) is_call: u8,
    pub(crate) not_root: u8,
    pub(crate) root_key: String,
    pub(crate) start_ns: u64,
    pub(crate) end_ns: u64,
    pub(crate) status: u8,
    pub(crate) provider: String,
    pub(crate) operation: String,
    pub(crate) model: String,
    pub(crate) request_model: String,
    pub(crate) response_model: String,
    pub(crate) user_id: String,
    pub(crate) session_id: String,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) cache_read_tokens: u64,
    pub(crate) cache_write_tokens: u64,
    pub(crate) reasoning_tokens: u64,
    pub(crate) counts_usage: u8,
    pub(crate) cost_computed: Option<i64>,
    pub(crate) cost_reported: Option<i64>,
    pub(crate) unpriced: u8,
    pub(crate) price_id: Option<String>,
    pub(crate) price_effective_from: Option<String>,
    pub(crate) incomplete: u8,
    /// Provider response id (`gen_ai.response.id`), empty when none.
    pub(crate) response_id: String,
    /// Which of two call spans reporting one response counts: the smaller key (see
    /// [`claim_key`]).
    pub(crate) claim_key: String,
    pub(crate) version: u64,
    /// JSON of the span's [`SpanDetail`]; empty when read with [`LITE_COLUMNS`].
    #[serde(default)]
    pub(crate) detail: String,
    /// JSON of the resource attributes; empty when read with [`LITE_COLUMNS`].
    #[serde(default)]
    pub(crate) resource: String,
    /// The span's searchable text (see [`search_column`]), written to `span_text`
    /// (`search.rs`), not to `spans` (schema version 12: the column is no longer written);
    /// never read back (empty when read), so a row written again gets it from its span.
    #[serde(default, skip_serializing)]
    pub(crate) search_text: String,
    /// When the row expires (seconds since the epoch, the `expire_at DateTime` column); never
    /// read back ([`NEVER`] when read), so a row written again must get it from the retention.
    #[serde(default = "never")]
    pub(crate) expire_at: u32,
    /// The message-table rows the detail refers to (`crate::messages`), made by
    /// [`SpanRow::from_span`] and inserted with the row; never read back (empty when read).
    #[serde(skip)]
    pub(crate) messages: Vec<MessageRow>,
}

impl SpanRow {
    /// A copy without the big columns (`detail`, `resource`, `search_text`), as read with
    /// [`LITE_COLUMNS`]: they are set aside while the rest is cloned.
    pub(crate) fn structure(&mut self) -> SpanRow {
        let detail = std::mem::take(&mut self.detail);
        let resource = std::mem::take(&mut self.resource);
        let search_text = std::mem::take(&mut self.search_text);
        let messages = std::mem::take(&mut self.messages);
        let copy = self.clone();
        self.detail = detail;
        self.resource = resource;
        self.search_text = search_text;
        self.messages = messages;
        copy
    }
}

fn never() -> u32 {
    NEVER
}

/// The `search_text` column of a span: its normalized searchable text
/// ([`span_search_text`]) with a space in front, so that `position(search_text, ' ' || word)`
/// finds a word start anywhere, the first word included; empty when the span has no text.
pub(crate) fn search_column(span: &Span) -> String {
    let text = span_search_text(span);
    if text.is_empty() {
        text
    } else {
        format!(" {text}")
    }
}

/// The key that names a trace, as a string that sorts like [`llmtrace_store::RootKey`]:
/// not-root flag, zero-padded start, span id hex.
fn root_key(not_root: u8, start: u64, span_id_hex: &str) -> String {
    format!("{not_root}{start:020}{span_id_hex}")
}

/// The key that decides which of two call spans carrying one provider response id counts, as a
/// string that sorts like `llmtrace_store::ResponseClaimKey`: the app's span before a provider
/// SDK's own, a span with a parent first, then the smaller trace id, then the smaller
/// `SpanId::key_i64` (offset to sort unsigned).
///
/// The key ends with the span's usage authority (`llmtrace_store::UsageAuthority` code, one
/// digit), which never changes the order of two spans (the part before it is unique) and tells
/// which copy supplies the usage ([`SpanRow::usage_source_key`]); rows written before it was
/// added lack it.
pub(crate) fn claim_key(span: &Span) -> String {
    let k = llmtrace_store::ResponseClaimKey::of(span);
    let key = k.span_key.cast_unsigned() ^ (1 << 63);
    format!(
        "{}{}{}{key:020}{}",
        k.provider_sdk,
        k.parentless,
        k.trace_id.to_hex(),
        llmtrace_store::UsageAuthority::of(span).code()
    )
}

/// The ids of a row's span (`None` if they are not hex ids).
pub(crate) fn call_ref(trace_id: &str, span_id: &str) -> Option<llmtrace_store::CallRef> {
    Some(llmtrace_store::CallRef {
        trace_id: TraceId(decode_id::<16>(trace_id, "trace id").ok()?),
        span_id: SpanId(decode_id::<8>(span_id, "span id").ok()?),
    })
}

/// Length of a claim key without its usage authority digit.
const CLAIM_KEY_LEN: usize = 54;

impl SpanRow {
    /// Which copy of a response supplies the usage its counting span carries (the smaller key,
    /// as `llmtrace_store::UsageSourceKey`): the usage authority, then the claim key.
    pub(crate) fn usage_source_key(&self) -> (u8, &str) {
        let claim = self
            .claim_key
            .get(..CLAIM_KEY_LEN)
            .unwrap_or(&self.claim_key);
        let authority = match self.claim_key.as_bytes().get(CLAIM_KEY_LEN) {
            Some(d @ b'0'..=b'9') => d.saturating_sub(b'0'),
            // Written before the digit: a provider SDK's span (first digit 1) or an
            // instrumentation.
            _ if self.claim_key.starts_with('1') => 0,
            _ => llmtrace_store::UsageAuthority::Instrumentation.code(),
        };
        (authority, claim)
    }

    /// Whether two rows carry the same usage and cost.
    pub(crate) fn same_usage(&self, other: &SpanRow) -> bool {
        (
            self.counts_usage,
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
            self.cost_computed,
            self.cost_reported,
            self.unpriced,
        ) == (
            other.counts_usage,
            other.input_tokens,
            other.output_tokens,
            other.cache_read_tokens,
            other.cache_write_tokens,
            other.reasoning_tokens,
            other.cost_computed,
            other.cost_reported,
            other.unpriced,
        )
    }

    /// Puts this row's usage and cost into a span (the span counting the call this row is the
    /// usage source of).
    pub(crate) fn give_usage_to(&self, span: &mut Span) {
        let some = |v: u64| (v > 0).then_some(v);
        span.counts_usage = self.counts_usage != 0;
        span.usage = Usage {
            input: Some(self.input_tokens),
            output: Some(self.output_tokens),
            cache_read: some(self.cache_read_tokens),
            cache_write: some(self.cache_write_tokens),
            cache_write_1h: None,
            reasoning: some(self.reasoning_tokens),
        };
        span.cost.computed = self.cost_computed.map(llmtrace_model::Money::from_pico);
        span.cost.reported = self.cost_reported.map(llmtrace_model::Money::from_pico);
        span.cost.unpriced = self.unpriced != 0;
        span.cost.price_id = self.price_id.clone();
        span.cost.price_effective_from = self.price_effective_from.clone();
    }
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn decode_id<const N: usize>(hex_id: &str, what: &str) -> Result<[u8; N], String> {
    let bytes = hex::decode(hex_id).map_err(|e| format!("stored {what} {hex_id:?}: {e}"))?;
    bytes
        .try_into()
        .map_err(|_| format!("stored {what} {hex_id:?} has the wrong length"))
}

impl SpanRow {
    /// The row of a span, at `version`.
    pub(crate) fn from_span(span: &Span, version: u64) -> Result<Self, String> {
        let span_id = span.span_id.to_hex();
        let not_root = u8::from(span.parent_span_id.is_some());
        let mut message_rows = Vec::new();
        let mut detail = Vec::new();
        write_span_detail(&mut detail, span, Some(&mut message_rows))?;
        let detail = String::from_utf8(detail).map_err(|e| e.to_string())?;
        let resource =
            serde_json::to_string(&*span.resource_attributes).map_err(|e| e.to_string())?;
        let g = &span.gen_ai;
        let u = &span.usage;
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        Ok(SpanRow {
            project: span.project.clone(),
            trace_id: span.trace_id.to_hex(),
            root_key: root_key(not_root, span.start_unix_nano, &span_id),
            span_id,
            parent_span_id: span.parent_span_id.map(|p| p.to_hex()).unwrap_or_default(),
            name: span.name.clone(),
            service: span.service.clone(),
            kind: u8::try_from(span.kind.code()).unwrap_or(u8::MAX),
            is_call: u8::from(span.kind.is_model_call()),
            not_root,
            start_ns: span.start_unix_nano,
            end_ns: span.end_unix_nano,
            status: u8::try_from(span.status.code()).unwrap_or_default(),
            provider: s(&g.provider),
            operation: s(&g.operation),
            model: span.model().unwrap_or_default().to_string(),
            request_model: s(&g.request_model),
            response_model: s(&g.response_model),
            user_id: s(&g.user_id),
            session_id: s(&g.session_id),
            input_tokens: u.input.unwrap_or(0),
            output_tokens: u.output.unwrap_or(0),
            cache_read_tokens: u.cache_read.unwrap_or(0),
            cache_write_tokens: u.cache_write.unwrap_or(0),
            reasoning_tokens: u.reasoning.unwrap_or(0),
            counts_usage: u8::from(span.counts_usage),
            cost_computed: span.cost.computed.map(|m| m.pico_usd),
            cost_reported: span.cost.reported.map(|m| m.pico_usd),
            unpriced: u8::from(span.cost.unpriced),
            price_id: span.cost.price_id.clone(),
            price_effective_from: span.cost.price_effective_from.clone(),
            incomplete: u8::from(span.incomplete),
            response_id: s(&g.response_id),
            claim_key: claim_key(span),
            version,
            detail,
            resource,
            search_text: search_column(span),
            expire_at: NEVER,
            messages: message_rows,
        })
    }

    /// The cost columns as a [`SpanCost`].
    pub(crate) fn cost(&self) -> SpanCost {
        SpanCost {
            computed: self.cost_computed.map(Money::from_pico),
            reported: self.cost_reported.map(Money::from_pico),
            price_id: self.price_id.clone(),
            price_effective_from: self.price_effective_from.clone(),
            unpriced: self.unpriced != 0,
        }
    }

    /// Stores a new cost in the cost columns.
    pub(crate) fn set_cost(&mut self, c: &SpanCost) {
        self.cost_computed = c.computed.map(|m| m.pico_usd);
        self.cost_reported = c.reported.map(|m| m.pico_usd);
        self.price_id = c.price_id.clone();
        self.price_effective_from = c.price_effective_from.clone();
        self.unpriced = u8::from(c.unpriced);
    }

    /// The span from the typed columns only: enough for rollups, not a full round trip.
    pub(crate) fn lite_span(&self) -> Result<Span, String> {
        Ok(Span {
            project: self.project.clone(),
            trace_id: TraceId(decode_id(&self.trace_id, "trace id")?),
            span_id: SpanId(decode_id(&self.span_id, "span id")?),
            parent_span_id: match self.parent_span_id.as_str() {
                "" => None,
                p => Some(SpanId(decode_id(p, "parent span id")?)),
            },
            name: self.name.clone(),
            service: self.service.clone(),
            start_unix_nano: self.start_ns,
            end_unix_nano: self.end_ns,
            status: StatusCode::from_code(i64::from(self.status)),
            kind: SpanKind::from_code(i64::from(self.kind)),
            gen_ai: GenAi {
                provider: opt(&self.provider),
                operation: opt(&self.operation),
                request_model: opt(&self.request_model),
                response_model: opt(&self.response_model),
                user_id: opt(&self.user_id),
                session_id: opt(&self.session_id),
                response_id: opt(&self.response_id),
                ..Default::default()
            },
            usage: Usage {
                input: Some(self.input_tokens),
                output: Some(self.output_tokens),
                cache_read: Some(self.cache_read_tokens),
                cache_write: Some(self.cache_write_tokens),
                reasoning: Some(self.reasoning_tokens),
                cache_write_1h: None,
            },
            counts_usage: self.counts_usage != 0,
            cost: self.cost(),
            incomplete: self.incomplete != 0,
            ..Default::default()
        })
    }

    /// The detail as stored (needs a row read with [`ALL_COLUMNS`]): its messages may still
    /// be references ([`SpanDetail::message_refs`]).
    pub(crate) fn detail(&self) -> Result<SpanDetail, String> {
        serde_json::from_str(&self.detail)
            .map_err(|e| format!("span {} detail unreadable: {e}", self.span_id))
    }

    /// The full span, as it was written (needs a row read with [`ALL_COLUMNS`]), its messages
    /// from `bodies`; without `bodies`, the messages the detail refers to are left out and the
    /// attributes stored by their elements read as empty strings (for reads that need neither,
    /// such as re-pricing).
    pub(crate) fn to_span(&self, bodies: Option<&Bodies>) -> Result<Span, String> {
        let mut d = self.detail()?;
        if let Some(bodies) = bodies {
            d.resolve_messages(bodies)
                .map_err(|e| format!("span {}: {e}", self.span_id))?;
        }
        self.span_with(d)
    }

    /// The full span from this row and its detail `d` (messages resolved or left out).
    pub(crate) fn span_with(&self, d: SpanDetail) -> Result<Span, String> {
        let resource: Attributes = if self.resource.is_empty() {
            Attributes::default()
        } else {
            serde_json::from_str(&self.resource)
                .map_err(|e| format!("span {} resource unreadable: {e}", self.span_id))?
        };
        let lite = self.lite_span()?;
        Ok(Span {
            otel_kind: d.otel_kind,
            status_message: d.status_message,
            gen_ai: d.gen_ai,
            usage: d.usage,
            attributes: d.attributes,
            resource_attributes: std::sync::Arc::new(resource),
            scope_name: d.scope_name,
            scope_version: d.scope_version,
            events: d.events,
            links: d.links,
            ..lite
        })
    }
}

/// The rollup of one trace from all its stored rows, given which of them count (see
/// `world.rs` for the counting rule).
///
/// Spans are folded in root-key order, so the result does not depend on arrival order: the root
/// (else the earliest span) names the trace, and the user and session are those of the first
/// span in that order that carries one, which is what `reader.rs` computes in SQL too.
pub(crate) fn summarize(
    trace_id: TraceId,
    rows: &[&SpanRow],
    counted: &[bool],
) -> Result<TraceSummary, String> {
    let mut order: Vec<(&SpanRow, bool)> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (*row, counted.get(i).copied().unwrap_or(false)))
        .collect();
    order.sort_by(|a, b| a.0.root_key.cmp(&b.0.root_key));
    let mut rollup = TraceRollup::new(trace_id);
    for (row, counted) in order {
        let span = row.lite_span()?;
        rollup.add_span(&span);
        if counted {
            rollup.add_usage(&UsageTotals::of_call(&span));
        }
    }
    Ok(rollup.summary)
}

/// Parses a stored trace id.
pub(crate) fn trace_id_of(hex_id: &str) -> Result<TraceId, String> {
    Ok(TraceId(decode_id(hex_id, "trace id")?))
}
