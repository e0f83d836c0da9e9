//! The web server against curl on 127.0.0.1, raw sockets for hostile and
//! slow clients, and the head parser on its own.

use super::*;
use crate::services::shutdown::ShutdownTrigger;
use crate::services::test_thread::serve_on_own_thread;

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

/// The size is the limit, not the number of headers: a head of 8 KiB
/// made of tiny headers parses, bare LF line ends included; a header
/// line without a colon is malformed.
#[test]
fn the_head_size_is_the_only_limit_on_headers() {
    let mut head = b"GET / HTTP/1.1\nHost: x\n".to_vec();
    while head.len() + 5 < MAX_HEAD {
        head.extend_from_slice(b"a:b\n");
    }
    head.push(b'\n');
    let r = parse_head(&head).unwrap();
    assert_eq!((r.path.as_str(), r.keep_alive), ("/", true));
    assert_eq!(
        parse_head(b"GET / HTTP/1.1\r\nHost x\r\n\r\n"),
        Err(HeadError::Malformed("header name"))
    );
}

/// Serves `site` on 127.0.0.1 (an ephemeral port) on its own thread.
fn serve_site(site: Site) -> (u16, ShutdownTrigger) {
    serve_site_with(site, HttpConfig::default())
}

fn serve_site_with(site: Site, config: HttpConfig) -> (u16, ShutdownTrigger) {
    let stop = ShutdownTrigger::new();
    let stopped = stop.subscribe();
    let address = serve_on_own_thread(move |listener| async move {
        serve(listener, site, config, stopped).await.unwrap();
    });
    (address.port(), stop)
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
