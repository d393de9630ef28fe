//! Runs the store conformance suite against a real `clickhouse-server` started by the test on
//! free loopback ports, with a temporary data dir and a generated config. Each case gets a
//! fresh database.
//!
//! Without `clickhouse-server` on the PATH the test is skipped (and fails when `CI` is set).
//! Install: `apt-get install -y --no-install-recommends clickhouse-server clickhouse-client`.

use llmtrace_store::{SpanWriter, StoreError, TraceReader, WriteBatch};
use llmtrace_store_clickhouse::testserver::{
    http_query, start_cluster, start_replicated_cluster, start_server,
};
use llmtrace_store_clickhouse::ClickHouseStore;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Runs the suite against the server at `base` (`http://host:port`), one database per case
/// named `{prefix}_<n>`.
async fn run_suite(base: &str, prefix: &str) {
    let started = Instant::now();
    let n = AtomicU32::new(0);
    llmtrace_store::testsuite::run_all(|| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        let url = format!("{base}/{prefix}_{i}");
        async move { ClickHouseStore::connect(&url).await.expect("connect") }
    })
    .await;
    let db = format!("{prefix}_folded");
    let store = ClickHouseStore::connect(&format!("{base}/{db}"))
        .await
        .expect("connect");
    folded_rollups_are_exact(&store).await;
    let folds = query(
        &base.replace("clickhouse://", "http://"),
        &format!(
            "SELECT concat(toString(countIf(level = 1)), ' ', toString(countIf(level = 2)), ' ', \
             toString(countIf(level = 3)), ' ', toString(countIf(level = 5)), ' ', \
             toString(countIf(level = 6)), ' ', toString(countIf(level = 7))) FROM {db}.fold_heads"
        ),
    )
    .await;
    let counts: Vec<u64> = folds.split(' ').map(|n| n.parse().unwrap()).collect();
    assert!(
        counts.len() == 6 && counts.iter().all(|n| *n > 0),
        "minutes, hours and days of calls, sessions and users were folded: {folds}"
    );
    eprintln!(
        "conformance suite on {base}: {} cases in {:?}",
        n.load(Ordering::Relaxed),
        started.elapsed()
    );
}

/// The rollup property with the statistics folded at chosen moments (hours without the usual
/// margin: no write is in flight while the test folds).
async fn folded_rollups_are_exact(store: &ClickHouseStore) {
    store.set_hour_fold_margin(std::time::Duration::ZERO);
    llmtrace_store::testsuite::rollup_exactness::stats_equal_raw_spans_when_settled(
        store,
        || async {
            store.fold_now().await.expect("fold");
        },
    )
    .await;
}

/// The suite against a current ClickHouse release: `LLMTRACE_TEST_CLICKHOUSE_URL` when set
/// (`http://host:port`), else ClickHouse 26 embedded by the `chdb` Python package behind
/// `tests/chdb_shim.py`, with the interpreter of `LLMTRACE_CHDB_PYTHON` (scripts/test.sh makes
/// `.venv-chdb` from `tests/chdb/requirements.txt`). Missing: skipped locally, a failure in CI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_clickhouse_passes_the_conformance_suite() {
    let prefix = format!("cur_{}", std::process::id());
    let Some(current) = current_clickhouse() else {
        return;
    };
    run_suite(&current.base, &prefix).await;
    // Full-text search has its n-gram bloom filter there (18.16 has no skip indexes).
    let indexes = query(
        &current.base,
        &format!(
            "SELECT name FROM system.data_skipping_indices \
             WHERE database = '{prefix}_0' AND table IN ('spans', 'span_text') \
             ORDER BY table"
        ),
    )
    .await;
    assert_eq!(indexes, "search_ngrams\nsearch_ngrams");
}

/// A current ClickHouse to test against: the server of `LLMTRACE_TEST_CLICKHOUSE_URL`, or a
/// chdb shim started here (stopped on drop).
struct Current {
    /// `http://host:port`.
    base: String,
    _shim: Option<(Shim, tempfile::TempDir)>,
}

