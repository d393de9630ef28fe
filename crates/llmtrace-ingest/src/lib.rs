//! The one ingest path every transport calls (OTLP/HTTP, OTLP/gRPC, and later the Langfuse and
//! LangSmith endpoints): decode → normalize → price → submit to the pipeline → wait for the
//! durable acknowledgement. Every failure is classified here, once, as an [`ErrorClass`]; transports only
//! translate the class with [`ErrorClass::http_status`], [`ErrorClass::grpc_code`] and
//! [`ErrorClass::retry_after`].

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap
    )
)]

mod counters;
mod error;
mod prices;
mod rate;

pub use counters::{IngestCounters, IngestCounts};
pub use error::{ErrorClass, IngestError};
pub use llmtrace_otlp::{ConvertLimits, DecodeLimits, Format, Rejected};
pub use prices::PriceTable;
pub use rate::{RateSlot, RATE_SLOT_SECONDS};

use llmtrace_normalize::Normalizer;
use llmtrace_otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use llmtrace_pipeline::{AckError, Pipeline, SubmitError};
use llmtrace_store::WriteBatch;

/// Limits of the ingest path.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Largest decompressed body accepted (a gzip body may not expand past this).
    pub max_decompressed_bytes: usize,
    /// Conversion limits (attribute value truncation).
    pub convert: ConvertLimits,
    /// Caps on what one request may decode into, counted before decoding.
    pub decode: llmtrace_otlp::DecodeLimits,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_decompressed_bytes: 64 * 1024 * 1024,
            convert: ConvertLimits::default(),
            decode: llmtrace_otlp::DecodeLimits::default(),
        }
    }
}

/// What an export did: items stored, and items rejected with the first reason (OTLP
/// `partial_success`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOutcome {
    /// Items durably stored (or, for metrics, accepted).
    pub accepted: u64,
    /// Items rejected.
    pub rejected: Rejected,
}

/// A body as it came off the wire.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// Their encoding.
    pub format: Format,
    /// Whether they are gzip-compressed (`Content-Encoding: gzip`).
    pub gzip: bool,
}

/// A trace export decoded, converted, normalized and priced: ready to be stored
/// ([`Ingestor::store_prepared`]).
#[derive(Debug)]
pub struct PreparedTraces {
    spans: Vec<llmtrace_model::Span>,
    rejected: Rejected,
    wire_bytes: usize,
}

/// The ingest path.
pub struct Ingestor {
    pipeline: Pipeline,
    normalizer: Normalizer,
    prices: std::sync::Arc<PriceTable>,
    config: IngestConfig,
    counters: IngestCounters,
}

impl Ingestor {
    /// Builds the ingest path over a running pipeline and a price table.
    pub fn new(
        pipeline: Pipeline,
        prices: std::sync::Arc<PriceTable>,
        config: IngestConfig,
    ) -> Self {
        Ingestor {
            pipeline,
            normalizer: Normalizer::new(),
            prices,
            config,
            counters: IngestCounters::default(),
        }
    }

    /// Counters of what came in and what was refused.
    pub fn counters(&self) -> &IngestCounters {
        &self.counters
    }

    /// The price table in effect.
    pub fn prices(&self) -> &std::sync::Arc<PriceTable> {
        &self.prices
    }

    /// The caps on what one request may decode into (also applied by the receivers of other
    /// wires: Langfuse events, OpenAI Agents items, LangSmith runs).
    pub fn decode_limits(&self) -> DecodeLimits {
        self.config.decode
    }

