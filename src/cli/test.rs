//! `labctl test FILE [--name NAME] [--checks FILE] [--json] [--junit FILE]`:
//! what CI runs (`ops::test`: build fresh, check, always tear down — on
//! Ctrl-C too). Exit codes as `check`: 0, 1, or 2 when the lab cannot be
//! built or a file is invalid; 130 when interrupted while the checks ran.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::check::{Output, emit, invalid, print_warnings};
use super::signals::cancel_on_stop_signals;
use super::validate;
use crate::checks::load::load_lab_file;
use crate::ops::check::checks_from_file;
use crate::ops::test::{Graded, test};
use crate::progress::Progress;

/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

pub fn run(
    file: &Path,
    name: Option<&str>,
    checks_file: Option<&Path>,
    output: &Output,
) -> Result<ExitCode> {
    let (mut checked, lab_checks) = match load_lab_file(file) {
        Ok(loaded) => (loaded.checked, loaded.checks),
        Err(e) => return Ok(invalid(&e)),
    };
    if let Some(Err(e)) = name.map(|name| checked.rename(name)) {
        return Ok(invalid(&e));
    }
    let Some(plan) = checked.plan.clone() else {
        return Ok(validate::print_report(&checked));
    };
    // Every file is checked before anything is built.
    let checks = match checks_file {
        Some(path) => match checks_from_file(path, &plan) {
            Ok(checks) => {
                print_warnings(&checks.warnings);
                checks.checks
            }
            Err(e) => return Ok(invalid(&e)),
        },
        None if lab_checks.is_empty() => {
            return Ok(invalid(&anyhow::anyhow!(
                "{} has no `checks:`: add some, or give a checks file with --checks FILE",
                file.display()
            )));
        }
        None => lab_checks,
    };
    validate::print_warnings(&checked);
    let cancel = match cancel_on_stop_signals() {
        Ok(cancel) => cancel,
        Err(e) => return Ok(invalid(&e)),
    };
    let tested = match test(plan, file, checks, &Progress::new(), &cancel) {
        Ok(tested) => tested,
        Err(e) => return Ok(invalid(&e)),
    };
    if let Err(e) = &tested.teardown {
        eprintln!("error: {}", crate::printable::lines(&format!("{e:#}")));
    }
    match tested.graded {
        Graded::Interrupted => {
            eprintln!("interrupted: lab {} was torn down", tested.lab);
            Ok(ExitCode::from(EXIT_INTERRUPTED))
        }
        Graded::Failed(e) => Ok(invalid(&e)),
        Graded::Done(report) => emit(&report, output),
    }
}
