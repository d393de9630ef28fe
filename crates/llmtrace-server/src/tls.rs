//! TLS for both listeners (rustls): HTTPS with HTTP/2 and HTTP/1.1 by ALPN, and gRPC over TLS,
//! from one PEM certificate chain and private key.

use std::path::PathBuf;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The PEM files of the server's certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// What both listeners need to speak TLS.
pub(crate) struct Tls {
    /// The HTTP listener's acceptor.
    pub(crate) http: tokio_rustls::TlsAcceptor,
    /// The gRPC listener's configuration.
    pub(crate) grpc: tonic::transport::ServerTlsConfig,
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

impl Tls {
    /// Reads and checks the files (a clear error naming the file when they do not hold a usable
    /// certificate and key).
    pub(crate) fn load(files: &TlsFiles) -> std::io::Result<Tls> {
        let cert_pem = std::fs::read(&files.cert)
            .map_err(|e| invalid(format!("TLS certificate {}: {e}", files.cert.display())))?;
        let key_pem = std::fs::read(&files.key)
            .map_err(|e| invalid(format!("TLS key {}: {e}", files.key.display())))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(format!("TLS certificate {}: {e}", files.cert.display())))?;
        if chain.is_empty() {
            return Err(invalid(format!(
                "TLS certificate {} holds no PEM certificate",
                files.cert.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| invalid(format!("TLS key {}: {e}", files.key.display())))?;
        // ring, named explicitly: rustls has two providers compiled in (aws-lc-rs comes with
        // reqwest's rustls for outbound HTTPS), so there is no implicit process default.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(format!("TLS certificate and key do not fit: {e}")))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        // tonic builds its rustls configuration from the process default provider, which rustls
        // cannot pick by itself with two providers compiled in: ring, as above (a no-op when the
        // process already chose one).
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let identity = tonic::transport::Identity::from_pem(&cert_pem, &key_pem);
        Ok(Tls {
            http: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            grpc: tonic::transport::ServerTlsConfig::new().identity(identity),
        })
    }
}
