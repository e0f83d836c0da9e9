//! The SMTP server on 127.0.0.1: the dialogue, delivery, relay with AUTH
//! only, bounces, and every bad input of the reference list.

use std::time::Duration;

use crate::services::mail::smtp::command::Mailbox;
use crate::services::mail::smtp::queue::new_id;
use crate::services::mail::test_support::{Client, MailServer, Options};

const PLAIN_ADA: &str = "AGFkYQBzZWNyZXQ="; // \0ada\0secret

async fn greeted(server: &MailServer) -> Client {
    let mut client = Client::connect(server.smtp).await;
    assert!(client.reply().await.starts_with("220 mx.test ESMTP"));
    let ehlo = client.smtp("EHLO client.test").await;
    assert!(ehlo.starts_with("250-mx.test"), "{ehlo}");
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
    assert!(client.smtp("HELO pc.test").await.starts_with("250 "));
    assert!(client.smtp("VRFY ada").await.starts_with("252 2.0.0"));
    assert!(client.smtp("HELP").await.starts_with("214 "));
    assert!(client.smtp("NOOP").await.starts_with("250 2.0.0"));
    assert!(client.smtp("RSET").await.starts_with("250 2.0.0"));
    assert!(client.smtp("QUIT").await.starts_with("221 2.0.0"));
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
    assert!(
        client
            .smtp("MAIL FROM:<ada@mt.com>")
            .await
            .starts_with("250 2.1.0")
    );
    assert!(
        client
            .smtp("RCPT TO:<Bob@MT.com>")
            .await
            .starts_with("250 2.1.5")
    );
    assert!(client.smtp("DATA").await.starts_with("354 "));
    client.send(message.as_bytes()).await;
    let accepted = client.smtp(".").await;
    assert!(
        accepted.starts_with("250 2.0.0 Ok: queued as "),
        "{accepted}"
    );
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
    let unknown = client.smtp("RCPT TO:<nobody@mt.com>").await;
    assert!(
        unknown.starts_with("550 5.1.1 <nobody@mt.com>"),
        "{unknown}"
    );
    let relay = client.smtp("RCPT TO:<carol@elsewhere.org>").await;
    assert!(relay.starts_with("554 5.7.1"), "{relay}");
    assert!(client.smtp("DATA").await.starts_with("503 5.5.1"));
    assert!(server.queue.pending().unwrap().is_empty());
}