    /// The pipeline (for its statistics).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    fn inflate<'a>(&self, body: Body<'a>) -> Result<std::borrow::Cow<'a, [u8]>, IngestError> {
        if body.gzip {
            llmtrace_otlp::gunzip_limited(body.bytes, self.config.max_decompressed_bytes)
                .map(std::borrow::Cow::Owned)
                .map_err(IngestError::from_decode)
        } else {
            Ok(std::borrow::Cow::Borrowed(body.bytes))
        }
    }

    /// Counts what `raw` would decode into and refuses it (413) past the decode limits.
    fn census(
        &self,
        raw: &[u8],
        format: Format,
        signal: llmtrace_otlp::Signal,
    ) -> Result<(), IngestError> {
        llmtrace_otlp::census(raw, format, signal, self.config.decode)
            .map(|_| ())
            .map_err(IngestError::from_decode)
    }

    /// Decodes and stores a trace export body.
    pub async fn export_traces_body(
        &self,
        project: &str,
        body: Body<'_>,
    ) -> Result<ExportOutcome, IngestError> {
        let prepared = self.prepare_traces_body(project, body)?;
        self.store_prepared(prepared).await
    }

    /// All the CPU work of a trace export body, synchronous (a transport may run it off its
    /// async workers): inflate, count, decode, convert, normalize and price.
    pub fn prepare_traces_body(
        &self,
        project: &str,
        body: Body<'_>,
    ) -> Result<PreparedTraces, IngestError> {
        let decoded = self.inflate(body).and_then(|raw| {
            self.census(&raw, body.format, llmtrace_otlp::Signal::Traces)?;
            let req = llmtrace_otlp::decode_traces(&raw, body.format)
                .map_err(IngestError::from_decode)?;
            Ok((req, raw.len()))
        });
        let (req, wire_bytes) = decoded.inspect_err(|e| self.counters.request_rejected(e.class))?;
        Ok(self.prepare_traces(project, req, wire_bytes))
    }

    /// Converts, normalizes and prices a decoded trace export, synchronously; `wire_bytes`
    /// sizes it for the queue bound.
    pub fn prepare_traces(
        &self,
        project: &str,
        req: ExportTraceServiceRequest,
        wire_bytes: usize,
    ) -> PreparedTraces {
        let converted = llmtrace_otlp::spans_from_request(req, project, &self.config.convert);
        self.counters
            .received(usize::try_from(converted.rejected.count).unwrap_or(usize::MAX));
        self.counters
            .spans_rejected(ErrorClass::BadRequest, converted.rejected.count);
        let mut spans = converted.items;
        self.normalize_and_price(&mut spans, true);
        PreparedTraces {
            spans,
            rejected: converted.rejected,
            wire_bytes,
        }
    }

    /// Stores a prepared trace export; answers when it is durable.
    pub async fn store_prepared(
        &self,
        prepared: PreparedTraces,
    ) -> Result<ExportOutcome, IngestError> {
        // Evaluation results sent as span events score the span that carries them.
        let scores = llmtrace_normalize::evaluation::scores_from_span_events(&prepared.spans);
        let mut outcome = self
            .submit_spans(prepared.spans, scores, prepared.wire_bytes)
            .await?;
        outcome.rejected = prepared.rejected;
        Ok(outcome)
    }

    /// Normalizes and stores a decoded trace export; `wire_bytes` sizes it for the queue bound.
    pub async fn export_traces(
        &self,
        project: &str,
        req: ExportTraceServiceRequest,
        wire_bytes: usize,
    ) -> Result<ExportOutcome, IngestError> {
        let prepared = self.prepare_traces(project, req, wire_bytes);
        self.store_prepared(prepared).await
    }

    /// Prices and stores spans that a receiver already normalized from its own wire format (the
    /// LangSmith run endpoints build finished [`llmtrace_model::Span`]s directly, with no OTel
    /// attributes to normalize); `wire_bytes` sizes them for the queue bound.
    pub async fn export_spans(
        &self,
        spans: Vec<llmtrace_model::Span>,
        wire_bytes: usize,
    ) -> Result<ExportOutcome, IngestError> {
        let spans = self.truncated(spans);
        self.store_spans(spans, false, vec![], wire_bytes).await
    }

    /// The spans of a JSON wire with `--max-attribute-bytes` applied, as the OTLP conversion
    /// applies it: the limit holds on every path.
    fn truncated(&self, mut spans: Vec<llmtrace_model::Span>) -> Vec<llmtrace_model::Span> {
        let max = self.config.convert.max_attribute_value_bytes;
        for span in &mut spans {
            span.truncate_strings(max);
        }
        spans
    }

    /// Decodes and stores a logs export body.
    pub async fn export_logs_body(
        &self,
        project: &str,
        body: Body<'_>,
    ) -> Result<ExportOutcome, IngestError> {
        let raw = self.inflate(body)?;
        self.census(&raw, body.format, llmtrace_otlp::Signal::Logs)?;
        let req =
            llmtrace_otlp::decode_logs(&raw, body.format).map_err(IngestError::from_decode)?;
        self.export_logs(project, req, raw.len()).await
    }

    /// Stores a decoded logs export.
    pub async fn export_logs(
        &self,
        project: &str,
        req: ExportLogsServiceRequest,
        wire_bytes: usize,
    ) -> Result<ExportOutcome, IngestError> {
        let converted = llmtrace_otlp::logs_from_request(req, project, &self.config.convert);
        let accepted = converted.items.len() as u64;
        // Evaluation results (`gen_ai.evaluation.result`) are kept as logs and become scores.
        let scores = llmtrace_normalize::evaluation::scores_from_logs(&converted.items);
        self.submit(
            WriteBatch {
                spans: vec![],
                logs: converted.items,
                scores,
            },
            wire_bytes,
        )
        .await?;
        Ok(ExportOutcome {
            accepted,
            rejected: converted.rejected,
        })
    }

    /// Decodes a metrics export body and acknowledges it. Metrics are validated and counted but
    /// not stored: llmtrace derives its LLM metrics from spans, and accepting the export keeps
    /// exporters that send metrics by default (OpenLLMetry, OpenLIT) from logging errors.
    pub async fn export_metrics_body(&self, body: Body<'_>) -> Result<ExportOutcome, IngestError> {
        let raw = self.inflate(body)?;
        let req =
            llmtrace_otlp::decode_metrics(&raw, body.format).map_err(IngestError::from_decode)?;
        Ok(self.export_metrics(&req))
    }

    /// Acknowledges a decoded metrics export (see [`Ingestor::export_metrics_body`]).
    pub fn export_metrics(&self, req: &ExportMetricsServiceRequest) -> ExportOutcome {
        let accepted = req
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .map(|s| u64::try_from(s.metrics.len()).unwrap_or(u64::MAX))
            .fold(0, u64::saturating_add);
        ExportOutcome {
            accepted,
            rejected: Rejected::default(),
        }
    }

    /// Stores scores (a score with the id of a stored one replaces it).
    pub async fn export_scores(
        &self,
        scores: Vec<llmtrace_model::Score>,
    ) -> Result<ExportOutcome, IngestError> {
        let accepted = scores.len() as u64;
        let bytes = scores
            .iter()
            .map(|s| {
                256usize
                    .saturating_add(s.name.len())
                    .saturating_add(s.comment.as_ref().map_or(0, String::len))
            })
            .fold(0usize, usize::saturating_add);
        self.submit(
            WriteBatch {
                scores,
                ..Default::default()
            },
            bytes,
        )
        .await?;
        Ok(ExportOutcome {
            accepted,
            rejected: Rejected::default(),
        })
    }

    /// Normalizes and prices spans built by another receiver from its own wire format (as
    /// OTel-style attributes, e.g. the Langfuse ingestion API), and stores them together with
    /// `scores` in one atomic batch.
    pub async fn export_raw_spans(
        &self,
        spans: Vec<llmtrace_model::Span>,
        scores: Vec<llmtrace_model::Score>,
        wire_bytes: usize,
    ) -> Result<ExportOutcome, IngestError> {
        let spans = self.truncated(spans);
        self.store_spans(spans, true, scores, wire_bytes).await
    }

    /// The stages after decoding, shared by every receiver: normalize (when the spans still
    /// carry dialect attributes to interpret), price, and store with `scores` in one atomic
    /// batch.
    async fn store_spans(
        &self,
        mut spans: Vec<llmtrace_model::Span>,
        normalize: bool,
        scores: Vec<llmtrace_model::Score>,
        wire_bytes: usize,
    ) -> Result<ExportOutcome, IngestError> {
        self.normalize_and_price(&mut spans, normalize);
        // Evaluation results sent as span events score the span that carries them.
        let mut scores = scores;
        scores.extend(llmtrace_normalize::evaluation::scores_from_span_events(
            &spans,
        ));
        self.submit_spans(spans, scores, wire_bytes).await
    }

    /// Normalizes (when the spans still carry dialect attributes) and prices spans.
    fn normalize_and_price(&self, spans: &mut [llmtrace_model::Span], normalize: bool) {
        let book = self.prices.current();
        for span in spans {
            if normalize {
                self.normalizer.normalize(span);
            }
            llmtrace_pricing::apply(&book, span);
            provider_from_price(&book, span);
        }
    }

    /// Submits normalized, priced spans with `scores` as one atomic batch; answers when durable.
    async fn submit_spans(
        &self,
        spans: Vec<llmtrace_model::Span>,
        scores: Vec<llmtrace_model::Score>,
        wire_bytes: usize,
    ) -> Result<ExportOutcome, IngestError> {
        let accepted = u64::try_from(spans.len().saturating_add(scores.len())).unwrap_or(u64::MAX);
        let span_count = spans.len();
        // The queue bound counts what the batch holds in memory, at least its wire size.
        let in_memory = spans
            .iter()
            .fold(0usize, |n, s| n.saturating_add(s.memory_estimate()));
        let wire_bytes = wire_bytes.max(in_memory);
        self.counters.received(span_count);
        let result = self
            .submit(
                WriteBatch {
                    spans,
                    logs: vec![],
                    scores,
                },
                wire_bytes,
            )
            .await;
        match &result {
            Ok(()) => self.counters.accepted(span_count),
            Err(e) => self.counters.spans_rejected(e.class, span_count as u64),
        }
        result?;
        Ok(ExportOutcome {
            accepted,
            rejected: Rejected::default(),
        })
    }

    async fn submit(&self, batch: WriteBatch, bytes: usize) -> Result<(), IngestError> {
        if batch.spans.is_empty() && batch.logs.is_empty() && batch.scores.is_empty() {
            return Ok(());
        }
        let ack = self.pipeline.submit(batch, bytes).map_err(|e| match e {
            SubmitError::Overloaded { .. } => {
                IngestError::new(ErrorClass::Overloaded, e.to_string())
            }
            SubmitError::TooLarge { .. } => {
                IngestError::new(ErrorClass::PayloadTooLarge, e.to_string())
            }
            SubmitError::ProjectQuota { .. } => {
                IngestError::new(ErrorClass::QuotaExceeded, e.to_string())
            }
            SubmitError::ShuttingDown => IngestError::new(ErrorClass::Unavailable, e.to_string()),
        })?;
        ack.wait().await.map_err(|e| match e {
            AckError::Unavailable(_) => IngestError::new(ErrorClass::Unavailable, e.to_string()),
            AckError::Failed(detail) => {
                // The store's own words (paths, SQL, server messages) stay in the server's log.
                tracing::error!(error = %detail, "a batch could not be stored");
                IngestError::new(
                    ErrorClass::Internal,
                    "the batch could not be stored (the server's log has the cause)",
                )
            }
        })
    }
}

/// Fills the provider of a priced model call that names none (LiteLLM's embedding spans) from
/// the price entry that matched its model, and says so in the span's attributes
/// (`llmtrace.provider_from_price` = the entry's id).
pub fn provider_from_price(book: &llmtrace_pricing::PriceBook, span: &mut llmtrace_model::Span) {
    if span.gen_ai.provider.is_some() || !span.kind.is_model_call() {
        return;
    }
    let Some(price_id) = span.cost.price_id.clone() else {
        return;
    };
    let entry = [
        span.gen_ai.response_model.as_deref(),
        span.gen_ai.request_model.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find_map(|m| {
        book.lookup_for_project(&span.project, None, m, span.start_unix_nano)
            .filter(|e| e.id == price_id)
    });
    let Some(provider) = entry
        .and_then(|e| e.provider.as_deref())
        .and_then(llmtrace_normalize::alias::canonical_provider)
    else {
        return;
    };
    span.gen_ai.provider = Some(provider.into_owned());
    span.attributes.push(
        llmtrace_semconv::llmtrace::PROVIDER_FROM_PRICE,
        llmtrace_model::AttrValue::Str(price_id),
    );
}
