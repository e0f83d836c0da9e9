//! `labctl test FILE [--name NAME] [--checks FILE] [--json] [--junit FILE]`:
//! what CI runs (`ops::test`: build fresh, check, always tear down — on
//! Ctrl-C too). Exit codes as `check`: 0, 1, or 2 when the lab cannot be
//! built or a file is invalid; 130 when interrupted while the checks ran.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::check::{RunArgs, emit, invalid, print_warnings, report_capture};
use super::signals::cancel_on_stop_signals;
use super::validate;
use crate::checks::load::load_lab_file;
use crate::ops::check::checks_from_file;
use crate::ops::test::{Graded, test_recorded};
use crate::progress::Progress;

/// The exit code after a stop signal, as shells report it (128 + the
/// signal): 130 for Ctrl-C, 143 for SIGTERM (a CI runner's timeout), 129
/// for a closed terminal.
pub(super) fn interrupted_exit_code(reason: Option<&str>) -> u8 {
    match reason {
        Some("terminated") => 128 + 15,
        Some("the terminal went away") => 128 + 1,
        Some("the output went away") => 128 + 13,
        _ => 128 + 2,
    }
}

pub fn run(file: &Path, name: Option<&str>, args: &RunArgs) -> Result<ExitCode> {
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
    let checks = match args.checks.as_deref() {
        Some(path) => match checks_from_file(path, &plan, args.rubric_lines()) {
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
    let tested = match test_recorded(
        plan,
        file,
        checks,
        &args.options(),
        &Progress::new(),
        &cancel,
        args.capture.as_deref(),
    ) {
        Ok(tested) => tested,
        Err(e) => return Ok(invalid(&e)),
    };
    if let Some(finished) = tested.capture {
        report_capture(finished);
    }
    if let Err(e) = &tested.teardown {
        eprintln!("error: {}", crate::printable::lines(&format!("{e:#}")));
    }
    match tested.graded {
        Graded::Interrupted => {
            eprintln!("interrupted: lab {} was torn down", tested.lab);
            Ok(ExitCode::from(interrupted_exit_code(cancel.reason())))
        }
        Graded::Failed(e) => Ok(invalid(&e)),
        Graded::Done(report) => emit(&report, args),
    }
}

#[cfg(test)]
mod tests {
    use super::interrupted_exit_code;

    #[test]
    fn a_stop_signal_exits_as_the_shell_reports_it() {
        assert_eq!(interrupted_exit_code(Some("interrupted")), 130);
        assert_eq!(interrupted_exit_code(Some("terminated")), 143);
        assert_eq!(interrupted_exit_code(Some("the terminal went away")), 129);
    }
}
