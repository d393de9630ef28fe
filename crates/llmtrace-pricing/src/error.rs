//! The one error type of this crate.

use thiserror::Error;

/// Why a price file, a price or a date could not be taken in.
#[derive(Debug, Error)]
pub enum PricingError {
    /// A JSON document (user price file or LiteLLM file) did not parse.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A TOML user price file did not parse.
    #[error("invalid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A price is not a non-negative decimal number.
    #[error("invalid price {value:?}: {reason}")]
    InvalidPrice {
        /// The text as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A date is not a valid `YYYY-MM-DD` calendar date.
    #[error("invalid date {0:?}: expected YYYY-MM-DD")]
    InvalidDate(String),
    /// An entry is incomplete or contradicts itself.
    #[error("invalid price entry for model {model:?}: {reason}")]
    InvalidEntry {
        /// The entry's model.
        model: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two entries of one source have the same model, provider and `effective_from`.
    #[error("duplicate price entry {id:?}")]
    Duplicate {
        /// The id both entries would have.
        id: String,
    },
    /// A user price file declares a format version this build does not know.
    #[error("unsupported price file version {0} (this build reads version 1)")]
    UnsupportedVersion(u32),
    /// A LiteLLM price-file entry could not be converted.
    #[error("LiteLLM entry {key:?}: {reason}")]
    LiteLlm {
        /// The entry's key (model name).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The built-in table compiled into the binary did not load (a build defect).
    #[error("built-in price table: {0}")]
    Builtin(String),
    /// Writing a price file failed (a serializer error; not expected).
    #[error("could not write price file: {0}")]
    Write(String),
}
