//! The provider key, nowhere: files, SQLite cells (zstd-compressed blobs decoded).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// The provider key, nowhere.

/// Every file under `dir`, recursively.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The bytes of a zstd frame decoded with the `zstd` tool.
pub(crate) fn unzstd(frame: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-d", "-c", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("zstd");
    let mut stdin = child.stdin.take().unwrap();
    let frame = frame.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&frame));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "zstd -d failed");
    out.stdout
}

/// Asserts that no cell of any table of the SQLite file holds `key`, zstd-compressed blobs
/// decoded (the span details are stored compressed, so the raw bytes cannot show them); returns
/// how many cells were read.
pub(crate) fn assert_no_cell_holds(db: &Path, key: &str, decode_zstd: bool) -> usize {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut cells = 0;
    for table in tables {
        let Ok(mut stmt) = conn.prepare(&format!("SELECT * FROM \"{table}\"")) else {
            continue; // a virtual table this SQLite build cannot read; its shadow tables are read
        };
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let bytes: Vec<u8> = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => t.to_vec(),
                    rusqlite::types::ValueRef::Blob(b)
                        if decode_zstd && b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) =>
                    {
                        unzstd(b)
                    }
                    rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
                    _ => continue,
                };
                cells += 1;
                assert!(
                    !contains(&bytes, key),
                    "the provider key is stored in table {table}, column {i}: {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
    cells
}
