//! JSON shown to a reader: pretty-printed, syntax-highlighted on the server (keys, strings,
//! numbers and literals each get a class the theme colours), folded when long, never wrapped
//! in the middle of a word (a long line scrolls sideways instead).
//!
//! Written by hand: the highlighting is a walk over `serde_json::Value` that emits maud markup
//! (so every string is escaped by maud); a highlighting crate would bring a grammar engine for
//! one language we already parse.

use maud::{html, Markup, PreEscaped};
use serde_json::Value;

/// Pretty-printed JSON with more lines than this is folded (its first lines show, click to
/// unfold).
const FOLD_LINES: usize = 24;

/// Lines shown of a folded block.
const HEAD_LINES: usize = 12;

/// Nesting deeper than this is shown as compact text (a hostile document cannot make the
/// renderer recurse without bound).
const MAX_DEPTH: usize = 64;

/// One line of output being built: indentation, then highlighted tokens.
struct Lines {
    lines: Vec<String>,
    current: String,
}

impl Lines {
    fn token(&mut self, class: &str, text: &str) {
        let escaped = html! { (text) }.into_string();
        if class.is_empty() {
            self.current.push_str(&escaped);
        } else {
            self.current
                .push_str(&format!("<span class=\"{class}\">{escaped}</span>"));
        }
    }

    fn newline(&mut self, indent: usize) {
        self.lines.push(std::mem::take(&mut self.current));
        self.current.push_str(&"  ".repeat(indent));
    }
}

fn walk(v: &Value, indent: usize, out: &mut Lines) {
    if indent > MAX_DEPTH {
        out.token("js", &v.to_string());
        return;
    }
    match v {
        Value::Null => out.token("jl", "null"),
        Value::Bool(b) => out.token("jl", if *b { "true" } else { "false" }),
        Value::Number(n) => out.token("jn", &n.to_string()),
        Value::String(s) => out.token("js", &Value::String(s.clone()).to_string()),
        Value::Array(items) if items.is_empty() => out.token("", "[]"),
        Value::Object(map) if map.is_empty() => out.token("", "{}"),
        Value::Array(items) => {
            out.token("", "[");
            for (i, item) in items.iter().enumerate() {
                out.newline(indent + 1);
                walk(item, indent + 1, out);
                if i + 1 < items.len() {
                    out.token("", ",");
                }
            }
            out.newline(indent);
            out.token("", "]");
        }
        Value::Object(map) => {
            out.token("", "{");
            let n = map.len();
            for (i, (k, item)) in map.iter().enumerate() {
                out.newline(indent + 1);
                out.token("jk", &Value::String(k.clone()).to_string());
                out.token("", ": ");
                walk(item, indent + 1, out);
                if i + 1 < n {
                    out.token("", ",");
                }
            }
            out.newline(indent);
            out.token("", "}");
        }
    }
}

/// The highlighted lines of `v`.
fn highlighted_lines(v: &Value) -> Vec<String> {
    let mut out = Lines {
        lines: Vec::new(),
        current: String::new(),
    };
    walk(v, 0, &mut out);
    out.lines.push(out.current);
    out.lines
}

/// `v` as a highlighted, pretty-printed block, folded when long.
pub(crate) fn json_block(v: &Value) -> Markup {
    let lines = highlighted_lines(v);
    if lines.len() <= FOLD_LINES {
        return html! { pre.json { code { (PreEscaped(lines.join("\n"))) } } };
    }
    let head = lines.iter().take(HEAD_LINES).cloned().collect::<Vec<_>>();
    html! {
        details.fold.json-fold {
            summary {
                pre.json.head { code { (PreEscaped(head.join("\n"))) "\n…" } }
                span.more { "Show all (" (crate::format::count(lines.len() as u64)) " lines)" }
            }
            pre.json { code { (PreEscaped(lines.join("\n"))) } }
        }
    }
}

/// A value given as text: a JSON object or array in it is shown as highlighted JSON, anything
/// else as folded plain text (`dir="auto"`, so right-to-left scripts read right).
pub(crate) fn text_or_json(text: &str) -> Markup {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return json_block(&v);
        }
    }
    crate::trace::folded_text(text)
}

/// An attribute's value: JSON (given structured or as a JSON string) highlighted, long text
/// folded, a short scalar as is.
pub(crate) fn attr_block(v: &llmtrace_model::AttrValue) -> Markup {
    use llmtrace_model::AttrValue;
    match v {
        AttrValue::Str(s) => text_or_json(s),
        AttrValue::Array(_) | AttrValue::Map(_) => json_block(&v.to_json()),
        other => html! { (serde_json::to_string(other).unwrap_or_default()) },
    }
}

/// Any JSON value: a string through [`text_or_json`], the rest through [`json_block`].
pub(crate) fn value_block(v: &Value) -> Markup {
    match v {
        Value::String(s) => text_or_json(s),
        other => json_block(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn highlights_and_escapes() {
        let html = json_block(&json!({"a<b": "x</pre>", "n": 1.5, "t": true, "z": null, "l": [1]}))
            .into_string();
        assert!(
            html.contains(r#"<span class="jk">&quot;a&lt;b&quot;</span>"#),
            "{html}"
        );
        assert!(html.contains(r#"<span class="js">&quot;x&lt;/pre&gt;&quot;</span>"#));
        assert!(html.contains(r#"<span class="jn">1.5</span>"#));
        assert!(html.contains(r#"<span class="jl">true</span>"#));
        assert!(html.contains(r#"<span class="jl">null</span>"#));
        assert!(!html.contains("<details"), "short JSON is not folded");
    }

    #[test]
    fn long_json_folds_and_deep_json_is_bounded() {
        let long: Vec<u32> = (0..100).collect();
        let html = json_block(&json!(long)).into_string();
        assert!(html.contains("<details"));
        assert!(html.contains("Show all (102 lines)"), "{html}");
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let html = json_block(&deep).into_string();
        assert!(html.contains("[[["), "deep nesting ends as compact text");
    }

    #[test]
    fn text_that_is_json_is_highlighted() {
        assert!(text_or_json(r#"{"city":"Paris"}"#)
            .into_string()
            .contains("jk"));
        let plain = text_or_json("{not json").into_string();
        assert!(!plain.contains("jk") && plain.contains("{not json"));
    }
}
