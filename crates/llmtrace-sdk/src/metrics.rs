//! The SDK's own metric: `llmtrace.sdk.dropped_spans`, a cumulative counter exported over
//! OTLP/HTTP by a private meter provider (the application's global meter provider is untouched).

use crate::processor::DropStats;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::Resource;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Runs an async exporter on its own single-threaded runtime, on a scoped thread, so export
/// works whichever thread (runtime or not) the reader calls it from.
#[derive(Debug)]
struct OwnRuntime<E> {
    inner: E,
    /// Always `Some` until dropped.
    rt: Option<tokio::runtime::Runtime>,
}

impl<E> Drop for OwnRuntime<E> {
    fn drop(&mut self) {
        // The provider may be dropped on an async thread, where a blocking drop would panic.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for OwnRuntime<E> {
    fn export(
        &self,
        metrics: &ResourceMetrics,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let result = match &self.rt {
            Some(rt) => std::thread::scope(|s| {
                s.spawn(|| rt.block_on(self.inner.export(metrics)))
                    .join()
                    .unwrap_or_else(|_| {
                        Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                            "metric export panicked".into(),
                        ))
                    })
            }),
            None => Err(opentelemetry_sdk::error::OTelSdkError::AlreadyShutdown),
        };
        std::future::ready(result)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// Builds the meter provider exporting the drop counter to `endpoint` (a full `/v1/metrics` URL).
pub(crate) fn start(
    endpoint: String,
    headers: HashMap<String, String>,
    timeout: Duration,
    interval: Option<Duration>,
    resource: Resource,
    stats: Arc<DropStats>,
) -> Result<SdkMeterProvider, crate::SdkError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::SdkError::Runtime(e.to_string()))?;
    let inner = {
        let _enter = rt.enter();
        opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_headers(headers)
            .with_timeout(timeout)
            .build()
            .map_err(|e| crate::SdkError::Exporter(e.to_string()))?
    };
    let mut reader = PeriodicReader::builder(OwnRuntime {
        inner,
        rt: Some(rt),
    });
    if let Some(interval) = interval {
        reader = reader.with_interval(interval);
    }
    let provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(reader.build())
        .build();
    let meter = provider.meter("llmtrace-sdk");
    let _counter = meter
        .u64_observable_counter(llmtrace_semconv::llmtrace::SDK_DROPPED_SPANS)
        .with_description(
            "Spans the SDK dropped because its export queue was full (or their export failed)",
        )
        .with_unit("{span}")
        .with_callback(move |observer| {
            observer.observe(stats.total.load(Ordering::Relaxed), &[]);
        })
        .build();
    Ok(provider)
}
