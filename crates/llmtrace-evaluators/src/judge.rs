//! LLM-as-judge evaluators, the pure half: the prompt rendered from a span's input and output,
//! the request body of the judge's API (OpenAI-compatible Chat Completions or Anthropic
//! Messages), the reply's text, and the score parsers (a label among the configured ones, or a
//! number within a range). The server makes the call, retries it and traces it.

use crate::ConfigError;
use llmtrace_model::{MessagePart, Span};
use serde_json::{json, Value};

/// The service of the traces of the judge's own calls. Spans of this service are never
/// evaluated (a judge would otherwise judge itself).
pub const EVALUATOR_SERVICE: &str = "llmtrace-evaluator";

/// Most bytes of a span's input, and of its output, put into a prompt (longer text is cut with
/// a visible marker), so one huge span cannot make a huge judge call.
pub const MAX_RENDERED_BYTES: usize = 32 * 1024;

/// Most bytes of the judge's reply kept as the score's comment.
pub const MAX_COMMENT_BYTES: usize = 2_000;

/// Output tokens assumed per judge call when estimating the cost of a run.
pub const ESTIMATED_OUTPUT_TOKENS: u64 = 50;

/// `max_tokens` of an Anthropic request (the Messages API requires one).
pub const ANTHROPIC_MAX_TOKENS: u64 = 256;

/// Judge calls per minute when `max_per_minute` is not given.
pub const DEFAULT_MAX_PER_MINUTE: u32 = 60;

/// The API a judge calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgeApi {
    /// OpenAI-compatible `POST {endpoint}/chat/completions`.
    OpenAi,
    /// Anthropic `POST {endpoint}/messages`.
    Anthropic,
}

impl JudgeApi {
    /// The config file's name, also the provider of the judge's spans.
    pub fn as_str(self) -> &'static str {
        match self {
            JudgeApi::OpenAi => "openai",
            JudgeApi::Anthropic => "anthropic",
        }
    }

    /// The path appended to the endpoint.
    pub fn path(self) -> &'static str {
        match self {
            JudgeApi::OpenAi => "/chat/completions",
            JudgeApi::Anthropic => "/messages",
        }
    }

    /// The endpoint used when none is configured.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            JudgeApi::OpenAi => "https://api.openai.com/v1",
            JudgeApi::Anthropic => "https://api.anthropic.com/v1",
        }
    }
}

/// How the judge's reply becomes a score.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreParser {
    /// One of these labels (a `CATEGORICAL` score).
    Labels(Vec<String>),
    /// The first number of the reply, within the bounds when set (a `NUMERIC` score).
    Numeric {
        /// Smallest accepted value.
        min: Option<f64>,
        /// Largest accepted value.
        max: Option<f64>,
    },
}

/// What a judge's reply says.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// One of the configured labels.
    Label(String),
    /// A number.
    Number(f64),
}

/// A validated LLM-as-judge configuration.
#[derive(Debug, Clone)]
pub struct Judge {
    api: JudgeApi,
    endpoint: String,
    model: String,
    api_key_env: Option<String>,
    prompt: String,
    parser: ScoreParser,
    max_per_minute: u32,
}

