//! Rules 4 and 5 of the counting rule (`llmtrace_store::TraceRollup`) on the SQLite store:
//! which of the spans carrying one provider response id counts the call (`call_responses`
//! names the owner), and which copy supplies the usage the owner carries (the usage source,
//! also kept in `call_responses`).

use llmtrace_model::{Span, TraceId};
use llmtrace_store::{ResponseClaimKey, UsageAuthority, UsageSourceKey};
use rusqlite::{params, OptionalExtension, Transaction};

/// A stored span counting a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) trace_ref: i64,
    pub(crate) trace_id: TraceId,
    pub(crate) span_key: i64,
    pub(crate) incomplete: bool,
    pub(crate) provider_sdk: bool,
}

/// What a counted call span carrying a provider response id finds in `call_responses`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// No response id (or not a counted call).
    None,
    /// Nobody counts this response yet (or only a span that no longer counts, this span's own
    /// earlier copy, or its wrapper): take it.
    Free,
    /// A preferred span already counts this response: this one does not.
    Lost(Owner),
    /// A span that is not preferred counts this response: this one takes over.
    Displace(Owner),
}

/// The copy of a response that supplies its usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UsageSource {
    pub(crate) key: UsageSourceKey,
    pub(crate) trace_ref: i64,
    pub(crate) span_key: i64,
}

/// A span's claim on its response and the response's usage source so far (when the response
/// is counted by a span that still counts, or by this span's own earlier copy or its wrapper).
#[derive(Debug)]
pub(crate) struct ClaimState {
    pub(crate) claim: Claim,
    pub(crate) source: Option<UsageSource>,
}

/// Decides which of two spans reporting the same provider response counts it, whatever the
/// arrival order, by `llmtrace_store::ResponseClaimKey`, and reads the response's usage source.
pub(crate) fn claim_response(
    tx: &Transaction<'_>,
    pid: i64,
    response_id: &str,
    trace_ref: i64,
    span: &Span,
    trace_id_of: impl Fn(i64) -> rusqlite::Result<Option<TraceId>>,
) -> rusqlite::Result<ClaimState> {
    let span_key = span.span_id.key_i64();
    let owner = tx
        .prepare_cached(
            "SELECT c.trace_ref, c.span_key, s.counted, s.parent_key, s.incomplete, c.provider_sdk, \
             c.usage_source, c.usage_trace_ref, c.usage_span_key \
             FROM call_responses c \
             LEFT JOIN spans s ON s.trace_ref = c.trace_ref AND s.span_key = c.span_key \
             WHERE c.project_id = ?1 AND c.response_id = ?2",
        )?
        .query_row(params![pid, response_id], |r| {
            Ok((
                (r.get::<_, i64>(0)?, r.get::<_, i64>(1)?),
                r.get::<_, Option<bool>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<bool>>(4)?,
                r.get::<_, bool>(5)?,
                (
                    r.get::<_, Option<Vec<u8>>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<i64>>(8)?,
                ),
            ))
        })
        .optional()?;
    let free = ClaimState {
        claim: Claim::Free,
        source: None,
    };
    let Some(((o_ref, o_key), o_counted, o_parent, o_incomplete, o_sdk, stored_source)) = owner
    else {
        return Ok(free);
    };
    let is_self = (o_ref, o_key) == (trace_ref, span_key);
    let is_parent = o_ref == trace_ref && span.parent_span_id.map(|p| p.key_i64()) == Some(o_key);
    if !is_self && o_counted != Some(true) {
        return Ok(free);
    }
    let Some(o_trace) = trace_id_of(o_ref)? else {
        return Ok(free);
    };
    let owner_claim = ResponseClaimKey {
        provider_sdk: u8::from(o_sdk),
        parentless: u8::from(o_parent.is_none()),
        trace_id: o_trace,
        span_key: o_key,
    };
    let source = match stored_source {
        (Some(bytes), Some(s_ref), Some(s_key)) => {
            UsageSourceKey::from_bytes(&bytes).map(|key| UsageSource {
                key,
                trace_ref: s_ref,
                span_key: s_key,
            })
        }
        // Written before usage sources were kept: the owner supplies its own usage.
        _ => Some(UsageSource {
            key: UsageSourceKey {
                authority: if o_sdk {
                    UsageAuthority::ProviderSdk
                } else {
                    UsageAuthority::Instrumentation
                },
                claim: owner_claim,
            },
            trace_ref: o_ref,
            span_key: o_key,
        }),
    };
    if is_self || is_parent {
        // Its own earlier copy, or its wrapper (the nesting rule uncounts it right after). A
        // wrapper stops nest-counting, so it can no longer supply the usage either.
        let source = source.filter(|s| !(is_parent && (s.trace_ref, s.span_key) == (o_ref, o_key)));
        return Ok(ClaimState {
            claim: Claim::Free,
            source,
        });
    }
    let owner = Owner {
        trace_ref: o_ref,
        trace_id: o_trace,
        span_key: o_key,
        incomplete: o_incomplete.unwrap_or(false),
        provider_sdk: o_sdk,
    };
    let claim = if ResponseClaimKey::of(span) < owner_claim {
        Claim::Displace(owner)
    } else {
        Claim::Lost(owner)
    };
    Ok(ClaimState { claim, source })
}

