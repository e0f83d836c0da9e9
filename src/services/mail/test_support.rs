//! Mail servers on 127.0.0.1 for the protocol tests: a store, queue and log
//! in a temporary directory, SMTP (25 and 587 roles), POP3 and IMAP
//! listeners on ephemeral ports, all on the caller's runtime (as on a node),
//! the relay worker, and a line-oriented test client. With `Options::tls`
//! the servers get a certificate from a fresh CA for `mx.test` and
//! 127.0.0.1 and listen on the implicit-TLS ports too; the client can
//! switch to TLS and checks the server against that CA.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::lab::model_tls::TlsMode;
use crate::services::tls::authority::{LabCa, Subject};
use crate::services::tls::transport::{self, ReadHalf, WriteHalf};
use crate::services::tls::{ServerTls, config as tls_config};

use super::accounts::Accounts;
use super::imap::server::{self as imap, ImapConfig};
use super::lines::{Line, read_line};
use super::pop3::server::{self as pop3, Pop3Config};
use super::smtp::delivery::Delivery;
use super::smtp::fates::Fates;
use super::smtp::queue::Queue;
use super::smtp::relay::{NextHop, Relay, Retry};
use super::smtp::server::{self as smtp, SmtpConfig};
use super::store::Store;
use super::transcript::Transcript;
use crate::services::shutdown::ShutdownTrigger;

/// Settings a test may change before the servers start.
pub struct Options {
    pub domain: &'static str,
    pub next_hop: Option<SocketAddr>,
    pub tweak: fn(&mut SmtpConfig),
    pub pop3_tweak: fn(&mut Pop3Config),
    pub imap_tweak: fn(&mut ImapConfig),
    /// TLS on every server (off: none, as before).
    pub tls: TlsMode,
    /// What the relay trusts (with `next_hop`): STARTTLS when offered.
    pub relay_tls: Option<TlsConnector>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            domain: "mt.com",
            next_hop: None,
            tweak: |_| {},
            pop3_tweak: |_| {},
            imap_tweak: |_| {},
            tls: TlsMode::Off,
            relay_tls: None,
        }
    }
}

pub struct MailServer {
    pub root: PathBuf,
    pub store: Store,
    pub queue: Queue,
    pub fates: Arc<Fates>,
    pub smtp: SocketAddr,
    pub submission: SocketAddr,
    pub pop3: SocketAddr,
    pub imap: SocketAddr,
    /// With `Options::tls`: ports 465, 995 and 993's roles, and a client
    /// side that trusts the test CA.
    pub implicit: Option<Implicit>,
    transcript: Transcript,
    _stop: ShutdownTrigger,
}