impl Judge {
    /// Validates the judge fields of a configuration.
    pub(crate) fn from_config(
        c: &crate::EvaluatorConfig,
        invalid: &dyn Fn(&str) -> ConfigError,
    ) -> Result<Judge, ConfigError> {
        if crate::rule::Rule::any_set(c) {
            return Err(invalid(
                "rule fields (output_contains, output_matches, output_is_json, max_latency_ms, max_cost_usd, max_tokens) do not apply to kind = \"llm_judge\"",
            ));
        }
        let prompt = c
            .prompt
            .clone()
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| {
                invalid("prompt is required (a template with {{input}} and {{output}})")
            })?;
        if !prompt.contains("{{input}}") && !prompt.contains("{{output}}") {
            return Err(invalid(
                "prompt must contain {{input}} or {{output}} (the span's input messages, its output text)",
            ));
        }
        let api = match c.api.as_deref().map(str::trim) {
            None | Some("openai") => JudgeApi::OpenAi,
            Some("anthropic") => JudgeApi::Anthropic,
            Some(other) => {
                return Err(invalid(&format!(
                    "api {other:?} is not supported (\"openai\" for OpenAI-compatible chat completions, \"anthropic\" for the Messages API)"
                )))
            }
        };
        let endpoint = c
            .endpoint
            .as_deref()
            .map(str::trim)
            .unwrap_or(api.default_endpoint())
            .trim_end_matches('/')
            .to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            || endpoint.len() <= "https://".len()
        {
            return Err(invalid(
                "endpoint must be an http:// or https:// base URL, e.g. https://api.openai.com/v1",
            ));
        }
        let model = c
            .judge_model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| invalid("judge_model is required (the model that judges)"))?
            .to_string();
        let api_key_env = match c.api_key_env.as_deref().map(str::trim) {
            Some("") => return Err(invalid("api_key_env must name an environment variable")),
            other => other.map(str::to_string),
        };
        let parser = match &c.labels {
            Some(labels) => {
                if c.min.is_some() || c.max.is_some() {
                    return Err(invalid("give labels or min/max, not both"));
                }
                let labels: Vec<String> = labels.iter().map(|l| l.trim().to_string()).collect();
                if labels.is_empty() || labels.iter().any(String::is_empty) {
                    return Err(invalid(
                        "labels must be a non-empty list of non-empty strings",
                    ));
                }
                let mut lower: Vec<String> = labels.iter().map(|l| l.to_lowercase()).collect();
                lower.sort();
                lower.dedup();
                if lower.len() != labels.len() {
                    return Err(invalid("labels must differ (ignoring case)"));
                }
                ScoreParser::Labels(labels)
            }
            None => {
                if [c.min, c.max].into_iter().flatten().any(|v| !v.is_finite()) {
                    return Err(invalid("min and max must be finite numbers"));
                }
                if let (Some(lo), Some(hi)) = (c.min, c.max) {
                    if lo > hi {
                        return Err(invalid("min must not exceed max"));
                    }
                }
                ScoreParser::Numeric {
                    min: c.min,
                    max: c.max,
                }
            }
        };
        let max_per_minute = c.max_per_minute.unwrap_or(DEFAULT_MAX_PER_MINUTE);
        if !(1..=60_000).contains(&max_per_minute) {
            return Err(invalid("max_per_minute must be between 1 and 60000"));
        }
        Ok(Judge {
            api,
            endpoint,
            model,
            api_key_env,
            prompt,
            parser,
            max_per_minute,
        })
    }

    /// Whether any judge field of `c` is set.
    pub(crate) fn any_set(c: &crate::EvaluatorConfig) -> bool {
        c.prompt.is_some()
            || c.api.is_some()
            || c.endpoint.is_some()
            || c.judge_model.is_some()
            || c.api_key_env.is_some()
            || c.labels.is_some()
            || c.min.is_some()
            || c.max.is_some()
            || c.max_per_minute.is_some()
    }

    /// The API called.
    pub fn api(&self) -> JudgeApi {
        self.api
    }

    /// The base URL (without a trailing `/`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The judge model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The environment variable holding the API key, if one is needed.
    pub fn api_key_env(&self) -> Option<&str> {
        self.api_key_env.as_deref()
    }

    /// The score parser.
    pub fn parser(&self) -> &ScoreParser {
        &self.parser
    }

    /// Most calls a minute (retries included).
    pub fn max_per_minute(&self) -> u32 {
        self.max_per_minute
    }

    /// The URL called: the endpoint and the API's path (unless the endpoint already ends with it).
    pub fn url(&self) -> String {
        if self.endpoint.ends_with(self.api.path()) {
            self.endpoint.clone()
        } else {
            format!("{}{}", self.endpoint, self.api.path())
        }
    }

    /// The prompt for `span` (its input and output put into the template), or `None` when
    /// every placeholder the template uses would be empty: nothing to judge.
    pub fn prompt_for(&self, span: &Span) -> Option<String> {
        let input = if self.prompt.contains("{{input}}") {
            input_text(span)
        } else {
            String::new()
        };
        let output = if self.prompt.contains("{{output}}") {
            output_text(span)
        } else {
            String::new()
        };
        if input.is_empty() && output.is_empty() {
            return None;
        }
        Some(render_template(&self.prompt, &input, &output))
    }

    /// The request body: the prompt as one user message, temperature 0.
    pub fn request_body(&self, prompt: &str) -> Value {
        match self.api {
            JudgeApi::OpenAi => json!({
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": 0,
            }),
            JudgeApi::Anthropic => json!({
                "model": self.model,
                "max_tokens": ANTHROPIC_MAX_TOKENS,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": 0,
            }),
        }
    }

    /// The request headers beside `content-type`, with the API key when there is one.
    pub fn request_headers(&self, key: Option<&str>) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        match self.api {
            JudgeApi::OpenAi => {
                if let Some(k) = key {
                    h.push(("authorization", format!("Bearer {k}")));
                }
            }
            JudgeApi::Anthropic => {
                h.push(("anthropic-version", "2023-06-01".to_string()));
                if let Some(k) = key {
                    h.push(("x-api-key", k.to_string()));
                }
            }
        }
        h
    }

    /// The text of a successful answer, or `None` when it carries none.
    pub fn reply_text(&self, body: &Value) -> Option<String> {
        let text = match self.api {
            JudgeApi::OpenAi => {
                let content = body
                    .get("choices")?
                    .as_array()?
                    .first()?
                    .get("message")?
                    .get("content")?;
                match content {
                    Value::String(s) => s.clone(),
                    Value::Array(parts) => text_blocks(parts),
                    _ => return None,
                }
            }
            JudgeApi::Anthropic => text_blocks(body.get("content")?.as_array()?),
        };
        (!text.trim().is_empty()).then_some(text)
    }

    /// The verdict of a reply, or why it cannot be read.
    pub fn parse(&self, reply: &str) -> Result<Verdict, String> {
        match &self.parser {
            ScoreParser::Labels(labels) => parse_label(labels, reply).map(Verdict::Label),
            ScoreParser::Numeric { min, max } => {
                let v = first_number(reply).ok_or("the reply holds no number")?;
                if min.is_some_and(|lo| v < lo) || max.is_some_and(|hi| v > hi) {
                    return Err(format!(
                        "{v} is outside {}..{}",
                        min.map_or("".into(), |x| x.to_string()),
                        max.map_or("".into(), |x| x.to_string())
                    ));
                }
                Ok(Verdict::Number(v))
            }
        }
    }
}

