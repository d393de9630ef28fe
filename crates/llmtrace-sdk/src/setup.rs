//! Setup: [`init`], [`Builder`] and the flushing [`Guard`].

use crate::processor::{BatchSettings, DropStats, DroppingBatchProcessor};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Default OTLP endpoint (llmtrace's HTTP listener).
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
/// Default number of finished spans the queue holds before it drops (and counts) new ones.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;
/// Default number of spans per export request.
pub const DEFAULT_MAX_EXPORT_BATCH_SIZE: usize = 512;
/// Default longest time a finished span waits in the queue before it is exported.
pub const DEFAULT_SCHEDULED_DELAY: Duration = Duration::from_secs(1);
/// Default `tracing` filter of the installed subscriber.
pub const DEFAULT_FILTER: &str = "info";
/// Environment variable overriding [`DEFAULT_FILTER`] (`EnvFilter` syntax).
pub const FILTER_ENV: &str = "LLMTRACE_SDK_FILTER";
/// Environment variable that turns message content capture on (`true`) or off.
pub const CAPTURE_CONTENT_ENV: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

/// Errors of the SDK setup.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The OTLP exporter could not be built (bad endpoint, header or protocol).
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
    /// The export thread or its runtime could not start.
    #[error("cannot start the export thread: {0}")]
    Runtime(String),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A global `tracing` subscriber is already installed (use [`Guard::tracing_layer`]).
    #[error("a global tracing subscriber is already set: {0}")]
    SubscriberAlreadySet(String),
}

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (the default; `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`).
    HttpProtobuf,
    /// OTLP/gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`); needs the `grpc` feature.
    Grpc,
}

/// Sets everything up from the standard `OTEL_*` variables with the defaults of [`Builder`].
///
/// Keep the returned guard alive for the life of the program: dropping it flushes and shuts down.
///
/// ```no_run
/// let _guard = llmtrace_sdk::init()?;
/// # Ok::<(), llmtrace_sdk::SdkError>(())
/// ```
pub fn init() -> Result<Guard, SdkError> {
    Builder::from_env().install()
}

/// Configuration of the SDK. [`Builder::from_env`] reads:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `OTEL_SERVICE_NAME` | `service.name` | `unknown_service` |
/// | `OTEL_RESOURCE_ATTRIBUTES` | more resource attributes | |
/// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | full traces URL | |
/// | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL (`/v1/traces` is appended for HTTP) | `http://localhost:4318` |
/// | `OTEL_EXPORTER_OTLP_HEADERS`, `..._TRACES_HEADERS` | `k=v,k2=v2` (e.g. `authorization=Bearer ...`) | |
/// | `OTEL_EXPORTER_OTLP_PROTOCOL`, `..._TRACES_PROTOCOL` | `http/protobuf` or `grpc` | `http/protobuf` |
/// | `OTEL_BSP_MAX_QUEUE_SIZE` | queue size, spans beyond it are dropped and counted | 2048 |
/// | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | spans per export | 512 |
/// | `OTEL_BSP_SCHEDULE_DELAY` | flush interval in milliseconds | 1000 |
/// | `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` | record prompts and completions | `false` |
/// | `LLMTRACE_SDK_FILTER` | `tracing` spans/events exported (`EnvFilter` syntax) | `info` |
#[derive(Debug, Clone)]
pub struct Builder {
    service_name: Option<String>,
    endpoint: Option<String>,
    traces_endpoint: Option<String>,
    headers: HashMap<String, String>,
    protocol: Protocol,
    timeout: Duration,
    settings: BatchSettings,
    capture_content: bool,
    install_subscriber: bool,
    filter: String,
    panic_hook: bool,
    metrics: bool,
    metrics_endpoint: Option<String>,
    metrics_interval: Option<Duration>,
    also: Vec<Destination>,
}

/// One more OTLP destination of [`Builder::also_export_to`].
#[derive(Debug, Clone)]
struct Destination {
    endpoint: String,
    headers: HashMap<String, String>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            service_name: None,
            endpoint: None,
            traces_endpoint: None,
            headers: HashMap::new(),
            protocol: Protocol::HttpProtobuf,
            timeout: Duration::from_secs(10),
            settings: BatchSettings {
                max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
                max_export_batch_size: DEFAULT_MAX_EXPORT_BATCH_SIZE,
                scheduled_delay: DEFAULT_SCHEDULED_DELAY,
            },
            capture_content: false,
            install_subscriber: true,
            filter: DEFAULT_FILTER.to_string(),
            panic_hook: true,
            metrics: true,
            metrics_endpoint: None,
            metrics_interval: None,
            also: Vec::new(),
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn env_usize(name: &str) -> Option<usize> {
    let v = env(name)?;
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            tracing::warn!(target: "llmtrace_sdk", variable = name, value = %v, "ignoring a non-numeric value");
            None
        }
    }
}

