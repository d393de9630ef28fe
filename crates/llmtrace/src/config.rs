//! `serve` configuration: the optional TOML file, merged under flags and environment variables,
//! validated into the settings the crates take.

use crate::cli::ServeArgs;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The TOML config file. Keys are the long flag names with `_` for `-`; sizes are integers
/// (bytes) or strings with a unit (`"64MiB"`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    http_listen: Option<String>,
    grpc_listen: Option<String>,
    data_dir: Option<PathBuf>,
    max_body_bytes: Option<SizeValue>,
    max_decompressed_bytes: Option<SizeValue>,
    max_attribute_bytes: Option<SizeValue>,
    max_spans_per_request: Option<usize>,
    max_values_per_request: Option<usize>,
    queue_max_spans: Option<usize>,
    queue_max_bytes: Option<SizeValue>,
    queue_max_project_share: Option<f64>,
    max_disk_bytes: Option<SizeValue>,
    #[serde(default)]
    forward_otlp: Vec<String>,
    gateway: Option<bool>,
    #[serde(default)]
    gateway_upstream: Vec<String>,
    gateway_capture_content: Option<bool>,
    gateway_timeout_seconds: Option<u64>,
    /// Evaluators that score new spans (`[[evaluators]]`: rules and LLM judges).
    #[serde(default)]
    evaluators: Vec<llmtrace_evaluators::EvaluatorConfig>,
    batch_max_spans: Option<usize>,
    commit_linger_ms: Option<u64>,
    allow_unauthenticated: Option<bool>,
    public_metrics: Option<bool>,
    admin_key: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    api_keys: Vec<FileApiKey>,
    prices: Option<PathBuf>,
    log: Option<String>,
    metrics_max_label_values: Option<usize>,
    metrics_settle_ms: Option<u64>,
    store: Option<String>,
    clickhouse_cluster: Option<String>,
    /// Alert thresholds, windows, budgets and webhooks (`[alerts]`).
    alerts: Option<llmtrace_alerts::AlertConfig>,
    /// How long data is kept (`[retention]`).
    retention: Option<FileRetention>,
}

/// The `[retention]` table: `days` for every project, `[retention.projects]` per project.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetention {
    days: Option<u32>,
    /// Seconds between retention passes on the SQLite store.
    interval_seconds: Option<u64>,
    #[serde(default)]
    projects: std::collections::BTreeMap<String, u32>,
}

/// Reads the config file (or nothing), with what it says wrapped in context.
pub(crate) fn read_file_config(path: Option<&std::path::Path>) -> anyhow::Result<FileConfig> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
        }
        None => Ok(FileConfig::default()),
    }
}

impl FileConfig {
    /// The `[alerts]` table, defaults where absent.
    pub(crate) fn alerts(&self) -> llmtrace_alerts::AlertConfig {
        self.alerts.clone().unwrap_or_default()
    }
}

/// An `[[api_keys]]` table of the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApiKey {
    project: String,
    public_key: String,
    secret_key: String,
}

/// A size as an integer or a string with a unit.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(u64),
    Text(String),
}

impl SizeValue {
    fn text(&self) -> String {
        match self {
            SizeValue::Bytes(b) => b.to_string(),
            SizeValue::Text(s) => s.clone(),
        }
    }
}

