//! Conformance property: statistics answered by a store (from its call rollups, or however it
//! answers) equal the same question computed here from the raw stored spans, on randomized
//! traffic with everything the write path handles: retried deliveries, spans of a trace
//! arriving in many batches and out of order, incomplete copies replaced by complete ones,
//! wrappers whose inner call arrives later, one response reported by spans of two traces, and
//! a cost recomputation. Counts, tokens and costs must be equal; latency quantiles within the
//! sketches' 1 %. Sessions and users likewise equal the same groups computed from the stored
//! traces' summaries.

use super::{assert_quantiles, llm, span, tid, write, T0};
use crate::{
    GroupBy, StatsGroup, StatsQuery, Store, StoredSpan, TraceGroup, TraceGroupBy, TraceGroupQuery,
};
use llmtrace_model::{Money, Span, SpanCost, SpanKind, StatusCode};
use std::collections::BTreeMap;

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const MS: u64 = 1_000_000;
const MINUTE: u64 = 60_000 * MS;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
/// The traffic spans this many milliseconds after `T0` (three days).
const WINDOW_MS: u64 = 3 * 24 * 3_600_000;
const TRACES: u64 = 70;

/// One randomized model call (with its whole shape: model, service, provider, operation,
/// status, usage, cost, duration to the nanosecond).
fn call(r: &mut Rng, trace: u64, id: u64, parent: u64, start_ms: u64) -> Span {
    let model = *r.pick(&[
        Some("gpt-4o"),
        Some("claude-sonnet-4-6"),
        Some("gemini-2.5-pro"),
        None,
    ]);
    let dur_ms = *r.pick(&[0, 1, 7, 120, 950, 4_000, 61_000]) + r.below(50);
    let mut c = llm(
        trace,
        id,
        Some(parent),
        model.unwrap_or("x"),
        r.below(5_000),
        r.below(900),
        start_ms,
        dur_ms,
    );
    if model.is_none() {
        c.gen_ai.request_model = None;
        c.gen_ai.response_model = None;
    }
    let jitter = r.below(MS);
    c.start_unix_nano += jitter;
    c.end_unix_nano += r.below(MS);
    if r.chance(15) {
        c.kind = SpanKind::Embedding;
        c.gen_ai.operation = Some("embeddings".into());
    } else if r.chance(10) {
        c.gen_ai.operation = None;
    }
    c.gen_ai.provider = r
        .pick(&[Some("openai"), Some("anthropic"), None])
        .map(Into::into);
    if r.chance(30) {
        c.service = "batch".into();
    }
    if r.chance(15) {
        c.status = StatusCode::Error;
    }
    if r.chance(10) {
        c.counts_usage = false;
    }
    if r.chance(20) {
        c.usage.reasoning = Some(r.below(300));
        c.usage.cache_write = Some(r.below(100));
    }
    c.cost = match r.below(4) {
        0 => SpanCost {
            unpriced: true,
            ..Default::default()
        },
        1 => SpanCost {
            computed: Some(Money::from_pico(r.below(1_000_000) as i64)),
            reported: Some(Money::from_pico(r.below(2_000_000) as i64)),
            ..Default::default()
        },
        2 => SpanCost::default(),
        _ => SpanCost {
            computed: Some(Money::from_pico(r.below(1_000_000) as i64)),
            price_id: Some("test:price".into()),
            price_effective_from: Some("2026-01-01".into()),
            ..Default::default()
        },
    };
    c
}

