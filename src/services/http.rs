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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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
#[derive(Clone, Copy, Debug)]
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
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connections: Limits {
                max_connections: 256,
                max_per_client: 64,
            },
            request_timeout: Duration::from_secs(30),
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
    listener::serve(listener, gate, BUSY, stop, |stream, _| {
        let site = site.clone();
        async move {
            let _ = connection(stream, &site, config.request_timeout).await;
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

async fn connection(
    mut stream: TcpStream,
    site: &Site,
    request_timeout: Duration,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(1024);
    for _ in 0..MAX_REQUESTS {
        let deadline = Instant::now() + request_timeout;
        let head = loop {
            if let Some(end) = find_head_end(&buffer) {
                let head: Vec<u8> = buffer.drain(..end).collect();
                break head;
            }
            if buffer.len() > MAX_HEAD {
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
            let mut chunk = [0u8; 2048];
            let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await;
            match read {
                Ok(Ok(0)) => return Ok(()),
                // Silence between requests just closes (RFC 9112 §9.8: a
                // client must expect that); half a head gets a 408.
                Err(_) if buffer.is_empty() => return Ok(()),
                Err(_) => {
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
                Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => return Err(e),
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
fn find_head_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| buffer.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
}

/// Parses a request line and headers (RFC 9112), strictly.
pub fn parse_head(head: &[u8]) -> Result<Request, HeadError> {
    if head.len() > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let text = std::str::from_utf8(head).map_err(|_| HeadError::Malformed("not text"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or(HeadError::Malformed("empty"))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed("request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HeadError::Malformed("method"));
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(HeadError::Malformed("version")),
    };
    if !target.starts_with('/') {
        return Err(HeadError::Malformed("target"));
    }
    let mut keep_alive = http11;
    let mut has_host = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(HeadError::Malformed("header"))?;
        if name.is_empty() || name.contains(|c: char| c.is_whitespace()) {
            return Err(HeadError::Malformed("header name"));
        }
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "host" => has_host = true,
            "connection" if value.eq_ignore_ascii_case("close") => keep_alive = false,
            "connection" if value.eq_ignore_ascii_case("keep-alive") => keep_alive = true,
            "content-length" if value != "0" => return Err(HeadError::HasBody),
            "transfer-encoding" => return Err(HeadError::HasBody),
            _ => {}
        }
    }
    if http11 && !has_host {
        return Err(HeadError::Malformed("HTTP/1.1 without Host"));
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    Ok(Request {
        method: method.to_string(),
        path: percent_decode(path).ok_or(HeadError::Malformed("escape"))?,
        keep_alive,
    })
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

async fn respond(
    stream: &mut TcpStream,
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
mod tests {
    use super::*;
    use crate::services::shutdown::ShutdownTrigger;

    #[test]
    fn parses_strictly() {
        let r = parse_head(b"GET /a%20b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(
            r,
            Request {
                method: "GET".into(),
                path: "/a b".into(),
                keep_alive: true
            }
        );
        let r = parse_head(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(!r.keep_alive);
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\n\r\n"),
            Err(HeadError::Malformed("HTTP/1.1 without Host"))
        );
        assert_eq!(
            parse_head(b"GET / HTTP/2\r\nHost: x\r\n\r\n"),
            Err(HeadError::Malformed("version"))
        );
        assert_eq!(
            parse_head(b"GET  / HTTP/1.1\r\n\r\n"),
            Err(HeadError::Malformed("request line"))
        );
        assert_eq!(
            parse_head(b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"),
            Err(HeadError::Malformed("target"))
        );
        assert_eq!(
            parse_head(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"),
            Err(HeadError::HasBody)
        );
        assert_eq!(
            parse_head(b"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n"),
            Err(HeadError::Malformed("escape"))
        );
        assert_eq!(
            parse_head(b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
            Err(HeadError::Malformed("escape"))
        );
    }

    /// Serves `site` on 127.0.0.1 (an ephemeral port) on its own thread.
    fn serve_site(site: Site) -> (u16, ShutdownTrigger) {
        serve_site_with(site, HttpConfig::default())
    }

    fn serve_site_with(site: Site, config: HttpConfig) -> (u16, ShutdownTrigger) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = ShutdownTrigger::new();
        let stopped = stop.subscribe();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                serve(listener, site, config, stopped).await.unwrap();
            });
        });
        (port, stop)
    }

    fn curl(args: &[&str]) -> String {
        let out = std::process::Command::new("curl")
            .args(["-s", "-S", "--max-time", "5"])
            .args(args)
            .output()
            .expect("curl runs (apt-get install curl)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// curl (a real HTTP client) against inline pages: GET, HEAD, 404,
    /// 405, several requests on one kept-alive connection.
    #[test]
    fn curl_fetches_inline_pages() {
        let pages = BTreeMap::from([
            ("/".to_string(), "<h1>MasterTech</h1>".to_string()),
            ("/about.txt".to_string(), "about us".to_string()),
        ]);
        let (port, _stop) = serve_site(Site::Pages(pages));
        let base = format!("http://127.0.0.1:{port}");
        let out = curl(&["-i", &format!("{base}/")]);
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(
            out.contains("Content-Type: text/html; charset=utf-8"),
            "{out}"
        );
        assert!(out.ends_with("<h1>MasterTech</h1>"), "{out}");
        let out = curl(&[
            "-w",
            "%{http_code} %{num_connects}\\n",
            &format!("{base}/about.txt"),
            &format!("{base}/index.html"),
            &format!("{base}/nope"),
        ]);
        assert!(out.contains("about us200 1"), "{out}");
        assert!(
            out.contains("<h1>MasterTech</h1>200 0"),
            "one connection for all: {out}"
        );
        assert!(out.contains("404 0"), "{out}");
        let out = curl(&["-I", &format!("{base}/")]);
        assert!(out.contains("Content-Length: 19"), "{out}");
        let out = curl(&["-i", "-X", "DELETE", &format!("{base}/")]);
        assert!(out.starts_with("HTTP/1.1 405"), "{out}");
        assert!(out.contains("Allow: GET, HEAD"), "{out}");
    }

    /// A directory site: index.html, files, and no way out of the root
    /// (`..`, encoded `..`, a symbolic link pointing outside).
    #[test]
    fn a_directory_site_keeps_to_its_root() {
        let dir = std::env::temp_dir().join(format!("labctl-web-{}", std::process::id()));
        let site = dir.join("site");
        std::fs::create_dir_all(site.join("docs")).unwrap();
        std::fs::write(site.join("index.html"), "home").unwrap();
        std::fs::write(site.join("docs/index.html"), "docs home").unwrap();
        std::fs::write(dir.join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.join("secret.txt"), site.join("link.txt")).unwrap();
        let (port, _stop) = serve_site(Site::Directory(site.clone()));
        let base = format!("http://127.0.0.1:{port}");
        assert_eq!(curl(&[&format!("{base}/")]), "home");
        assert_eq!(curl(&[&format!("{base}/docs/")]), "docs home");
        for path in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/link.txt",
            "/docs/../../secret.txt",
        ] {
            let out = curl(&[
                "--path-as-is",
                "-w",
                " %{http_code}",
                &format!("{base}{path}"),
            ]);
            assert!(!out.contains("secret"), "{path}: {out}");
            assert!(
                out.ends_with(" 404") || out.ends_with(" 400"),
                "{path}: {out}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Hostile input: a head that never ends gets 431 and the connection
    /// closes; garbage gets 400.
    #[test]
    fn hostile_requests_are_answered_and_closed() {
        use std::io::{Read, Write};
        let (port, _stop) = serve_site(Site::Pages(BTreeMap::from([(
            "/".to_string(),
            "x".to_string(),
        )])));
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.write_all(&vec![b'a'; MAX_HEAD * 2]);
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(b"\x00\xff garbage\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }

    fn one_page() -> Site {
        Site::Pages(BTreeMap::from([("/".to_string(), "x".to_string())]))
    }

    /// curl from `from` (an address of 127/8): its exit status, and the
    /// body with the status code after it.
    fn curl_from(from: &str, url: &str) -> (bool, String) {
        let out = std::process::Command::new("curl")
            .args(["-s", "-S", "--max-time", "5", "--interface", from])
            .args(["-w", " %{http_code}", url])
            .output()
            .expect("curl runs (apt-get install curl)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "curl: {stderr}");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// A kept-alive connection from 127.0.0.1 that has had one answer (so
    /// the server has certainly admitted it).
    fn held_connection(port: u16) -> std::net::TcpStream {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 1024];
        while !answer.ends_with(b"\r\n\r\nx") {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&chunk[..n]);
        }
        stream
    }

    /// With a per-client cap of 3, a fourth and fifth connection from
    /// 127.0.0.1 get a 503 that curl reads whole, while 127.0.0.2 is
    /// served; a connection given back makes room again.
    #[test]
    fn one_address_cannot_take_every_connection() {
        let mut config = HttpConfig::default();
        config.connections.max_per_client = 3;
        let (port, _stop) = serve_site_with(one_page(), config);
        let url = format!("http://127.0.0.1:{port}/");
        let mut held: Vec<_> = (0..3).map(|_| held_connection(port)).collect();
        for _ in 0..2 {
            assert_eq!(
                curl_from("127.0.0.1", &url),
                (
                    true,
                    "too many connections from your address, try again later\n 503".into()
                )
            );
        }
        assert_eq!(curl_from("127.0.0.2", &url), (true, "x 200".into()));
        drop(held.pop());
        let served = (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            curl_from("127.0.0.1", &url).1 == "x 200"
        });
        assert!(served, "the slot was not given back");
    }

    /// A connection that sends nothing is closed without a word once the
    /// request timeout is over; one that sends its head a byte at a time
    /// gets a 408 at the same deadline, however often it sends.
    #[test]
    fn slow_and_silent_clients_are_closed_at_the_request_timeout() {
        use std::io::{Read, Write};
        let config = HttpConfig {
            request_timeout: Duration::from_millis(300),
            ..HttpConfig::default()
        };
        let (port, _stop) = serve_site_with(one_page(), config);
        let started = std::time::Instant::now();
        let mut silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        silent
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = Vec::new();
        silent.read_to_end(&mut answer).unwrap();
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        assert!(started.elapsed() < Duration::from_secs(3));

        let started = std::time::Instant::now();
        let mut slow = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        slow.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 1024];
        while started.elapsed() < Duration::from_secs(3) {
            match slow.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
                Err(_) if answer.is_empty() => {
                    let _ = slow.write_all(b"a");
                }
                Err(e) => panic!("{e}"),
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 408 Request Timeout"),
            "{answer}"
        );
        assert!(answer.contains("Connection: close"), "{answer}");
    }

    #[test]
    fn never_leaves_the_root() {
        let root = Path::new("/srv/site");
        assert_eq!(
            safe_join(root, "/a/b.html"),
            Some(PathBuf::from("/srv/site/a/b.html"))
        );
        assert_eq!(safe_join(root, "/../etc/passwd"), None);
        assert_eq!(safe_join(root, "/a/../../x"), None);
    }
}
