//! Store failures, classified by what the caller can do about them.

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Might succeed if retried (busy database, full disk freed, server down).
    #[error("storage temporarily unavailable: {0}")]
    Transient(String),
    /// Will not succeed if retried (corruption, schema mismatch, a bug).
    #[error("storage error: {0}")]
    Permanent(String),
    /// The backend cannot answer this query.
    #[error("not supported by this store: {0}")]
    Unsupported(&'static str),
}