/// Deliveries of randomized traffic, shuffled and with repeats, as batches.
fn traffic(r: &mut Rng) -> Vec<Vec<Span>> {
    let mut deliveries: Vec<Span> = Vec::new();
    // Most traces start in a few busy hours, so sessions and users share hours and minutes.
    let busy: Vec<u64> = (0..6).map(|_| r.below(WINDOW_MS)).collect();
    for t in 1..=TRACES {
        let start = if r.chance(65) {
            *r.pick(&busy) + r.below(50 * 60_000)
        } else {
            r.below(WINDOW_MS)
        };
        let mut root = span(t, 1, None, "agent run", start, 70_000);
        if r.chance(80) {
            root.gen_ai.session_id = Some(format!("session-{}", r.below(8)));
        }
        if r.chance(70) {
            root.gen_ai.user_id = Some(format!("user-{}", r.below(5)));
        }
        let (session, user) = (root.gen_ai.session_id.clone(), root.gen_ai.user_id.clone());
        // Often the calls carry them too (so a trace joins its session before its root
        // arrives and moves its start).
        let propagated = r.chance(50);
        deliveries.push(root);
        let mut next_id = 2;
        for _ in 0..1 + r.below(4) {
            let at = start + r.below(60_000);
            let mut c = call(r, t, next_id, 1, at);
            if propagated {
                (c.gen_ai.session_id, c.gen_ai.user_id) = (session.clone(), user.clone());
            }
            let id = next_id;
            next_id += 1;
            if r.chance(10) {
                // The same response reported by a span of another trace.
                let rid = format!("resp-{}", r.below(6));
                c.gen_ai.response_id = Some(rid);
            }
            if r.chance(15) {
                // A wrapper: the provider SDK's own span of the call, inside it.
                let mut inner = call(r, t, next_id, id, at);
                inner.start_unix_nano = c.start_unix_nano;
                inner.end_unix_nano = c.end_unix_nano.max(c.start_unix_nano);
                next_id += 1;
                deliveries.push(inner);
            }
            if r.chance(12) {
                // Exported when it started, completed later.
                let mut started = c.clone();
                started.incomplete = true;
                started.usage = Default::default();
                started.cost = SpanCost::default();
                if r.chance(40) {
                    // Its start as first reported was off (another clock, a retry's restart):
                    // the call's row moves to another bucket when the complete copy arrives.
                    started.start_unix_nano = started
                        .start_unix_nano
                        .saturating_sub(r.below(90) * 1_000_000_000 + 1);
                    started.gen_ai.response_model = None;
                    started.gen_ai.request_model = Some("gpt-4o-preview".into());
                }
                started.end_unix_nano = started.start_unix_nano;
                deliveries.push(started);
            }
            deliveries.push(c);
        }
    }
    // Repeats (retried deliveries), then a shuffle that keeps each incomplete copy before its
    // complete one (the order the write path sees them in).
    for i in 0..deliveries.len() / 8 {
        let pick = (i * 7 + r.below(5) as usize) % deliveries.len();
        let again = deliveries[pick].clone();
        if !again.incomplete {
            deliveries.push(again);
        }
    }
    let mut keyed: Vec<(u64, Span)> = deliveries.into_iter().map(|s| (r.next(), s)).collect();
    keyed.sort_by_key(|(k, _)| *k);
    let mut ordered: Vec<Span> = keyed.into_iter().map(|(_, s)| s).collect();
    for i in 0..ordered.len() {
        if ordered[i].incomplete {
            continue;
        }
        let key = (ordered[i].trace_id, ordered[i].span_id);
        if let Some(j) = (i + 1..ordered.len())
            .find(|j| ordered[*j].incomplete && (ordered[*j].trace_id, ordered[*j].span_id) == key)
        {
            ordered.swap(i, j);
        }
    }
    let mut batches = Vec::new();
    let mut rest = ordered.as_slice();
    while !rest.is_empty() {
        let n = (1 + r.below(40) as usize).min(rest.len());
        let (batch, tail) = rest.split_at(n);
        batches.push(batch.to_vec());
        rest = tail;
    }
    batches
}

