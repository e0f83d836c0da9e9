//! `labctl logs LAB NODE [-f] [--bodies]`: print a node's service log
//! (`ops::logs`); `-f` keeps printing what is added until Ctrl-C or until
//! the lab goes down.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::ops::logs::NodeLog;

pub fn run(lab: &str, node: &str, follow: bool, bodies: bool) -> Result<ExitCode> {
    let mut log = NodeLog::open(lab, node, bodies)?;
    print(&log.take_new()?)?;
    if follow {
        log.follow(print)?;
        eprintln!("lab {lab} is down: no more lines will come");
    }
    Ok(ExitCode::SUCCESS)
}

fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}
