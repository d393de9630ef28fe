//! Request authentication: API keys map each request to its project (tenant).
//!
//! Without keys the server is open and everything belongs to one project, `default` (the
//! loopback-only default). With keys, every request must carry one, in any of the forms the
//! SDKs people use send:
//! - `Authorization: Basic base64(public_key:secret_key)` (Langfuse SDKs, OTLP exporters with
//!   `OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic ...`);
//! - `Authorization: Bearer <secret_key>`;
//! - `x-api-key: <secret_key>` (LangSmith SDKs).

use axum::http::HeaderMap;
use base64::Engine;
use llmtrace_ingest::{ErrorClass, IngestError};

/// One API key pair and the project it opens. Only a SHA-256 digest of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The project.
    pub project: String,
    /// Public key (Langfuse `pk-lf-...`), used with Basic auth.
    pub public_key: String,
    /// SHA-256 of the secret key.
    pub secret_sha256: [u8; 32],
}

impl ApiKey {
    /// A key from its plain secret (hashed here, never stored).
    pub fn new(project: impl Into<String>, public_key: impl Into<String>, secret: &str) -> Self {
        ApiKey {
            project: project.into(),
            public_key: public_key.into(),
            secret_sha256: sha256(secret),
        }
    }
}

/// SHA-256 of a secret.
pub fn sha256(secret: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).into()
}

/// The server's authentication policy.
#[derive(Debug, Clone)]
pub struct Auth {
    keys: Vec<ApiKey>,
    default_project: String,
    /// Without keys: answer only requests addressed to a loopback host (see `access.rs`).
    loopback_hosts_only: bool,
    /// With keys: `/metrics` needs none.
    public_metrics: bool,
    /// The digest of the admin key (`--admin-key`): node-wide routes need it, and it acts on
    /// any project, named by [`PROJECT_HEADER`].
    admin_sha256: Option<[u8; 32]>,
}

/// The header an admin-key request names its project with.
pub const PROJECT_HEADER: &str = "x-llmtrace-project";

/// The header a gateway request carries its llmtrace key in (its `Authorization` is the
/// provider's).
pub const GATEWAY_KEY_HEADER: &str = "x-llmtrace-key";

/// The project an admin-key request names in its `X-Llmtrace-Project` header.
fn named_project(headers: &HeaderMap) -> Result<&str, IngestError> {
    headers
        .get(PROJECT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            IngestError::new(
                ErrorClass::BadRequest,
                "the admin key acts on every project: name one with X-Llmtrace-Project",
            )
        })
}

/// Who a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity<'a> {
    /// A project key (or the default project without keys).
    Project(&'a str),
    /// The admin key: every project.
    Admin,
}