/// Tokens a prompt is estimated to take: a token per 4 characters, plus a little for the
/// message framing.
pub fn estimated_tokens(prompt: &str) -> u64 {
    u64::try_from(prompt.chars().count())
        .unwrap_or(u64::MAX)
        .div_ceil(4)
        .saturating_add(10)
}

/// `template` with `{{input}}` and `{{output}}` replaced (in one pass: text put in is never
/// read as a placeholder again); other `{{...}}` are left as written.
pub fn render_template(template: &str, input: &str, output: &str) -> String {
    let mut out = String::with_capacity(
        template
            .len()
            .saturating_add(input.len())
            .saturating_add(output.len()),
    );
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        if let Some(after) = from.strip_prefix("{{input}}") {
            out.push_str(input);
            rest = after;
        } else if let Some(after) = from.strip_prefix("{{output}}") {
            out.push_str(output);
            rest = after;
        } else {
            out.push_str("{{");
            rest = from.get(2..).unwrap_or("");
        }
    }
    out.push_str(rest);
    out
}

/// A span's input as readable text: the system instructions, then each input message as
/// `role: text` (tool calls and results in brackets), cut at [`MAX_RENDERED_BYTES`].
pub fn input_text(span: &Span) -> String {
    let mut lines = Vec::new();
    let system = parts_text(&span.gen_ai.system_instructions);
    if !system.is_empty() {
        lines.push(format!("system: {system}"));
    }
    for m in &span.gen_ai.input_messages {
        let text = parts_text(&m.parts);
        if !text.is_empty() {
            lines.push(format!("{}: {text}", m.role));
        }
    }
    llmtrace_model::truncate_str(lines.join("\n"), MAX_RENDERED_BYTES)
}

/// A span's output as readable text: the text (and tool calls) of its output messages, one
/// choice a line, cut at [`MAX_RENDERED_BYTES`].
pub fn output_text(span: &Span) -> String {
    let choices: Vec<String> = span
        .gen_ai
        .output_messages
        .iter()
        .map(|m| parts_text(&m.parts))
        .filter(|t| !t.is_empty())
        .collect();
    llmtrace_model::truncate_str(choices.join("\n"), MAX_RENDERED_BYTES)
}