/// The statistics of `q` computed from the stored spans: counted model calls, as
/// `TraceReader::stats` defines them, with exact percentiles.
fn expected(spans: &[StoredSpan], q: &StatsQuery) -> Vec<(StatsGroup, Vec<f64>)> {
    type Key = (Option<u64>, Option<String>);
    let mut groups: BTreeMap<Key, (StatsGroup, Vec<f64>)> = BTreeMap::new();
    for stored in spans {
        let sp = &stored.span;
        let in_range = sp.start_unix_nano >= q.since_unix_nano.unwrap_or(0)
            && sp.start_unix_nano < q.until_unix_nano.unwrap_or(u64::MAX);
        if !stored.usage_counted
            || !matches!(sp.kind, SpanKind::Llm | SpanKind::Embedding)
            || !in_range
            || q.service.as_ref().is_some_and(|v| *v != sp.service)
            || q.model.as_deref().is_some_and(|v| Some(v) != sp.model())
            || q.provider
                .as_deref()
                .is_some_and(|v| Some(v) != sp.gen_ai.provider.as_deref())
        {
            continue;
        }
        let key = match q.group_by {
            GroupBy::Model => sp.model().map(String::from),
            GroupBy::Provider => sp.gen_ai.provider.clone(),
            GroupBy::Service => Some(sp.service.clone()),
            GroupBy::Operation => sp.gen_ai.operation.clone(),
        };
        let bucket = q.bucket_of(sp.start_unix_nano);
        let (g, durations) = groups.entry((bucket, key.clone())).or_default();
        g.bucket_start_unix_nano = bucket;
        g.key = key;
        g.calls += 1;
        g.errors += u64::from(sp.status == StatusCode::Error);
        if sp.counts_usage {
            let u = &sp.usage;
            g.input_tokens += u.input.unwrap_or(0);
            g.output_tokens += u.output.unwrap_or(0);
            g.cache_read_tokens += u.cache_read.unwrap_or(0);
            g.cache_write_tokens += u.cache_write.unwrap_or(0);
            g.reasoning_tokens += u.reasoning.unwrap_or(0);
        }
        match sp.cost.reported.or(sp.cost.computed) {
            Some(c) => g.cost_pico += c.pico_usd,
            None if sp.cost.unpriced => g.unpriced_calls += 1,
            None => {}
        }
        durations.push(sp.end_unix_nano.saturating_sub(sp.start_unix_nano) as f64 / 1e6);
    }
    groups
        .into_values()
        .map(|(g, mut d)| {
            d.sort_by(f64::total_cmp);
            let q = [0.5, 0.95, 0.99].map(|q| crate::percentile(&d, q));
            (g, q.to_vec())
        })
        .collect()
}

/// Questions over the traffic: every grouping, open, aligned and ragged ranges, buckets that
/// fit the rollups and one that does not, and filters.
fn questions(r: &mut Rng) -> Vec<StatsQuery> {
    let mut out = Vec::new();
    let end = T0 + WINDOW_MS * MS + 2 * MINUTE;
    for i in 0..48 {
        let group_by = [
            GroupBy::Model,
            GroupBy::Provider,
            GroupBy::Service,
            GroupBy::Operation,
        ][i % 4];
        let (since, until) = match i % 6 {
            0 => (None, None),
            1 => (Some(T0), Some(T0 + 2 * DAY)),
            2 => (Some(T0 + HOUR - r.below(MINUTE)), Some(end)),
            _ => {
                let a = T0 + r.below(WINDOW_MS * MS);
                let b = a + r.below(WINDOW_MS * MS);
                (Some(a), Some(b))
            }
        };
        let bucket = *r.pick(&[
            None,
            Some(MINUTE),
            Some(30 * MINUTE),
            Some(HOUR),
            Some(3 * HOUR),
            Some(DAY),
            Some(7 * DAY),
            Some(45_000 * MS),
        ]);
        let mut q = StatsQuery {
            project: "default".into(),
            group_by,
            since_unix_nano: since,
            until_unix_nano: until,
            bucket_nanos: bucket,
            ..Default::default()
        };
        match r.below(6) {
            0 => q.model = Some("gpt-4o".into()),
            1 => q.service = Some("batch".into()),
            2 => q.provider = Some("openai".into()),
            _ => {}
        }
        out.push(q);
    }
    out
}

async fn stored_traces<S: Store>(s: &S) -> Vec<crate::TraceDetail> {
    let mut traces = Vec::new();
    for t in 1..=TRACES {
        if let Some(d) = s.get_trace("default", tid(t)).await.unwrap() {
            traces.push(d);
        }
    }
    traces
}

