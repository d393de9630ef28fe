//! Query failures.

use llmtrace_store::StoreError;

/// A query failure, classified for the API.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter is malformed (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// The thing asked for does not exist (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The store failed (HTTP 503 when transient, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
}
