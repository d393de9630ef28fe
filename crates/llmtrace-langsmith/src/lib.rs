//! LangSmith runs converted into llmtrace spans: pure, synchronous, no IO.
//!
//! The LangSmith SDKs send *runs*, not OpenTelemetry spans. A run is created by a **post**
//! (id, trace, parent, `dotted_order`, name, `run_type`, start time, inputs, metadata) and
//! finished by a **patch** (end time, outputs, error, final metadata). They arrive as:
//!
//! * `POST /runs/multipart` — one `multipart/form-data` part per field: `post.<id>` (the run
//!   JSON without its large fields), `post.<id>.inputs|outputs|extra|events|error|serialized`,
//!   and the same under `patch.<id>…`; often zstd-compressed as a whole
//!   ([`decompress_zstd`]); see [`runs_from_multipart_parts`];
//! * `POST /runs/batch` — `{"post": [run, ...], "patch": [run, ...]}`, see [`runs_from_batch`];
//! * `POST /runs` and `PATCH /runs/{id}` — one run, see [`run_from_json`].
//!
//! Every operation of one payload is collected in a [`RunSet`], which merges the post and the
//! patch of the same run (patch fields win, as the SDK itself merges them), and
//! [`RunSet::to_spans`] converts each merged run with [`run_to_span`].
//!
//! A run posted but not (yet) patched becomes a span marked unfinished (`incomplete`, attribute
//! `langsmith.unfinished = true`, end = start): the store replaces it when a later copy arrives.
//! A patch arriving alone (in a later request than its post) becomes a complete span when it
//! carries its trace and start time (the Python SDK repeats them in every patch); otherwise it
//! is reported as skipped, since merging it into the stored post needs store support.
//!
//! Tokens follow the llmtrace convention: LangChain `usage_metadata.input_tokens` already
//! includes cached tokens, `output_tokens` includes reasoning (see [`usage`]).

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

mod codec;
mod convert;
mod error;
mod feedback;
pub mod ids;
pub mod messages;
mod payload;
mod run;
/// Timestamps: the parser shared by every JSON wire.
pub use llmtrace_model::time;
pub mod usage;
mod value;

pub use codec::decompress_zstd;
pub use convert::{run_to_span, ConvertError, Limits, LIMITS};
pub use error::Error;
pub use feedback::feedback_to_score;
pub use payload::{
    run_from_json, runs_from_batch, runs_from_multipart_parts, Conversion, MergedRun, Op, RunSet,
    Skipped,
};
pub use run::{Run, RunField};
