//! Versioned migrations, applied in order at connect; `schema_migrations` records each applied
//! version.
//!
//! Layout choices:
//! - `spans` is one wide table, a `ReplacingMergeTree(version)` ordered by
//!   `(project, trace_id, span_id)`: that key is the span's identity, so a copy written twice
//!   (a retry that reached two llmtrace nodes, a replaced incomplete copy, a re-priced span)
//!   collapses to its highest `version`, and every read uses `FINAL`. The same key makes a
//!   trace's spans contiguous, so reading one trace is a primary-key range.
//! - No `PARTITION BY`: replacing rows only collapse inside one partition, and the copies of a
//!   span need not share a start time (an incomplete copy may carry another), so the partition
//!   could only be derived from the identity; and an insert into one partition is one part,
//!   which is what keeps a batch insert all-or-nothing.
//! - The columns filtered, grouped or summed on are typed columns; everything else of a span
//!   (messages, attributes, events, links, request parameters) is one JSON `detail` column, and
//!   the resource attributes a JSON `resource` column, both compressed with `CODEC(ZSTD(1))` on
//!   servers that have column codecs (19.x and later; 18.16 has none and compresses every
//!   column with its server-wide method, LZ4 by default).
//! - `search_text` (version 3) holds the span's normalized searchable text with a space in
//!   front, compressed like `detail`; full-text search is a `position` scan over that column
//!   alone (no skip index: 18.16 has none, and word prefixes defeat token bloom filters).
//! - `expire_at` (version 4) on `spans`, `logs`, `scores` and `responses`: when the row
//!   expires under its project's retention (the largest `DateTime`, 2106-02-07, for never);
//!   on 19.6 and later those (local) tables have `TTL expire_at`, so merges delete expired rows.
//! - Money is `Int64` pico-dollars (`Nullable` where "unknown" differs from zero).
//! - Ids are lowercase hex `String`s: they travel through JSON unchanged and sort like the bytes.
//! - Per-trace rollups are not stored: they are computed at query time from `spans` (see
//!   `reader.rs`), so several llmtrace nodes writing spans of one trace can never lose an
//!   update to a rollup row.
//! - `responses` maps each provider response id to the traces whose call spans carry it (the
//!   writer's lookup for the same-response rule), by primary key.
//! - `messages` (version 13) keeps each distinct long message of a project once; span details
//!   refer to them by hash (`messages.rs`).
//! - `scores` replace by `(project, score_id)`; `logs` are keyed by a hash of their content so a
//!   retried batch leaves one copy.

use crate::client::{lit, Client};
use llmtrace_store::StoreError;
use serde::Deserialize;

/// What the connected server supports, found from its version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerFeatures {
    /// Major version (18 for Debian's 18.16).
    pub(crate) major: u32,
    /// Minor version (16 for Debian's 18.16).
    pub(crate) minor: u32,
}

impl ServerFeatures {
    /// Parses `SELECT version()`.
    pub(crate) fn from_version(v: &str) -> Self {
        let mut parts = v.split('.').map(|p| p.trim().parse().unwrap_or(0));
        ServerFeatures {
            major: parts.next().unwrap_or(0),
            minor: parts.next().unwrap_or(0),
        }
    }

    /// Whether tables can have a `TTL` (19.6 and later).
    pub(crate) fn has_ttl(self) -> bool {
        (self.major, self.minor) >= (19, 6)
    }

    /// Whether tables can have data skipping indexes without experimental settings (21.x and
    /// later).
    pub(crate) fn has_skip_indexes(self) -> bool {
        self.major >= 21
    }

    /// Column codec clause for large text (`CODEC(...)` arrived in 19.x).
    fn text_codec(self) -> &'static str {
        if self.major >= 19 {
            " CODEC(ZSTD(1))"
        } else {
            ""
        }
    }

    /// Table settings that make an insert durable before ClickHouse answers it: the part and its
    /// directory are fsynced (22.x and later; 18.16 has no such setting, so there an
    /// acknowledged insert survives a server crash but may be lost in a power failure).
    fn durable_settings(self) -> &'static str {
        if self.major >= 22 {
            "\nSETTINGS fsync_after_insert = 1, fsync_part_directory = 1"
        } else {
            ""
        }
    }

    /// [`ServerFeatures::durable_settings`] continuing a `SETTINGS` clause the statement has.
    fn durable_settings_more(self) -> &'static str {
        if self.major >= 22 {
            ", fsync_after_insert = 1, fsync_part_directory = 1"
        } else {
            ""
        }
    }

    /// Type of low-cardinality strings (18.16 needs an experimental setting for it, so plain
    /// `String` there).
    fn lc_string(self) -> &'static str {
        if self.major >= 20 {
            "LowCardinality(String)"
        } else {
            "String"
        }
    }
}

