//! The conformance suite every store backend must pass (feature `testsuite`).
//!
//! A backend's test calls [`run_all`] with a factory giving a fresh, empty store per case; every
//! case asserts behaviour of the [`crate::SpanWriter`] / [`crate::TraceReader`] contract.

pub mod annotations;
pub mod message_dedup;
pub mod rollup_exactness;
pub mod search_pages;

use crate::{GroupBy, StatsQuery, Store, TraceQuery, WriteBatch};
use llmtrace_model::{
    AttrValue, Message, Money, Span, SpanCost, SpanEvent, SpanId, SpanKind, StatusCode, TraceId,
    Usage,
};
use std::future::Future;

/// Base time of the fixtures: 2026-01-01T00:00:00Z in Unix nanoseconds.
pub const T0: u64 = 1_767_225_600_000_000_000;
const MS: u64 = 1_000_000;

/// A trace id built from a small number.
pub fn tid(n: u64) -> TraceId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    b[8..].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    TraceId(b)
}

/// A span id built from a small number.
pub fn sid(n: u64) -> SpanId {
    SpanId((n + 1).to_be_bytes())
}

/// A plain span of the default project.
pub fn span(
    trace: u64,
    id: u64,
    parent: Option<u64>,
    name: &str,
    start_ms: u64,
    dur_ms: u64,
) -> Span {
    Span {
        project: "default".into(),
        trace_id: tid(trace),
        span_id: sid(id),
        parent_span_id: parent.map(sid),
        name: name.into(),
        service: "svc".into(),
        start_unix_nano: T0 + start_ms * MS,
        end_unix_nano: T0 + (start_ms + dur_ms) * MS,
        ..Default::default()
    }
}

/// A model-call span with usage.
#[allow(clippy::too_many_arguments)]
pub fn llm(
    trace: u64,
    id: u64,
    parent: Option<u64>,
    model: &str,
    input: u64,
    output: u64,
    start_ms: u64,
    dur_ms: u64,
) -> Span {
    let mut s = span(
        trace,
        id,
        parent,
        &format!("chat {model}"),
        start_ms,
        dur_ms,
    );
    s.kind = SpanKind::Llm;
    s.counts_usage = true;
    s.gen_ai.provider = Some("anthropic".into());
    s.gen_ai.operation = Some("chat".into());
    s.gen_ai.request_model = Some(model.into());
    s.gen_ai.response_model = Some(model.into());
    s.usage = Usage {
        input: Some(input),
        output: Some(output),
        cache_read: Some(input / 4),
        cache_write: None,
        cache_write_1h: None,
        reasoning: None,
    };
    s
}

/// A RAG trace: root, retrieve, llm (with messages, attributes, an event), tool.
pub fn rag_trace(trace: u64) -> Vec<Span> {
    let mut root = span(trace, 1, None, "rag_query", 0, 2000);
    root.gen_ai.user_id = Some("user-1".into());
    root.gen_ai.session_id = Some("sess-1".into());
    root.otel_kind = 2;
    let mut retrieve = span(trace, 2, Some(1), "retrieve", 10, 50);
    retrieve.kind = SpanKind::Retriever;
    let mut call = llm(trace, 3, Some(1), "claude-sonnet-4-6", 160, 45, 100, 1500);
    call.gen_ai.input_messages = vec![Message::text("user", "What is in the contract? 合同")];
    call.gen_ai.output_messages = vec![Message::text("assistant", "Three clauses.")];
    call.gen_ai.finish_reasons = vec!["stop".into()];
    call.gen_ai.params.temperature = Some(0.2);
    call.attributes.push(
        "gen_ai.request.model",
        AttrValue::Str("claude-sonnet-4-6".into()),
    );
    call.attributes.push("custom.n", AttrValue::Int(7));
    std::sync::Arc::make_mut(&mut call.resource_attributes)
        .push("service.name", AttrValue::Str("svc".into()));
    call.events.push(SpanEvent {
        time_unix_nano: T0 + 150 * MS,
        name: "first_token".into(),
        attributes: Default::default(),
    });
    let mut tool = span(trace, 4, Some(1), "execute_tool search", 1700, 100);
    tool.kind = SpanKind::Tool;
    tool.status = StatusCode::Error;
    tool.status_message = "tool failed".into();
    vec![root, retrieve, call, tool]
}

async fn write<S: Store>(s: &S, spans: Vec<Span>) -> crate::WriteOutcome {
    s.write(std::sync::Arc::new(WriteBatch {
        spans,
        logs: vec![],
        scores: vec![],
    }))
    .await
    .expect("write")
}

/// The summary of a stored trace of the default project.
async fn summary_of<S: Store>(s: &S, trace: u64) -> crate::TraceSummary {
    s.get_trace("default", tid(trace))
        .await
        .unwrap()
        .unwrap()
        .summary
}

fn q(limit: usize) -> TraceQuery {
    TraceQuery {
        project: "default".into(),
        limit,
        ..Default::default()
    }
}

/// Runs every case, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    round_trip_exact_tree(&make().await).await;
    retries_change_no_total(&make().await).await;
    arrival_order_does_not_matter(&make().await).await;
    nested_call_counted_once_either_order(&make().await).await;
    aggregate_spans_not_counted(&make().await).await;
    list_filters_order_and_cursor(&make().await).await;
    stats_group_and_percentiles(&make().await).await;
    projects_are_isolated(&make().await).await;
    unknown_trace_is_none(&make().await).await;
    costs_roll_up_once_and_reported_wins(&make().await).await;
    cost_sort_and_filter(&make().await).await;
    recompute_updates_exactly_what_changed(&make().await).await;
    scores_attach_to_their_trace_and_replace_by_id(&make().await).await;
    trace_list_filters_by_score(&make().await).await;
    incomplete_spans_are_replaced_once(&make().await).await;
    write_outcome_reports_each_call_once(&make().await).await;
    health_counts_rootless_traces(&make().await).await;
    same_response_in_two_spans_counted_once(&make().await).await;
    usage_comes_from_the_copy_closest_to_the_provider(&make().await).await;
    a_failed_call_counts_once_however_many_spans_fail(&make().await).await;
    extreme_values_never_poison_a_trace(&make().await).await;
    text_search_finds_words_in_any_script(&make().await).await;
    duration_sort_and_cursor(&make().await).await;
    stats_buckets_and_filters(&make().await).await;
    trace_groups_by_session_and_user(&make().await).await;
    newest_first_across_long_ranges(&make().await).await;
    search_pages::search_pages_newest_first_over_many_traces(&make().await).await;
    rollup_exactness::stats_equal_raw_spans_on_random_traffic(&make().await).await;
    annotations::score_aggregates_follow_scores(&make().await).await;
    annotations::trace_list_without_score(&make().await).await;
    annotations::configs_and_datasets_round_trip(&make().await).await;
    annotations::scores_attach_by_response_id(&make().await).await;
    message_dedup::traces_sharing_messages_read_back_identical(&make().await).await;
}

