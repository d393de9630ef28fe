//! Full-text search over prompts and completions, defined once for every backend.
//!
//! Both the text stored for a span and the words of a query go through [`normalize_search_text`]:
//! lowercase, words (runs of letters and digits) separated by one space, and every character of
//! a script written without spaces between words (Han, Hiragana, Katakana, Thai, Lao, Khmer,
//! Myanmar) a word of its own, so that a Chinese word is found inside a sentence. Arabic vowel
//! marks are dropped so that a word matches with or without them.
//!
//! A query matches a span when the span's normalized text contains every query word as a run of
//! whole words where the last may be a prefix: `weath` finds "Weather", `天气` finds
//! "今天天气很好", `gpt 4` finds "GPT-4o". In the normalized form that is exactly: the text,
//! with a space in front, contains `" " + word`. SQLite answers it with an FTS5 prefix phrase,
//! ClickHouse with a substring search; both give the same results.

use llmtrace_model::{GenAi, MessagePart, Span};

/// Normalized text kept per span at most (bytes); longer text is cut at a word boundary.
pub const MAX_SEARCH_TEXT_BYTES: usize = 256 * 1024;

/// Whether a character belongs to a script written without spaces between words.
fn unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x2E80..=0x2FDF    // CJK radicals
        | 0x3005..=0x3007    // 々 〆 〇
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x3FFFF  // CJK extensions B and later
    )
}

/// Marks skipped inside words (Arabic harakat, tatweel).
fn ignorable_mark(c: char) -> bool {
    matches!(c as u32, 0x0640 | 0x064B..=0x065F | 0x0670)
}

/// Appends the normalized form of `text` to `out` (see the module docs), stopping before
/// `out` would exceed `max_bytes`.
fn push_normalized(out: &mut String, text: &str, max_bytes: usize) {
    let mut in_word = !out.is_empty() && !out.ends_with(' ');
    for c in text.chars() {
        if out.len().saturating_add(8) > max_bytes {
            break;
        }
        if ignorable_mark(c) {
            continue;
        }
        if unspaced_script(c) {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.push(c);
            in_word = false;
            continue;
        }
        if c.is_alphanumeric() {
            if !in_word && !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
            in_word = true;
        } else {
            in_word = false;
        }
    }
}

/// The normalized form of a text: lowercase words separated by single spaces (see the module
/// docs).
pub fn normalize_search_text(text: &str) -> String {
    let mut out = String::new();
    push_normalized(&mut out, text, usize::MAX);
    out
}

/// The searchable text of a span, normalized: its system instructions, input and output
/// messages (text, reasoning, tool call names and arguments, tool results). Empty when the
/// span carries no content.
pub fn span_search_text(span: &Span) -> String {
    gen_ai_search_text(&span.gen_ai)
}

/// [`span_search_text`] from a span's GenAI fields alone.
pub fn gen_ai_search_text(g: &GenAi) -> String {
    messages_search_text(
        &g.system_instructions,
        &g.input_messages,
        &g.output_messages,
    )
}

/// [`span_search_text`] from a span's system instructions and messages.
pub fn messages_search_text(
    system_instructions: &[MessagePart],
    input_messages: &[llmtrace_model::Message],
    output_messages: &[llmtrace_model::Message],
) -> String {
    let mut out = String::new();
    let add = |out: &mut String, text: &str| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        push_normalized(out, text, MAX_SEARCH_TEXT_BYTES);
    };
    let add_part = |out: &mut String, p: &MessagePart| match p {
        MessagePart::Text { content } | MessagePart::Reasoning { content } => add(out, content),
        MessagePart::ToolCall {
            name, arguments, ..
        } => {
            add(out, name);
            if let Some(a) = arguments {
                add(out, &json_text(a));
            }
        }
        MessagePart::ToolCallResponse { response, .. } => add(out, &json_text(response)),
        MessagePart::Other(_) => {}
    };
    for p in system_instructions {
        add_part(&mut out, p);
    }
    for m in input_messages.iter().chain(output_messages) {
        for p in &m.parts {
            add_part(&mut out, p);
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// A JSON value's strings (a string value as is, anything else as its JSON text).
fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The words of a search query, each normalized (possibly several normalized words, as
/// `gpt 4` from "gpt-4" or `天 气` from "天气"), duplicates and empty ones dropped. A span
/// matches when its normalized text, with a space in front, contains `" " + word` for every
/// word.
pub fn search_words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for raw in query.split_whitespace() {
        let w = normalize_search_text(raw);
        if !w.is_empty() && !words.contains(&w) {
            words.push(w);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::Message;

    #[test]
    fn normalizes_case_punctuation_and_unspaced_scripts() {
        assert_eq!(
            normalize_search_text("What's the Weather? GPT-4o"),
            "what s the weather gpt 4o"
        );
        assert_eq!(normalize_search_text("今天天气很好"), "今 天 天 气 很 好");
        assert_eq!(normalize_search_text("北京weather"), "北 京 weather");
        assert_eq!(normalize_search_text("كَتَبَ الطالب"), "كتب الطالب");
        assert_eq!(normalize_search_text("  ...  "), "");
    }

    fn matches(text: &str, query: &str) -> bool {
        let t = format!(" {}", normalize_search_text(text));
        let words = search_words(query);
        !words.is_empty() && words.iter().all(|w| t.contains(&format!(" {w}")))
    }

    #[test]
    fn words_match_at_word_starts() {
        assert!(matches("What's the weather in Paris?", "weath"));
        assert!(matches("What's the weather in Paris?", "PARIS weather"));
        assert!(!matches("What's the weather in Paris?", "eather"));
        assert!(!matches("What's the weather in Paris?", "weather london"));
        assert!(matches("用中文回答：今天天气很好", "天气"));
        assert!(!matches("用中文回答：今天天气很好", "气天"));
        assert!(matches("ما هو الطقس اليوم", "الطقس"));
        assert!(matches("model GPT-4o replied", "gpt-4"));
        assert!(search_words(" ,; ").is_empty());
    }

    #[test]
    fn span_text_covers_messages_tools_and_system() {
        let mut s = Span::default();
        s.gen_ai.system_instructions = vec![MessagePart::Text {
            content: "Be brief".into(),
        }];
        s.gen_ai.input_messages = vec![Message::text("user", "Hello 世界")];
        s.gen_ai.output_messages = vec![Message {
            role: "assistant".into(),
            parts: vec![MessagePart::ToolCall {
                id: None,
                name: "get_weather".into(),
                arguments: Some(serde_json::json!({"city": "Zürich"})),
            }],
            name: None,
            finish_reason: None,
        }];
        assert_eq!(
            span_search_text(&s),
            "be brief hello 世 界 get weather city zürich"
        );
        assert_eq!(span_search_text(&Span::default()), "");
    }

    #[test]
    fn long_text_is_capped() {
        let mut s = Span::default();
        s.gen_ai.input_messages = vec![Message::text("user", "word ".repeat(100_000))];
        assert!(span_search_text(&s).len() <= MAX_SEARCH_TEXT_BYTES);
    }
}