/// Each entry holds the statements of one version (index + 1). `{db}`, `{zstd}`, `{lc}` and
/// `{durable}` are replaced by the database, the text codec clause, the low-cardinality string
/// type and the fsync table settings (`{durable_more}`: the same continuing a `SETTINGS`
/// clause); `{local}` by `_local` in a cluster (a node's own tables), else nothing.
/// Statements must be idempotent (`IF NOT EXISTS`): several nodes may migrate at once. An
/// `ALTER TABLE {db}.<table> ADD COLUMN <column> ...` statement runs only where the column is
/// missing (18.16 has no `ADD COLUMN IF NOT EXISTS`); in a cluster it runs on `<table>_local`,
/// then on the `Distributed` `<table>`. A statement holding ` MODIFY TTL ` runs only on servers
/// with TTL (19.6 and later), and names `{db}.<table>{local}` (TTL belongs on the MergeTree
/// tables, not on `Distributed` ones); one naming `search_ngrams` (the search index) likewise
/// runs only on servers with data skipping indexes (21.x and later).
const MIGRATIONS: &[&[&str]] = &[
    // 1: initial schema. Spans use granules of 256 rows (not the default 8192): reading one
    // trace (detail, and the writer's lookups) reads a granule of wide rows per part, so
    // smaller granules read less (with 1,024 a 5-span trace read 10 MB at 10M spans; databases
    // created before keep the granules they were created with).
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.spans (
    project String,
    trace_id String,
    span_id String,
    parent_span_id String,
    name String,
    service {lc},
    kind UInt8,
    is_call UInt8,
    not_root UInt8,
    root_key String,
    start_ns UInt64,
    end_ns UInt64,
    status UInt8,
    provider {lc},
    operation {lc},
    model {lc},
    request_model {lc},
    response_model {lc},
    user_id String,
    session_id String,
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_write_tokens UInt64,
    reasoning_tokens UInt64,
    counts_usage UInt8,
    cost_computed Nullable(Int64),
    cost_reported Nullable(Int64),
    unpriced UInt8,
    price_id Nullable(String),
    price_effective_from Nullable(String),
    incomplete UInt8,
    response_id String,
    claim_key String,
    detail String{zstd},
    resource String{zstd},
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, trace_id, span_id)
SETTINGS index_granularity = 256{durable_more}"#,
        r#"CREATE TABLE IF NOT EXISTS {db}.scores (
    project String,
    score_id String,
    trace_id String,
    time_ns UInt64,
    detail String{zstd},
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, score_id){durable}"#,
        r#"CREATE TABLE IF NOT EXISTS {db}.logs (
    project String,
    trace_id String,
    span_id String,
    time_ns UInt64,
    log_hash String,
    event_name String,
    detail String{zstd}
) ENGINE = ReplacingMergeTree
ORDER BY (project, trace_id, time_ns, log_hash){durable}"#,
    ],
    // 2: which traces hold call spans of each provider response id, so the writer finds the
    // spans reporting a response by primary key instead of scanning `spans` on every commit.
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.responses (
    project String,
    response_id String,
    trace_id String
) ENGINE = ReplacingMergeTree
ORDER BY (project, response_id, trace_id)
SETTINGS index_granularity = 256{durable_more}"#,
        // Backfill, per node in a cluster (local tables: the other shards may not exist yet).
        r#"INSERT INTO {db}.responses{local} (project, response_id, trace_id)
SELECT project, response_id, trace_id FROM {db}.spans{local} WHERE is_call = 1 AND response_id != ''"#,
    ],
    // 3: the normalized searchable text of each span (`llmtrace_store::search`), with a space in
    // front when not empty, for full-text search with `position`. Spans stored before get ''
    // (not searchable).
    &[r#"ALTER TABLE {db}.spans ADD COLUMN search_text String{zstd}"#],
    // 4: per-project retention. Each row's expiry (its time plus its project's retention, see
    // `retention.rs`), filled by the writer; rows stored before, and rows of projects kept
    // forever, get the largest DateTime (2106-02-07). Merges delete expired rows where the
    // server has TTL (`TTL expr` deletes, in every version since 19.6).
    &[
        "ALTER TABLE {db}.spans ADD COLUMN expire_at DateTime DEFAULT toDateTime(4294967295)",
        "ALTER TABLE {db}.logs ADD COLUMN expire_at DateTime DEFAULT toDateTime(4294967295)",
        "ALTER TABLE {db}.scores ADD COLUMN expire_at DateTime DEFAULT toDateTime(4294967295)",
        "ALTER TABLE {db}.responses ADD COLUMN expire_at DateTime DEFAULT toDateTime(4294967295)",
        "ALTER TABLE {db}.spans{local} MODIFY TTL expire_at",
        "ALTER TABLE {db}.logs{local} MODIFY TTL expire_at",
        "ALTER TABLE {db}.scores{local} MODIFY TTL expire_at",
        "ALTER TABLE {db}.responses{local} MODIFY TTL expire_at",
    ],
    // 5: which traces have stored spans, and which writer wrote to each when, in a narrow
    // table with small granules: the writer learns that a trace is new (most are) by reading a
    // few hundred short rows instead of a granule of wide span rows per trace id and part (that
    // lookup was most of a commit's time), and whether another node wrote to a trace it just
    // wrote (`summaries.rs`). One row per trace per write (`MergeTree`: no row may replace
    // another).
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.trace_keys (
    project String,
    trace_id String,
    writer UInt64,
    at UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = MergeTree
ORDER BY (project, trace_id, at)
SETTINGS index_granularity = 256{durable_more}"#,
        // Backfill, per node in a cluster (local tables).
        r#"INSERT INTO {db}.trace_keys{local} (project, trace_id, writer, at, expire_at)
SELECT project, trace_id, toUInt64(0), toUInt64(0), max(expire_at) FROM {db}.spans{local}
GROUP BY project, trace_id"#,
        "ALTER TABLE {db}.trace_keys{local} MODIFY TTL expire_at",
    ],
    // 6: one summary row per trace, written by the writers (`summaries.rs`), so the trace list
    // reads a row per trace instead of computing every rollup from the spans; filled from the
    // spans of an existing database when this version is applied.
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.trace_summaries (
    project String,
    trace_id String,
    root_name String,
    has_root UInt8,
    root_service String,
    t_start UInt64,
    t_end UInt64,
    span_count UInt64,
    llm_call_count UInt64,
    t_input UInt64,
    t_output UInt64,
    t_cache_read UInt64,
    t_cache_write UInt64,
    t_reasoning UInt64,
    error_count UInt64,
    t_cost Int64,
    t_unpriced UInt64,
    t_reported UInt64,
    t_user String,
    t_session String,
    t_services Array(String),
    t_req_models Array(String),
    t_resp_models Array(String),
    t_providers Array(String),
    version UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, trace_id)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.trace_summaries{local} MODIFY TTL expire_at",
    ],
    // 7: counted calls that failed, per trace. Summaries written before read 0 until their
    // trace is written again.
    &["ALTER TABLE {db}.trace_summaries ADD COLUMN t_failed_calls UInt64 DEFAULT 0"],
    // 8: what people add on top of traces: score configs, datasets and dataset items, one JSON
    // document each (`annotations.rs`); a deletion is a newer row with `deleted = 1`.
    &[r#"CREATE TABLE IF NOT EXISTS {db}.catalog (
    project String,
    kind String,
    parent String,
    key String,
    created_ns UInt64,
    detail String{zstd},
    deleted UInt8,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, kind, parent, key)
