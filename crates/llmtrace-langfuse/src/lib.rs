//! Langfuse's own wire formats converted into llmtrace spans and scores: pure, synchronous, no
//! IO. The batch ingestion API of the Langfuse SDKs before v3 ([`convert_batch`]) and score
//! objects ([`score_from_json`]); the OpenTelemetry-based SDKs need nothing here (their spans
//! come through OTLP and the normalizer's Langfuse dialect).

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

pub mod ids;
mod ingestion;
mod score;

pub use ingestion::{convert_batch, json_attr, time_of, Conversion};
pub use score::score_from_json;
