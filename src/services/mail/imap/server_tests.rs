//! The IMAP server on 127.0.0.1 (no root): the state machine and bad input
//! over a raw socket, and real clients (Python's imaplib, curl, s-nail)
//! against it. Each test runs its own server on an ephemeral port with its
//! own store in a temp dir. One file past 600 lines: every test speaks
//! through the same small client harness at the top, and splitting the
//! protocol's walk-through by command would scatter it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use super::connection::Limits;
use super::server::{ImapConfig, serve};
use crate::services::mail::accounts::Accounts;
use crate::services::mail::store::Store;
use crate::services::mail::transcript::Transcript;
use crate::services::shutdown::ShutdownTrigger;
use crate::services::test_thread::serve_on_own_thread;

/// A message with a text part and a binary attachment (octets 0-255
/// repeated, base64), with CRLF line ends.
pub fn attachment_message() -> Vec<u8> {
    include_bytes!("../../../../tests/imap/lab3.eml").to_vec()
}

pub struct TestServer {
    pub address: SocketAddr,
    pub store: Store,
    pub dir: PathBuf,
    stop: ShutdownTrigger,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.fire();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server for users ada/secret and bob/pw (domain mt.com); `tune` adjusts
/// the defaults.
pub fn start(tune: fn(&mut ImapConfig)) -> TestServer {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("labctl-imap-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir.join("mail")).unwrap();
    store.create_user("ada").unwrap();
    let accounts = Arc::new(Accounts::new(
        ["mt.com"],
        [("ada", "secret"), ("bob", "pw")],
    ));
    let mut config = ImapConfig::new(accounts, store.clone());
    tune(&mut config);
    let transcript = Transcript::open(&dir.join("dialogue.log")).unwrap();
    let stop = ShutdownTrigger::new();
    let stop_rx = stop.subscribe();
    let address = serve_on_own_thread(move |listener| async move {
        serve(listener, Arc::new(config), transcript, stop_rx)
            .await
            .unwrap();
    });
    TestServer {
        address,
        store,
        dir,
        stop,
    }
}

/// A raw client: sends lines, reads until the tagged reply.
pub(super) struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(server: &TestServer) -> (Client, String) {
        Client::connect_to(server.address)
    }

    /// Connects and reads the greeting.
    pub(super) fn connect_to(address: SocketAddr) -> (Client, String) {
        let stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let greeting = client.line();
        (client, greeting)
    }

    pub(super) fn line(&mut self) -> String {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        String::from_utf8_lossy(&line).into_owned()
    }

    pub(super) fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// Sends `tag command` and returns every line up to the tagged one.
    pub(super) fn run(&mut self, tag: &str, command: &str) -> String {
        self.send(format!("{tag} {command}\r\n").as_bytes());
        self.until(tag)
    }

    pub(super) fn until(&mut self, tag: &str) -> String {
        let mut all = String::new();
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "connection closed; got so far:\n{all}");
            all.push_str(&line);
            if line.starts_with(&format!("{tag} ")) {
                return all;
            }
        }
    }

    /// Sends `tag command`, asserts that the reply contains `expected`
    /// (showing it on failure), returns the reply.
    pub(super) fn run_contains(&mut self, tag: &str, command: &str, expected: &str) -> String {
        let reply = self.run(tag, command);
        assert!(reply.contains(expected), "{tag} {command}: {reply}");
        reply
    }

    /// Like `run_contains`, for a reply that starts with `expected`.
    pub(super) fn run_starts_with(&mut self, tag: &str, command: &str, expected: &str) -> String {
        let reply = self.run(tag, command);
        assert!(reply.starts_with(expected), "{tag} {command}: {reply}");
        reply
    }

    /// `tag LOGIN ada secret` with both strings as synchronizing literals,
    /// asserting each continuation; returns the reply.
    fn login_with_literals(&mut self, tag: &str) -> String {
        self.send(format!("{tag} LOGIN {{3}}\r\n").as_bytes());
        assert!(self.line().starts_with("+ "));
        self.send(b"ada {6}\r\n");
        assert!(self.line().starts_with("+ "));
        self.send(b"secret\r\n");
        self.until(tag)
    }

    /// Like `until`, but a BYE also ends the reply.
    fn until_or_bye(&mut self, tag: &str) -> String {
        let mut all = String::new();
        loop {
            let line = self.line();
            assert!(
                !line.is_empty(),
                "connection closed without BYE; got so far:\n{all}"
            );
            all.push_str(&line);
            if line.starts_with(&format!("{tag} ")) || line.starts_with("* BYE") {
                return all;
            }
        }
    }

    /// Whether the server closed the connection (after what it still sent).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok()
    }
}