/// Settings of a running server.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    pub(crate) http_listen: SocketAddr,
    pub(crate) grpc_listen: SocketAddr,
    pub(crate) data_dir: PathBuf,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_decompressed_bytes: usize,
    pub(crate) max_attribute_bytes: usize,
    /// Spans (log records) one request may hold (see `--max-spans-per-request`).
    pub(crate) max_spans_per_request: usize,
    /// Decoded values one request may hold (see `--max-values-per-request`).
    pub(crate) max_values_per_request: usize,
    pub(crate) queue_max_spans: usize,
    pub(crate) queue_max_bytes: usize,
    /// The share of the queue one project may hold while others wait.
    pub(crate) queue_max_project_share: f64,
    pub(crate) batch_max_spans: usize,
    /// How long a group commit may wait for more requests (see `--commit-linger-ms`).
    pub(crate) commit_linger: std::time::Duration,
    pub(crate) prices: Option<PathBuf>,
    pub(crate) api_keys: Vec<llmtrace_server::ApiKey>,
    pub(crate) log: String,
    pub(crate) metrics_max_label_values: usize,
    /// With keys, `/metrics` needs none (`--public-metrics`).
    pub(crate) public_metrics: bool,
    /// The admin key (see `--admin-key`).
    pub(crate) admin_key: Option<String>,
    /// Serve over TLS (`--tls-cert`, `--tls-key`).
    pub(crate) tls: Option<llmtrace_server::TlsFiles>,
    /// How long a counted call waits before it adds to the counters (`--metrics-settle-ms`).
    pub(crate) metrics_settle: std::time::Duration,
    pub(crate) alerts: llmtrace_alerts::AlertConfig,
    pub(crate) store: StoreChoice,
    pub(crate) retention: llmtrace_store_clickhouse::Retention,
    /// How often the SQLite store deletes expired traces (see `--retention-interval-seconds`).
    pub(crate) retention_interval: std::time::Duration,
    /// The most bytes the SQLite store's data may take (see `--max-disk-bytes`).
    pub(crate) max_disk_bytes: Option<usize>,
    /// OTLP endpoints every accepted span is sent on to (see `--forward-otlp`).
    pub(crate) forward_otlp: Vec<String>,
    /// Gateway mode (see `--gateway`); `None` when off.
    pub(crate) gateway: Option<llmtrace_server::GatewayConfig>,
    /// Evaluators run on every newly stored span (`[[evaluators]]` of the config file).
    pub(crate) evaluators: Vec<llmtrace_evaluators::Evaluator>,
}

/// Which store backend `serve` runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreChoice {
    /// The SQLite file in the data dir.
    Sqlite,
    /// One ClickHouse server (its URL).
    ClickHouse(String),
    /// A sharded ClickHouse cluster: one URL per shard, and the cluster's name.
    ClickHouseCluster(Vec<String>, String),
}

fn store_choice(store: Option<String>, cluster: Option<String>) -> anyhow::Result<StoreChoice> {
    let store = store.unwrap_or_else(|| "sqlite".into());
    let s = store.trim();
    if s == "sqlite" {
        if cluster.is_some() {
            bail!("--clickhouse-cluster needs --store clickhouse://...");
        }
        return Ok(StoreChoice::Sqlite);
    }
    let urls: Vec<String> = s.split(',').map(|u| u.trim().to_string()).collect();
    for u in &urls {
        if !(u.starts_with("clickhouse://")
            || u.starts_with("http://")
            || u.starts_with("https://"))
        {
            bail!("--store {u:?}: use `sqlite` or a ClickHouse URL like clickhouse://127.0.0.1:8123/llmtrace");
        }
    }
    Ok(match cluster {
        Some(name) => StoreChoice::ClickHouseCluster(urls, name),
        None if urls.len() == 1 => StoreChoice::ClickHouse(urls[0].clone()),
        None => bail!("several --store URLs need --clickhouse-cluster NAME"),
    })
}

fn parse_api_key(s: &str) -> anyhow::Result<llmtrace_server::ApiKey> {
    let mut parts = s.trim().splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(p), Some(pk), Some(sk)) if !p.is_empty() && !pk.is_empty() && !sk.is_empty() => {
            Ok(llmtrace_server::ApiKey::new(p, pk, sk))
        }
        _ => bail!("--api-key must be PROJECT:PUBLIC_KEY:SECRET_KEY"),
    }
}

/// Parses `123`, `64KiB`, `64MiB`, `1GiB`, `10MB`, `10kb` into bytes.
pub(crate) fn parse_size(s: &str) -> anyhow::Result<usize> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().with_context(|| format!("invalid size {s:?}"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => bail!("invalid size unit {other:?} in {s:?} (use B, KiB, MiB, GiB, KB, MB, GB)"),
    };
    n.checked_mul(mult)
        .with_context(|| format!("size {s:?} is too large"))
}

fn addr(name: &str, v: &str) -> anyhow::Result<SocketAddr> {
    v.parse()
        .with_context(|| format!("{name}: {v:?} is not an address like 127.0.0.1:4318"))
}