/// Parses `k=v,k2=v2` (values may be percent-encoded).
fn parse_headers(s: &str) -> HashMap<String, String> {
    s.split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_string(), percent_decode(v.trim())))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True for `true`, `1`, `yes`, `on` and the OTel contrib values that capture content on spans.
fn truthy(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on" | "span_only" | "span_and_event"
    )
}

impl Builder {
    /// Defaults only, no environment.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Defaults overridden by the `OTEL_*` variables (see the table above).
    pub fn from_env() -> Self {
        let mut b = Builder::new();
        b.service_name = env("OTEL_SERVICE_NAME");
        b.endpoint = env("OTEL_EXPORTER_OTLP_ENDPOINT");
        b.traces_endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        if let Some(h) = env("OTEL_EXPORTER_OTLP_HEADERS") {
            b.headers.extend(parse_headers(&h));
        }
        if let Some(h) = env("OTEL_EXPORTER_OTLP_TRACES_HEADERS") {
            b.headers.extend(parse_headers(&h));
        }
        if let Some(p) =
            env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
        {
            if p.eq_ignore_ascii_case("grpc") {
                b.protocol = Protocol::Grpc;
            }
        }
        if let Some(n) = env_usize("OTEL_BSP_MAX_QUEUE_SIZE") {
            b.settings.max_queue_size = n;
        }
        if let Some(n) = env_usize("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            b.settings.max_export_batch_size = n;
        }
        if let Some(n) = env_usize("OTEL_BSP_SCHEDULE_DELAY") {
            b.settings.scheduled_delay = Duration::from_millis(n as u64);
        }
        if let Some(v) = env(CAPTURE_CONTENT_ENV) {
            b.capture_content = truthy(&v);
        }
        if let Some(f) = env(FILTER_ENV) {
            b.filter = f;
        }
        b.metrics_endpoint = env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        if env("OTEL_METRICS_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none")) {
            b.metrics = false;
        }
        b
    }

    /// Sets `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets the base endpoint (`http://host:4318`; `/v1/traces` is appended for HTTP).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self.traces_endpoint = None;
        self
    }

    /// Adds a header sent with every export (e.g. `authorization`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Chooses the transport (HTTP protobuf by default).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Export request timeout (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Queue size (default [`DEFAULT_MAX_QUEUE_SIZE`]): spans finished while the queue is full
    /// are dropped, never waited for, and counted (see [`Guard::dropped_spans`]).
    pub fn max_queue_size(mut self, n: usize) -> Self {
        self.settings.max_queue_size = n.max(1);
        self
    }

    /// Spans per export request (default [`DEFAULT_MAX_EXPORT_BATCH_SIZE`]).
    pub fn max_export_batch_size(mut self, n: usize) -> Self {
        self.settings.max_export_batch_size = n.max(1);
        self
    }

    /// Flush interval (default [`DEFAULT_SCHEDULED_DELAY`]).
    pub fn scheduled_delay(mut self, delay: Duration) -> Self {
        self.settings.scheduled_delay = delay;
        self
    }

    /// Records prompts, completions, tool arguments and `#[observe]` inputs/outputs (off by
    /// default; `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` turns it on).
    pub fn capture_content(mut self, on: bool) -> Self {
        self.capture_content = on;
        self
    }

    /// Whether [`Builder::install`] sets the global `tracing` subscriber (default true). Turn it
    /// off to compose your own subscriber with [`Guard::tracing_layer`] (see the crate docs,
    /// "With your own `tracing` subscriber"). When on and a global subscriber already exists,
    /// `install` fails with [`SdkError::SubscriberAlreadySet`] rather than replace it.
    pub fn install_subscriber(mut self, on: bool) -> Self {
        self.install_subscriber = on;
        self
    }

    /// Which `tracing` spans and events the installed subscriber exports, in `EnvFilter` syntax
    /// (default [`DEFAULT_FILTER`]: every span and event at INFO or above; `LLMTRACE_SDK_FILTER`
    /// overrides it). Below INFO, libraries such as hyper would attach their debug events to
    /// your spans.
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = directives.into();
        self
    }

    /// Whether the drop counter is exported as the OTLP metric `llmtrace.sdk.dropped_spans`
    /// (default true over HTTP; `OTEL_METRICS_EXPORTER=none` turns it off). It uses a private
    /// meter provider: the application's global one is untouched. Not available with gRPC.
    pub fn export_metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Full URL of the metrics export (default: the endpoint + `/v1/metrics`;
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`).
    pub fn metrics_endpoint(mut self, url: impl Into<String>) -> Self {
        self.metrics_endpoint = Some(url.into());
        self
    }

    /// Metric export interval (default `OTEL_METRIC_EXPORT_INTERVAL` or 60 s).
    pub fn metrics_interval(mut self, interval: Duration) -> Self {
        self.metrics_interval = Some(interval);
        self
    }

    /// Also exports every span to another OTLP backend (an OpenTelemetry Collector, Jaeger,
    /// Tempo, a vendor), besides the main endpoint: the tracer provider gets one more processor,
    /// with its own queue, export thread and exporter, so a slow or unreachable second backend
    /// neither blocks the application nor delays llmtrace. May be called several times.
    ///
    /// `endpoint` is a base URL like [`Builder::endpoint`] (`/v1/traces` is appended for HTTP
    /// unless the URL already ends with it). The destination uses the builder's protocol, timeout,
    /// resource and batch settings, but not its headers (an llmtrace key is not sent elsewhere):
    /// use [`Builder::also_export_to_with_headers`] for the other backend's credentials.
    /// [`Guard::dropped_spans`] and the drop metric count the main endpoint only.
    ///
    /// ```no_run
    /// let _guard = llmtrace_sdk::Builder::from_env()          // llmtrace, from OTEL_* variables
    ///     .also_export_to("http://otel-collector:4318")     // and the existing backend
    ///     .install()?;
    /// # Ok::<(), llmtrace_sdk::SdkError>(())
    /// ```
    pub fn also_export_to(self, endpoint: impl Into<String>) -> Self {
        self.also_export_to_with_headers(endpoint, std::iter::empty::<(String, String)>())
    }

    /// [`Builder::also_export_to`] with headers sent to that destination only (e.g. the other
    /// backend's API key).
    ///
    /// ```no_run
    /// let _guard = llmtrace_sdk::Builder::from_env()
    ///     .also_export_to_with_headers("https://api.honeycomb.io", [("x-honeycomb-team", "KEY")])
    ///     .install()?;
    /// # Ok::<(), llmtrace_sdk::SdkError>(())
    /// ```
    pub fn also_export_to_with_headers<K, V>(
        mut self,
        endpoint: impl Into<String>,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.also.push(Destination {
            endpoint: endpoint.into(),
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        });
        self
    }

    /// The traces URLs of the destinations added by [`Builder::also_export_to`], in order.
    pub fn also_traces_endpoints(&self) -> Vec<String> {
        self.also
            .iter()
            .map(|d| match self.protocol {
                Protocol::HttpProtobuf
                    if !d.endpoint.trim_end_matches('/').ends_with("/v1/traces") =>
                {
                    format!("{}/v1/traces", d.endpoint.trim_end_matches('/'))
                }
                _ => d.endpoint.clone(),
            })
            .collect()
    }

    /// Whether a panic hook flushes finished spans before the panic proceeds (default true).
    pub fn flush_on_panic(mut self, on: bool) -> Self {
        self.panic_hook = on;
        self
    }

    /// The traces URL the exporter will use.
    pub fn traces_endpoint(&self) -> String {
        if let Some(t) = &self.traces_endpoint {
            return t.clone();
        }
        let base = self.endpoint.as_deref().unwrap_or(match self.protocol {
            Protocol::HttpProtobuf => DEFAULT_ENDPOINT,
            Protocol::Grpc => "http://localhost:4317",
        });
        match self.protocol {
            Protocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
            Protocol::Grpc => base.to_string(),
        }
    }

    fn metrics_url(&self) -> String {
        if let Some(u) = &self.metrics_endpoint {
            return u.clone();
        }
        let base = self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        format!("{}/v1/metrics", base.trim_end_matches('/'))
    }

    fn resource(&self) -> Resource {
        let mut r = Resource::builder();
        if let Some(name) = &self.service_name {
            r = r.with_service_name(name.clone());
        }
        r.build()
    }

    /// Builds the exporter, the processor and the tracer provider, installs them globally (the
    /// OTel global tracer provider, the W3C trace-context propagator, the flushing panic hook
    /// and, unless turned off, the `tracing` subscriber with the OpenTelemetry layer) and returns
    /// the guard.
    pub fn install(self) -> Result<Guard, SdkError> {
        let guard = self.build()?;
        if self.install_subscriber {
            use tracing_subscriber::layer::SubscriberExt;
            let filter = tracing_subscriber::EnvFilter::try_new(&self.filter)
                .map_err(|e| SdkError::Config(format!("invalid filter {:?}: {e}", self.filter)))?;
            let subscriber = tracing_subscriber::registry()
                .with(filter)
                .with(guard.tracing_layer());
            tracing::subscriber::set_global_default(subscriber)
                .map_err(|e| SdkError::SubscriberAlreadySet(e.to_string()))?;
        }
        opentelemetry::global::set_tracer_provider(guard.provider.clone());
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        if self.panic_hook {
            install_panic_hook(guard.provider.clone());
        }
        Ok(guard)
    }

    /// Builds the provider without installing the tracer provider, the subscriber or the panic
    /// hook globally (for apps that manage providers themselves). The content capture setting is
    /// process-wide and is applied here too.
    pub fn build(&self) -> Result<Guard, SdkError> {
        set_capture_content(self.capture_content);
        let stats = Arc::new(DropStats::default());
        let resource = self.resource();
        let mut provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_span_processor(self.processor(
                self.traces_endpoint(),
                self.headers.clone(),
                stats.clone(),
                resource.clone(),
            )?);
        for (endpoint, d) in self.also_traces_endpoints().into_iter().zip(&self.also) {
            // Each destination counts its own drops and reports them on its own spans.
            let own_stats = Arc::new(DropStats::default());
            provider = provider.with_span_processor(self.processor(
                endpoint,
                d.headers.clone(),
                own_stats,
                resource.clone(),
            )?);
        }
        let provider = provider.build();
        let tracer = provider.tracer("llmtrace-sdk");
        let meter_provider = if self.metrics && self.protocol == Protocol::HttpProtobuf {
            Some(crate::metrics::start(
                self.metrics_url(),
                self.headers.clone(),
                self.timeout,
                self.metrics_interval,
                self.resource(),
                stats.clone(),
            )?)
        } else {
            None
        };
        Ok(Guard {
            provider,
            tracer,
            stats,
            meter_provider,
        })
    }
}

