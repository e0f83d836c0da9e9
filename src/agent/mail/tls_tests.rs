//! The PC's mail clients over TLS against labctl's own servers on
//! 127.0.0.1 with a test CA (certificate for `mx.test` and 127.0.0.1):
//! STARTTLS/STLS and implicit TLS with each of SMTP submission, POP3 and
//! IMAP against `tls: required` servers (which refuse logins in plain
//! text, so a login that works proves the switch); a certificate for
//! another name or from another CA refused with the names it has; a
//! server without TLS refusing STARTTLS; webmail's "STARTTLS when
//! offered".

use std::net::{SocketAddr, SocketAddrV4};

use tokio::net::TcpStream;

use super::fetch_error::FetchError;
use super::imap::Imap;
use super::mailbox::{self, Mailbox};
use super::pop3::Pop3;
use super::security::{Security, Trust};
use super::smtp::{self, Broken, Login, SmtpError};
use crate::lab::model_agents::MailProtocol;
use crate::lab::model_tls::TlsMode;
use crate::services::mail::test_support::{MailServer, Options};
use crate::services::tls::authority::{LabCa, Subject};
use crate::services::tls::config;
use crate::services::tls::failure::HandshakeFailure;

async fn server(tls: TlsMode) -> MailServer {
    MailServer::start(Options {
        tls,
        ..Options::default()
    })
    .await
}

fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(v4) => v4,
        SocketAddr::V6(_) => panic!("the test servers listen on 127.0.0.1"),
    }
}

/// Trusts the server's test CA, expecting `name`.
fn trust(server: &MailServer, name: &str) -> Trust {
    Trust {
        connector: server.implicit.as_ref().unwrap().connector.clone(),
        name: name.into(),
    }
}

const ADA: Login = Login {
    user: "ada",
    password: "secret",
};

async fn send(
    to: SocketAddr,
    security: &Security,
    subject: &str,
) -> Result<smtp::Accepted, SmtpError> {
    let stream = TcpStream::connect(to).await.unwrap();
    let message = format!("Subject: {subject}\r\n\r\nover TLS\r\n");
    smtp::submit(
        stream,
        security,
        "pc-ada",
        Some(&ADA),
        "ada@mt.com",
        "bob@mt.com",
        message.as_bytes(),
    )
    .await
}

fn bob<'a>(protocol: MailProtocol, at: SocketAddr, security: &'a Security) -> Mailbox<'a> {
    Mailbox {
        protocol,
        server: v4(at),
        user: "bob",
        password: "secret",
        security,
    }
}

#[tokio::test]
async fn starttls_sends_and_reads_from_a_server_that_requires_tls() {
    let server = server(TlsMode::Required).await;
    let plain = Security::Plain;
    let refused = send(server.submission, &plain, "plain").await.unwrap_err();
    assert_eq!((refused.stage(), refused.code()), ("MAIL FROM", Some(530)));
    let starttls = Security::StartTls(trust(&server, "mx.test"));
    let accepted = send(server.submission, &starttls, "one").await.unwrap();
    assert!(accepted.encrypted && accepted.authenticated, "{accepted:?}");
    server.wait_for_inbox("bob", 1).await;
    for (protocol, at) in [
        (MailProtocol::Pop3, server.pop3),
        (MailProtocol::Imap, server.imap),
    ] {
        let refused = mailbox::inbox(bob(protocol, at, &plain)).await.unwrap_err();
        assert_eq!((refused.stage, refused.refused), ("login", true));
        let list = mailbox::inbox(bob(protocol, at, &starttls)).await.unwrap();
        assert_eq!(list.len(), 1, "{protocol:?}");
        assert_eq!(list[0].subject, "one");
    }
    let log = server.log();
    assert!(log.contains("connection closed (encrypted)"), "{log}");
}

#[tokio::test]
async fn implicit_tls_on_465_995_993() {
    let server = server(TlsMode::Required).await;
    let ports = server.implicit.as_ref().unwrap();
    let (smtps, pop3s, imaps) = (ports.smtps, ports.pop3s, ports.imaps);
    // An address in the settings is checked against the certificate's
    // addresses.
    let implicit = Security::Implicit(trust(&server, "127.0.0.1"));
    let accepted = send(smtps, &implicit, "two").await.unwrap();
    assert!(accepted.encrypted && accepted.authenticated);
    server.wait_for_inbox("bob", 1).await;
    for (protocol, at) in [(MailProtocol::Pop3, pop3s), (MailProtocol::Imap, imaps)] {
        let message = mailbox::read(bob(protocol, at, &implicit), 1)
            .await
            .unwrap();
        assert!(message.ends_with(b"over TLS\r\n"), "{protocol:?}");
    }
}

