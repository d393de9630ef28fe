//! WAL checkpoints beside the writer, not inside its commits.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
//! writer: it copies the WAL's pages into the database file and syncs it, about 6 of the
//! writer's 47 µs per span under sustained ingest (BENCHMARKS.md, write path). The writer
//! connection turns it off
//! (`wal_autocheckpoint = 0`) and this thread checkpoints on its own connection after commits:
//! `PASSIVE` copies what is committed without taking the write lock, so the writer goes on
//! building its next batch meanwhile, and the writer restarts the WAL from its start at its next
//! commit once every frame is copied. When the WAL still grows past [`WAL_LIMIT_FRAMES`]
//! (the writer outpaced the copies), a `RESTART` checkpoint waits for the writer's transaction
//! to end, copies everything and makes the next commit start the WAL over: the file stays
//! bounded. Meanwhile it holds the write lock, and it waits at most 2 s for readers still on
//! the WAL (then gives up until the next commit): the writer, whose busy timeout is 5 s, waits
//! for it rather than fail.

use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

/// WAL frames (pages) above which a blocking checkpoint resets the log: 64 MiB of 4 KiB pages.
pub(crate) const WAL_LIMIT_FRAMES: i64 = 16_384;

/// Bytes the WAL file is truncated to when the log restarts (SQLite's `journal_size_limit`).
pub(crate) const WAL_KEEP_BYTES: i64 = 64 * 1024 * 1024;

/// How often the thread checkpoints without being told (after writes outside group commits).
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The checkpoint thread of a store; dropping it stops the thread.
pub(crate) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to `path`.
    pub(crate) fn start(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // A restart waits this long for the writer's transaction and for readers of the WAL.
        conn.pragma_update(None, "busy_timeout", 2000)?;
        conn.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES)?;
        let (wake, woken) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("llmtrace-checkpoint".into())
            .spawn(move || run(&conn, &woken))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Tells the thread a commit added to the WAL (never blocks: a pending wake-up is enough).
    pub(crate) fn committed(&self) {
        if let Some(wake) = &self.wake {
            // Full: a wake-up is pending already; disconnected: the thread is stopping.
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, woken: &Receiver<()>) {
    loop {
        match woken.recv_timeout(IDLE_CHECK) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        match checkpoint(conn) {
            Ok(()) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                tracing::debug!(error = %e, "WAL checkpoint waited too long; the next one retries");
            }
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries"),
        }
    }
}

/// One passive checkpoint, and a blocking one when the WAL is over its limit.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    let (frames, copied) = wal_checkpoint(conn, "PASSIVE")?;
    if frames > WAL_LIMIT_FRAMES {
        let started = std::time::Instant::now();
        let (frames_now, copied_now) = wal_checkpoint(conn, "RESTART")?;
        tracing::debug!(
            frames,
            copied,
            frames_now,
            copied_now,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "WAL over its limit: restarted"
        );
    }
    Ok(())
}

/// Runs `PRAGMA wal_checkpoint(mode)`: the WAL's frames and how many of them are copied.
fn wal_checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_pages_reach_the_database_file_while_the_writer_stays_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer
            .execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(1));")
            .unwrap();
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();
        let checkpoints = Checkpointer::start(&path).unwrap();
        for _ in 0..20 {
            writer
                .execute("INSERT INTO t VALUES (randomblob(8192))", [])
                .unwrap();
        }
        checkpoints.committed();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while file_len() < before + 20 * 8192 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            file_len() >= before + 20 * 8192,
            "the database file holds the committed rows: {} bytes, {before} before",
            file_len()
        );
        drop(checkpoints);
        let rows: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 21);
    }
}
