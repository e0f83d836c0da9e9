//! One node, one runtime thread: what one IMAP user asks for must not hold
//! up the node's other servers. SMTP, POP3 and IMAP run on one
//! current-thread runtime, as in the daemon (`daemon/node.rs`), on
//! 127.0.0.1; a costly SEARCH is under way while another client goes
//! through a whole SMTP session.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use super::server_tests::Client as ImapClient;
use crate::services::mail::store::Store;
use crate::services::mail::test_support::{Client, MailServer, Options};

/// A node's mail servers, on a runtime thread of their own.
struct Node {
    store: Store,
    smtp: SocketAddr,
    imap: SocketAddr,
    /// Dropping it stops the servers and removes their directory.
    done: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Node {
    /// Waits until the servers' directory is gone, failed assertion or not.
    fn drop(&mut self) {
        self.done.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The mail servers on one current-thread runtime, like a node's.
fn start_node() -> Node {
    let (started_tx, started) = mpsc::channel();
    let (done, done_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = MailServer::start(Options::default()).await;
            started_tx
                .send((server.store.clone(), server.smtp, server.imap))
                .unwrap();
            // Park off the runtime thread until the test is over.
            let _ = tokio::task::spawn_blocking(move || done_rx.recv()).await;
            drop(server);
        });
    });
    let (store, smtp, imap) = started.recv().unwrap();
    Node {
        store,
        smtp,
        imap,
        done: Some(done),
        thread: Some(thread),
    }
}

/// Messages no SEARCH key below matches, large enough that searching them
/// 100 times over takes seconds.
fn fill_inbox(store: &Store) {
    let line = b"The routers forward packets between the two lab networks.\r\n";
    let message = [
        &b"From: bob@mt.com\r\nSubject: capture\r\n\r\n"[..],
        &line.repeat(8 * 1024 * 1024 / line.len()),
    ]
    .concat();
    for _ in 0..10 {
        store
            .append("ada", "INBOX", &message, &[], SystemTime::now())
            .unwrap();
    }
}

#[test]
fn a_costly_search_does_not_stall_the_node() {
    let node = start_node();
    fill_inbox(&node.store);
    // The costliest SEARCH the parser takes: every key a full-text scan.
    let keys: Vec<String> = (0..super::parser::MAX_SEARCH_KEYS)
        .map(|i| format!("TEXT absent-{i:03}"))
        .collect();
    let search = format!("SEARCH {}", keys.join(" "));
    let (sent_tx, sent) = mpsc::channel();
    let imap = node.imap;
    let heavy = std::thread::spawn(move || {
        let (mut c, _) = ImapClient::connect_to(imap);
        assert!(c.run("a", "LOGIN ada secret").contains("a OK"));
        assert!(c.run("b", "SELECT INBOX").contains("b OK"));
        let started = Instant::now();
        sent_tx.send(()).unwrap();
        let reply = c.run("s", &search);
        (reply, started.elapsed(), Instant::now())
    });
    sent.recv().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Another client's whole SMTP session, on the same runtime.
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let smtp_started = Instant::now();
    client.block_on(async {
        let mut c = Client::connect(node.smtp).await;
        assert!(c.reply().await.starts_with("220 "));
        c.smtp_expect("EHLO pc.mt.com", "250").await;
        c.smtp_expect("MAIL FROM:<ada@mt.com>", "250").await;
        c.smtp_expect("RCPT TO:<bob@mt.com>", "250").await;
        c.smtp_expect("DATA", "354").await;
        let sent = c.smtp("Subject: meanwhile\r\n\r\nStill here.\r\n.").await;
        assert!(sent.starts_with("250"), "{sent}");
        c.smtp_expect("QUIT", "221").await;
    });
    let smtp_done = Instant::now();
    let smtp_took = smtp_done - smtp_started;
    let (reply, search_took, search_done) = heavy.join().expect("the SEARCH was answered");
    assert!(
        reply.contains("* SEARCH\r\n") && reply.contains("s OK"),
        "{reply}"
    );
    assert!(
        smtp_done < search_done,
        "the SMTP session (took {smtp_took:?}) had to wait for the SEARCH (took {search_took:?})"
    );
    let bob = node.store.snapshot("bob", "INBOX").unwrap();
    assert_eq!(bob.messages.len(), 1);
    eprintln!("SEARCH took {search_took:?}; the SMTP session meanwhile {smtp_took:?}");
}
