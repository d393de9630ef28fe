//! The writer's rollup logs: temporary tables of its connection (in memory) where temporary
//! triggers on `spans` and `traces` append one row per change that moves a rollup, folded into
//! the rollups before each commit by [`crate::rollup_fold`].
//!
//! A change is logged as the call (trace) counted with sign 1 when it appears or after it
//! changed, and with sign -1 when it goes or before it changed: inserts, merges of incomplete
//! copies, changes of counting, re-pricing and deletions all become such pairs. The logs and
//! triggers are the connection's own (nothing of them reaches the file or its WAL), which is
//! why every write goes through the writer connection; appending to them costs far less than
//! updating rollup rows per span, and the fold touches each rollup row once per commit.

use rusqlite::Connection;

/// The values of a `call_rollup_log` row for the call `$r` (a row alias) counted with `$sign`
/// (1 or -1).
macro_rules! call_log_values {
    ($r:literal, $sign:literal) => {
        concat!(
            $r,
            ".project_id, ",
            $r,
            ".start_ns, ",
            $r,
            ".service, ",
            $r,
            ".model, ",
            $r,
            ".provider, ",
            $r,
            ".operation, ",
            $sign,
            ", ",
            $r,
            ".status = 2, ",
            $r,
            ".counts_usage * ifnull(",
            $r,
            ".input_tokens, 0), ",
            $r,
            ".counts_usage * ifnull(",
            $r,
            ".output_tokens, 0), ",
            $r,
            ".counts_usage * ifnull(",
            $r,
            ".cache_read_tokens, 0), ",
            $r,
            ".counts_usage * ifnull(",
            $r,
            ".cache_write_tokens, 0), ",
            $r,
            ".counts_usage * ifnull(",
            $r,
            ".reasoning_tokens, 0), ",
            "ifnull(coalesce(",
            $r,
            ".reported_pico, ",
            $r,
            ".cost_pico), 0), ",
            "coalesce(",
            $r,
            ".reported_pico, ",
            $r,
            ".cost_pico) IS NULL AND ",
            $r,
            ".unpriced, ",
            $r,
            ".end_ns - ",
            $r,
            ".start_ns"
        )
    };
}

/// The span columns a call's rollup contribution depends on.
macro_rules! rollup_columns {
    () => {
        "counted, kind, project_id, service, model, provider, operation, start_ns, end_ns, \
         status, counts_usage, input_tokens, output_tokens, cache_read_tokens, \
         cache_write_tokens, reasoning_tokens, cost_pico, reported_pico, unpriced"
    };
}

/// Logs the trace `$r` counted with `$sign` in its session's (`$dim` 0, `session_id`) or
/// user's (`$dim` 1, `user_id`) hour, when it has one (`$from`: the table `$r` reads, for a
/// row that is not a trigger's).
macro_rules! group_log {
    ($r:literal, $sign:literal, $dim:literal, $col:literal, $from:literal) => {
        concat!(
            "INSERT INTO temp.trace_group_log SELECT ",
            $r,
            ".project_id, ",
            $dim,
            ", ",
            $r,
            ".",
            $col,
            ", ",
            $r,
            ".start_ns - ",
            $r,
            ".start_ns % 3600000000000, ",
            $sign,
            ", ",
            $r,
            ".start_ns, ",
            $r,
            ".end_ns, ",
            $r,
            ".span_count, ",
            $r,
            ".llm_call_count, ",
            $r,
            ".input_tokens, ",
            $r,
            ".output_tokens, ",
            $r,
            ".cache_read_tokens, ",
            $r,
            ".error_count, ",
            $r,
            ".cost_pico, ",
            $r,
            ".unpriced_span_count, CASE WHEN ",
            $dim,
            " = 0 THEN ",
            $r,
            ".user_id END",
            $from,
            " WHERE ",
            $r,
            ".",
            $col,
            " IS NOT NULL;"
        )
    };
}