impl Builder {
    /// A non-blocking batch processor exporting to `endpoint` (a full traces URL).
    fn processor(
        &self,
        endpoint: String,
        headers: HashMap<String, String>,
        stats: Arc<DropStats>,
        exporter_resource: Resource,
    ) -> Result<DroppingBatchProcessor, SdkError> {
        let protocol = self.protocol;
        let timeout = self.timeout;
        DroppingBatchProcessor::start(self.settings, stats, move || {
            use opentelemetry_sdk::trace::SpanExporter as _;
            let mut exporter = match protocol {
                Protocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(endpoint)
                    .with_headers(headers)
                    .with_timeout(timeout)
                    .build()
                    .map_err(|e| SdkError::Exporter(e.to_string()))?,
                #[cfg(feature = "grpc")]
                Protocol::Grpc => {
                    use opentelemetry_otlp::WithTonicConfig as _;
                    let mut map = http::HeaderMap::new();
                    for (k, v) in &headers {
                        let name = http::HeaderName::from_bytes(k.as_bytes())
                            .map_err(|e| SdkError::Config(format!("header {k:?}: {e}")))?;
                        let value = http::HeaderValue::from_str(v)
                            .map_err(|e| SdkError::Config(format!("header {k:?}: {e}")))?;
                        map.insert(name, value);
                    }
                    opentelemetry_otlp::SpanExporter::builder()
                        .with_tonic()
                        .with_endpoint(endpoint)
                        .with_timeout(timeout)
                        .with_metadata(
                            opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(
                                map,
                            ),
                        )
                        .build()
                        .map_err(|e| SdkError::Exporter(e.to_string()))?
                }
                #[cfg(not(feature = "grpc"))]
                Protocol::Grpc => {
                    let _ = (endpoint, headers);
                    return Err(SdkError::Config(
                        "gRPC export needs the `grpc` feature of llmtrace-sdk".into(),
                    ));
                }
            };
            exporter.set_resource(&exporter_resource);
            Ok(exporter)
        })
    }
}

