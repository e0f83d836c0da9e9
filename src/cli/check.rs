//! `labctl check LAB [--checks FILE] [--json] [--junit FILE]`: runs a
//! running lab's checks (or an instructor's checks file) from inside its
//! nodes (`ops::check`) and reports score, pass/fail and diagnoses. Exit
//! codes: 0 all passed, 1 some failed, 2 the lab is not up or a file is
//! invalid.

use std::path::PathBuf;
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

/// How `check` and `test` run the checks and give the report (text or
/// JSON on stdout, JUnit XML to a file, a capture beside it).
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Run the checks of this file instead of the lab file's own.
    #[arg(long, value_name = "FILE")]
    pub checks: Option<PathBuf>,
    /// Leave the messages mail checks send in the mailboxes (normally
    /// each is removed once it has been verified).
    #[arg(long)]
    pub keep_mail: bool,
    /// Quote the checks file's lines in its errors and warnings (for the
    /// instructor; by default they are placed by check number, name and
    /// field only, so a hidden rubric is never shown to a student).
    #[arg(long, requires = "checks")]
    pub show_rubric: bool,
    /// Print the report as JSON (documented in docs/checks.md).
    #[arg(long)]
    pub json: bool,
    /// Also write the report as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Record every interface of the lab into this pcapng file while
    /// the checks run; a failed check's report gives the file and the
    /// time into it when the check ended (open it in Wireshark).
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
}

impl RunArgs {
    pub fn options(&self) -> RunOptions {
        RunOptions {
            keep_mail: self.keep_mail,
        }
    }

    /// `--show-rubric`: whether a checks file's problems quote its lines.
    pub fn rubric_lines(&self) -> RubricLines {
        if self.show_rubric {
            RubricLines::Shown
        } else {
            RubricLines::Hidden
        }
    }
}

pub fn run(lab: &str, args: &RunArgs) -> Result<ExitCode> {
    let prepared = match prepare(lab, args.checks.as_deref(), args.rubric_lines()) {
        Ok(prepared) => prepared,
        Err(e) => return Ok(invalid(&e)),
    };
    print_warnings(&prepared.checks.warnings);
    let recording = match &args.capture {
        Some(path) => match Recording::start(&prepared.ctx.lab, path) {
            Ok(recording) => Some(recording),
            Err(e) => return Ok(invalid(&e)),
        },
        None => None,
    };
    let mut report = grade(&prepared.ctx, prepared.checks.checks, None, &args.options());
    if let Some(recording) = recording {
        report.capture = Some(recording.note());
        report_capture(recording.finish());
    }
    emit(&report, args)
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
pub fn emit(report: &Report, output: &RunArgs) -> Result<ExitCode> {
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
