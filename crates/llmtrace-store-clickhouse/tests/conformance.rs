//! Runs the store conformance suite against a real `clickhouse-server` started by the test on
//! free loopback ports, with a temporary data dir and a generated config. Each case gets a
//! fresh database.
//!
//! Without `clickhouse-server` on the PATH the test is skipped (and fails when `CI` is set).
//! Install: `apt-get install -y --no-install-recommends clickhouse-server clickhouse-client`.

use llmtrace_store::{SpanWriter, StoreError, TraceReader, WriteBatch};
use llmtrace_store_clickhouse::ClickHouseStore;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `clickhouse-server` process, stopped on drop.
struct Server {
    child: Child,
    http_port: u16,
    /// Data dir, removed after the server stopped (fields drop after `Drop::drop`).
    _dir: Arc<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM, then wait briefly; SIGKILL if it lingers.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("clickhouse-server"))
        .find(|p| p.is_file())
}

fn write_config(dir: &Path, http: u16, tcp: u16, extra: Option<&str>) -> PathBuf {
    for sub in ["data", "tmp", "user_files", "log", "config.d"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    if let Some(xml) = extra {
        std::fs::write(dir.join("config.d/extra.xml"), xml).unwrap();
    }
    let d = dir.display();
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/log/server.log</log><errorlog>{d}/log/server.err.log</errorlog><size>100M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <timezone>UTC</timezone>
</yandex>
"#
    );
    let users = r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"#;
    std::fs::write(dir.join("users.xml"), users).unwrap();
    let path = dir.join("config.xml");
    std::fs::write(&path, config).unwrap();
    path
}

/// The server binary, or `None` after explaining why there is none (a failure when `CI` is
/// set).
fn server_binary() -> Option<PathBuf> {
    let bin = find_server();
    if bin.is_none() {
        let why = "clickhouse-server is not installed (apt-get install -y --no-install-recommends \
                   clickhouse-server clickhouse-client)";
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
    }
    bin
}

/// Starts a server on the given ports and waits until it answers; `None` if it did not (a
/// port taken meanwhile).
fn spawn(bin: &Path, http: u16, tcp: u16, extra: Option<&str>) -> Option<Server> {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let config = write_config(dir.path(), http, tcp, extra);
    let log = std::fs::File::create(dir.path().join("log/stdout.log")).unwrap();
    let child = Command::new(bin)
        .arg(format!("--config-file={}", config.display()))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        http_port: http,
        _dir: dir.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = server.child.try_wait() {
            break;
        }
        if ping(http) {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(dir.path().join("log/stdout.log")).unwrap_or_default();
    eprintln!("clickhouse-server on {http}/{tcp} did not become ready:\n{log}");
    None
}

/// Starts a server on free ports, or explains why not (`None`).
fn start_server() -> Option<Server> {
    let bin = server_binary()?;
    // Ports are picked free and may be taken in between; retry a few times.
    for _ in 0..5 {
        if let Some(s) = spawn(&bin, free_port(), free_port(), None) {
            return Some(s);
        }
    }
    panic!("clickhouse-server did not start");
}

/// Starts two servers forming the two-shard cluster `llm_cluster` (no ZooKeeper).
fn start_cluster() -> Option<(Server, Server)> {
    let bin = server_binary()?;
    for _ in 0..3 {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let xml = format!(
            "<?xml version=\"1.0\"?><yandex><remote_servers><llm_cluster>\
             <shard><replica><host>127.0.0.1</host><port>{}</port></replica></shard>\
             <shard><replica><host>127.0.0.1</host><port>{}</port></replica></shard>\
             </llm_cluster></remote_servers></yandex>",
            ports[1], ports[3]
        );
        let Some(a) = spawn(&bin, ports[0], ports[1], Some(&xml)) else {
            continue;
        };
        let Some(b) = spawn(&bin, ports[2], ports[3], Some(&xml)) else {
            continue;
        };
        return Some((a, b));
    }
    panic!("clickhouse cluster did not start");
}

/// Runs a query over HTTP and returns the answer's body.
fn http_query(port: u16, sql: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{sql}",
        sql.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string())
        .unwrap_or_default()
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.contains("Ok.")
}

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
    eprintln!(
        "conformance suite on {base}: {} cases in {:?}",
        n.load(Ordering::Relaxed),
        started.elapsed()
    );
}

/// The same suite against an already running server named by `LLMTRACE_TEST_CLICKHOUSE_URL`
/// (`http://host:port`), e.g. a current ClickHouse release; skipped when unset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_clickhouse_passes_the_conformance_suite() {
    let Ok(base) = std::env::var("LLMTRACE_TEST_CLICKHOUSE_URL") else {
        eprintln!("SKIPPED: LLMTRACE_TEST_CLICKHOUSE_URL is not set");
        return;
    };
    let prefix = format!("ext_{}", std::process::id());
    run_suite(base.trim_end_matches('/'), &prefix).await;
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
    let started = Instant::now();
    let n = AtomicU32::new(0);
    llmtrace_store::testsuite::run_all(|| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        let urls = [
            format!("clickhouse://127.0.0.1:{pa}/c_{i}"),
            format!("clickhouse://127.0.0.1:{pb}/c_{i}"),
        ];
        async move {
            let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
            ClickHouseStore::connect_cluster(&urls, "llm_cluster")
                .await
                .expect("connect cluster")
        }
    })
    .await;
    eprintln!(
        "conformance suite on two shards: {} cases in {:?}",
        n.load(Ordering::Relaxed),
        started.elapsed()
    );
    let count = |port| {
        http_query(port, "SELECT count() FROM c_5.spans_local")
            .parse::<u64>()
            .unwrap_or(0)
    };
    let (on_a, on_b) = (count(pa), count(pb));
    assert!(on_a > 0 && on_b > 0, "spans per shard: {on_a} / {on_b}");
}