#[tokio::test]
async fn submission_needs_auth_and_relays_after_it() {
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
    let mut client = Client::connect(server.submission).await;
    client.reply().await;
    client.smtp("EHLO pc.test").await;
    assert!(
        client
            .smtp("MAIL FROM:<ada@mt.com>")
            .await
            .starts_with("530 5.7.0")
    );
    let auth = client.smtp(&format!("AUTH PLAIN {PLAIN_ADA}")).await;
    assert!(auth.starts_with("235 2.7.0"), "{auth}");
    assert!(
        client
            .smtp("MAIL FROM:<ada@mt.com>")
            .await
            .starts_with("250")
    );
    assert!(
        client
            .smtp("RCPT TO:<bob@far.org>")
            .await
            .starts_with("250")
    );
    client.smtp("DATA").await;
    client.send(b"Subject: across\r\n\r\n.hidden dot\r\n").await;
    assert!(client.smtp("..stuffed\r\n.").await.starts_with("250"));
    let delivered = far.wait_for_inbox("bob", 1).await;
    let text = String::from_utf8(delivered[0].clone()).unwrap();
    assert!(text.contains("with ESMTPA id"), "{text}");
    assert!(
        text.ends_with("Subject: across\r\n\r\nhidden dot\r\n.stuffed\r\n"),
        "{text}"
    );
    for _ in 0..100 {
        if server.queue.pending().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the queue entry was not removed after delivery");
}

#[tokio::test]
async fn auth_login_and_its_abuse() {
    let server = MailServer::start(Options::default()).await;
    let mut client = greeted(&server).await;
    assert_eq!(client.smtp("AUTH LOGIN").await, "334 VXNlcm5hbWU6");
    assert_eq!(client.smtp("YWRh").await, "334 UGFzc3dvcmQ6");
    assert!(client.smtp("c2VjcmV0").await.starts_with("235 2.7.0"));
    assert!(client.smtp("AUTH PLAIN").await.starts_with("503 5.5.1"));

    let mut client = greeted(&server).await;
    assert!(client.smtp("AUTH CRAM-MD5").await.starts_with("504 5.5.4"));
    assert_eq!(client.smtp("AUTH PLAIN").await, "334 ");
    assert!(client.smtp("*").await.starts_with("501 5.0.0"));
    assert!(
        client
            .smtp("AUTH PLAIN !!!notbase64")
            .await
            .starts_with("501 5.5.2")
    );
    assert!(
        client
            .smtp("AUTH PLAIN AGFkYQB3cm9uZw==")
            .await
            .starts_with("535 5.7.8")
    );
    let third = client.smtp("AUTH PLAIN AGFkYQB3cm9uZw==").await;
    assert!(third.starts_with("421 4.7.0"), "{third}");
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
    assert!(
        client
            .smtp("MAIL FROM:<ada@mt.com>")
            .await
            .starts_with("503 5.5.1")
    );
    client.smtp("EHLO pc.test").await;
    assert!(
        client
            .smtp("RCPT TO:<bob@mt.com>")
            .await
            .starts_with("503 5.5.1")
    );
    assert!(client.smtp("DATA").await.starts_with("503 5.5.1"));
    client.smtp("MAIL FROM:<ada@mt.com>").await;
    assert!(
        client
            .smtp("MAIL FROM:<ada@mt.com>")
            .await
            .starts_with("503 5.5.1")
    );
    assert!(client.smtp("DATA").await.starts_with("503 5.5.1"));
    assert!(client.smtp("STARTTLS").await.starts_with("502 5.5.1"));
    assert!(client.smtp("EXPN staff").await.starts_with("500 5.5.1"));
    assert!(client.smtp("NOOP").await.starts_with("250"));
}

#[tokio::test]
async fn malformed_addresses_and_parameters() {
    let server = MailServer::start(Options::default()).await;
    let mut client = greeted(&server).await;
    assert!(
        client
            .smtp("MAIL FROM:ada@mt.com")
            .await
            .starts_with("501 5.5.4")
    );
    assert!(
        client
            .smtp("MAIL FROM:<ada@mt.com> FOO=BAR")
            .await
            .starts_with("555 5.5.4")
    );
    client.smtp("MAIL FROM:<ada@mt.com>").await;
    let long_local = format!("RCPT TO:<{}@mt.com>", "a".repeat(65));
    assert!(client.smtp(&long_local).await.starts_with("501 5.1.3"));
    let long_domain = format!("RCPT TO:<a@{}.com>", "b.".repeat(130));
    assert!(client.smtp(&long_domain).await.starts_with("501 5.1.3"));
    assert!(
        client
            .smtp("RCPT TO:<bob\0@mt.com>")
            .await
            .starts_with("501 5.5.4")
    );
    assert!(client.smtp("RCPT TO:<bob>").await.starts_with("501 5.1.3"));
    assert!(client.smtp("RCPT TO:<bob@mt.com>").await.starts_with("250"));
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
    assert!(client.smtp(&long).await.starts_with("500 5.5.2"));
    assert!(
        client
            .smtp("MAIL FROM:<ada@mt.com> SIZE=5000")
            .await
            .starts_with("552 5.3.4")
    );
    client.smtp("MAIL FROM:<ada@mt.com> SIZE=500").await;
    client.smtp("RCPT TO:<bob@mt.com>").await;
    client.smtp("DATA").await;
    client.send("y".repeat(3000).as_bytes()).await;
    assert!(client.smtp("\r\n.").await.starts_with("552 5.3.4"));
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
    assert!(client.smtp("RCPT TO:<ada@mt.com>").await.starts_with("250"));
    assert!(
        client
            .smtp("RCPT TO:<bob@mt.com>")
            .await
            .starts_with("452 4.5.3")
    );
    // Ada again is no new recipient: accepted, still one.
    assert!(client.smtp("RCPT TO:<ADA@mt.com>").await.starts_with("250"));
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
        let reply = client.smtp(&format!("RCPT TO:<{rcpt}>")).await;
        assert!(reply.starts_with("250 2.1.5"), "{rcpt}: {reply}");
    }
    client.smtp("DATA").await;
    assert!(
        client
            .smtp("Subject: once\r\n\r\nhello\r\n.")
            .await
            .starts_with("250 2.0.0")
    );
    assert_eq!(server.inbox("bob").len(), 1, "one copy for Bob");
    assert_eq!(server.inbox("ada").len(), 1, "one copy for Ada");
}

