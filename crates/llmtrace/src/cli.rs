//! Command-line definitions. Every `serve` option also reads an `LLMTRACE_*` environment
//! variable and a key of the optional TOML config file; a flag beats the variable, which beats
//! the file, which beats the default.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// llmtrace: OpenTelemetry-native tracing for LLM applications.
///
/// Point any OpenTelemetry exporter at it (OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318)
/// and see every trace, token and failed call. Start with `llmtrace serve`, then
/// `llmtrace demo` to send sample traffic and `llmtrace traces` to list it.
#[derive(Parser, Debug)]
#[command(name = "llmtrace", version, about, long_about)]
pub(crate) struct Cli {
    /// Server the query commands (traces, trace, stats, demo) talk to.
    #[arg(
        long,
        global = true,
        env = "LLMTRACE_SERVER",
        default_value = "http://127.0.0.1:4318"
    )]
    pub(crate) server: String,
    /// Secret API key for the query commands when the server requires keys (sent as
    /// `Authorization: Bearer`).
    #[arg(
        long,
        global = true,
        env = "LLMTRACE_SECRET_KEY",
        hide_env_values = true
    )]
    pub(crate) secret_key: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the server: OTLP/HTTP and the API on :4318, OTLP/gRPC on :4317, data in SQLite.
    Serve(Box<ServeArgs>),
    /// List recent traces, newest first.
    Traces(TracesArgs),
    /// Show one trace as an indented tree.
    Trace(TraceArgs),
    /// Model-call statistics (calls, errors, tokens, latency percentiles) per group.
    Stats(StatsArgs),
    /// Send realistic sample traffic (RAG pipelines, agents, streaming calls, errors) over OTLP.
    Demo(DemoArgs),
    /// Prices: import a LiteLLM price file, recompute stored costs, check for stale or missing
    /// prices.
    #[command(subcommand)]
    Pricing(PricingCommand),
    /// Projects (tenants) and their API keys.
    #[command(subcommand)]
    Projects(ProjectsCommand),
    /// Write a consistent copy of a store while its server runs (SQLite), verify that it opens,
    /// and print its size and span count. Restore: stop the server, put the copy in place of
    /// `<data-dir>/llmtrace.db` (removing `llmtrace.db-wal` and `llmtrace.db-shm`), start it.
    Backup(BackupArgs),
    /// Stream a store's traces out, oldest pages last: JSON lines of the API's trace shape
    /// (`jsonl`), or OTLP/JSON lines, one export request per line, as the OpenTelemetry
    /// Collector's file exporter writes them (`otlp`; what `llmtrace import` and the
    /// Collector's `otlpjsonfile` receiver read). Reads the data dir's SQLite store in pages.
    Export(ExportArgs),
    /// Send an `llmtrace export --format otlp` file (OTLP/JSON lines) to a running server, a
    /// request per line; importing twice stores nothing twice.
    Import(TracesImportArgs),
    /// Run a configured evaluator of the running server over the traces of a past time range
    /// (replacing its scores there), or with `--dry-run` count the spans and estimate what its
    /// judge calls would cost.
    Evaluate(crate::evaluate_cmd::EvaluateArgs),
    /// Scores: `scores config list|set|delete` manages the project's score configs (name,
    /// type, allowed range or labels) on the running server.
    #[command(subcommand)]
    Scores(crate::scores_cmd::ScoresCommand),
    /// Print a Prometheus rule file (recording rules and the LLM* alerts) built from the
    /// `[alerts]` thresholds of the config file, or with `--tests` a promtool unit-test file
    /// for it.
    Rules(RulesArgs),
}

#[derive(Args, Debug)]
pub(crate) struct BackupArgs {
    /// Where to write the copy (a new file; never overwritten).
    pub(crate) dest: PathBuf,
    /// The server's data dir.
    #[arg(long, env = "LLMTRACE_DATA_DIR", default_value = "./llmtrace-data")]
    pub(crate) data_dir: PathBuf,
    /// The server's store (`sqlite`, or a ClickHouse URL: then the ClickHouse tools apply).
    #[arg(long, env = "LLMTRACE_STORE", default_value = "sqlite")]
    pub(crate) store: String,
}

