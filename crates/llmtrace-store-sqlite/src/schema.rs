//! Versioned migrations, applied in order at open (`PRAGMA user_version` holds the version).
//!
//! Layout choices (measured in BENCHMARKS.md):
//! - Each trace gets a row in `traces` the first time one of its spans arrives; its integer id
//!   (`trace_ref`) is assigned in arrival order by the single writer. Spans are keyed by
//!   `(trace_ref, span_key)`: exactly (project, trace_id, span_id), since a trace row belongs to
//!   one project and an 8-byte span id fits the integer. Because new traces get ever larger
//!   refs, inserts into that unique index land at its end instead of on random pages, which is
//!   what keeps the write rate flat as the file grows (a random trace-id index is rewritten all
//!   over the file by every transaction). A trace's spans are also contiguous in it.
//! - Span ids are stored as 64-bit integers (`span_key`, `parent_key`: the 8 id bytes read
//!   big-endian); the trace id lives once, in the trace row.
//! - The only random-keyed index left is `traces_key`, one entry per trace (not per span).
//! - Everything of a span that is not filtered or summed on (attributes, events, messages, ...)
//!   goes into a JSON array in `span_blobs`, one blob per trace per group commit, zstd-compressed
//!   when large enough to gain from it; the span row points at (blob_id, blob_index). The spans
//!   of one trace share keys and text, so one frame per trace compresses far better and costs
//!   less CPU than one frame per span, and reading a trace reads one or a few blobs. Resource attributes, identical for every span of a process,
//!   are stored once in `resources` and referenced by id.
//! - `traces` holds per-trace rollups, updated once per trace per group commit.

use rusqlite::Connection;