/// Compares a presented secret with a stored digest without an early exit on the first
/// differing byte.
fn secret_eq(stored: &[u8; 32], presented: &str) -> bool {
    let p = sha256(presented);
    stored
        .iter()
        .zip(p.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

impl Auth {
    /// No keys: every request belongs to `default_project`.
    pub fn open(default_project: impl Into<String>) -> Self {
        Auth {
            keys: Vec::new(),
            default_project: default_project.into(),
            loopback_hosts_only: true,
            public_metrics: false,
            admin_sha256: None,
        }
    }

    /// With keys, also accept the admin key `secret` (`--admin-key`): node-wide routes
    /// (`/api/ingest`, `/api/alerts`, the health page) then need it, `/metrics` shows project
    /// keys their own series only, and it reads and writes any project named by the
    /// `X-Llmtrace-Project` header.
    pub fn with_admin_key(mut self, secret: Option<&str>) -> Self {
        self.admin_sha256 = secret.map(sha256);
        self
    }

    /// Whether an admin key is configured.
    pub fn has_admin_key(&self) -> bool {
        self.admin_sha256.is_some()
    }

    /// Without keys, also answer requests addressed to other hosts (a server deliberately
    /// listening beyond loopback with `--allow-unauthenticated`).
    pub fn any_host(mut self) -> Self {
        self.loopback_hosts_only = false;
        self
    }

    /// With keys, let `/metrics` be scraped without one (`--public-metrics`).
    pub fn with_public_metrics(mut self, public: bool) -> Self {
        self.public_metrics = public;
        self
    }

    /// Whether requests to hosts other than loopback are refused (keyless loopback mode).
    pub fn loopback_hosts_only(&self) -> bool {
        self.keys.is_empty() && self.loopback_hosts_only
    }

    /// Whether `/metrics` needs no key.
    pub fn public_metrics(&self) -> bool {
        self.public_metrics
    }

    /// Requests must present one of `keys`.
    pub fn with_keys(keys: Vec<ApiKey>) -> Self {
        Auth {
            keys,
            default_project: String::new(),
            loopback_hosts_only: false,
            public_metrics: false,
            admin_sha256: None,
        }
    }

    /// Whether keys are required.
    pub fn requires_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The projects keys open, in configuration order (the default one when open).
    pub fn projects(&self) -> Vec<&str> {
        if self.keys.is_empty() {
            return vec![self.default_project.as_str()];
        }
        let mut out: Vec<&str> = Vec::new();
        for k in &self.keys {
            if !out.contains(&k.project.as_str()) {
                out.push(&k.project);
            }
        }
        out
    }

    /// The project of a request, from its headers: the project of its key, or, for the admin
    /// key, the project its `X-Llmtrace-Project` header names.
    pub fn project<'a>(&'a self, headers: &'a HeaderMap) -> Result<&'a str, IngestError> {
        match self.identify(headers)? {
            Identity::Project(p) => Ok(p),
            Identity::Admin => named_project(headers),
        }
    }

    /// The project of a gateway request (`/gateway/...`), whose `Authorization` and `x-api-key`
    /// carry the provider's key: the project of the key in `X-Llmtrace-Key` (the admin key's
    /// project from `X-Llmtrace-Project`), or the default project when no keys are configured.
    pub fn gateway_project<'a>(&'a self, headers: &'a HeaderMap) -> Result<&'a str, IngestError> {
        if self.keys.is_empty() {
            return Ok(&self.default_project);
        }
        let key = headers
            .get(GATEWAY_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                IngestError::new(
                    ErrorClass::Unauthenticated,
                    "llmtrace key required: send X-Llmtrace-Key: <secret_key> (Authorization \
                     and x-api-key carry the provider's key through the gateway)",
                )
            })?;
        match self.by_secret(key)? {
            Identity::Project(p) => Ok(p),
            Identity::Admin => named_project(headers),
        }
    }

    /// Who a request is, from its headers.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Identity<'_>, IngestError> {
        if self.keys.is_empty() {
            return Ok(Identity::Project(&self.default_project));
        }
        let unauthenticated = |m: &str| IngestError::new(ErrorClass::Unauthenticated, m);
        if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
            let v = v.trim();
            if let Some(b64) = v
                .strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
            {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| unauthenticated("malformed Basic credentials"))?;
                let (pk, sk) = decoded.split_once(':').ok_or_else(|| {
                    unauthenticated("Basic credentials must be public_key:secret_key")
                })?;
                if pk == "admin" && self.is_admin(sk) {
                    return Ok(Identity::Admin);
                }
                return self
                    .keys
                    .iter()
                    .find(|k| k.public_key == pk && secret_eq(&k.secret_sha256, sk))
                    .map(|k| Identity::Project(k.project.as_str()))
                    .ok_or_else(|| unauthenticated("invalid API key"));
            }
            if let Some(token) = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
            {
                return self.by_secret(token.trim());
            }
            return Err(unauthenticated(
                "unsupported Authorization scheme (use Basic or Bearer)",
            ));
        }
        if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            return self.by_secret(key.trim());
        }
        Err(unauthenticated(
            "API key required: send Authorization: Basic base64(public_key:secret_key), \
             Authorization: Bearer <secret_key>, or x-api-key",
        ))
    }

    fn is_admin(&self, secret: &str) -> bool {
        self.admin_sha256
            .as_ref()
            .is_some_and(|d| secret_eq(d, secret))
    }

    fn by_secret(&self, secret: &str) -> Result<Identity<'_>, IngestError> {
        if self.is_admin(secret) {
            return Ok(Identity::Admin);
        }
        self.keys
            .iter()
            .find(|k| secret_eq(&k.secret_sha256, secret))
            .map(|k| Identity::Project(k.project.as_str()))
            .ok_or_else(|| IngestError::new(ErrorClass::Unauthenticated, "invalid API key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        h
    }

    #[test]
    fn keys_map_requests_to_projects() {
        let auth = Auth::with_keys(vec![
            ApiKey::new("acme", "pk-lf-1", "sk-lf-1"),
            ApiKey::new("beta", "pk-2", "sk-2"),
        ]);
        let basic = base64::engine::general_purpose::STANDARD.encode("pk-lf-1:sk-lf-1");
        assert_eq!(
            auth.project(&headers("authorization", &format!("Basic {basic}")))
                .unwrap(),
            "acme"
        );
        assert_eq!(
            auth.project(&headers("authorization", "Bearer sk-2"))
                .unwrap(),
            "beta"
        );
        assert_eq!(auth.project(&headers("x-api-key", "sk-2")).unwrap(), "beta");
        let wrong = base64::engine::general_purpose::STANDARD.encode("pk-lf-1:sk-2");
        let e = auth
            .project(&headers("authorization", &format!("Basic {wrong}")))
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Unauthenticated);
        assert!(auth.project(&HeaderMap::new()).is_err());
        assert!(auth.project(&headers("authorization", "Digest x")).is_err());
        assert_eq!(auth.projects(), vec!["acme", "beta"]);
        // The admin key: any project, named by the header; without it, a clear 400.
        let auth = auth.with_admin_key(Some("sk-admin"));
        let mut h = headers("authorization", "Bearer sk-admin");
        assert_eq!(auth.identify(&h).unwrap(), Identity::Admin);
        assert_eq!(auth.project(&h).unwrap_err().class, ErrorClass::BadRequest);
        h.insert(PROJECT_HEADER, "beta".parse().unwrap());
        assert_eq!(auth.project(&h).unwrap(), "beta");
        let basic = base64::engine::general_purpose::STANDARD.encode("admin:sk-admin");
        let h = headers("authorization", &format!("Basic {basic}"));
        assert_eq!(auth.identify(&h).unwrap(), Identity::Admin);
        // A project key is not the admin key, and the admin secret is no project key.
        assert_eq!(
            auth.identify(&headers("x-api-key", "sk-2")).unwrap(),
            Identity::Project("beta")
        );
        let open = Auth::open("default");
        assert_eq!(open.project(&HeaderMap::new()).unwrap(), "default");
        assert!(!open.requires_keys());
    }
}
