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
        let outcome = self
            .0
            .ingest
            .export_traces(&project, req, bytes)
            .await
            .map_err(|e| grpc_status(&e))?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: (outcome.rejected.count > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: outcome.rejected.count as i64,
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
                rejected_log_records: outcome.rejected.count as i64,
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

/// The gRPC routes with compression and the message size limit set.
pub(crate) fn routes(state: Arc<AppState>) -> tonic::service::Routes {
    let max = state.max_body_bytes;
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
    tonic::service::Routes::new(traces)
        .add_service(logs)
        .add_service(metrics)
}
