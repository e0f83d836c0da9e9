//! `logs`: a node's service log — mail sessions (SMTP, POP3, IMAP, and the
//! server's own MX lookups and outgoing SMTP), DHCP exchanges and DNS
//! questions with their answers — read as complete lines made printable,
//! once or following what is added until the lab goes down.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::daemon::node_logs::{keeps_log, log_path};
use crate::printable;
use crate::services::node_log::{BODY, direction};
use crate::state::LabDir;

/// How often `follow` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// A node's service log, read from where the last read stopped.
pub struct NodeLog {
    dir: LabDir,
    path: PathBuf,
    reader: LogReader,
}

impl NodeLog {
    /// The log of `node` in the running lab `lab`; with `bodies`, the
    /// bodies of messages sent with DATA (`D:` lines) too.
    pub fn open(lab: &str, node: &str, bodies: bool) -> Result<NodeLog> {
        let dir = LabDir::of(lab)?;
        let record = dir
            .read_record()
            .with_context(|| format!("lab {lab} is not running"))?;
        let Some(planned) = record.plan.node(node) else {
            bail!("lab {lab} has no node {node}");
        };
        if !keeps_log(planned) {
            bail!(
                "{node} runs no service that keeps a log: logs are kept for nodes with a mail, \
                 DNS or DHCP server, a DHCP relay or a DHCP client"
            );
        }
        Ok(NodeLog {
            path: log_path(&dir.dir, node),
            dir,
            reader: LogReader {
                bodies,
                ..LogReader::default()
            },
        })
    }

    /// The complete lines added since the last read, made printable.
    pub fn take_new(&mut self) -> Result<String> {
        self.reader.take_new(&self.path)
    }

    /// Gives `each` the lines added, as they come, until the lab is gone
    /// (`down`); the last lines are given before. A crashed daemon does not
    /// end it: after `labctl restart` the services write here again.
    pub fn follow(&mut self, mut each: impl FnMut(&str) -> Result<()>) -> Result<()> {
        loop {
            std::thread::sleep(FOLLOW_EVERY);
            let up = self.dir.exists();
            each(&self.take_new()?)?;
            if !up {
                return Ok(());
            }
        }
    }
}

/// Prints a log file's complete lines from where it stopped last time.
#[derive(Default)]
struct LogReader {
    bodies: bool,
    offset: u64,
    /// The start of a line whose end is not written yet.
    partial: Vec<u8>,
}

impl LogReader {
    /// The lines added since the last call, made printable (`D:` lines
    /// only with `bodies`).
    fn take_new(&mut self, path: &Path) -> Result<String> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let length = file.metadata()?.len();
        if length < self.offset {
            // A new log (the lab was started again): from its start.
            self.offset = 0;
            self.partial.clear();
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut added = Vec::new();
        file.read_to_end(&mut added)?;
        self.offset += added.len() as u64;
        self.partial.extend_from_slice(&added);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(String::new());
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        let mut out = String::new();
        for line in String::from_utf8_lossy(&complete).lines() {
            if self.bodies || direction(line) != Some(BODY) {
                // Written escaped already; escaped again in case anything else
                // wrote to the file (escaping twice changes nothing).
                out.push_str(&printable::line(line));
                out.push('\n');
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn prints_complete_lines_once_hides_bodies_and_restarts_on_a_new_file() {
        let path = std::env::temp_dir().join(format!("labctl-logs-{}", std::process::id()));
        let first = "10:00:00 smtp #1 D: body\n10:00:00 smtp #1 C: QUIT\x1b[2J\n10:00";
        std::fs::write(&path, first).unwrap();
        let mut reader = LogReader::default();
        assert_eq!(
            reader.take_new(&path).unwrap(),
            "10:00:00 smtp #1 C: QUIT\\x1b[2J\n"
        );
        assert_eq!(reader.take_new(&path).unwrap(), "");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b":01 dns 10.0.0.1:53 S: NOERROR\n").unwrap();
        assert_eq!(
            reader.take_new(&path).unwrap(),
            "10:00:01 dns 10.0.0.1:53 S: NOERROR\n"
        );
        std::fs::write(&path, "10:00:02 smtp #1 D: body\n").unwrap();
        reader.bodies = true;
        assert_eq!(
            reader.take_new(&path).unwrap(),
            "10:00:02 smtp #1 D: body\n"
        );
        let _ = std::fs::remove_file(&path);
    }
}
