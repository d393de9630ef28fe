//! Property tests of the query parameters: any string in any parameter (times, buckets, costs,
//! cursors, search text, sort, limits) is validated into a query or refused with a message,
//! never a panic, and a valid query keeps its bounds (limit within the page size, a bucket only
//! with `since`, at most 10,000 buckets). Bounded: a few hundred cases.

use llmtrace_query::{RecomputeParams, StatsParams, TraceGroupParams, TraceListParams};
use llmtrace_store::{TraceGroupBy, MAX_PAGE_SIZE};
use proptest::prelude::*;

fn param() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        "\\PC{0,30}",
        "[0-9]{1,25}[smhd]?",
        Just("36028797018963968".to_string()),
        Just("2026-01-01T00:00:00Z".to_string()),
        Just("1970-01-01T00:00:00Z".to_string()),
        Just("9999-12-31T23:59:59.999999999Z".to_string()),
        Just("-1".to_string()),
        Just("NaN".to_string()),
        Just("1e308".to_string()),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, max_shrink_iters: 100, ..ProptestConfig::default() })]

    #[test]
    fn stats_parameters_never_panic(
        group_by in param(), since in param(), until in param(), bucket in param(),
    ) {
        let p = StatsParams { group_by, since: since.clone(), until, bucket: bucket.clone(), ..Default::default() };
        if let Ok(q) = p.to_query("p") {
            if let Some(width) = q.bucket_nanos {
                prop_assert!(width > 0);
                prop_assert!(q.since_unix_nano.is_some(), "a bucket needs since");
            }
        }
    }

    #[test]
    fn trace_list_parameters_never_panic(
        since in param(), until in param(), min_cost in param(), q in param(), sort in param(),
        cursor in param(), status in param(), limit in proptest::option::of(any::<usize>()),
        min_duration_ms in proptest::option::of(any::<f64>()),
    ) {
        let p = TraceListParams {
            since, until, min_cost, q, sort, cursor, status, limit, min_duration_ms,
            ..Default::default()
        };
        if let Ok(query) = p.to_query("p") {
            prop_assert!(query.limit >= 1 && query.limit <= MAX_PAGE_SIZE);
        }
    }

    #[test]
    fn group_and_recompute_parameters_never_panic(
        since in param(), until in param(), limit in proptest::option::of(any::<usize>()),
        offset in proptest::option::of(any::<usize>()),
    ) {
        let p = TraceGroupParams { since: since.clone(), until, limit, offset };
        if let Ok(q) = p.to_query("p", TraceGroupBy::Session) {
            prop_assert!(q.limit >= 1 && q.limit <= MAX_PAGE_SIZE);
        }
        let _ = RecomputeParams { since, model: None, dry_run: None }.to_request("p");
    }
}