fn small_limits(config: &mut ImapConfig) {
    config.limits = Limits {
        max_line: 1024,
        max_message: 100_000,
        max_literals: 256,
        max_literals_before_login: 128,
    };
}

fn defaults(_: &mut ImapConfig) {}

#[test]
fn state_machine_and_bad_input() {
    let server = start(small_limits);
    server.store.deliver("ada", &attachment_message()).unwrap();
    let (mut c, greeting) = Client::connect(&server);
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1"),
        "{greeting}"
    );
    c.run_starts_with("a1", "SELECT INBOX", "a1 BAD log in first");
    c.send(b"\x00\xff\xfe garbage\r\n");
    assert!(c.line().starts_with("* BAD"));
    c.run_contains("a2", "FROBNICATE", "a2 BAD unknown command");
    c.run_starts_with("a3", "LOGIN ada", "a3 BAD");
    // Over-long line: refused, the session goes on.
    c.send(format!("a4 NOOP {}\r\n", "x".repeat(100_000)).as_bytes());
    assert!(c.until("a4").contains("a4 BAD command line too long"));
    // An oversize literal is refused before the client sends it.
    c.run_contains("a5", "LOGIN {100000}", "a5 NO [TOOBIG]");
    c.run_contains("a6", "NOOP", "a6 OK");
    // A literal within the limits, with its continuation.
    assert!(c.login_with_literals("a7").contains("a7 OK"));
    c.run_contains("b1", "LOGIN ada secret", "b1 BAD already logged in");
    // A pattern with a multi-byte character where INBOX would end.
    c.run_contains("l1", "LIST \"\" \"INBO\u{20ac}\"", "l1 OK");
    c.run_contains(
        "l2",
        "LIST \"\" inbox",
        "* LIST (\\HasNoChildren) \".\" \"INBOX\"",
    );
    c.run_contains("b2", "FETCH 1 FLAGS", "b2 BAD no mailbox selected");
    c.run_contains("b3", "SELECT Nowhere", "b3 NO [NONEXISTENT]");
    let examine = c.run("b4", "EXAMINE INBOX");
    assert!(
        examine.contains("* 1 EXISTS") && examine.contains("b4 OK [READ-ONLY]"),
        "{examine}"
    );
    c.run_contains("b5", "STORE 1 +FLAGS (\\Deleted)", "b5 NO [READ-ONLY]");
    c.run_contains("b6", "FETCH 2 FLAGS", "b6 BAD no message 2");
    c.run_contains("b7", "FETCH 1 (FLAGS", "b7 BAD");
    assert!(
        c.run("b8", "UID FETCH 99 FLAGS").starts_with("b8 OK"),
        "absent UIDs are skipped"
    );
    // EXAMINE never sets \Seen.
    c.run_contains("b9", "FETCH 1 BODY[TEXT]", "FETCH (BODY[TEXT]");
    c.run_contains("c1", "FETCH 1 FLAGS", "FLAGS ()");
    c.run_contains("c2", "SEARCH CHARSET KOI8-R ALL", "c2 NO [BADCHARSET");
    // An APPEND literal within the limit is stored; a larger one is refused
    // before it is sent.
    let appended = c.run("c4", "APPEND INBOX {5+}\r\nHi\r\n!");
    assert!(
        appended.contains("* 2 EXISTS") && appended.contains("c4 OK [APPENDUID"),
        "{appended}"
    );
    c.run_contains("c5", "APPEND INBOX {100001}", "c5 NO [TOOBIG]");
    let logout = c.run("c3", "LOGOUT");
    assert!(logout.contains("* BYE") && logout.contains("c3 OK"));
    assert!(c.closed());
}

