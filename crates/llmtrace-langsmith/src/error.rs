//! Why a LangSmith payload cannot be read.

/// A malformed or oversized LangSmith payload (the server answers 400, or 413 for
/// [`Error::TooLarge`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A part or body is not the JSON it must be.
    #[error("{what} is not valid JSON: {source}")]
    Json {
        /// Which part or body (`post.<id>`, `batch body`, ...).
        what: String,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The payload is well-formed JSON but breaks a rule (missing or invalid id, bad part name,
    /// unparsable timestamp, ...).
    #[error("{0}")]
    Invalid(String),
    /// The body decompresses past the allowed size.
    #[error("body decompresses to more than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The compressed body is corrupt.
    #[error("invalid zstd body: {0}")]
    Decompress(String),
}

impl Error {
    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Json {
            what: what.into(),
            source,
        }
    }
}
