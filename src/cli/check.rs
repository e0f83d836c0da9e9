//! `labctl check LAB [--checks FILE] [--json] [--junit FILE]`: runs a
//! running lab's checks (or an instructor's checks file) from inside its
//! nodes (`ops::check`) and reports score, pass/fail and diagnoses. Exit
//! codes: 0 all passed, 1 some failed, 2 the lab is not up or a file is
//! invalid.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::EXIT_INVALID;
use crate::capture::session::Stats;
use crate::checks::load::RubricLines;
use crate::checks::report::{Report, to_json, to_junit, to_text};
use crate::checks::run_options::RunOptions;
use crate::ops::capture::Recording;
use crate::ops::check::{InvalidFile, grade, prepare};
use crate::plural::count;

/// How the report is given: text or JSON on stdout, JUnit XML to a file.
pub struct Output {
    pub json: bool,
    pub junit: Option<PathBuf>,
    /// Record the run into this pcapng file.
    pub capture: Option<PathBuf>,
}

pub fn run(
    lab: &str,
    checks_file: Option<&Path>,
    lines: RubricLines,
    options: &RunOptions,
    output: &Output,
) -> Result<ExitCode> {
    let prepared = match prepare(lab, checks_file, lines) {
        Ok(prepared) => prepared,
        Err(e) => return Ok(invalid(&e)),
    };
    print_warnings(&prepared.checks.warnings);
    let recording = match &output.capture {
        Some(path) => match Recording::start(&prepared.ctx.lab, path) {
            Ok(recording) => Some(recording),
            Err(e) => return Ok(invalid(&e)),
        },
        None => None,
    };
    let mut report = grade(&prepared.ctx, prepared.checks.checks, None, options);
    if let Some(recording) = recording {
        report.capture = Some(recording.note());
        report_capture(recording.finish());
    }
    emit(&report, output)
}

/// Says on stderr what a `--capture` recorded (or why it failed).
pub fn report_capture(finished: Result<Stats>) {
    match finished {
        Ok(stats) => eprintln!(
            "captured {} on {} ({} dropped)",
            count(stats.captured() as usize, "frame"),
            count(stats.taps.len(), "interface"),
            stats.dropped()
        ),
        Err(e) => eprintln!("error: {}", crate::printable::lines(&format!("{e:#}"))),
    }
}

/// Prints a checks file's warnings (nothing when it has none).
pub fn print_warnings(warnings: &str) {
    if !warnings.is_empty() {
        eprintln!("{warnings}");
    }
}

/// Prints why nothing could be checked (after the file's diagnostics, when
/// a file was at fault); exit code 2.
pub fn invalid(error: &anyhow::Error) -> ExitCode {
    if let Some(file) = error.downcast_ref::<InvalidFile>() {
        print_warnings(&file.diagnostics);
    }
    eprintln!("error: {}", crate::printable::lines(&format!("{error:#}")));
    ExitCode::from(EXIT_INVALID)
}

/// Writes the report where it was asked for; the exit code says whether
/// every check passed.
pub fn emit(report: &Report, output: &Output) -> Result<ExitCode> {
    if output.json {
        println!("{}", serde_json::to_string_pretty(&to_json(report))?);
    } else {
        print!("{}", to_text(report));
    }
    if let Some(path) = &output.junit {
        std::fs::write(path, to_junit(report))
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    Ok(if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