SETTINGS index_granularity = 256{durable_more}"#],
    // 9: reads that do not scan the project. `trace_list` holds the summary rows again, ordered
    // by trace start, so the newest-first trace list reads the newest rows of the project, a
    // primary-key range, instead of every summary (`newest.rs`). The writers write each summary
    // to both tables (`summaries.rs`); when a trace's start moves, the row at its old start
    // gets a tombstone (`deleted = 1`, same version), which `FINAL` keeps over the old row.
    // Filled from the summaries of an existing database. And on servers with data skipping
    // indexes (21.x and later; 18.16 has none), a bloom filter of the 4-grams of `search_text`,
    // so a search reads only the granules that may hold its words (a token bloom filter
    // cannot serve the search's last word, which may be a prefix).
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.trace_list (
    project String,
    t_start UInt64,
    trace_id String,
    root_name String,
    has_root UInt8,
    root_service String,
    t_end UInt64,
    span_count UInt64,
    llm_call_count UInt64,
    t_input UInt64,
    t_output UInt64,
    t_cache_read UInt64,
    t_cache_write UInt64,
    t_reasoning UInt64,
    error_count UInt64,
    t_cost Int64,
    t_unpriced UInt64,
    t_reported UInt64,
    t_failed_calls UInt64,
    t_user String,
    t_session String,
    t_services Array(String),
    t_req_models Array(String),
    t_resp_models Array(String),
    t_providers Array(String),
    deleted UInt8,
    version UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, t_start, trace_id)
SETTINGS index_granularity = 256{durable_more}"#,
        "ALTER TABLE {db}.trace_list{local} MODIFY TTL expire_at",
        r#"INSERT INTO {db}.trace_list{local} (project, t_start, trace_id, root_name, has_root,
root_service, t_end, span_count, llm_call_count, t_input, t_output, t_cache_read, t_cache_write,
t_reasoning, error_count, t_cost, t_unpriced, t_reported, t_failed_calls, t_user, t_session,
t_services, t_req_models, t_resp_models, t_providers, deleted, version, expire_at)
SELECT project, t_start, trace_id, root_name, has_root, root_service, t_end, span_count,
llm_call_count, t_input, t_output, t_cache_read, t_cache_write, t_reasoning, error_count, t_cost,
t_unpriced, t_reported, t_failed_calls, t_user, t_session, t_services, t_req_models,
t_resp_models, t_providers, toUInt8(0), version, expire_at
FROM {db}.trace_summaries{local} FINAL"#,
        // How many `trace_list` rows each hour, minute and second of trace starts holds
        // (`unit` 0, 1, 2; tombstones and versions included), summed: the list's walk plans its
        // windows from them.
        r#"CREATE TABLE IF NOT EXISTS {db}.trace_counts (
    project String,
    unit UInt8,
    bucket UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295),
    rows UInt64
) ENGINE = SummingMergeTree(rows)
ORDER BY (project, unit, bucket, expire_at)
SETTINGS index_granularity = 256{durable_more}"#,
        "ALTER TABLE {db}.trace_counts{local} MODIFY TTL expire_at",
        r#"INSERT INTO {db}.trace_counts{local} (project, unit, bucket, expire_at, rows)
SELECT project, toUInt8(0), intDiv(t_start, 3600000000000), expire_at, toUInt64(count())
FROM {db}.trace_list{local} GROUP BY project, intDiv(t_start, 3600000000000), expire_at"#,
        r#"INSERT INTO {db}.trace_counts{local} (project, unit, bucket, expire_at, rows)
SELECT project, toUInt8(1), intDiv(t_start, 60000000000), expire_at, toUInt64(count())
FROM {db}.trace_list{local} GROUP BY project, intDiv(t_start, 60000000000), expire_at"#,
        r#"INSERT INTO {db}.trace_counts{local} (project, unit, bucket, expire_at, rows)
SELECT project, toUInt8(2), intDiv(t_start, 1000000000), expire_at, toUInt64(count())
FROM {db}.trace_list{local} GROUP BY project, intDiv(t_start, 1000000000), expire_at"#,
        "ALTER TABLE {db}.spans{local} ADD INDEX IF NOT EXISTS search_ngrams search_text \
         TYPE ngrambf_v1(4, 65536, 3, 0) GRANULARITY 1",
        "ALTER TABLE {db}.spans{local} MATERIALIZE INDEX search_ngrams",
    ],
    // 10: statistics that read only their range's calls. `calls` holds one row per model call
    // span, ordered by start, with the counting rule already decided by the writer, so a
    // statistics query reads a primary-key range of narrow rows instead of joining the
    // project's spans with themselves (`calls.rs`). Filled from the spans of an existing
    // database ([`CALLS_VERSION`]).
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.calls (
    project String,
    start_ns UInt64,
    trace_id String,
    span_id String,
    service {lc},
    model {lc},
    provider {lc},
    operation {lc},
    counted UInt8,
    error UInt8,
    lat_bin UInt16,
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_write_tokens UInt64,
    reasoning_tokens UInt64,
    cost Int64,
    unpriced UInt8,
    no_price UInt8,
    deleted UInt8,
    version UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, start_ns, trace_id, span_id)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.calls{local} MODIFY TTL expire_at",
        // The folds of the calls per ten seconds (level 0), minute (level 1) and hour (level
        // 2), a row per dimensions, each fold at its version (`folds.rs`); the marks of the buckets written
        // (their newest `at` tells a fold that lacks a write) and the heads of the folds
        // completed.
        r#"CREATE TABLE IF NOT EXISTS {db}.call_folds (
    project String,
    level UInt8,
    bucket UInt64,
    service {lc},
    model {lc},
    provider {lc},
    operation {lc},
    calls UInt64,
    errors UInt64,
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_write_tokens UInt64,
    reasoning_tokens UInt64,
    cost Int64,
    unpriced UInt64,
    lat_bins Array(UInt16),
    lat_counts Array(Int64),
    no_price_calls UInt64,
    last_no_price UInt64,
    version UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, level, bucket, service, model, provider, operation)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.call_folds{local} MODIFY TTL expire_at",
        r#"CREATE TABLE IF NOT EXISTS {db}.call_marks (
    project String,
    level UInt8,
    bucket UInt64,
    at UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(at)
