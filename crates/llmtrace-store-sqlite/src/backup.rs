//! Online backup: a consistent, compact copy of a store while its server keeps writing.
//!
//! `VACUUM INTO` runs in one read transaction: in WAL mode it sees the last committed state when
//! it starts and never blocks the writer (which keeps appending to the WAL), so ingest goes on
//! while the copy is written. The copy is then opened and checked before it is reported.

use crate::{classify, schema};
use llmtrace_store::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Bytes of the copy.
    pub bytes: u64,
    /// Spans it holds.
    pub spans: u64,
    /// Traces it holds.
    pub traces: u64,
    /// Its schema version.
    pub schema_version: i64,
}

fn permanent(message: String) -> StoreError {
    StoreError::Permanent(message)
}

/// Copies the database at `source` (a running server's store: it may be written meanwhile) to
/// `dest`, which must not exist, and verifies the copy: it passes SQLite's quick check, has the
/// source's schema version, and its spans are counted.
pub fn backup(source: &Path, dest: &Path) -> Result<BackupReport, StoreError> {
    if !source.exists() {
        return Err(permanent(format!(
            "no llmtrace database at {}",
            source.display()
        )));
    }
    if dest.exists() {
        return Err(permanent(format!(
            "{} exists: a backup never overwrites a file",
            dest.display()
        )));
    }
    let dest_text = dest
        .to_str()
        .ok_or_else(|| permanent(format!("{} is not a UTF-8 path", dest.display())))?;
    let conn = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(classify)?;
    conn.pragma_update(None, "busy_timeout", 5000)
        .map_err(classify)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(classify)?;
    conn.execute("VACUUM INTO ?1", [dest_text])
        .map_err(classify)?;
    drop(conn);
    verify(dest, version)
}

/// Opens the copy read-only and checks it.
fn verify(dest: &Path, version: i64) -> Result<BackupReport, StoreError> {
    let copy = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| permanent(format!("the backup does not open: {e}")))?;
    let check: String = copy
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(classify)?;
    if check != "ok" {
        return Err(permanent(format!(
            "the backup fails SQLite's check: {check}"
        )));
    }
    let copy_version: i64 = copy
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(classify)?;
    if copy_version != version || usize::try_from(copy_version).ok() > Some(schema::SCHEMA_VERSION)
    {
        return Err(permanent(format!(
            "the backup has schema version {copy_version}, the store {version}"
        )));
    }
    let count = |table: &str| -> Result<u64, StoreError> {
        let n: i64 = copy
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(classify)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let bytes = std::fs::metadata(dest)
        .map(|m| m.len())
        .map_err(|e| permanent(format!("{}: {e}", dest.display())))?;
    Ok(BackupReport {
        bytes,
        spans: count("spans")?,
        traces: count("traces")?,
        schema_version: copy_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_overwrite_and_to_copy_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = backup(&dir.path().join("none.db"), &dir.path().join("b.db"));
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("no llmtrace database"));
        let store = crate::SqliteStore::open_dir(dir.path()).unwrap();
        let existing = dir.path().join("taken.db");
        std::fs::write(&existing, b"x").unwrap();
        let err = backup(store.path(), &existing).unwrap_err();
        assert!(err.to_string().contains("never overwrites"), "{err}");
        let report = backup(store.path(), &dir.path().join("copy.db")).unwrap();
        assert_eq!(report.spans, 0);
        assert!(report.bytes > 0);
    }
}
