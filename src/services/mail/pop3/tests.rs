//! The POP3 server on 127.0.0.1: the states of RFC 1939, UPDATE only on
//! QUIT, dot-stuffed output, and bad input answered with -ERR.

use crate::services::mail::test_support::{Client, MailServer, Options};

async fn logged_in(server: &MailServer) -> Client {
    let mut client = Client::connect(server.pop3).await;
    assert!(client.line().await.unwrap().starts_with("+OK"));
    assert!(client.pop3("USER ada").await.starts_with("+OK"));
    let pass = client.pop3("PASS secret").await;
    assert!(pass.starts_with("+OK maildrop has"), "{pass}");
    client
}

#[tokio::test]
async fn retrieve_list_top_and_delete_on_quit() {
    let server = MailServer::start(Options::default()).await;
    let first = b"Subject: one\r\n\r\nline 1\r\n.dotted\r\nline 3\r\n".to_vec();
    server.store.deliver("ada", &first).unwrap();
    server
        .store
        .deliver("ada", b"Subject: two\n\nbare LF\n")
        .unwrap();
    let mut client = logged_in(&server).await;
    let total = first.len() + "Subject: two\r\n\r\nbare LF\r\n".len() - 3;
    assert_eq!(client.pop3("STAT").await, format!("+OK 2 {total}"));
    assert!(client.pop3("LIST").await.starts_with("+OK 2 messages"));
    let listing = client.pop3_data().await;
    assert_eq!(
        listing,
        format!("1 {}\r\n2 22\r\n", first.len()).into_bytes()
    );
    assert_eq!(client.pop3("LIST 2").await, "+OK 2 22");
    assert!(client.pop3("UIDL").await.starts_with("+OK"));
    let uidl = String::from_utf8(client.pop3_data().await).unwrap();
    assert_eq!(uidl.lines().count(), 2);
    assert!(client.pop3("RETR 1").await.starts_with("+OK"));
    assert_eq!(
        client.pop3_data().await,
        b"Subject: one\r\n\r\nline 1\r\n..dotted\r\nline 3\r\n"
    );
    assert!(client.pop3("RETR 2").await.starts_with("+OK"));
    assert_eq!(client.pop3_data().await, b"Subject: two\r\n\r\nbare LF\r\n");
    assert!(client.pop3("TOP 1 1").await.starts_with("+OK"));
    assert_eq!(client.pop3_data().await, b"Subject: one\r\n\r\nline 1\r\n");
    assert_eq!(client.pop3("DELE 1").await, "+OK message 1 deleted");
    assert!(client.pop3("RETR 1").await.starts_with("-ERR"));
    assert!(client.pop3("DELE 1").await.starts_with("-ERR"));
    assert!(client.pop3("STAT").await.starts_with("+OK 1 "));
    assert!(client.pop3("RSET").await.starts_with("+OK maildrop has 2"));
    client.pop3("DELE 1").await;
    // Nothing is removed before QUIT.
    assert_eq!(server.inbox("ada").len(), 2);
    let quit = client.pop3("QUIT").await;
    assert!(quit.ends_with("(1 message left)"), "{quit}");
    assert!(client.closed().await);
    assert_eq!(server.inbox("ada").len(), 1);
    // One message is one, not "1 messages".
    let mut client = logged_in(&server).await;
    assert_eq!(
        client.pop3("LIST").await,
        format!("+OK 1 message ({} octets)", 22)
    );
    client.pop3_data().await;
}

