//! Token usage of a run, on the llmtrace convention (input includes cache, output includes
//! reasoning).
//!
//! Sources, first present wins:
//! 1. `outputs.usage_metadata` — LangChain `UsageMetadata`, what `wrap_anthropic`,
//!    `wrap_openai` and `@traceable` LLM runs report: `input_tokens` **includes** cached tokens
//!    (wrap_anthropic adds Anthropic's cache counts in), `output_tokens` includes reasoning;
//!    `input_token_details.cache_read`; cache writes as `cache_creation`, else
//!    `ephemeral_5m_input_tokens + ephemeral_1h_input_tokens` (the 1-hour part kept apart, it
//!    has its own price); `output_token_details.reasoning`;
//! 2. `extra.metadata.usage_metadata` (the SDK copies it there);
//! 3. the `usage_metadata` of the AI message in LangChain `outputs.generations`;
//! 4. raw provider usage: `outputs.llm_output.token_usage` / `outputs.usage` — OpenAI chat
//!    (`prompt_tokens` inclusive, `*_tokens_details`), OpenAI Responses (`input_tokens`
//!    inclusive with `input_tokens_details`), Anthropic (`input_tokens` **exclusive** of
//!    `cache_read_input_tokens` / `cache_creation_input_tokens`, which are added).
//!
//! Finally the §5.4 heuristic of [`llmtrace_normalize::tokens::finalize`] applies (an input
//! smaller than its cache parts cannot be inclusive).

use crate::value::{count, path};
use crate::Run;
use llmtrace_model::Usage;
use serde_json::Value;

/// The usage a run reports, or `None` when it reports none.
pub fn usage_from_run(run: &Run) -> Option<Usage> {
    let outputs = run.outputs.as_ref();
    let mut usage = outputs
        .and_then(|o| o.get("usage_metadata"))
        .and_then(from_usage_metadata)
        .or_else(|| {
            run.metadata_value("usage_metadata")
                .and_then(from_usage_metadata)
        })
        .or_else(|| outputs.and_then(from_generations))
        .or_else(|| {
            let o = outputs?;
            path(o, &["llm_output", "token_usage"])
                .or_else(|| path(o, &["llm_output", "usage"]))
                .or_else(|| o.get("usage"))
                .and_then(from_provider_usage)
        })?;
    llmtrace_normalize::tokens::finalize(&mut usage);
    Some(usage)
}

/// Reads a LangChain `UsageMetadata` object (`input_tokens` inclusive of cache).
pub fn from_usage_metadata(v: &Value) -> Option<Usage> {
    let m = v.as_object()?;
    let get = |k: &str| m.get(k).and_then(count);
    let mut u = Usage {
        input: get("input_tokens"),
        output: get("output_tokens"),
        ..Usage::default()
    };
    if let Some(d) = m.get("input_token_details").and_then(Value::as_object) {
        let get = |k: &str| d.get(k).and_then(count);
        u.cache_read = get("cache_read");
        let e5 = get("ephemeral_5m_input_tokens");
        let e1 = get("ephemeral_1h_input_tokens");
        u.cache_write = get("cache_creation").or_else(|| {
            (e5.is_some() || e1.is_some()).then(|| e5.unwrap_or(0).saturating_add(e1.unwrap_or(0)))
        });
        u.cache_write_1h = e1.map(|h| u.cache_write.map_or(h, |w| h.min(w)));
    }
    if let Some(d) = m.get("output_token_details").and_then(Value::as_object) {
        u.reasoning = d.get("reasoning").and_then(count);
    }
    (!u.is_empty()).then_some(u)
}

