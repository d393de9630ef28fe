//! OTLP wire formats decoded into the llmtrace span model: protobuf and OTLP/JSON bodies,
//! gzip with a bound on the decompressed size, and per-span validation that rejects unusable
//! spans (bad ids) without rejecting the rest of the export. Pure and synchronous.

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

mod census;
mod compression;
mod convert;
mod decode;
mod encode;
mod error;
mod value;

pub use census::{census, json_value_count, Census, DecodeLimits, Signal};
pub use compression::gunzip_limited;
pub use convert::{logs_from_request, spans_from_request, ConvertLimits, Converted, Rejected};
pub use decode::{decode_logs, decode_metrics, decode_traces, Format};
pub use encode::request_from_spans;
pub use error::DecodeError;
pub use opentelemetry_proto::tonic::collector::{
    logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
    trace::v1::ExportTraceServiceRequest,
};
