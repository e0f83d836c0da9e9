//! `labctl validate FILE`: every problem in a lab file, without root.

use std::path::Path;
use std::process::ExitCode;

use crate::checks::load::load_lab_file;
use crate::lab::diagnostic::Report;
use crate::lab::load::Checked;
use crate::plural::count;

use super::EXIT_INVALID;

pub fn run(file: &Path) -> anyhow::Result<ExitCode> {
    let checked = load_lab_file(file)?.checked;
    Ok(print_report(&checked))
}

/// Prints the diagnostics of a checked file; the exit code says whether it is
/// valid. Shared by every verb that reads a lab file.
///
/// The rule: diagnostics go to stderr. A valid file's verdict and summary
/// (with its warning count) go to stdout; an invalid file's error count
/// goes to stderr after its errors, and nothing to stdout.
pub fn print_report(checked: &Checked) -> ExitCode {
    let report = Report {
        source: &checked.source,
        diagnostics: checked.diagnostics.clone(),
    };
    match &checked.valid {
        Some((_, topology)) => {
            eprint!("{}", report.diagnostics_text());
            let warnings = match report.warning_count() {
                0 => String::new(),
                n => format!(", {}", count(n, "warning")),
            };
            println!(
                "{}: valid lab `{}` ({}, {}){warnings}",
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

/// Prints the warnings of a valid file about to be built (nothing when it
/// has none), as the full report.
pub fn print_warnings(checked: &Checked) {
    if !checked.diagnostics.is_empty() {
        let report = Report {
            source: &checked.source,
            diagnostics: checked.diagnostics.clone(),
        };
        eprintln!("{report}");
    }
}