/// The `usage_metadata` of the first AI message in LangChain `generations` (a list of lists).
fn from_generations(outputs: &Value) -> Option<Usage> {
    let gens = outputs.get("generations")?.as_array()?;
    gens.iter()
        .flat_map(|g| match g {
            Value::Array(inner) => inner.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .filter_map(|g| g.get("message"))
        .find_map(|m| {
            path(m, &["kwargs", "usage_metadata"])
                .or_else(|| m.get("usage_metadata"))
                .and_then(from_usage_metadata)
        })
}

/// Raw provider usage (OpenAI chat / Responses, Anthropic).
fn from_provider_usage(v: &Value) -> Option<Usage> {
    let m = v.as_object()?;
    let get = |k: &str| m.get(k).and_then(count);
    let nested = |a: &str, b: &str| path(v, &[a, b]).and_then(count);
    let mut u = Usage::default();
    if m.contains_key("prompt_tokens") || m.contains_key("completion_tokens") {
        // OpenAI chat completions: prompt includes cached, completion includes reasoning.
        u.input = get("prompt_tokens");
        u.output = get("completion_tokens");
        u.cache_read = nested("prompt_tokens_details", "cached_tokens");
        u.reasoning = nested("completion_tokens_details", "reasoning_tokens");
    } else if m.contains_key("cache_read_input_tokens")
        || m.contains_key("cache_creation_input_tokens")
        || m.contains_key("cache_creation")
    {
        // Anthropic: input excludes the cache reads and writes.
        let e5 = nested("cache_creation", "ephemeral_5m_input_tokens");
        let e1 = nested("cache_creation", "ephemeral_1h_input_tokens");
        u.cache_read = get("cache_read_input_tokens");
        u.cache_write = get("cache_creation_input_tokens").or_else(|| {
            (e5.is_some() || e1.is_some()).then(|| e5.unwrap_or(0).saturating_add(e1.unwrap_or(0)))
        });
        u.cache_write_1h = e1.map(|h| u.cache_write.map_or(h, |w| h.min(w)));
        u.input = get("input_tokens").map(|i| {
            i.saturating_add(u.cache_read.unwrap_or(0))
                .saturating_add(u.cache_write.unwrap_or(0))
        });
        u.output = get("output_tokens");
    } else {
        // OpenAI Responses (and Anthropic without cache): inclusive.
        u.input = get("input_tokens");
        u.output = get("output_tokens");
        u.cache_read = nested("input_tokens_details", "cached_tokens");
        u.reasoning = nested("output_tokens_details", "reasoning_tokens");
    }
    (!u.is_empty()).then_some(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> Run {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn wrap_anthropic_usage_metadata_is_inclusive() {
        // Mock truth: API input 120 + cache read 30 + cache write 10 (5 min), output 45.
        let r = run(json!({"outputs": {"usage_metadata": {
            "input_tokens": 160, "output_tokens": 45, "total_tokens": 205,
            "input_token_details": {"cache_read": 30, "ephemeral_5m_input_tokens": 10}}}}));
        let u = usage_from_run(&r).unwrap();
        assert_eq!(
            u,
            Usage {
                input: Some(160),
                output: Some(45),
                cache_read: Some(30),
                cache_write: Some(10),
                cache_write_1h: None,
                reasoning: None,
            }
        );
        assert_eq!(u.uncached_input(), 120);
    }

    #[test]
    fn cache_creation_and_one_hour_part() {
        let u = from_usage_metadata(&json!({"input_tokens": 100, "output_tokens": 5,
            "input_token_details": {"cache_creation": 12}}))
        .unwrap();
        assert_eq!((u.cache_write, u.cache_write_1h), (Some(12), None));
        let u = from_usage_metadata(&json!({"input_tokens": 100, "output_tokens": 5,
            "input_token_details": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 6},
            "output_token_details": {"reasoning": 3}}))
        .unwrap();
        assert_eq!(
            (u.cache_write, u.cache_write_1h, u.reasoning),
            (Some(10), Some(6), Some(3))
        );
        assert_eq!(from_usage_metadata(&json!({})), None);
    }

    #[test]
    fn metadata_copy_and_generations() {
        let r = run(json!({"outputs": {"answer": "x"},
            "extra": {"metadata": {"usage_metadata": {"input_tokens": 7, "output_tokens": 2}}}}));
        assert_eq!(usage_from_run(&r).unwrap().input, Some(7));
        let r = run(
            json!({"outputs": {"generations": [[{"text": "hi", "message": {
            "lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
            "kwargs": {"content": "hi", "usage_metadata": {"input_tokens": 90, "output_tokens": 25,
                "input_token_details": {"cache_read": 40}}}}}]]}}),
        );
        let u = usage_from_run(&r).unwrap();
        assert_eq!(
            (u.input, u.output, u.cache_read),
            (Some(90), Some(25), Some(40))
        );
    }

    #[test]
    fn raw_provider_usage() {
        // OpenAI chat: prompt 90 incl. 40 cached.
        let r = run(
            json!({"outputs": {"usage": {"prompt_tokens": 90, "completion_tokens": 25,
            "prompt_tokens_details": {"cached_tokens": 40},
            "completion_tokens_details": {"reasoning_tokens": 5}}}}),
        );
        let u = usage_from_run(&r).unwrap();
        assert_eq!(
            (u.input, u.output, u.cache_read, u.reasoning),
            (Some(90), Some(25), Some(40), Some(5))
        );
        // Anthropic raw: 120 exclusive + 30 read + 10 written.
        let r = run(
            json!({"outputs": {"usage": {"input_tokens": 120, "output_tokens": 45,
            "cache_read_input_tokens": 30, "cache_creation_input_tokens": 10}}}),
        );
        let u = usage_from_run(&r).unwrap();
        assert_eq!(
            (u.input, u.cache_read, u.cache_write),
            (Some(160), Some(30), Some(10))
        );
        assert_eq!(usage_from_run(&run(json!({"outputs": {"x": 1}}))), None);
        assert_eq!(usage_from_run(&run(json!({}))), None);
    }

    #[test]
    fn non_inclusive_input_is_fixed_up() {
        // An input smaller than its cache parts cannot include them.
        let u = usage_from_run(&run(json!({"outputs": {"usage_metadata": {
            "input_tokens": 20, "output_tokens": 1,
            "input_token_details": {"cache_read": 30}}}})))
        .unwrap();
        assert_eq!(u.input, Some(50));
    }
}