/// Keeps the SDK alive; on drop it flushes every finished span and shuts the exporter down.
#[derive(Debug)]
pub struct Guard {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    stats: Arc<DropStats>,
    meter_provider: Option<SdkMeterProvider>,
}

impl Guard {
    /// Spans dropped since start because the queue was full (or their export failed), for the
    /// main endpoint (destinations of [`Builder::also_export_to`] count their own).
    pub fn dropped_spans(&self) -> u64 {
        self.stats.total.load(Ordering::Relaxed)
    }

    /// Spans exported successfully to the main endpoint since start.
    pub fn exported_spans(&self) -> u64 {
        self.stats.exported.load(Ordering::Relaxed)
    }

    /// The tracer provider (not global unless installed by [`Builder::install`]).
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// The SDK's tracer.
    pub fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    /// A `tracing` layer exporting `tracing` spans through this provider, for composing your own
    /// subscriber (with [`Builder::install_subscriber`]`(false)`):
    ///
    /// ```no_run
    /// use tracing_subscriber::prelude::*;
    ///
    /// let guard = llmtrace_sdk::Builder::from_env().install_subscriber(false).install()?;
    /// tracing_subscriber::registry()
    ///     .with(tracing_subscriber::fmt::layer())
    ///     .with(guard.tracing_layer().with_filter(tracing_subscriber::filter::LevelFilter::INFO))
    ///     .init();
    /// # Ok::<(), llmtrace_sdk::SdkError>(())
    /// ```
    ///
    /// It is a `tracing_opentelemetry` layer: a subscriber can hold only one, so it replaces any
    /// OpenTelemetry layer the stack already had (keep that backend with
    /// [`Builder::also_export_to`]).
    pub fn tracing_layer<S>(&self) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.tracer.clone())
    }

    /// Exports every finished span now, to every destination, and waits for it (an error if
    /// any destination failed).
    pub fn flush(&self) -> Result<(), SdkError> {
        self.provider
            .force_flush()
            .map_err(|e| SdkError::Exporter(e.to_string()))
    }

    /// Exports the metrics (the drop counter) now.
    pub fn flush_metrics(&self) -> Result<(), SdkError> {
        match &self.meter_provider {
            Some(m) => m
                .force_flush()
                .map_err(|e| SdkError::Exporter(e.to_string())),
            None => Ok(()),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::debug!(target: "llmtrace_sdk", error = %e, "flush at exit failed");
        }
        if let Err(e) = self.provider.shutdown() {
            tracing::debug!(target: "llmtrace_sdk", error = %e, "shutdown at exit failed");
        }
        if let Some(m) = &self.meter_provider {
            if let Err(e) = m.shutdown() {
                tracing::debug!(target: "llmtrace_sdk", error = %e, "metrics shutdown failed");
            }
        }
    }
}