/// Finds or starts a current ClickHouse (see
/// [`current_clickhouse_passes_the_conformance_suite`]); `None` after printing why there is
/// none (a failure when `CI` is set).
fn current_clickhouse() -> Option<Current> {
    if let Ok(base) = std::env::var("LLMTRACE_TEST_CLICKHOUSE_URL") {
        return Some(Current {
            base: base.trim_end_matches('/').to_string(),
            _shim: None,
        });
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("LLMTRACE_CHDB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv-chdb/bin/python"));
    if !python.exists() {
        let why = format!(
            "chdb interpreter {} not found (scripts/test.sh creates .venv-chdb)",
            python.display()
        );
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
        return None;
    }
    let session = tempfile::tempdir().unwrap();
    let port = llmtrace_store_clickhouse::testserver::free_port();
    let mut shim = Shim(
        Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chdb_shim.py"))
            .arg(port.to_string())
            .arg(session.path())
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while !llmtrace_store_clickhouse::testserver::ping(port) {
        assert!(
            shim.0.try_wait().unwrap().is_none(),
            "chdb shim exited before serving"
        );
        assert!(Instant::now() < deadline, "chdb shim did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let version = http_query(port, "SELECT version()");
    assert!(
        version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            >= Some(24),
        "a current ClickHouse, got {version:?}"
    );
    Some(Current {
        base: format!("http://127.0.0.1:{port}"),
        _shim: Some((shim, session)),
    })
}

/// The chdb shim process, stopped on drop.
struct Shim(std::process::Child);

impl Drop for Shim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two llmtrace nodes (two stores, each with its own in-memory state) writing to one database
/// at the same moment: the same spans twice, a wrapper and its inner call, and one provider
/// response reported by spans in two traces. Stored totals must count each call once.
async fn two_nodes_racing(base: &str) {
    use llmtrace_store::testsuite::{llm, rag_trace, span, tid};
    use llmtrace_store::{GroupBy, StatsQuery, TraceQuery};
    let url = format!("{base}/two_nodes");
    let a = ClickHouseStore::connect(&url).await.expect("node a");
    let b = ClickHouseStore::connect(&url).await.expect("node b");
    let batch = |spans| {
        Arc::new(WriteBatch {
            spans,
            ..Default::default()
        })
    };
    let wrapper = llm(2, 1, None, "gpt-4o", 120, 45, 0, 1000);
    let inner = llm(2, 2, Some(1), "gpt-4o", 160, 45, 10, 980);
    let mut app_call = llm(3, 2, Some(1), "gpt-4o", 50, 5, 10, 900);
    app_call.gen_ai.response_id = Some("resp_1".into());
    let mut orphan = llm(4, 1, None, "gpt-4o", 50, 5, 12, 880);
    orphan.gen_ai.response_id = Some("resp_1".into());
    let (ra, rb) = tokio::join!(
        a.write(batch(
            [
                rag_trace(1),
                vec![wrapper],
                vec![span(3, 1, None, "app", 0, 1000), app_call]
            ]
            .concat()
        )),
        b.write(batch([rag_trace(1), vec![inner], vec![orphan]].concat())),
    );
    ra.expect("write on a");
    rb.expect("write on b");
    for store in [&a, &b] {
        let t = |n| async move { store.get_trace("default", tid(n)).await.unwrap().unwrap() };
        let one = t(1).await.summary;
        assert_eq!(
            (one.span_count, one.llm_call_count, one.input_tokens),
            (4, 1, 160)
        );
        let two = t(2).await.summary;
        assert_eq!((two.llm_call_count, two.input_tokens), (1, 160));
        let (three, four) = (t(3).await.summary, t(4).await.summary);
        assert_eq!((three.llm_call_count, four.llm_call_count), (1, 0));
        let page = store
            .list_traces(&TraceQuery {
                project: "default".into(),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        let calls: Vec<(u64, u64)> = page
            .traces
            .iter()
            .map(|t| (t.span_count, t.llm_call_count))
            .collect();
        assert_eq!(calls, vec![(1, 0), (2, 1), (2, 1), (4, 1)]);
        let stats = store
            .stats(&StatsQuery {
                project: "default".into(),
                group_by: GroupBy::Model,
                since_unix_nano: None,
                until_unix_nano: None,
                ..Default::default()
            })
            .await
            .unwrap();
        let total: u64 = stats.iter().map(|g| g.calls).sum();
        assert_eq!(total, 3, "{stats:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_store_passes_the_conformance_suite() {
    let Some(server) = start_server() else {
        return;
    };
    let port = server.http_port;
    run_suite(&format!("clickhouse://127.0.0.1:{port}"), "t").await;
    two_nodes_racing(&format!("clickhouse://127.0.0.1:{port}")).await;

    // Migrations are idempotent: connecting again to a migrated database changes nothing.
    let again = ClickHouseStore::connect(&format!("clickhouse://127.0.0.1:{port}/t_0"))
        .await
        .expect("reconnect");
    let page = again
        .list_traces(&llmtrace_store::TraceQuery {
            project: "default".into(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.traces.len(), 1);
    let health = again.health(u64::MAX).await.unwrap();
    assert!(health.size_bytes.unwrap_or(0) > 0);

    // A stopped server is a transient failure (clients get 503 + Retry-After).
    drop(server);
    let err = again
        .write(Arc::new(WriteBatch {
            spans: llmtrace_store::testsuite::rag_trace(7),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
    let err = ClickHouseStore::connect(&format!("clickhouse://127.0.0.1:{port}/x"))
        .await
        .err()
        .expect("no server");
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

/// The suite through `Distributed` tables over two shards (two 18.16 servers, no ZooKeeper):
/// each case gets a fresh database on both nodes, and spans end up on both shards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shard_cluster_passes_the_conformance_suite() {
    let Some((a, b)) = start_cluster() else {
        return;
    };
    let (pa, pb) = (a.http_port, b.http_port);
    run_cluster_suite(&[pa, pb], "c", "two shards").await;
    let count = |port| {
        http_query(port, "SELECT count() FROM c_5.spans_local")
            .parse::<u64>()
            .unwrap_or(0)
    };
    let (on_a, on_b) = (count(pa), count(pb));
    assert!(on_a > 0 && on_b > 0, "spans per shard: {on_a} / {on_b}");
}

/// The suite on two shards of two replicas each (four 18.16 servers replicating through one
/// ZooKeeper): each case gets a fresh database on every node, and each replica of a shard ends
/// up with the same rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_cluster_passes_the_conformance_suite() {
    let Some(cluster) = start_replicated_cluster() else {
        return;
    };
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.http_port).collect();
    run_cluster_suite(&ports, "r", "two shards of two replicas").await;
    let engine = http_query(
        ports[1],
        "SELECT engine FROM system.tables WHERE database = 'r_5' AND name = 'spans_local'",
    );
    assert_eq!(engine, "ReplicatedReplacingMergeTree");
    let [s1r1, s1r2, s2r1, s2r2] = [0, 1, 2, 3].map(|i| local_spans(ports[i], "r_5"));
    assert!(s1r1 > 0 && s2r1 > 0, "spans per shard: {s1r1} / {s2r1}");
    assert_eq!((s1r1, s2r1), (s1r2, s2r2), "replicas hold the same spans");

    // A replica that lost its database (or joins later) gets the tables as they stand on the
    // other replica of its shard (columns added by later migrations included) and fetches the
    // rows.
    http_query(ports[1], "DROP DATABASE r_5");
    connect_nodes(&ports, "r_5")
        .await
        .expect("a fresh replica joins");
    let columns = |port| {
        http_query(
            port,
            "SELECT name FROM system.columns WHERE database = 'r_5' AND table = 'spans_local' \
             ORDER BY name",
        )
    };
    assert_eq!(columns(ports[1]), columns(ports[0]));
    assert_eq!(
        local_spans(ports[1], "r_5"),
        s1r1,
        "the new replica fetched its shard"
    );
    // The same for the shard's first replica (the one that runs the shard's migrations).
    http_query(ports[0], "DROP DATABASE r_5");
    let store = connect_nodes(&ports, "r_5")
        .await
        .expect("the first replica joins again");
    assert_eq!(columns(ports[0]), columns(ports[1]));
    assert_eq!(
        local_spans(ports[0], "r_5"),
        s1r1,
        "the first replica fetched its shard"
    );
    let page = store
        .list_traces(&llmtrace_store::TraceQuery {
            project: "default".into(),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!page.traces.is_empty());

    // Tables made without replicas are refused, not silently left unreplicated.
    http_query(ports[0], "CREATE DATABASE plain");
    http_query(
        ports[0],
        "CREATE TABLE plain.spans_local (x UInt8) ENGINE = MergeTree ORDER BY x",
    );
    let err = connect_nodes(&ports, "plain").await.err().expect("refused");
    assert!(
        matches!(&err, StoreError::Permanent(m) if m.contains("not replicated")),
        "{err:?}"
    );
}

/// Connects to database `db` of the cluster `llm_cluster` made of the nodes on `ports`.
async fn connect_nodes(ports: &[u16], db: &str) -> Result<ClickHouseStore, StoreError> {
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("clickhouse://127.0.0.1:{p}/{db}"))
        .collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    ClickHouseStore::connect_cluster(&urls, "llm_cluster").await
}

/// Runs the suite on the cluster `llm_cluster` of the nodes on `ports`, one database per case
/// named `{prefix}_<n>` on every node.
async fn run_cluster_suite(ports: &[u16], prefix: &str, what: &str) {
    let started = Instant::now();
    let n = AtomicU32::new(0);
    llmtrace_store::testsuite::run_all(|| {
        let db = format!("{prefix}_{}", n.fetch_add(1, Ordering::Relaxed));
        async move { connect_nodes(ports, &db).await.expect("connect cluster") }
    })
    .await;
    let store = connect_nodes(ports, &format!("{prefix}_folded"))
        .await
        .expect("connect cluster");
    folded_rollups_are_exact(&store).await;
    eprintln!(
        "conformance suite on {what}: {} cases in {:?}",
        n.load(Ordering::Relaxed),
        started.elapsed()
    );
}

/// Rows of `db.spans_local` on the node at `port` (one per span), after the node fetched what
/// its shard's other replica has.
fn local_spans(port: u16, db: &str) -> u64 {
    http_query(port, &format!("SYSTEM SYNC REPLICA {db}.spans_local"));
    let n = http_query(port, &format!("SELECT count() FROM {db}.spans_local FINAL"));
    n.parse().unwrap_or_else(|_| panic!("count on {port}: {n}"))
}

/// A replicated cluster loses one replica of each shard, among them the node llmtrace talks to:
/// llmtrace fails over to the next node, reads everything stored and keeps acknowledging
/// writes; the lost replicas come back and catch up, and with the other replicas gone every
/// trace is still read whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_cluster_survives_losing_a_replica_per_shard() {
    use llmtrace_store::testsuite::{rag_trace, tid};
    use llmtrace_store::TraceQuery;
    let Some(mut cluster) = start_replicated_cluster() else {
        return;
    };
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.http_port).collect();
    let store = connect_nodes(&ports, "fo").await.expect("connect");
    let write = |traces: std::ops::RangeInclusive<u64>| {
        let store = store.clone();
        async move {
            store
                .write(Arc::new(WriteBatch {
                    spans: traces.flat_map(rag_trace).collect(),
                    ..Default::default()
                }))
                .await
        }
    };
    let listed = || {
        let store = store.clone();
        async move {
            let page = store
                .list_traces(&TraceQuery {
                    project: "default".into(),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .expect("list");
            let mut ids: Vec<_> = page
                .traces
                .iter()
                .map(|t| (t.trace_id, t.span_count))
                .collect();
            ids.sort();
            ids
        }
    };
    let expected = |last: u64| (1..=last).map(|t| (tid(t), 4)).collect::<Vec<_>>();
    write(1..=20).await.expect("write with every replica up");
    // Both replicas of each shard hold the first writes before one of them is lost.
    for port in &ports {
        for table in [
            "spans_local",
            "trace_summaries_local",
            "trace_list_local",
            "trace_keys_local",
        ] {
            http_query(*port, &format!("SYSTEM SYNC REPLICA fo.{table}"));
        }
    }

    cluster.nodes[0].kill();
    cluster.nodes[3].kill();
    assert_eq!(
        listed().await,
        expected(20),
        "read with a replica per shard lost"
    );
    write(21..=30)
        .await
        .expect("write with a replica per shard lost");
    assert_eq!(listed().await, expected(30));
    let detail = store
        .get_trace("default", tid(25))
        .await
        .expect("trace")
        .expect("stored");
    assert_eq!(detail.spans.len(), 4);

    cluster.nodes[0].restart();
    cluster.nodes[3].restart();
    let [s1r1, s1r2, s2r1, s2r2] = [0, 1, 2, 3].map(|i| local_spans(ports[i], "fo"));
    assert_eq!(s1r1 + s2r1, 30 * 4, "every span once");
    assert_eq!((s1r1, s2r1), (s1r2, s2r2), "the lost replicas caught up");
    for port in [ports[0], ports[3]] {
        for table in [
            "trace_summaries_local",
            "trace_list_local",
            "trace_keys_local",
        ] {
            http_query(port, &format!("SYSTEM SYNC REPLICA fo.{table}"));
        }
    }

    // Now the other replicas go: what the restarted ones fetched is all there is.
    cluster.nodes[1].kill();
    cluster.nodes[2].kill();
    assert_eq!(
        listed().await,
        expected(30),
        "read from the caught-up replicas"
    );
    write(31..=32)
        .await
        .expect("write to the caught-up replicas");
    assert_eq!(listed().await, expected(32));
}

/// Runs `sql` on the server at `base` (`http://host:port`), panicking on an error.
async fn query(base: &str, sql: &str) -> String {
    let answer = reqwest::Client::new()
        .post(format!("{base}/"))
        .body(sql.to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body = answer.text().await.unwrap();
    assert!(status.is_success(), "{sql}: {status} {body}");
    body.trim().to_string()
}

/// A one-span trace of `project` with a provider response id, started `age_secs` ago.
fn aged_trace(project: &str, n: u64, age_secs: u64) -> llmtrace_model::Span {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut s = llmtrace_store::testsuite::llm(n, 1, None, "gpt-4o", 10, 2, 0, 100);
    s.project = project.into();
    s.start_unix_nano = now - age_secs * 1_000_000_000;
    s.end_unix_nano = s.start_unix_nano + 100_000_000;
    s.gen_ai.response_id = Some(format!("resp_{n}"));
    s
}

/// Per-project retention on a current ClickHouse: the trace of project "short" (1 day) started
/// 3 days ago is deleted by the TTL once the tables merge, with its score, log and response
/// index rows; the new "short" trace and both traces of "keep" (no retention) stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_clickhouse_deletes_expired_rows_by_ttl() {
    use llmtrace_store::testsuite::tid;
    use llmtrace_store::TraceQuery;
    use llmtrace_store_clickhouse::Retention;
    let Some(current) = current_clickhouse() else {
        return;
    };
    let db = format!("ret_{}", std::process::id());
    let retention = Retention {
        default_days: None,
        projects: [("short".to_string(), 1)].into(),
    };
    let store = ClickHouseStore::connect(&format!("{}/{db}", current.base))
        .await
        .expect("connect")
        .with_retention(retention.clone())
        .expect("a current ClickHouse has TTL");
    assert_eq!(store.retention(), &retention);
    let three_days = 3 * 86_400;
    let (short_old, keep_old) = (tid(1), tid(3));
    let score = |project: &str, trace: llmtrace_model::TraceId| llmtrace_model::Score {
        project: project.into(),
        id: format!("{project}-{}", trace.to_hex()),
        trace_id: trace.to_hex(),
        name: "ok".into(),
        timestamp_unix_nano: aged_trace(project, 0, three_days).start_unix_nano,
        ..Default::default()
    };
    let log = |project: &str, trace: llmtrace_model::TraceId| llmtrace_model::LogRecord {
        project: project.into(),
        time_unix_nano: aged_trace(project, 0, three_days).start_unix_nano,
        trace_id: Some(trace),
        event_name: "gen_ai.user.message".into(),
        ..Default::default()
    };
    store
        .write(Arc::new(WriteBatch {
            spans: vec![
                aged_trace("short", 1, three_days),
                aged_trace("short", 2, 0),
                aged_trace("keep", 3, three_days),
                aged_trace("keep", 4, 0),
            ],
            scores: vec![score("short", short_old), score("keep", keep_old)],
            logs: vec![log("short", short_old), log("keep", keep_old)],
        }))
        .await
        .expect("write");
    let traces = |project: &'static str| {
        let store = store.clone();
        async move {
            let page = store
                .list_traces(&TraceQuery {
                    project: project.into(),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .unwrap();
            let mut ids: Vec<_> = page.traces.iter().map(|t| t.trace_id).collect();
            ids.sort();
            ids
        }
    };
    // A row that is already expired may go at any merge ClickHouse starts by itself (it may
    // run a TTL merge on a single new part), so before the forced merge only what must stay is
    // asserted.
    assert!(traces("short").await.contains(&tid(2)), "before the merge");
    for table in [
        "spans",
        "logs",
        "scores",
        "responses",
        "trace_keys",
        "trace_summaries",
    ] {
        let ddl = query(&current.base, &format!("SHOW CREATE TABLE {db}.{table}")).await;
        assert!(ddl.contains("TTL expire_at"), "{ddl}");
        query(&current.base, &format!("OPTIMIZE TABLE {db}.{table} FINAL")).await;
    }
    assert_eq!(traces("short").await, vec![tid(2)]);
    assert_eq!(traces("keep").await, vec![tid(3), tid(4)]);
    assert!(store.get_trace("short", short_old).await.unwrap().is_none());
    assert!(store.get_trace("short", tid(2)).await.unwrap().is_some());
    assert!(store.get_trace("keep", keep_old).await.unwrap().is_some());
    let left = [
        ("logs", "keep"),
        ("scores", "keep"),
        ("responses", "keep keep short"),
        // A key row outlives its trace's spans (it expires a retention after it was written).
        ("trace_keys", "keep keep short short"),
        ("trace_summaries", "keep keep short"),
    ];
    for (table, projects) in left {
        let rows = query(
            &current.base,
            &format!("SELECT project FROM {db}.{table} ORDER BY project"),
        )
        .await;
        assert_eq!(
            rows.split_whitespace().collect::<Vec<_>>().join(" "),
            projects,
            "{table}"
        );
    }
    let kept = query(
        &current.base,
        &format!("SELECT toUInt32(expire_at) FROM {db}.spans WHERE project = 'keep' LIMIT 1"),
    )
    .await;
    assert_eq!(kept, u32::MAX.to_string(), "kept forever");
}

/// ClickHouse 18.16 has no TTL: a retention is refused with a clear error, an empty one is
/// accepted, and the rows get the "never" expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_clickhouse_refuses_retention() {
    use llmtrace_store_clickhouse::Retention;
    let Some(server) = start_server() else {
        return;
    };
    let url = format!("clickhouse://127.0.0.1:{}/ret", server.http_port);
    let store = ClickHouseStore::connect(&url).await.expect("connect");
    if !store.server_version().starts_with("18.") {
        eprintln!(
            "SKIPPED: clickhouse-server is {}, not 18.x",
            store.server_version()
        );
        return;
    }
    let retention = Retention {
        default_days: Some(30),
        ..Default::default()
    };
    let err = store
        .clone()
        .with_retention(retention)
        .err()
        .expect("refused");
    let StoreError::Permanent(message) = err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("retention needs ClickHouse 19.6 or later (TTL); this server is 18.16"),
        "{message}"
    );
    let store = store
        .with_retention(Retention::default())
        .expect("no retention works everywhere");
    store
        .write(Arc::new(WriteBatch {
            spans: vec![aged_trace("keep", 1, 0)],
            ..Default::default()
        }))
        .await
        .expect("write");
    let never = http_query(
        server.http_port,
        "SELECT toUInt32(expire_at) FROM ret.spans",
    );
    assert_eq!(never, u32::MAX.to_string());
}

/// Full-text search walks the trace list's windows newest first (`search.rs`): traces whose
/// rows arrive out of start order, a word in every trace, in a few and in old traces only, page
/// after page exactly as the scan would answer (the case SQLite runs over its search chunks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_walk_is_exact_when_rows_arrive_out_of_start_order() {
    let Some(server) = start_server() else {
        return;
    };
    let url = format!("clickhouse://127.0.0.1:{}/text_walk", server.http_port);
    let store = ClickHouseStore::connect(&url).await.expect("connect");
    let traces = 4_500u64;
    llmtrace_store::testsuite::search_pages::search_pages_when_rows_arrive_out_of_start_order(
        &store, traces,
    )
    .await;
    // By cost, a word in more traces than a scan's filter lists (4,000): the same order as
    // without the word, less the traces without it (`pair`, ids above `traces`).
    let by_cost = |text: Option<&str>, limit: usize| {
        let store = store.clone();
        let query = llmtrace_store::TraceQuery {
            project: "default".into(),
            text: text.map(Into::into),
            sort: llmtrace_store::TraceSort::Cost,
            limit,
            ..Default::default()
        };
        async move {
            let page = store.list_traces(&query).await.expect("list");
            page.traces.iter().map(|t| t.trace_id).collect::<Vec<_>>()
        }
    };
    let pairs: Vec<_> = (traces + 1..=traces + 4)
        .map(llmtrace_store::testsuite::tid)
        .collect();
    let mut expected = by_cost(None, 30).await;
    expected.retain(|t| !pairs.contains(t));
    expected.truncate(20);
    assert_eq!(by_cost(Some("common"), 20).await, expected);
}

/// A project larger than the first windows of the newest-first search (2,000 spans): paging
/// through it gives every trace exactly once, in trace-start order, including a long trace
/// whose late span is the newest span of all and traces a `since`/`until` range cuts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_first_search_pages_through_windows() {
    use llmtrace_store::testsuite::{span, tid, T0};
    use llmtrace_store::TraceQuery;
    let Some(server) = start_server() else {
        return;
    };
    let url = format!("clickhouse://127.0.0.1:{}/windows", server.http_port);
    let store = ClickHouseStore::connect(&url).await.expect("connect");
    let n = 2_600u64;
    // Trace i starts at i ms; trace 0 also has a child at the very end.
    let mut spans: Vec<_> = (0..n).map(|i| span(i, 1, None, "t", i, 1)).collect();
    spans.push(span(0, 2, Some(1), "late", n + 10, 1));
    store
        .write(Arc::new(WriteBatch {
            spans,
            ..Default::default()
        }))
        .await
        .expect("write");
    // Trace n starts at n + 5 ms, then a span arriving later moves its start to 50 ms: its
    // first index row is stale, and it is listed once, at its new start.
    for (span_id, parent, start) in [(1, None, n + 5), (2, Some(1), 50)] {
        store
            .write(Arc::new(WriteBatch {
                spans: vec![span(n, span_id, parent, "moved", start, 1)],
                ..Default::default()
            }))
            .await
            .expect("write");
    }
    let pages = |query: TraceQuery| {
        let store = store.clone();
        async move {
            let mut q = query;
            let mut ids = Vec::new();
            loop {
                let page = store.list_traces(&q).await.unwrap();
                ids.extend(page.traces.iter().map(|t| t.trace_id));
                match page.next_cursor {
                    Some(c) => q.cursor = Some(c),
                    None => return ids,
                }
            }
        }
    };
    let all = pages(TraceQuery {
        project: "default".into(),
        limit: 300,
        ..Default::default()
    })
    .await;
    let mut starts: Vec<_> = (0..n).map(|i| (i, tid(i))).collect();
    starts.push((50, tid(n)));
    starts.sort();
    let expected: Vec<_> = starts.iter().rev().map(|(_, t)| *t).collect();
    assert_eq!(all.len(), expected.len());
    assert_eq!(all, expected, "every trace once, newest first");
    let ms = 1_000_000;
    let cut = pages(TraceQuery {
        project: "default".into(),
        since_unix_nano: Some(T0 + 100 * ms),
        until_unix_nano: Some(T0 + 2_500 * ms),
        limit: 500,
        ..Default::default()
    })
    .await;
    assert_eq!(cut, (100..2_500).rev().map(tid).collect::<Vec<_>>());
    // A page cut inside the traces starting at 50 ms goes on below the cursor.
    let around = pages(TraceQuery {
        project: "default".into(),
        until_unix_nano: Some(T0 + 52 * ms),
        limit: 2,
        ..Default::default()
    })
    .await;
    let below_52: Vec<_> = expected
        .iter()
        .copied()
        .filter(|t| starts.iter().any(|(s, id)| id == t && *s < 52))
        .collect();
    assert_eq!(around, below_52);
}

/// A two-shard database from before the summary table (schema 5) gets it filled when a newer
/// llmtrace connects: each node fills its own shard's traces, and the list shows every trace
/// once with the totals the spans give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_upgrade_fills_the_summary_table() {
    use llmtrace_store::testsuite::{rag_trace, tid};
    use llmtrace_store::TraceQuery;
    let Some((a, b)) = start_cluster() else {
        return;
    };
    let (pa, pb) = (a.http_port, b.http_port);
    let store = connect_nodes(&[pa, pb], "up")
        .await
        .expect("connect cluster");
    let spans: Vec<_> = (1..=12).flat_map(rag_trace).collect();
    store
        .write(Arc::new(WriteBatch {
            spans,
            ..Default::default()
        }))
        .await
        .expect("write");
    // Back to schema 5 on both nodes: no summary table, no record of version 6.
    for port in [pa, pb] {
        http_query(port, "DROP TABLE up.trace_summaries");
        http_query(port, "DROP TABLE up.trace_summaries_local");
        http_query(
            port,
            "RENAME TABLE up.schema_migrations TO up.old_migrations",
        );
        http_query(
            port,
            "CREATE TABLE up.schema_migrations ENGINE = MergeTree ORDER BY version AS \
             SELECT * FROM up.old_migrations WHERE version <= 5",
        );
    }
    let per_shard = |port| {
        http_query(port, "SELECT count() FROM up.spans_local")
            .parse::<u64>()
            .unwrap_or(0)
    };
    assert!(
        per_shard(pa) > 0 && per_shard(pb) > 0,
        "traces on both shards"
    );
    let store = connect_nodes(&[pa, pb], "up").await.expect("upgrade");
    let page = store
        .list_traces(&TraceQuery {
            project: "default".into(),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut ids: Vec<_> = page.traces.iter().map(|t| t.trace_id).collect();
    ids.sort();
    assert_eq!(
        ids,
        (1..=12).map(tid).collect::<Vec<_>>(),
        "every trace once"
    );
    for t in &page.traces {
        let from_spans = store
            .get_trace("default", t.trace_id)
            .await
            .unwrap()
            .unwrap()
            .summary;
        assert_eq!(*t, from_spans, "summary of {}", t.trace_id);
    }
}

/// Retention (TTL, current ClickHouse) deletes the older of two traces sharing messages: the
/// newer one reads back every message, and the message table keeps exactly the messages the
/// newer trace uses (a shared message's copy written with the newer trace expires last).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_keeps_the_messages_other_traces_use() {
    use llmtrace_store_clickhouse::Retention;
    let Some(current) = current_clickhouse() else {
        return;
    };
    let db = format!("msg_{}", std::process::id());
    let store = ClickHouseStore::connect(&format!("{}/{db}", current.base))
        .await
        .expect("connect")
        .with_retention(Retention {
            default_days: Some(1),
            projects: Default::default(),
        })
        .expect("a current ClickHouse has TTL");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let older = now - 3 * 86_400_000_000_000;
    let base = current.base.clone();
    let messages_db = db.clone();
    llmtrace_store::testsuite::message_dedup::deleting_one_trace_keeps_the_others_messages(
        &store,
        older,
        now,
        move || async move {
            // (The expired rows may be gone already: ClickHouse runs TTL merges by itself.)
            for table in [
                "spans",
                "messages",
                "trace_keys",
                "trace_summaries",
                "trace_list",
                "calls",
                "span_text",
            ] {
                query(
                    &base,
                    &format!("OPTIMIZE TABLE {messages_db}.{table} FINAL"),
                )
                .await;
            }
        },
    )
    .await;
    // The newer trace's shared system prompt, question, two tool calls and three results.
    let after = query(
        &current.base,
        &format!("SELECT count() FROM {db}.messages FINAL"),
    )
    .await;
    assert_eq!(after.trim(), "7");
}
