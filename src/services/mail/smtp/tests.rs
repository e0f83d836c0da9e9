//! The SMTP server on 127.0.0.1: the dialogue, delivery, relay with AUTH
//! only, bounces, and every bad input of the reference list.

use std::time::Duration;

use crate::services::mail::smtp::command::Mailbox;
use crate::services::mail::smtp::fates::Fate;
use crate::services::mail::smtp::queue::new_id;
use crate::services::mail::test_support::{Client, MailServer, Options};

const PLAIN_ADA: &str = "AGFkYQBzZWNyZXQ="; // \0ada\0secret

/// A server for far.org, and one for mt.com that relays to it.
async fn relaying_to_far() -> (MailServer, MailServer) {
    let far = MailServer::start(Options {
        domain: "far.org",
        ..Options::default()
    })
    .await;
    let server = MailServer::start(Options {
        next_hop: Some(far.smtp),
        ..Options::default()
    })
    .await;
    (far, server)
}

async fn greeted(server: &MailServer) -> Client {
    let mut client = Client::connect(server.smtp).await;
    assert!(client.reply().await.starts_with("220 mx.test ESMTP"));
    client.smtp_expect("EHLO client.test", "250-mx.test").await;
    client
}

#[tokio::test]
async fn ehlo_announces_the_extensions() {
    let server = MailServer::start(Options::default()).await;
    let mut client = Client::connect(server.smtp).await;
    client.reply().await;
    let ehlo = client.smtp("EHLO pc.test").await;
    for extension in [
        "PIPELINING",
        "SIZE 10485760",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "AUTH PLAIN LOGIN",
    ] {
        assert!(ehlo.contains(extension), "{extension} missing: {ehlo}");
    }
    client.smtp_expect("HELO pc.test", "250 ").await;
    client.smtp_expect("VRFY ada", "252 2.0.0").await;
    client.smtp_expect("HELP", "214 ").await;
    client.smtp_expect("NOOP", "250 2.0.0").await;
    client.smtp_expect("RSET", "250 2.0.0").await;
    client.smtp_expect("QUIT", "221 2.0.0").await;
    assert!(client.closed().await);
}

#[tokio::test]
async fn local_delivery_is_byte_exact_with_a_received_header() {
    let server = MailServer::start(Options::default()).await;
    let mut client = greeted(&server).await;
    let message = "From: ada@mt.com\r\nTo: bob@mt.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n\
        Hello Bob\r\n..leading dot\r\n--b1\r\nContent-Type: application/octet-stream\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b1--\r\n";
    client
        .smtp_expect("MAIL FROM:<ada@mt.com>", "250 2.1.0")
        .await;
    client
        .smtp_expect("RCPT TO:<Bob@MT.com>", "250 2.1.5")
        .await;
    client.smtp_expect("DATA", "354 ").await;
    client.send(message.as_bytes()).await;
    client.smtp_expect(".", "250 2.0.0 Ok: queued as ").await;
    let inbox = server.inbox("bob");
    assert_eq!(inbox.len(), 1);
    let stored = String::from_utf8(inbox[0].clone()).unwrap();
    assert!(
        stored.starts_with(
            "Received: from client.test ([127.0.0.1])\r\n\tby mx.test (labctl) with ESMTP id "
        ),
        "{stored}"
    );
    assert!(stored.contains("\tfor <Bob@MT.com>;"));
    let expected = message.replace("\r\n..leading", "\r\n.leading");
    assert!(stored.ends_with(&expected), "{stored}");
    let log = server.log();
    assert!(log.contains("C: MAIL FROM:<ada@mt.com>"), "{log}");
    assert!(log.contains("S: 354 End data"), "{log}");
    // The body as `D:` lines (dot-unstuffed), after its size.
    assert!(
        log.contains(&format!("-- <message of {} bytes>", expected.len())),
        "{log}"
    );
    assert!(log.contains(" D: Hello Bob\n"), "{log}");
    assert!(log.contains(" D: .leading dot\n"), "{log}");
}

#[tokio::test]
async fn unknown_users_and_open_relay_are_refused() {
    let server = MailServer::start(Options::default()).await;
    let mut client = greeted(&server).await;
    client.smtp("MAIL FROM:<x@elsewhere.org>").await;
    client
        .smtp_expect("RCPT TO:<nobody@mt.com>", "550 5.1.1 <nobody@mt.com>")
        .await;
    client
        .smtp_expect("RCPT TO:<carol@elsewhere.org>", "554 5.7.1")
        .await;
    client.smtp_expect("DATA", "503 5.5.1").await;
    assert!(server.queue.pending().unwrap().is_empty());
}