#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    /// The data dir of the SQLite store to read (a running server may keep writing).
    #[arg(long, env = "LLMTRACE_DATA_DIR", default_value = "./llmtrace-data")]
    pub(crate) data_dir: PathBuf,
    /// The project to export.
    #[arg(long, default_value = "default")]
    pub(crate) project: String,
    /// Only traces starting at or after this RFC 3339 time.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only traces starting before this RFC 3339 time.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Only traces of this service.
    #[arg(long)]
    pub(crate) service: Option<String>,
    /// `jsonl` (the API's trace shape) or `otlp` (OTLP/JSON lines).
    #[arg(long, default_value = "jsonl")]
    pub(crate) format: String,
    /// Write here instead of standard output.
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct TracesImportArgs {
    /// The OTLP/JSON lines file (`-` for standard input).
    pub(crate) file: PathBuf,
}

#[derive(Args, Debug)]
pub(crate) struct RulesArgs {
    /// The TOML config file `serve` reads; its `[alerts]` table sets thresholds and windows.
    #[arg(long, env = "LLMTRACE_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Print the promtool unit tests of the rules instead of the rules.
    #[arg(long)]
    pub(crate) tests: bool,
    /// With `--tests`: the rule file name the tests load (`rule_files:`).
    #[arg(long, default_value = "llmtrace-rules.yml")]
    pub(crate) rule_file: String,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ProjectsCommand {
    /// Create a project and print its keys: a Langfuse-style public/secret pair; the secret also
    /// works as a bearer key (OTLP, API) and as a LangSmith `x-api-key`.
    Create(ProjectsCreateArgs),
    /// List projects and their public keys.
    List(ProjectsListArgs),
}

#[derive(Args, Debug)]
pub(crate) struct ProjectsCreateArgs {
    /// Project name: letters, digits, `-` and `_`.
    pub(crate) name: String,
    /// The server's data dir, where `api_keys.toml` lives.
    #[arg(long, env = "LLMTRACE_DATA_DIR", default_value = "./llmtrace-data")]
    pub(crate) data_dir: PathBuf,
}

#[derive(Args, Debug)]
pub(crate) struct ProjectsListArgs {
    /// The server's data dir, where `api_keys.toml` lives.
    #[arg(long, env = "LLMTRACE_DATA_DIR", default_value = "./llmtrace-data")]
    pub(crate) data_dir: PathBuf,
}

#[derive(Subcommand, Debug)]
pub(crate) enum PricingCommand {
    /// Convert a LiteLLM `model_prices_and_context_window.json` into a user price file
    /// (then start the server with `--prices FILE`).
    Import(ImportArgs),
    /// Recompute stored costs with the server's price table (its price file is re-read first);
    /// prints totals before and after. Idempotent; runs in batches beside ingest.
    Recompute(RecomputeArgs),
    /// List models seen without a price, price entries that differ from a LiteLLM file, and a
    /// price table older than N days; exits 1 when something needs attention.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// The LiteLLM-format JSON file.
    pub(crate) file: PathBuf,
    /// The user price file to write (`.toml` or `.json`).
    #[arg(long, default_value = "llmtrace-prices.toml")]
    pub(crate) out: PathBuf,
    /// Overwrite `--out` if it exists.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Args, Debug)]
pub(crate) struct RecomputeArgs {
    /// Only spans started at or after this RFC 3339 time.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only spans of this model.
    #[arg(long)]
    pub(crate) model: Option<String>,
    /// Report what would change without writing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// A LiteLLM-format JSON file to compare the price table against.
    #[arg(long)]
    pub(crate) against: Option<PathBuf>,
    /// Flag the table when its newest built-in snapshot or entry is older than this many days.
    #[arg(long)]
    pub(crate) max_age_days: Option<u64>,
}

#[derive(Args, Debug, Default)]
pub(crate) struct ServeArgs {
    /// TOML config file; its keys are the long flag names with `_` for `-`.
    #[arg(long, env = "LLMTRACE_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// OTLP/HTTP, JSON API and health address [default: 127.0.0.1:4318].
    #[arg(long, env = "LLMTRACE_HTTP_LISTEN")]
    pub(crate) http_listen: Option<String>,
    /// OTLP/gRPC address [default: 127.0.0.1:4317].
    #[arg(long, env = "LLMTRACE_GRPC_LISTEN")]
    pub(crate) grpc_listen: Option<String>,
    /// Where the SQLite database lives [default: ./llmtrace-data].
    #[arg(long, env = "LLMTRACE_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Largest request body, e.g. 64MiB; larger requests get HTTP 413 [default: 64MiB].
    #[arg(long, env = "LLMTRACE_MAX_BODY_BYTES")]
    pub(crate) max_body_bytes: Option<String>,
    /// Largest body after gzip decompression [default: 128MiB].
    #[arg(long, env = "LLMTRACE_MAX_DECOMPRESSED_BYTES")]
    pub(crate) max_decompressed_bytes: Option<String>,
    /// Most spans (or log records) in one request, counted before it is decoded; beyond it the
    /// request gets 413 [default: 50000].
    #[arg(long, env = "LLMTRACE_MAX_SPANS_PER_REQUEST")]
    pub(crate) max_spans_per_request: Option<usize>,
    /// Most decoded values (messages, attributes, array and map values, strings) in one request,
    /// counted before it is decoded; beyond it the request gets 413 [default: 1000000].
    #[arg(long, env = "LLMTRACE_MAX_VALUES_PER_REQUEST")]
    pub(crate) max_values_per_request: Option<usize>,
    /// Longest attribute value kept; longer ones are truncated with a marker [default: 256KiB].
    #[arg(long, env = "LLMTRACE_MAX_ATTRIBUTE_BYTES")]
    pub(crate) max_attribute_bytes: Option<String>,
    /// Most spans waiting to be written; beyond it exporters get 503 + Retry-After
    /// [default: 200000].
    #[arg(long, env = "LLMTRACE_QUEUE_MAX_SPANS")]
    pub(crate) queue_max_spans: Option<usize>,
    /// The share of the queue one project may hold while another project's spans also wait
    /// (a project alone may use it all); beyond it that project gets 429 + Retry-After
    /// [default: 0.5].
    #[arg(long, env = "LLMTRACE_QUEUE_MAX_PROJECT_SHARE")]
    pub(crate) queue_max_project_share: Option<f64>,
    /// Most bytes waiting to be written [default: 256MiB].
    #[arg(long, env = "LLMTRACE_QUEUE_MAX_BYTES")]
    pub(crate) queue_max_bytes: Option<String>,
    /// Most spans in one group commit [default: 20000].
    #[arg(long, env = "LLMTRACE_BATCH_MAX_SPANS")]
    pub(crate) batch_max_spans: Option<usize>,
    /// Milliseconds a group commit may wait for more requests once it has one, while they
    /// keep arriving: larger commits for the ClickHouse store, which pays much per commit (a
    /// part per table, and its merges) [default: 10 on ClickHouse, 0 on SQLite].
    #[arg(long, env = "LLMTRACE_COMMIT_LINGER_MS")]
    pub(crate) commit_linger_ms: Option<u64>,
    /// An API key as PROJECT:PUBLIC_KEY:SECRET_KEY (repeatable; the variable takes a comma-
    /// separated list). With keys, every request must present one (Basic public:secret, Bearer
    /// secret, or x-api-key secret) and is stored under that key's project.
    #[arg(long = "api-key", env = "LLMTRACE_API_KEYS", value_delimiter = ',')]
    pub(crate) api_keys: Vec<String>,
    /// Accept unauthenticated traffic on a non-loopback address.
    #[arg(long, env = "LLMTRACE_ALLOW_UNAUTHENTICATED")]
    pub(crate) allow_unauthenticated: bool,
    /// With API keys, let `/metrics` be scraped without one (a Prometheus without credentials);
    /// every other route still needs a key.
    #[arg(long, env = "LLMTRACE_PUBLIC_METRICS")]
    pub(crate) public_metrics: bool,
    /// The admin key (a secret): with project keys configured, the node-wide routes
    /// (`/api/ingest`, `/api/alerts`, the health page) need it, `/metrics` shows a project key
    /// only its own project's series, and the admin key reads and writes any project named by
    /// the `X-Llmtrace-Project` header. Keep it out of shell
    /// history: prefer the environment or `admin_key` in the config file.
    #[arg(long, env = "LLMTRACE_ADMIN_KEY", hide_env_values = true)]
    pub(crate) admin_key: Option<String>,
    /// Serve HTTPS and gRPC over TLS with this PEM certificate chain (with --tls-key).
    #[arg(long, env = "LLMTRACE_TLS_CERT")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "LLMTRACE_TLS_KEY")]
    pub(crate) tls_key: Option<PathBuf>,
    /// User price file (TOML or JSON, see docs/pricing.md); its entries beat the built-in table.
    #[arg(long, env = "LLMTRACE_PRICES")]
    pub(crate) prices: Option<PathBuf>,
    /// Log filter, e.g. `info` or `llmtrace=debug` [default: info].
    #[arg(long, env = "LLMTRACE_LOG")]
    pub(crate) log: Option<String>,
    /// Where traces are kept: `sqlite` (a file in the data dir) or a ClickHouse URL
    /// (`clickhouse://[user[:password]@]host[:8123][/database]`; several comma-separated with
    /// `--clickhouse-cluster`) [default: sqlite].
    #[arg(long, env = "LLMTRACE_STORE")]
    pub(crate) store: Option<String>,
    /// Name of the ClickHouse cluster (in the servers' `remote_servers`) whose nodes the
    /// `--store` URLs are: tables are created on every node behind Distributed tables
    /// (replicated tables when its shards have replicas); the first reachable URL is used.
    #[arg(long, env = "LLMTRACE_CLICKHOUSE_CLUSTER")]
    pub(crate) clickhouse_cluster: Option<String>,
    /// Days to keep each project's traces, logs and scores: on ClickHouse by TTL (19.6+), on
    /// SQLite by a background pass that deletes expired traces in small batches; per-project
    /// days in `[retention.projects]` of the config file [default: kept forever].
    #[arg(long, env = "LLMTRACE_RETENTION_DAYS")]
    pub(crate) retention_days: Option<u32>,
    /// Seconds between retention passes on the SQLite store (`interval_seconds` in
    /// `[retention]`) [default: 300].
    #[arg(long, env = "LLMTRACE_RETENTION_INTERVAL_SECONDS")]
    pub(crate) retention_interval_seconds: Option<u64>,
    /// Most bytes the SQLite store's data may take: beyond it, each retention pass deletes the
    /// oldest traces until it is back under 90 % of it (logged, counted, shown on /health); the
    /// file then stops growing [default: no limit].
    #[arg(long, env = "LLMTRACE_MAX_DISK_BYTES")]
    pub(crate) max_disk_bytes: Option<String>,
    /// Distinct values kept per metric label (model, provider, ...); later ones are exported
    /// as `other` [default: 100].
    #[arg(long, env = "LLMTRACE_METRICS_MAX_LABEL_VALUES")]
    pub(crate) metrics_max_label_values: Option<usize>,
    /// Milliseconds a counted call waits before it adds to the `llm_*` counters, so that every
    /// copy of it (a wrapper and its inner call, the provider SDK's own span) has arrived and
    /// the counters equal `/api/stats` [default: 5000].
    #[arg(long, env = "LLMTRACE_METRICS_SETTLE_MS")]
    pub(crate) metrics_settle_ms: Option<u64>,
    /// A webhook the built-in alert evaluator notifies (Alertmanager JSON); repeatable, added to
    /// the `[[alerts.webhooks]]` of the config file.
    #[arg(
        long = "alert-webhook",
        env = "LLMTRACE_ALERT_WEBHOOK",
        value_delimiter = ','
    )]
    pub(crate) alert_webhooks: Vec<String>,
    /// Send every span the store newly accepted on to this OTLP endpoint (OTLP/HTTP protobuf;
    /// a base URL gets `/v1/traces`), after its commit; repeatable. Each target has a bounded
    /// queue, retries and a drop counter (`/metrics`, the health page).
    #[arg(
        long = "forward-otlp",
        env = "LLMTRACE_FORWARD_OTLP",
        value_delimiter = ','
    )]
    pub(crate) forward_otlp: Vec<String>,
    /// Gateway mode: proxy LLM calls at `/gateway/{upstream}/...` (`/gateway/anthropic`,
    /// `/gateway/openai/v1`, or a `--gateway-upstream`) and store each as a span.
    #[arg(long, env = "LLMTRACE_GATEWAY")]
    pub(crate) gateway: bool,
    /// A gateway upstream `NAME=URL` (an OpenAI-compatible server, or a replacement for the
    /// built-in `anthropic` and `openai`); repeatable.
    #[arg(
        long = "gateway-upstream",
        env = "LLMTRACE_GATEWAY_UPSTREAM",
        value_delimiter = ','
    )]
    pub(crate) gateway_upstream: Vec<String>,
    /// Store the prompts and completions of gateway calls [default: true when the HTTP
    /// listener is on loopback, false otherwise].
    #[arg(long, env = "LLMTRACE_GATEWAY_CAPTURE_CONTENT")]
    pub(crate) gateway_capture_content: Option<bool>,
    /// Seconds a gateway upstream may stay silent (before its answer starts, or between two
    /// streamed chunks) before the app gets 504 [default: 600].
    #[arg(long, env = "LLMTRACE_GATEWAY_TIMEOUT_SECONDS")]
    pub(crate) gateway_timeout_seconds: Option<u64>,
}