impl ServeConfig {
    /// Merges flags/environment over the config file over the defaults, and validates.
    pub(crate) fn resolve(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = read_file_config(args.config.as_deref())?;
        let mut alerts = file.alerts();
        for url in &args.alert_webhooks {
            alerts.webhooks.push(llmtrace_alerts::Webhook {
                url: url.clone(),
                format: Default::default(),
            });
        }
        let size = |name: &str, flag: &Option<String>, file: &Option<SizeValue>, default: &str| {
            let v = flag.clone().or_else(|| file.as_ref().map(SizeValue::text));
            parse_size(v.as_deref().unwrap_or(default)).with_context(|| name.to_string())
        };
        let http = args
            .http_listen
            .clone()
            .or(file.http_listen)
            .unwrap_or("127.0.0.1:4318".into());
        let grpc = args
            .grpc_listen
            .clone()
            .or(file.grpc_listen)
            .unwrap_or("127.0.0.1:4317".into());
        let cfg = ServeConfig {
            http_listen: addr("--http-listen", &http)?,
            grpc_listen: addr("--grpc-listen", &grpc)?,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./llmtrace-data")),
            max_body_bytes: size(
                "--max-body-bytes",
                &args.max_body_bytes,
                &file.max_body_bytes,
                "64MiB",
            )?,
            max_decompressed_bytes: size(
                "--max-decompressed-bytes",
                &args.max_decompressed_bytes,
                &file.max_decompressed_bytes,
                "128MiB",
            )?,
            max_attribute_bytes: size(
                "--max-attribute-bytes",
                &args.max_attribute_bytes,
                &file.max_attribute_bytes,
                "256KiB",
            )?,
            max_spans_per_request: args
                .max_spans_per_request
                .or(file.max_spans_per_request)
                .unwrap_or(llmtrace_ingest::DecodeLimits::default().max_items),
            max_values_per_request: args
                .max_values_per_request
                .or(file.max_values_per_request)
                .unwrap_or(llmtrace_ingest::DecodeLimits::default().max_nodes),
            queue_max_spans: args
                .queue_max_spans
                .or(file.queue_max_spans)
                .unwrap_or(200_000),
            queue_max_project_share: args
                .queue_max_project_share
                .or(file.queue_max_project_share)
                .unwrap_or(0.5),
            queue_max_bytes: size(
                "--queue-max-bytes",
                &args.queue_max_bytes,
                &file.queue_max_bytes,
                "256MiB",
            )?,
            batch_max_spans: args
                .batch_max_spans
                .or(file.batch_max_spans)
                .unwrap_or(20_000),
            // Set below, once the store is known.
            commit_linger: std::time::Duration::ZERO,
            prices: args.prices.clone().or(file.prices),
            api_keys: if args.api_keys.is_empty() {
                file.api_keys
                    .into_iter()
                    .map(|k| llmtrace_server::ApiKey::new(k.project, k.public_key, &k.secret_key))
                    .collect()
            } else {
                args.api_keys
                    .iter()
                    .map(|k| parse_api_key(k))
                    .collect::<anyhow::Result<_>>()?
            },
            log: args
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| "info".into()),
            metrics_max_label_values: args
                .metrics_max_label_values
                .or(file.metrics_max_label_values)
                .unwrap_or(100),
            public_metrics: args.public_metrics || file.public_metrics.unwrap_or(false),
            admin_key: args.admin_key.clone().or(file.admin_key),
            tls: match (
                args.tls_cert.clone().or(file.tls_cert),
                args.tls_key.clone().or(file.tls_key),
            ) {
                (Some(cert), Some(key)) => Some(llmtrace_server::TlsFiles { cert, key }),
                (None, None) => None,
                _ => bail!("--tls-cert and --tls-key go together: give both, or neither"),
            },
            metrics_settle: args.metrics_settle_ms.or(file.metrics_settle_ms).map_or(
                llmtrace_metrics::DEFAULT_SETTLE,
                std::time::Duration::from_millis,
            ),
            alerts,
            store: store_choice(
                args.store.clone().or(file.store),
                args.clickhouse_cluster.clone().or(file.clickhouse_cluster),
            )?,
            gateway: if args.gateway || file.gateway.unwrap_or(false) {
                let upstreams = if args.gateway_upstream.is_empty() {
                    file.gateway_upstream.clone()
                } else {
                    args.gateway_upstream.clone()
                };
                let capture = args
                    .gateway_capture_content
                    .or(file.gateway_capture_content)
                    .unwrap_or_else(|| {
                        addr("--http-listen", &http).is_ok_and(|a| a.ip().is_loopback())
                    });
                let mut g = llmtrace_server::GatewayConfig::new(&upstreams, capture)
                    .map_err(anyhow::Error::msg)?;
                if let Some(secs) = args
                    .gateway_timeout_seconds
                    .or(file.gateway_timeout_seconds)
                {
                    g.read_timeout = std::time::Duration::from_secs(secs.max(1));
                }
                Some(g)
            } else {
                None
            },
            evaluators: file
                .evaluators
                .iter()
                .map(llmtrace_evaluators::Evaluator::new)
                .collect::<Result<Vec<_>, _>>()?,
            forward_otlp: if args.forward_otlp.is_empty() {
                file.forward_otlp.clone()
            } else {
                args.forward_otlp.clone()
            },
            max_disk_bytes: args
                .max_disk_bytes
                .clone()
                .or_else(|| file.max_disk_bytes.as_ref().map(SizeValue::text))
                .map(|v| parse_size(&v).context("--max-disk-bytes"))
                .transpose()?,
            retention_interval: std::time::Duration::from_secs(
                args.retention_interval_seconds
                    .or(file.retention.as_ref().and_then(|r| r.interval_seconds))
                    .unwrap_or(300)
                    .max(1),
            ),
            retention: {
                let f = file.retention.unwrap_or_default();
                llmtrace_store_clickhouse::Retention {
                    default_days: args.retention_days.or(f.days),
                    projects: f.projects,
                }
            },
        };
        for e in &cfg.evaluators {
            if let Some(var) = e.judge().and_then(|j| j.api_key_env()) {
                if std::env::var_os(var).is_none() {
                    bail!(
                        "evaluator {:?}: api_key_env {var:?} names an environment variable that is not set",
                        e.name()
                    );
                }
            }
        }
        if cfg.retention.default_days == Some(0) || cfg.retention.projects.values().any(|d| *d == 0)
        {
            bail!("retention days must be at least 1");
        }
        let mut cfg = cfg;
        let default_linger = if cfg.store == StoreChoice::Sqlite {
            0
        } else {
            10
        };
        cfg.commit_linger = std::time::Duration::from_millis(
            args.commit_linger_ms
                .or(file.commit_linger_ms)
                .unwrap_or(default_linger),
        );
        let stored = crate::projects::load(&cfg.data_dir)?;
        cfg.api_keys.extend(crate::projects::server_keys(&stored)?);
        let allow_unauthenticated =
            args.allow_unauthenticated || file.allow_unauthenticated.unwrap_or(false);
        for (name, a) in [
            ("--http-listen", cfg.http_listen),
            ("--grpc-listen", cfg.grpc_listen),
        ] {
            if !a.ip().is_loopback() && !allow_unauthenticated && cfg.api_keys.is_empty() {
                bail!(
                    "{name} {a} is reachable from other machines, and llmtrace has no API keys \
                     configured; listen on 127.0.0.1, configure --api-key, or pass \
                     --allow-unauthenticated (LLMTRACE_ALLOW_UNAUTHENTICATED=true) to accept \
                     unauthenticated traffic"
                );
            }
        }
        for (name, v) in [
            ("--queue-max-spans", cfg.queue_max_spans),
            ("--batch-max-spans", cfg.batch_max_spans),
            ("--max-body-bytes", cfg.max_body_bytes),
            ("--max-attribute-bytes", cfg.max_attribute_bytes),
            ("--max-spans-per-request", cfg.max_spans_per_request),
            ("--max-values-per-request", cfg.max_values_per_request),
            ("--metrics-max-label-values", cfg.metrics_max_label_values),
        ] {
            if v == 0 {
                bail!("{name} must be greater than 0");
            }
        }
        if cfg.admin_key.is_some() && cfg.api_keys.is_empty() {
            bail!("--admin-key needs project keys (--api-key, [[api_keys]] or `llmtrace projects create`)");
        }
        let share = cfg.queue_max_project_share;
        if !(share > 0.0 && share <= 1.0) {
            bail!("--queue-max-project-share must be above 0 and at most 1 (got {share})");
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_linger_on_clickhouse_only_unless_told() {
        let dir = tempfile::tempdir().unwrap();
        let resolve = |store: Option<&str>, linger: Option<u64>| {
            ServeConfig::resolve(&ServeArgs {
                data_dir: Some(dir.path().to_path_buf()),
                store: store.map(Into::into),
                commit_linger_ms: linger,
                ..Default::default()
            })
            .unwrap()
            .commit_linger
        };
        let ms = std::time::Duration::from_millis;
        assert_eq!(resolve(None, None), ms(0));
        assert_eq!(resolve(Some("clickhouse://127.0.0.1:8123/x"), None), ms(10));
        assert_eq!(
            resolve(Some("clickhouse://127.0.0.1:8123/x"), Some(0)),
            ms(0)
        );
        assert_eq!(resolve(None, Some(5)), ms(5));
    }

    #[test]
    fn gateway_from_flags_or_file_with_content_capture_by_listener() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("llmtrace.toml");
        std::fs::write(
            &path,
            "gateway = true\ngateway_upstream = [\"groq=https://api.groq.com/openai\"]\ngateway_timeout_seconds = 30\n",
        )
        .unwrap();
        let from_file = ServeConfig::resolve(&ServeArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap()
        .gateway
        .expect("on from the file");
        assert_eq!(
            from_file.upstreams.get("groq").map(String::as_str),
            Some("https://api.groq.com/openai")
        );
        assert_eq!(
            from_file.upstreams.get("anthropic").map(String::as_str),
            Some("https://api.anthropic.com")
        );
        assert!(from_file.capture_content, "loopback listener: captured");
        assert_eq!(from_file.read_timeout, std::time::Duration::from_secs(30));

        let off = ServeConfig::resolve(&ServeArgs::default()).unwrap();
        assert!(off.gateway.is_none());
        let open = ServeConfig::resolve(&ServeArgs {
            gateway: true,
            http_listen: Some("0.0.0.0:4318".into()),
            allow_unauthenticated: true,
            gateway_upstream: vec!["openai=http://127.0.0.1:9".into()],
            ..Default::default()
        })
        .unwrap()
        .gateway
        .unwrap();
        assert!(
            !open.capture_content,
            "beyond loopback: not captured unless asked"
        );
        assert_eq!(
            open.upstreams.get("openai").map(String::as_str),
            Some("http://127.0.0.1:9")
        );
        for bad in [
            "noequals",
            "=http://x",
            "a b=http://x",
            "x=ftp://host",
            "x=not a url",
        ] {
            let err = ServeConfig::resolve(&ServeArgs {
                gateway: true,
                gateway_upstream: vec![bad.into()],
                ..Default::default()
            });
            assert!(err.is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("10 kb").unwrap(), 10_000);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn flags_beat_file_beats_defaults_and_network_needs_consent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("llmtrace.toml");
        std::fs::write(
            &path,
            "grpc_listen = \"127.0.0.1:5317\"\nqueue_max_spans = 7\nmax_body_bytes = \"1MiB\"\nhttp_listen = \"127.0.0.1:1\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            http_listen: Some("127.0.0.1:9999".into()),
            ..Default::default()
        };
        let c = ServeConfig::resolve(&args).unwrap();
        assert_eq!(c.http_listen.port(), 9999);
        assert_eq!(c.grpc_listen.port(), 5317);
        assert_eq!(c.queue_max_spans, 7);
        assert_eq!(c.max_body_bytes, 1 << 20);
        assert_eq!(c.batch_max_spans, 20_000);
        assert_eq!(c.data_dir, PathBuf::from("./llmtrace-data"));

        let open = ServeArgs {
            http_listen: Some("0.0.0.0:4318".into()),
            ..Default::default()
        };
        let err = ServeConfig::resolve(&open).unwrap_err().to_string();
        assert!(err.contains("--allow-unauthenticated"), "{err}");
        let consent = ServeArgs {
            allow_unauthenticated: true,
            ..open
        };
        assert!(ServeConfig::resolve(&consent).is_ok());

        std::fs::write(&path, "no_such_key = 1\n").unwrap();
        let bad = ServeArgs {
            config: Some(path),
            ..Default::default()
        };
        assert!(format!("{:#}", ServeConfig::resolve(&bad).unwrap_err()).contains("no_such_key"));
    }
}
