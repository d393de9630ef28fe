//! `llmtrace backup DEST`: a consistent copy of a running server's SQLite store, verified.

use crate::cli::BackupArgs;
use anyhow::{bail, Context};
use std::time::Instant;

/// Writes and verifies the copy, or explains what to use for a ClickHouse store.
pub(crate) fn run(a: BackupArgs) -> anyhow::Result<()> {
    if a.store.trim() != "sqlite" {
        bail!(
            "llmtrace backs up only its embedded SQLite store; a ClickHouse store is backed up \
             with ClickHouse's own tools: `BACKUP DATABASE <db> TO Disk('backups', 'llmtrace.zip')` \
             (ClickHouse 22.8 and later; `RESTORE` brings it back) or clickhouse-backup, or a \
             replicated cluster's replicas"
        );
    }
    let source = a.data_dir.join(llmtrace_store_sqlite::DB_FILE_NAME);
    let started = Instant::now();
    let r = llmtrace_store_sqlite::backup(&source, &a.dest)
        .with_context(|| format!("backup of {} to {}", source.display(), a.dest.display()))?;
    println!(
        "backup {}: {} bytes, {} spans in {} traces, schema version {}, verified, in {:.1} s",
        a.dest.display(),
        r.bytes,
        r.spans,
        r.traces,
        r.schema_version,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
