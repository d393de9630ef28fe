//! Property tests of the Langfuse converters: batches of random events (valid and invalid types,
//! ids with multi-byte characters, garbage and extreme timestamps, odd usage objects) never
//! panic, every event gets exactly one answer (a success or an error), and score objects of any
//! shape are taken or refused with a message. Bounded: a few hundred cases per property.

use llmtrace_langfuse::{convert_batch, score_from_json};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A JSON leaf of the kinds clients send, odd ones included.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::from),
        prop_oneof![
            Just("2026-01-01T00:00:00Z"),
            Just("2026-01-01T00:00:00.123456789+05:30"),
            Just("1969-12-31T23:59:59Z"),
            Just("9999-12-31T23:59:59Z"),
            Just("2026-13-45T99:99:99Z"),
            Just("€€€€€€€€€€ab"),
            Just("0123456789abcdef0123456789abcdef"),
            Just(""),
        ]
        .prop_map(Value::from),
    ]
}

/// A JSON value: leaves, or small arrays and objects of them.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const KEYS: &[&str] = &[
    "id",
    "traceId",
    "parentObservationId",
    "startTime",
    "endTime",
    "timestamp",
    "name",
    "input",
    "output",
    "usage",
    "usageDetails",
    "costDetails",
    "level",
    "model",
    "userId",
    "sessionId",
    "value",
    "dataType",
    "observationId",
    "completionStartTime",
    "type",
];

fn body() -> impl Strategy<Value = Value> {
    proptest::collection::btree_map(proptest::sample::select(KEYS), value(), 0..10)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

const TYPES: &[&str] = &[
    "trace-create",
    "span-create",
    "span-update",
    "generation-create",
    "generation-update",
    "event-create",
    "score-create",
    "sdk-log",
    "observation-create",
    "agent-create",
    "nonsense",
    "",
];

fn event() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            "[a-z0-9]{1,8}",
            Just("€€€€€€€€€€ab".to_string()),
            Just(String::new())
        ],
        proptest::sample::select(TYPES),
        leaf(),
        prop_oneof![body(), leaf()],
    )
        .prop_map(|(id, ty, ts, body)| json!({"id": id, "type": ty, "timestamp": ts, "body": body}))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, max_shrink_iters: 100, ..ProptestConfig::default() })]

    #[test]
    fn every_event_gets_exactly_one_answer(batch in proptest::collection::vec(event(), 0..12)) {
        let mut n = 0u32;
        let mut fresh = || { n += 1; format!("score-{n}") };
        let c = convert_batch("p", &batch, 1_767_225_600_000_000_000, &mut fresh);
        prop_assert_eq!(c.successes.len() + c.errors.len(), batch.len());
        for s in &c.spans {
            prop_assert_eq!(&s.project, "p");
            prop_assert!(s.end_unix_nano >= s.start_unix_nano);
        }
    }

    #[test]
    fn any_score_object_is_taken_or_refused(score in body()) {
        let mut fresh = || "fresh".to_string();
        if let Ok(s) = score_from_json("p", &score, 42, &mut fresh) {
            prop_assert!(!s.id.is_empty());
            prop_assert!(!s.name.is_empty() || score.get("name").is_some());
        }
    }
}
