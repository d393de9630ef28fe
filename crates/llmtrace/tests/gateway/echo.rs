//! The echo upstream: records each request the gateway forwards, answers a fixed
//! provider-shaped JSON body.

use crate::support::header;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// The echo upstream: records each request, answers a fixed provider-shaped JSON body.

#[derive(Debug, Clone)]
pub(crate) struct Forwarded {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

pub(crate) struct Echo {
    pub(crate) url: String,
    pub(crate) seen: Arc<Mutex<Vec<Forwarded>>>,
}

/// What the echo upstream answers on `/…/v1/messages` (Anthropic's shape) and elsewhere (an
/// OpenAI chat completion).
pub(crate) fn echo_answer(target: &str) -> Value {
    if target.split('?').next().unwrap().ends_with("/v1/messages") {
        json!({"id": "msg_echo", "type": "message", "role": "assistant",
               "model": "claude-sonnet-4-6", "stop_reason": "end_turn", "stop_sequence": null,
               "content": [{"type": "text", "text": "echo"}],
               "usage": {"input_tokens": 3, "output_tokens": 1}})
    } else {
        json!({"id": "chatcmpl-echo", "object": "chat.completion", "created": 1764000000,
               "model": "gpt-4o-2024-08-06",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "echo"},
                            "finish_reason": "stop", "logprobs": null}],
               "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
    }
}

impl Echo {
    pub(crate) fn start() -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(req) = read_request(&stream) {
                    let body = echo_answer(&req.target).to_string();
                    log.lock().unwrap().push(req);
                    let mut out = &stream;
                    let _ = write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Echo: yes\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            }
        });
        Echo { url, seen }
    }

    pub(crate) fn take(&self) -> Vec<Forwarded> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// One HTTP/1.1 request (body by `Content-Length` or chunked).
pub(crate) fn read_request(mut stream: &TcpStream) -> Option<Forwarded> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut rest = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut more = |rest: &mut Vec<u8>| -> Option<()> {
        let n = stream.read(&mut chunk).ok()?;
        (n > 0).then(|| rest.extend_from_slice(&chunk[..n]))
    };
    let body = if let Some(len) = header(&headers, "content-length") {
        let len: usize = len.parse().ok()?;
        while rest.len() < len {
            more(&mut rest)?;
        }
        rest[..len].to_vec()
    } else if header(&headers, "transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                more(&mut rest)?;
            };
            let size_text = String::from_utf8_lossy(&rest[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            while rest.len() < line_end + 2 + size + 2 {
                more(&mut rest)?;
            }
            body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break body;
            }
        }
    } else {
        Vec::new()
    };
    Some(Forwarded {
        method,
        target,
        headers,
        body,
    })
}