/// Records the owner of a response and its usage source.
pub(crate) fn save_claim(
    tx: &Transaction<'_>,
    pid: i64,
    response_id: &str,
    owner: (i64, i64, bool),
    source: &UsageSource,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO call_responses (project_id, response_id, trace_ref, span_key, provider_sdk, \
         usage_source, usage_trace_ref, usage_span_key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (project_id, response_id) DO UPDATE SET \
         trace_ref = excluded.trace_ref, span_key = excluded.span_key, \
         provider_sdk = excluded.provider_sdk, usage_source = excluded.usage_source, \
         usage_trace_ref = excluded.usage_trace_ref, usage_span_key = excluded.usage_span_key",
    )?
    .execute(params![
        pid,
        response_id,
        owner.0,
        owner.1,
        owner.2,
        source.key.to_bytes().to_vec(),
        source.trace_ref,
        source.span_key
    ])?;
    Ok(())
}

/// The usage and cost columns a counting span takes from its usage source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceUsage {
    pub(crate) counts_usage: bool,
    pub(crate) usage: llmtrace_model::Usage,
    pub(crate) computed_pico: Option<i64>,
    pub(crate) reported_pico: Option<i64>,
    pub(crate) unpriced: bool,
    pub(crate) price_ref: Option<i64>,
}

impl SourceUsage {
    /// The usage columns of a stored span.
    pub(crate) fn load(
        tx: &Transaction<'_>,
        trace_ref: i64,
        span_key: i64,
    ) -> rusqlite::Result<Option<Self>> {
        tx.prepare_cached(
            "SELECT counts_usage, input_tokens, output_tokens, cache_read_tokens, \
             cache_write_tokens, reasoning_tokens, cost_pico, reported_pico, unpriced, price_ref \
             FROM spans WHERE trace_ref = ?1 AND span_key = ?2",
        )?
        .query_row(params![trace_ref, span_key], |r| {
            let n = |i: usize| -> rusqlite::Result<Option<u64>> {
                Ok(r.get::<_, Option<i64>>(i)?
                    .and_then(|v| u64::try_from(v).ok()))
            };
            Ok(SourceUsage {
                counts_usage: r.get(0)?,
                usage: llmtrace_model::Usage {
                    input: n(1)?,
                    output: n(2)?,
                    cache_read: n(3)?,
                    cache_write: n(4)?,
                    reasoning: n(5)?,
                    cache_write_1h: None,
                },
                computed_pico: r.get(6)?,
                reported_pico: r.get(7)?,
                unpriced: r.get(8)?,
                price_ref: r.get(9)?,
            })
        })
        .optional()
    }

    /// The usage and cost of a span of the batch (with its price reference).
    pub(crate) fn of_span(span: &Span, price_ref: Option<i64>) -> Self {
        SourceUsage {
            counts_usage: span.counts_usage,
            usage: span.usage,
            computed_pico: span.cost.computed.map(|m| m.pico_usd),
            reported_pico: span.cost.reported.map(|m| m.pico_usd),
            unpriced: span.cost.unpriced,
            price_ref,
        }
    }

    /// Puts this usage and cost into a span (its price provenance is the reference's).
    pub(crate) fn apply_to(&self, span: &mut Span) {
        span.counts_usage = self.counts_usage;
        span.usage = self.usage;
        span.cost.computed = self.computed_pico.map(llmtrace_model::Money::from_pico);
        span.cost.reported = self.reported_pico.map(llmtrace_model::Money::from_pico);
        span.cost.unpriced = self.unpriced;
    }

    /// Writes this usage and cost into a stored span's columns.
    pub(crate) fn store(
        &self,
        tx: &Transaction<'_>,
        trace_ref: i64,
        span_key: i64,
    ) -> rusqlite::Result<()> {
        let u = &self.usage;
        let i = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
        tx.prepare_cached(
            "UPDATE spans SET counts_usage = ?3, input_tokens = ?4, output_tokens = ?5, \
             cache_read_tokens = ?6, cache_write_tokens = ?7, reasoning_tokens = ?8, \
             cost_pico = ?9, reported_pico = ?10, unpriced = ?11, price_ref = ?12 \
             WHERE trace_ref = ?1 AND span_key = ?2",
        )?
        .execute(params![
            trace_ref,
            span_key,
            self.counts_usage,
            i(u.input),
            i(u.output),
            i(u.cache_read),
            i(u.cache_write),
            i(u.reasoning),
            self.computed_pico,
            self.reported_pico,
            self.unpriced,
            self.price_ref
        ])?;
        Ok(())
    }
}
