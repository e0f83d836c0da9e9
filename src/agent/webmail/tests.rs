//! Webmail on 127.0.0.1 against the project's own mail servers on
//! ephemeral ports: log in through the form (session cookie and CSRF
//! token), list, read, download an attachment, send with an upload, move
//! to a new folder; a form without its token is refused; a wrong password
//! shows the IMAP server's reason.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::client::log_in;
use super::*;
use crate::agent::http::{Response, request};
use crate::services::mail::test_support::{MailServer, Options};
use crate::services::shutdown::ShutdownTrigger;

const TIMEOUT: Duration = Duration::from_secs(10);

struct Running {
    mail: MailServer,
    web: SocketAddr,
    _stop: ShutdownTrigger,
}

async fn start() -> Running {
    start_with(Options::default(), false).await
}

/// Webmail in front of a mail server with `options`; `trusting`: with the
/// server's test CA (as a lab with a CA gives it).
async fn start_with(options: Options, trusting: bool) -> Running {
    let mail = MailServer::start(options).await;
    let mut config = WebmailConfig::new("webmail", "127.0.0.1", "mt.com", "unused");
    config.server.imap_port = mail.imap.port();
    config.server.submission_port = mail.submission.port();
    if trusting {
        config.server.tls = mail.implicit.as_ref().map(|i| i.connector.clone());
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = listener.local_addr().unwrap();
    let stop = ShutdownTrigger::new();
    tokio::spawn(serve(
        listener,
        config,
        NodeLog::discard(),
        stop.subscribe(),
    ));
    Running {
        mail,
        web,
        _stop: stop,
    }
}

async fn connect(web: SocketAddr) -> Result<TcpStream, String> {
    TcpStream::connect(web).await.map_err(|e| e.to_string())
}

async fn get(web: SocketAddr, cookie: &str, path: &str) -> Response {
    request(
        connect(web).await.unwrap(),
        "GET",
        "webmail",
        path,
        &[("Cookie", cookie)],
        None,
        TIMEOUT,
    )
    .await
    .unwrap()
}

async fn post(web: SocketAddr, cookie: &str, path: &str, form: &[(&str, &str)]) -> Response {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    request(
        connect(web).await.unwrap(),
        "POST",
        "webmail",
        path,
        &[("Cookie", cookie)],
        Some(&body),
        TIMEOUT,
    )
    .await
    .unwrap()
}

fn text(response: &Response) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 32].to_string()
}