ORDER BY (project, level, bucket)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.call_marks{local} MODIFY TTL expire_at",
        r#"CREATE TABLE IF NOT EXISTS {db}.fold_heads (
    project String,
    level UInt8,
    bucket UInt64,
    version UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, level, bucket)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.fold_heads{local} MODIFY TTL expire_at",
    ],
    // 11: sessions and users from their own summary rows (`group_folds.rs`): per minute, hour
    // and day of trace starts, a row per session and per user, folded from `trace_list` like
    // the calls' folds (their marks and heads at levels 5 to 7). Every bucket of an existing
    // database is marked (at 1, before any fold) so the folder fills them.
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.group_folds (
    project String,
    level UInt8,
    bucket UInt64,
    dim UInt8,
    key String,
    g_user String,
    traces UInt64,
    first_start UInt64,
    last_start UInt64,
    last_end UInt64,
    spans UInt64,
    calls UInt64,
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    errors UInt64,
    cost Int64,
    unpriced UInt64,
    version UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, level, bucket, dim, key)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.group_folds{local} MODIFY TTL expire_at",
        // Each bucket's costliest and longest traces (kind 0 and 1), folded with the groups.
        r#"CREATE TABLE IF NOT EXISTS {db}.top_folds (
    project String,
    level UInt8,
    bucket UInt64,
    kind UInt8,
    trace_id String,
    t_start UInt64,
    sort_key Int64,
    version UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, level, bucket, kind, trace_id)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.top_folds{local} MODIFY TTL expire_at",
        r#"INSERT INTO {db}.call_marks{local} (project, level, bucket, at, expire_at)
SELECT project, toUInt8(5), intDiv(t_start, 60000000000) * 60000000000 AS b, toUInt64(1),
max(expire_at) FROM {db}.trace_list{local} GROUP BY project, b"#,
        r#"INSERT INTO {db}.call_marks{local} (project, level, bucket, at, expire_at)
SELECT project, toUInt8(6), intDiv(t_start, 3600000000000) * 3600000000000 AS b, toUInt64(1),
max(expire_at) FROM {db}.trace_list{local} GROUP BY project, b"#,
        r#"INSERT INTO {db}.call_marks{local} (project, level, bucket, at, expire_at)
SELECT project, toUInt8(7), intDiv(t_start, 86400000000000) * 86400000000000 AS b, toUInt64(1),
max(expire_at) FROM {db}.trace_list{local} GROUP BY project, b"#,
    ],
    // 12: searchable text in start order (`search.rs`): one row per searchable span, so a
    // newest-first search reads the text of the spans starting in its newest windows only, and
    // the spans' `search_text` is no longer written. Filled from the spans' text. On servers
    // with data skipping indexes the n-gram bloom filter moves with the text.
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.span_text (
    project String,
    start_ns UInt64,
    trace_id String,
    span_id String,
    text String{zstd},
    deleted UInt8,
    version UInt64,
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, start_ns, trace_id, span_id)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.span_text{local} MODIFY TTL expire_at",
        crate::search::BACKFILL,
        "ALTER TABLE {db}.span_text{local} ADD INDEX IF NOT EXISTS search_ngrams text \
         TYPE ngrambf_v1(4, 65536, 3, 0) GRANULARITY 1",
        "ALTER TABLE {db}.span_text{local} MATERIALIZE INDEX search_ngrams",
    ],
    // 13: messages stored once (`messages.rs`): each distinct long message of a project, keyed
    // by its hash; span details written from now on refer to them. A copy of a message per
    // write collapses to the one expiring last.
    &[
        r#"CREATE TABLE IF NOT EXISTS {db}.messages (
    project String,
    hash String,
    body String{zstd},
    expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(expire_at)
ORDER BY (project, hash)
SETTINGS index_granularity = 1024{durable_more}"#,
        "ALTER TABLE {db}.messages{local} MODIFY TTL expire_at",
    ],
];

/// The version whose migration creates `trace_summaries`; applying it to a database that has
/// spans fills the table ([`crate::summaries::backfill`]).
const SUMMARIES_VERSION: usize = 6;

/// How long one backfill statement of a migration may take (it copies every row of a table).
pub(crate) const BACKFILL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// The version whose migration creates `calls`; applying it to a database that has spans
/// fills the table ([`crate::calls::backfill`]).
const CALLS_VERSION: usize = 10;

/// Sharding key of each table in a cluster: rows that replace each other (copies of one span,
/// one score id) must land on one shard, and a trace's spans share one so `FINAL` and the
/// per-trace rollups work shard-locally.
const SHARD_KEYS: &[(&str, &str)] = &[
    ("spans", "cityHash64(project, trace_id)"),
    ("scores", "cityHash64(project, score_id)"),
    ("logs", "cityHash64(project, trace_id)"),
    ("responses", "cityHash64(project, response_id)"),
    ("trace_keys", "cityHash64(project, trace_id)"),
    ("trace_summaries", "cityHash64(project, trace_id)"),
    ("trace_list", "cityHash64(project, trace_id)"),
    ("trace_counts", "cityHash64(project, unit, bucket)"),
    ("calls", "cityHash64(project, trace_id)"),
    ("span_text", "cityHash64(project, trace_id)"),
    ("call_folds", "cityHash64(project, level, bucket)"),
    ("call_marks", "cityHash64(project, level, bucket)"),
    ("fold_heads", "cityHash64(project, level, bucket)"),
    ("group_folds", "cityHash64(project, level, bucket)"),
    ("top_folds", "cityHash64(project, level, bucket)"),
    ("catalog", "cityHash64(project, kind, parent, key)"),
    ("messages", "cityHash64(project, hash)"),
];

/// The table a `CREATE TABLE IF NOT EXISTS {db}.<name> (` statement creates.
fn created_table<'a>(sql: &'a str, db: &str) -> Option<&'a str> {
    let rest = sql.strip_prefix(&format!("CREATE TABLE IF NOT EXISTS {db}."))?;
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    rest.get(..end)
}

/// The schema version this build writes.
#[allow(
    clippy::cast_possible_truncation,
    reason = "the length of a fixed list of a few dozen migrations"
)]
pub(crate) const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[derive(Deserialize)]
struct Version {
    v: u32,
}

