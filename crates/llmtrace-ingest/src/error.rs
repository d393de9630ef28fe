//! Failure classes of the ingest path and their one mapping to HTTP and gRPC.

use std::time::Duration;

/// What kind of failure an ingest error is. Decided once, in the ingest path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The payload is malformed; retrying the same payload cannot succeed.
    BadRequest,
    /// The payload is larger than allowed.
    PayloadTooLarge,
    /// The content type or encoding is not supported.
    UnsupportedMediaType,
    /// Credentials are missing or wrong.
    Unauthenticated,
    /// The queue is full: retry after a short wait.
    Overloaded,
    /// The project holds its share of a queue others wait in: retry after a short wait.
    QuotaExceeded,
    /// Storage is unavailable or the server is stopping: retry later.
    Unavailable,
    /// A bug or permanent storage failure.
    Internal,
}

impl ErrorClass {
    /// The HTTP status for this class.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorClass::BadRequest => 400,
            ErrorClass::PayloadTooLarge => 413,
            ErrorClass::UnsupportedMediaType => 415,
            ErrorClass::Unauthenticated => 401,
            ErrorClass::Overloaded => 503,
            ErrorClass::QuotaExceeded => 429,
            ErrorClass::Unavailable => 503,
            ErrorClass::Internal => 500,
        }
    }

    /// The gRPC status code (numeric, as in `google.rpc.Code`) for this class. Overload maps to
    /// `UNAVAILABLE` with `RetryInfo`, which every OTLP exporter retries.
    pub fn grpc_code(self) -> i32 {
        match self {
            ErrorClass::BadRequest => 3,            // INVALID_ARGUMENT
            ErrorClass::PayloadTooLarge => 8, // RESOURCE_EXHAUSTED (no RetryInfo: not retryable)
            ErrorClass::UnsupportedMediaType => 12, // UNIMPLEMENTED
            ErrorClass::Unauthenticated => 16, // UNAUTHENTICATED
            ErrorClass::Overloaded => 14,     // UNAVAILABLE
            ErrorClass::QuotaExceeded => 8,   // RESOURCE_EXHAUSTED, with RetryInfo: retryable
            ErrorClass::Unavailable => 14,    // UNAVAILABLE
            ErrorClass::Internal => 13,       // INTERNAL
        }
    }

    /// How long a client should wait before retrying, for retryable classes
    /// (`Retry-After` in HTTP, `RetryInfo` in gRPC).
    pub fn retry_after(self) -> Option<Duration> {
        match self {
            ErrorClass::Overloaded | ErrorClass::QuotaExceeded => Some(Duration::from_secs(1)),
            ErrorClass::Unavailable => Some(Duration::from_secs(5)),
            _ => None,
        }
    }
}

/// An ingest failure: its class and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IngestError {
    /// The class.
    pub class: ErrorClass,
    /// A message naming what was wrong.
    pub message: String,
}

impl IngestError {
    /// Builds an error.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        IngestError {
            class,
            message: message.into(),
        }
    }

    pub(crate) fn from_decode(e: llmtrace_otlp::DecodeError) -> Self {
        let class = match e {
            llmtrace_otlp::DecodeError::TooLarge { .. }
            | llmtrace_otlp::DecodeError::TooMany { .. } => ErrorClass::PayloadTooLarge,
            _ => ErrorClass::BadRequest,
        };
        IngestError::new(class, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one error table: HTTP status, gRPC code and retry hint of every class. Retryable
    /// classes (and only they) carry a hint; permanent ones get codes exporters drop.
    #[test]
    fn every_class_maps_to_one_status_code_and_retry_hint() {
        let table = [
            (ErrorClass::BadRequest, 400, 3, None),
            (ErrorClass::PayloadTooLarge, 413, 8, None),
            (ErrorClass::UnsupportedMediaType, 415, 12, None),
            (ErrorClass::Unauthenticated, 401, 16, None),
            (ErrorClass::Overloaded, 503, 14, Some(1)),
            (ErrorClass::QuotaExceeded, 429, 8, Some(1)),
            (ErrorClass::Unavailable, 503, 14, Some(5)),
            (ErrorClass::Internal, 500, 13, None),
        ];
        for (class, http, grpc, retry) in table {
            assert_eq!(class.http_status(), http, "{class:?}");
            assert_eq!(class.grpc_code(), grpc, "{class:?}");
            assert_eq!(class.retry_after().map(|d| d.as_secs()), retry, "{class:?}");
        }
    }

    #[test]
    fn decode_failures_are_permanent_and_oversize_is_413() {
        let cases = [
            (
                llmtrace_otlp::DecodeError::Protobuf("x".into()),
                ErrorClass::BadRequest,
            ),
            (
                llmtrace_otlp::DecodeError::Json("x".into()),
                ErrorClass::BadRequest,
            ),
            (
                llmtrace_otlp::DecodeError::Gzip("x".into()),
                ErrorClass::BadRequest,
            ),
            (
                llmtrace_otlp::DecodeError::TooLarge { limit: 1 },
                ErrorClass::PayloadTooLarge,
            ),
            (
                llmtrace_otlp::DecodeError::TooMany {
                    what: "spans",
                    limit: 1,
                },
                ErrorClass::PayloadTooLarge,
            ),
        ];
        for (e, class) in cases {
            let err = IngestError::from_decode(e);
            assert_eq!(err.class, class, "{err}");
            assert!(err.class.retry_after().is_none());
        }
    }
}
