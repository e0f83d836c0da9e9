//! The mail client against labctl's own mail servers on 127.0.0.1 (no
//! root): submission with AUTH, delivery, the POP3 inbox and a whole
//! message back with its attachment; refusals quoted with their stage.

use std::net::{SocketAddr, SocketAddrV4};

use super::mailbox::{self, Mailbox};
use super::mime::{self, Draft};
use super::security::Security;
use super::smtp::{self, Login};
use crate::lab::model_agents::MailProtocol;
use crate::services::mail::test_support::{MailServer, Options};

fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(v4) => v4,
        SocketAddr::V6(_) => panic!("the test servers listen on 127.0.0.1"),
    }
}

#[tokio::test]
async fn sends_lists_and_reads_back_with_an_attachment() {
    let server = MailServer::start(Options::default()).await;
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    let attachments = vec![("report.pdf".to_string(), bytes.clone())];
    let message = mime::compose(
        &Draft {
            from_name: Some("Ada"),
            from: "ada@mt.com",
            to: "bob@mt.com",
            subject: "Report [tok-1]",
            body: "Hi Bob,\n.\nthe report.",
            attachments: &attachments,
            token: "tok-1",
        },
        std::time::SystemTime::now(),
    );
    let stream = tokio::net::TcpStream::connect(server.submission)
        .await
        .unwrap();
    let login = Login {
        user: "ada",
        password: "secret",
    };
    let accepted = smtp::submit(
        stream,
        &Security::Plain,
        "pc-ada",
        Some(&login),
        "ada@mt.com",
        "bob@mt.com",
        &message,
    )
    .await
    .unwrap();
    assert!(
        accepted.authenticated && accepted.reply.starts_with("250"),
        "{accepted:?}"
    );
    server.wait_for_inbox("bob", 1).await;
    let bob = Mailbox {
        protocol: MailProtocol::Pop3,
        server: v4(server.pop3),
        user: "bob",
        password: "secret",
        security: &Security::Plain,
    };
    let list = mailbox::inbox(bob).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            list[0].number,
            list[0].subject.as_str(),
            list[0].from.as_str()
        ),
        (1, "Report [tok-1]", "Ada <ada@mt.com>")
    );
    let raw = mailbox::read(bob, 1).await.unwrap();
    let parsed = mime::parse(&raw);
    assert_eq!(parsed.text, "Hi Bob,\n.\nthe report.\n");
    assert_eq!(parsed.attachments[0].bytes, bytes);
    assert_eq!(parsed.attachments[0].content_type, "application/pdf");
}

#[tokio::test]
async fn refusals_say_where_and_quote_the_server() {
    let server = MailServer::start(Options::default()).await;
    let stream = tokio::net::TcpStream::connect(server.submission)
        .await
        .unwrap();
    let login = Login {
        user: "ada",
        password: "wrong",
    };
    let error = smtp::submit(
        stream,
        &Security::Plain,
        "pc-ada",
        Some(&login),
        "ada@mt.com",
        "bob@mt.com",
        b"Subject: x\r\n\r\nx\r\n",
    )
    .await
    .unwrap_err();
    assert_eq!(
        (error.stage(), error.code()),
        ("AUTH", Some(535)),
        "{error}"
    );
    // Without a login the submission port refuses MAIL FROM.
    let stream = tokio::net::TcpStream::connect(server.submission)
        .await
        .unwrap();
    let error = smtp::submit(
        stream,
        &Security::Plain,
        "pc-ada",
        None,
        "ada@mt.com",
        "bob@mt.com",
        b"x\r\n",
    )
    .await
    .unwrap_err();
    assert_eq!(
        (error.stage(), error.code()),
        ("MAIL FROM", Some(530)),
        "{error}"
    );
    // Port 25 refuses to relay for strangers.
    let stream = tokio::net::TcpStream::connect(server.smtp).await.unwrap();
    let (mut session, _) = smtp::open(stream, "pc0", &Security::Plain).await.unwrap();
    let error = session
        .try_recipient("x@example.net", "y@elsewhere.org")
        .await
        .unwrap_err();
    assert_eq!(error.stage(), "RCPT TO");
    assert!(error.reply().starts_with("554"), "{error}");
    let bad = Mailbox {
        protocol: MailProtocol::Pop3,
        server: v4(server.pop3),
        user: "bob",
        password: "nope",
        security: &Security::Plain,
    };
    let error = mailbox::inbox(bad).await.unwrap_err();
    assert_eq!(error.stage, "login");
    assert!(
        error.refused && error.message.starts_with("-ERR"),
        "{error}"
    );
}

