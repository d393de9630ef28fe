//! Binding the listeners and serving until shutdown.

use crate::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Requests in flight on one gRPC connection; more wait for one to finish.
const GRPC_STREAMS_PER_CONNECTION: usize = 64;

/// Where to listen.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// OTLP/HTTP, API and health.
    pub http_listen: SocketAddr,
    /// OTLP/gRPC.
    pub grpc_listen: SocketAddr,
    /// Serve HTTPS and gRPC over TLS with this certificate and key.
    pub tls: Option<crate::TlsFiles>,
}

/// Listeners bound and ready to serve.
pub struct BoundServer {
    http: TcpListener,
    grpc: TcpListener,
    state: Arc<AppState>,
    limits: crate::ConnectionLimits,
    tls: Option<crate::tls::Tls>,
}

impl BoundServer {
    /// Binds both listeners (port 0 picks a free port).
    pub async fn bind(config: &ServerConfig, state: Arc<AppState>) -> std::io::Result<Self> {
        let http = TcpListener::bind(config.http_listen).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {} (HTTP): {e}", config.http_listen),
            )
        })?;
        let grpc = TcpListener::bind(config.grpc_listen).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {} (gRPC): {e}", config.grpc_listen),
            )
        })?;
        let tls = config.tls.as_ref().map(crate::tls::Tls::load).transpose()?;
        if let (Ok(h), Ok(g)) = (http.local_addr(), grpc.local_addr()) {
            let scheme = if tls.is_some() { "https" } else { "http" };
            // Set once per state: a second bind of the same state keeps the first addresses.
            let _ = state.listen.set(crate::ListenAddrs {
                http: format!("{scheme}://{h}"),
                grpc: g.to_string(),
            });
        }
        Ok(BoundServer {
            http,
            grpc,
            state,
            limits: crate::ConnectionLimits::default(),
            tls,
        })
    }

    /// Sets the connection bounds of the HTTP listener.
    pub fn with_limits(mut self, limits: crate::ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.http.local_addr()
    }

    /// The bound gRPC address.
    pub fn grpc_addr(&self) -> std::io::Result<SocketAddr> {
        self.grpc.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and finishes the requests in
    /// flight (each of which waits for its durable acknowledgement).
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let router = crate::http_router(self.state.clone());
        let (http_tls, grpc_tls) = match self.tls {
            Some(t) => (Some(t.http), Some(t.grpc)),
            None => (None, None),
        };
        let http =
            crate::connections::serve(self.http, router, self.limits, http_tls, wait(rx.clone()));
        // At most this many requests in flight on one HTTP/2 connection (tonic default: none).
        let mut builder = tonic::transport::Server::builder()
            .concurrency_limit_per_connection(GRPC_STREAMS_PER_CONNECTION);
        if let Some(config) = grpc_tls {
            builder = builder.tls_config(config).map_err(std::io::Error::other)?;
        }
        let grpc = builder
            .layer(tower::util::MapResponseLayer::new(
                crate::otlp_grpc::permanent_decode_errors,
            ))
            .add_routes(crate::otlp_grpc::routes(self.state))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(self.grpc),
                wait(rx),
            );
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        // gRPC's own graceful shutdown waits for its streams; bound it like HTTP's.
        let grpc = async {
            match tokio::time::timeout(
                self.limits
                    .shutdown_deadline
                    .saturating_add(std::time::Duration::from_secs(1)),
                grpc,
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Ok(()),
            }
        };
        let (h, g) = tokio::join!(http, grpc);
        h?;
        g.map_err(std::io::Error::other)?;
        Ok(())
    }
}
