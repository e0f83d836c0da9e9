//! `labctl graph FILE`: the topology as Mermaid or DOT.

use std::path::Path;
use std::process::ExitCode;

use crate::lab::graph::{GraphFormat, render};
use crate::lab::load::check_file;

use super::validate::print_report;

pub fn run(file: &Path, format: GraphFormat) -> anyhow::Result<ExitCode> {
    let checked = check_file(file)?;
    match &checked.valid {
        Some((_, topology)) => {
            print!("{}", render(topology, format));
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(print_report(&checked)),
    }
}
