//! The connection limits of SMTP, POP3 and IMAP on 127.0.0.1: one client
//! address over its cap gets the protocol's busy reply while another
//! address (127.0.0.2: loopback takes all of 127/8) is still greeted, and
//! the short timeout before login closes idle connections while a
//! logged-in one keeps the RFC's long timeout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::test_support::{Client, MailServer, Options};

const PC_A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const PC_B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const PC_C: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
const PER_CLIENT: usize = 3;
/// A login timeout short enough for a fast test, and silence clearly
/// longer than it.
const LOGIN_TIMEOUT: Duration = Duration::from_millis(300);
const LONGER_THAN_LOGIN_TIMEOUT: Duration = Duration::from_millis(1000);

/// The first line a client from `from` gets.
async fn first_line(from: IpAddr, address: SocketAddr) -> (Client, String) {
    let mut client = Client::connect_from(from, address).await;
    let line = client.line().await.expect("a greeting or busy line");
    (client, line)
}

/// PER_CLIENT connections from PC A are greeted; two more get `busy` and
/// are closed; PC B is still greeted; when one of A's sessions ends, A may
/// connect again.
async fn per_client_cap(address: SocketAddr, greeting: &str, busy: &str) {
    let mut held = Vec::new();
    for _ in 0..PER_CLIENT {
        let (client, line) = first_line(PC_A, address).await;
        assert!(line.starts_with(greeting), "{line}");
        held.push(client);
    }
    for _ in 0..2 {
        let (mut client, line) = first_line(PC_A, address).await;
        assert_eq!(line, busy);
        assert!(client.closed().await, "a refused connection is closed");
    }
    let (_other, line) = first_line(PC_B, address).await;
    assert!(line.starts_with(greeting), "another address: {line}");
    drop(held.pop());
    for attempt in 0.. {
        let (_client, line) = first_line(PC_A, address).await;
        if line.starts_with(greeting) {
            break;
        }
        assert!(attempt < 50, "the slot was not given back: {line}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn cap_options() -> Options {
    Options {
        tweak: |config| config.connections.max_per_client = PER_CLIENT,
        pop3_tweak: |config| config.connections.max_per_client = PER_CLIENT,
        imap_tweak: |config| config.connections.max_per_client = PER_CLIENT,
        ..Options::default()
    }
}

#[tokio::test]
async fn smtp_one_address_cannot_take_every_slot() {
    let server = MailServer::start(cap_options()).await;
    per_client_cap(
        server.smtp,
        "220 mx.test ESMTP",
        "421 4.7.0 Too many connections from your address; try again later",
    )
    .await;
}

#[tokio::test]
async fn pop3_one_address_cannot_take_every_slot() {
    let server = MailServer::start(cap_options()).await;
    per_client_cap(
        server.pop3,
        "+OK mx.test POP3",
        "-ERR [SYS/TEMP] too many connections from your address; try again later",
    )
    .await;
}

#[tokio::test]
async fn imap_one_address_cannot_take_every_slot() {
    let server = MailServer::start(cap_options()).await;
    per_client_cap(
        server.imap,
        "* OK [CAPABILITY",
        "* BYE [UNAVAILABLE] too many connections from your address, try again later",
    )
    .await;
}

/// The global cap still holds, with its own reply.
#[tokio::test]
async fn smtp_a_full_server_says_so() {
    let server = MailServer::start(Options {
        tweak: |config| config.connections.max_connections = 2,
        ..Options::default()
    })
    .await;
    let (_a, line) = first_line(PC_A, server.smtp).await;
    assert!(line.starts_with("220 "), "{line}");
    let (_b, line) = first_line(PC_B, server.smtp).await;
    assert!(line.starts_with("220 "), "{line}");
    let (mut c, line) = first_line(PC_C, server.smtp).await;
    assert_eq!(line, "421 4.3.2 Too many connections; try again later");
    assert!(c.closed().await);
}

fn timeout_options() -> Options {
    Options {
        tweak: |config| config.login_timeout = LOGIN_TIMEOUT,
        pop3_tweak: |config| config.login_timeout = LOGIN_TIMEOUT,
        imap_tweak: |config| config.login_timeout = LOGIN_TIMEOUT,
        ..Options::default()
    }
}

/// SMTP: silence before AUTH or MAIL is cut short; after MAIL, and after
/// AUTH, the 5 minutes apply.
#[tokio::test]
async fn smtp_login_timeout_ends_idle_connections_only_before_auth_or_mail() {
    let server = MailServer::start(timeout_options()).await;
    let (mut idle, _) = first_line(PC_A, server.smtp).await;
    idle.smtp_expect("EHLO pc", "250").await;
    assert_eq!(
        idle.line().await.as_deref(),
        Some("421 4.4.2 Timeout: closing the connection")
    );
    assert!(idle.closed().await);

    let (mut sender, _) = first_line(PC_A, server.smtp).await;
    sender.smtp_expect("EHLO pc", "250").await;
    sender.smtp_expect("MAIL FROM:<x@y.org>", "250").await;
    let (mut user, _) = first_line(PC_A, server.submission).await;
    user.smtp_expect("EHLO pc", "250").await;
    // "\0ada\0secret"
    let auth = user.smtp("AUTH PLAIN AGFkYQBzZWNyZXQ=").await;
    assert!(auth.starts_with("235"), "{auth}");
    tokio::time::sleep(LONGER_THAN_LOGIN_TIMEOUT).await;
    sender.smtp_expect("RCPT TO:<ada@mt.com>", "250").await;
    user.smtp_expect("NOOP", "250").await;
}

#[tokio::test]
async fn pop3_login_timeout_ends_idle_connections_only_before_login() {
    let server = MailServer::start(timeout_options()).await;
    let (mut idle, _) = first_line(PC_A, server.pop3).await;
    assert!(idle.pop3("USER ada").await.starts_with("+OK"));
    assert_eq!(
        idle.line().await.as_deref(),
        Some("-ERR timeout: closing the connection")
    );
    assert!(idle.closed().await);

    let (mut user, _) = first_line(PC_A, server.pop3).await;
    assert!(user.pop3("USER ada").await.starts_with("+OK"));
    assert!(user.pop3("PASS secret").await.starts_with("+OK"));
    tokio::time::sleep(LONGER_THAN_LOGIN_TIMEOUT).await;
    assert!(user.pop3("STAT").await.starts_with("+OK"));
}

#[tokio::test]
async fn imap_login_timeout_ends_idle_connections_only_before_login() {
    let server = MailServer::start(timeout_options()).await;
    let (mut idle, _) = first_line(PC_A, server.imap).await;
    assert_eq!(
        idle.line().await.as_deref(),
        Some("* BYE idle for too long, closing")
    );
    assert!(idle.closed().await);

    let (mut user, _) = first_line(PC_A, server.imap).await;
    user.send(b"a LOGIN ada secret\r\n").await;
    let login = user.line().await.unwrap_or_default();
    assert!(login.starts_with("a OK"), "{login}");
    tokio::time::sleep(LONGER_THAN_LOGIN_TIMEOUT).await;
    user.send(b"b NOOP\r\n").await;
    let noop = user.line().await.unwrap_or_default();
    assert!(noop.starts_with("b OK"), "{noop}");
}