/// How the tables of a cluster are laid out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cluster<'a> {
    /// The cluster's name in the servers' `remote_servers`.
    pub(crate) name: &'a str,
    /// Whether its shards have several replicas: the local tables are then `Replicated*`
    /// engines, registered in ZooKeeper (or ClickHouse Keeper) under
    /// `/clickhouse/tables/{shard}/<database>/<table>` as replica `{replica}` (both macros of
    /// each server's configuration).
    pub(crate) replicated: bool,
}

/// One server to migrate.
pub(crate) struct Node<'a> {
    pub(crate) ch: &'a Client,
    pub(crate) features: ServerFeatures,
    /// Whether this node leads its shard: every node of a cluster without replicas; in a
    /// replicated cluster the first listed replica of each shard. The leader runs the
    /// statements whose effect replicates to the other replicas (changes of local tables'
    /// columns and TTL, backfills copying existing rows); the others receive them through
    /// ZooKeeper.
    pub(crate) leads_shard: bool,
    /// In a replicated cluster, the other listed replicas of this node's shard, leader first. A
    /// node creates each local table as it stands on the first of them that has it (a replica's
    /// `CREATE` must match the table's current structure in ZooKeeper, which `ALTER`s since the
    /// first migration have changed): so a replica added later, or one whose database was lost,
    /// leader included, joins with the current structure.
    pub(crate) peers: Vec<&'a Client>,
}

/// Creates the database if missing and applies the migrations it lacks on every node. A
/// database migrated by a newer llmtrace (higher version) is refused instead of being misread.
///
/// With `cluster`, each table is created as `<name>_local` plus a `Distributed` table `<name>`
/// over it on every node (`ON CLUSTER` needs ZooKeeper, which 18.16 setups without replicas
/// lack). Versions are applied one at a time across all nodes (version 1 on every node, then
/// version 2, ...), so that a replica creating its table finds the table's structure in
/// ZooKeeper as its own `CREATE` describes it (a replicated `ALTER` made on another replica
/// reaches it afterwards).
pub(crate) async fn migrate(
    nodes: &[Node<'_>],
    db: &str,
    cluster: Option<Cluster<'_>>,
) -> Result<(), StoreError> {
    migrate_up_to(nodes, db, cluster, SCHEMA_VERSION).await
}

/// [`migrate`], applying the migrations up to version `target` only (tests make older schemas
/// with it).
async fn migrate_up_to(
    nodes: &[Node<'_>],
    db: &str,
    cluster: Option<Cluster<'_>>,
    target: u32,
) -> Result<(), StoreError> {
    let mut current = Vec::with_capacity(nodes.len());
    for node in nodes {
        current.push(applied_version(node.ch, db).await?);
    }
    let lowest = current.iter().copied().min().unwrap_or(SCHEMA_VERSION);
    for version in lowest.saturating_add(1)..=target {
        for (node, &had) in nodes.iter().zip(&current) {
            if had < version {
                apply_version(node, db, cluster, version, had).await?;
            }
        }
    }
    Ok(())
}

/// Creates the database and `schema_migrations` on one node if missing, and returns the
/// version applied there; a newer version than this build knows is refused.
async fn applied_version(ch: &Client, db: &str) -> Result<u32, StoreError> {
    ch.execute(&format!("CREATE DATABASE IF NOT EXISTS {db}"))
        .await?;
    ch.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations \
         (version UInt32, applied_at DateTime) ENGINE = MergeTree ORDER BY version"
    ))
    .await?;
    let current = ch
        .select::<Version>(&format!(
            "SELECT toUInt32(max(version)) AS v FROM {db}.schema_migrations"
        ))
        .await?
        .first()
        .map_or(0, |r| r.v);
    if current > SCHEMA_VERSION {
        return Err(StoreError::Permanent(format!(
            "clickhouse database {db} has schema version {current}, newer than this llmtrace \
             supports ({SCHEMA_VERSION}); upgrade llmtrace"
        )));
    }
    Ok(current)
}

/// Applies the statements of `version` on one node (whose database was at version `had`) and
/// records it.
async fn apply_version(
    node: &Node<'_>,
    db: &str,
    cluster: Option<Cluster<'_>>,
    version: u32,
    had: u32,
) -> Result<(), StoreError> {
    let features = node.features;
    let local = if cluster.is_some() { "_local" } else { "" };
    let statements = version
        .checked_sub(1)
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| MIGRATIONS.get(i))
        .copied()
        .unwrap_or_default();
    for sql in statements {
        let sql = sql
            .replace("{db}", db)
            .replace("{zstd}", features.text_codec())
            .replace("{lc}", features.lc_string())
            .replace("{durable_more}", features.durable_settings_more())
            .replace("{durable}", features.durable_settings())
            .replace("{local}", local);
        if sql.starts_with("INSERT INTO ") && !node.leads_shard {
            continue;
        }
        apply(node, db, &sql, cluster).await.map_err(|e| match e {
            StoreError::Permanent(m) => StoreError::Permanent(format!("migration {version}: {m}")),
            other => other,
        })?;
    }
    if version as usize == SUMMARIES_VERSION && had > 0 && node.leads_shard {
        crate::summaries::backfill(node.ch, db, local).await?;
    }
    if version as usize == CALLS_VERSION && had > 0 && node.leads_shard {
        crate::calls::backfill(node.ch, db, local).await?;
    }
    node.ch
        .execute(&format!(
            "INSERT INTO {db}.schema_migrations (version, applied_at) VALUES ({version}, now())"
        ))
        .await?;
    tracing::info!(database = db, version, "clickhouse migration applied");
    Ok(())
}