/// Sessions or users computed from the stored traces' summaries.
fn expected_groups(traces: &[crate::TraceDetail], q: &TraceGroupQuery) -> Vec<TraceGroup> {
    let mut groups: BTreeMap<String, TraceGroup> = BTreeMap::new();
    for t in traces {
        let s = &t.summary;
        let key = match q.by {
            TraceGroupBy::Session => &s.session_id,
            TraceGroupBy::User => &s.user_id,
        };
        let in_range = s.start_unix_nano >= q.since_unix_nano.unwrap_or(0)
            && s.start_unix_nano < q.until_unix_nano.unwrap_or(u64::MAX);
        let Some(key) = key.clone().filter(|_| in_range) else {
            continue;
        };
        let g = groups.entry(key.clone()).or_insert_with(|| TraceGroup {
            key,
            first_start_unix_nano: u64::MAX,
            ..Default::default()
        });
        if q.by == TraceGroupBy::Session {
            g.user_id = g.user_id.clone().max(s.user_id.clone());
        }
        g.trace_count += 1;
        g.first_start_unix_nano = g.first_start_unix_nano.min(s.start_unix_nano);
        g.last_start_unix_nano = g.last_start_unix_nano.max(s.start_unix_nano);
        g.last_end_unix_nano = g.last_end_unix_nano.max(s.end_unix_nano);
        g.span_count += s.span_count;
        g.llm_call_count += s.llm_call_count;
        g.input_tokens += s.input_tokens;
        g.output_tokens += s.output_tokens;
        g.cache_read_tokens += s.cache_read_tokens;
        g.error_count += s.error_count;
        g.cost_pico += s.cost_pico;
        g.unpriced_span_count += s.unpriced_span_count;
    }
    let mut out: Vec<TraceGroup> = groups.into_values().collect();
    out.sort_by(|a, b| {
        b.last_start_unix_nano
            .cmp(&a.last_start_unix_nano)
            .then_with(|| b.key.cmp(&a.key))
    });
    out.into_iter().skip(q.offset).take(q.limit).collect()
}

/// The `i`th range of start times of the trace questions: open, aligned, then two ragged.
fn trace_range(r: &mut Rng, i: usize) -> (Option<u64>, Option<u64>) {
    match i % 4 {
        0 => (None, None),
        1 => (Some(T0 + 5 * HOUR), Some(T0 + 2 * DAY)),
        _ => {
            let a = T0 + r.below(WINDOW_MS * MS);
            (Some(a), Some(a + r.below(WINDOW_MS * MS)))
        }
    }
}

/// Session and user questions: open, aligned and ragged ranges, pages.
fn group_questions(r: &mut Rng) -> Vec<TraceGroupQuery> {
    let mut out = Vec::new();
    for i in 0..16 {
        let (since, until) = trace_range(r, i);
        out.push(TraceGroupQuery {
            project: "default".into(),
            by: if i % 2 == 0 {
                TraceGroupBy::Session
            } else {
                TraceGroupBy::User
            },
            since_unix_nano: since,
            until_unix_nano: until,
            offset: *r.pick(&[0, 0, 3]),
            limit: *r.pick(&[5, 50]),
        });
    }
    out
}

/// The dashboard's lists: the costliest and longest traces of open, aligned and ragged ranges.
fn top_questions(r: &mut Rng) -> Vec<crate::TraceQuery> {
    let mut out = Vec::new();
    for i in 0..8 {
        let (since, until) = trace_range(r, i);
        out.push(crate::TraceQuery {
            project: "default".into(),
            sort: if i % 2 == 0 {
                crate::TraceSort::Cost
            } else {
                crate::TraceSort::Duration
            },
            since_unix_nano: since,
            until_unix_nano: until,
            limit: *r.pick(&[1, 10]),
            ..Default::default()
        });
    }
    out
}

async fn assert_tops_match<S: Store>(s: &S, questions: &[crate::TraceQuery], phase: &str) {
    let traces = stored_traces(s).await;
    for q in questions {
        let mut want: Vec<crate::TraceSummary> = traces
            .iter()
            .map(|t| t.summary.clone())
            .filter(|t| {
                q.since_unix_nano.is_none_or(|a| t.start_unix_nano >= a)
                    && q.until_unix_nano.is_none_or(|b| t.start_unix_nano < b)
            })
            .collect();
        want.sort_by_key(|t| std::cmp::Reverse((q.sort.key_of(t), t.trace_id)));
        let more = want.len() > q.limit;
        want.truncate(q.limit);
        let got = s.list_traces(q).await.unwrap();
        assert_eq!(got.traces, want, "{phase}: {q:?}");
        assert_eq!(got.next_cursor.is_some(), more, "{phase}: {q:?}");
    }
}

async fn assert_groups_match<S: Store>(s: &S, questions: &[TraceGroupQuery], phase: &str) {
    let traces = stored_traces(s).await;
    for q in questions {
        let got = s.trace_groups(q).await.unwrap();
        assert_eq!(got, expected_groups(&traces, q), "{phase}: {q:?}");
    }
}

