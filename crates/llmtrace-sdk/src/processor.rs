//! A batch span processor that never blocks the application: when its queue is full it drops the
//! span and counts it, and it reports the count it has not reported yet as
//! `llmtrace.sdk.dropped_spans` on the next span it exports.

use llmtrace_semconv::llmtrace::SDK_DROPPED_SPANS;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant, SystemTime};

/// Counters shared by the processor, the guard and the metric callback.
#[derive(Debug, Default)]
pub(crate) struct DropStats {
    /// Every span dropped since start (queue full or failed export).
    pub(crate) total: AtomicU64,
    /// Dropped spans not yet reported to the backend.
    pub(crate) unreported: AtomicU64,
    /// Spans handed to the exporter successfully.
    pub(crate) exported: AtomicU64,
}

impl DropStats {
    fn drop_spans(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
        self.unreported.fetch_add(n, Ordering::Relaxed);
    }
}

/// Batch settings of [`DroppingBatchProcessor`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSettings {
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    pub(crate) scheduled_delay: Duration,
}

enum Msg {
    Span(Box<SpanData>),
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>),
}

/// The processor (see the module docs). Export runs on a dedicated thread with its own
/// single-threaded Tokio runtime, so it works inside and outside the application's runtime.
#[derive(Debug)]
pub(crate) struct DroppingBatchProcessor {
    tx: SyncSender<Msg>,
    stats: Arc<DropStats>,
    shut_down: AtomicBool,
    worker: Mutex<Option<JoinHandle<()>>>,
    worker_id: ThreadId,
}

impl DroppingBatchProcessor {
    /// Starts the worker thread; `make_exporter` runs on it, inside its runtime (the gRPC
    /// exporter needs one), and its error is returned here.
    pub(crate) fn start<E, F>(
        settings: BatchSettings,
        stats: Arc<DropStats>,
        make_exporter: F,
    ) -> Result<Self, crate::SdkError>
    where
        E: SpanExporter + 'static,
        F: FnOnce() -> Result<E, crate::SdkError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel::<Msg>(settings.max_queue_size.max(1));
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), crate::SdkError>>(1);
        let worker_stats = stats.clone();
        let handle = std::thread::Builder::new()
            .name("llmtrace-sdk-export".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(crate::SdkError::Runtime(e.to_string())));
                        return;
                    }
                };
                let exporter = {
                    let _enter = rt.enter();
                    make_exporter()
                };
                match exporter {
                    Ok(exporter) => {
                        let _ = ready_tx.send(Ok(()));
                        Worker {
                            rt,
                            exporter,
                            settings,
                            stats: worker_stats,
                            batch: Vec::new(),
                        }
                        .run(rx);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| crate::SdkError::Runtime(e.to_string()))?;
        let worker_id = handle.thread().id();
        ready_rx
            .recv()
            .map_err(|_| crate::SdkError::Runtime("export thread exited".into()))??;
        Ok(DroppingBatchProcessor {
            tx,
            stats,
            shut_down: AtomicBool::new(false),
            worker: Mutex::new(Some(handle)),
            worker_id,
        })
    }

    fn control(
        &self,
        make: fn(SyncSender<OTelSdkResult>) -> Msg,
        timeout: Duration,
    ) -> OTelSdkResult {
        if std::thread::current().id() == self.worker_id {
            // Called from the export thread itself (a panic hook there): waiting would deadlock.
            return Ok(());
        }
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        self.tx
            .send(make(reply_tx))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        match reply_rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(_) => Err(OTelSdkError::Timeout(timeout)),
        }
    }
}

impl SpanProcessor for DroppingBatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.shut_down.load(Ordering::Relaxed) {
            self.stats.drop_spans(1);
            return;
        }
        match self.tx.try_send(Msg::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.drop_spans(1);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.control(Msg::Flush, Duration::from_secs(30))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = self.control(Msg::Shutdown, timeout);
        if let Ok(mut worker) = self.worker.lock() {
            if let Some(handle) = worker.take() {
                if result.is_ok() {
                    let _ = handle.join();
                }
            }
        }
        result
    }

    fn set_resource(&mut self, _resource: &Resource) {
        // The exporter lives on the worker thread and got the resource when it was built.
    }
}