#[test]
fn oversize_non_synchronizing_literal_closes_the_connection() {
    let server = start(small_limits);
    let (mut c, _) = Client::connect(&server);
    c.run("a", "LOGIN ada secret");
    // The client sends the octets without waiting: they cannot be skipped
    // cheaply, so the server refuses, says BYE and closes.
    c.send(b"b APPEND INBOX {4000000000+}\r\n");
    assert!(c.line().starts_with("b NO [TOOBIG]"));
    assert!(c.line().starts_with("* BYE"));
    assert!(c.closed());
    assert!(
        server
            .store
            .snapshot("ada", "INBOX")
            .unwrap()
            .messages
            .is_empty()
    );
}

#[test]
fn strangers_get_no_room_for_big_literals() {
    let server = start(defaults);
    let (mut c, _) = Client::connect(&server);
    // Before login a message-sized literal is refused at once, without a
    // continuation: the server never reads (or holds) its octets.
    c.send(b"a APPEND INBOX {33554432}\r\n");
    let refused = c.line();
    assert!(
        refused.starts_with("a NO [TOOBIG] literal too large before login"),
        "{refused}"
    );
    assert!(
        c.run("b", "NOOP").starts_with("b OK"),
        "the session goes on"
    );
    // LOGIN's strings still fit, as literals too.
    assert!(c.login_with_literals("c").starts_with("c OK"));
    // Logged in, a large APPEND is accepted and stored whole.
    let message = [
        &b"Subject: big\r\n\r\n"[..],
        &b"0123456789abcdef\r\n".repeat(256 * 1024),
    ]
    .concat();
    c.send(format!("d APPEND INBOX {{{}}}\r\n", message.len()).as_bytes());
    assert!(c.line().starts_with("+ "));
    c.send(&message);
    c.send(b"\r\n");
    assert!(c.until("d").contains("d OK [APPENDUID"));
    assert_eq!(server.store.read("ada", "INBOX", 1).unwrap(), message);
    // A stranger's non-synchronizing literal that is too large: its octets
    // are already on the way, so the connection closes.
    let (mut stranger, _) = Client::connect(&server);
    stranger.send(b"e APPEND INBOX {33554432+}\r\n");
    assert!(stranger.line().starts_with("e NO [TOOBIG]"));
    assert!(stranger.line().starts_with("* BYE"));
    assert!(stranger.closed());
}

#[test]
fn one_command_has_a_bounded_cost() {
    let server = start(defaults);
    // A user at the folder cap (made by hand: quicker than 1,000 CREATEs).
    for i in 1..crate::services::mail::store::MAX_FOLDERS {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(
                server
                    .dir
                    .join(format!("mail/ada/.Lab{}.F{i}/{sub}", i % 10)),
            )
            .unwrap();
        }
    }
    let (mut c, _) = Client::connect(&server);
    c.run("a", "LOGIN ada secret");
    let created = c.run("b", "CREATE Last");
    assert!(created.starts_with("b OK"), "{created}");
    let refused = c.run("c", "CREATE OneTooMany");
    assert!(
        refused.starts_with("c NO [LIMIT]") && refused.contains("delete some first"),
        "{refused}"
    );
    // LIST over all of them still works, levels above included.
    let listed = c.run("d", "LIST \"\" *");
    assert_eq!(
        listed.matches("* LIST ").count(),
        1 + 1_000 + 10,
        "INBOX, folders, levels"
    );
    assert!(listed.contains("* LIST (\\Noselect \\HasChildren) \".\" \"Lab3\"\r\n"));
    assert!(listed.contains("* LIST (\\HasNoChildren) \".\" \"Lab3.F13\"\r\n"));
    // A pattern past the caps is refused before any folder is looked at.
    let stars = "*".repeat(60_000);
    let refused = c.run("e", &format!("LIST \"\" \"{stars}\""));
    assert!(
        refused.starts_with("e NO [LIMIT] LIST pattern too complex"),
        "{refused}"
    );
    let refused = c.run("f", &format!("LSUB \"\" \"{}\"", "a%".repeat(21)));
    assert!(
        refused.starts_with("f NO [LIMIT] LSUB pattern"),
        "{refused}"
    );
    c.run_contains("g", "LIST \"\" \"La%.F1*\"", "\"Lab1.F11\"\r\n");
    // SEARCH takes up to 100 keys, counting those inside NOT, OR and ().
    c.run("h", "SELECT INBOX");
    let keys = |n: usize| vec!["NOT SEEN"; n / 2].join(" ");
    c.run_contains("i", &format!("SEARCH {}", keys(100)), "i OK");
    let refused = c.run("j", &format!("SEARCH {}", keys(102)));
    assert!(
        refused.starts_with("j NO [LIMIT] too many search keys"),
        "{refused}"
    );
}