#[tokio::test]
async fn a_dropped_connection_deletes_nothing() {
    let server = MailServer::start(Options::default()).await;
    server.store.deliver("ada", b"x\r\n").unwrap();
    let mut client = logged_in(&server).await;
    client.pop3("DELE 1").await;
    drop(client);
    // Once the server saw the close, the lock is released; the message is
    // still there.
    for _ in 0..100 {
        let mut client = Client::connect(server.pop3).await;
        client.line().await;
        client.pop3("USER ada").await;
        if client.pop3("PASS secret").await.starts_with("+OK") {
            assert_eq!(client.pop3("STAT").await, "+OK 1 3");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the maildrop stayed locked");
}

#[tokio::test]
async fn bad_input_gets_err_and_the_session_goes_on() {
    let server = MailServer::start(Options::default()).await;
    server.store.deliver("ada", b"x\r\n").unwrap();
    let mut client = Client::connect(server.pop3).await;
    client.line().await;
    assert!(client.pop3("STAT").await.starts_with("-ERR"));
    assert!(client.pop3("PASS secret").await.starts_with("-ERR"));
    assert!(client.pop3("STLS").await.starts_with("-ERR"));
    assert!(client.pop3("CAPA").await.starts_with("+OK"));
    let capabilities = String::from_utf8(client.pop3_data().await).unwrap();
    assert!(capabilities.contains("UIDL") && capabilities.contains("TOP"));
    assert!(!capabilities.contains("STLS"));
    client.pop3("USER ada").await;
    assert!(client.pop3("PASS wrong").await.starts_with("-ERR [AUTH]"));
    let long = format!("USER {}", "a".repeat(300));
    assert!(client.pop3(&long).await.starts_with("-ERR line too long"));
    client.pop3("USER ada").await;
    assert!(client.pop3("PASS secret").await.starts_with("+OK"));
    for bad in [
        "RETR 0",
        "RETR 2",
        "RETR -1",
        "RETR 99999999999999999999",
        "LIST x",
        "TOP 1",
        "DELE",
    ] {
        assert!(client.pop3(bad).await.starts_with("-ERR"), "{bad}");
    }
    assert!(client.pop3("USER bob").await.starts_with("-ERR"));
    assert!(client.pop3("NOOP").await.starts_with("+OK"));

    // The maildrop is locked while this session holds it.
    let mut second = Client::connect(server.pop3).await;
    second.line().await;
    second.pop3("USER ada").await;
    assert!(
        second
            .pop3("PASS secret")
            .await
            .starts_with("-ERR [IN-USE]")
    );
}

#[tokio::test]
async fn repeated_bad_logins_close_the_session() {
    let server = MailServer::start(Options::default()).await;
    let mut client = Client::connect(server.pop3).await;
    client.line().await;
    for _ in 0..2 {
        client.pop3("USER ada").await;
        assert!(client.pop3("PASS nope").await.starts_with("-ERR [AUTH]"));
    }
    client.pop3("USER ada").await;
    assert!(
        client
            .pop3("PASS nope")
            .await
            .starts_with("-ERR [AUTH] too many")
    );
    assert!(client.closed().await);
}

#[tokio::test]
async fn idle_sessions_time_out_without_deleting() {
    let server = MailServer::start(Options {
        pop3_tweak: |config| config.idle_timeout = std::time::Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    server.store.deliver("ada", b"x\r\n").unwrap();
    let mut client = logged_in(&server).await;
    client.pop3("DELE 1").await;
    client.send(b"NOO").await;
    assert!(client.line().await.unwrap().starts_with("-ERR timeout"));
    assert!(client.closed().await);
    assert_eq!(
        server.inbox("ada").len(),
        1,
        "no UPDATE state after a timeout"
    );
}

#[tokio::test]
async fn quit_finishes_its_deletions_when_a_message_is_already_gone() {
    let server = MailServer::start(Options::default()).await;
    for n in 1..=4 {
        let message = format!("Subject: {n}\r\n\r\nmessage {n}\r\n");
        server.store.deliver("ada", message.as_bytes()).unwrap();
    }
    let mut client = logged_in(&server).await;
    for n in 1..=3 {
        assert!(client.pop3(&format!("DELE {n}")).await.starts_with("+OK"));
    }
    // Meanwhile message 1 is expunged over IMAP (which removes it through
    // the store) and message 2's file is deleted by hand.
    let uids: Vec<u32> = server
        .store
        .snapshot("ada", "INBOX")
        .unwrap()
        .messages
        .iter()
        .map(|m| m.uid)
        .collect();
    server.store.remove("ada", "INBOX", uids[0]).unwrap();
    let new = server.root.join("maildirs/ada/new");
    let second = std::fs::read_dir(&new)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| std::fs::read(path).unwrap().ends_with(b"message 2\r\n"))
        .expect("message 2's file");
    std::fs::remove_file(second).unwrap();

    let quit = client.pop3("QUIT").await;
    assert!(quit.starts_with("+OK"), "{quit}");
    assert!(quit.contains("(1 message left)"), "{quit}");
    assert_eq!(
        server.inbox("ada"),
        [b"Subject: 4\r\n\r\nmessage 4\r\n".to_vec()],
        "messages 1-3 are gone, 4 stays"
    );
}