struct Worker<E: SpanExporter> {
    rt: tokio::runtime::Runtime,
    exporter: E,
    settings: BatchSettings,
    stats: Arc<DropStats>,
    batch: Vec<SpanData>,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self, rx: Receiver<Msg>) {
        let mut deadline = Instant::now() + self.settings.scheduled_delay;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Msg::Span(span)) => {
                    self.batch.push(*span);
                    if self.batch.len() >= self.settings.max_export_batch_size {
                        let _ = self.export_all();
                        deadline = Instant::now() + self.settings.scheduled_delay;
                    }
                }
                Ok(Msg::Flush(reply)) => {
                    let (result, shutdown) = self.drain_and_export(&rx);
                    let _ = reply.send(copy(&result));
                    if let Some(reply) = shutdown {
                        let _ = reply.send(self.finish());
                        return;
                    }
                    deadline = Instant::now() + self.settings.scheduled_delay;
                }
                Ok(Msg::Shutdown(reply)) => {
                    let _ = self.drain_and_export(&rx);
                    let _ = reply.send(self.finish());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.export_all();
                    deadline = Instant::now() + self.settings.scheduled_delay;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.export_all();
                    let _ = self.finish();
                    return;
                }
            }
        }
    }

    /// Takes every span already queued, exports, and returns a shutdown request met on the way.
    fn drain_and_export(
        &mut self,
        rx: &Receiver<Msg>,
    ) -> (OTelSdkResult, Option<SyncSender<OTelSdkResult>>) {
        let mut shutdown = None;
        let mut flushes = Vec::new();
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Msg::Span(span) => self.batch.push(*span),
                Msg::Flush(reply) => flushes.push(reply),
                Msg::Shutdown(reply) => {
                    shutdown = Some(reply);
                    break;
                }
            }
        }
        let result = self.export_all();
        for reply in flushes {
            let _ = reply.send(copy(&result));
        }
        (result, shutdown)
    }

    fn finish(&mut self) -> OTelSdkResult {
        self.exporter.shutdown()
    }

    /// Exports the batch in chunks; attaches the unreported drop count to the first span sent,
    /// or to a small report span when there is nothing else to send.
    fn export_all(&mut self) -> OTelSdkResult {
        let mut result = Ok(());
        if self.batch.is_empty() && self.stats.unreported.load(Ordering::Relaxed) > 0 {
            self.batch.push(report_span());
        }
        while !self.batch.is_empty() {
            let n = self
                .batch
                .len()
                .min(self.settings.max_export_batch_size.max(1));
            let mut chunk: Vec<SpanData> = self.batch.drain(..n).collect();
            let dropped = self.stats.unreported.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                if let Some(first) = chunk.first_mut() {
                    first.attributes.push(KeyValue::new(
                        SDK_DROPPED_SPANS,
                        i64::try_from(dropped).unwrap_or(i64::MAX),
                    ));
                }
            }
            let len = chunk.len() as u64;
            match self.rt.block_on(self.exporter.export(chunk)) {
                Ok(()) => {
                    self.stats.exported.fetch_add(len, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(target: "llmtrace_sdk", error = %e, spans = len, "span export failed");
                    // The report did not arrive: it goes out again with the next export, and the
                    // lost spans count as dropped.
                    self.stats.unreported.fetch_add(dropped, Ordering::Relaxed);
                    self.stats.drop_spans(len);
                    result = Err(e);
                }
            }
        }
        result
    }
}

/// `OTelSdkError` is not `Clone`: a copy for a second waiter.
fn copy(r: &OTelSdkResult) -> OTelSdkResult {
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(OTelSdkError::InternalFailure(e.to_string())),
    }
}

/// A span carrying only the drop report, sent when drops happened and nothing else is queued.
fn report_span() -> SpanData {
    let now = SystemTime::now();
    let nanos = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(1);
    let trace_id = TraceId::from_bytes((nanos ^ (0x6c6c_6d74_7261_6365_u128 << 64)).to_be_bytes());
    let span_id = SpanId::from_bytes(((nanos as u64) | 1).to_be_bytes());
    SpanData {
        span_context: SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: "llmtrace.sdk.report".into(),
        start_time: now,
        end_time: now,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("llmtrace-sdk").build(),
    }
}