impl MailServer {
    /// Users ada and bob (password `secret`) at `options.domain`.
    pub async fn start(options: Options) -> MailServer {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "labctl-mail-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        let accounts = Arc::new(Accounts::new(
            [options.domain],
            [("ada", "secret"), ("bob", "secret")],
        ));
        let store = Store::open(&root.join("maildirs")).unwrap();
        for user in &accounts.users() {
            store.create_user(user).unwrap();
        }
        let queue = Queue::open(&root.join("queue")).unwrap();
        let transcript = Transcript::open(&root.join("mail.log")).unwrap();
        let fates = Arc::new(Fates::default());
        let delivery = Arc::new(Delivery {
            accounts: accounts.clone(),
            store: store.clone(),
            queue: queue.clone(),
            fates: fates.clone(),
        });
        let stop_tx = ShutdownTrigger::new();
        let stop = stop_tx.subscribe();
        let (server_tls, connector) = test_tls(options.tls);
        let implicit = server_tls.is_some();
        let mut addresses = Vec::new();
        for (submission, implicit_tls) in [(false, false), (true, false), (true, true)] {
            if implicit_tls && !implicit {
                continue;
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addresses.push(listener.local_addr().unwrap());
            let mut config = SmtpConfig::new("mx.test".into(), delivery.clone(), submission);
            config.tls = server_tls.clone();
            config.implicit_tls = implicit_tls;
            (options.tweak)(&mut config);
            tokio::spawn(smtp::serve(
                listener,
                Arc::new(config),
                transcript.clone(),
                stop.clone(),
            ));
        }
        let mut pop3_addresses = Vec::new();
        for implicit_tls in [false, true] {
            if implicit_tls && !implicit {
                continue;
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            pop3_addresses.push(listener.local_addr().unwrap());
            let mut config = Pop3Config::new("mx.test".into(), accounts.clone(), store.clone());
            config.tls = server_tls.clone();
            config.implicit_tls = implicit_tls;
            (options.pop3_tweak)(&mut config);
            tokio::spawn(pop3::serve(
                listener,
                Arc::new(config),
                transcript.clone(),
                stop.clone(),
            ));
        }
        let mut imap_addresses = Vec::new();
        for implicit_tls in [false, true] {
            if implicit_tls && !implicit {
                continue;
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            imap_addresses.push(listener.local_addr().unwrap());
            let mut config = ImapConfig::new(accounts.clone(), store.clone());
            config.tls = server_tls.clone();
            config.implicit_tls = implicit_tls;
            (options.imap_tweak)(&mut config);
            tokio::spawn(imap::serve(
                listener,
                Arc::new(config),
                transcript.clone(),
                stop.clone(),
            ));
        }
        let pop3_address = pop3_addresses[0];
        let imap_address = imap_addresses[0];
        if let Some(hop) = options.next_hop {
            let relay = Relay {
                hostname: "mx.test".into(),
                next_hop: NextHop::Fixed(vec![hop]),
                retry: Retry {
                    first: Duration::from_secs(1),
                    longest: Duration::from_secs(1),
                    give_up_after: Duration::from_secs(3600),
                },
                reply_timeout: Duration::from_secs(5),
                delivery,
                transcript: Transcript::discard(),
                tls: options.relay_tls.clone(),
            };
            tokio::spawn(relay.run(stop.clone()));
        }
        MailServer {
            root,
            store,
            queue,
            fates,
            smtp: addresses[0],
            submission: addresses[1],
            pop3: pop3_address,
            imap: imap_address,
            implicit: connector.map(|connector| Implicit {
                smtps: addresses[2],
                pop3s: pop3_addresses[1],
                imaps: imap_addresses[1],
                connector,
            }),
            transcript,
            _stop: stop_tx,
        }
    }

    /// The bodies in a user's INBOX, oldest first.
    pub fn inbox(&self, user: &str) -> Vec<Vec<u8>> {
        let snapshot = self.store.snapshot(user, "INBOX").unwrap();
        snapshot
            .messages
            .iter()
            .map(|m| self.store.read(user, "INBOX", m.uid).unwrap())
            .collect()
    }

    /// Waits (up to 10 s) until `user` has `count` messages.
    pub async fn wait_for_inbox(&self, user: &str, count: usize) -> Vec<Vec<u8>> {
        for _ in 0..200 {
            let inbox = self.inbox(user);
            if inbox.len() >= count {
                return inbox;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{user} did not get {count} messages");
    }

    /// Waits (up to 10 s) until the relay queue is empty.
    pub async fn wait_for_empty_queue(&self) {
        for _ in 0..200 {
            if self.queue.pending().unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the queue entry was not removed after delivery");
    }

    pub fn log(&self) -> String {
        self.transcript.sync();
        std::fs::read_to_string(self.root.join("mail.log")).unwrap()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A client that sends lines and reads replies (multi-line SMTP replies
/// joined with `\n`; POP3 single lines).
pub struct Client {
    reader: BufReader<ReadHalf>,
    writer: WriteHalf,
}

impl Client {
    pub async fn connect(address: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(address).await.unwrap())
    }

    /// A client whose side of the connection is `from` (any 127/8 address:
    /// loopback takes them all), to look like another machine.
    pub async fn connect_from(from: std::net::IpAddr, address: SocketAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from, 0)).unwrap();
        Client::from_stream(socket.connect(address).await.unwrap())
    }

    fn from_stream(stream: TcpStream) -> Client {
        let (read, write) = transport::split(stream);
        Client {
            reader: BufReader::new(read),
            writer: write,
        }
    }

    /// A connection to an implicit-TLS port, the server checked as `mx.test`.
    pub async fn connect_tls(address: SocketAddr, connector: &TlsConnector) -> Client {
        let stream = TcpStream::connect(address).await.unwrap();
        let (read, write) = transport::connect(stream, connector, server_name())
            .await
            .expect("TLS handshake");
        Client {
            reader: BufReader::new(read),
            writer: write,
        }
    }

    /// The client's side of STARTTLS/STLS, after the server's go-ahead.
    pub async fn start_tls(&mut self, connector: &TlsConnector) {
        transport::start_client_tls(&mut self.reader, &mut self.writer, connector, server_name())
            .await
            .expect("TLS handshake");
    }

    pub fn is_encrypted(&self) -> bool {
        transport::is_encrypted(self.reader.get_ref())
    }

    /// One line from the server (None when it closed).
    pub async fn line(&mut self) -> Option<String> {
        let read = tokio::time::timeout(
            Duration::from_secs(10),
            read_line(&mut self.reader, 100_000),
        )
        .await
        .expect("the server answers in time")
        .unwrap();
        match read {
            Line::Complete(line) => Some(String::from_utf8(line).unwrap()),
            _ => None,
        }
    }

    /// A whole SMTP reply.
    pub async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await.expect("a reply");
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// Sends a command line, returns the SMTP reply.
    pub async fn smtp(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Sends a command line, asserts that the SMTP reply starts with
    /// `expected` (naming both on failure), returns the reply.
    pub async fn smtp_expect(&mut self, line: &str, expected: &str) -> String {
        let reply = self.smtp(line).await;
        assert!(reply.starts_with(expected), "{line}: {reply}");
        reply
    }

    /// Sends a command line, returns the first POP3 reply line.
    pub async fn pop3(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.line().await.expect("a reply")
    }

    /// POP3 multi-line data after a `+OK` line, up to the "." line,
    /// exactly as sent (still dot-stuffed).
    pub async fn pop3_data(&mut self) -> Vec<u8> {
        let mut data = Vec::new();
        loop {
            let line = self.line().await.expect("data");
            if line == "." {
                return data;
            }
            data.extend_from_slice(line.as_bytes());
            data.extend_from_slice(b"\r\n");
        }
    }

    /// Whether the server closed the connection.
    pub async fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.reader.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// The implicit-TLS listeners of a test server with TLS.
pub struct Implicit {
    pub smtps: SocketAddr,
    pub pop3s: SocketAddr,
    pub imaps: SocketAddr,
    /// Trusts the test CA only.
    pub connector: TlsConnector,
}

fn server_name() -> rustls::pki_types::ServerName<'static> {
    rustls::pki_types::ServerName::try_from("mx.test").expect("a DNS name")
}

/// A fresh CA and a certificate for `mx.test` and 127.0.0.1, unless off.
fn test_tls(mode: TlsMode) -> (Option<ServerTls>, Option<TlsConnector>) {
    if mode == TlsMode::Off {
        return (None, None);
    }
    let subject = Subject {
        names: vec!["mx.test".into()],
        addresses: vec![std::net::Ipv4Addr::LOCALHOST.into()],
    };
    let ca = LabCa::generate("test", std::slice::from_ref(&subject)).unwrap();
    let issued = ca.issue(&subject).unwrap();
    let server = ServerTls {
        acceptor: tls_config::acceptor(&issued.chain_pem, &issued.key_pem).unwrap(),
        required: mode == TlsMode::Required,
    };
    (
        Some(server),
        Some(tls_config::connector(&ca.cert_pem).unwrap()),
    )
}
