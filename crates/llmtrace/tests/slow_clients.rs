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

#[test]
fn slow_and_idle_clients_neither_block_others_nor_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let a = addr(&server);
    let mut held: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(&a).unwrap()).collect();
    held.extend((0..50).map(|_| half_header(&a)));

    // A normal client is answered while they are all connected.
    let (code, body) = server.get_json("/api/traces");
    assert_eq!(code, 200, "{body}");

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
    server.stop_within(Duration::from_secs(20));
    drop(held);
}
