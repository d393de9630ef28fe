//! The default dialect registry and its priority order.
//!
//! The normalizer runs every detecting dialect in this order and each one fills only the fields
//! still unset, so **earlier dialects win per field**. The order follows the resolution order of
//! the reference (§5.1) with one principle: a dialect that knows better what a shared key means
//! comes before the generic reading of that key.
//!
//! Planned order (one line per dialect, each in its own file under `dialect/`):
//!
//! 1. `langfuse` — `langfuse.observation.*` is what the user declared explicitly through the
//!    Langfuse SDK (type, model, usage); its usage is cache- and reasoning-exclusive and must be
//!    converted before any generic reading.
//! 2. `openinference` — `openinference.span.kind` is required on every OpenInference span and is
//!    authoritative for the kind.
//!    On a span that also carries `gen_ai.*` keys it wins every field it sets (implemented).
//! 3. `vercel_ai` — the outer `ai.*` spans repeat their children's `gen_ai.usage.*`; the dialect
//!    marks them as chains before the OTel dialect would call them model calls; TTFT in ms.
//! 4. `openlit` — the same `gen_ai.usage.input_tokens` key, but cache-exclusive for Anthropic;
//!    it must convert before the OTel dialect reads the key as inclusive.
//! 5. `pydantic_ai`, 6. `mlflow`, 7. `langsmith` — framework-specific keys and quirks
//!    (JSON-quoted values, `langsmith.span.kind`, aggregated usage names).
//! 8. `litellm` — LiteLLM's reported cost and the cache counts it hides in a Python repr of its
//!    usage object; before the OTel dialect, which has no cache counts to read there.
//! 9. **`otel_genai`** — the OpenTelemetry GenAI conventions, the baseline every other dialect
//!    overlaps with (implemented).
//! 10. `openllmetry_legacy` — flattened `gen_ai.prompt.{i}.*`, `llm.request.type`,
//!     `traceloop.span.kind`, `llm.usage.*`; after the OTel dialect because the keys they share
//!     (`gen_ai.system`, `gen_ai.usage.prompt_tokens`) mean the same thing in both.
//!     It reads only what the OTel dialect does not (implemented).
//!
//! After the dialects the generic fallbacks run (user, session, error, kind from the span name),
//! then finalization (token heuristics, `counts_usage`).

use crate::dialect::LangSmith;
use crate::dialect::Langfuse;
use crate::dialect::LiteLlm;
use crate::dialect::Mlflow;
use crate::dialect::OpenInference;
use crate::dialect::OpenLit;
use crate::dialect::OpenLlmetryLegacy;
use crate::dialect::OtelGenAi;
use crate::dialect::PydanticAi;
use crate::dialect::VercelAi;
use crate::Dialect;

/// The default dialects, in priority order (earlier wins per field).
pub fn default_dialects() -> Vec<Box<dyn Dialect>> {
    vec![
        Box::new(Langfuse),
        Box::new(OpenInference),
        Box::new(VercelAi),
        Box::new(OpenLit),
        Box::new(PydanticAi),
        Box::new(Mlflow),
        Box::new(LangSmith),
        Box::new(LiteLlm),
        Box::new(OtelGenAi),
        Box::new(OpenLlmetryLegacy),
    ]
}
