//! `labctl link LAB A[:IFACE] B[:IFACE] down|up`: cut or restore a cable
//! of a running lab (`ops::link`), printing what moved in the routers'
//! tables.

use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;

use crate::ops::link::set_cable;
use crate::ops::target::lab_name;
use crate::printable::line;

#[derive(Clone, Copy, ValueEnum)]
pub enum CableState {
    /// Unplug the cable (both ends go down).
    Down,
    /// Plug it back in.
    Up,
}

pub fn run(target: &str, a: &str, b: &str, state: CableState) -> Result<ExitCode> {
    let lab = lab_name(target)?;
    let up = matches!(state, CableState::Up);
    let done = set_cable(&lab, a, b, up)?;
    println!(
        "lab {lab}: cable {} is {}",
        line(&done.cable),
        if up { "up" } else { "down" }
    );
    if done.changes.is_empty() {
        println!("  no route changed");
    }
    for change in &done.changes {
        println!("  {}", line(change));
    }
    Ok(ExitCode::SUCCESS)
}
