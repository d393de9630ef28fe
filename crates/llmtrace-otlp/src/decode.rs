//! Protobuf and OTLP/JSON bodies into the generated OTLP request types.

use crate::DecodeError;
use opentelemetry_proto::tonic::collector::{
    logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
    trace::v1::ExportTraceServiceRequest,
};
use prost::Message;

/// The encoding of an OTLP/HTTP body (and of its answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON: hex ids, int64 as strings, enums as integers).
    Json,
}

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    body: &[u8],
    format: Format,
) -> Result<T, DecodeError> {
    match format {
        Format::Protobuf => T::decode(body).map_err(|e| DecodeError::Protobuf(e.to_string())),
        Format::Json => serde_json::from_slice(body).map_err(|e| DecodeError::Json(e.to_string())),
    }
}

/// Decodes an `ExportTraceServiceRequest`.
pub fn decode_traces(
    body: &[u8],
    format: Format,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    decode(body, format)
}

/// Decodes an `ExportLogsServiceRequest`.
pub fn decode_logs(body: &[u8], format: Format) -> Result<ExportLogsServiceRequest, DecodeError> {
    decode(body, format)
}

/// Decodes an `ExportMetricsServiceRequest`.
pub fn decode_metrics(
    body: &[u8],
    format: Format,
) -> Result<ExportMetricsServiceRequest, DecodeError> {
    decode(body, format)
}