#[tokio::test]
async fn submission_needs_auth_and_relays_after_it() {
    let (far, server) = relaying_to_far().await;
    let mut client = Client::connect(server.submission).await;
    client.reply().await;
    client.smtp("EHLO pc.test").await;
    client
        .smtp_expect("MAIL FROM:<ada@mt.com>", "530 5.7.0")
        .await;
    client
        .smtp_expect(&format!("AUTH PLAIN {PLAIN_ADA}"), "235 2.7.0")
        .await;
    client.smtp_expect("MAIL FROM:<ada@mt.com>", "250").await;
    client.smtp_expect("RCPT TO:<bob@far.org>", "250").await;
    client.smtp("DATA").await;
    client.send(b"Subject: across\r\n\r\n.hidden dot\r\n").await;
    client.smtp_expect("..stuffed\r\n.", "250").await;
    let delivered = far.wait_for_inbox("bob", 1).await;
    let text = String::from_utf8(delivered[0].clone()).unwrap();
    assert!(text.contains("with ESMTPA id"), "{text}");
    assert!(
        text.ends_with("Subject: across\r\n\r\nhidden dot\r\n.stuffed\r\n"),
        "{text}"
    );
    server.wait_for_empty_queue().await;
}

#[tokio::test]
async fn auth_login_and_its_abuse() {
    let server = MailServer::start(Options::default()).await;
    let mut client = greeted(&server).await;
    assert_eq!(client.smtp("AUTH LOGIN").await, "334 VXNlcm5hbWU6");
    assert_eq!(client.smtp("YWRh").await, "334 UGFzc3dvcmQ6");
    client.smtp_expect("c2VjcmV0", "235 2.7.0").await;
    client.smtp_expect("AUTH PLAIN", "503 5.5.1").await;

    let mut client = greeted(&server).await;
    client.smtp_expect("AUTH CRAM-MD5", "504 5.5.4").await;
    assert_eq!(client.smtp("AUTH PLAIN").await, "334 ");
    client.smtp_expect("*", "501 5.0.0").await;
    client
        .smtp_expect("AUTH PLAIN !!!notbase64", "501 5.5.2")
        .await;
    client
        .smtp_expect("AUTH PLAIN AGFkYQB3cm9uZw==", "535 5.7.8")
        .await;
    client
        .smtp_expect("AUTH PLAIN AGFkYQB3cm9uZw==", "421 4.7.0")
        .await;
    assert!(client.closed().await);
    let log = server.log();
    assert!(
        log.contains("C: AUTH PLAIN AGFkYQB3cm9uZw=="),
        "secrets as on the wire"
    );
}

#[tokio::test]
async fn smuggled_commands_are_message_content() {
    let server = MailServer::start(Options::default()).await;
    for smuggling in ["\n.\r\n", "\r\n.\n", "\n.\n", "\r.\r\n"] {
        let mut client = greeted(&server).await;
        client.smtp("MAIL FROM:<ada@mt.com>").await;
        client.smtp("RCPT TO:<bob@mt.com>").await;
        client.smtp("DATA").await;
        let attack = format!(
            "Subject: one\r\n\r\nbody{smuggling}MAIL FROM:<admin@mt.com>\r\nRCPT TO:<ada@mt.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n"
        );
        client.send(attack.as_bytes()).await;
        assert!(
            client.reply().await.starts_with("250 2.0.0"),
            "{smuggling:?}"
        );
        assert!(
            client.smtp("NOOP").await.starts_with("250 2.0.0"),
            "{smuggling:?}: one reply only"
        );
    }
    assert_eq!(server.inbox("bob").len(), 4);
    assert!(
        server.inbox("ada").is_empty(),
        "the smuggled message was not delivered"
    );
    for message in server.inbox("bob") {
        assert!(
            !message.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
            "bare LF stored"
        );
    }
}

#[tokio::test]
async fn commands_out_of_order_get_503() {
    let server = MailServer::start(Options::default()).await;
    let mut client = Client::connect(server.smtp).await;
    client.reply().await;
    client
        .smtp_expect("MAIL FROM:<ada@mt.com>", "503 5.5.1")
        .await;
    client.smtp("EHLO pc.test").await;
    client
        .smtp_expect("RCPT TO:<bob@mt.com>", "503 5.5.1")
        .await;
    client.smtp_expect("DATA", "503 5.5.1").await;
    client.smtp("MAIL FROM:<ada@mt.com>").await;
    client
        .smtp_expect("MAIL FROM:<ada@mt.com>", "503 5.5.1")
        .await;
    client.smtp_expect("DATA", "503 5.5.1").await;
    client.smtp_expect("STARTTLS", "502 5.5.1").await;
    client.smtp_expect("EXPN staff", "500 5.5.1").await;
    client.smtp_expect("NOOP", "250").await;
}

