//! A static web server (HTTP/1.1, GET and HEAD) for lab servers such as
//! `www.mastertech.com`: inline pages from the lab file, or the files of a
//! directory. It takes a bound listener and knows nothing of namespaces.
//! Hostile input is capped before it is buffered: request heads at 8 KiB
//! that must arrive whole within 30 s (a client sending a byte now and
//! then cannot hold a connection), 100 requests per connection, and
//! connections at once in all and per client address (the shared accept
//! loop).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::listener::{self, Busy, Gate, Limits};
use super::shutdown::Shutdown;

/// What a site serves.
#[derive(Clone, Debug)]
pub enum Site {
    /// Inline pages by path (`/`, `/about.html`).
    Pages(BTreeMap<String, String>),
    /// Files under a directory (`index.html` for a directory).
    Directory(PathBuf),
}

/// Largest request head (request line and headers) accepted.
pub const MAX_HEAD: usize = 8 * 1024;
/// Largest file served.
const MAX_FILE: u64 = 16 * 1024 * 1024;
/// Requests served on one connection before it is closed.
const MAX_REQUESTS: usize = 100;

/// The web server's limits.
#[derive(Clone)]
pub struct HttpConfig {
    /// Connections at once, in all and from one client address (a quarter:
    /// browsers open about six, so this is room for a whole lab room
    /// behind one address and still leaves three quarters to the others).
    pub connections: Limits,
    /// How long a whole request head may take to arrive: from the accept
    /// for the first request, from the previous response for the next
    /// ones (the keep-alive wait). Total, not per read, so a client that
    /// sends a byte now and then is closed as well (Apache's
    /// mod_reqtimeout allows 20–40 s for a head; nginx 60 s per read).
    pub request_timeout: Duration,
    /// HTTPS (the port is the caller's: 443): the TLS handshake comes
    /// first and counts against `request_timeout`.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connections: Limits {
                max_connections: 256,
                max_per_client: 64,
            },
            request_timeout: Duration::from_secs(30),
            tls: None,
        }
    }
}

/// What a client past a cap is told (RFC 9110 §15.6.4).
const BUSY: Busy = Busy {
    service: "web",
    server_full: "HTTP/1.1 503 Service Unavailable\r\nServer: labctl\r\n\
        Content-Type: text/plain\r\nContent-Length: 38\r\nRetry-After: 5\r\n\
        Connection: close\r\n\r\ntoo many connections, try again later\n",
    client_full: "HTTP/1.1 503 Service Unavailable\r\nServer: labctl\r\n\
        Content-Type: text/plain\r\nContent-Length: 56\r\nRetry-After: 5\r\n\
        Connection: close\r\n\r\ntoo many connections from your address, try again later\n",
};

