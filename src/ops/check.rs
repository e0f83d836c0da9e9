//! `check`: which checks to run (a running lab's own, from its lab file,
//! or a separate checks file's, resolved against the lab's plan), and
//! running them into a report. Shared by `check` and `test`.

use std::path::Path;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};

use super::admin::require_admin;
use super::target::lab_name;
use crate::checks::context::LabContext;
use crate::checks::load::{RubricLines, load_checks_file, load_lab_file};
use crate::checks::report::{Report, Timings};
use crate::checks::run_options::RunOptions;
use crate::checks::runner::run_all;
use crate::checks::spec::CheckSpec;
use crate::lab::diagnostic::Report as DiagnosticReport;
use crate::lab::plan::Plan;

/// A file that could not give checks: its rendered diagnostics (errors and
/// warnings, empty when there are none) and what that means for the verb.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InvalidFile {
    pub diagnostics: String,
    pub message: String,
}

/// The checks of a file, with its warnings rendered (empty if none).
pub struct Checks {
    pub checks: Vec<CheckSpec>,
    pub warnings: String,
}

/// A running lab ready to be checked.
pub struct Prepared {
    pub ctx: LabContext,
    pub checks: Checks,
}

/// Finds the running lab `target` (a name or its lab file) and its checks:
/// those of `checks_file` if given (its problems rendered as `lines`
/// says), else the lab file's own.
pub fn prepare(target: &str, checks_file: Option<&Path>, lines: RubricLines) -> Result<Prepared> {
    require_admin("check")?;
    let name = lab_name(target)?;
    let ctx = LabContext::load(&name)?;
    let checks = match checks_file {
        Some(file) => checks_from_file(file, &ctx.plan, lines)?,
        None => Checks {
            checks: lab_file_checks(&name)?,
            warnings: String::new(),
        },
    };
    Ok(Prepared { ctx, checks })
}

/// The checks of a separate checks file, resolved against `plan`; an
/// invalid or empty file is an `InvalidFile`. Its warnings and errors quote
/// its lines only with `RubricLines::Shown`.
pub fn checks_from_file(file: &Path, plan: &Plan, lines: RubricLines) -> Result<Checks> {
    let loaded = load_checks_file(file, plan)?;
    let diagnostics = loaded.render(lines).unwrap_or_default();
    let message = match loaded.checks {
        Some(checks) if !checks.is_empty() => {
            return Ok(Checks {
                checks,
                warnings: diagnostics,
            });
        }
        Some(_) => format!("{} has no checks", file.display()),
        None => format!("{} is not a valid checks file", file.display()),
    };
    Err(InvalidFile {
        diagnostics,
        message,
    }
    .into())
}

/// The running lab's own checks, read again from its lab file.
pub fn lab_file_checks(lab: &str) -> Result<Vec<CheckSpec>> {
    let record = crate::state::LabDir::of(lab)?.read_record()?;
    let loaded = load_lab_file(Path::new(&record.file))
        .with_context(|| format!("lab {lab} was started from {}", record.file))?;
    let checked = loaded.checked;
    if checked.valid.is_none() {
        let diagnostics = DiagnosticReport {
            source: &checked.source,
            diagnostics: checked.diagnostics.clone(),
        };
        return Err(InvalidFile {
            diagnostics: diagnostics.to_string(),
            message: format!(
                "{} (the file lab {lab} was started from) is not valid now",
                record.file
            ),
        }
        .into());
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
pub fn grade(
    ctx: &LabContext,
    checks: Vec<CheckSpec>,
    timings: Option<Timings>,
    options: &RunOptions,
) -> Report {
    let started = SystemTime::now();
    let clock = Instant::now();
    let results = run_all(ctx, checks, options);
    Report {
        lab: ctx.lab.clone(),
        results,
        started,
        duration: clock.elapsed(),
        timings,
        capture: None,
    }
}
