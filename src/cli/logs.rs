//! `labctl logs LAB NODE`: the dialogue log of a node's mail server, every
//! session's commands and replies as they went over the wire.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::daemon::mail::log_path;
use crate::printable::lines_of_bytes;
use crate::state::LabDir;

pub fn run(lab: &str, node: &str) -> Result<ExitCode> {
    let dir = LabDir::of(lab)?;
    let record = dir
        .read_record()
        .with_context(|| format!("lab {lab} is not running"))?;
    let Some(planned) = record.plan.node(node) else {
        bail!("lab {lab} has no node {node}");
    };
    if planned.mail.is_none() {
        bail!("{node} runs no mail service: logs are kept for mail servers");
    }
    let path = log_path(&dir.dir, node);
    match std::fs::read(&path) {
        // Written escaped already; escaped again in case anything else
        // wrote to the file (escaping twice changes nothing).
        Ok(text) => print!("{}", lines_of_bytes(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    Ok(ExitCode::SUCCESS)
}
