//! A node's service log: one file per node (`STATE/logs/NODE.log`) where
//! every service of the node writes its dialogue — mail sessions, DHCP
//! exchanges, DNS questions and answers — one line each:
//! `HH:MM:SS TAG DIR TEXT`, DIR being `C:` (from the client), `S:` (from the
//! server), `D:` (a line of a message body, shown by `labctl logs --bodies`)
//! or `--` (a note that is not on the wire).
//!
//! Writers never wait on the disk: lines go over a bounded channel to one
//! writer thread, which appends whatever has queued up with one write, then
//! rests a moment (`REST`) so that a busy dialogue wakes it once per rest,
//! not once per line (each wake-up is a context switch on the services'
//! core: with two lines per IMAP command it was a tenth of the command); a
//! `sync` cuts the rest short. When the channel is full a line is dropped
//! and counted, and the count is written as soon as there is room, so a
//! flood (a DNS benchmark) costs the service nothing and the log says what
//! it left out. Text from inside the lab is made printable before it is
//! queued, so the file holds nothing a terminal would act on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::SystemTime;

use super::mail::date::clock_time;

/// Lines (or batches of lines) that may wait for the writer.
const CAPACITY: usize = 4096;
/// The writer appends at most this much with one write.
const BATCH_BYTES: usize = 256 * 1024;
/// After a write, lines gather this long before the next one; a line
/// into an idle log is written at once.
const REST: std::time::Duration = std::time::Duration::from_millis(2);

/// The directions of a log line.
pub const FROM_CLIENT: &str = "C:";
pub const FROM_SERVER: &str = "S:";
pub const BODY: &str = "D:";
pub const NOTE: &str = "--";

/// The log file of one node (cheap to clone).
#[derive(Clone)]
pub struct NodeLog {
    sender: Option<SyncSender<Entry>>,
    /// The writer thread, woken from its rest by `sync`.
    writer: Option<std::thread::Thread>,
    dropped: Arc<AtomicU64>,
}

enum Entry {
    Text(String),
    /// Answered once everything queued before it is written.
    Sync(mpsc::Sender<()>),
}

impl NodeLog {
    /// Appends to `path` (created if missing), through a writer thread.
    pub fn open(path: &Path) -> io::Result<NodeLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let (sender, entries) = mpsc::sync_channel(CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = dropped.clone();
        let writer = std::thread::Builder::new()
            .name("node-log".into())
            .spawn(move || write_loop(file, entries, &counter))?;
        Ok(NodeLog {
            sender: Some(sender),
            writer: Some(writer.thread().clone()),
            dropped,
        })
    }