#[test]
fn a_stream_of_garbage_is_cut_off() {
    let server = start(small_limits);
    let (mut c, _) = Client::connect(&server);
    // An HTTP client on the IMAP port: every line is refused, the session
    // goes on for a while, then ends.
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20).as_bytes());
    let mut replies = 0;
    loop {
        let line = c.line();
        assert!(
            !line.is_empty(),
            "closed without BYE after {replies} replies"
        );
        if line.starts_with("* BYE too many malformed commands") {
            break;
        }
        assert!(line.contains("BAD"), "{line}");
        replies += 1;
    }
    assert_eq!(replies, 51);
    assert!(c.closed());
}

#[test]
fn repeated_failed_logins_close_the_connection() {
    let server = start(small_limits);
    let (mut c, _) = Client::connect(&server);
    c.run_contains("a", "LOGIN ada wrong", "a NO [AUTHENTICATIONFAILED]");
    c.run_contains(
        "b",
        "AUTHENTICATE PLAIN AGFkYQB3cm9uZw==",
        "b NO [AUTHENTICATIONFAILED]",
    );
    c.send(b"c LOGIN nobody x\r\n");
    assert!(c.line().starts_with("c NO"));
    assert!(c.line().starts_with("* BYE too many failed logins"));
    assert!(c.closed());
}

#[test]
fn authenticate_plain_continuations() {
    let server = start(small_limits);
    let (mut c, _) = Client::connect(&server);
    c.send(b"a AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ \r\n");
    c.send(b"*\r\n");
    assert!(c.until("a").starts_with("a BAD AUTHENTICATE cancelled"));
    c.send(b"b AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ \r\n");
    c.send(b"not base64!\r\n");
    assert!(c.until("b").starts_with("b BAD"));
    c.send(b"c AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ \r\n");
    c.send(b"AGFkYQBzZWNyZXQ=\r\n"); // \0ada\0secret
    assert!(c.until("c").starts_with("c OK"));
    c.run_starts_with("d", "AUTHENTICATE CRAM-MD5", "d BAD already logged in");
}

#[test]
fn idle_sees_new_mail_and_silence_times_out() {
    let server = start(|config| {
        config.idle_timeout = Duration::from_millis(1500);
        config.idle_poll = Duration::from_millis(100);
    });
    let (mut c, _) = Client::connect(&server);
    c.run("a", "LOGIN ada secret");
    c.run_contains("b", "SELECT INBOX", "* 0 EXISTS");
    c.send(b"c IDLE\r\n");
    assert_eq!(c.line(), "+ idling\r\n");
    server
        .store
        .deliver("ada", b"Subject: ping\r\n\r\nhi\r\n")
        .unwrap();
    assert_eq!(c.line(), "* 1 EXISTS\r\n");
    assert_eq!(c.line(), "* 1 RECENT\r\n");
    c.send(b"DONE\r\n");
    assert_eq!(c.line(), "c OK IDLE terminated\r\n");
    // Then silence: the server says BYE and closes.
    let started = std::time::Instant::now();
    assert!(c.line().starts_with("* BYE idle for too long"));
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert!(c.closed());
}

