//! `labctl service LAB NODE SERVICE stop|start` (`ops::service`).

use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;

use crate::ops::service::switch;
use crate::ops::target::lab_name;

#[derive(Clone, Copy, ValueEnum)]
pub enum ServiceState {
    /// Stop the server (its ports close).
    Stop,
    /// Start it again.
    Start,
}

pub fn run(target: &str, node: &str, service: &str, state: ServiceState) -> Result<ExitCode> {
    let lab = lab_name(target)?;
    let start = matches!(state, ServiceState::Start);
    let changed = switch(&lab, node, service, start)?;
    let now = if start { "running" } else { "stopped" };
    if changed {
        println!("lab {lab}: the {service} server on {node} is {now}");
    } else {
        println!("lab {lab}: the {service} server on {node} was {now} already");
    }
    Ok(ExitCode::SUCCESS)
}