/// Applies one migration statement (placeholders already replaced) on one node, expanded for a
/// cluster; a TTL statement is skipped on a server without TTL. Replicated changes of local
/// tables run on the node leading the shard only; the others wait for added columns to arrive.
async fn apply(
    node: &Node<'_>,
    db: &str,
    sql: &str,
    cluster: Option<Cluster<'_>>,
) -> Result<(), StoreError> {
    let ch = node.ch;
    let replica_follows = cluster.is_some_and(|c| c.replicated) && !node.leads_shard;
    if sql.contains(" search_ngrams") {
        if !node.features.has_skip_indexes() || replica_follows {
            return Ok(());
        }
        return ch.execute(sql).await;
    }
    if sql.contains(" MODIFY TTL ") {
        if !node.features.has_ttl() || replica_follows {
            return Ok(());
        }
        return ch.execute(sql).await;
    }
    if let Some((table, column)) = added_column(sql, db) {
        if cluster.is_some() {
            let local_table = format!("{table}_local");
            if replica_follows {
                wait_for_column(ch, db, &local_table, column).await?;
            } else {
                let local = sql.replacen(
                    &format!("{db}.{table} "),
                    &format!("{db}.{local_table} "),
                    1,
                );
                add_column_once(ch, db, &local_table, column, &local).await?;
            }
        }
        return add_column_once(ch, db, table, column, sql).await;
    }
    if sql.starts_with("INSERT INTO ") {
        // A backfill copies every existing row of a table: minutes on a large database.
        return ch.execute_with_timeout(sql, BACKFILL_TIMEOUT).await;
    }
    let (Some(c), Some(name)) = (cluster, created_table(sql, db)) else {
        return ch.execute(sql).await;
    };
    let key = SHARD_KEYS
        .iter()
        .find(|(t, _)| *t == name)
        .map(|(_, k)| *k)
        .ok_or_else(|| StoreError::Permanent(format!("no shard key for table {name}")))?;
    let local_sql = sql.replacen(&format!("{db}.{name} "), &format!("{db}.{name}_local "), 1);
    let mut leader_sql = None;
    if c.replicated {
        for peer in &node.peers {
            leader_sql = leader_definition(peer, db, &format!("{name}_local")).await?;
            if leader_sql.is_some() {
                break;
            }
        }
    }
    let local_sql = match leader_sql {
        Some(sql) => sql,
        None if c.replicated => replicated_engine(&local_sql, db, name)?,
        None => local_sql,
    };
    ch.execute(&local_sql).await?;
    ch.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {db}.{name} AS {db}.{name}_local \
         ENGINE = Distributed({}, {db}, {name}_local, {key})",
        c.name
    ))
    .await
}

