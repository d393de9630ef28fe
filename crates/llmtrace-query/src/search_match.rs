//! Where a search matched inside a trace: the first span (in start order) whose prompts and
//! completions contain every word of the query, by the same rule the stores search with
//! (`llmtrace_store::search`), and a short snippet of the matching text. The trace list shows
//! the snippet; the trace page opens on the span.

use crate::views::SpanView;
use llmtrace_model::MessagePart;
use llmtrace_store::search::{messages_search_text, normalize_search_text, search_words};
use serde::Serialize;

/// Characters of context on each side of the match in a snippet.
const SNIPPET_CONTEXT: usize = 60;

/// The span a search matched and a snippet of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchMatch {
    /// The matching span.
    pub span_id: String,
    /// Its name.
    pub span_name: String,
    /// Up to about 120 characters of the matching text, with `…` where it was cut.
    pub snippet: String,
}

/// Whether a normalized text contains every word as a run of whole words (the last a prefix).
fn contains_words(normalized: &str, words: &[String]) -> bool {
    let hay = format!(" {normalized}");
    words.iter().all(|w| hay.contains(&format!(" {w}")))
}

/// The texts of a span's parts, in search order.
fn part_texts(s: &SpanView) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |p: &MessagePart| match p {
        MessagePart::Text { content } | MessagePart::Reasoning { content } => {
            out.push(content.clone())
        }
        MessagePart::ToolCall {
            name, arguments, ..
        } => out.push(match arguments {
            Some(a) => format!("{name} {a}"),
            None => name.clone(),
        }),
        MessagePart::ToolCallResponse { response, .. } => out.push(match response {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        MessagePart::Other(_) => {}
    };
    for p in &s.system_instructions {
        add(p);
    }
    for m in s.input_messages.iter().chain(&s.output_messages) {
        for p in &m.parts {
            add(p);
        }
    }
    out
}

/// A window of `text` around the first place a query word appears (case-insensitively), or its
/// start.
fn snippet(text: &str, raw_words: &[&str]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars.iter().flat_map(|c| c.to_lowercase()).collect();
    // Lowercasing can change the length of rare characters; then the start is used.
    let at = if lower.len() == chars.len() {
        raw_words.iter().find_map(|w| {
            let w: Vec<char> = w.chars().flat_map(|c| c.to_lowercase()).collect();
            if w.is_empty() {
                return None;
            }
            lower.windows(w.len()).position(|win| win == &w[..])
        })
    } else {
        None
    }
    .unwrap_or(0);
    let from = at.saturating_sub(SNIPPET_CONTEXT);
    let to = at
        .saturating_add(
            SNIPPET_CONTEXT
                .saturating_mul(2)
                .saturating_sub(at.saturating_sub(from)),
        )
        .min(chars.len());
    let body: String = chars.get(from..to).unwrap_or_default().iter().collect();
    let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "{}{}{}",
        if from > 0 { "…" } else { "" },
        body,
        if to < chars.len() { "…" } else { "" }
    )
}

/// The first span of `spans` (in start order) matching `query`, with a snippet; `None` when the
/// query has no words or nothing matches.
pub fn search_match(spans: &[SpanView], query: &str) -> Option<SearchMatch> {
    let words = search_words(query);
    if words.is_empty() {
        return None;
    }
    let mut order: Vec<&SpanView> = spans.iter().collect();
    order.sort_by(|a, b| a.start_time.cmp(&b.start_time));
    let raw: Vec<&str> = query.split_whitespace().collect();
    order.into_iter().find_map(|s| {
        let text = messages_search_text(
            &s.system_instructions,
            &s.input_messages,
            &s.output_messages,
        );
        if !contains_words(&text, &words) {
            return None;
        }
        let texts = part_texts(s);
        let best = texts
            .iter()
            .find(|t| {
                let n = normalize_search_text(t);
                words
                    .iter()
                    .any(|w| format!(" {n}").contains(&format!(" {w}")))
            })
            .or(texts.first())?;
        Some(SearchMatch {
            span_id: s.span_id.clone(),
            span_name: s.name.clone(),
            snippet: snippet(best, &raw),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, start: &str, text: &str) -> SpanView {
        let json = r#"{
            "span_id": "", "parent_span_id": null, "name": "", "kind": "llm",
            "service": "s", "otel_span_kind": "client", "start_time": "", "end_time": "",
            "duration_ms": 0.0, "status": "ok", "status_message": "", "provider": null,
            "operation": null, "request_model": null, "response_model": null,
            "input_tokens": null, "output_tokens": null, "cache_read_tokens": null,
            "cache_write_tokens": null, "reasoning_tokens": null, "usage_counted": true,
            "incomplete": false, "cost_usd": null, "cost_source": null,
            "computed_cost_usd": null, "reported_cost_usd": null, "price_id": null,
            "price_effective_from": null, "unpriced": false, "request_params": {},
            "finish_reasons": [], "time_to_first_token_ms": null, "error_type": null,
            "user_id": null, "session_id": null, "tool_name": null, "agent_name": null,
            "system_instructions": [], "input_messages": [], "output_messages": [],
            "attributes": {}, "resource_attributes": {}, "scope_name": "", "events": [],
            "links": []
        }"#;
        let mut v: SpanView = serde_json::from_str(json).unwrap();
        v.span_id = id.into();
        v.name = format!("span {id}");
        v.start_time = start.into();
        v.input_messages = vec![llmtrace_model::Message {
            role: "user".into(),
            parts: vec![MessagePart::Text {
                content: text.into(),
            }],
            name: None,
            finish_reason: None,
        }];
        v
    }

    #[test]
    fn finds_the_first_matching_span_and_a_snippet() {
        let long = format!(
            "{} the contract renewal is yearly {}",
            "x ".repeat(100),
            "y ".repeat(100)
        );
        let spans = vec![
            span("b", "2026-01-01T00:00:02Z", &long),
            span("a", "2026-01-01T00:00:01Z", "nothing here"),
            span("c", "2026-01-01T00:00:03Z", "Renewal again"),
        ];
        let m = search_match(&spans, "Renewal").unwrap();
        assert_eq!(m.span_id, "b");
        assert!(
            m.snippet.contains("contract renewal is yearly"),
            "{}",
            m.snippet
        );
        assert!(m.snippet.starts_with('…') && m.snippet.ends_with('…'));
        assert!(m.snippet.chars().count() < 140);
        assert_eq!(search_match(&spans, "absent"), None);
        assert_eq!(search_match(&spans, "  "), None);
        // Every word must match; a Chinese word inside a sentence does.
        let zh = vec![span("z", "2026-01-01T00:00:01Z", "明天北京天气晴朗")];
        assert_eq!(search_match(&zh, "天气").unwrap().span_id, "z");
        assert_eq!(search_match(&spans, "renewal absent"), None);
    }
}
