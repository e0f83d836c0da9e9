//! The relay queue: messages for other domains, kept on disk until they are
//! handed on. Each entry is `ID.msg` (the message) and `ID.env` (JSON: sender,
//! recipients still to do, attempts, next attempt), both written durably
//! (tmp file, fsync, rename, fsync of the directory), the envelope last: an
//! entry exists once its envelope does, so the queue survives a crash or a
//! restart, and a message without an envelope is debris from a crash before
//! the 250 and is removed.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::command::Mailbox;

/// A fresh queue id: time in microseconds and a counter, in hex.
pub fn new_id() -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!(
        "{micros:X}{:04X}",
        COUNT.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

/// Seconds since the epoch (queue times are whole seconds).
pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What is still to be done with a queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: String,
    /// `None` for the null sender (a bounce: never bounced again).
    pub sender: Option<String>,
    pub recipients: Vec<String>,
    pub attempts: u32,
    /// When it was queued and when to try next (seconds since the epoch).
    pub queued_at: u64,
    pub next_attempt: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A node's relay queue (cheap to clone).
#[derive(Clone)]
pub struct Queue {
    dir: PathBuf,
    wake: Arc<Notify>,
}

impl Queue {
    /// Opens the queue directory, creating it, and clears crash debris.
    pub fn open(dir: &Path) -> io::Result<Queue> {
        fs::create_dir_all(dir)?;
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let stray_tmp = path.extension().is_some_and(|e| e == "tmp");
            let orphan = path.extension().is_some_and(|e| e == "msg")
                && !path.with_extension("env").exists();
            if stray_tmp || orphan {
                fs::remove_file(&path)?;
            }
        }
        Ok(Queue {
            dir: dir.to_path_buf(),
            wake: Arc::new(Notify::new()),
        })
    }

    /// The queue in `dir` as another process keeps it, to look at only
    /// (`pending`, `message`): nothing is created or cleared.
    pub fn existing(dir: &Path) -> Queue {
        Queue {
            dir: dir.to_path_buf(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Queues a message durably; the relay worker is woken.
    pub fn enqueue(
        &self,
        id: &str,
        sender: Option<&Mailbox>,
        recipients: &[Mailbox],
        message: &[u8],
    ) -> io::Result<()> {
        write_durably(&self.dir.join(format!("{id}.msg")), message)?;
        let now = now_seconds();
        let envelope = Envelope {
            id: id.to_string(),
            sender: sender.map(ToString::to_string),
            recipients: recipients.iter().map(ToString::to_string).collect(),
            attempts: 0,
            queued_at: now,
            next_attempt: now,
            last_error: None,
        };
        self.save(&envelope)?;
        self.wake.notify_one();
        Ok(())
    }

    /// Every entry, oldest first (unreadable envelopes are skipped).
    pub fn pending(&self) -> io::Result<Vec<Envelope>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "env")
                && let Some(envelope) = fs::read(&path)
                    .ok()
                    .and_then(|text| serde_json::from_slice::<Envelope>(&text).ok())
            {
                found.push(envelope);
            }
        }
        found.sort_by(|a, b| (a.queued_at, &a.id).cmp(&(b.queued_at, &b.id)));
        Ok(found)
    }

    pub fn message(&self, id: &str) -> io::Result<Vec<u8>> {
        fs::read(self.dir.join(format!("{id}.msg")))
    }

    /// Rewrites an entry's envelope (after an attempt).
    pub fn save(&self, envelope: &Envelope) -> io::Result<()> {
        let text = serde_json::to_vec(envelope).map_err(io::Error::other)?;
        write_durably(&self.dir.join(format!("{}.env", envelope.id)), &text)?;
        File::open(&self.dir)?.sync_all()
    }

    /// Removes a finished entry (envelope first, so a crash in between
    /// leaves debris, never a second delivery).
    pub fn finish(&self, id: &str) -> io::Result<()> {
        fs::remove_file(self.dir.join(format!("{id}.env")))?;
        match fs::remove_file(self.dir.join(format!("{id}.msg"))) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Resolves when something was queued since the last call.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// tmp file, fsync, rename over the target.
fn write_durably(path: &Path, data: &[u8]) -> io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut file = File::create(&temporary)?;
    file.write_all(data)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(text: &str) -> Mailbox {
        let (local, domain) = text.split_once('@').unwrap();
        Mailbox {
            local: local.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn entries_survive_reopening_and_debris_is_cleared() {
        let dir = std::env::temp_dir().join(format!("labctl-queue-{}", new_id()));
        let queue = Queue::open(&dir).unwrap();
        let id = new_id();
        queue
            .enqueue(
                &id,
                Some(&mailbox("ada@a.org")),
                &[mailbox("bob@b.org")],
                b"hi",
            )
            .unwrap();
        fs::write(dir.join("DEBRIS.msg"), b"x").unwrap();
        fs::write(dir.join("HALF.env.tmp"), b"x").unwrap();
        let queue = Queue::open(&dir).unwrap();
        let pending = queue.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].sender.as_deref(), Some("ada@a.org"));
        assert_eq!(pending[0].recipients, ["bob@b.org"]);
        assert_eq!(queue.message(&id).unwrap(), b"hi");
        assert!(!dir.join("DEBRIS.msg").exists());
        queue.finish(&id).unwrap();
        assert!(queue.pending().unwrap().is_empty());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn looking_at_a_queue_changes_nothing() {
        let dir = std::env::temp_dir().join(format!("labctl-queue-{}", new_id()));
        assert!(Queue::existing(&dir).pending().is_err(), "no queue yet");
        assert!(!dir.exists(), "looking does not create the queue");
        let queue = Queue::open(&dir).unwrap();
        let id = new_id();
        queue
            .enqueue(&id, None, &[mailbox("bob@b.org")], b"token-1")
            .unwrap();
        // A message whose envelope is being written right now.
        fs::write(dir.join("WRITING.msg"), b"x").unwrap();
        let look = Queue::existing(&dir);
        let pending = look.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(look.message(&pending[0].id).unwrap(), b"token-1");
        assert!(dir.join("WRITING.msg").exists(), "looking clears nothing");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ids_differ() {
        assert_ne!(new_id(), new_id());
    }
}
