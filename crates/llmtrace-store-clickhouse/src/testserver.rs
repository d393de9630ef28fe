//! Starting real `clickhouse-server` processes for tests (feature `testserver`): one node, a
//! two-shard cluster, or two shards of two replicas each with a ZooKeeper (Debian's `zookeeper`
//! package, run with `java`), on free loopback ports with temporary data dirs and generated
//! configs. Without `clickhouse-server` (or ZooKeeper) installed, the starters return `None`
//! after printing why (and panic when `CI` is set, where a missing service is a failure).

#![allow(missing_docs, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `clickhouse-server` process, stopped on drop.
pub struct Server {
    child: Child,
    /// HTTP port.
    pub http_port: u16,
    /// Native TCP port.
    pub tcp_port: u16,
    bin: PathBuf,
    config: PathBuf,
    /// Data dir, removed after the server stopped (fields drop after `Drop::drop`).
    _dir: Arc<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
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

pub fn free_port() -> u16 {
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
        missing(
            "clickhouse-server is not installed (apt-get install -y --no-install-recommends \
             clickhouse-server clickhouse-client)",
        );
    }
    bin
}

/// Reports a missing service: a failure when `CI` is set, else a printed skip.
fn missing(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
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
        tcp_port: tcp,
        bin: bin.to_path_buf(),
        config: config.clone(),
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
pub fn start_server() -> Option<Server> {
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
pub fn start_cluster() -> Option<(Server, Server)> {
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

/// A ZooKeeper server (Debian's `zookeeper` package, standalone), stopped on drop.
pub struct ZooKeeper {
    child: Child,
    /// Client port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ZooKeeper jar of Debian's `zookeeper` package.
const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";

/// Starts a standalone ZooKeeper on a free port, or explains why not (`None`).
pub fn start_zookeeper() -> Option<ZooKeeper> {
    let java = Path::new("/usr/bin/java");
    if !Path::new(ZOOKEEPER_JAR).is_file() || !java.is_file() {
        missing(
            "ZooKeeper is not installed (apt-get install -y --no-install-recommends zookeeper)",
        );
        return None;
    }
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\nmaxClientCnxns=0\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("zookeeper.log")).unwrap();
        let mut child = Command::new(java)
            .args(["-Xmx256m", "-cp", ZOOKEEPER_JAR])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if zookeeper_answers(port) {
                return Some(ZooKeeper {
                    child,
                    port,
                    _dir: dir,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        let log = std::fs::read_to_string(dir.path().join("zookeeper.log")).unwrap_or_default();
        eprintln!("zookeeper on {port} did not become ready:\n{log}");
    }
    panic!("zookeeper did not start");
}

/// Whether a ZooKeeper listens on `port` (the `srvr` four-letter command answers; it is on
/// ZooKeeper's default whitelist).
fn zookeeper_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"srvr").is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.contains("Mode:")
}

/// Two shards of two replicas each (`llm_cluster`, `internal_replication`), replicated through
/// one ZooKeeper. `nodes` are shard 1 replica 1, shard 1 replica 2, shard 2 replica 1, shard 2
/// replica 2; each has the macros `shard` (`s1`, `s2`) and `replica` (`r1`, `r2`).
pub struct ReplicatedCluster {
    /// The four servers (dropped before the ZooKeeper: fields drop in order).
    pub nodes: Vec<Server>,
    /// The ZooKeeper they share.
    pub zookeeper: ZooKeeper,
}

/// Starts [`ReplicatedCluster`], or explains why not (`None`).
pub fn start_replicated_cluster() -> Option<ReplicatedCluster> {
    let bin = server_binary()?;
    let zookeeper = start_zookeeper()?;
    'attempt: for _ in 0..3 {
        // (http, tcp, interserver) per node.
        let ports: Vec<[u16; 3]> = (0..4)
            .map(|_| [free_port(), free_port(), free_port()])
            .collect();
        let mut nodes = Vec::new();
        for (i, &[http, tcp, _]) in ports.iter().enumerate() {
            let xml = replicated_node_config(&ports, i, zookeeper.port);
            match spawn(&bin, http, tcp, Some(&xml)) {
                Some(s) => nodes.push(s),
                None => continue 'attempt,
            }
        }
        return Some(ReplicatedCluster { nodes, zookeeper });
    }
    panic!("replicated clickhouse cluster did not start");
}

/// The documented configuration of node `i` of the two-by-two cluster
/// (`deploy/clickhouse/cluster-2x2-replicated.xml` and the node's version of `macros-ch1.xml`),
/// with the hosts `ch1`..`ch4` made loopback servers on `ports` (http, tcp, interserver) and
/// one ZooKeeper on `zookeeper`.
fn replicated_node_config(ports: &[[u16; 3]], i: usize, zookeeper: u16) -> String {
    const CLUSTER: &str = include_str!("../../../deploy/clickhouse/cluster-2x2-replicated.xml");
    const MACROS: &str = include_str!("../../../deploy/clickhouse/macros-ch1.xml");
    // Both files are `<yandex>` documents: the generated one holds both bodies.
    let body = |xml: &str| {
        let start = xml.find("<yandex>").map_or(0, |p| p + "<yandex>".len());
        let end = xml.rfind("</yandex>").unwrap_or(xml.len());
        xml[start..end].to_string()
    };
    let mut cluster = CLUSTER.to_string();
    for (n, [_, tcp, _]) in ports.iter().enumerate() {
        cluster = cluster.replace(
            &format!("<host>ch{}</host><port>9000</port>", n + 1),
            &format!("<host>127.0.0.1</host><port>{tcp}</port>"),
        );
    }
    let keeper = |n: usize| format!("<node><host>ch{n}</host><port>9181</port></node>");
    cluster = cluster
        .replacen(
            &keeper(1),
            &format!("<node><host>127.0.0.1</host><port>{zookeeper}</port></node>"),
            1,
        )
        .replacen(&keeper(2), "", 1)
        .replacen(&keeper(3), "", 1)
        .replace(
            "<interserver_http_port>9009</interserver_http_port>",
            &format!(
                "<interserver_http_port>{}</interserver_http_port>",
                ports[i][2]
            ),
        );
    let cluster = body(&cluster);
    assert!(
        !cluster.contains("<host>ch") && !cluster.contains(">9000<") && !cluster.contains(">9009<"),
        "the deploy file changed shape:\n{cluster}"
    );
    let macros = MACROS
        .replace(
            "<shard>s1</shard>",
            &format!("<shard>s{}</shard>", i / 2 + 1),
        )
        .replace(
            "<replica>r1</replica>",
            &format!("<replica>r{}</replica>", i % 2 + 1),
        )
        .replace(
            "<interserver_http_host>ch1</interserver_http_host>",
            "<interserver_http_host>127.0.0.1</interserver_http_host>",
        );
    format!(
        "<?xml version=\"1.0\"?>\n<yandex>{cluster}{}</yandex>\n",
        body(&macros)
    )
}

/// Runs a query over HTTP and returns the answer's body.
pub fn http_query(port: u16, sql: &str) -> String {
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

pub fn ping(port: u16) -> bool {
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

impl Server {
    /// `http://127.0.0.1:<http port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same ports and data dir, and waits until it answers.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self._dir.path().join("log/stdout.log"))
            .unwrap();
        self.child = Command::new(&self.bin)
            .arg(format!("--config-file={}", self.config.display()))
            .current_dir(self._dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if ping(self.http_port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("clickhouse-server did not come back on {}", self.http_port);
    }
}
