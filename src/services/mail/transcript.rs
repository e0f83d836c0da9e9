//! The dialogue log of a mail node: every session's commands and replies,
//! one line each, as the wire shows them (AUTH exchanges included, as base64),
//! so a student can read a session like the lecture's sample interaction.
//! Message contents are not logged, only their size. A session's lines are
//! written out together when the client speaks (one write per exchange, in
//! order) and when the session ends.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::date::clock_time;

/// The shared log file of one node (cheap to clone).
#[derive(Clone)]
pub struct Transcript {
    file: Option<Arc<Mutex<File>>>,
    sessions: Arc<AtomicU64>,
}

impl Transcript {
    /// Appends to `path`.
    pub fn open(path: &Path) -> io::Result<Transcript> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Transcript {
            file: Some(Arc::new(Mutex::new(file))),
            sessions: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A transcript that writes nothing.
    #[cfg(test)]
    pub fn discard() -> Transcript {
        Transcript {
            file: None,
            sessions: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Starts the record of one session.
    pub fn session(&self, protocol: &'static str, peer: SocketAddr) -> SessionLog {
        let number = self.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let log = SessionLog {
            transcript: self.clone(),
            tag: format!("{protocol} #{number}"),
            pending: Mutex::new(String::new()),
        };
        log.note(&format!("connection from {peer}"));
        log
    }

    fn write(&self, text: &str) {
        if let Some(file) = &self.file {
            // A log that cannot be written must not stop the mail.
            let _ = file
                .lock()
                .expect("transcript lock")
                .write_all(text.as_bytes());
        }
    }
}

/// The record of one session.
pub struct SessionLog {
    transcript: Transcript,
    tag: String,
    /// Lines not written out yet.
    pending: Mutex<String>,
}

impl SessionLog {
    /// A line the client sent.
    pub fn client(&self, line: &[u8]) {
        self.line("C:", &String::from_utf8_lossy(line));
        self.flush();
    }

    /// Lines the server sent (one reply may hold several).
    pub fn server(&self, reply: &str) {
        for line in reply.lines() {
            self.line("S:", line);
        }
    }

    /// Something that is not on the wire (connection, message data, closing).
    pub fn note(&self, text: &str) {
        self.line("--", text);
        self.flush();
    }

    fn flush(&self) {
        let text = std::mem::take(&mut *self.pending.lock().expect("log lock"));
        if !text.is_empty() {
            self.transcript.write(&text);
        }
    }

    fn line(&self, direction: &str, text: &str) {
        let printable = crate::printable::line(text);
        let mut pending = self.pending.lock().expect("log lock");
        pending.push_str(&format!(
            "{} {} {direction} {printable}\n",
            clock_time(SystemTime::now()),
            self.tag
        ));
    }
}

impl Drop for SessionLog {
    fn drop(&mut self) {
        self.flush();
    }
}
