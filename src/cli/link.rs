//! `labctl link LAB A[:IFACE] B[:IFACE] [down|up] [--delay …]`: cut or
//! restore a cable of a running lab, printing what moved in the routers'
//! tables, or change its impairments (`ops::link`).

use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;

use crate::lab::netem::{Netem, Written};
use crate::ops::link::{impair as ops_impair, set_cable};
use crate::ops::target::lab_name;
use crate::printable::line;

#[derive(Clone, Copy, ValueEnum)]
pub enum CableState {
    /// Unplug the cable (both ends go down).
    Down,
    /// Plug it back in.
    Up,
}

/// `--delay 200ms --loss 5%`: what to do to the packets on the cable.
#[derive(clap::Args, Default)]
pub struct ImpairArgs {
    /// One-way delay in each direction (200ms, 1.5s, 500us).
    #[arg(long, value_name = "TIME")]
    pub delay: Option<String>,
    /// Random variation of the delay, ± (needs --delay at least as large).
    #[arg(long, value_name = "TIME")]
    pub jitter: Option<String>,
    /// Packets lost (5%, 0.1%).
    #[arg(long, value_name = "PERCENT")]
    pub loss: Option<String>,
    /// Bandwidth (512kbit, 10mbit, 1gbit).
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
    /// Packets sent twice.
    #[arg(long, value_name = "PERCENT")]
    pub duplicate: Option<String>,
    /// Packets with a bit flipped.
    #[arg(long, value_name = "PERCENT")]
    pub corrupt: Option<String>,
    /// Take every impairment off the cable.
    #[arg(long, conflicts_with_all = ["delay", "jitter", "loss", "rate", "duplicate", "corrupt"])]
    pub clear: bool,
}

impl ImpairArgs {
    fn given(&self) -> bool {
        self.clear
            || [
                &self.delay,
                &self.jitter,
                &self.loss,
                &self.rate,
                &self.duplicate,
                &self.corrupt,
            ]
            .iter()
            .any(|v| v.is_some())
    }

    fn netem(&self) -> Result<Netem> {
        let written = Written {
            delay: self.delay.as_deref(),
            jitter: self.jitter.as_deref(),
            loss: self.loss.as_deref(),
            rate: self.rate.as_deref(),
            duplicate: self.duplicate.as_deref(),
            corrupt: self.corrupt.as_deref(),
        };
        written.parse().map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|(f, e)| format!("--{f}: {e}")).collect();
            anyhow::anyhow!("{}", lines.join("\n"))
        })
    }
}

pub fn run(
    target: &str,
    a: &str,
    b: &str,
    state: Option<CableState>,
    impair: &ImpairArgs,
) -> Result<ExitCode> {
    let lab = lab_name(target)?;
    if impair.given() {
        let netem = impair.netem()?;
        let done = ops_impair(&lab, a, b, &netem)?;
        if netem.is_clear() {
            println!("lab {lab}: cable {} has no impairments", line(&done.cable));
        } else {
            println!(
                "lab {lab}: cable {} impaired: {} (each direction)",
                line(&done.cable),
                netem.describe()
            );
        }
        for note in &done.changes {
            println!("  {}", line(note));
        }
    }
    let Some(state) = state else {
        if !impair.given() {
            anyhow::bail!(
                "say what to do to the cable: down, up, or impairments such as --delay 200ms --loss 5% (--clear takes them off)"
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
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
