//! OTLP/gRPC: the trace, logs and metrics `Export` services, gzip accepted and sent.

use crate::error::grpc_status;
use crate::AppState;
use opentelemetry_proto::tonic::collector::{
    logs::v1::{
        logs_service_server::{LogsService, LogsServiceServer},
        ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
    },
    metrics::v1::{
        metrics_service_server::{MetricsService, MetricsServiceServer},
        ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    },
    trace::v1::{
        trace_service_server::{TraceService, TraceServiceServer},
        ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
    },
};
use prost::Message;
use std::sync::Arc;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

/// The gRPC services sharing the app state.
#[derive(Clone)]
pub(crate) struct Grpc(pub(crate) Arc<AppState>);

impl Grpc {
    /// The request's project, from its metadata (the same keys as HTTP headers).
    fn project<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let headers = request.metadata().clone().into_headers();
        self.0
            .auth
            .project(&headers)
            .map(str::to_string)
            .map_err(|e| grpc_status(&e))
    }
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let project = self.project(&request)?;
        let req = request.into_inner();
        let bytes = req.encoded_len();
        // Conversion and normalization of a large export run on the blocking pool.
        let ingest = self.0.ingest.clone();
        let prepared = if bytes < crate::otlp_http::OFFLOAD_BYTES {
            ingest.prepare_traces(&project, req, bytes)
        } else {
            tokio::task::spawn_blocking(move || ingest.prepare_traces(&project, req, bytes))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "converting an export failed on the blocking pool");
                    Status::internal("the export could not be converted")
                })?
        };
        let outcome = self
            .0
            .ingest
            .store_prepared(prepared)
            .await
            .map_err(|e| grpc_status(&e))?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: (outcome.rejected.count > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(outcome.rejected.count).unwrap_or(i64::MAX),
                error_message: outcome.rejected.first_reason.unwrap_or_default(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let project = self.project(&request)?;
        let req = request.into_inner();
        let bytes = req.encoded_len();
        let outcome = self
            .0
            .ingest
            .export_logs(&project, req, bytes)
            .await
            .map_err(|e| grpc_status(&e))?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: (outcome.rejected.count > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(outcome.rejected.count).unwrap_or(i64::MAX),
                error_message: outcome.rejected.first_reason.unwrap_or_default(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.project(&request)?;
        self.0.ingest.export_metrics(request.get_ref());
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// Gives undecodable and oversized messages a permanent code. tonic answers a message it cannot
/// decode with `INTERNAL` and one over the size limit with `OUT_OF_RANGE`, both of which OTLP
/// exporters retry (forever, for a message that will never fit); the request is at fault, so
/// `INVALID_ARGUMENT`, which they drop.
/// The status may come in the response headers (an error before any message) or in its
/// trailers (an error while reading the request stream): both are rewritten.
pub(crate) fn permanent_decode_errors<B>(
    response: http::Response<B>,
) -> http::Response<TrailerFix<B>> {
    let (mut parts, body) = response.into_parts();
    fix_status(&mut parts.headers);
    http::Response::from_parts(parts, TrailerFix(body))
}

/// Rewrites a decode or size `grpc-status` of a header map (see [`permanent_decode_errors`]).
fn fix_status(headers: &mut http::HeaderMap) {
    let status = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32);
    // `grpc-message` is percent-encoded (tonic encodes spaces too).
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .replace("%20", " ");
    let request_at_fault = match status {
        Some(tonic::Code::Internal) => message.contains("decode"),
        Some(tonic::Code::OutOfRange) => message.contains("message length too large"),
        _ => false,
    };
    if request_at_fault {
        headers.insert(
            "grpc-status",
            http::HeaderValue::from(tonic::Code::InvalidArgument as i32),
        );
    }
}

/// A response body whose trailers go through [`fix_status`].
pub(crate) struct TrailerFix<B>(B);

impl<B> http_body::Body for TrailerFix<B>
where
    B: http_body::Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.0).poll_frame(cx);
        polled.map(|frame| {
            frame.map(|frame| {
                frame.map(|mut frame| {
                    if let Some(trailers) = frame.trailers_mut() {
                        fix_status(trailers);
                    }
                    frame
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.size_hint()
    }
}

/// Checks the request's key from its metadata before its message is read or decoded: an
/// unauthenticated export costs the server no decoding.
#[derive(Clone)]
pub(crate) struct Authenticate(Arc<AppState>);

impl tonic::service::Interceptor for Authenticate {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let headers = request.metadata().clone().into_headers();
        self.0
            .auth
            .identify(&headers)
            .map_err(|e| grpc_status(&e))?;
        Ok(request)
    }
}

/// The gRPC routes with compression, the message size limit and authentication set.
pub(crate) fn routes(state: Arc<AppState>) -> tonic::service::Routes {
    use tonic::service::interceptor::InterceptedService;
    let max = state.max_body_bytes;
    let auth = Authenticate(state.clone());
    let g = Grpc(state);
    let traces = TraceServiceServer::new(g.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    let logs = LogsServiceServer::new(g.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    let metrics = MetricsServiceServer::new(g)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    tonic::service::Routes::new(InterceptedService::new(traces, auth.clone()))
        .add_service(InterceptedService::new(logs, auth.clone()))
        .add_service(InterceptedService::new(metrics, auth))
}
