//! LLM-as-judge calls (`kind = "llm_judge"`): the prompt of `llmtrace-evaluators` sent to the
//! configured endpoint, paced to `max_per_minute`, retried with exponential backoff on
//! transient failures (connection errors, timeouts, HTTP 429 and 5xx), and traced by llmtrace
//! itself: each evaluation is a trace of service `llmtrace-evaluator` (a root span linked to the
//! evaluated span, and an LLM span per attempt, read from the wire by `llmtrace-gateway` so it
//! carries the provider, models, messages, usage and response id), stored through the ingest
//! path with the score, so it is normalized and priced like any call.

use llmtrace_evaluators::{Evaluator, Judge, JudgeApi, EVALUATOR_SERVICE};
use llmtrace_gateway::{Api, Call, Collector, Ending};
use llmtrace_model::{AttrValue, Attributes, Score, Span, SpanId, SpanLink, StatusCode, TraceId};
use serde_json::Value;
use std::time::Duration;

/// Attempts per evaluation (the first call and its retries).
const ATTEMPTS: u32 = 3;
/// Wait before the first retry; doubled before each next one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Most bytes of an answer read.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Most bytes of a provider's error message kept.
const MAX_ERROR_BYTES: usize = 300;
/// The instrumentation scope of the judge's spans.
const SCOPE: &str = "llmtrace.evaluator";

/// What one evaluation gave.
pub(crate) enum Outcome {
    /// The span has nothing the prompt reads: no call was made.
    Nothing,
    /// The judge answered and its reply was read: the score and the trace of the call.
    Scored {
        /// The score.
        score: Box<Score>,
        /// The judge's trace.
        spans: Vec<Span>,
    },
    /// The call or its reply failed: why, and the trace of the attempts.
    Failed {
        /// The error.
        error: String,
        /// The judge's trace.
        spans: Vec<Span>,
    },
}

/// What one attempt gave.
enum Attempt {
    /// The reply's text.
    Reply(String),
    /// A transient failure: retry.
    Retry(String),
    /// A failure a retry cannot fix.
    Fatal(String),
}

/// Makes one judge's calls.
pub(crate) struct JudgeRunner {
    judge: Judge,
    http: reqwest::Client,
    key: Option<String>,
    url: String,
    host: String,
    /// When the next call may start.
    next_call: tokio::sync::Mutex<tokio::time::Instant>,
    /// Time between two calls (a minute over `max_per_minute`).
    interval: Duration,
}