#[derive(Args, Debug)]
pub(crate) struct TracesArgs {
    /// How many traces (at most 500).
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
    /// Only traces with a span of this service.
    #[arg(long)]
    pub(crate) service: Option<String>,
    /// Only traces calling this model.
    #[arg(long)]
    pub(crate) model: Option<String>,
    /// Only traces calling this provider (openai, anthropic, aws.bedrock, ...).
    #[arg(long)]
    pub(crate) provider: Option<String>,
    /// Only traces with an error.
    #[arg(long)]
    pub(crate) errors: bool,
    /// Only traces of this user.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Only traces of this session.
    #[arg(long)]
    pub(crate) session: Option<String>,
    /// Only traces started at or after this RFC 3339 time.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only traces started before this RFC 3339 time.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Only traces lasting at least this many milliseconds.
    #[arg(long)]
    pub(crate) min_duration_ms: Option<f64>,
    /// Only traces costing at least this many USD (e.g. 0.05).
    #[arg(long)]
    pub(crate) min_cost: Option<String>,
    /// Order: `time` (newest first) or `cost` (costliest first).
    #[arg(long, default_value = "time")]
    pub(crate) sort: String,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct TraceArgs {
    /// The trace id (32 hex characters).
    pub(crate) trace_id: String,
    /// Print the API's JSON instead of a tree.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct StatsArgs {
    /// Group by model, provider, service or operation.
    #[arg(long, default_value = "model")]
    pub(crate) by: String,
    /// Only calls started at or after this RFC 3339 time.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only calls started before this RFC 3339 time.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// How many traces to send.
    #[arg(long, default_value_t = 60)]
    pub(crate) traces: usize,
    /// Spread trace start times over this many seconds before now.
    #[arg(long, default_value_t = 900)]
    pub(crate) spread_secs: u64,
    /// Random seed (the same seed sends the same shapes with fresh ids).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
}