fn parts_text(parts: &[MessagePart]) -> String {
    let mut out = String::new();
    for p in parts {
        let piece = match p {
            MessagePart::Text { content } => content.clone(),
            MessagePart::ToolCall {
                name, arguments, ..
            } => match arguments {
                Some(a) => format!("[tool call {name} {a}]"),
                None => format!("[tool call {name}]"),
            },
            MessagePart::ToolCallResponse { response, .. } => match response {
                Value::String(s) => format!("[tool result {s}]"),
                other => format!("[tool result {other}]"),
            },
            MessagePart::Reasoning { .. } | MessagePart::Other(_) => continue,
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    out
}

/// The text of `{"type": "text", "text": ...}` blocks, joined.
fn text_blocks(blocks: &[Value]) -> String {
    blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("")
}

/// The label a reply gives: the whole reply when it is a label (ignoring case, spaces and
/// punctuation around it), else the label whose first whole-word occurrence comes first (the
/// longer one on a tie).
pub fn parse_label(labels: &[String], reply: &str) -> Result<String, String> {
    let bare = reply
        .trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    if let Some(l) = labels.iter().find(|l| l.to_lowercase() == bare) {
        return Ok(l.clone());
    }
    let lower = reply.to_lowercase();
    let mut best: Option<(usize, usize, &String)> = None;
    for label in labels {
        let needle = label.to_lowercase();
        let found = lower.match_indices(needle.as_str()).find(|(at, _)| {
            let before = lower.get(..*at).and_then(|s| s.chars().next_back());
            let after = at
                .checked_add(needle.len())
                .and_then(|end| lower.get(end..))
                .and_then(|s| s.chars().next());
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        });
        if let Some((at, _)) = found {
            let better = match best {
                None => true,
                Some((b_at, b_len, _)) => at < b_at || (at == b_at && needle.len() > b_len),
            };
            if better {
                best = Some((at, needle.len(), label));
            }
        }
    }
    best.map(|(_, _, l)| l.clone())
        .ok_or_else(|| format!("the reply names none of the labels {}", labels.join(", ")))
}

/// The first number in `text` (`4`, `-2`, `3.5`), if any.
pub fn first_number(text: &str) -> Option<f64> {
    let mut prev: Option<(usize, char)> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_ascii_digit() {
            let start = match prev {
                Some((j, '-')) => j,
                _ => i,
            };
            let mut end = i.saturating_add(1);
            let mut seen_dot = false;
            while let Some(&(k, d)) = chars.peek() {
                let next_is_digit = || {
                    k.checked_add(1)
                        .and_then(|n| text.get(n..))
                        .and_then(|s| s.chars().next())
                        .is_some_and(|n| n.is_ascii_digit())
                };
                if d.is_ascii_digit() {
                    end = k.saturating_add(1);
                } else if d == '.' && !seen_dot && next_is_digit() {
                    seen_dot = true;
                    end = k.saturating_add(1);
                } else {
                    break;
                }
                chars.next();
            }
            return text.get(start..end)?.parse().ok();
        }
        prev = Some((i, c));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::Message;

    #[test]
    fn templates_fill_in_one_pass() {
        assert_eq!(
            render_template(
                "Q: {{input}}\nA: {{output}}\n{{other}} {{",
                "hi {{output}}",
                "yo"
            ),
            "Q: hi {{output}}\nA: yo\n{{other}} {{"
        );
        assert_eq!(
            render_template("no placeholders", "a", "b"),
            "no placeholders"
        );
        assert_eq!(render_template("{{input}}{{input}}", "x", ""), "xx");
    }

    #[test]
    fn spans_render_as_readable_text() {
        let mut s = Span::default();
        s.gen_ai.system_instructions = vec![MessagePart::Text {
            content: "Be brief.".into(),
        }];
        s.gen_ai.input_messages = vec![
            Message::text("user", "Capital of France?"),
            Message {
                role: "assistant".into(),
                parts: vec![MessagePart::ToolCall {
                    id: None,
                    name: "lookup".into(),
                    arguments: Some(json!({"q": "France"})),
                }],
                name: None,
                finish_reason: None,
            },
            Message {
                role: "tool".into(),
                parts: vec![MessagePart::ToolCallResponse {
                    id: None,
                    response: json!("Paris"),
                }],
                name: None,
                finish_reason: None,
            },
        ];
        s.gen_ai.output_messages = vec![Message::text("assistant", "Paris.")];
        assert_eq!(
            input_text(&s),
            "system: Be brief.\nuser: Capital of France?\nassistant: [tool call lookup {\"q\":\"France\"}]\ntool: [tool result Paris]"
        );
        assert_eq!(output_text(&s), "Paris.");
        s.gen_ai.output_messages = vec![Message::text("assistant", "x".repeat(100_000))];
        let out = output_text(&s);
        assert!(out.len() < 40_000 && out.contains("truncated by llmtrace"));
    }

    #[test]
    fn labels_parse_from_the_reply() {
        let labels = vec![
            "good".to_string(),
            "bad".to_string(),
            "very good".to_string(),
        ];
        let p = |r: &str| parse_label(&labels, r);
        assert_eq!(p("Good.").unwrap(), "good");
        assert_eq!(p("  \"BAD\"\n").unwrap(), "bad");
        assert_eq!(p("Verdict: bad, not good at all").unwrap(), "bad");
        assert_eq!(p("very good: accurate").unwrap(), "very good");
        assert_eq!(p("goodness knows; bad").unwrap(), "bad");
        assert!(p("excellent").unwrap_err().contains("none of the labels"));
        assert!(p("").is_err());
    }

    #[test]
    fn numbers_parse_from_the_reply() {
        assert_eq!(first_number("Score: 4 out of 5"), Some(4.0));
        assert_eq!(first_number("3.5."), Some(3.5));
        assert_eq!(first_number("x -2 y"), Some(-2.0));
        assert_eq!(first_number("v1.2.3"), Some(1.2));
        assert_eq!(first_number("4/5"), Some(4.0));
        assert_eq!(first_number("none"), None);
        assert_eq!(first_number("é9"), Some(9.0));
    }
}
