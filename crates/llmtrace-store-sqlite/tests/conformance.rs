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

/// A data dir whose store holds one RAG trace (trace 1), closed again.
async fn dir_with_one_trace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    s.write(std::sync::Arc::new(WriteBatch {
        spans: testsuite::rag_trace(1),
        logs: vec![],
        scores: vec![],
    }))
    .await
    .unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen_and_migrations_are_idempotent() {
    let dir = dir_with_one_trace().await;
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    let d = s
        .get_trace("default", testsuite::tid(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.spans.len(), 4);
    assert!(s.size_bytes() > 0);
}

/// A file written before the search index existed (schema 7) gets its stored spans indexed when
/// a newer llmtrace opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_index_is_backfilled_on_upgrade() {
    let dir = dir_with_one_trace().await;
    {
        // Back to schema 7: what migrations 8 to 14 add is gone.
        let c = rusqlite::Connection::open(dir.path().join(llmtrace_store_sqlite::DB_FILE_NAME))
            .unwrap();
        c.execute_batch(
            "DROP TABLE span_text; DROP INDEX traces_duration; DROP INDEX traces_session; \
             DROP INDEX traces_user; ALTER TABLE call_responses DROP COLUMN usage_source; \
             ALTER TABLE call_responses DROP COLUMN usage_trace_ref; \
             ALTER TABLE call_responses DROP COLUMN usage_span_key; \
             ALTER TABLE traces DROP COLUMN failed_call_count; DROP INDEX scores_time; \
             DROP TABLE catalog; DROP TABLE call_rollups; DROP TABLE rollup_dims; \
             DROP TABLE rollup_levels; DROP TABLE trace_group_hours; \
             DROP TABLE span_text_chunks; DROP TABLE messages; PRAGMA user_version = 7;",
        )
        .unwrap();
    }
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    let found = |text: &str| {
        let s = s.clone();
        let text = text.to_string();
        async move {
            s.list_traces(&llmtrace_store::TraceQuery {
                project: "default".into(),
                text: Some(text),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .traces
            .len()
        }
    };
    assert_eq!(found("contract").await, 1);
    assert_eq!(found("合同").await, 1);
    assert_eq!(found("clauses").await, 1);
    assert_eq!(found("absent").await, 0);
    // The search walk's bounds were filled from the stored spans: the trace's latest start.
    let c =
        rusqlite::Connection::open(dir.path().join(llmtrace_store_sqlite::DB_FILE_NAME)).unwrap();
    let latest: i64 = c
        .query_row("SELECT max(start_ns) FROM spans", [], |r| r.get(0))
        .unwrap();
    let bound: i64 = c
        .query_row("SELECT max(max_start_ns) FROM span_text_chunks", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(bound, latest);
}

/// What an export will read: the traces (and their spans) a query's filters select.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_traces_counts_what_the_filters_select() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    for t in 1..=3 {
        s.write(std::sync::Arc::new(WriteBatch {
            spans: testsuite::rag_trace(t),
            logs: vec![],
            scores: vec![],
        }))
        .await
        .unwrap();
    }
    let all = llmtrace_store::TraceQuery {
        project: "default".into(),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(s.count_traces(&all).await.unwrap(), (3, 12));
    let none = llmtrace_store::TraceQuery {
        service: Some("no-such-service".into()),
        ..all.clone()
    };
    assert_eq!(s.count_traces(&none).await.unwrap(), (0, 0));
    let other_project = llmtrace_store::TraceQuery {
        project: "elsewhere".into(),
        ..all
    };
    assert_eq!(s.count_traces(&other_project).await.unwrap(), (0, 0));
}

/// Listing by cost or duration over a range full enough to walk the sort's index (more than
/// 5,000 traces in it) pages exactly like sorting the range: the most expensive (longest)
/// traces of the range first, none from outside it, cursor after cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_and_duration_pages_over_a_full_range() {
    use llmtrace_store::{TraceQuery, TraceSort};
    const MS: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    // Trace t starts at t ms; cost and duration are scrambled; the range is [1000, 7000) ms.
    let cost = |t: u64| (t * 7_919 % 6_007) as i64;
    let dur = |t: u64| t * 104_729 % 5_003 + 1;
    let mut spans = Vec::new();
    for t in 1..=8_000u64 {
        let mut call = testsuite::llm(t, 1, None, "gpt-4o", 1, 1, t, dur(t));
        call.cost.computed = Some(llmtrace_model::Money::from_pico(cost(t)));
        spans.push(call);
    }
    for chunk in spans.chunks(2_000) {
        s.write(std::sync::Arc::new(WriteBatch {
            spans: chunk.to_vec(),
            logs: vec![],
            scores: vec![],
        }))
        .await
        .unwrap();
    }
    for sort in [TraceSort::Cost, TraceSort::Duration] {
        let key = |t: u64| match sort {
            TraceSort::Cost => cost(t) as u64,
            _ => dur(t) * MS,
        };
        let mut expected: Vec<(u64, llmtrace_model::TraceId)> = (1_000..7_000)
            .map(|t| (key(t), testsuite::tid(t)))
            .collect();
        expected.sort_by(|a, b| b.cmp(a));
        let mut got = Vec::new();
        let mut q = TraceQuery {
            project: "default".into(),
            since_unix_nano: Some(testsuite::T0 + 1_000 * MS),
            until_unix_nano: Some(testsuite::T0 + 7_000 * MS),
            sort,
            limit: 100,
            ..Default::default()
        };
        for _ in 0..3 {
            let page = s.list_traces(&q).await.unwrap();
            got.extend(page.traces.iter().map(|t| t.trace_id));
            q.cursor = page.next_cursor;
        }
        let want: Vec<_> = expected.iter().take(300).map(|(_, id)| *id).collect();
        assert_eq!(got, want, "{sort:?}");
    }
}

/// Search pages stay exact when the newest-first walk of matches crosses several chunks of row
/// ids (16,384 rows each) and rows arrive out of start order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_walk_is_exact_across_chunks_and_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    testsuite::search_pages::search_pages_when_rows_arrive_out_of_start_order(&s, 40_000).await;
}

/// Retention deletes the older of two traces sharing messages: the newer one reads back every
/// message, and the message table keeps exactly the messages the newer trace uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_messages_other_traces_use() {
    const DAY: u64 = 86_400_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    let messages = || {
        rusqlite::Connection::open(dir.path().join(llmtrace_store_sqlite::DB_FILE_NAME))
            .unwrap()
            .query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    let (older, newer) = (testsuite::T0, testsuite::T0 + 10 * DAY);
    let before = std::cell::Cell::new(None);
    let (store, count, seen) = (&s, &messages, &before);
    testsuite::message_dedup::deleting_one_trace_keeps_the_others_messages(
        &s,
        older,
        newer,
        move || async move {
            // Shared system prompt, then per trace: question, two tool calls, three results.
            seen.set(Some(count()));
            let expiry = llmtrace_store_sqlite::Expiry {
                default_before_ns: Some(newer - DAY),
                projects: Default::default(),
            };
            let expired = store.expire(&expiry, 100).await.unwrap();
            assert_eq!(expired.traces, 1);
        },
    )
    .await;
    assert_eq!(before.get(), Some(13));
    assert_eq!(messages(), 7);
}