async fn assert_stats_match<S: Store>(s: &S, questions: &[StatsQuery], phase: &str) {
    let spans: Vec<StoredSpan> = stored_traces(s)
        .await
        .into_iter()
        .flat_map(|t| t.spans)
        .collect();
    // The models page's unpriced models: every stored call span without a price.
    let mut unpriced: BTreeMap<(String, Option<String>), (u64, u64)> = BTreeMap::new();
    for st in spans.iter().filter(|st| st.span.cost.unpriced) {
        let key = (
            st.span.model().unwrap_or_default().to_string(),
            st.span.gen_ai.provider.clone().filter(|p| !p.is_empty()),
        );
        let e = unpriced.entry(key).or_default();
        e.0 += 1;
        e.1 = e.1.max(st.span.start_unix_nano);
    }
    let mut got: Vec<(String, Option<String>, u64, u64)> = s
        .unpriced_models("default")
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.model, m.provider, m.spans, m.last_seen_unix_nano))
        .collect();
    got.sort();
    let want: Vec<(String, Option<String>, u64, u64)> = unpriced
        .into_iter()
        .map(|((m, p), (n, last))| (m, p, n, last))
        .collect();
    assert_eq!(got, want, "{phase}: unpriced models");
    for q in questions {
        let got = s.stats(q).await.unwrap();
        let want = expected(&spans, q);
        let strip = |g: &StatsGroup| StatsGroup {
            p50_ms: 0.0,
            p95_ms: 0.0,
            p99_ms: 0.0,
            ..g.clone()
        };
        assert_eq!(
            got.iter().map(strip).collect::<Vec<_>>(),
            want.iter().map(|(g, _)| strip(g)).collect::<Vec<_>>(),
            "{phase}: {q:?}"
        );
        for (g, (_, exact)) in got.iter().zip(&want) {
            assert_quantiles(&[g.p50_ms, g.p95_ms, g.p99_ms], exact);
        }
    }
}

/// See the module doc.
pub async fn stats_equal_raw_spans_on_random_traffic<S: Store>(s: &S) {
    stats_equal_raw_spans_when_settled(s, || async {}).await;
}

/// [`stats_equal_raw_spans_on_random_traffic`] for a store that settles its rollups after the
/// writes (ClickHouse folds them in the background): `settle` settles them. Half the traffic is
/// written and settled, then the rest, and every question is asked before and after settling
/// again, so answers mix settled and fresh buckets.
pub async fn stats_equal_raw_spans_when_settled<S, F, Fut>(s: &S, settle: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut r = Rng(0x005E_ED0F_7A11_C0DE);
    let batches = traffic(&mut r);
    let questions = questions(&mut r);
    let group_questions = group_questions(&mut r);
    let top_questions = top_questions(&mut r);
    let half = batches.len() / 2;
    for (i, batch) in batches.into_iter().enumerate() {
        if i == half {
            settle().await;
        }
        write(s, batch).await;
    }
    assert_stats_match(s, &questions, "after ingest").await;
    assert_groups_match(s, &group_questions, "after ingest").await;
    assert_tops_match(s, &top_questions, "after ingest").await;
    settle().await;
    assert_stats_match(s, &questions, "after ingest, settled").await;
    assert_groups_match(s, &group_questions, "after ingest, settled").await;
    assert_tops_match(s, &top_questions, "after ingest, settled").await;
    // New prices: every priced or unpriced call gets a computed cost from its input tokens.
    let pricer: crate::Pricer = std::sync::Arc::new(|sp: &Span| SpanCost {
        computed: sp
            .model()
            .map(|_| Money::from_pico(3 * sp.usage.input.unwrap_or(0) as i64)),
        price_id: sp.model().map(|m| format!("test:{m}")),
        price_effective_from: Some("2026-01-01".into()),
        unpriced: sp.model().is_none(),
        ..Default::default()
    });
    s.recompute_costs(
        &crate::RecomputeRequest {
            project: "default".into(),
            batch_spans: 17,
            ..Default::default()
        },
        pricer,
    )
    .await
    .unwrap();
    assert_stats_match(s, &questions, "after recompute").await;
    assert_groups_match(s, &group_questions, "after recompute").await;
    assert_tops_match(s, &top_questions, "after recompute").await;
    settle().await;
    assert_stats_match(s, &questions, "after recompute, settled").await;
    assert_groups_match(s, &group_questions, "after recompute, settled").await;
    assert_tops_match(s, &top_questions, "after recompute, settled").await;
}