fn install_panic_hook(provider: SdkTracerProvider) {
    static PROVIDERS: Mutex<Vec<SdkTracerProvider>> = Mutex::new(Vec::new());
    static HOOKED: OnceLock<()> = OnceLock::new();
    if let Ok(mut p) = PROVIDERS.lock() {
        p.push(provider);
    }
    HOOKED.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(providers) = PROVIDERS.try_lock() {
                for p in providers.iter() {
                    let _ = p.force_flush();
                }
            }
            previous(info);
        }));
    });
}

/// 0: not decided yet (read the environment), 1: off, 2: on.
static CAPTURE: AtomicU8 = AtomicU8::new(0);

/// Turns message content capture on or off for the whole process.
pub fn set_capture_content(on: bool) {
    CAPTURE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
}

/// Whether prompts, completions and `#[observe]` inputs/outputs are recorded: the last
/// [`set_capture_content`] (or [`Builder::capture_content`]), else
/// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, else off.
pub fn capture_content() -> bool {
    match CAPTURE.load(Ordering::Relaxed) {
        2 => true,
        1 => false,
        _ => {
            let on = env(CAPTURE_CONTENT_ENV).is_some_and(|v| truthy(&v));
            set_capture_content(on);
            on
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_decode() {
        let h = parse_headers("authorization=Bearer%20abc, x-project = p1,bad");
        assert_eq!(h["authorization"], "Bearer abc");
        assert_eq!(h["x-project"], "p1");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn endpoint_resolution() {
        let b = Builder::new();
        assert_eq!(b.traces_endpoint(), "http://localhost:4318/v1/traces");
        let b = Builder::new().endpoint("http://h:1/");
        assert_eq!(b.traces_endpoint(), "http://h:1/v1/traces");
    }

    #[test]
    fn also_export_to_endpoints() {
        let b = Builder::new()
            .also_export_to("http://a:4318/")
            .also_export_to_with_headers("http://b:4318/v1/traces", [("k", "v")]);
        assert_eq!(
            b.also_traces_endpoints(),
            ["http://a:4318/v1/traces", "http://b:4318/v1/traces"]
        );
        assert_eq!(b.also[1].headers["k"], "v");
        assert!(b.also[0].headers.is_empty());
        let b = b.protocol(Protocol::Grpc);
        assert_eq!(b.also_traces_endpoints()[0], "http://a:4318/");
    }

    #[test]
    fn truthy_values() {
        assert!(truthy("true"));
        assert!(truthy("TRUE"));
        assert!(!truthy("false"));
        assert!(!truthy("NO_CONTENT"));
    }
}
