//! Why a body could not be decoded.

/// A body that cannot be used at all (as opposed to single unusable spans, which are rejected
/// one by one in [`crate::Converted`]).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The protobuf body is malformed.
    #[error("malformed OTLP protobuf: {0}")]
    Protobuf(String),
    /// The JSON body is malformed or does not have the OTLP/JSON shape.
    #[error("malformed OTLP/JSON: {0}")]
    Json(String),
    /// The gzip stream is corrupt.
    #[error("malformed gzip body: {0}")]
    Gzip(String),
    /// The decompressed body is larger than allowed.
    #[error("decompressed body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body holds more spans, records or values than one request may decode into.
    #[error("request holds more {what} than the limit of {limit}; send smaller batches")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}