/// One provider response reported by two spans that are not parent and child (the SDK's own
/// span orphaned into a second trace; siblings under a context leak) counts once, in the span
/// with a parent, whatever the arrival order; the metrics see one counted call.
pub async fn same_response_in_two_spans_counted_once<S: Store>(s: &S) {
    use crate::SpanFate::{CountedCall, Stored};
    let with_response = |mut sp: Span, rid: &str| {
        sp.gen_ai.response_id = Some(rid.into());
        sp
    };
    // App trace 100: root + instrumented call; the SDK's span for the same call is trace 101.
    let app = |t| {
        vec![
            span(t, 1, None, "workflow", 0, 2000),
            with_response(
                llm(t, 2, Some(1), "claude-sonnet-4-6", 160, 45, 10, 900),
                "msg_A",
            ),
        ]
    };
    let orphan = |t| {
        with_response(
            llm(t, 1, None, "claude-sonnet-4-6", 160, 45, 12, 880),
            "msg_A",
        )
    };
    let o1 = write(s, app(100)).await;
    let o2 = write(s, vec![orphan(101)]).await;
    assert_eq!(o1.span_fates, vec![Stored, CountedCall]);
    assert_eq!(
        o2.span_fates,
        vec![Stored],
        "the orphan copy is not a new call"
    );
    let calls = |t| async move { summary_of(s, t).await.llm_call_count };
    assert_eq!((calls(100).await, calls(101).await), (1, 0));
    // Orphan first: it counts until the app's span arrives, then stops (in its own trace).
    let with_rid = |t: u64| {
        with_response(
            llm(t, 1, None, "claude-sonnet-4-6", 160, 45, 12, 880),
            "msg_B",
        )
    };
    let o3 = write(s, vec![with_rid(103)]).await;
    assert_eq!(o3.span_fates, vec![CountedCall]);
    let mut app_b = app(102);
    app_b[1].gen_ai.response_id = Some("msg_B".into());
    let o4 = write(s, app_b).await;
    assert_eq!(
        o4.span_fates,
        vec![Stored, Stored],
        "already counted via the orphan"
    );
    assert_eq!((calls(102).await, calls(103).await), (1, 0));
    let t103 = s.get_trace("default", tid(103)).await.unwrap().unwrap();
    assert_eq!(t103.summary.input_tokens, 0);
    assert!(!t103.spans[0].usage_counted);
    // Siblings with one response id in one trace: one call.
    let sib = |id| with_response(llm(104, id, Some(1), "gpt-4o", 100, 10, 10, 50), "resp_C");
    write(s, vec![span(104, 1, None, "batch", 0, 100), sib(3)]).await;
    write(s, vec![sib(2)]).await;
    let d = s.get_trace("default", tid(104)).await.unwrap().unwrap();
    assert_eq!(d.summary.llm_call_count, 1);
    assert_eq!(d.summary.input_tokens, 100);
    // Both copies in one batch (one group commit), orphan first.
    let mut app_d = app(106);
    app_d[1].gen_ai.response_id = Some("msg_D".into());
    let mut orphan_d = orphan(107);
    orphan_d.gen_ai.response_id = Some("msg_D".into());
    let out = write(s, vec![orphan_d, app_d[0].clone(), app_d[1].clone()]).await;
    assert_eq!(out.span_fates, vec![CountedCall, Stored, Stored]);
    assert_eq!((calls(106).await, calls(107).await), (1, 0));
    // The provider SDK's own span (scope com.anthropic.sdk.*) with a dangling parent, in a trace
    // whose id sorts first, loses to the app's span, in either order.
    for (sdk_trace, app_trace, sdk_first) in [(108, 109, true), (110, 111, false)] {
        let rid = format!("msg_sdk_{sdk_trace}");
        let mut native = llm(
            sdk_trace,
            2,
            Some(77),
            "claude-sonnet-4-6",
            160,
            45,
            12,
            880,
        );
        native.scope_name = "com.anthropic.sdk.python".into();
        native.gen_ai.response_id = Some(rid.clone());
        let mut app_spans = app(app_trace);
        app_spans[1].gen_ai.response_id = Some(rid);
        if sdk_first {
            write(s, vec![native]).await;
            write(s, app_spans).await;
        } else {
            write(s, app_spans).await;
            write(s, vec![native]).await;
        }
        assert_eq!(
            (calls(app_trace).await, calls(sdk_trace).await),
            (1, 0),
            "the app's trace keeps the call (SDK span first: {sdk_first})"
        );
    }
    // The same response id in another project is another call.
    let mut other = orphan(105);
    other.project = "team-b".into();
    assert_eq!(write(s, vec![other]).await.span_fates, vec![CountedCall]);
    let stats = s
        .stats(&StatsQuery {
            project: "default".into(),
            group_by: GroupBy::Model,
            since_unix_nano: None,
            until_unix_nano: None,
            ..Default::default()
        })
        .await
        .unwrap();
    let calls_total: u64 = stats.iter().map(|g| g.calls).sum();
    assert_eq!(
        calls_total, 6,
        "msg_A, msg_B, resp_C, msg_D, two SDK cases: {stats:?}"
    );
}

/// One call reported by OpenLLMetry's streamed span (output counted from the chunks: 21) in the
/// app's trace and by the anthropic SDK's own span (the provider's 20) in a trace of its own:
/// the app's trace counts the call with the SDK's usage and cost, in either arrival order, in
/// one batch, and the write that changes a counted call's usage reports it.
pub async fn usage_comes_from_the_copy_closest_to_the_provider<S: Store>(s: &S) {
    let instrumented = |t: u64, rid: &str| {
        let mut app = vec![
            span(t, 1, None, "workflow", 0, 2000),
            llm(t, 2, Some(1), "claude-sonnet-4-6", 160, 21, 10, 900),
        ];
        app[1].scope_name = "opentelemetry.instrumentation.anthropic".into();
        app[1].gen_ai.params.stream = Some(true);
        app[1].gen_ai.response_id = Some(rid.into());
        app[1] = priced(app[1].clone(), 1_000_000);
        app
    };
    let native = |t: u64, rid: &str| {
        let mut sdk = llm(t, 5, Some(77), "claude-sonnet-4-6", 160, 20, 12, 880);
        sdk.scope_name = "com.anthropic.sdk.python".into();
        sdk.gen_ai.params.stream = Some(true);
        sdk.gen_ai.response_id = Some(rid.into());
        priced(sdk, 900_000)
    };
    let totals = |t: u64| async move {
        let d = s.get_trace("default", tid(t)).await.unwrap().unwrap();
        (
            d.summary.llm_call_count,
            d.summary.output_tokens,
            d.summary.cost_pico,
        )
    };
    // SDK span second: the counting span takes its usage, and the write says so.
    let (app_t, sdk_t) = (130, 131);
    write(s, instrumented(app_t, "msg_U1")).await;
    assert_eq!(totals(app_t).await, (1, 21, 1_000_000));
    let out = write(s, vec![native(sdk_t, "msg_U1")]).await;
    assert_eq!(out.span_fates, vec![crate::SpanFate::Stored]);
    assert_eq!(
        totals(app_t).await,
        (1, 20, 900_000),
        "the provider's figure"
    );
    assert_eq!(
        totals(sdk_t).await,
        (0, 0, 0),
        "counted once, in the app's trace"
    );
    let corrected: Vec<_> = out
        .call_corrections
        .iter()
        .map(|c| (c.was.trace_id, c.now.map(|n| n.trace_id), c.usage.output))
        .collect();
    assert_eq!(corrected, vec![(tid(app_t), Some(tid(app_t)), 20)]);
    // The span view of the counting span shows the counted figures.
    let d = s.get_trace("default", tid(app_t)).await.unwrap().unwrap();
    let call = d.spans.iter().find(|sp| sp.usage_counted).unwrap();
    assert_eq!(call.span.usage.output, Some(20));
    // SDK span first, and both in one batch (SDK first): the same totals.
    let (app_t, sdk_t) = (132, 133);
    write(s, vec![native(sdk_t, "msg_U2")]).await;
    write(s, instrumented(app_t, "msg_U2")).await;
    assert_eq!(totals(app_t).await, (1, 20, 900_000));
    assert_eq!(totals(sdk_t).await, (0, 0, 0));
    let (app_t, sdk_t) = (134, 135);
    let mut batch = vec![native(sdk_t, "msg_U3")];
    batch.extend(instrumented(app_t, "msg_U3"));
    write(s, batch).await;
    assert_eq!(totals(app_t).await, (1, 20, 900_000));
    // Instrumented span first in one batch.
    let (app_t, sdk_t) = (136, 137);
    let mut batch = instrumented(app_t, "msg_U4");
    batch.push(native(sdk_t, "msg_U4"));
    write(s, batch).await;
    assert_eq!(totals(app_t).await, (1, 20, 900_000));
    assert_eq!(totals(sdk_t).await, (0, 0, 0));
    // Statistics count each call once with the provider's output.
    let stats = s
        .stats(&StatsQuery {
            project: "default".into(),
            group_by: GroupBy::Model,
            ..Default::default()
        })
        .await
        .unwrap();
    let (calls, output, cost): (u64, u64, i64) = stats.iter().fold((0, 0, 0), |a, g| {
        (a.0 + g.calls, a.1 + g.output_tokens, a.2 + g.cost_pico)
    });
    assert_eq!((calls, output, cost), (4, 80, 3_600_000));
    // A wrapper (output 21) around the chunk-counting span (20), both carrying the response id:
    // the inner call counts, with its own figures, in either order (a wrapper stops
    // nest-counting, so it cannot supply the usage either).
    for (t, wrapper_first) in [(138, true), (139, false)] {
        let rid = format!("msg_U5_{t}");
        let mut wrapper = llm(t, 1, None, "claude-sonnet-4-6", 160, 21, 0, 100);
        wrapper.gen_ai.response_id = Some(rid.clone());
        let mut inner = llm(t, 2, Some(1), "claude-sonnet-4-6", 160, 20, 1, 90);
        inner.gen_ai.response_id = Some(rid);
        inner.scope_name = "opentelemetry.instrumentation.anthropic".into();
        inner.gen_ai.params.stream = Some(true);
        let (wrapper, inner) = (priced(wrapper, 1_000_000), priced(inner, 900_000));
        let order = if wrapper_first {
            [wrapper, inner]
        } else {
            [inner, wrapper]
        };
        for sp in order {
            write(s, vec![sp]).await;
        }
        let summary = summary_of(s, t).await;
        assert_eq!(
            (
                summary.llm_call_count,
                summary.output_tokens,
                summary.cost_pico
            ),
            (1, 20, 900_000),
            "wrapper first: {wrapper_first}"
        );
    }
}