    /// A log that writes nothing.
    pub fn discard() -> NodeLog {
        NodeLog {
            sender: None,
            writer: None,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// One line: the time, the tag (`smtp #3`, `dhcp xid 0x…`), the
    /// direction, and the text made printable.
    pub fn line(&self, tag: &str, direction: &str, text: &str) {
        if self.sender.is_some() {
            let mut line = String::with_capacity(text.len() + tag.len() + 16);
            push_line(
                &mut line,
                &clock_time(SystemTime::now()),
                tag,
                direction,
                text,
            );
            self.write(line);
        }
    }

    /// Queues whole lines made by `push_line`; never blocks.
    pub fn write(&self, lines: String) {
        let Some(sender) = &self.sender else {
            return;
        };
        match sender.try_send(Entry::Text(lines)) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until every line queued before is in the file (tests, and a
    /// daemon that is about to stop).
    pub fn sync(&self) {
        if let Some(sender) = &self.sender {
            let (done, wait) = mpsc::channel();
            if sender.send(Entry::Sync(done)).is_ok() {
                if let Some(writer) = &self.writer {
                    writer.unpark();
                }
                let _ = wait.recv();
            }
        }
    }
}

/// Appends one log line to `out`.
pub fn push_line(out: &mut String, time: &str, tag: &str, direction: &str, text: &str) {
    out.push_str(time);
    out.push(' ');
    out.push_str(tag);
    out.push(' ');
    out.push_str(direction);
    out.push(' ');
    // Escaped on one line, so lab input can neither steer the reader's
    // terminal nor forge a log line.
    out.push_str(&crate::printable::line(text));
    out.push('\n');
}

/// The direction of a log line (`C:`, `S:`, `D:` or `--`): the first of
/// those tokens after the time (tags never contain one).
pub fn direction(line: &str) -> Option<&str> {
    line.split(' ')
        .skip(1)
        .find(|token| matches!(*token, FROM_CLIENT | FROM_SERVER | BODY | NOTE))
}

fn write_loop(mut file: File, entries: Receiver<Entry>, dropped: &AtomicU64) {
    let mut batch = String::new();
    let mut waiting = Vec::new();
    while let Ok(mut entry) = entries.recv() {
        // Whether the batch is full, with more lines likely waiting.
        let full = loop {
            match entry {
                Entry::Text(text) => batch.push_str(&text),
                Entry::Sync(done) => waiting.push(done),
            }
            if batch.len() >= BATCH_BYTES {
                break true;
            }
            match entries.try_recv() {
                Ok(next) => entry = next,
                Err(_) => break false,
            }
        };
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let note = format!("{lost} log lines dropped: the log could not keep up");
            push_line(
                &mut batch,
                &clock_time(SystemTime::now()),
                "log",
                NOTE,
                &note,
            );
        }
        // A log that cannot be written must not stop the services.
        let _ = file.write_all(batch.as_bytes());
        batch.clear();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        // A backlog is written without rests; otherwise rest, woken early
        // by `sync` (or spuriously: either way it goes on).
        if !full {
            std::thread::park_timeout(REST);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("labctl-node-log-{}-{name}", std::process::id()))
    }

    #[test]
    fn lines_are_written_in_order_and_made_printable() {
        let path = temp("order");
        let log = NodeLog::open(&path).unwrap();
        for i in 0..100 {
            log.line("dns 10.0.0.1:5353", FROM_CLIENT, &format!("q{i}"));
        }
        log.line("smtp #1", FROM_CLIENT, "MAIL FROM:<a@b>\x1b[2J\r\nforged");
        log.sync();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 101, "{text}");
        for (i, line) in lines[..100].iter().enumerate() {
            assert!(
                line.ends_with(&format!(" dns 10.0.0.1:5353 C: q{i}")),
                "{line}"
            );
            assert_eq!(direction(line), Some("C:"));
        }
        assert!(
            lines[100].ends_with("smtp #1 C: MAIL FROM:<a@b>\\x1b[2J\\r\\nforged"),
            "{}",
            lines[100]
        );
    }

    #[test]
    fn a_full_channel_drops_and_counts_instead_of_waiting() {
        // A writer that is never started: the channel fills up.
        let (sender, entries) = mpsc::sync_channel(2);
        let log = NodeLog {
            sender: Some(sender),
            writer: None,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        for _ in 0..5 {
            log.line("dns", FROM_CLIENT, "flood");
        }
        assert_eq!(log.dropped.load(Ordering::Relaxed), 3);
        let path = temp("dropped");
        let file = File::create(&path).unwrap();
        let counter = log.dropped.clone();
        drop(log);
        write_loop(file, entries, &counter);
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(text.matches("flood").count(), 2, "{text}");
        assert!(text.contains("log -- 3 log lines dropped"), "{text}");
    }

    #[test]
    fn direction_is_found_after_tags_with_spaces() {
        assert_eq!(direction("10:00:00 smtp-out #2 D: Hello"), Some("D:"));
        assert_eq!(direction("10:00:00 dhcp xid 0x1 -- note C: x"), Some("--"));
        assert_eq!(direction("garbage"), None);
    }
}
