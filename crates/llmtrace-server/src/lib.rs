//! llmtrace transports: OTLP/HTTP (`/v1/traces`, `/v1/logs`, `/v1/metrics`), OTLP/gRPC, the
//! JSON query API (`/api/*`) and `/healthz`. Transports are thin: they read the wire, call the
//! ingest path or the query layer, and translate the failure class into their protocol
//! ([`error`] holds that one translation).

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

mod access;
mod annotations;
mod api;
mod auth;
mod body_budget;
mod body_read;
mod connections;
pub mod error;
mod evaluators;
mod export;
mod gateway;
mod langfuse;
mod langfuse_ingestion;
mod langsmith;
mod observability;
mod openai_agents;
mod otlp_grpc;
mod otlp_http;
pub mod panic_guard;
mod request_limits;
mod run;
mod scores;
mod tls;
mod ui;

pub use auth::{sha256, ApiKey, Auth, Identity, GATEWAY_KEY_HEADER, PROJECT_HEADER};
pub use connections::{connection_limit_hits, ConnectionLimits};
pub use gateway::{Gateway, GatewayConfig, DEFAULT_UPSTREAMS};
pub use run::{BoundServer, ServerConfig};
pub use tls::TlsFiles;

use llmtrace_ingest::Ingestor;
use llmtrace_query::Query;
use std::sync::Arc;

/// Shared state of all handlers.
pub struct AppState {
    /// The ingest path.
    pub ingest: Arc<Ingestor>,
    /// The query layer.
    pub query: Query,
    /// Maps each request to its project.
    pub auth: Auth,
    /// Largest request body accepted, before decompression.
    pub max_body_bytes: usize,
    /// Metrics derived from stored spans (`GET /metrics`); `None` disables the endpoint.
    pub metrics: Option<Arc<llmtrace_metrics::Metrics>>,
    /// The built-in alert evaluator (`GET /api/alerts`).
    pub alerts: Option<llmtrace_alerts::evaluator::Evaluator>,
    /// Rebuilds the price book from its sources (re-reading the user's price file), run before
    /// a cost recomputation so edits to the file apply without a restart.
    pub reload_prices: Option<PriceReloader>,
    /// Gateway mode (`--gateway`): the `/gateway/{upstream}/...` routes; `None` leaves them off.
    pub gateway: Option<Arc<Gateway>>,
    /// The evaluators of the config file (`/api/evaluators`, the health page); `None` when
    /// none are configured.
    pub evaluators: Option<Arc<dyn llmtrace_evaluators::EvaluatorControl>>,
    /// The addresses the server listens on, set when it binds (the UI's empty state prints
    /// them).
    pub listen: std::sync::OnceLock<ListenAddrs>,
}

/// Where a bound server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddrs {
    /// The OTLP/HTTP, API and UI base URL (`http://127.0.0.1:4318`).
    pub http: String,
    /// The OTLP/gRPC address (`127.0.0.1:4317`).
    pub grpc: String,
}

/// Rebuilds the price book, or says why it cannot.
pub type PriceReloader = Arc<dyn Fn() -> Result<llmtrace_pricing::PriceBook, String> + Send + Sync>;

/// The HTTP router (OTLP/HTTP, API, health).
pub fn http_router(state: Arc<AppState>) -> axum::Router {
    otlp_http::routes()
        .merge(api::routes())
        .merge(export::routes())
        .merge(observability::routes())
        .merge(ui::routes())
        .merge(langfuse::routes())
        .merge(langsmith::routes())
        .merge(openai_agents::routes())
        .merge(gateway::routes())
        .merge(scores::routes())
        .merge(evaluators::routes())
        .merge(annotations::routes())
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            (
                Arc::new(body_budget::BodyBudget::new(state.max_body_bytes)),
                state.clone(),
            ),
            body_budget::admit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::gate,
        ))
        .layer(axum::middleware::from_fn(panic_guard::catch_panics))
        .with_state(state)
}