/// One failed provider call marks its agent span, its step span and its call span as errors (the
/// Vercel AI SDK 7) and a wrapper and the SDK's span inside it: `error_count` counts the spans,
/// `failed_call_count` the one call, in either arrival order.
pub async fn a_failed_call_counts_once_however_many_spans_fail<S: Store>(s: &S) {
    let failed = |mut sp: Span| {
        sp.status = StatusCode::Error;
        sp
    };
    let mut agent = failed(span(140, 1, None, "invoke_agent claude", 0, 100));
    agent.kind = SpanKind::Agent;
    let mut step = failed(span(140, 2, Some(1), "step 1", 1, 98));
    step.kind = SpanKind::Agent;
    let wrapper = failed(llm(140, 3, Some(2), "claude-sonnet-4-6", 0, 0, 2, 96));
    let inner = failed(llm(140, 4, Some(3), "claude-sonnet-4-6", 0, 0, 3, 94));
    write(s, vec![inner.clone(), agent.clone()]).await;
    write(s, vec![wrapper.clone(), step.clone()]).await;
    let t = summary_of(s, 140).await;
    assert_eq!(
        (t.error_count, t.failed_call_count, t.llm_call_count),
        (4, 1, 1)
    );
    // The other order: the wrapper counts first, then its inner call takes over.
    let again = |sp: &Span| {
        let mut c = sp.clone();
        c.trace_id = tid(141);
        c
    };
    write(s, vec![again(&wrapper), again(&agent)]).await;
    let t = summary_of(s, 141).await;
    assert_eq!((t.error_count, t.failed_call_count), (2, 1));
    write(s, vec![again(&inner), again(&step)]).await;
    let t = summary_of(s, 141).await;
    assert_eq!(
        (t.error_count, t.failed_call_count, t.llm_call_count),
        (4, 1, 1)
    );
    let listed = s.list_traces(&q(10)).await.unwrap().traces;
    assert!(
        listed.iter().all(|t| t.failed_call_count == 1),
        "{listed:?}"
    );
}

/// Values at the edges (NaN and ±infinity doubles, token counts of `i64::MAX` in several spans
/// of one trace and session, start and end times up to `u64::MAX`, 40 levels of nested arrays,
/// NUL and other odd characters) are stored and read back, and never make
/// their trace, the spans written with them, the trace list, statistics or sessions fail.
pub async fn extreme_values_never_poison_a_trace<S: Store>(s: &S) {
    let mut odd = llm(150, 1, None, "gpt-4o", 10, 1, 0, 10);
    for (k, v) in [
        ("nan", f64::NAN),
        ("inf", f64::INFINITY),
        ("neg_inf", f64::NEG_INFINITY),
    ] {
        odd.attributes.push(k, AttrValue::Double(v));
    }
    odd.events.push(SpanEvent {
        time_unix_nano: T0,
        name: "e".into(),
        attributes: {
            let mut a = llmtrace_model::Attributes::default();
            a.push("x", AttrValue::Double(f64::NAN));
            a
        },
    });
    let huge = |t: u64, id: u64| {
        let mut sp = llm(t, id, None, "gpt-4o", 0, 0, id, 10);
        sp.usage.input = Some(i64::MAX as u64);
        sp.usage.output = Some(i64::MAX as u64);
        sp.usage.cache_read = Some(i64::MAX as u64);
        sp.gen_ai.session_id = Some("sess-huge".into());
        sp.gen_ai.user_id = Some("user-huge".into());
        sp
    };
    let mut late = span(153, 1, None, "far future", 0, 1);
    late.end_unix_nano = u64::MAX;
    // Starting and ending at the last nanosecond u64 holds, with a deeply nested value and odd
    // characters (NUL, a right-to-left mark, an emoji, an unpaired-looking surrogate escape).
    let mut last = span(155, 1, None, "\u{0}\u{200f}🦀 \\ud800", 0, 1);
    last.start_unix_nano = u64::MAX;
    last.end_unix_nano = u64::MAX;
    let mut nested = AttrValue::Int(1);
    for _ in 0..40 {
        nested = AttrValue::Array(vec![nested]);
    }
    last.attributes.push("nested", nested.clone());
    last.attributes
        .push("odd", AttrValue::Str("\u{0}\u{200f}🦀".into()));
    let neighbour = llm(154, 1, None, "gpt-4o", 7, 3, 0, 10);
    write(
        s,
        vec![
            odd,
            huge(151, 1),
            huge(151, 2),
            huge(151, 3),
            huge(152, 1),
            late,
            last,
            neighbour,
        ],
    )
    .await;
    let far = s
        .get_trace("default", tid(155))
        .await
        .unwrap()
        .expect("the u64::MAX trace");
    let far_attrs = &far.spans[0].span.attributes;
    assert_eq!(
        far_attrs.get("nested"),
        Some(&nested),
        "nested value read back"
    );
    assert_eq!(far_attrs.get_str("odd"), Some("\u{0}\u{200f}🦀"));
    let d = s.get_trace("default", tid(150)).await.unwrap().unwrap();
    let attrs = &d.spans[0].span.attributes;
    assert_eq!(attrs.get_str("nan"), Some("NaN"), "{attrs:?}");
    assert_eq!(attrs.get_str("inf"), Some("Infinity"));
    assert_eq!(attrs.get_str("neg_inf"), Some("-Infinity"));
    for t in [151, 152, 153, 154, 155] {
        assert!(
            s.get_trace("default", tid(t)).await.unwrap().is_some(),
            "{t}"
        );
    }
    let t = summary_of(s, 151).await;
    // Sums saturate (at the store's integer range at least).
    assert!(t.input_tokens >= i64::MAX as u64, "{t:?}");
    let n = summary_of(s, 154).await;
    assert_eq!(
        n.input_tokens, 7,
        "a neighbour in the same commit is unharmed"
    );
    assert!(s.list_traces(&q(50)).await.unwrap().traces.len() >= 5);
    s.stats(&StatsQuery {
        project: "default".into(),
        group_by: GroupBy::Model,
        ..Default::default()
    })
    .await
    .expect("statistics over huge counts");
    for by in [crate::TraceGroupBy::Session, crate::TraceGroupBy::User] {
        let groups = s
            .trace_groups(&crate::TraceGroupQuery {
                project: "default".into(),
                by,
                since_unix_nano: None,
                until_unix_nano: None,
                offset: 0,
                limit: 50,
            })
            .await
            .expect("sessions and users over huge counts");
        let g = groups
            .iter()
            .find(|g| g.key.ends_with("-huge"))
            .expect("the huge group");
        assert_eq!(g.trace_count, 2);
        assert!(g.input_tokens >= i64::MAX as u64, "sums saturate: {g:?}");
    }
}

/// Traces without a root span count as orphans once their spans ended before the cut-off;
/// a root arriving later clears them.
pub async fn health_counts_rootless_traces<S: Store>(s: &S) {
    write(s, rag_trace(90)).await;
    write(s, vec![span(91, 2, Some(1), "child", 0, 10)]).await;
    let mut late = span(92, 2, Some(1), "child", 60_000, 10);
    late.project = "team-b".into();
    write(s, vec![late]).await;
    let cut = T0 + 30_000 * MS;
    assert_eq!(s.health(cut).await.unwrap().orphan_traces, 1);
    assert_eq!(s.health(u64::MAX).await.unwrap().orphan_traces, 2);
    write(s, vec![span(91, 1, None, "root", 0, 20)]).await;
    assert_eq!(s.health(u64::MAX).await.unwrap().orphan_traces, 1);
}

/// Each span's fate is reported in batch order; every call is `CountedCall` exactly once across
/// retries, wrapper/inner orders and incomplete-then-complete copies; touched traces come back
/// with their totals after the write.
pub async fn write_outcome_reports_each_call_once<S: Store>(s: &S) {
    use crate::SpanFate::{CountedCall, Duplicate, Stored};
    let wrapper = |t| llm(t, 1, None, "claude-sonnet-4-6", 120, 45, 0, 1000);
    let inner = |t| llm(t, 2, Some(1), "claude-sonnet-4-6", 160, 45, 10, 980);
    let fates = |o: crate::WriteOutcome| o.span_fates;
    // Wrapper first: it is the counted call; the inner one takes over silently.
    assert_eq!(fates(write(s, vec![wrapper(80)]).await), vec![CountedCall]);
    assert_eq!(fates(write(s, vec![inner(80)]).await), vec![Stored]);
    // Inner first: the wrapper never counts.
    assert_eq!(fates(write(s, vec![inner(81)]).await), vec![CountedCall]);
    assert_eq!(fates(write(s, vec![wrapper(81)]).await), vec![Stored]);
    // Both in one batch, plus a retry of both and a plain span.
    let plain = span(82, 3, Some(1), "retrieve", 5, 5);
    let out = write(s, vec![wrapper(82), inner(82), plain.clone()]).await;
    assert_eq!(out.span_fates, vec![CountedCall, Stored, Stored]);
    let out = write(s, vec![inner(82), wrapper(82), plain]).await;
    assert_eq!(out.span_fates, vec![Duplicate, Duplicate, Duplicate]);
    // Incomplete first: counted when its complete copy arrives, once.
    let mut started = llm(83, 1, None, "gpt-4o", 0, 0, 0, 0);
    started.incomplete = true;
    let finished = llm(83, 1, None, "gpt-4o", 100, 20, 0, 900);
    assert_eq!(fates(write(s, vec![started.clone()]).await), vec![Stored]);
    assert_eq!(
        fates(write(s, vec![finished.clone()]).await),
        vec![CountedCall]
    );
    assert_eq!(
        fates(write(s, vec![finished, started]).await),
        vec![Duplicate, Duplicate]
    );
    // Touched traces: each once, with totals after the write, named by project.
    let mut other = llm(84, 1, None, "gpt-4o", 7, 3, 0, 10);
    other.project = "team-b".into();
    let out = write(s, vec![llm(85, 1, None, "gpt-4o", 50, 5, 0, 10), other]).await;
    let mut touched: Vec<(String, TraceId, u64, u64)> = out
        .traces
        .iter()
        .map(|t| {
            (
                t.project.clone(),
                t.summary.trace_id,
                t.summary.input_tokens,
                t.summary.llm_call_count,
            )
        })
        .collect();
    touched.sort();
    let mut want = vec![
        ("default".to_string(), tid(85), 50, 1),
        ("team-b".to_string(), tid(84), 7, 1),
    ];
    want.sort();
    assert_eq!(touched, want);
    let out = write(s, vec![llm(85, 2, None, "gpt-4o", 30, 5, 20, 10)]).await;
    assert_eq!(out.traces.len(), 1);
    assert_eq!(out.traces[0].summary.input_tokens, 80);
    assert_eq!(out.traces[0].summary.llm_call_count, 2);
}