pub async fn serve(
    listener: TcpListener,
    site: Site,
    config: HttpConfig,
    stop: Shutdown,
) -> Result<()> {
    let site = Arc::new(site);
    let gate = Gate::new(config.connections);
    let HttpConfig {
        connections: _,
        request_timeout,
        tls,
    } = config;
    listener::serve(listener, gate, BUSY, stop, move |stream, _| {
        let site = site.clone();
        let tls = tls.clone();
        async move {
            let Some(acceptor) = tls else {
                let _ = connection(stream, &site, request_timeout).await;
                return;
            };
            let handshake = tokio::time::timeout(request_timeout, acceptor.accept(stream)).await;
            if let Ok(Ok(stream)) = handshake {
                let _ = connection(stream, &site, request_timeout).await;
            }
        }
    })
    .await
}

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub keep_alive: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// More than MAX_HEAD bytes without the blank line.
    TooLarge,
    Malformed(&'static str),
    /// A body is announced (only GET and HEAD are served).
    HasBody,
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    site: &Site,
    request_timeout: Duration,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(1024);
    for _ in 0..MAX_REQUESTS {
        let deadline = Instant::now() + request_timeout;
        let head = match read_head(&mut stream, &mut buffer, deadline).await? {
            HeadRead::Head(head) => head,
            HeadRead::Closed => return Ok(()),
            HeadRead::TooLarge => {
                respond(
                    &mut stream,
                    431,
                    "text/plain",
                    b"request header too large\n",
                    false,
                    false,
                )
                .await?;
                return Ok(());
            }
            HeadRead::TimedOut => {
                respond(
                    &mut stream,
                    408,
                    "text/plain",
                    b"request head not received in time\n",
                    false,
                    false,
                )
                .await?;
                return Ok(());
            }
        };
        let request = match parse_head(&head) {
            Ok(request) => request,
            Err(HeadError::HasBody) => {
                respond(
                    &mut stream,
                    405,
                    "text/plain",
                    b"only GET and HEAD are served\n",
                    false,
                    false,
                )
                .await?;
                return Ok(());
            }
            Err(_) => {
                respond(
                    &mut stream,
                    400,
                    "text/plain",
                    b"bad request\n",
                    false,
                    false,
                )
                .await?;
                return Ok(());
            }
        };
        let head_only = request.method == "HEAD";
        if request.method != "GET" && !head_only {
            respond(
                &mut stream,
                405,
                "text/plain",
                b"only GET and HEAD are served\n",
                head_only,
                request.keep_alive,
            )
            .await?;
        } else {
            match lookup(site, &request.path).await {
                Some((content_type, body)) => {
                    respond(
                        &mut stream,
                        200,
                        content_type,
                        &body,
                        head_only,
                        request.keep_alive,
                    )
                    .await?
                }
                None => {
                    respond(
                        &mut stream,
                        404,
                        "text/html; charset=utf-8",
                        b"<h1>404 Not Found</h1>\n",
                        head_only,
                        request.keep_alive,
                    )
                    .await?
                }
            }
        }
        if !request.keep_alive {
            return Ok(());
        }
    }
    Ok(())
}

/// Where the blank line ending a head is, counting it.
pub fn find_head_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| buffer.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
}

/// What came of waiting for a request head.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadRead {
    /// The head, blank line included; what follows stays in the buffer.
    Head(Vec<u8>),
    /// The client closed, or stayed silent between requests (RFC 9112
    /// §9.8: a client must expect that): close without an answer.
    Closed,
    /// More than `MAX_HEAD` bytes without the blank line (431).
    TooLarge,
    /// Half a head by the deadline (408).
    TimedOut,
}

/// Reads until `buffer` holds a whole head or `deadline` passes; the one
/// head reader of every HTTP service (the static site and webmail).
pub async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    deadline: Instant,
) -> std::io::Result<HeadRead> {
    loop {
        if let Some(end) = find_head_end(buffer) {
            return Ok(HeadRead::Head(buffer.drain(..end).collect()));
        }
        if buffer.len() > MAX_HEAD {
            return Ok(HeadRead::TooLarge);
        }
        let mut chunk = [0u8; 2048];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => return Ok(HeadRead::Closed),
            Err(_) if buffer.is_empty() => return Ok(HeadRead::Closed),
            Err(_) => return Ok(HeadRead::TimedOut),
            Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return Err(e),
        }
    }
}

/// A request head as a service with forms reads it: the method, the path
/// (percent-decoded) and query (as sent), every header, and the body's
/// announced length.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Names in lower case, values trimmed, in order.
    pub headers: Vec<(String, String)>,
    pub keep_alive: bool,
    /// Content-Length (0 without one).
    pub content_length: u64,
    /// A Transfer-Encoding was announced (not served: length only).
    pub transfer_encoding: bool,
}

