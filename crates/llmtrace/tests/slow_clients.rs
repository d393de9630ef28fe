//! Slow and idle clients against the real binary: a client that sends half a request header
//! and goes silent is dropped (header-read timeout), hundreds of idle and slow connections do
//! not stop a normal client from being answered, and SIGTERM still exits promptly while they
//! stay connected.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn addr(server: &Server) -> String {
    server.http.trim_start_matches("http://").to_string()
}

/// Opens a connection that sends the start of a request header and nothing more.
fn half_header(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /api/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap();
    s
}

/// Raises this process's soft open-file limit to its hard limit (2,000 sockets need it).
fn raise_fd_limit() {
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

/// One `GET /api/traces` over a fresh connection: its status and how long the answer took.
fn timed_get(addr: &str) -> (u16, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /api/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, started.elapsed())
}

#[test]
fn slow_and_idle_clients_neither_block_others_nor_shutdown() {
    raise_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let a = addr(&server);
    // 2,000 idle connections, and 50 that send their header one byte a second.
    let mut held: Vec<TcpStream> = (0..2000).map(|_| TcpStream::connect(&a).unwrap()).collect();
    let dripping: Vec<TcpStream> = (0..50).map(|_| half_header(&a)).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drip = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut dripping = dripping;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for s in &mut dripping {
                    let _ = s.write_all(b"x");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };

    // A normal client is answered while they are all connected.
    let (code, body) = server.get_json("/api/traces");
    assert_eq!(code, 200, "{body}");
    let mut latencies: Vec<Duration> = (0..20)
        .map(|_| {
            let (code, took) = timed_get(&a);
            assert_eq!(code, 200);
            took
        })
        .collect();
    latencies.sort();
    eprintln!(
        "slow-client probe: 2000 idle + 50 dripping connections; /api/traces median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );

    // A client stuck in its header is dropped by the server (10 s header-read timeout): the
    // connection reads end-of-stream instead of blocking forever.
    let mut stuck = half_header(&a);
    stuck
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = loop {
        match stuck.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    assert!(
        closed,
        "a half-sent header held its connection for {:?}",
        started.elapsed()
    );

    // SIGTERM exits while the idle and slow connections are still open (without a shutdown
    // deadline it waited for them indefinitely).
    let stopping = Instant::now();
    server.stop_within(Duration::from_secs(20));
    eprintln!(
        "slow-client probe: SIGTERM to exit {:?}",
        stopping.elapsed()
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = drip.join();
    held.clear();
}
