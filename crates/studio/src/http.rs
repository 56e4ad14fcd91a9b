//! A deliberately small HTTP/1.1 subset on std sockets: one request per connection (`Connection: close`),
//! bodies only with `Content-Length` and bounded before a byte of them is read, headers bounded too.
//! Anything outside this subset is refused with a 4xx/5xx status rather than guessed at.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Longest request line plus headers accepted.
pub const MAX_HEAD: usize = 16 * 1024;

/// A parsed request. `path` is the raw (still percent-encoded) path: routes match it literally, so an
/// encoded `..` or `/` can never reach a file name.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// The `Host` header, lower-cased, when sent.
    pub host: Option<String>,
    /// The `Content-Type` header, lower-cased, when sent.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A response; always sent with `Connection: close`.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type,
            body,
            headers: Vec::new(),
        }
    }
    pub fn json(v: &serde_json::Value) -> Response {
        Response::new(200, "application/json", v.to_string().into_bytes())
    }
    pub fn png(bytes: Vec<u8>) -> Response {
        Response::new(200, "image/png", bytes)
    }
    /// An error as `{"error": message}`.
    pub fn error(status: u16, msg: impl std::fmt::Display) -> Response {
        Response::new(
            status,
            "application/json",
            serde_json::json!({ "error": msg.to_string() })
                .to_string()
                .into_bytes(),
        )
    }
    pub fn with_header(mut self, k: &'static str, v: impl Into<String>) -> Response {
        self.headers.push((k, v.into()));
        self
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Why a request could not be read; each maps to the status answered (or to silence for a closed peer).
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed or timed out before sending a request: nothing is answered.
    Gone,
    /// Answer with this status and message, then close.
    Status(u16, String),
}

fn bad(msg: impl Into<String>) -> ReadError {
    ReadError::Status(400, msg.into())
}

/// Reads one request from `stream`, refusing bodies over `max_body` bytes (413) before reading them.
pub fn read_request(stream: &TcpStream, max_body: usize) -> Result<Request, ReadError> {
    let mut reader = BufReader::new(stream.take((MAX_HEAD + max_body + 1) as u64));
    let mut head = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader
            .by_ref()
            .take((MAX_HEAD + 1 - head.len().min(MAX_HEAD)) as u64)
            .read_until(b'\n', &mut line);
        match n {
            Ok(0) if lines.is_empty() => return Err(ReadError::Gone),
            Ok(0) => return Err(bad("the request ended inside its headers")),
            Ok(_) => {}
            Err(_) if lines.is_empty() => return Err(ReadError::Gone),
            Err(_) => {
                return Err(ReadError::Status(
                    408,
                    "timed out reading the request".into(),
                ))
            }
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD {
            return Err(ReadError::Status(431, "request headers too large".into()));
        }
        if !line.ends_with(b"\n") {
            return Err(bad("the request ended inside its headers"));
        }
        let text = String::from_utf8(line).map_err(|_| bad("request headers are not UTF-8"))?;
        let text = text.trim_end_matches(['\r', '\n']).to_string();
        if text.is_empty() {
            if lines.is_empty() {
                continue; // tolerate a stray blank line before the request line
            }
            break;
        }
        lines.push(text);
    }
    let mut parts = lines[0].split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(bad("malformed request line")),
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Status(505, "only HTTP/1.x is served".into()));
    }
    if !method.bytes().all(|b| b.is_ascii_uppercase()) || method.is_empty() {
        return Err(bad("malformed method"));
    }
    if !target.starts_with('/') {
        return Err(bad("the request target must be a path"));
    }
    if target.len() > 4096 {
        return Err(ReadError::Status(414, "request target too long".into()));
    }
    let mut content_length: Option<usize> = None;
    let (mut host, mut content_type) = (None, None);
    for h in &lines[1..] {
        let (k, v) = h.split_once(':').ok_or_else(|| bad("malformed header"))?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        match k.as_str() {
            "content-length" => {
                let n: usize = v.parse().map_err(|_| bad("malformed Content-Length"))?;
                if content_length.is_some_and(|c| c != n) {
                    return Err(bad("conflicting Content-Length headers"));
                }
                content_length = Some(n);
            }
            "host" => host = Some(v.to_ascii_lowercase()),
            "content-type" => content_type = Some(v.to_ascii_lowercase()),
            "transfer-encoding" => {
                return Err(ReadError::Status(
                    411,
                    "send the body with a Content-Length".into(),
                ))
            }
            _ => {}
        }
    }
    let len = content_length.unwrap_or(0);
    if len > max_body {
        return Err(ReadError::Status(
            413,
            format!("request body of {len} bytes is over the {max_body}-byte limit"),
        ));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).map_err(|_| {
        ReadError::Status(
            400,
            "the request body is shorter than its Content-Length".into(),
        )
    })?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, parse_query(q)?),
        None => (target, Vec::new()),
    };
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query,
        host,
        content_type,
        body,
    })
}

/// `a=1&b=x%20y` (form encoding: `+` is a space), each key and value percent-decoded to UTF-8.
pub fn parse_query(q: &str) -> Result<Vec<(String, String)>, ReadError> {
    let mut out = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((percent_decode(k)?, percent_decode(v)?));
    }
    Ok(out)
}

pub fn percent_decode(s: &str) -> Result<String, ReadError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(hex.ok_or_else(|| bad("malformed percent-encoding"))?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad("query is not UTF-8"))
}

/// Writes `r` and closes the sending side. After an error answered before the body was read, the rest of
/// what the client sends is drained briefly so that closing does not reset the connection under the reply.
pub fn write_response(stream: &mut TcpStream, r: &Response, drain: bool) {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(&r.body))
        .and_then(|_| stream.flush());
    let _ = stream.shutdown(std::net::Shutdown::Write);
    if drain {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 16 * 1024];
        let mut total = 0usize;
        while let Ok(n) = stream.read(&mut buf) {
            total += n;
            if n == 0 || total > 64 * 1024 * 1024 {
                break;
            }
        }
    }
}

/// Whether the peer has closed its side (a read would return end-of-file), without consuming anything.
pub fn peer_closed(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut b = [0u8; 1];
    let closed = match stream.peek(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    };
    let _ = stream.set_nonblocking(false);
    closed
}