impl RequestHead {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a request line and headers (RFC 9112) with httparse, then
/// strictly: text only, an upper-case method, HTTP/1.0 or 1.1, an
/// origin-form target, Host on 1.1, one Content-Length of digits.
pub fn parse_request_head(head: &[u8]) -> Result<RequestHead, HeadError> {
    if head.len() > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    std::str::from_utf8(head).map_err(|_| HeadError::Malformed("not text"))?;
    // Room for every line of the head, so no head within MAX_HEAD has too
    // many headers: the limit is the size.
    let lines = memchr::memchr_iter(b'\n', head).count();
    let mut headers = vec![httparse::EMPTY_HEADER; lines];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Malformed("incomplete")),
        Err(e) => return Err(HeadError::Malformed(what_is_malformed(e))),
    }
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(HeadError::Malformed("request line"));
    };
    if !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HeadError::Malformed("method"));
    }
    let http11 = version == 1;
    if !target.starts_with('/') {
        return Err(HeadError::Malformed("target"));
    }
    let mut keep_alive = http11;
    let mut has_host = false;
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = false;
    let mut fields = Vec::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        let value = std::str::from_utf8(header.value)
            .map_err(|_| HeadError::Malformed("not text"))?
            .trim();
        let name = header.name.to_ascii_lowercase();
        match name.as_str() {
            "host" => has_host = true,
            "connection" if value.eq_ignore_ascii_case("close") => keep_alive = false,
            "connection" if value.eq_ignore_ascii_case("keep-alive") => keep_alive = true,
            "content-length" => {
                let length = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| value.parse::<u64>().ok())
                    .flatten()
                    .ok_or(HeadError::Malformed("content-length"))?;
                // Two different lengths are a smuggling attempt (RFC 9112 §6.3).
                if content_length.is_some_and(|l| l != length) {
                    return Err(HeadError::Malformed("content-length"));
                }
                content_length = Some(length);
            }
            "transfer-encoding" => transfer_encoding = true,
            _ => {}
        }
        fields.push((name, value.to_string()));
    }
    if http11 && !has_host {
        return Err(HeadError::Malformed("HTTP/1.1 without Host"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.split('#').next().unwrap_or("/");
    let query = query.split('#').next().unwrap_or("");
    Ok(RequestHead {
        method: method.to_string(),
        path: percent_decode(path).ok_or(HeadError::Malformed("escape"))?,
        query: query.to_string(),
        headers: fields,
        keep_alive,
        content_length: content_length.unwrap_or(0),
        transfer_encoding,
    })
}

/// The head of a request to the static site, which has no body.
pub fn parse_head(head: &[u8]) -> Result<Request, HeadError> {
    let head = parse_request_head(head)?;
    if head.content_length > 0 || head.transfer_encoding {
        return Err(HeadError::HasBody);
    }
    Ok(Request {
        method: head.method,
        path: head.path,
        keep_alive: head.keep_alive,
    })
}

/// Which part of the head httparse found wrong.
fn what_is_malformed(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::Version => "version",
        httparse::Error::HeaderName => "header name",
        httparse::Error::HeaderValue => "header value",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Token | httparse::Error::NewLine | httparse::Error::Status => {
            "request line"
        }
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).ok()?;
    (!decoded.contains('\0')).then_some(decoded)
}

/// The page at `path`: its content type and bytes. Files are read
/// synchronously: they are small and local, and the cap bounds the wait.
async fn lookup(site: &Site, path: &str) -> Option<(&'static str, Vec<u8>)> {
    match site {
        Site::Pages(pages) => {
            let found = pages.get(path).or_else(|| match path {
                "/index.html" => pages.get("/"),
                "/" => pages.get("/index.html"),
                _ => None,
            })?;
            let content_type = if path == "/" {
                "text/html; charset=utf-8"
            } else {
                content_type(path)
            };
            Some((content_type, found.clone().into_bytes()))
        }
        Site::Directory(root) => {
            let file = safe_join(root, path)?;
            let file = if std::fs::metadata(&file).ok()?.is_dir() {
                file.join("index.html")
            } else {
                file
            };
            // Symbolic links must not lead out of the root.
            let real = std::fs::canonicalize(&file).ok()?;
            let real_root = std::fs::canonicalize(root).ok()?;
            if !real.starts_with(&real_root) {
                return None;
            }
            let meta = std::fs::metadata(&real).ok()?;
            if !meta.is_file() || meta.len() > MAX_FILE {
                return None;
            }
            let body = std::fs::read(&real).ok()?;
            Some((content_type(&real.to_string_lossy()), body))
        }
    }
}

/// `root` joined with a request path, refusing anything that climbs out.
fn safe_join(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    let mut out = root.to_path_buf();
    for component in relative.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn content_type(path: &str) -> &'static str {
    let extension = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css",
        "js" => "text/javascript",
        "txt" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    content_type: &str,
    body: &[u8],
    head_only: bool,
    keep_alive: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nServer: labctl\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {}\r\n",
        reason(status),
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    if status == 405 {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    stream.write_all(&out).await?;
    stream.flush().await
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