#[tokio::test]
async fn logs_in_lists_reads_downloads_and_moves() {
    let running = start().await;
    let web = running.web;
    running
        .mail
        .store
        .deliver(
            "bob",
            b"From: Ada <ada@mt.com>\r\nTo: bob@mt.com\r\nSubject: <script>alert(1)</script> notes\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee <b>attached</b>\r\n--b\r\nContent-Type: application/pdf; name=\"../lecture 5.pdf\"\r\nContent-Disposition: attachment; filename=\"../lecture 5.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n--b--\r\n",
        )
        .unwrap();

    // Not logged in: every page leads to the login form.
    let answer = get(web, "", "/folder?name=INBOX").await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.header_values("location").next(), Some("/login"));

    // A wrong password: the IMAP server's reason, in words.
    let refused = connect_and_log_in(web, "bob", "wrong").await.unwrap_err();
    assert!(refused.contains("refused the login"), "{refused}");

    let cookie = connect_and_log_in(web, "bob", "secret").await.unwrap();
    let inbox = get(web, &cookie, "/folder?name=INBOX").await;
    let page = text(&inbox);
    assert_eq!(inbox.status, 200, "{page}");
    assert!(page.contains("bob@mt.com"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; notes"),
        "{page}"
    );
    assert!(!page.contains("<script"), "{page}");
    let csp = inbox
        .header_values("content-security-policy")
        .next()
        .unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");

    let message = get(web, &cookie, "/message?folder=INBOX&uid=1").await;
    let page = text(&message);
    assert!(page.contains("see &lt;b&gt;attached&lt;/b&gt;"), "{page}");
    assert!(page.contains("lecture 5.pdf"), "{page}");
    let file = get(web, &cookie, "/attachment?folder=INBOX&uid=1&part=0").await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, b"%PDF-1.7\n");
    let disposition = file.header_values("content-disposition").next().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"lecture 5.pdf\""),
        "{disposition}"
    );
    assert_eq!(
        file.header_values("content-type").next(),
        Some("application/octet-stream")
    );

    // A form without the session's token is refused and changes nothing.
    let csrf = csrf_of(&page);
    let forged = post(
        web,
        &cookie,
        "/move",
        &[
            ("folder", "INBOX"),
            ("uid", "1"),
            ("new", "Lectures"),
            ("csrf", "0".repeat(32).as_str()),
        ],
    )
    .await;
    assert_eq!(forged.status, 403);
    assert_eq!(running.mail.store.folders("bob").unwrap(), ["INBOX"]);

    let moved = post(
        web,
        &cookie,
        "/move",
        &[
            ("folder", "INBOX"),
            ("uid", "1"),
            ("new", "Lectures"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(moved.status, 303, "{}", text(&moved));
    assert!(
        running
            .mail
            .store
            .folders("bob")
            .unwrap()
            .contains(&"Lectures".to_string())
    );
    let lectures = text(&get(web, &cookie, "/folder?name=Lectures").await);
    assert!(lectures.contains(" notes</a>"), "{lectures}");
    let inbox = text(&get(web, &cookie, "/folder?name=INBOX").await);
    assert!(inbox.contains("No messages."), "{inbox}");

    // Log out: the session is gone.
    let out = post(web, &cookie, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(get(web, &cookie, "/folder?name=INBOX").await.status, 303);
}

async fn connect_and_log_in(web: SocketAddr, user: &str, password: &str) -> Result<String, String> {
    log_in(|| connect(web), "webmail", user, password, TIMEOUT).await
}

#[tokio::test]
async fn sends_with_an_attachment_through_submission() {
    let running = start().await;
    let web = running.web;
    let cookie = connect_and_log_in(web, "bob", "secret").await.unwrap();
    let compose = text(&get(web, &cookie, "/compose").await);
    let csrf = csrf_of(&compose);
    let upload: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let mut body = Vec::new();
    for (name, value) in [
        ("csrf", csrf.as_str()),
        ("to", "ada@mt.com"),
        ("subject", "from the web"),
        ("body", "Hello Ada"),
    ] {
        body.extend_from_slice(
            format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(b"--B\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(&upload);
    body.extend_from_slice(b"\r\n--B--\r\n");
    let mut raw = format!(
        "POST /send HTTP/1.1\r\nHost: webmail\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    let mut stream = TcpStream::connect(web).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(&raw).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let inbox = running.mail.wait_for_inbox("ada", 1).await;
    let parsed = mime::parse(&inbox[0]);
    assert_eq!(parsed.header("from").as_deref(), Some("bob@mt.com"));
    assert_eq!(parsed.header("subject").as_deref(), Some("from the web"));
    assert_eq!(parsed.attachments[0].name, "data.bin");
    assert_eq!(parsed.attachments[0].bytes, upload);
    // It went through submission, logged in as bob.
    let log = running.mail.log();
    assert!(
        log.contains("AUTH PLAIN") || log.contains("AUTH LOGIN"),
        "{log}"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_read() {
    let running = start().await;
    let mut stream = TcpStream::connect(running.web).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            format!(
                "POST /send HTTP/1.1\r\nHost: w\r\nContent-Length: {}\r\n\r\n",
                MAX_BODY + 1
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 413"));
}

#[test]
fn file_and_folder_names_are_made_safe() {
    assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
    assert_eq!(safe_file_name("a\"b\r\n;c.txt"), "a_b___c.txt");
    assert_eq!(safe_file_name(".htaccess"), "htaccess");
    assert_eq!(safe_file_name(""), "attachment");
    assert_eq!(percent_encoding_rfc8187("é \"x\""), "%C3%A9%20%22x%22");
    assert!(valid_folder_name("Lab Reports.2026"));
    assert!(!valid_folder_name("a\"b") && !valid_folder_name("..") && !valid_folder_name(""));
}

/// A mail server that requires TLS refuses webmail's logins in plain text;
/// with the lab's CA webmail says STARTTLS (IMAP and submission) and works.
#[tokio::test]
async fn says_starttls_to_a_server_that_requires_tls() {
    let required = || Options {
        tls: crate::lab::model_tls::TlsMode::Required,
        ..Options::default()
    };
    let plain = start_with(required(), false).await;
    let refused = connect_and_log_in(plain.web, "bob", "secret")
        .await
        .unwrap_err();
    assert!(
        refused.contains("PRIVACYREQUIRED") || refused.contains("TLS"),
        "{refused}"
    );
    let running = start_with(required(), true).await;
    let cookie = connect_and_log_in(running.web, "bob", "secret")
        .await
        .unwrap();
    let page = text(&get(running.web, &cookie, "/compose").await);
    let csrf = csrf_of(&page);
    let sent = post(
        running.web,
        &cookie,
        "/send",
        &[
            ("to", "ada@mt.com"),
            ("subject", "over TLS"),
            ("body", "hi"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert!(sent.status < 400, "{}", text(&sent));
    let inbox = running.mail.wait_for_inbox("ada", 1).await;
    assert!(String::from_utf8_lossy(&inbox[0]).contains("over TLS"));
    let log = running.mail.log();
    assert!(!log.contains("connection closed (not encrypted)"), "{log}");
}

/// A redirect to HTTPS keeps the page and the query, drops the port, and
/// never carries a decoded path or a bad Host into the Location header.
#[test]
fn the_https_redirect_keeps_the_page_and_smuggles_nothing() {
    let location = |head: &str| {
        let head = http::parse_request_head(head.as_bytes()).unwrap();
        let reply = https_redirect(&head);
        let location = reply
            .headers
            .iter()
            .find(|(n, _)| *n == "Location")
            .map(|(_, v)| v.clone());
        (reply.status, location)
    };
    assert_eq!(
        location("GET /folder?name=INBOX HTTP/1.1\r\nHost: webmail.mt.com:80\r\n\r\n"),
        (301, Some("https://webmail.mt.com/folder?name=INBOX".into()))
    );
    assert_eq!(
        location("GET /%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\nHost: webmail.mt.com\r\n\r\n"),
        (301, Some("https://webmail.mt.com/".into()))
    );
    assert_eq!(
        location("GET / HTTP/1.1\r\nHost: evil.com/x\r\n\r\n"),
        (400, None)
    );
}