/// The IMAP client reads what the store holds, byte for byte (EXAMINE, so
/// reading changes no flags); a wrong password is quoted.
#[tokio::test]
async fn reads_over_imap() {
    let server = crate::services::mail::imap::server_tests::start(|_| {});
    let stored = crate::services::mail::imap::server_tests::attachment_message();
    server
        .store
        .deliver(
            "ada",
            b"Subject: first\r\nFrom: Bob <bob@mt.com>\r\n\r\nhello\r\n",
        )
        .unwrap();
    server.store.deliver("ada", &stored).unwrap();
    let ada = Mailbox {
        protocol: MailProtocol::Imap,
        server: v4(server.address),
        user: "ada",
        password: "secret",
        security: &Security::Plain,
    };
    let list = mailbox::inbox(ada).await.unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(
        (list[0].subject.as_str(), list[0].from.as_str()),
        ("first", "Bob <bob@mt.com>")
    );
    assert_eq!(list[1].size, stored.len() as u64);
    assert_eq!(mailbox::read(ada, 2).await.unwrap(), stored);
    let wrong = Mailbox {
        password: "nope",
        ..ada
    };
    let error = mailbox::inbox(wrong).await.unwrap_err();
    assert_eq!(error.stage, "login");
    assert!(error.refused && error.message.starts_with("NO"), "{error}");
}

/// A check's clean-up over POP3 and IMAP: exactly the messages that carry
/// the token go (by Subject, or anywhere for a bounce that quotes it), and
/// `find` sees the message before and nothing after.
#[tokio::test]
async fn removes_exactly_the_messages_carrying_a_token() {
    use super::mailbox::Carrying;
    let server = MailServer::start(Options::default()).await;
    for (protocol, address) in [
        (MailProtocol::Pop3, server.pop3),
        (MailProtocol::Imap, server.imap),
    ] {
        let mine = b"Subject: labctl check tok-9\r\n\r\nhello\r\n".as_slice();
        let bounce = b"Subject: Undelivered Mail Returned to Sender\r\n\r\n\
                       --- The headers of your message follow ---\r\n\r\n\
                       Subject: labctl check tok-9\r\n"
            .as_slice();
        let others = [
            b"Subject: from a friend\r\n\r\nsee you\r\n".as_slice(),
            b"Subject: labctl check tok-1\r\n\r\nanother check's\r\n".as_slice(),
        ];
        for message in [others[0], mine, bounce, others[1], mine] {
            server.store.deliver("bob", message).unwrap();
        }
        let bob = Mailbox {
            protocol,
            server: v4(address),
            user: "bob",
            password: "secret",
            security: &Security::Plain,
        };
        let found = mailbox::find(bob, "tok-9").await.unwrap();
        assert_eq!(found.as_deref(), Some(mine), "{protocol:?}");
        let removed = mailbox::delete_carrying(bob, "tok-9", Carrying::Subject).await;
        assert_eq!(removed, Ok(2), "{protocol:?}");
        assert_eq!(mailbox::find(bob, "tok-9").await, Ok(None));
        let removed = mailbox::delete_carrying(bob, "tok-9", Carrying::Anywhere).await;
        assert_eq!(removed, Ok(1), "{protocol:?}: the bounce");
        let left: Vec<String> = mailbox::inbox(bob)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.subject)
            .collect();
        assert_eq!(
            left,
            ["from a friend", "labctl check tok-1"],
            "{protocol:?}"
        );
        // Empty the mailbox for the next protocol.
        for token in ["friend", "tok-1"] {
            mailbox::delete_carrying(bob, token, Carrying::Anywhere)
                .await
                .unwrap();
        }
        assert_eq!(mailbox::inbox(bob).await.unwrap(), []);
    }
}

/// Sessions one after another are never refused as `[IN-USE]`: a POP3
/// session returns only once the server has let go of the maildrop.
#[tokio::test]
async fn back_to_back_pop3_sessions_are_never_in_use() {
    let server = MailServer::start(Options::default()).await;
    server
        .store
        .deliver("ada", b"Subject: hi\r\n\r\nx\r\n")
        .unwrap();
    let ada = Mailbox {
        protocol: MailProtocol::Pop3,
        server: v4(server.pop3),
        user: "ada",
        password: "secret",
        security: &Security::Plain,
    };
    for _ in 0..50 {
        assert_eq!(mailbox::inbox(ada).await.map(|l| l.len()), Ok(1));
        assert_eq!(mailbox::find(ada, "nothing").await, Ok(None));
    }
}
