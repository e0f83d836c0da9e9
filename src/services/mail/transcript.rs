//! The dialogue of a mail node in its node log: every session's commands
//! and replies, one line each, as the wire shows them (AUTH exchanges
//! included, as base64), so a student can read a session like the lecture's
//! sample interaction. A message's body is logged as `D:` lines, its first
//! `BODY_LINES` lines or `BODY_BYTES` bytes (`labctl logs --bodies` shows
//! them). A session's lines are written out together when the client speaks
//! (one write per exchange, in order) and when the session ends.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::date::clock_time;
use crate::services::node_log::{self, BODY, FROM_CLIENT, FROM_SERVER, NOTE, NodeLog};

/// How much of a message body the log keeps.
const BODY_LINES: usize = 100;
const BODY_BYTES: usize = 8 * 1024;

/// The mail services' view of a node log (cheap to clone).
#[derive(Clone)]
pub struct Transcript {
    log: NodeLog,
    sessions: Arc<AtomicU64>,
}

impl Transcript {
    pub fn new(log: NodeLog) -> Transcript {
        Transcript {
            log,
            sessions: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Appends to `path`.
    #[cfg(test)]
    pub fn open(path: &std::path::Path) -> std::io::Result<Transcript> {
        Ok(Transcript::new(NodeLog::open(path)?))
    }

    /// A transcript that writes nothing.
    #[cfg(test)]
    pub fn discard() -> Transcript {
        Transcript::new(NodeLog::discard())
    }

    /// Waits until everything logged so far is in the file.
    #[cfg(test)]
    pub fn sync(&self) {
        self.log.sync();
    }

    /// Starts the record of a session a client opened.
    pub fn session(&self, protocol: &'static str, peer: SocketAddr) -> SessionLog {
        self.start(protocol, &format!("connection from {peer}"))
    }

    /// Starts the record of a session this server opens to `server` (`name`
    /// is how it was found: the MX host).
    pub fn outgoing(&self, protocol: &'static str, name: &str, server: SocketAddr) -> SessionLog {
        let to = if name == server.ip().to_string() {
            server.to_string()
        } else {
            format!("{name} [{}]:{}", server.ip(), server.port())
        };
        self.start(protocol, &format!("outgoing connection to {to}"))
    }

    /// A line about the node's mail that belongs to no session (its own MX
    /// lookups).
    pub fn note(&self, tag: &str, text: &str) {
        self.log.line(tag, NOTE, text);
    }

    fn start(&self, protocol: &'static str, first: &str) -> SessionLog {
        let number = self.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let log = SessionLog {
            log: self.log.clone(),
            tag: format!("{protocol} #{number}"),
            pending: Mutex::new(String::new()),
        };
        log.note(first);
        log
    }
}

/// The record of one session.
pub struct SessionLog {
    log: NodeLog,
    tag: String,
    /// Lines not written out yet.
    pending: Mutex<String>,
}

impl SessionLog {
    /// A line the client sent.
    pub fn client(&self, line: &[u8]) {
        self.line(FROM_CLIENT, &String::from_utf8_lossy(line));
        self.flush();
    }

    /// Lines the server sent (one reply may hold several).
    pub fn server(&self, reply: &str) {
        for line in reply.lines() {
            self.line(FROM_SERVER, line);
        }
    }

    /// Something that is not on the wire (connection, message data, closing).
    pub fn note(&self, text: &str) {
        self.line(NOTE, text);
        self.flush();
    }

    /// A message that went over DATA: its size, then its first lines.
    pub fn message(&self, message: &[u8]) {
        self.line(
            NOTE,
            &format!(
                "<message of {}>",
                crate::plural::count(message.len(), "byte")
            ),
        );
        let kept = &message[..message.len().min(BODY_BYTES)];
        let time = clock_time(SystemTime::now());
        let mut logged = 0;
        {
            let mut pending = self.pending.lock().expect("log lock");
            for line in kept.split_inclusive(|&b| b == b'\n').take(BODY_LINES) {
                logged += line.len();
                let text = String::from_utf8_lossy(line);
                let text = text.trim_end_matches(['\r', '\n']);
                node_log::push_line(&mut pending, &time, &self.tag, BODY, text);
            }
        }
        if logged < message.len() {
            self.line(
                NOTE,
                &format!(
                    "<{} more bytes of the message not logged>",
                    message.len() - logged
                ),
            );
        }
        self.flush();
    }

    fn flush(&self) {
        let text = std::mem::take(&mut *self.pending.lock().expect("log lock"));
        if !text.is_empty() {
            self.log.write(text);
        }
    }

    fn line(&self, direction: &str, text: &str) {
        let mut pending = self.pending.lock().expect("log lock");
        node_log::push_line(
            &mut pending,
            &clock_time(SystemTime::now()),
            &self.tag,
            direction,
            text,
        );
    }
}

impl Drop for SessionLog {
    fn drop(&mut self) {
        self.flush();
    }
}