/// Each entry migrates from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
CREATE TABLE projects (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE resources (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    hash       INTEGER NOT NULL,
    attributes BLOB NOT NULL
);
CREATE INDEX resources_hash ON resources (project_id, hash);
CREATE TABLE spans (
    id                 INTEGER PRIMARY KEY,
    project_id         INTEGER NOT NULL,
    trace_ref          INTEGER NOT NULL,
    resource_id        INTEGER NOT NULL,
    span_key           INTEGER NOT NULL,
    parent_key         INTEGER,
    name               TEXT NOT NULL,
    service            TEXT NOT NULL,
    kind               INTEGER NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER NOT NULL,
    status             INTEGER NOT NULL,
    provider           TEXT,
    operation          TEXT,
    model              TEXT,
    input_tokens       INTEGER,
    output_tokens      INTEGER,
    cache_read_tokens  INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens   INTEGER,
    counts_usage       INTEGER NOT NULL,
    counted            INTEGER NOT NULL,
    cost_pico          INTEGER,
    reported_pico      INTEGER,
    unpriced           INTEGER NOT NULL,
    price_ref          INTEGER,
    blob_id            INTEGER NOT NULL,
    blob_index         INTEGER NOT NULL
);
CREATE TABLE span_blobs (
    id   INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE UNIQUE INDEX spans_key ON spans (trace_ref, span_key);
CREATE INDEX spans_calls ON spans (project_id, start_ns) WHERE kind IN (0, 1);
CREATE INDEX spans_unpriced ON spans (project_id, model) WHERE unpriced = 1;
CREATE TABLE prices (
    id             INTEGER PRIMARY KEY,
    price_id       TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    UNIQUE (price_id, effective_from)
);
CREATE TABLE traces (
    id                 INTEGER PRIMARY KEY,
    project_id         INTEGER NOT NULL,
    trace_key          INTEGER NOT NULL,
    trace_id           BLOB NOT NULL,
    root_name          TEXT NOT NULL,
    has_root           INTEGER NOT NULL,
    service            TEXT NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER NOT NULL,
    span_count         INTEGER NOT NULL,
    llm_call_count     INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    error_count        INTEGER NOT NULL,
    user_id            TEXT,
    session_id         TEXT,
    root_not_root      INTEGER NOT NULL,
    root_start_ns      INTEGER NOT NULL,
    root_span_id       BLOB NOT NULL,
    models             TEXT NOT NULL,
    providers          TEXT NOT NULL,
    services           TEXT NOT NULL,
    cost_pico          INTEGER NOT NULL,
    unpriced_span_count INTEGER NOT NULL,
    reported_cost_span_count INTEGER NOT NULL
);
CREATE INDEX traces_key ON traces (project_id, trace_key);
CREATE INDEX traces_start ON traces (project_id, start_ns, trace_id);
CREATE INDEX traces_cost ON traces (project_id, cost_pico, trace_id);
CREATE TABLE logs (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL,
    trace_key      INTEGER,
    trace_id       BLOB,
    span_id        BLOB,
    time_ns        INTEGER NOT NULL,
    event_name     TEXT NOT NULL,
    detail         BLOB NOT NULL
);
CREATE INDEX logs_trace ON logs (project_id, trace_key) WHERE trace_key IS NOT NULL;
"#,
    // 2: scores (evaluations) of traces and spans; one row per (project, client score id).
    r#"
CREATE TABLE scores (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL,
    score_id       TEXT NOT NULL,
    trace_id       TEXT NOT NULL,
    time_ns        INTEGER NOT NULL,
    detail         BLOB NOT NULL,
    UNIQUE (project_id, score_id)
);
CREATE INDEX scores_trace ON scores (project_id, trace_id);
"#,
    // 3: spans stored before they finished, replaced by their next copy.
    r#"
ALTER TABLE spans ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0;
"#,
    // 4: traces still without a root span, counted cheaply for the orphan-trace gauge.
    r#"
CREATE INDEX traces_rootless ON traces (end_ns) WHERE has_root = 0;
"#,
    // 5: which counted call span owns each provider response id, so one call reported by two
    // spans that are not parent and child (two traces, or siblings) counts once.
    r#"
CREATE TABLE call_responses (
    project_id  INTEGER NOT NULL,
    response_id TEXT NOT NULL,
    trace_ref   INTEGER NOT NULL,
    span_key    INTEGER NOT NULL,
    PRIMARY KEY (project_id, response_id)
) WITHOUT ROWID;
"#,
    // 6: finds quickly whether any span is stored incomplete (replaceable).
    r#"
CREATE INDEX spans_incomplete ON spans (trace_ref) WHERE incomplete = 1;
"#,
    // 7: whether the span owning a response is a provider SDK's own span (it loses the claim).
    r#"
ALTER TABLE call_responses ADD COLUMN provider_sdk INTEGER NOT NULL DEFAULT 0;
"#,
    // 8: full-text search over prompts and completions (one row per span with content, rowid =
    // spans.id, text normalized by `llmtrace_store::search`; contentless: the text itself is
    // in the span blobs already), the duration sort, and sessions and users.
    r#"
CREATE VIRTUAL TABLE span_text USING fts5(
    text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
);
CREATE INDEX traces_duration ON traces (project_id, (end_ns - start_ns), trace_id);
CREATE INDEX traces_session ON traces (project_id, session_id) WHERE session_id IS NOT NULL;
CREATE INDEX traces_user ON traces (project_id, user_id) WHERE user_id IS NOT NULL;
"#,
    // 9: which copy of each response supplies the usage its counting span carries
    // (`llmtrace_store::UsageSourceKey` as bytes, and the copy's row); NULL: the owner itself.
    r#"
ALTER TABLE call_responses ADD COLUMN usage_source BLOB;
ALTER TABLE call_responses ADD COLUMN usage_trace_ref INTEGER;
ALTER TABLE call_responses ADD COLUMN usage_span_key INTEGER;
"#,
    // 10: counted calls that failed, per trace (one per failed call, however many enclosing
    // spans also failed), filled from the stored spans.
    r#"
ALTER TABLE traces ADD COLUMN failed_call_count INTEGER NOT NULL DEFAULT 0;
UPDATE traces SET failed_call_count = (
    SELECT count(*) FROM spans WHERE spans.trace_ref = traces.id AND spans.counted = 1
    AND spans.status = 2
) WHERE error_count > 0;
"#,
    // 11: scores by time (score aggregates), and the catalog of what people add on top of
    // traces: score configs, datasets and dataset items, one JSON document each.
    r#"
CREATE INDEX scores_time ON scores (project_id, time_ns);
CREATE TABLE catalog (
    project_id INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    parent     TEXT NOT NULL,
    key        TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    detail     BLOB NOT NULL,
    PRIMARY KEY (project_id, kind, parent, key)
) WITHOUT ROWID;
"#,
    // 12: call rollups per project, level (ten seconds, minute, hour, day), bucket and
    // dimensions, and session and user hours, kept by the writer (`crate::rollup_log`: its
    // connection's triggers log every change, folded into these before each commit) and filled
    // from the stored calls and traces at the first open after this migration.
    r#"
CREATE TABLE rollup_levels (level INTEGER PRIMARY KEY, width INTEGER NOT NULL);
INSERT INTO rollup_levels VALUES
    (0, 10000000000), (1, 60000000000), (2, 3600000000000), (3, 86400000000000);
CREATE TABLE rollup_dims (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    service    TEXT NOT NULL,
    model      TEXT,
    provider   TEXT,
    operation  TEXT
);
CREATE INDEX rollup_dims_key ON rollup_dims (project_id, service, model, provider, operation);
CREATE TABLE call_rollups (
    project_id         INTEGER NOT NULL,
    level              INTEGER NOT NULL,
    bucket_ns          INTEGER NOT NULL,
    dims_id            INTEGER NOT NULL,
    calls              INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_pico          INTEGER NOT NULL,
    unpriced_calls     INTEGER NOT NULL,
    latency            BLOB NOT NULL,
    PRIMARY KEY (project_id, level, bucket_ns, dims_id)
) WITHOUT ROWID;
CREATE TABLE trace_group_hours (
    project_id        INTEGER NOT NULL,
    dim               INTEGER NOT NULL,
    key               TEXT NOT NULL,
    hour_ns           INTEGER NOT NULL,
    traces            INTEGER NOT NULL,
    first_start       INTEGER NOT NULL,
    last_start        INTEGER NOT NULL,
    last_end          INTEGER NOT NULL,
    spans             INTEGER NOT NULL,
    calls             INTEGER NOT NULL,
    input_tokens      INTEGER NOT NULL,
    output_tokens     INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    cost_pico         INTEGER NOT NULL,
    unpriced          INTEGER NOT NULL,
    user_id           TEXT,
    PRIMARY KEY (project_id, dim, key, hour_ns)
) WITHOUT ROWID;
CREATE INDEX trace_group_hours_time ON trace_group_hours (project_id, dim, hour_ns);
DROP INDEX traces_session;
DROP INDEX traces_user;
CREATE INDEX traces_session ON traces (project_id, session_id, start_ns)
    WHERE session_id IS NOT NULL;
CREATE INDEX traces_user ON traces (project_id, user_id, start_ns) WHERE user_id IS NOT NULL;
"#,
    // 13: the latest start of a searchable span per chunk of span row ids, which lets a
    // newest-first search stop at its page (`crate::search_walk`); filled from the stored spans
    // at the first open after this migration.
    r#"
CREATE TABLE span_text_chunks (
    chunk        INTEGER PRIMARY KEY,
    max_start_ns INTEGER NOT NULL
);
"#,
    // 14: messages stored once (`crate::messages`): each distinct long message of a project,
    // keyed by its hash; span details written from now on refer to them.
    r#"
CREATE TABLE messages (
    project_id    INTEGER NOT NULL,
    hash          BLOB NOT NULL,
    keep_until_ns INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (project_id, hash)
) WITHOUT ROWID;
CREATE INDEX messages_keep ON messages (project_id, keep_until_ns);
"#,
];

/// The migration that created `span_text`: files migrated past it from below get their stored
/// spans indexed by [`crate::search_index::backfill`].
pub(crate) const SEARCH_MIGRATION: usize = 8;

/// The migration that created the rollups: files migrated past it from below get them filled
/// from their stored calls and traces by [`crate::rollup_log::backfill`].
pub(crate) const ROLLUP_MIGRATION: usize = 12;

/// The migration that created `span_text_chunks`: files migrated past it from below get it
/// filled from their stored spans by [`crate::search_walk::backfill`].
pub(crate) const SEARCH_CHUNKS_MIGRATION: usize = 13;

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Applies the migrations the file lacks, each in its own transaction, and returns the version
/// the file had before. A file written by a newer llmtrace (higher version) is refused instead
/// of being misread.
pub(crate) fn migrate(conn: &mut Connection) -> Result<usize, String> {
    let current = crate::int::position(
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| e.to_string())?,
    );
    if current > SCHEMA_VERSION {
        return Err(format!(
            "database schema version {current} is newer than this llmtrace supports ({SCHEMA_VERSION}); upgrade llmtrace"
        ));
    }
    for (version, sql) in (1usize..).zip(MIGRATIONS).skip(current) {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {version}: {e}"))?;
        tx.pragma_update(None, "user_version", crate::int::int_of_len(version))
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(current)
}