/// A span stored incomplete is replaced by its next copy (totals follow); a complete span is
/// final, so later copies, incomplete or not, change nothing.
pub async fn incomplete_spans_are_replaced_once<S: Store>(s: &S) {
    let root = span(70, 1, None, "agent run", 0, 5000);
    let mut started = priced(llm(70, 2, Some(1), "gpt-4o", 0, 0, 100, 0), 0);
    started.incomplete = true;
    started.usage = Default::default();
    started.status = StatusCode::Error;
    write(s, vec![root, started.clone()]).await;
    let d = s.get_trace("default", tid(70)).await.unwrap().unwrap();
    assert!(d.spans[1].span.incomplete);
    assert_eq!(
        (
            d.summary.span_count,
            d.summary.error_count,
            d.summary.llm_call_count
        ),
        (2, 1, 1)
    );
    let finished = priced(llm(70, 2, Some(1), "gpt-4o", 100, 20, 100, 900), 500);
    let out = write(s, vec![finished.clone()]).await;
    assert_eq!(out.spans_written, 1);
    let d = s.get_trace("default", tid(70)).await.unwrap().unwrap();
    assert_eq!(d.spans[1].span, finished);
    let sum = &d.summary;
    assert_eq!(
        (sum.span_count, sum.error_count, sum.llm_call_count),
        (2, 0, 1)
    );
    assert_eq!(
        (sum.input_tokens, sum.output_tokens, sum.cost_pico),
        (100, 20, 500)
    );
    assert_eq!(sum.end_unix_nano, T0 + 5000 * MS);
    // A complete copy that lacks what the incomplete one had (a LangSmith patch sent after its
    // post) keeps it: name, kind, model, inputs, attributes.
    let mut posted = span(71, 5, Some(1), "ChatAnthropic", 100, 0);
    posted.kind = SpanKind::Llm;
    posted.incomplete = true;
    posted.gen_ai.request_model = Some("claude-sonnet-4-6".into());
    posted.gen_ai.input_messages = vec![Message::text("user", "What is in the contract?")];
    posted
        .attributes
        .push("langsmith.run_type", AttrValue::Str("llm".into()));
    write(s, vec![span(71, 1, None, "chain", 0, 2000), posted]).await;
    let mut patched = span(71, 5, None, "", 100, 800);
    patched.gen_ai.output_messages = vec![Message::text("assistant", "Three clauses.")];
    patched.usage.input = Some(12);
    patched.usage.output = Some(3);
    patched.counts_usage = true;
    let out = write(s, vec![patched]).await;
    assert_eq!(out.span_fates, vec![crate::SpanFate::CountedCall]);
    let d71 = s.get_trace("default", tid(71)).await.unwrap().unwrap();
    let m = &d71
        .spans
        .iter()
        .find(|x| x.span.span_id == sid(5))
        .unwrap()
        .span;
    assert!(!m.incomplete);
    assert_eq!(m.name, "ChatAnthropic");
    assert_eq!(m.kind, SpanKind::Llm);
    assert_eq!(m.parent_span_id, Some(sid(1)));
    assert_eq!(m.end_unix_nano, T0 + 900 * MS);
    assert_eq!(m.gen_ai.request_model.as_deref(), Some("claude-sonnet-4-6"));
    assert_eq!(m.gen_ai.input_messages.len(), 1);
    assert_eq!(m.gen_ai.output_messages.len(), 1);
    assert_eq!(
        m.attributes.get("langsmith.run_type"),
        Some(&AttrValue::Str("llm".into()))
    );
    assert_eq!(d71.summary.input_tokens, 12);
    assert_eq!(d71.summary.llm_call_count, 1);
    // The same two copies in one batch merge the same way (the incomplete copy is stored by the
    // commit that then replaces it).
    let mut posted = span(72, 5, Some(1), "ChatAnthropic", 100, 0);
    posted.kind = SpanKind::Llm;
    posted.incomplete = true;
    posted.gen_ai.request_model = Some("claude-sonnet-4-6".into());
    posted.gen_ai.input_messages = vec![Message::text("user", "Which clauses changed?")];
    let mut patched = span(72, 5, None, "", 100, 700);
    patched.gen_ai.output_messages = vec![Message::text("assistant", "Clause four.")];
    patched.usage.input = Some(9);
    patched.counts_usage = true;
    let out = write(
        s,
        vec![span(72, 1, None, "chain", 0, 2000), posted, patched],
    )
    .await;
    assert_eq!(out.spans_written, 3);
    let d72 = s.get_trace("default", tid(72)).await.unwrap().unwrap();
    let m = &d72
        .spans
        .iter()
        .find(|x| x.span.span_id == sid(5))
        .unwrap()
        .span;
    assert!(!m.incomplete);
    assert_eq!(m.name, "ChatAnthropic");
    assert_eq!(m.gen_ai.request_model.as_deref(), Some("claude-sonnet-4-6"));
    assert_eq!(
        (
            m.gen_ai.input_messages.len(),
            m.gen_ai.output_messages.len()
        ),
        (1, 1)
    );
    assert_eq!(d72.summary.span_count, 2);
    assert_eq!(d72.summary.input_tokens, 9);
    // Final now: neither a retry nor a late incomplete copy changes it.
    let again = write(s, vec![finished, started]).await;
    assert_eq!((again.spans_written, again.spans_duplicate), (0, 2));
    let d2 = s.get_trace("default", tid(70)).await.unwrap().unwrap();
    assert_eq!(d2.summary, d.summary);
}

/// Scores show on their trace; the same id sent again replaces the score; projects are apart.
pub async fn scores_attach_to_their_trace_and_replace_by_id<S: Store>(s: &S) {
    write(s, rag_trace(60)).await;
    let score = |id: &str, value: f64, project: &str| llmtrace_model::Score {
        project: project.into(),
        id: id.into(),
        trace_id: tid(60).to_hex(),
        observation_id: Some(sid(3).to_hex()),
        name: "correctness".into(),
        value: Some(value),
        data_type: "NUMERIC".into(),
        source: "API".into(),
        timestamp_unix_nano: T0 + value as u64,
        ..Default::default()
    };
    let batch = |scores| {
        std::sync::Arc::new(WriteBatch {
            scores,
            ..Default::default()
        })
    };
    let out = s
        .write(batch(vec![
            score("a", 0.5, "default"),
            score("b", 1.0, "default"),
            score("a", 0.9, "team-b"),
        ]))
        .await
        .unwrap();
    assert_eq!(out.scores_written, 3);
    s.write(batch(vec![score("a", 0.7, "default")]))
        .await
        .unwrap();
    let d = s.get_trace("default", tid(60)).await.unwrap().unwrap();
    let got: Vec<(String, Option<f64>)> =
        d.scores.iter().map(|x| (x.id.clone(), x.value)).collect();
    assert_eq!(
        got,
        vec![("a".to_string(), Some(0.7)), ("b".to_string(), Some(1.0))]
    );
    assert_eq!(
        d.scores[0].observation_id.as_deref(),
        Some(sid(3).to_hex().as_str())
    );
}