impl JudgeRunner {
    /// A runner for `judge`; its API key is read from the environment now.
    pub(crate) fn new(name: &str, judge: &Judge) -> anyhow::Result<Self> {
        let key = match judge.api_key_env() {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                anyhow::anyhow!(
                    "evaluator {name:?}: api_key_env {var:?} names an environment variable that is not set"
                )
            })?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| anyhow::anyhow!("evaluator {name:?}: cannot build an HTTP client: {e}"))?;
        let url = judge.url();
        let host = reqwest::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        Ok(JudgeRunner {
            judge: judge.clone(),
            http,
            key,
            url,
            host,
            next_call: tokio::sync::Mutex::new(tokio::time::Instant::now()),
            interval: Duration::from_secs(60)
                .checked_div(judge.max_per_minute())
                .unwrap_or(Duration::from_secs(1)),
        })
    }

    /// Waits for this judge's next call slot (at most `max_per_minute` calls a minute).
    async fn pace(&self) {
        let slot = {
            let mut next = self.next_call.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot.checked_add(self.interval).unwrap_or(slot);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Judges `span` for `evaluator`: renders the prompt, calls (with retries), reads the
    /// reply, and builds the judge's trace.
    pub(crate) async fn evaluate(&self, evaluator: &Evaluator, span: &Span) -> Outcome {
        let Some(prompt) = self.judge.prompt_for(span) else {
            return Outcome::Nothing;
        };
        let request = self.judge.request_body(&prompt);
        let body = match serde_json::to_vec(&request) {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("cannot encode the request: {e}"),
                    spans: vec![],
                }
            }
        };
        let (trace_id, root_id) = random_ids();
        let start = now_unix_nano();
        let mut spans = Vec::new();
        let mut result = Err(String::new());
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            self.pace().await;
            let call = Call {
                api: match self.judge.api() {
                    JudgeApi::OpenAi => Api::OpenAiChat,
                    JudgeApi::Anthropic => Api::AnthropicMessages,
                },
                upstream: self.judge.api().as_str().into(),
                server_address: self.host.clone(),
                request: request.clone(),
                start_unix_nano: now_unix_nano(),
                capture_content: true,
                project: span.project.clone(),
                service: EVALUATOR_SERVICE.into(),
                session_id: None,
                user_id: None,
                trace_id,
                span_id: random_ids().1,
                parent_span_id: Some(root_id),
            };
            let (mut call_span, outcome) = self.attempt(&call, body.clone()).await;
            call_span.scope_name = SCOPE.into();
            spans.push(call_span);
            match outcome {
                Attempt::Reply(text) => {
                    result = Ok(text);
                    break;
                }
                Attempt::Retry(m) if attempt < ATTEMPTS => {
                    tracing::debug!(evaluator = %evaluator.name(), error = %m, attempt, "judge call failed; retrying");
                }
                Attempt::Retry(m) => {
                    result = Err(format!("{m} (after {ATTEMPTS} attempts)"));
                }
                Attempt::Fatal(m) => {
                    result = Err(m);
                    break;
                }
            }
        }
        let verdict = result.and_then(|reply| match self.judge.parse(&reply) {
            Ok(v) => Ok((v, reply)),
            Err(m) => Err(format!(
                "cannot read the reply {:?}: {m}",
                llmtrace_model::truncate_str(reply.trim().to_string(), MAX_ERROR_BYTES)
            )),
        });
        let mut root = root_span(evaluator, span, trace_id, root_id, start);
        match verdict {
            Ok((v, reply)) => {
                let score = Box::new(evaluator.judge_score(span, &v, &reply));
                let shown = match &v {
                    llmtrace_evaluators::Verdict::Label(l) => AttrValue::Str(l.clone()),
                    llmtrace_evaluators::Verdict::Number(n) => AttrValue::Double(*n),
                };
                root.attributes.push("llmtrace.evaluator.verdict", shown);
                spans.insert(0, root);
                Outcome::Scored { score, spans }
            }
            Err(error) => {
                root.status = StatusCode::Error;
                root.status_message = error.clone();
                spans.insert(0, root);
                Outcome::Failed { error, spans }
            }
        }
    }

    /// One call: its span and what it gave.
    async fn attempt(&self, call: &Call, body: Vec<u8>) -> (Span, Attempt) {
        let mut req = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (k, v) in self.judge.request_headers(self.key.as_deref()) {
            req = req.header(k, v);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else {
                    "connection_error"
                };
                // The error's text names the URL, never a header.
                let message = format!("{} unreachable: {e}", self.url);
                let span = llmtrace_gateway::span(
                    call,
                    None,
                    &Default::default(),
                    now_unix_nano(),
                    &Ending::Failed {
                        error_type: kind.into(),
                        message: message.clone(),
                    },
                );
                return (span, Attempt::Retry(message));
            }
        };
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut collector = Collector::new(call.api, &content_type, MAX_ANSWER_BYTES, true);
        let mut answer: Vec<u8> = Vec::new();
        let mut resp = resp;
        let mut broken = None;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    collector.feed(&chunk, now_unix_nano());
                    if answer.len().saturating_add(chunk.len()) <= MAX_ANSWER_BYTES {
                        answer.extend_from_slice(&chunk);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    broken = Some(format!("the answer of {} broke off: {e}", self.url));
                    break;
                }
            }
        }
        let end = now_unix_nano();
        let observed = collector.finish(end);
        let ending = match &broken {
            Some(m) => Ending::Failed {
                error_type: "stream_broken".into(),
                message: m.clone(),
            },
            None => Ending::Complete,
        };
        let span = llmtrace_gateway::span(call, Some(status.as_u16()), &observed, end, &ending);
        if let Some(m) = broken {
            return (span, Attempt::Retry(m));
        }
        let json: Option<Value> = serde_json::from_slice(&answer).ok();
        if status.is_success() {
            let outcome = match json.as_ref().and_then(|v| self.judge.reply_text(v)) {
                Some(text) => Attempt::Reply(text),
                None => Attempt::Fatal(format!("the answer of {} has no text", self.url)),
            };
            return (span, outcome);
        }
        let message = format!(
            "{} answered HTTP {}: {}",
            self.url,
            status.as_u16(),
            error_message(json.as_ref(), &answer)
        );
        let outcome = if status.as_u16() == 429 || status.is_server_error() {
            Attempt::Retry(message)
        } else {
            Attempt::Fatal(message)
        };
        (span, outcome)
    }
}

/// A provider's error message: `error.message` of the OpenAI and Anthropic shapes, else the
/// start of the body.
fn error_message(json: Option<&Value>, body: &[u8]) -> String {
    let text = json
        .and_then(|v| v.get("error"))
        .and_then(|e| e.get("message").and_then(Value::as_str).or(e.as_str()))
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    llmtrace_model::truncate_str(text, MAX_ERROR_BYTES)
}

/// The root span of a judge's trace: the evaluation, linked to the span it judges.
fn root_span(
    evaluator: &Evaluator,
    judged: &Span,
    trace_id: TraceId,
    span_id: SpanId,
    start: u64,
) -> Span {
    let mut a = Attributes::default();
    a.push(
        "llmtrace.evaluator.name",
        AttrValue::Str(evaluator.name().into()),
    );
    a.push(
        "llmtrace.evaluator.target.trace_id",
        AttrValue::Str(judged.trace_id.to_hex()),
    );
    a.push(
        "llmtrace.evaluator.target.span_id",
        AttrValue::Str(judged.span_id.to_hex()),
    );
    let mut resource = Attributes::default();
    resource.push("service.name", AttrValue::Str(EVALUATOR_SERVICE.into()));
    Span {
        project: judged.project.clone(),
        trace_id,
        span_id,
        parent_span_id: None,
        name: format!("evaluate {}", evaluator.name()),
        service: EVALUATOR_SERVICE.into(),
        start_unix_nano: start,
        end_unix_nano: now_unix_nano().max(start),
        otel_kind: 1,
        attributes: a,
        resource_attributes: std::sync::Arc::new(resource),
        scope_name: SCOPE.into(),
        scope_version: env!("CARGO_PKG_VERSION").into(),
        links: vec![SpanLink {
            trace_id: judged.trace_id,
            span_id: judged.span_id,
            attributes: Attributes::default(),
        }],
        ..Default::default()
    }
}

/// A fresh random trace id and span id (never all zero).
fn random_ids() -> (TraceId, SpanId) {
    loop {
        let t: [u8; 16] = rand::random();
        let s: [u8; 8] = rand::random();
        if let (Ok(t), Ok(s)) = (TraceId::from_bytes(&t), SpanId::from_bytes(&s)) {
            return (t, s);
        }
    }
}

/// Now, in Unix nanoseconds.
pub(crate) fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}