/// The statement creating `db.table` as it stands on `leader` (a replica of the same shard) now,
/// with `IF NOT EXISTS`, or `None` when it has no such table.
async fn leader_definition(
    leader: &Client,
    db: &str,
    table: &str,
) -> Result<Option<String>, StoreError> {
    #[derive(Deserialize)]
    struct Exists {
        n: u64,
    }
    let exists = leader
        .select::<Exists>(&format!(
            "SELECT toUInt64(count()) AS n FROM system.tables WHERE database = {} AND name = {}",
            lit(db),
            lit(table)
        ))
        .await?;
    if exists.first().is_none_or(|e| e.n == 0) {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Statement {
        statement: String,
    }
    let shown = leader
        .select::<Statement>(&format!("SHOW CREATE TABLE {db}.{table}"))
        .await?;
    let statement = shown
        .into_iter()
        .next()
        .map(|s| s.statement)
        .ok_or_else(|| StoreError::Permanent(format!("no definition of {db}.{table}")))?;
    let rest = statement
        .strip_prefix("CREATE TABLE ")
        .ok_or_else(|| StoreError::Permanent(format!("unexpected definition: {statement}")))?;
    Ok(Some(format!("CREATE TABLE IF NOT EXISTS {rest}")))
}

/// `sql` (creating `<table>_local`) with its engine made the replicated one:
/// `ENGINE = ReplacingMergeTree(version)` becomes
/// `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/<db>/<table>', '{replica}', version)`.
fn replicated_engine(sql: &str, db: &str, table: &str) -> Result<String, StoreError> {
    let bad = || StoreError::Permanent(format!("no engine to replicate for table {table}"));
    let (head, rest) = sql.split_once("ENGINE = ").ok_or_else(bad)?;
    let name_end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let (engine, after) = rest.split_at_checked(name_end).ok_or_else(bad)?;
    if !engine.ends_with("MergeTree") {
        return Err(bad());
    }
    let (args, tail) = match after.strip_prefix('(') {
        Some(a) => {
            let (inner, tail) = a.split_once(')').ok_or_else(bad)?;
            (format!(", {inner}"), tail)
        }
        None => (String::new(), after),
    };
    Ok(format!(
        "{head}ENGINE = Replicated{engine}('/clickhouse/tables/{{shard}}/{db}/{table}', '{{replica}}'{args}){tail}"
    ))
}

/// The table and column an `ALTER TABLE {db}.<table> ADD COLUMN <column> ...` statement adds.
fn added_column<'a>(sql: &'a str, db: &str) -> Option<(&'a str, &'a str)> {
    let rest = sql.strip_prefix(&format!("ALTER TABLE {db}."))?;
    let (table, rest) = rest.split_once(' ')?;
    let column = rest
        .strip_prefix("ADD COLUMN ")?
        .split_whitespace()
        .next()?;
    Some((table, column))
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

/// Whether `db.table` has the column.
async fn has_column(ch: &Client, db: &str, table: &str, column: &str) -> Result<bool, StoreError> {
    let rows = ch
        .select::<Count>(&format!(
            "SELECT toUInt64(count()) AS n FROM system.columns \
             WHERE database = {} AND table = {} AND name = {}",
            lit(db),
            lit(table),
            lit(column)
        ))
        .await?;
    Ok(rows.first().is_some_and(|r| r.n > 0))
}

/// Runs `sql` (adding `column` to `table`) unless the table has the column already; a failure
/// because another node's migration added it meanwhile is no failure.
async fn add_column_once(
    ch: &Client,
    db: &str,
    table: &str,
    column: &str,
    sql: &str,
) -> Result<(), StoreError> {
    if has_column(ch, db, table, column).await? {
        return Ok(());
    }
    match ch.execute(sql).await {
        Ok(()) => Ok(()),
        Err(e) if has_column(ch, db, table, column).await? => {
            tracing::debug!(table, column, error = %e, "column added concurrently");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Waits until `db.table` has the column, added by a replicated `ALTER` on another replica of
/// this node's shard (it reaches this replica through ZooKeeper); fails after a minute.
async fn wait_for_column(
    ch: &Client,
    db: &str,
    table: &str,
    column: &str,
) -> Result<(), StoreError> {
    for _ in 0..300 {
        if has_column(ch, db, table, column).await? {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(StoreError::Transient(format!(
        "column {column} of {db}.{table}, added on another replica of this shard, did not \
         reach this replica within a minute (is ZooKeeper reachable?)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_tables_are_found() {
        let sql = MIGRATIONS[0][0].replace("{db}", "llm");
        assert_eq!(created_table(&sql, "llm"), Some("spans"));
        for statements in MIGRATIONS {
            for sql in *statements {
                let sql = sql.replace("{db}", "x");
                if let Some(t) = created_table(&sql, "x") {
                    assert!(SHARD_KEYS.iter().any(|(n, _)| *n == t), "{t}");
                }
            }
        }
    }

    #[test]
    fn added_columns_are_found() {
        let sql = MIGRATIONS[2][0]
            .replace("{db}", "llm")
            .replace("{zstd}", "");
        assert_eq!(added_column(&sql, "llm"), Some(("spans", "search_text")));
        assert_eq!(
            added_column(&MIGRATIONS[0][0].replace("{db}", "llm"), "llm"),
            None
        );
        let tables: Vec<_> = MIGRATIONS[3]
            .iter()
            .filter_map(|sql| added_column(sql, "{db}"))
            .collect();
        assert_eq!(
            tables,
            ["spans", "logs", "scores", "responses"].map(|t| (t, "expire_at"))
        );
        let ttl = MIGRATIONS[3].iter().filter(|s| s.contains(" MODIFY TTL "));
        assert!(ttl
            .clone()
            .all(|s| s.contains("{local} MODIFY TTL expire_at")));
        assert_eq!(ttl.count(), 4);
    }

    /// The test server's base URL and a client of it with no database.
    #[cfg(feature = "testserver")]
    fn admin_client(server: &crate::testserver::Server) -> (String, Client) {
        let base = server.base_url();
        let ch = Client::new(
            format!("{base}/"),
            None,
            None,
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        (base, ch)
    }

    /// A database of schema 2 holding a span gets the search column on connect: the old span
    /// is listed but not searchable, a new one is found, and applying the steps again (a
    /// migration interrupted before it was recorded) changes nothing. The old span gets the
    /// "never" expiry of schema 4.
    #[cfg(feature = "testserver")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn upgrade_from_schema_2_adds_search_text() {
        use crate::ClickHouseStore;
        use llmtrace_model::Message;
        use llmtrace_store::testsuite::{llm, tid};
        use llmtrace_store::{SpanWriter, TraceQuery, TraceReader, WriteBatch};
        let Some(server) = crate::testserver::start_server() else {
            return;
        };
        let (base, ch) = admin_client(&server);
        let version = crate::testserver::http_query(server.http_port, "SELECT version()");
        let features = ServerFeatures::from_version(&version);
        let node = Node {
            ch: &ch,
            features,
            leads_shard: true,
            peers: Vec::new(),
        };
        migrate_up_to(std::slice::from_ref(&node), "up2", None, 2)
            .await
            .unwrap();
        let asking = |t: u64| {
            let mut s = llm(t, 1, None, "gpt-4o", 10, 2, t, 5);
            s.gen_ai.input_messages = vec![Message::text("user", "What's the weather?")];
            s.gen_ai.session_id = Some("s1".into());
            s
        };
        let mut old =
            serde_json::to_value(crate::rows::SpanRow::from_span(&asking(1), 1).unwrap()).unwrap();
        old.as_object_mut().unwrap().remove("search_text");
        old.as_object_mut().unwrap().remove("expire_at");
        ch.insert_json("up2.spans", &[old]).await.unwrap();

        let store = ClickHouseStore::connect(&format!("{base}/up2"))
            .await
            .unwrap();
        let query = |text: Option<&str>| TraceQuery {
            project: "default".into(),
            text: text.map(Into::into),
            limit: 10,
            ..Default::default()
        };
        let ids = |text: Option<&'static str>| {
            let store = store.clone();
            async move {
                let page = store.list_traces(&query(text)).await.unwrap();
                page.traces.iter().map(|t| t.trace_id).collect::<Vec<_>>()
            }
        };
        assert_eq!(ids(None).await, vec![tid(1)]);
        assert!(ids(Some("weather")).await.is_empty());
        // The call stored before `calls` existed was filled into it by the migration.
        let calls = |store: ClickHouseStore| async move {
            let q = llmtrace_store::StatsQuery {
                project: "default".into(),
                group_by: llmtrace_store::GroupBy::Model,
                ..Default::default()
            };
            let groups = store.stats(&q).await.unwrap();
            groups
                .iter()
                .map(|g| (g.key.clone(), g.calls, g.input_tokens, g.output_tokens))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            calls(store.clone()).await,
            vec![(Some("gpt-4o".to_string()), 1, 10, 2)]
        );
        // Its session too (the upgrade marked the buckets of its start for the group folds).
        let sessions = |store: ClickHouseStore| async move {
            store.fold_now().await.unwrap();
            let q = llmtrace_store::TraceGroupQuery {
                project: "default".into(),
                limit: 10,
                ..Default::default()
            };
            let groups = store.trace_groups(&q).await.unwrap();
            groups
                .iter()
                .map(|g| (g.key.clone(), g.trace_count, g.input_tokens))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sessions(store.clone()).await,
            vec![("s1".to_string(), 1, 10)]
        );
        store
            .write(std::sync::Arc::new(WriteBatch {
                spans: vec![asking(2)],
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(ids(Some("weather")).await, vec![tid(2)]);
        assert_eq!(
            calls(store.clone()).await,
            vec![(Some("gpt-4o".to_string()), 2, 20, 4)]
        );
        assert_eq!(
            sessions(store.clone()).await,
            vec![("s1".to_string(), 2, 20)]
        );

        let step = MIGRATIONS[2][0]
            .replace("{db}", "up2")
            .replace("{zstd}", features.text_codec());
        apply(&node, "up2", &step, None).await.unwrap();
        for sql in MIGRATIONS[3] {
            let sql = sql.replace("{db}", "up2").replace("{local}", "");
            apply(&node, "up2", &sql, None).await.unwrap();
        }
        // The span stored before the expiry column is kept forever.
        let expiry = crate::testserver::http_query(
            server.http_port,
            &format!(
                "SELECT toUInt32(expire_at) FROM up2.spans WHERE trace_id = '{}'",
                tid(1).to_hex()
            ),
        );
        assert_eq!(expiry, u32::MAX.to_string());
        let current = ch
            .select::<Version>("SELECT toUInt32(max(version)) AS v FROM up2.schema_migrations")
            .await
            .unwrap();
        assert_eq!(current.first().map(|r| r.v), Some(SCHEMA_VERSION));
        assert_eq!(ids(Some("weather")).await, vec![tid(2)]);
    }

    /// A database of schema 11 whose spans carry their text in `spans.search_text` gets
    /// `span_text` filled on connect: its spans are found by a word, newest first and by cost;
    /// a span written after is found too, and its text is no longer written into `spans`.
    /// (Made by writing through the current schema, then putting the text back into `spans`,
    /// emptying `span_text` and recording version 11 as the last one applied.)
    #[cfg(feature = "testserver")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn upgrade_from_schema_11_fills_span_text() {
        use crate::ClickHouseStore;
        use llmtrace_model::Message;
        use llmtrace_store::testsuite::{llm, tid};
        use llmtrace_store::{SpanWriter, TraceQuery, TraceReader, TraceSort, WriteBatch};
        let Some(server) = crate::testserver::start_server() else {
            return;
        };
        let (base, ch) = admin_client(&server);
        let asking = |t: u64, words: &str| {
            let mut s = llm(t, 1, None, "gpt-4o", 10, 2, t, 5);
            s.gen_ai.input_messages = vec![Message::text("user", words)];
            s
        };
        let write = |store: ClickHouseStore, spans| async move {
            store
                .write(std::sync::Arc::new(WriteBatch {
                    spans,
                    ..Default::default()
                }))
                .await
                .unwrap();
        };
        let old = [asking(1, "weather in Oslo"), asking(2, "rotate the keys")];
        let store = ClickHouseStore::connect(&format!("{base}/up11"))
            .await
            .unwrap();
        write(store.clone(), old.to_vec()).await;
        let rows: Vec<serde_json::Value> = old
            .iter()
            .map(|span| {
                let mut row = serde_json::to_value(
                    crate::rows::SpanRow::from_span(span, u64::MAX / 2).unwrap(),
                )
                .unwrap();
                row["search_text"] = crate::rows::search_column(span).into();
                row
            })
            .collect();
        ch.insert_json("up11.spans", &rows).await.unwrap();
        for sql in [
            "TRUNCATE TABLE up11.span_text",
            "DROP TABLE up11.schema_migrations",
        ] {
            ch.execute(sql).await.unwrap();
        }
        applied_version(&ch, "up11").await.unwrap();
        let versions: Vec<String> = (1..=11).map(|v| format!("({v}, now())")).collect();
        ch.execute(&format!(
            "INSERT INTO up11.schema_migrations (version, applied_at) VALUES {}",
            versions.join(", ")
        ))
        .await
        .unwrap();

        let store = ClickHouseStore::connect(&format!("{base}/up11"))
            .await
            .unwrap();
        write(store.clone(), vec![asking(3, "weather in Lima")]).await;
        let ids = |text: &'static str, sort: TraceSort| {
            let store = store.clone();
            async move {
                let q = TraceQuery {
                    project: "default".into(),
                    text: Some(text.into()),
                    sort,
                    limit: 10,
                    ..Default::default()
                };
                let page = store.list_traces(&q).await.unwrap();
                page.traces.iter().map(|t| t.trace_id).collect::<Vec<_>>()
            }
        };
        assert_eq!(ids("weather", TraceSort::Time).await, vec![tid(3), tid(1)]);
        assert_eq!(ids("rotate", TraceSort::Time).await, vec![tid(2)]);
        assert_eq!(ids("lima", TraceSort::Cost).await, vec![tid(3)]);
        let written = crate::testserver::http_query(
            server.http_port,
            &format!(
                "SELECT search_text FROM up11.spans WHERE trace_id = '{}'",
                tid(3).to_hex()
            ),
        );
        assert_eq!(written, "");
    }

    #[test]
    fn replicated_engines() {
        let sql = MIGRATIONS[0][0]
            .replace("{db}", "llm")
            .replace("llm.spans ", "llm.spans_local ");
        let sql = replicated_engine(&sql, "llm", "spans").unwrap();
        assert!(sql.contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/llm/spans', \
             '{replica}', version)\nORDER BY (project, trace_id, span_id)"
        ));
        let logs = replicated_engine(&MIGRATIONS[0][2].replace("{db}", "llm"), "llm", "logs");
        assert!(logs.unwrap().contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/llm/logs', \
             '{replica}')\nORDER BY"
        ));
        let keys = replicated_engine(
            &MIGRATIONS[4][0].replace("{db}", "llm"),
            "llm",
            "trace_keys",
        );
        assert!(keys.unwrap().contains(
            "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/llm/trace_keys', \
             '{replica}')\nORDER BY"
        ));
        // Every table a migration creates has an engine that can be replicated.
        for statements in MIGRATIONS {
            for sql in *statements {
                if let Some(t) = created_table(sql, "{db}") {
                    assert!(replicated_engine(sql, "{db}", t).is_ok(), "{t}");
                }
            }
        }
        assert!(replicated_engine("CREATE TABLE x (a UInt8) ENGINE = Log", "d", "x").is_err());
    }

    #[test]
    fn version_detection() {
        assert_eq!(ServerFeatures::from_version("18.16.1").major, 18);
        assert_eq!(ServerFeatures::from_version("26.9.2.1").major, 26);
        assert!(!ServerFeatures::from_version("18.16.1").has_ttl());
        assert!(!ServerFeatures::from_version("19.5.4.22").has_ttl());
        assert!(ServerFeatures::from_version("19.6.2.11").has_ttl());
        assert!(ServerFeatures::from_version("26.9.2.1").has_ttl());
        assert!(!ServerFeatures::from_version("").has_ttl());
        assert_eq!(ServerFeatures::from_version("18.16.1").text_codec(), "");
        assert!(ServerFeatures::from_version("26.9.2.1")
            .text_codec()
            .contains("ZSTD"));
    }
}