#[test]
fn concurrent_sessions_see_each_others_changes() {
    let server = start(small_limits);
    for subject in ["one", "two", "three"] {
        server
            .store
            .deliver(
                "ada",
                format!("Subject: {subject}\r\n\r\nbody\r\n").as_bytes(),
            )
            .unwrap();
    }
    let (mut a, _) = Client::connect(&server);
    let (mut b, _) = Client::connect(&server);
    for c in [&mut a, &mut b] {
        c.run("l", "LOGIN ada secret");
        c.run_contains("s", "SELECT INBOX", "* 3 EXISTS");
    }
    let stored = a.run("t", "STORE 2 +FLAGS (\\Deleted)");
    assert!(stored.contains("* 2 FETCH (FLAGS (\\Deleted))"), "{stored}");
    a.run_contains("x", "EXPUNGE", "* 2 EXPUNGE");
    // The other session is told on NOOP, not during FETCH.
    let fetched = b.run("f", "FETCH 1:3 (FLAGS)");
    assert!(!fetched.contains("EXPUNGE"), "{fetched}");
    let noop = b.run("n", "NOOP");
    assert!(noop.contains("* 2 EXPUNGE"), "{noop}");
    b.run_contains(
        "f2",
        "FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]",
        "Subject: three",
    );
    // MOVE, COPY and UIDPLUS codes.
    b.run_contains("c", "CREATE Archive", "c OK");
    let copy = b.run("cp", "UID COPY 1 Archive");
    assert!(copy.contains("[COPYUID "), "{copy}");
    let moved = b.run("mv", "MOVE 1 Archive");
    assert!(
        moved.contains("* 1 EXPUNGE") && moved.contains("mv OK"),
        "{moved}"
    );
    // Renaming the selected folder keeps it selected under its new name.
    b.run_contains("se", "SELECT Archive", "* 2 EXISTS");
    b.run_contains("rn", "RENAME Archive Old", "rn OK");
    let renamed = b.run("nf", "FETCH 1:2 FLAGS");
    assert!(
        renamed.contains("nf OK") && !renamed.contains("* NO"),
        "{renamed}"
    );
    b.run_contains("rb", "RENAME Old Archive", "rb OK");
    b.run_contains("bk", "SELECT INBOX", "bk OK");
    let status = b.run("st", "STATUS Archive (MESSAGES UNSEEN)");
    assert!(
        status.contains("* STATUS \"Archive\" (MESSAGES 2 UNSEEN 2)"),
        "{status}"
    );
    b.run_contains("tc", "COPY 1 Nowhere", "tc NO [TRYCREATE]");
    let listed = b.run("ls", "LIST \"\" *");
    assert!(
        listed.contains("\"INBOX\"") && listed.contains("\"Archive\""),
        "{listed}"
    );
    // A level without a folder of its own is listed as \Noselect.
    b.run_contains("c2", "CREATE Lab.Reports.2026", "c2 OK");
    let top = b.run("ls2", "LIST \"\" %");
    assert!(
        top.contains("* LIST (\\Noselect \\HasChildren) \".\" \"Lab\""),
        "{top}"
    );
    let below = b.run("ls3", "LIST Lab. %");
    assert!(
        below.contains("(\\Noselect \\HasChildren) \".\" \"Lab.Reports\""),
        "{below}"
    );
    let leaf = b.run("ls4", "LIST \"\" Lab.*.2026");
    assert!(
        leaf.contains("(\\HasNoChildren) \".\" \"Lab.Reports.2026\""),
        "{leaf}"
    );
}

