//! The store conformance suite against a real SQLite file, plus SQLite-specific durability.

use llmtrace_store::testsuite;
use llmtrace_store::{SpanWriter, TraceReader, WriteBatch};
use llmtrace_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes() {
    let dirs = std::sync::Mutex::new(Vec::new());
    testsuite::run_all(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        dirs.lock().unwrap().push(dir);
        async move { store }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SqliteStore::open_dir(dir.path()).unwrap();
        s.write(std::sync::Arc::new(WriteBatch {
            spans: testsuite::rag_trace(1),
            logs: vec![],
            scores: vec![],
        }))
        .await
        .unwrap();
    }
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    let d = s
        .get_trace("default", testsuite::tid(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.spans.len(), 4);
    assert!(s.size_bytes() > 0);
}
