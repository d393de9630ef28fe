//! The attribute dialects, one file each. A dialect module only reads attributes and fills the
//! normalized fields still unset; its place in the priority order is decided in
//! [`crate::registry`].
//!
//! Adding a dialect: create `dialect/<name>.rs` implementing [`crate::Dialect`], declare it
//! below, and add one line to [`crate::registry::default_dialects`].

mod langfuse;
mod langsmith;
mod litellm;
mod mlflow;
mod openinference;
mod openlit;
mod openllmetry_legacy;
mod otel_genai;
mod pydantic_ai;
mod vercel_ai;

pub(crate) use langfuse::Langfuse;
pub(crate) use langsmith::LangSmith;
pub(crate) use litellm::LiteLlm;
pub(crate) use mlflow::Mlflow;
pub(crate) use openinference::OpenInference;
pub(crate) use openlit::OpenLit;
pub(crate) use openllmetry_legacy::OpenLlmetryLegacy;
pub use otel_genai::OtelGenAi;
pub(crate) use pydantic_ai::PydanticAi;
pub(crate) use vercel_ai::VercelAi;
