//! Each rule on a passing and a failing span, the filters, sampling, and refused configurations,
//! from the config file's TOML.

use llmtrace_evaluators::{Evaluator, EvaluatorConfig};
use llmtrace_model::{Message, MessagePart, Money, Span, SpanId, SpanKind, TraceId};

fn config(toml_text: &str) -> EvaluatorConfig {
    toml::from_str(toml_text).unwrap()
}

fn call(output: &str, millis: u64, pico: i64, tokens: (u64, u64)) -> Span {
    let mut s = Span {
        project: "p".into(),
        trace_id: TraceId([7; 16]),
        span_id: SpanId([9; 8]),
        service: "svc".into(),
        kind: SpanKind::Llm,
        start_unix_nano: 1_000_000_000,
        end_unix_nano: 1_000_000_000 + millis * 1_000_000,
        ..Default::default()
    };
    s.gen_ai.request_model = Some("gpt-4o".into());
    s.gen_ai.output_messages = vec![Message {
        role: "assistant".into(),
        parts: vec![MessagePart::Text {
            content: output.into(),
        }],
        name: None,
        finish_reason: None,
    }];
    s.cost.computed = Some(Money::from_pico(pico));
    s.usage.input = Some(tokens.0);
    s.usage.output = Some(tokens.1);
    s
}

#[test]
fn every_rule_passes_and_fails() {
    let good = call(r#"{"city": "Paris"}"#, 800, 2_000_000, (100, 20));
    let bad = call("Paris, I think", 3_000, 90_000_000_000, (5_000, 900));
    for (rule, reason_good, reason_bad) in [
        ("output_contains = \"Paris\"", "contains", "contains"),
        ("output_matches = '^\\{'", "matches", "does not match"),
        ("output_is_json = true", "is JSON", "not JSON"),
        (
            "max_latency_ms = 1000",
            "lasted 800.0 ms",
            "lasted 3000.0 ms",
        ),
        ("max_cost_usd = 0.01", "cost $", "cost $"),
        ("max_tokens = 1000", "120 tokens", "5900 tokens"),
    ] {
        let e = Evaluator::new(&config(&format!("name = \"check\"\n{rule}\n"))).unwrap();
        let s = e.evaluate(&good).unwrap();
        assert_eq!(
            (s.value, s.string_value.as_deref()),
            (Some(1.0), Some("pass")),
            "{rule}"
        );
        assert!(
            s.comment.as_deref().unwrap().contains(reason_good),
            "{rule}: {:?}",
            s.comment
        );
        assert_eq!(s.source, "evaluator:check");
        assert_eq!(s.observation_id.as_deref(), Some("0909090909090909"));
        let b = e.evaluate(&bad).unwrap();
        let expect_pass = rule.starts_with("output_contains");
        assert_eq!(b.value, Some(if expect_pass { 1.0 } else { 0.0 }), "{rule}");
        assert!(
            b.comment.as_deref().unwrap().contains(reason_bad),
            "{rule}: {:?}",
            b.comment
        );
        assert_eq!(s.id, b.id, "one score per evaluator and span");
    }
}

#[test]
fn filters_sampling_and_missing_inputs() {
    let span = call("hello", 10, 1, (1, 1));
    let only = |extra: &str| {
        Evaluator::new(&config(&format!(
            "name = \"f\"\noutput_contains = \"h\"\n{extra}"
        )))
        .unwrap()
        .evaluate(&span)
        .is_some()
    };
    assert!(only(""));
    assert!(only("span_kind = \"llm\""));
    assert!(!only("span_kind = \"tool\""));
    assert!(only("service = \"svc\""));
    assert!(!only("service = \"other\""));
    assert!(only("model = \"gpt-4o\""));
    assert!(!only("model = \"claude\""));
    assert!(!only("sample_rate = 0.0"));
    assert!(only("sample_rate = 1.0"));
    // About half of many spans at 0.5, the same ones every time.
    let e = Evaluator::new(&config(
        "name = \"half\"\nmax_tokens = 10\nsample_rate = 0.5\n",
    ))
    .unwrap();
    let picked = (0..2000u64)
        .filter(|i| {
            let mut s = span.clone();
            s.span_id = SpanId(
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add(1)
                    .to_be_bytes(),
            );
            e.evaluate(&s).is_some()
        })
        .count();
    assert!((800..1200).contains(&picked), "{picked}");
    // Nothing to read: no score rather than a wrong one.
    let mut silent = span.clone();
    silent.gen_ai.output_messages.clear();
    silent.cost.computed = None;
    silent.usage = Default::default();
    for rule in [
        "output_contains = \"x\"",
        "max_cost_usd = 1",
        "max_tokens = 1",
    ] {
        let e = Evaluator::new(&config(&format!("name = \"n\"\n{rule}\n"))).unwrap();
        assert!(e.evaluate(&silent).is_none(), "{rule}");
    }
    let mut unfinished = span;
    unfinished.incomplete = true;
    assert!(!Evaluator::new(&config("name = \"n\"\nmax_tokens = 1\n"))
        .unwrap()
        .applies_to(&unfinished));
}

#[test]
fn refused_configurations_say_why() {
    for (text, why) in [
        ("name = \"\"\nmax_tokens = 1\n", "name is required"),
        ("name = \"a\"\n", "give one rule"),
        (
            "name = \"a\"\nmax_tokens = 1\noutput_is_json = true\n",
            "one rule per evaluator",
        ),
        ("name = \"a\"\noutput_matches = \"(\"\n", "output_matches"),
        (
            "name = \"a\"\nmax_tokens = 1\nsample_rate = 2.0\n",
            "sample_rate",
        ),
        (
            "name = \"a\"\nkind = \"llm_judge\"\nmax_tokens = 1\n",
            "do not apply",
        ),
        (
            "name = \"a\"\nkind = \"llm\"\nmax_tokens = 1\n",
            "not supported",
        ),
        (
            "name = \"a\"\nmax_tokens = 1\nprompt = \"x\"\n",
            "llm_judge",
        ),
        ("name = \"a\"\nmax_tokens = 1\ntarget = \"x\"\n", "target"),
        (
            "name = \"a\"\nmax_tokens = 1\nspan_kind = \"x\"\n",
            "span_kind",
        ),
        ("name = \"a\"\nmax_latency_ms = -1\n", "max_latency_ms"),
    ] {
        let err = Evaluator::new(&config(text)).unwrap_err().to_string();
        assert!(err.contains(why), "{text}: {err}");
    }
    assert!(toml::from_str::<EvaluatorConfig>("name = \"a\"\nno_such = 1\n").is_err());
}