/// A client on the submission port, logged in as Ada, in a transaction
/// from her address.
async fn submitting(server: &MailServer) -> Client {
    let mut client = Client::connect(server.submission).await;
    client.reply().await;
    client.smtp("EHLO pc.test").await;
    let auth = client.smtp(&format!("AUTH PLAIN {PLAIN_ADA}")).await;
    assert!(auth.starts_with("235 2.7.0"), "{auth}");
    assert!(
        client
            .smtp("MAIL FROM:<ada@mt.com>")
            .await
            .starts_with("250")
    );
    client
}

#[tokio::test]
async fn the_relay_queue_holds_each_remote_mailbox_once() {
    let server = MailServer::start(Options::default()).await;
    let mut client = submitting(&server).await;
    for rcpt in ["bob@far.org", "bob@FAR.ORG", "BOB@far.org", "bob@Far.Org"] {
        let reply = client.smtp(&format!("RCPT TO:<{rcpt}>")).await;
        assert!(reply.starts_with("250 2.1.5"), "{rcpt}: {reply}");
    }
    client.smtp("DATA").await;
    assert!(client.smtp("x\r\n.").await.starts_with("250 2.0.0"));
    let pending = server.queue.pending().unwrap();
    assert_eq!(pending.len(), 1);
    // The domain is folded; the local part is the far server's to judge.
    assert_eq!(pending[0].recipients, ["bob@far.org", "BOB@far.org"]);
}

#[tokio::test]
async fn relayed_mail_lands_once_in_the_far_mailbox() {
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
    let mut client = submitting(&server).await;
    for rcpt in ["bob@far.org", "BOB@far.org", "bob@FAR.ORG"] {
        assert!(
            client
                .smtp(&format!("RCPT TO:<{rcpt}>"))
                .await
                .starts_with("250")
        );
    }
    client.smtp("DATA").await;
    assert!(
        client
            .smtp("Subject: relayed once\r\n\r\nhi\r\n.")
            .await
            .starts_with("250")
    );
    far.wait_for_inbox("bob", 1).await;
    // The far server stored before its 250, and the entry goes only after
    // that: once the queue is empty, the far mailbox is final.
    for _ in 0..200 {
        if server.queue.pending().unwrap().is_empty() {
            assert_eq!(far.inbox("bob").len(), 1, "one copy at the far end");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the queue entry was not removed after delivery");
}

#[tokio::test]
async fn a_queue_entry_naming_a_mailbox_twice_is_handed_on_once() {
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
    for _ in 0..200 {
        if server.queue.pending().unwrap().is_empty() {
            assert_eq!(far.inbox("bob").len(), 1, "one copy at the far end");
            let log = far.log();
            assert_eq!(log.matches("C: RCPT TO:").count(), 1, "{log}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the queue entry was not removed after delivery");
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
    assert!(client.smtp("x\r\n.").await.starts_with("250"));
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
        assert!(client.smtp("BOGUS").await.starts_with("500"));
    }
    assert!(client.smtp("BOGUS").await.starts_with("421"));
    assert!(client.closed().await);
}

#[tokio::test]
async fn permanent_failures_bounce_to_the_sender() {
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
    let mut client = greeted(&server).await;
    client.smtp(&format!("AUTH PLAIN {PLAIN_ADA}")).await;
    client.smtp("MAIL FROM:<ada@mt.com>").await;
    client.smtp("RCPT TO:<nobody@far.org>").await;
    client.smtp("DATA").await;
    assert!(
        client
            .smtp("Subject: lost\r\n\r\nhello\r\n.")
            .await
            .starts_with("250")
    );
    let bounce = server.wait_for_inbox("ada", 1).await;
    let text = String::from_utf8(bounce[0].clone()).unwrap();
    assert!(
        text.contains("Subject: Undelivered Mail Returned to Sender"),
        "{text}"
    );
    assert!(text.contains("<nobody@far.org>: 550 5.1.1"), "{text}");
    assert!(text.contains("Subject: lost"), "{text}");
}