fn wrong_name(failure: Option<&HandshakeFailure>) -> (String, Vec<String>) {
    match failure {
        Some(HandshakeFailure::WrongName {
            expected,
            presented,
        }) => (expected.clone(), presented.clone()),
        other => panic!("not a wrong name: {other:?}"),
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_with_its_names() {
    let server = server(TlsMode::Optional).await;
    let names = vec!["mx.test".to_string(), "127.0.0.1".to_string()];
    let expected = ("pop.test".to_string(), names);
    for security in [
        Security::StartTls(trust(&server, "pop.test")),
        Security::Implicit(trust(&server, "pop.test")),
    ] {
        let implicit = security.is_implicit();
        let ports = server.implicit.as_ref().unwrap();
        let (smtp_at, pop3_at, imap_at) = if implicit {
            (ports.smtps, ports.pop3s, ports.imaps)
        } else {
            (server.submission, server.pop3, server.imap)
        };
        let error = send(smtp_at, &security, "never").await.unwrap_err();
        let SmtpError::Broken {
            stage,
            why: Broken::Tls(failure),
        } = &error
        else {
            panic!("not a TLS failure: {error}");
        };
        assert_eq!(*stage, if implicit { "TLS" } else { "STARTTLS" });
        assert_eq!(wrong_name(Some(failure)), expected);
        let failed: Vec<FetchError> = vec![
            Pop3::open(TcpStream::connect(pop3_at).await.unwrap(), &security)
                .await
                .err()
                .unwrap(),
            Imap::open(TcpStream::connect(imap_at).await.unwrap(), &security)
                .await
                .err()
                .unwrap(),
        ];
        for e in failed {
            assert_eq!(e.stage, "TLS");
            assert_eq!(wrong_name(e.tls.as_ref()), expected);
            assert!(
                e.to_string().contains(
                    "the server's certificate is for mx.test and 127.0.0.1, not for pop.test"
                ),
                "{e}"
            );
        }
    }
    assert!(server.inbox("bob").is_empty());
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let server = server(TlsMode::Optional).await;
    let subject = Subject {
        names: vec!["mx.test".into()],
        addresses: Vec::new(),
    };
    let other = LabCa::generate("other", &[subject]).unwrap();
    let security = Security::StartTls(Trust {
        connector: config::connector(&other.cert_pem).unwrap(),
        name: "mx.test".into(),
    });
    let e = Imap::open(TcpStream::connect(server.imap).await.unwrap(), &security)
        .await
        .err()
        .unwrap();
    assert_eq!(e.tls, Some(HandshakeFailure::UnknownIssuer), "{e}");
}

#[tokio::test]
async fn starttls_against_a_server_without_tls_is_refused_not_skipped() {
    let plain_server = server(TlsMode::Off).await;
    let tls_server = server(TlsMode::Optional).await;
    let security = Security::StartTls(trust(&tls_server, "mx.test"));
    let error = send(plain_server.submission, &security, "x")
        .await
        .unwrap_err();
    assert_eq!((error.stage(), error.code()), ("STARTTLS", Some(502)));
    for (protocol, at) in [
        (MailProtocol::Pop3, plain_server.pop3),
        (MailProtocol::Imap, plain_server.imap),
    ] {
        let e = mailbox::inbox(bob(protocol, at, &security))
            .await
            .unwrap_err();
        assert_eq!((e.stage, e.refused), ("STARTTLS", true), "{e}");
    }
    // Webmail's way: STARTTLS only when offered.
    let when_offered = Security::StartTlsIfOffered(trust(&tls_server, "mx.test"));
    let accepted = send(plain_server.submission, &when_offered, "plain")
        .await
        .unwrap();
    assert!(!accepted.encrypted);
    let imap = Imap::open(
        TcpStream::connect(plain_server.imap).await.unwrap(),
        &when_offered,
    )
    .await
    .unwrap();
    assert!(!imap.is_encrypted());
    let accepted = send(tls_server.submission, &when_offered, "tls")
        .await
        .unwrap();
    assert!(accepted.encrypted);
    let imap = Imap::open(
        TcpStream::connect(tls_server.imap).await.unwrap(),
        &when_offered,
    )
    .await
    .unwrap();
    assert!(imap.is_encrypted());
    let pop3 = Pop3::open(
        TcpStream::connect(tls_server.pop3).await.unwrap(),
        &when_offered,
    )
    .await
    .unwrap();
    assert!(pop3.is_encrypted());
}