#[tokio::test]
async fn malformed_addresses_and_parameters() {
    let server = MailServer::start(Options::default()).await;
    let mut client = greeted(&server).await;
    client
        .smtp_expect("MAIL FROM:ada@mt.com", "501 5.5.4")
        .await;
    client
        .smtp_expect("MAIL FROM:<ada@mt.com> FOO=BAR", "555 5.5.4")
        .await;
    client.smtp("MAIL FROM:<ada@mt.com>").await;
    let long_local = format!("RCPT TO:<{}@mt.com>", "a".repeat(65));
    client.smtp_expect(&long_local, "501 5.1.3").await;
    let long_domain = format!("RCPT TO:<a@{}.com>", "b.".repeat(130));
    client.smtp_expect(&long_domain, "501 5.1.3").await;
    client
        .smtp_expect("RCPT TO:<bob\0@mt.com>", "501 5.5.4")
        .await;
    client.smtp_expect("RCPT TO:<bob>", "501 5.1.3").await;
    client.smtp_expect("RCPT TO:<bob@mt.com>", "250").await;
}

#[tokio::test]
async fn long_lines_and_big_messages() {
    let server = MailServer::start(Options {
        tweak: |config| config.max_message_size = 1000,
        ..Options::default()
    })
    .await;
    let mut client = greeted(&server).await;
    let long = format!("NOOP {}", "x".repeat(5000));
    client.smtp_expect(&long, "500 5.5.2").await;
    client
        .smtp_expect("MAIL FROM:<ada@mt.com> SIZE=5000", "552 5.3.4")
        .await;
    client.smtp("MAIL FROM:<ada@mt.com> SIZE=500").await;
    client.smtp("RCPT TO:<bob@mt.com>").await;
    client.smtp("DATA").await;
    client.send("y".repeat(3000).as_bytes()).await;
    client.smtp_expect("\r\n.", "552 5.3.4").await;
    assert!(
        client.smtp("NOOP").await.starts_with("250"),
        "the session goes on"
    );
    assert!(server.inbox("bob").is_empty());
}

#[tokio::test]
async fn recipient_floods_stop_at_the_limit() {
    let server = MailServer::start(Options {
        tweak: |config| config.max_recipients = 1,
        ..Options::default()
    })
    .await;
    let mut client = greeted(&server).await;
    client.smtp("MAIL FROM:<x@y.org>").await;
    client.smtp_expect("RCPT TO:<ada@mt.com>", "250").await;
    client
        .smtp_expect("RCPT TO:<bob@mt.com>", "452 4.5.3")
        .await;
    // Ada again is no new recipient: accepted, still one.
    client.smtp_expect("RCPT TO:<ADA@mt.com>", "250").await;
}

#[tokio::test]
async fn one_copy_per_local_mailbox_however_its_address_is_spelled() {
    let server = MailServer::start(Options::default()).await;
    let mut client = greeted(&server).await;
    client.smtp("MAIL FROM:<x@y.org>").await;
    for rcpt in [
        "bob@mt.com",
        "BOB@mt.com",
        "bob@MT.COM",
        "Bob@Mt.Com",
        "ada@mt.com",
        "bob@mt.com",
    ] {
        client
            .smtp_expect(&format!("RCPT TO:<{rcpt}>"), "250 2.1.5")
            .await;
    }
    client.smtp("DATA").await;
    client
        .smtp_expect("Subject: once\r\n\r\nhello\r\n.", "250 2.0.0")
        .await;
    assert_eq!(server.inbox("bob").len(), 1, "one copy for Bob");
    assert_eq!(server.inbox("ada").len(), 1, "one copy for Ada");
}

/// A client on the submission port, logged in as Ada, in a transaction
/// from her address.
async fn submitting(server: &MailServer) -> Client {
    let mut client = Client::connect(server.submission).await;
    client.reply().await;
    client.smtp("EHLO pc.test").await;
    client
        .smtp_expect(&format!("AUTH PLAIN {PLAIN_ADA}"), "235 2.7.0")
        .await;
    client.smtp_expect("MAIL FROM:<ada@mt.com>", "250").await;
    client
}

#[tokio::test]
async fn the_relay_queue_holds_each_remote_mailbox_once() {
    let server = MailServer::start(Options::default()).await;
    let mut client = submitting(&server).await;
    for rcpt in ["bob@far.org", "bob@FAR.ORG", "BOB@far.org", "bob@Far.Org"] {
        client
            .smtp_expect(&format!("RCPT TO:<{rcpt}>"), "250 2.1.5")
            .await;
    }
    client.smtp("DATA").await;
    client.smtp_expect("x\r\n.", "250 2.0.0").await;
    let pending = server.queue.pending().unwrap();
    assert_eq!(pending.len(), 1);
    // The domain is folded; the local part is the far server's to judge.
    assert_eq!(pending[0].recipients, ["bob@far.org", "BOB@far.org"]);
}

