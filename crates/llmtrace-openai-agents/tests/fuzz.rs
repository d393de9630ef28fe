//! Property tests of the OpenAI Agents converter: exports of random `trace` and `trace.span`
//! items (missing fields, odd ids and times, usage of any shape, errors) never panic; an export
//! that converts yields one span per item. Bounded: a few hundred cases.

use proptest::prelude::*;
use serde_json::{json, Value};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,16}".prop_map(Value::from),
        prop_oneof![
            Just("2026-01-01T00:00:00Z"),
            Just("2026-01-01T00:00:01.5+00:00"),
            Just("not a time"),
            Just("trace_0123456789abcdef0123456789abcdef"),
            Just("span_€€€€€€"),
            Just("span_0123456789abcdef01234567"),
        ]
        .prop_map(Value::from),
    ]
}

fn span_data() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(&["agent", "generation", "response", "function", "custom", "handoff"][..]),
        leaf(),
        leaf(),
        prop_oneof![
            leaf(),
            (leaf(), leaf()).prop_map(|(i, o)| json!({"input_tokens": i, "output_tokens": o, "input_tokens_details": {"cached_tokens": i}})),
        ],
    )
        .prop_map(|(ty, name, model, usage)| json!({"type": ty, "name": name, "model": model, "usage": usage, "input": name, "output": model}))
}

fn item() -> impl Strategy<Value = Value> {
    prop_oneof![
        (leaf(), leaf()).prop_map(|(id, w)| json!({"object": "trace", "id": id, "workflow_name": w, "group_id": w, "metadata": {"user_id": id}})),
        (leaf(), leaf(), leaf(), leaf(), span_data(), prop_oneof![Just(Value::Null), leaf().prop_map(|m| json!({"message": m}))])
            .prop_map(|(id, trace, start, end, data, error)| json!({
                "object": "trace.span", "id": id, "trace_id": trace, "parent_id": id,
                "started_at": start, "ended_at": end, "span_data": data, "error": error
            })),
        leaf().prop_map(|o| json!({"object": o})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, max_shrink_iters: 100, ..ProptestConfig::default() })]

    #[test]
    fn any_export_converts_or_is_refused(items in proptest::collection::vec(item(), 0..10)) {
        if let Ok(spans) = llmtrace_openai_agents::convert("p", &items, 1_767_225_600_000_000_000) {
            prop_assert_eq!(spans.len(), items.len());
            for s in &spans {
                prop_assert!(s.end_unix_nano >= s.start_unix_nano);
            }
        }
    }
}
