//! `labctl validate FILE`: every problem in a lab file, without root.

use std::path::Path;
use std::process::ExitCode;

use crate::lab::diagnostic::Report;
use crate::lab::load::{Checked, check_file};
use crate::plural::count;

use super::EXIT_INVALID;

pub fn run(file: &Path) -> anyhow::Result<ExitCode> {
    let checked = check_file(file)?;
    Ok(print_report(&checked))
}

/// Prints the diagnostics of a checked file; the exit code says whether it is
/// valid. Shared by every verb that reads a lab file.
pub fn print_report(checked: &Checked) -> ExitCode {
    let report = Report {
        source: &checked.source,
        diagnostics: checked.diagnostics.clone(),
    };
    match &checked.valid {
        Some((_, topology)) => {
            if !checked.diagnostics.is_empty() {
                eprintln!("{report}");
            }
            println!(
                "{}: valid lab `{}` ({}, {})",
                checked.source.name,
                topology.name,
                count(topology.nodes.len(), "node"),
                count(topology.links.len(), "link")
            );
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("{report}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}