#[tokio::test]
async fn relayed_mail_lands_once_in_the_far_mailbox() {
    let (far, server) = relaying_to_far().await;
    let mut client = submitting(&server).await;
    for rcpt in ["bob@far.org", "BOB@far.org", "bob@FAR.ORG"] {
        client
            .smtp_expect(&format!("RCPT TO:<{rcpt}>"), "250")
            .await;
    }
    client.smtp("DATA").await;
    client
        .smtp_expect("Subject: relayed once\r\n\r\nhi\r\n.", "250")
        .await;
    far.wait_for_inbox("bob", 1).await;
    // The far server stored before its 250, and the entry goes only after
    // that: once the queue is empty, the far mailbox is final.
    server.wait_for_empty_queue().await;
    assert_eq!(far.inbox("bob").len(), 1, "one copy at the far end");
}

#[tokio::test]
async fn a_queue_entry_naming_a_mailbox_twice_is_handed_on_once() {
    let (far, server) = relaying_to_far().await;
    // As an entry written before recipients were folded would be.
    let bob = |domain: &str| Mailbox {
        local: "bob".into(),
        domain: domain.into(),
    };
    server
        .queue
        .enqueue(
            &new_id(),
            None,
            &[bob("far.org"), bob("FAR.ORG")],
            b"Subject: old entry\r\n\r\nhi\r\n",
        )
        .unwrap();
    far.wait_for_inbox("bob", 1).await;
    server.wait_for_empty_queue().await;
    assert_eq!(far.inbox("bob").len(), 1, "one copy at the far end");
    let log = far.log();
    assert_eq!(log.matches("C: RCPT TO:").count(), 1, "{log}");
}

#[tokio::test]
async fn pipelined_commands_get_replies_in_order() {
    let server = MailServer::start(Options::default()).await;
    let mut client = greeted(&server).await;
    client
        .send(b"MAIL FROM:<a@b.org>\r\nRCPT TO:<ada@mt.com>\r\nRCPT TO:<no@mt.com>\r\nRCPT TO:<bob@mt.com>\r\nDATA\r\n")
        .await;
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(client.reply().await);
    }
    let codes: Vec<&str> = got.iter().map(|r| &r[..3]).collect();
    assert_eq!(codes, ["250", "250", "550", "250", "354"]);
    client.smtp_expect("x\r\n.", "250").await;
    assert_eq!(server.inbox("ada").len(), 1);
    assert_eq!(server.inbox("bob").len(), 1);
}

#[tokio::test]
async fn idle_clients_are_timed_out_and_error_floods_closed() {
    let server = MailServer::start(Options {
        tweak: |config| config.idle_timeout = Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let mut client = greeted(&server).await;
    client.send(b"NOO").await;
    assert!(client.reply().await.starts_with("421 4.4.2"));
    assert!(client.closed().await);

    let mut client = greeted(&server).await;
    for _ in 0..10 {
        client.smtp_expect("BOGUS", "500").await;
    }
    client.smtp_expect("BOGUS", "421").await;
    assert!(client.closed().await);
}

#[tokio::test]
async fn permanent_failures_bounce_to_the_sender() {
    let (_far, server) = relaying_to_far().await;
    let mut client = greeted(&server).await;
    client.smtp(&format!("AUTH PLAIN {PLAIN_ADA}")).await;
    client.smtp("MAIL FROM:<ada@mt.com>").await;
    client.smtp("RCPT TO:<nobody@far.org>").await;
    client.smtp("DATA").await;
    let reply = client
        .smtp_expect("Subject: lost\r\n\r\nhello\r\n.", "250")
        .await;
    let bounce = server.wait_for_inbox("ada", 1).await;
    // The server remembers why: queued, refused, returned in a bounce that
    // went to ada's mailbox.
    let id = reply.rsplit(' ').next().unwrap();
    let fates = server.fates.of(id).unwrap();
    assert!(
        matches!(&fates[0], Fate::Queued { recipient } if recipient == "nobody@far.org"),
        "{fates:?}"
    );
    let Some(Fate::Bounced {
        reason,
        bounce: Some(bounce_id),
        ..
    }) = fates.last()
    else {
        panic!("{fates:?}");
    };
    assert!(reason.starts_with("550 5.1.1"), "{reason}");
    assert_eq!(
        server.fates.of(bounce_id),
        Some(vec![Fate::Delivered {
            mailbox: "ada".into()
        }])
    );
    let text = String::from_utf8(bounce[0].clone()).unwrap();
    assert!(
        text.contains("Subject: Undelivered Mail Returned to Sender"),
        "{text}"
    );
    assert!(text.contains("<nobody@far.org>: 550 5.1.1"), "{text}");
    assert!(text.contains("Subject: lost"), "{text}");
}