/// The trace list keeps the traces with a matching score (on the trace or one of its spans):
/// by name, value bounds and label, every filter at once, the latest copy of a replaced score,
/// the project's own scores only.
pub async fn trace_list_filters_by_score<S: Store>(s: &S) {
    for t in 70..74 {
        write(s, rag_trace(t)).await;
    }
    let score = |id: &str, trace: u64, name: &str, value: Option<f64>, label: Option<&str>| {
        llmtrace_model::Score {
            project: "default".into(),
            id: id.into(),
            trace_id: tid(trace).to_hex(),
            observation_id: (trace == 71).then(|| sid(3).to_hex()),
            name: name.into(),
            value,
            string_value: label.map(Into::into),
            data_type: if value.is_some() {
                "NUMERIC"
            } else {
                "CATEGORICAL"
            }
            .into(),
            source: "API".into(),
            timestamp_unix_nano: T0,
            ..Default::default()
        }
    };
    let mut elsewhere = score("x", 73, "helpful", Some(1.0), None);
    elsewhere.project = "team-b".into();
    let batch = |scores| {
        std::sync::Arc::new(WriteBatch {
            scores,
            ..Default::default()
        })
    };
    s.write(batch(vec![
        score("h70", 70, "helpful", Some(1.0), Some("True")),
        score("h71", 71, "helpful", Some(0.0), Some("False")),
        score("t71", 71, "tone", None, Some("polite")),
        score("h72", 72, "helpful", Some(0.2), None),
        elsewhere,
    ]))
    .await
    .unwrap();
    // A replaced score is read as its latest copy: trace 72 is helpful after all.
    s.write(batch(vec![score("h72", 72, "helpful", Some(0.9), None)]))
        .await
        .unwrap();
    let listed = |filters: Vec<crate::ScoreFilter>| async move {
        let mut ids: Vec<TraceId> = s
            .list_traces(&TraceQuery {
                project: "default".into(),
                scores: filters,
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap()
            .traces
            .iter()
            .map(|t| t.trace_id)
            .collect();
        ids.sort();
        ids
    };
    let f =
        |name: &str, min: Option<f64>, max: Option<f64>, label: Option<&str>| crate::ScoreFilter {
            name: name.into(),
            min,
            max,
            label: label.map(Into::into),
        };
    assert_eq!(
        listed(vec![f("helpful", None, None, None)]).await,
        vec![tid(70), tid(71), tid(72)]
    );
    assert_eq!(
        listed(vec![f("helpful", Some(0.5), None, None)]).await,
        vec![tid(70), tid(72)]
    );
    assert_eq!(
        listed(vec![f("helpful", None, Some(0.5), None)]).await,
        vec![tid(71)]
    );
    assert_eq!(
        listed(vec![f("helpful", None, None, Some("True"))]).await,
        vec![tid(70)]
    );
    assert_eq!(
        listed(vec![f("tone", None, None, Some("polite"))]).await,
        vec![tid(71)]
    );
    assert_eq!(
        listed(vec![
            f("tone", None, None, None),
            f("helpful", Some(0.5), None, None)
        ])
        .await,
        Vec::<TraceId>::new(),
        "every filter at once"
    );
    assert_eq!(
        listed(vec![f("tone", Some(0.0), None, None)]).await,
        Vec::<TraceId>::new(),
        "a label-only score has no value"
    );
    assert_eq!(
        listed(vec![f("nosuch", None, None, None)]).await,
        Vec::<TraceId>::new()
    );
}

fn priced(mut s: Span, pico: i64) -> Span {
    s.cost.computed = Some(Money::from_pico(pico));
    s.cost.price_id = Some(format!("test:{}", s.model().unwrap_or("?")));
    s.cost.price_effective_from = Some("2025-01-01".into());
    s
}

/// Trace cost sums counted calls' effective costs: a wrapper's cost is not added, a reported
/// cost wins over the computed one, and an unpriced call is counted, not priced at zero.
pub async fn costs_roll_up_once_and_reported_wins<S: Store>(s: &S) {
    let wrapper = priced(llm(30, 1, None, "claude-sonnet-4-6", 120, 45, 0, 1000), 900);
    let inner = priced(
        llm(30, 2, Some(1), "claude-sonnet-4-6", 160, 45, 10, 900),
        1_000,
    );
    let mut reported = priced(llm(30, 3, None, "gpt-4o", 10, 5, 1200, 100), 50);
    reported.cost.reported = Some(Money::from_pico(70));
    let mut unknown = llm(30, 4, None, "mystery-model", 10, 5, 1400, 100);
    unknown.cost.unpriced = true;
    write(s, vec![inner, unknown]).await;
    write(s, vec![wrapper, reported]).await;
    let d = s.get_trace("default", tid(30)).await.unwrap().unwrap();
    assert_eq!(d.summary.cost_pico, 1_070);
    assert_eq!(d.summary.unpriced_span_count, 1);
    assert_eq!(d.summary.reported_cost_span_count, 1);
    let by_name = |n: u64| d.spans.iter().find(|x| x.span.span_id == sid(n)).unwrap();
    assert_eq!(by_name(3).span.cost.reported, Some(Money::from_pico(70)));
    assert_eq!(by_name(3).span.cost.computed, Some(Money::from_pico(50)));
    assert_eq!(
        by_name(2).span.cost.price_id.as_deref(),
        Some("test:claude-sonnet-4-6")
    );
    assert_eq!(
        by_name(2).span.cost.price_effective_from.as_deref(),
        Some("2025-01-01")
    );
    assert!(by_name(4).span.cost.unpriced);
    let stats = s
        .stats(&StatsQuery {
            project: "default".into(),
            group_by: GroupBy::Model,
            since_unix_nano: None,
            until_unix_nano: None,
            ..Default::default()
        })
        .await
        .unwrap();
    let g = |m: &str| {
        stats
            .iter()
            .find(|g| g.key.as_deref() == Some(m))
            .unwrap()
            .clone()
    };
    assert_eq!(g("claude-sonnet-4-6").cost_pico, 1_000);
    assert_eq!(g("gpt-4o").cost_pico, 70);
    assert_eq!(g("mystery-model").unpriced_calls, 1);
    let unpriced = s.unpriced_models("default").await.unwrap();
    assert_eq!(unpriced.len(), 1);
    assert_eq!(unpriced[0].model, "mystery-model");
    assert_eq!(unpriced[0].spans, 1);
}

/// `sort=cost` walks traces costliest first with a cursor; `min_cost` filters.
pub async fn cost_sort_and_filter<S: Store>(s: &S) {
    for (t, pico) in [(40u64, 500i64), (41, 3_000), (42, 100), (43, 3_000)] {
        write(
            s,
            vec![priced(llm(t, 1, None, "gpt-4o", 1, 1, t, 10), pico)],
        )
        .await;
    }
    let mut query = TraceQuery {
        sort: crate::TraceSort::Cost,
        ..q(2)
    };
    let mut seen = Vec::new();
    loop {
        let page = s.list_traces(&query).await.unwrap();
        seen.extend(page.traces.iter().map(|t| (t.trace_id, t.cost_pico)));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    let costs: Vec<i64> = seen.iter().map(|x| x.1).collect();
    assert_eq!(costs, vec![3_000, 3_000, 500, 100]);
    let filtered = s
        .list_traces(&TraceQuery {
            min_cost_pico: Some(500),
            ..q(10)
        })
        .await
        .unwrap();
    assert_eq!(filtered.traces.len(), 3);
}

/// Recomputing with a new price changes exactly the affected spans and their traces; twice in
/// a row changes nothing more; a dry run writes nothing; reported costs stay.
pub async fn recompute_updates_exactly_what_changed<S: Store>(s: &S) {
    let mut reported = priced(llm(50, 1, None, "gpt-4o", 10, 10, 0, 10), 100);
    reported.cost.reported = Some(Money::from_pico(999));
    let gpt = priced(llm(51, 1, None, "gpt-4o", 10, 10, 0, 10), 100);
    let claude = priced(llm(52, 1, None, "claude-sonnet-4-6", 10, 10, 0, 10), 100);
    let mut unknown = llm(53, 1, None, "mystery-model", 10, 10, 0, 10);
    unknown.cost.unpriced = true;
    write(s, vec![reported, gpt, claude, unknown]).await;
    // The new price table: gpt-4o costs 7 pico per input token, and mystery-model is now known.
    let pricer: crate::Pricer = std::sync::Arc::new(|sp: &Span| match sp.model() {
        Some("gpt-4o") => SpanCost {
            computed: Some(Money::from_pico(7 * sp.usage.input.unwrap_or(0) as i64)),
            price_id: Some("test:gpt-4o".into()),
            price_effective_from: Some("2026-01-01".into()),
            ..Default::default()
        },
        Some("mystery-model") => SpanCost {
            computed: Some(Money::from_pico(5)),
            price_id: Some("test:mystery".into()),
            price_effective_from: Some("2026-01-01".into()),
            ..Default::default()
        },
        Some(m) => SpanCost {
            computed: Some(Money::from_pico(100)),
            price_id: Some(format!("test:{m}")),
            price_effective_from: Some("2025-01-01".into()),
            ..Default::default()
        },
        None => SpanCost::default(),
    });
    let req = |dry_run| crate::RecomputeRequest {
        project: "default".into(),
        dry_run,
        batch_spans: 2,
        ..Default::default()
    };
    let dry = s.recompute_costs(&req(true), pricer.clone()).await.unwrap();
    assert_eq!(dry.spans_examined, 4);
    assert_eq!(dry.spans_changed, 3);
    assert_eq!(summary_of(s, 51).await.cost_pico, 100);
    let first = s
        .recompute_costs(&req(false), pricer.clone())
        .await
        .unwrap();
    assert_eq!(first, dry);
    assert_eq!(first.total_before, Money::from_pico(999 + 100 + 100));
    assert_eq!(first.total_after, Money::from_pico(999 + 70 + 100 + 5));
    assert_eq!((first.unpriced_before, first.unpriced_after), (1, 0));
    let t = |n| async move { s.get_trace("default", tid(n)).await.unwrap().unwrap() };
    assert_eq!(
        t(50).await.summary.cost_pico,
        999,
        "reported cost still wins"
    );
    assert_eq!(
        t(50).await.spans[0].span.cost.computed,
        Some(Money::from_pico(70))
    );
    assert_eq!(t(51).await.summary.cost_pico, 70);
    assert_eq!(
        t(51).await.spans[0]
            .span
            .cost
            .price_effective_from
            .as_deref(),
        Some("2026-01-01")
    );
    assert_eq!(t(52).await.summary.cost_pico, 100);
    assert_eq!(
        (
            t(53).await.summary.cost_pico,
            t(53).await.summary.unpriced_span_count
        ),
        (5, 0)
    );
    let again = s
        .recompute_costs(&req(false), pricer.clone())
        .await
        .unwrap();
    assert_eq!(again.spans_changed, 0);
    assert_eq!(again.total_before, again.total_after);
    let only = s
        .recompute_costs(
            &crate::RecomputeRequest {
                model: Some("claude-sonnet-4-6".into()),
                ..req(false)
            },
            pricer,
        )
        .await
        .unwrap();
    assert_eq!(only.spans_examined, 1);
}

/// Every field of every span comes back as written, in start order.
pub async fn round_trip_exact_tree<S: Store>(s: &S) {
    let spans = rag_trace(1);
    let out = write(s, spans.clone()).await;
    assert_eq!(out.spans_written, 4);
    let d = s
        .get_trace("default", tid(1))
        .await
        .unwrap()
        .expect("trace");
    assert_eq!(d.spans.len(), 4);
    for (got, want) in d.spans.iter().zip(&spans) {
        assert_eq!(&got.span, want, "span {} differs", want.name);
    }
    assert!(d.spans[2].usage_counted);
    assert!(!d.spans[0].usage_counted);
    let sum = &d.summary;
    assert_eq!(sum.root_name, "rag_query");
    assert!(sum.has_root);
    assert_eq!(sum.span_count, 4);
    assert_eq!(sum.llm_call_count, 1);
    assert_eq!(
        (sum.input_tokens, sum.output_tokens, sum.cache_read_tokens),
        (160, 45, 40)
    );
    assert_eq!(sum.error_count, 1);
    assert_eq!(sum.start_unix_nano, T0);
    assert_eq!(sum.end_unix_nano, T0 + 2000 * MS);
    assert_eq!(sum.user_id.as_deref(), Some("user-1"));
    assert_eq!(sum.session_id.as_deref(), Some("sess-1"));
}

/// The same spans sent again change nothing and are reported as duplicates.
pub async fn retries_change_no_total<S: Store>(s: &S) {
    write(s, rag_trace(2)).await;
    let before = s.get_trace("default", tid(2)).await.unwrap().unwrap();
    let again = write(s, rag_trace(2)).await;
    assert_eq!((again.spans_written, again.spans_duplicate), (0, 4));
    let after = s.get_trace("default", tid(2)).await.unwrap().unwrap();
    assert_eq!(before, after);
    let page = s.list_traces(&q(10)).await.unwrap();
    assert_eq!(page.traces.len(), 1);
}

/// Children first, in three writes, give the same summary as one write.
pub async fn arrival_order_does_not_matter<S: Store>(s: &S) {
    write(s, rag_trace(3)).await;
    let mut spans: Vec<Span> = rag_trace(4);
    spans.reverse();
    write(s, vec![spans[0].clone()]).await;
    write(s, vec![spans[1].clone(), spans[2].clone()]).await;
    write(s, vec![spans[3].clone()]).await;
    let one = summary_of(s, 3).await;
    let three = summary_of(s, 4).await;
    assert_eq!(three.trace_id, tid(4));
    assert_eq!(
        crate::TraceSummary {
            trace_id: tid(3),
            ..three
        },
        one
    );
}

/// A call span wrapping the SDK's own call span counts once, whichever arrives first.
pub async fn nested_call_counted_once_either_order<S: Store>(s: &S) {
    let wrapper = |t| llm(t, 1, None, "claude-sonnet-4-6", 120, 45, 0, 1000);
    let inner = |t| llm(t, 2, Some(1), "claude-sonnet-4-6", 160, 45, 10, 980);
    write(s, vec![wrapper(10)]).await;
    write(s, vec![inner(10)]).await;
    write(s, vec![inner(11)]).await;
    write(s, vec![wrapper(11)]).await;
    write(s, vec![wrapper(12), inner(12)]).await;
    for t in [10, 11, 12] {
        let d = s.get_trace("default", tid(t)).await.unwrap().unwrap();
        assert_eq!(d.summary.llm_call_count, 1, "trace {t}");
        assert_eq!(d.summary.input_tokens, 160, "trace {t}");
        assert_eq!(d.summary.output_tokens, 45, "trace {t}");
        let counted: Vec<bool> = d.spans.iter().map(|s| s.usage_counted).collect();
        assert_eq!(counted, vec![false, true], "trace {t}");
    }
    let stats = s
        .stats(&StatsQuery {
            project: "default".into(),
            group_by: GroupBy::Model,
            since_unix_nano: None,
            until_unix_nano: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].calls, 3);
    assert_eq!(stats[0].input_tokens, 480);
}

/// An agent span repeating its children's usage adds nothing.
pub async fn aggregate_spans_not_counted<S: Store>(s: &S) {
    let mut agent = llm(20, 1, None, "gpt-4o", 300, 90, 0, 3000);
    agent.kind = SpanKind::Agent;
    agent.counts_usage = false;
    let a = llm(20, 2, Some(1), "gpt-4o", 100, 30, 10, 900);
    let b = llm(20, 3, Some(1), "gpt-4o", 200, 60, 1000, 1900);
    write(s, vec![agent, a, b]).await;
    let sum = summary_of(s, 20).await;
    assert_eq!(
        (sum.llm_call_count, sum.input_tokens, sum.output_tokens),
        (2, 300, 90)
    );
}

/// Newest first, filters, and a cursor that walks every trace once.
pub async fn list_filters_order_and_cursor<S: Store>(s: &S) {
    for t in 0..7u64 {
        let mut spans = vec![
            span(100 + t, 1, None, "root", t * 1000, 100 + t * 100),
            llm(
                100 + t,
                2,
                Some(1),
                if t % 2 == 0 {
                    "gpt-4o"
                } else {
                    "claude-sonnet-4-6"
                },
                10,
                5,
                t * 1000 + 1,
                50,
            ),
        ];
        if t == 4 {
            spans[1].gen_ai.response_model = Some("gpt-4o-2024-08-06".into());
        }
        if t == 3 {
            spans[0].status = StatusCode::Error;
            spans[0].service = "other-svc".into();
            spans[1].gen_ai.provider = Some("openai".into());
            spans[0].gen_ai.user_id = Some("alice".into());
            spans[0].gen_ai.session_id = Some("s-3".into());
        }
        write(s, spans).await;
    }
    let all = s.list_traces(&q(100)).await.unwrap();
    let ids: Vec<TraceId> = all.traces.iter().map(|t| t.trace_id).collect();
    assert_eq!(
        ids,
        (0..7u64).rev().map(|t| tid(100 + t)).collect::<Vec<_>>()
    );
    assert_eq!(all.next_cursor, None);

    let mut seen = Vec::new();
    let mut query = q(3);
    loop {
        let page = s.list_traces(&query).await.unwrap();
        assert!(page.traces.len() <= 3);
        seen.extend(page.traces.iter().map(|t| t.trace_id));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let count = |f: TraceQuery| async move { s.list_traces(&f).await.unwrap().traces.len() };
    assert_eq!(
        count(TraceQuery {
            model: Some("gpt-4o".into()),
            ..q(100)
        })
        .await,
        4
    );
    assert_eq!(
        count(TraceQuery {
            model: Some("gpt-4".into()),
            ..q(100)
        })
        .await,
        0
    );
    assert_eq!(
        count(TraceQuery {
            provider: Some("openai".into()),
            ..q(100)
        })
        .await,
        1
    );
    assert_eq!(
        count(TraceQuery {
            service: Some("other-svc".into()),
            ..q(100)
        })
        .await,
        1
    );
    assert_eq!(
        count(TraceQuery {
            errors_only: true,
            ..q(100)
        })
        .await,
        1
    );
    assert_eq!(
        count(TraceQuery {
            user_id: Some("alice".into()),
            ..q(100)
        })
        .await,
        1
    );
    assert_eq!(
        count(TraceQuery {
            session_id: Some("s-3".into()),
            ..q(100)
        })
        .await,
        1
    );
    assert_eq!(
        count(TraceQuery {
            since_unix_nano: Some(T0 + 2000 * MS),
            until_unix_nano: Some(T0 + 5000 * MS),
            ..q(100)
        })
        .await,
        3
    );
    assert_eq!(
        count(TraceQuery {
            min_duration_nanos: Some(500 * MS),
            ..q(100)
        })
        .await,
        3
    );
}

/// Stats group counted calls and give nearest-rank latency percentiles.
pub async fn stats_group_and_percentiles<S: Store>(s: &S) {
    let mut spans = Vec::new();
    for i in 0..100u64 {
        let mut c = llm(200 + i, 1, None, "gpt-4o", 10, 2, i, i + 1);
        if i < 5 {
            c.status = StatusCode::Error;
        }
        spans.push(c);
    }
    spans.push(llm(300, 1, None, "claude-sonnet-4-6", 100, 20, 0, 10));
    write(s, spans).await;
    let stats = s
        .stats(&StatsQuery {
            project: "default".into(),
            group_by: GroupBy::Model,
            since_unix_nano: Some(T0),
            until_unix_nano: None,
            ..Default::default()
        })
        .await
        .unwrap();
    let g = stats
        .iter()
        .find(|g| g.key.as_deref() == Some("gpt-4o"))
        .unwrap();
    assert_eq!(
        (g.calls, g.errors, g.input_tokens, g.output_tokens),
        (100, 5, 1000, 200)
    );
    assert_quantiles(&[g.p50_ms, g.p95_ms, g.p99_ms], &[50.0, 95.0, 99.0]);
    let c = stats
        .iter()
        .find(|g| g.key.as_deref() == Some("claude-sonnet-4-6"))
        .unwrap();
    assert_eq!((c.calls, c.cache_read_tokens), (1, 25));
    let by_provider = s
        .stats(&StatsQuery {
            project: "default".into(),
            group_by: GroupBy::Provider,
            since_unix_nano: Some(T0 + 50 * MS),
            until_unix_nano: Some(T0 + 60 * MS),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_provider.len(), 1);
    assert_eq!(by_provider[0].calls, 10);
}

/// A trace stored in one project is invisible in another, even under the same ids.
pub async fn projects_are_isolated<S: Store>(s: &S) {
    let mut other = rag_trace(400);
    for sp in &mut other {
        sp.project = "team-b".into();
    }
    write(s, other).await;
    assert!(s.get_trace("default", tid(400)).await.unwrap().is_none());
    write(s, rag_trace(400)).await;
    let b = s.get_trace("team-b", tid(400)).await.unwrap().unwrap();
    assert_eq!(b.summary.span_count, 4);
    assert_eq!(b.spans[0].span.project, "team-b");
    assert_eq!(s.list_traces(&q(10)).await.unwrap().traces.len(), 1);
}

/// An unknown trace is `None`, not an error.
pub async fn unknown_trace_is_none<S: Store>(s: &S) {
    assert!(s.get_trace("default", tid(999)).await.unwrap().is_none());
    assert!(s.get_trace("nope", tid(999)).await.unwrap().is_none());
    assert!(s
        .list_traces(&TraceQuery {
            project: "nope".into(),
            ..q(5)
        })
        .await
        .unwrap()
        .traces
        .is_empty());
}

/// Ids of every trace a query finds, following cursors.
async fn all_ids<S: Store>(s: &S, mut query: TraceQuery) -> Vec<TraceId> {
    let mut out = Vec::new();
    loop {
        let page = s.list_traces(&query).await.unwrap();
        out.extend(page.traces.iter().map(|t| t.trace_id));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return out,
        }
    }
}

/// Full-text search finds a trace by a word (or word start) of a prompt or completion of one of
/// its spans, in Latin, Chinese and Arabic script; every word must occur in the same span;
/// span names, other projects and words inside words do not match; an incomplete span replaced
/// by its complete copy is found by the text of both, and no longer by a prompt the complete
/// copy replaced (also when the copy moved the span's start).
pub async fn text_search_finds_words_in_any_script<S: Store>(s: &S) {
    let with_text = |trace: u64, input: &str, output: &str| {
        let mut c = llm(trace, 2, Some(1), "gpt-4o", 10, 2, trace, 5);
        c.gen_ai.input_messages = vec![Message::text("user", input)];
        if !output.is_empty() {
            c.gen_ai.output_messages = vec![Message::text("assistant", output)];
        }
        vec![span(trace, 1, None, "weather request", trace, 10), c]
    };
    let mut spans = Vec::new();
    spans.extend(with_text(
        81,
        "What's the weather in Paris?",
        "Sunny, 21 degrees.",
    ));
    spans.extend(with_text(82, "用中文回答：今天天气很好吗？", "是的。"));
    spans.extend(with_text(83, "ما هو الطقس اليوم في القاهرة؟", ""));
    spans.extend(with_text(84, "Summarize the contract", "Three clauses."));
    let mut other = with_text(85, "weather in Paris", "");
    for sp in &mut other {
        sp.project = "other".into();
    }
    spans.extend(other);
    // A tool span whose content is in its tool-call arguments.
    let mut tool_call = llm(86, 1, None, "gpt-4o", 1, 1, 86, 5);
    tool_call.gen_ai.output_messages = vec![llmtrace_model::Message {
        role: "assistant".into(),
        parts: vec![llmtrace_model::MessagePart::ToolCall {
            id: Some("call_1".into()),
            name: "lookup_flight".into(),
            arguments: Some(serde_json::json!({"destination": "Reykjavík"})),
        }],
        name: None,
        finish_reason: None,
    }];
    spans.push(tool_call);
    write(s, spans).await;
    // An incomplete copy with the prompt, replaced by the complete copy with the answer.
    let mut started = llm(87, 1, None, "gpt-4o", 0, 0, 87, 0);
    started.incomplete = true;
    started.gen_ai.input_messages = vec![Message::text("user", "draft the alpha plan")];
    write(s, vec![started]).await;
    let mut finished = llm(87, 1, None, "gpt-4o", 5, 5, 87, 50);
    finished.gen_ai.output_messages = vec![Message::text("assistant", "omega plan ready")];
    write(s, vec![finished]).await;
    // Its prompt replaced by the complete copy, which starts later.
    let mut draft = llm(88, 1, None, "gpt-4o", 0, 0, 88, 0);
    draft.incomplete = true;
    draft.gen_ai.input_messages = vec![Message::text("user", "draft the gamma plan")];
    write(s, vec![draft]).await;
    let mut sent = llm(88, 1, None, "gpt-4o", 5, 5, 89, 50);
    sent.gen_ai.input_messages = vec![Message::text("user", "final delta plan")];
    write(s, vec![sent]).await;

    let find = |text: &str| {
        let query = TraceQuery {
            text: Some(text.into()),
            ..q(2)
        };
        async move {
            let mut ids = all_ids(s, query).await;
            ids.sort();
            ids
        }
    };
    assert_eq!(find("weather").await, vec![tid(81)]);
    assert_eq!(find("WEATH").await, vec![tid(81)]);
    assert_eq!(
        find("paris sunny").await,
        vec![tid(81)],
        "input and output of one span"
    );
    assert_eq!(find("weather london").await, Vec::<TraceId>::new());
    assert_eq!(find("eather").await, Vec::<TraceId>::new(), "inside a word");
    assert_eq!(
        find("request").await,
        Vec::<TraceId>::new(),
        "span names are not content"
    );
    assert_eq!(find("天气").await, vec![tid(82)]);
    assert_eq!(find("天气 是的").await, vec![tid(82)]);
    assert_eq!(find("气天").await, Vec::<TraceId>::new());
    assert_eq!(find("الطقس").await, vec![tid(83)]);
    assert_eq!(find("reykjav").await, vec![tid(86)]);
    assert_eq!(find("lookup").await, vec![tid(86)]);
    assert_eq!(find("alpha").await, vec![tid(87)]);
    assert_eq!(find("omega").await, vec![tid(87)]);
    assert_eq!(find("alpha omega").await, vec![tid(87)]);
    assert_eq!(find("delta").await, vec![tid(88)]);
    assert_eq!(
        find("gamma").await,
        Vec::<TraceId>::new(),
        "a replaced prompt"
    );
    // Combined with another filter and with pagination (2 per page).
    let mut both = find("the").await;
    both.sort();
    assert_eq!(both, vec![tid(81), tid(84), tid(87)]);
    let narrowed = all_ids(
        s,
        TraceQuery {
            text: Some("the".into()),
            since_unix_nano: Some(T0 + 84 * MS),
            ..q(1)
        },
    )
    .await;
    assert_eq!(narrowed, vec![tid(87), tid(84)]);
    // Punctuation only: no words, no filter.
    assert_eq!(
        all_ids(
            s,
            TraceQuery {
                text: Some(" ?! ".into()),
                ..q(100)
            }
        )
        .await
        .len(),
        7
    );
    let other = s
        .list_traces(&TraceQuery {
            project: "other".into(),
            text: Some("weather".into()),
            ..q(10)
        })
        .await
        .unwrap();
    assert_eq!(other.traces.len(), 1);
}

/// Sorting by duration gives the longest traces first, across pages.
pub async fn duration_sort_and_cursor<S: Store>(s: &S) {
    for (t, dur) in [(90u64, 100u64), (91, 300), (92, 200), (93, 300), (94, 50)] {
        write(s, vec![span(t, 1, None, "op", t, dur)]).await;
    }
    let ids = all_ids(
        s,
        TraceQuery {
            sort: crate::TraceSort::Duration,
            ..q(2)
        },
    )
    .await;
    assert_eq!(ids, vec![tid(93), tid(91), tid(92), tid(90), tid(94)]);
    // A later span lengthens a trace and moves it up.
    write(s, vec![span(94, 2, Some(1), "late", 94, 1000)]).await;
    let page = s
        .list_traces(&TraceQuery {
            sort: crate::TraceSort::Duration,
            ..q(1)
        })
        .await
        .unwrap();
    assert_eq!(page.traces[0].trace_id, tid(94));
}

/// Stats in time buckets (aligned to the epoch), filtered by service, model and provider.
pub async fn stats_buckets_and_filters<S: Store>(s: &S) {
    const SEC: u64 = 1000;
    let mut spans = Vec::new();
    // Bucket 0: 3 gpt-4o calls (one error); bucket 1: 1 gpt-4o, 2 claude; bucket 3: 1 claude.
    for (i, (at, model)) in [
        (0, "gpt-4o"),
        (100, "gpt-4o"),
        (900, "gpt-4o"),
        (SEC + 10, "gpt-4o"),
        (SEC + 20, "claude-sonnet-4-6"),
        (SEC + 999, "claude-sonnet-4-6"),
        (3 * SEC, "claude-sonnet-4-6"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = llm(
            100 + i as u64,
            1,
            None,
            model,
            10,
            1,
            at,
            10 * (i as u64 + 1),
        );
        if i == 1 {
            c.status = StatusCode::Error;
        }
        if model.starts_with("gpt") {
            c.gen_ai.provider = Some("openai".into());
        }
        if i == 6 {
            c.service = "batch".into();
        }
        spans.push(c);
    }
    write(s, spans).await;
    let base = StatsQuery {
        project: "default".into(),
        group_by: GroupBy::Model,
        since_unix_nano: Some(T0),
        until_unix_nano: Some(T0 + 10 * SEC * MS),
        bucket_nanos: Some(SEC * MS),
        ..Default::default()
    };
    let got = s.stats(&base).await.unwrap();
    let rows: Vec<(u64, Option<&str>, u64, u64)> = got
        .iter()
        .map(|g| {
            (
                (g.bucket_start_unix_nano.unwrap() - T0) / MS,
                g.key.as_deref(),
                g.calls,
                g.errors,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (0, Some("gpt-4o"), 3, 1),
            (SEC, Some("claude-sonnet-4-6"), 2, 0),
            (SEC, Some("gpt-4o"), 1, 0),
            (3 * SEC, Some("claude-sonnet-4-6"), 1, 0),
        ]
    );
    assert_quantiles(&[got[0].p50_ms, got[0].p99_ms], &[20.0, 30.0]);
    assert_eq!(got[0].input_tokens, 30);
    let only = |f: fn(&mut StatsQuery)| {
        let mut q = base.clone();
        f(&mut q);
        async move {
            s.stats(&q)
                .await
                .unwrap()
                .iter()
                .map(|g| g.calls)
                .sum::<u64>()
        }
    };
    assert_eq!(only(|q| q.service = Some("batch".into())).await, 1);
    assert_eq!(
        only(|q| q.model = Some("claude-sonnet-4-6".into())).await,
        3
    );
    assert_eq!(only(|q| q.provider = Some("openai".into())).await, 4);
    assert_eq!(only(|q| q.service = Some("nope".into())).await, 0);
    // Without buckets: one group per key, no bucket.
    let plain = s
        .stats(&StatsQuery {
            bucket_nanos: None,
            ..base.clone()
        })
        .await
        .unwrap();
    assert_eq!(plain.len(), 2);
    assert!(plain.iter().all(|g| g.bucket_start_unix_nano.is_none()));
}

/// Traces grouped by session and by user, with their totals, most recently active first.
pub async fn trace_groups_by_session_and_user<S: Store>(s: &S) {
    use crate::{TraceGroupBy, TraceGroupQuery};
    let traced = |t: u64, at: u64, session: Option<&str>, user: Option<&str>, pico: i64| {
        let mut root = span(t, 1, None, "turn", at, 100);
        root.gen_ai.session_id = session.map(Into::into);
        root.gen_ai.user_id = user.map(Into::into);
        let mut call = priced(llm(t, 2, Some(1), "gpt-4o", 100, 10, at + 1, 50), pico);
        if t == 112 {
            call.status = StatusCode::Error;
        }
        vec![root, call]
    };
    let mut spans = Vec::new();
    spans.extend(traced(110, 0, Some("s-1"), Some("u-1"), 100));
    spans.extend(traced(111, 1000, Some("s-2"), Some("u-2"), 200));
    spans.extend(traced(112, 2000, Some("s-1"), Some("u-1"), 300));
    spans.extend(traced(113, 3000, None, Some("u-2"), 400));
    spans.extend(traced(114, 4000, None, None, 500));
    let mut elsewhere = traced(115, 5000, Some("s-1"), Some("u-1"), 600);
    for sp in &mut elsewhere {
        sp.project = "other".into();
    }
    spans.extend(elsewhere);
    write(s, spans).await;
    let query = |by, since: Option<u64>, offset, limit| TraceGroupQuery {
        project: "default".into(),
        by,
        since_unix_nano: since.map(|ms| T0 + ms * MS),
        until_unix_nano: None,
        offset,
        limit,
    };
    let sessions = s
        .trace_groups(&query(TraceGroupBy::Session, None, 0, 10))
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2);
    let s1 = &sessions[0];
    assert_eq!(s1.key, "s-1");
    assert_eq!(s1.user_id.as_deref(), Some("u-1"));
    assert_eq!(
        (
            s1.trace_count,
            s1.span_count,
            s1.llm_call_count,
            s1.error_count
        ),
        (2, 4, 2, 1)
    );
    assert_eq!(
        (
            s1.input_tokens,
            s1.output_tokens,
            s1.cache_read_tokens,
            s1.cost_pico
        ),
        (200, 20, 50, 400)
    );
    assert_eq!(s1.first_start_unix_nano, T0);
    assert_eq!(s1.last_start_unix_nano, T0 + 2000 * MS);
    assert_eq!(s1.last_end_unix_nano, T0 + 2100 * MS);
    assert_eq!(sessions[1].key, "s-2");
    let users = s
        .trace_groups(&query(TraceGroupBy::User, None, 0, 10))
        .await
        .unwrap();
    let keys: Vec<(&str, u64, i64)> = users
        .iter()
        .map(|g| (g.key.as_str(), g.trace_count, g.cost_pico))
        .collect();
    assert_eq!(keys, vec![("u-2", 2, 600), ("u-1", 2, 400)]);
    assert!(users.iter().all(|g| g.user_id.is_none()));
    // Time range and pages.
    let recent = s
        .trace_groups(&query(TraceGroupBy::Session, Some(1500), 0, 10))
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!((recent[0].key.as_str(), recent[0].trace_count), ("s-1", 1));
    let second = s
        .trace_groups(&query(TraceGroupBy::User, None, 1, 1))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].key, "u-1");
}

/// Newest first over traces weeks apart, with a long trace whose late span is the newest span
/// of all: the order is by trace start, every page is right, `since`/`until` cut exactly.
pub async fn newest_first_across_long_ranges<S: Store>(s: &S) {
    const DAY: u64 = 86_400_000;
    let base = 60 * DAY; // fixtures start at T0 + 60 days, going back from there
    let at = |days_ago: u64, minutes_ago: u64| base - days_ago * DAY - minutes_ago * 60_000;
    let mut spans = vec![
        span(120, 1, None, "forty days ago", at(40, 0), 10),
        span(121, 1, None, "two days ago", at(2, 0), 10),
        span(122, 1, None, "an hour ago", at(0, 60), 10),
        span(123, 1, None, "just now", at(0, 1), 10),
        // Started three days ago, its child is the latest span of the project.
        span(124, 1, None, "long job", at(3, 0), 10),
    ];
    spans.push(span(124, 2, Some(1), "late step", at(0, 0), 10));
    write(s, spans).await;
    let expected = vec![tid(123), tid(122), tid(121), tid(124), tid(120)];
    for limit in [1, 2, 10] {
        assert_eq!(all_ids(s, q(limit)).await, expected, "pages of {limit}");
    }
    let window = TraceQuery {
        since_unix_nano: Some(T0 + at(3, 0) * MS),
        until_unix_nano: Some(T0 + at(0, 30) * MS),
        ..q(1)
    };
    assert_eq!(all_ids(s, window).await, vec![tid(122), tid(121), tid(124)]);
}

/// Latency quantiles agree with the exact ones within the sketches' relative accuracy (1 %).
pub(crate) fn assert_quantiles(got: &[f64], exact: &[f64]) {
    assert_eq!(got.len(), exact.len());
    for (g, e) in got.iter().zip(exact) {
        assert!(
            (g - e).abs() <= e.abs() * 0.01,
            "quantile {g} is not within 1 % of {e} (all: {got:?} vs {exact:?})"
        );
    }
}