/// The logs and the triggers that fill them, for the writer connection.
const INSTALL: &str = concat!(
    "PRAGMA temp_store = MEMORY;
CREATE TEMP TABLE IF NOT EXISTS call_rollup_log (
    project_id         INTEGER NOT NULL,
    start_ns           INTEGER NOT NULL,
    service            TEXT NOT NULL,
    model              TEXT,
    provider           TEXT,
    operation          TEXT,
    sign               INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_pico          INTEGER NOT NULL,
    unpriced           INTEGER NOT NULL,
    duration_ns        INTEGER NOT NULL
);
CREATE TEMP TABLE IF NOT EXISTS trace_group_log (
    project_id        INTEGER NOT NULL,
    dim               INTEGER NOT NULL,
    key               TEXT NOT NULL,
    hour_ns           INTEGER NOT NULL,
    sign              INTEGER NOT NULL,
    start_ns          INTEGER NOT NULL,
    end_ns            INTEGER NOT NULL,
    spans             INTEGER NOT NULL,
    calls             INTEGER NOT NULL,
    input_tokens      INTEGER NOT NULL,
    output_tokens     INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    cost_pico         INTEGER NOT NULL,
    unpriced          INTEGER NOT NULL,
    user_id           TEXT
);
CREATE TEMP TRIGGER IF NOT EXISTS call_rollups_insert AFTER INSERT ON main.spans
WHEN new.counted = 1 AND new.kind IN (0, 1) BEGIN INSERT INTO temp.call_rollup_log SELECT ",
    call_log_values!("new", "1"),
    "; END;
CREATE TEMP TRIGGER IF NOT EXISTS call_rollups_delete AFTER DELETE ON main.spans
WHEN old.counted = 1 AND old.kind IN (0, 1) BEGIN INSERT INTO temp.call_rollup_log SELECT ",
    call_log_values!("old", "-1"),
    "; END;
CREATE TEMP TRIGGER IF NOT EXISTS call_rollups_update_old AFTER UPDATE OF ",
    rollup_columns!(),
    " ON main.spans WHEN old.counted = 1 AND old.kind IN (0, 1) BEGIN \
     INSERT INTO temp.call_rollup_log SELECT ",
    call_log_values!("old", "-1"),
    "; END;
CREATE TEMP TRIGGER IF NOT EXISTS call_rollups_update_new AFTER UPDATE OF ",
    rollup_columns!(),
    " ON main.spans WHEN new.counted = 1 AND new.kind IN (0, 1) BEGIN \
     INSERT INTO temp.call_rollup_log SELECT ",
    call_log_values!("new", "1"),
    "; END;
CREATE TEMP TRIGGER IF NOT EXISTS trace_groups_insert AFTER INSERT ON main.traces BEGIN ",
    group_log!("new", "1", "0", "session_id", ""),
    group_log!("new", "1", "1", "user_id", ""),
    " END;
CREATE TEMP TRIGGER IF NOT EXISTS trace_groups_delete AFTER DELETE ON main.traces BEGIN ",
    group_log!("old", "-1", "0", "session_id", ""),
    group_log!("old", "-1", "1", "user_id", ""),
    " END;
CREATE TEMP TRIGGER IF NOT EXISTS trace_groups_update AFTER UPDATE OF session_id, user_id,
    start_ns, end_ns, span_count, llm_call_count, input_tokens, output_tokens,
    cache_read_tokens, error_count, cost_pico, unpriced_span_count ON main.traces BEGIN ",
    group_log!("old", "-1", "0", "session_id", ""),
    group_log!("old", "-1", "1", "user_id", ""),
    group_log!("new", "1", "0", "session_id", ""),
    group_log!("new", "1", "1", "user_id", ""),
    " END;"
);

/// Logs every stored call and trace (the rollups of a file migrated to them), to be folded.
const BACKFILL: &str = concat!(
    "INSERT INTO temp.call_rollup_log SELECT ",
    call_log_values!("s", "1"),
    " FROM main.spans s WHERE s.counted = 1 AND s.kind IN (0, 1);",
    group_log!("t", "1", "0", "session_id", " FROM main.traces t"),
    group_log!("t", "1", "1", "user_id", " FROM main.traces t"),
);

/// Creates the logs and their triggers on the writer connection.
pub(crate) fn install(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(INSTALL)
}

/// Logs every stored call and trace; the caller folds them.
pub(crate) fn backfill(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(BACKFILL)
}
