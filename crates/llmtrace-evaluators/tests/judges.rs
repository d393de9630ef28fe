//! LLM-as-judge configurations from the config file's TOML: what they call, with what prompt,
//! how the reply becomes a score, which spans they look at, and refused configurations.

use llmtrace_evaluators::{Evaluator, EvaluatorConfig, JudgeApi, Target, Verdict};
use llmtrace_model::{Message, Span, SpanId, SpanKind, TraceId};
use serde_json::json;

fn judge(extra: &str) -> Result<Evaluator, String> {
    let text = format!(
        "name = \"helpful\"\nkind = \"llm_judge\"\nprompt = \"Q: {{{{input}}}}\\nA: {{{{output}}}}\\nGood or bad?\"\njudge_model = \"gpt-4o-mini\"\n{extra}"
    );
    let c: EvaluatorConfig = toml::from_str(&text).map_err(|e| e.to_string())?;
    Evaluator::new(&c).map_err(|e| e.to_string())
}

fn call() -> Span {
    let mut s = Span {
        project: "p".into(),
        trace_id: TraceId([7; 16]),
        span_id: SpanId([9; 8]),
        parent_span_id: Some(SpanId([1; 8])),
        service: "app".into(),
        kind: SpanKind::Llm,
        end_unix_nano: 5,
        ..Default::default()
    };
    s.gen_ai.input_messages = vec![Message::text("user", "Capital of France?")];
    s.gen_ai.output_messages = vec![Message::text("assistant", "Paris.")];
    s
}

#[test]
fn an_openai_judge_asks_and_reads_labels() {
    let e = judge("labels = [\"good\", \"bad\"]\nendpoint = \"http://127.0.0.1:9/v1/\"\napi_key_env = \"KEY\"\n").unwrap();
    let j = e.judge().unwrap();
    assert_eq!(j.api(), JudgeApi::OpenAi);
    assert_eq!(j.url(), "http://127.0.0.1:9/v1/chat/completions");
    assert_eq!(j.api_key_env(), Some("KEY"));
    let span = call();
    assert!(e.applies_to(&span));
    let prompt = j.prompt_for(&span).unwrap();
    assert_eq!(
        prompt,
        "Q: user: Capital of France?\nA: Paris.\nGood or bad?"
    );
    assert_eq!(
        j.request_body(&prompt),
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], "temperature": 0})
    );
    assert_eq!(
        j.request_headers(Some("sk")),
        vec![("authorization", "Bearer sk".to_string())]
    );
    let reply = j
        .reply_text(&json!({"choices": [{"message": {"role": "assistant", "content": " Good: it is right. "}}]}))
        .unwrap();
    let verdict = j.parse(&reply).unwrap();
    assert_eq!(verdict, Verdict::Label("good".into()));
    let s = e.judge_score(&span, &verdict, &reply);
    assert_eq!(
        (s.value, s.string_value.as_deref(), s.data_type.as_str()),
        (None, Some("good"), "CATEGORICAL")
    );
    assert_eq!(s.comment.as_deref(), Some("Good: it is right."));
    assert_eq!(
        (s.source.as_str(), s.author.as_deref()),
        ("evaluator:helpful", Some("evaluator:helpful"))
    );
    assert_eq!(s.observation_id.as_deref(), Some("0909090909090909"));
    assert!(j.parse("no idea").is_err());
    assert!(j.reply_text(&json!({"choices": []})).is_none());
    // A rule's score API leaves judges alone.
    assert!(e.evaluate(&span).is_none());
}

#[test]
fn an_anthropic_judge_scores_numbers_within_bounds() {
    let e = judge("api = \"anthropic\"\nmin = 1\nmax = 5\ntarget = \"trace\"\n").unwrap();
    let j = e.judge().unwrap();
    assert_eq!(j.url(), "https://api.anthropic.com/v1/messages");
    let body = j.request_body("hi");
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["messages"][0]["content"], "hi");
    let headers = j.request_headers(None);
    assert_eq!(
        headers,
        vec![("anthropic-version", "2023-06-01".to_string())]
    );
    let reply = j
        .reply_text(&json!({"content": [{"type": "text", "text": "Score: 4/5"}]}))
        .unwrap();
    assert_eq!(j.parse(&reply).unwrap(), Verdict::Number(4.0));
    assert!(j.parse("7").unwrap_err().contains("outside"));
    assert!(j.parse("none").is_err());
    // A trace evaluator looks at root spans only and scores the trace.
    assert_eq!(e.target(), Target::Trace);
    let mut root = call();
    assert!(!e.applies_to(&root));
    root.parent_span_id = None;
    root.kind = SpanKind::Agent;
    assert!(e.applies_to(&root), "no default span kind for traces");
    let s = e.judge_score(&root, &Verdict::Number(4.0), "4");
    assert_eq!((s.value, s.observation_id), (Some(4.0), None));
}

#[test]
fn judges_look_at_llm_spans_with_content_and_never_at_their_own() {
    let e = judge("").unwrap();
    let mut tool = call();
    tool.kind = SpanKind::Tool;
    assert!(!e.applies_to(&tool), "a span judge defaults to llm spans");
    assert!(judge("span_kind = \"tool\"").unwrap().applies_to(&tool));
    let mut own = call();
    own.service = llmtrace_evaluators::EVALUATOR_SERVICE.into();
    assert!(!e.applies_to(&own));
    let mut empty = call();
    empty.gen_ai.input_messages.clear();
    empty.gen_ai.output_messages.clear();
    assert!(e.judge().unwrap().prompt_for(&empty).is_none());
    let status = e.describe();
    assert_eq!(
        (status.kind.as_str(), status.target.as_str()),
        ("llm_judge", "span")
    );
    assert_eq!(status.judge.unwrap().max_per_minute, 60);
}

#[test]
fn refused_judges_say_why() {
    for (extra, why) in [
        ("api = \"gemini\"", "api"),
        ("endpoint = \"ftp://x\"", "endpoint"),
        ("labels = []", "labels"),
        ("labels = [\"a\", \"A\"]", "differ"),
        ("labels = [\"a\"]\nmin = 1", "not both"),
        ("min = 5\nmax = 1", "min"),
        ("max_per_minute = 0", "max_per_minute"),
        ("api_key_env = \"\"", "api_key_env"),
        ("output_is_json = true", "do not apply"),
    ] {
        let err = judge(extra).unwrap_err();
        assert!(
            err.contains(why) && err.contains("helpful"),
            "{extra}: {err}"
        );
    }
    let no_prompt: EvaluatorConfig =
        toml::from_str("name = \"j\"\nkind = \"llm_judge\"\njudge_model = \"m\"\n").unwrap();
    assert!(Evaluator::new(&no_prompt)
        .unwrap_err()
        .to_string()
        .contains("prompt is required"));
    let no_placeholder: EvaluatorConfig = toml::from_str(
        "name = \"j\"\nkind = \"llm_judge\"\njudge_model = \"m\"\nprompt = \"rate it\"\n",
    )
    .unwrap();
    assert!(Evaluator::new(&no_placeholder)
        .unwrap_err()
        .to_string()
        .contains("{{input}}"));
    let no_model: EvaluatorConfig =
        toml::from_str("name = \"j\"\nkind = \"llm_judge\"\nprompt = \"{{output}}\"\n").unwrap();
    assert!(Evaluator::new(&no_model)
        .unwrap_err()
        .to_string()
        .contains("judge_model"));
}