/// Runs a Python imaplib script against the server; the script asserts.
fn python(server: &TestServer, script: &str) {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .env("IMAP_PORT", server.address.port().to_string())
        .env("IMAP_MESSAGE", server.dir.join("expected.eml"))
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "imaplib script failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn python_imaplib_everyday_use() {
    let server = start(defaults);
    let message = attachment_message();
    std::fs::write(server.dir.join("expected.eml"), &message).unwrap();
    server.store.deliver("ada", &message).unwrap();
    python(
        &server,
        include_str!("../../../../tests/imap/imaplib_session.py"),
    );
    // What the script changed is in the store.
    assert_eq!(
        server.store.folders("ada").unwrap(),
        vec!["INBOX", "Lab.Reports"]
    );
}

#[test]
fn curl_reads_byte_exact() {
    let server = start(defaults);
    let message = attachment_message();
    server.store.deliver("ada", &message).unwrap();
    let port = server.address.port();
    let fetch = |url: String, extra: &[&str]| {
        let output = Command::new("curl")
            .args(["-sS", "--max-time", "10", "-u", "ada:secret"])
            .args(extra)
            .arg(url)
            .output()
            .expect("curl runs");
        assert!(
            output.status.success(),
            "curl: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    assert_eq!(
        fetch(format!("imap://127.0.0.1:{port}/INBOX;UID=1"), &[]),
        message
    );
    // SASL PLAIN with an initial response, and a MIME part.
    let part = fetch(
        format!("imap://127.0.0.1:{port}/INBOX;UID=1;SECTION=1"),
        &["--login-options", "AUTH=PLAIN"],
    );
    assert_eq!(part, b"Hello Ada,\r\nthe routers forward.");
    let listing = String::from_utf8(fetch(format!("imap://127.0.0.1:{port}/"), &[])).unwrap();
    assert!(listing.contains("INBOX"), "{listing}");
    let search = String::from_utf8(fetch(
        format!("imap://127.0.0.1:{port}/INBOX?SUBJECT%20Lab"),
        &[],
    ))
    .unwrap();
    assert!(search.contains("SEARCH 1"), "{search}");
}

#[test]
fn s_nail_lists_and_reads() {
    let server = start(defaults);
    server.store.deliver("ada", &attachment_message()).unwrap();
    let home = server.dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let port = server.address.port();
    let mut child = Command::new("s-nail")
        .args([
            "-n",
            "-N",
            "-#",
            "-S",
            "v15-compat",
            "-S",
            "password-ada@127.0.0.1:PORT=secret"
                .replace("PORT", &port.to_string())
                .as_str(),
        ])
        .args([
            "-S",
            "imap-auth=login",
            "-f",
            &format!("imap://ada@127.0.0.1:{port}/INBOX"),
        ])
        .env("HOME", &home)
        .env("MAILRC", "/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("s-nail runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"headers\nprint 1\nquit\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "s-nail: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Lab 3 results") && stdout.contains("the routers forward"),
        "{stdout}"
    );
}

#[test]
fn mutt_reads_and_deletes() {
    let server = start(defaults);
    let message = attachment_message();
    server.store.deliver("ada", &message).unwrap();
    let port = server.address.port();
    let rc = server.dir.join("muttrc");
    let piped = server.dir.join("piped.eml");
    std::fs::write(
        &rc,
        format!(
            "set imap_user=ada\nset imap_pass=secret\nset folder=imap://127.0.0.1:{port}/\n\
set spoolfile=+INBOX\nset ssl_starttls=no\nset ssl_force_tls=no\nset move=no\n\
set wait_key=no\nset quit=yes\nset delete=yes\nset mail_check=60\n"
        ),
    )
    .unwrap();
    // mutt wants a terminal: `script` gives it one. It pipes message 1 to a
    // file, deletes it and quits (expunging).
    let keys = format!(
        "push '<pipe-message>cat > {}<enter><delete-message><quit>'",
        piped.display()
    );
    let mutt = format!("mutt -n -F {} -e \"{keys}\"", rc.display());
    let output = Command::new("timeout")
        .args(["20", "script", "-qec", &mutt, "/dev/null"])
        .env("TERM", "xterm")
        .env("HOME", &server.dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script and mutt run");
    assert!(
        output.status.success(),
        "mutt: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    // mutt hands messages to local commands with LF line ends.
    let unix = String::from_utf8(message).unwrap().replace("\r\n", "\n");
    assert!(
        std::fs::read(&piped).unwrap() == unix.as_bytes(),
        "mutt piped another message"
    );
    assert!(
        server
            .store
            .snapshot("ada", "INBOX")
            .unwrap()
            .messages
            .is_empty(),
        "mutt's delete was not expunged"
    );
}

/// Hostile sessions: thousands of commands built from valid ones by random
/// cuts, splices and byte changes (a fixed seed, so a failure repeats), sent
/// to the real server. It must answer each with a tagged or untagged reply
/// and never drop the connection except with BYE.
#[test]
fn mutated_commands_never_break_the_server() {
    let server = start(small_limits);
    for subject in ["one", "two"] {
        let message = format!(
            "Subject: {subject}\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n"
        );
        server.store.deliver("ada", message.as_bytes()).unwrap();
    }
    let valid = [
        "SELECT INBOX",
        "EXAMINE INBOX",
        "FETCH 1:* (UID FLAGS BODYSTRUCTURE ENVELOPE BODY.PEEK[1.MIME]<0.5>)",
        "UID FETCH 1:* (BODY[HEADER.FIELDS (SUBJECT FROM)] RFC822.SIZE)",
        "FETCH 2 BODY[1.1.TEXT]",
        "SEARCH OR SUBJECT one NOT (SEEN LARGER 5) UID 1:*",
        "UID SEARCH CHARSET UTF-8 HEADER Subject \"t\" SINCE 1-Jan-2020",
        "STORE 1:* +FLAGS.SILENT (\\Seen \\Flagged)",
        "UID STORE 2 -FLAGS (\\Seen)",
        "COPY 1 INBOX",
        "UID MOVE 3:* INBOX",
        "EXPUNGE",
        "UID EXPUNGE 1:5",
        "LIST \"\" *",
        "LSUB \"\" %",
        "STATUS INBOX (MESSAGES UIDNEXT UNSEEN RECENT UIDVALIDITY)",
        "CREATE a.b",
        "RENAME a.b c",
        "DELETE c",
        "APPEND INBOX (\\Seen) {9}\r\nSubject:\r\n",
        "NOOP",
        "CHECK",
        "UNSELECT",
        "NAMESPACE",
        "CAPABILITY",
    ];
    let (mut c, _) = Client::connect(&server);
    c.run_contains("L", "LOGIN ada secret", "L OK");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    };
    let mut previous = String::new();
    for round in 0..3000 {
        let mut command = valid[next(valid.len())].as_bytes().to_vec();
        match next(4) {
            0 => command.truncate(next(command.len() + 1)),
            1 => {
                let at = next(command.len());
                let specials = b"()[]<>*%\\\" .:,0123456789+-";
                command[at] = specials[next(specials.len())];
            }
            2 => {
                let other = valid[next(valid.len())].as_bytes();
                let at = next(command.len());
                command.splice(at..at, other[next(other.len())..].iter().copied());
            }
            _ => {}
        }
        // Literals are announced at line ends only; keep each command on one
        // line so the client knows where it ends.
        command.retain(|&b| b != b'\r' && b != b'\n' && b != b'{');
        let tag = format!("m{round}");
        let mut line = format!("{tag} ").into_bytes();
        line.extend_from_slice(&command);
        line.extend_from_slice(b"\r\n");
        if let Err(e) = c.writer.write_all(&line) {
            panic!("round {round}: {e} after {previous:?}");
        }
        previous = String::from_utf8_lossy(&line).into_owned();
        let reply = c.until_or_bye(&tag);
        if reply.contains("* BYE") {
            // Only the cap on malformed commands may end the session.
            assert!(
                reply.contains("* BYE too many malformed commands"),
                "round {round}: {reply}"
            );
            assert!(c.closed());
            (c, _) = Client::connect(&server);
            c.run_contains("L", "LOGIN ada secret", "L OK");
        }
    }
    c.run_contains("z", "LOGOUT", "z OK");
}
