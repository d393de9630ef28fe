//! Property tests of the LangSmith converters: batch bodies of random runs (odd ids, dotted
//! orders, times, usage and messages of any shape) and multipart parts with any names and bytes
//! never panic; what parses converts into spans. Bounded: a few hundred cases per property.

use llmtrace_langsmith::{runs_from_batch, RunSet};
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
            Just("2026-01-01T00:00:00.123456"),
            Just("20260101T000000000000Z00000000-0000-4000-8000-000000000001"),
            Just("20260101T000000000000Z€€€.20260101T000000000001Z"),
            Just("00000000-0000-4000-8000-000000000001"),
            Just("llm"),
            Just("chain"),
        ]
        .prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 20, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(
                proptest::sample::select(
                    &[
                        "messages",
                        "content",
                        "role",
                        "usage_metadata",
                        "input_tokens",
                        "output_tokens",
                        "generations",
                        "text",
                        "llm_output",
                        "token_usage",
                        "metadata",
                        "ls_model_name"
                    ][..]
                ),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn run() -> impl Strategy<Value = Value> {
    (
        leaf(),
        leaf(),
        leaf(),
        leaf(),
        leaf(),
        value(),
        value(),
        value(),
        leaf(),
    )
        .prop_map(
            |(id, trace, dotted, start, end, inputs, outputs, extra, run_type)| {
                json!({
                    "id": id, "trace_id": trace, "dotted_order": dotted, "parent_run_id": id,
                    "start_time": start, "end_time": end, "name": run_type, "run_type": run_type,
                    "inputs": inputs, "outputs": outputs, "extra": extra, "error": end
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, max_shrink_iters: 100, ..ProptestConfig::default() })]

    #[test]
    fn any_batch_converts_or_is_refused(
        posts in proptest::collection::vec(run(), 0..5),
        patches in proptest::collection::vec(run(), 0..5),
    ) {
        let body = serde_json::to_vec(&json!({"post": posts, "patch": patches})).unwrap();
        if let Ok(set) = runs_from_batch(&body) {
            let _ = set.to_spans("p");
        }
    }

    #[test]
    fn any_multipart_parts_never_panic(
        parts in proptest::collection::vec(
            (
                prop_oneof![
                    "\\PC{0,20}",
                    Just("post.00000000-0000-4000-8000-000000000001".to_string()),
                    Just("patch.00000000-0000-4000-8000-000000000001.outputs".to_string()),
                    Just("post.€€€.inputs".to_string()),
                ],
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..64),
                    run().prop_map(|r| serde_json::to_vec(&r).unwrap()),
                ],
            ),
            0..6,
        )
    ) {
        let mut set = RunSet::new();
        for (name, body) in &parts {
            let _ = set.add_part(name, body);
        }
        let _ = set.to_spans("p");
    }
}
