//! The attribute dialects, one file each. A dialect module only reads attributes and fills the
//! normalized fields still unset; its place in the priority order is decided in
//! [`crate::registry`].
//!
//! Adding a dialect: create `dialect/<name>.rs` implementing [`crate::Dialect`], declare it
//! below, and add one line to [`crate::registry::default_dialects`].

mod otel_genai;

pub use otel_genai::OtelGenAi;
