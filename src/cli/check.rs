//! `labctl check LAB [--checks FILE] [--json] [--junit FILE]`: runs a
//! running lab's checks (or an instructor's checks file) from inside its
//! nodes and reports score, pass/fail and diagnoses. Exit codes: 0 all
//! passed, 1 some failed, 2 the lab is not up or a file is invalid.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};

use super::EXIT_INVALID;
use super::down::lab_name;
use crate::checks::context::LabContext;
use crate::checks::load::{load_checks_file, load_lab_file};
use crate::checks::report::{Report, Timings, to_json, to_junit, to_text};
use crate::checks::runner::run_all;
use crate::checks::spec::CheckSpec;
use crate::lab::diagnostic::Report as DiagnosticReport;
use crate::lab::plan::Plan;
use crate::lifecycle::require_admin;

/// How the report is given: text or JSON on stdout, JUnit XML to a file.
pub struct Output {
    pub json: bool,
    pub junit: Option<PathBuf>,
}

pub fn run(lab: &str, checks_file: Option<&Path>, output: &Output) -> Result<ExitCode> {
    let prepared = (|| {
        require_admin("check")?;
        let name = lab_name(lab)?;
        let ctx = LabContext::load(&name)?;
        let checks = match checks_file {
            Some(file) => checks_from_file(file, &ctx.plan)?,
            None => lab_file_checks(&name)?,
        };
        Ok::<_, anyhow::Error>((ctx, checks))
    })();
    let (ctx, checks) = match prepared {
        Ok(ready) => ready,
        Err(e) => return Ok(invalid(&e)),
    };
    let report = grade(&ctx, checks, None);
    emit(&report, output)
}

/// Prints why nothing could be checked; exit code 2.
pub fn invalid(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", crate::printable::lines(&format!("{error:#}")));
    ExitCode::from(EXIT_INVALID)
}

/// The checks of a separate checks file, resolved against `plan`.
pub fn checks_from_file(file: &Path, plan: &Plan) -> Result<Vec<CheckSpec>> {
    let loaded = load_checks_file(file, plan)?;
    if let Some(report) = loaded.report() {
        eprintln!("{report}");
    }
    match loaded.checks {
        Some(checks) if !checks.is_empty() => Ok(checks),
        Some(_) => bail!("{} has no checks", file.display()),
        None => bail!("{} is not a valid checks file", file.display()),
    }
}

/// The running lab's own checks, read again from its lab file.
fn lab_file_checks(lab: &str) -> Result<Vec<CheckSpec>> {
    let record = crate::state::LabDir::of(lab)?.read_record()?;
    let loaded = load_lab_file(Path::new(&record.file))
        .with_context(|| format!("lab {lab} was started from {}", record.file))?;
    let checked = loaded.checked;
    if checked.valid.is_none() {
        eprintln!(
            "{}",
            DiagnosticReport {
                source: &checked.source,
                diagnostics: checked.diagnostics.clone()
            }
        );
        bail!(
            "{} (the file lab {lab} was started from) is not valid now",
            record.file
        );
    }
    if loaded.checks.is_empty() {
        bail!(
            "{} has no `checks:`: add some, or give a checks file with --checks FILE",
            record.file
        );
    }
    Ok(loaded.checks)
}

/// Runs the checks and builds the report.
pub fn grade(ctx: &LabContext, checks: Vec<CheckSpec>, timings: Option<Timings>) -> Report {
    let started = SystemTime::now();
    let clock = Instant::now();
    let results = run_all(ctx, checks);
    Report {
        lab: ctx.lab.clone(),
        results,
        started,
        duration: clock.elapsed(),
        timings,
    }
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
