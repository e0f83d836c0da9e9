//! TLS on the mail servers, over real sockets with a rustls client that
//! checks the server's certificate against the test CA: STARTTLS, STLS and
//! IMAP STARTTLS, the implicit-TLS ports, `tls: required` refusing login
//! in plain text with each protocol's standard reply, and the STARTTLS
//! command-injection class (CVE-2011-0411): commands pipelined after the
//! switch in plain text are never run.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::test_support::{Client, MailServer, Options};
use crate::lab::model_tls::TlsMode;

async fn server(tls: TlsMode) -> MailServer {
    MailServer::start(Options {
        tls,
        ..Options::default()
    })
    .await
}

const PLAIN_ADA: &str = "AUTH PLAIN AGFkYQBzZWNyZXQ=";

#[tokio::test]
async fn smtp_starttls_then_login_and_mail_over_tls() {
    let server = server(TlsMode::Optional).await;
    let connector = &server.implicit.as_ref().unwrap().connector;
    let mut client = Client::connect(server.submission).await;
    client.reply().await;
    let ehlo = client.smtp_expect("EHLO pc.test", "250").await;
    assert!(
        ehlo.contains("250-STARTTLS") && ehlo.contains("AUTH PLAIN"),
        "{ehlo}"
    );
    client.smtp_expect("STARTTLS", "220 2.0.0").await;
    client.start_tls(connector).await;
    assert!(client.is_encrypted());
    let ehlo = client.smtp_expect("EHLO pc.test", "250").await;
    assert!(!ehlo.contains("STARTTLS"), "offered once only: {ehlo}");
    client.smtp_expect(PLAIN_ADA, "235").await;
    client.smtp_expect("MAIL FROM:<ada@mt.com>", "250").await;
    client.smtp_expect("RCPT TO:<bob@mt.com>", "250").await;
    client.smtp_expect("DATA", "354").await;
    client
        .smtp_expect("Subject: over TLS\r\n\r\nhi\r\n.", "250")
        .await;
    client.smtp_expect("QUIT", "221").await;
    assert_eq!(server.wait_for_inbox("bob", 1).await.len(), 1);
    let log = server.log();
    assert!(log.contains("-- encrypted (TLS 1.3"), "{log}");
    assert!(log.contains("connection closed (encrypted)"), "{log}");
    // Optional: a plain session still logs in, and is logged as plain.
    let mut plain = Client::connect(server.submission).await;
    plain.reply().await;
    plain.smtp_expect("EHLO pc.test", "250").await;
    plain.smtp_expect(PLAIN_ADA, "235").await;
    plain.smtp_expect("QUIT", "221").await;
    assert!(plain.closed().await);
    assert!(server.log().contains("connection closed (not encrypted)"));
}

#[tokio::test]
async fn smtp_tls_required_refuses_auth_and_mail_in_plain_text() {
    let server = server(TlsMode::Required).await;
    let connector = &server.implicit.as_ref().unwrap().connector;
    for address in [server.smtp, server.submission] {
        let mut client = Client::connect(address).await;
        client.reply().await;
        let ehlo = client.smtp_expect("EHLO pc.test", "250").await;
        assert!(
            ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
            "{ehlo}"
        );
        client
            .smtp_expect(PLAIN_ADA, "530 5.7.0 Must issue a STARTTLS command first")
            .await;
        client
            .smtp_expect(
                "MAIL FROM:<ada@mt.com>",
                "530 5.7.0 Must issue a STARTTLS command first",
            )
            .await;
        client.smtp_expect("STARTTLS", "220").await;
        client.start_tls(connector).await;
        let ehlo = client.smtp_expect("EHLO pc.test", "250").await;
        assert!(ehlo.contains("AUTH PLAIN"), "{ehlo}");
        client.smtp_expect(PLAIN_ADA, "235").await;
        client.smtp_expect("MAIL FROM:<ada@mt.com>", "250").await;
        client
            .smtp_expect("STARTTLS", "503 5.5.1 TLS already active")
            .await;
    }
}

#[tokio::test]
async fn smtp_commands_pipelined_after_starttls_are_discarded() {
    let server = server(TlsMode::Optional).await;
    let connector = &server.implicit.as_ref().unwrap().connector;
    let mut client = Client::connect(server.smtp).await;
    client.reply().await;
    client.smtp_expect("EHLO pc.test", "250").await;
    // One write: STARTTLS and a command the attacker slips in behind it.
    client
        .send(b"STARTTLS\r\nMAIL FROM:<mallory@evil.test>\r\n")
        .await;
    assert!(client.reply().await.starts_with("220"));
    client.start_tls(connector).await;
    // The first reply over TLS is EHLO's: the injected MAIL never ran.
    client
        .smtp_expect("EHLO pc.test", "250-mx.test greets")
        .await;
    client
        .smtp_expect("RCPT TO:<bob@mt.com>", "503 5.5.1 Need MAIL")
        .await;
    let log = server.log();
    assert!(
        log.contains("discarded 31 bytes sent after STARTTLS in plain text"),
        "{log}"
    );
    assert!(!log.contains("C: MAIL FROM:<mallory"), "{log}");
}

#[tokio::test]
async fn pop3_stls_required_and_injection() {
    let server = server(TlsMode::Required).await;
    let connector = &server.implicit.as_ref().unwrap().connector;
    let mut client = Client::connect(server.pop3).await;
    client.line().await;
    client.send(b"CAPA\r\n").await;
    assert!(client.line().await.unwrap().starts_with("+OK"));
    let capa = client.pop3_data().await;
    let capa = String::from_utf8(capa).unwrap();
    assert!(
        capa.contains("STLS\r\n") && !capa.contains("USER\r\n"),
        "{capa}"
    );
    let refused = client.pop3("USER ada").await;
    assert!(
        refused.starts_with("-ERR [AUTH] Plaintext authentication disallowed"),
        "{refused}"
    );
    client.send(b"STLS\r\nUSER ada\r\n").await;
    assert!(client.line().await.unwrap().starts_with("+OK"));
    client.start_tls(connector).await;
    // The injected USER was dropped: PASS has no user to go with.
    assert_eq!(client.pop3("PASS secret").await, "-ERR send USER first");
    assert!(client.pop3("USER ada").await.starts_with("+OK"));
    assert!(client.pop3("PASS secret").await.starts_with("+OK"));
    assert!(client.pop3("STLS").await.starts_with("-ERR"));
    assert!(client.pop3("QUIT").await.starts_with("+OK"));
    let log = server.log();
    assert!(log.contains("discarded 10 bytes sent after STLS"), "{log}");
    assert!(log.contains("connection closed (encrypted)"), "{log}");
}

#[tokio::test]
async fn imap_starttls_required_and_injection() {
    let server = server(TlsMode::Required).await;
    let connector = &server.implicit.as_ref().unwrap().connector;
    let mut client = Client::connect(server.imap).await;
    let greeting = client.line().await.unwrap();
    assert!(
        greeting.contains("STARTTLS") && greeting.contains("LOGINDISABLED"),
        "{greeting}"
    );
    assert!(!greeting.contains("AUTH=PLAIN"), "{greeting}");
    client.send(b"a LOGIN ada secret\r\n").await;
    let refused = client.line().await.unwrap();
    assert!(refused.starts_with("a NO [PRIVACYREQUIRED]"), "{refused}");
    client
        .send(b"b AUTHENTICATE PLAIN AGFkYQBzZWNyZXQ=\r\n")
        .await;
    assert!(
        client
            .line()
            .await
            .unwrap()
            .starts_with("b NO [PRIVACYREQUIRED]")
    );
    client.send(b"c STARTTLS\r\nd LOGIN ada secret\r\n").await;
    assert!(client.line().await.unwrap().starts_with("c OK"));
    client.start_tls(connector).await;
    client.send(b"e CAPABILITY\r\n").await;
    let capability = client.line().await.unwrap();
    assert!(
        capability.starts_with("* CAPABILITY") && capability.contains("AUTH=PLAIN"),
        "the injected LOGIN never ran, so this is the first reply: {capability}"
    );
    assert!(!capability.contains("STARTTLS") && !capability.contains("LOGINDISABLED"));
    assert!(client.line().await.unwrap().starts_with("e OK"));
    client.send(b"f LOGIN ada secret\r\n").await;
    assert!(client.line().await.unwrap().starts_with("f OK"));
    client.send(b"g STARTTLS\r\n").await;
    assert!(client.line().await.unwrap().starts_with("g BAD"));
    let log = server.log();
    assert!(
        log.contains("discarded 20 bytes sent after STARTTLS"),
        "{log}"
    );
}

#[tokio::test]
async fn implicit_tls_ports_and_off_refuses_starttls() {
    let server = server(TlsMode::Required).await;
    let implicit = server.implicit.as_ref().unwrap();
    let mut smtps = Client::connect_tls(implicit.smtps, &implicit.connector).await;
    assert!(smtps.reply().await.starts_with("220"));
    let ehlo = smtps.smtp_expect("EHLO pc.test", "250").await;
    assert!(
        !ehlo.contains("STARTTLS") && ehlo.contains("AUTH"),
        "{ehlo}"
    );
    smtps.smtp_expect(PLAIN_ADA, "235").await;
    let mut pop3s = Client::connect_tls(implicit.pop3s, &implicit.connector).await;
    assert!(pop3s.line().await.unwrap().starts_with("+OK"));
    assert!(pop3s.pop3("USER ada").await.starts_with("+OK"));
    assert!(pop3s.pop3("PASS secret").await.starts_with("+OK"));
    let mut imaps = Client::connect_tls(implicit.imaps, &implicit.connector).await;
    let greeting = imaps.line().await.unwrap();
    assert!(
        !greeting.contains("STARTTLS") && greeting.contains("AUTH=PLAIN"),
        "{greeting}"
    );
    imaps.send(b"a LOGIN ada secret\r\n").await;
    assert!(imaps.line().await.unwrap().starts_with("a OK"));
    assert!(server.log().contains("encrypted from the start (TLS 1.3"));
    // Plain text on an implicit-TLS port is no handshake: the server hangs up.
    let mut plain = tokio::net::TcpStream::connect(implicit.smtps)
        .await
        .unwrap();
    plain.write_all(b"EHLO pc.test\r\n").await.unwrap();
    let mut heard = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut heard)).await;
    assert!(read.is_ok(), "closed at once");
    assert!(
        !heard.starts_with(b"2"),
        "no SMTP reply in plain text: {heard:?}"
    );

    let off = MailServer::start(Options::default()).await;
    assert!(off.implicit.is_none());
    let mut client = Client::connect(off.imap).await;
    assert!(!client.line().await.unwrap().contains("STARTTLS"));
    client.send(b"a STARTTLS\r\n").await;
    assert_eq!(client.line().await.unwrap(), "a BAD STARTTLS not offered");
}
