//! `labctl grade SUBMISSIONS… --checks RUBRIC [--jobs N] [--shard I/N]
//! [--csv F] [--json F] [--junit-dir D]`: a class in one command
//! (`ops::grade`). Prints a table (student, points, %, failed checks),
//! writes the CSV, JSON and per-submission JUnit reports, and always tears
//! every lab down — on Ctrl-C and SIGTERM too.
//!
//! Exit codes: 0 every submission was graded (whatever it scored: marks
//! are the reports' business, not the job's); 1 some could not be graded
//! (each still has its row, with no points and the reason) or a lab could
//! not be torn down completely; 2 nothing was graded: bad arguments, an
//! invalid rubric, no lab files, a report that cannot be written; 130/143/
//! 129 interrupted (every lab torn down, no report written).

mod csv;
mod json;
mod junit;
mod table;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::check::{invalid, print_warnings};
use super::signals::cancel_on_stop_signals;
use super::test::interrupted_exit_code;
use crate::checks::run_options::RunOptions;
use crate::ops::admin::require_admin;
use crate::ops::grade::{Options, Row, Rubric, Shard, Verdict, grade, prepare};
use crate::printable::line;
use crate::progress::Progress;

/// What `grade` was asked for.
pub struct Args {
    pub submissions: Vec<PathBuf>,
    pub rubric: PathBuf,
    pub jobs: usize,
    pub shard: Option<Shard>,
    pub csv: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub junit_dir: Option<PathBuf>,
    pub keep_mail: bool,
}

/// The report files, opened before anything is built so that a wrong
/// path fails at once rather than after grading the class.
struct Outputs {
    csv: Option<(PathBuf, File)>,
    json: Option<(PathBuf, File)>,
    junit_dir: Option<PathBuf>,
}

impl Outputs {
    fn open(args: &Args) -> Result<Outputs> {
        let create = |path: &Option<PathBuf>, what: &str| -> Result<Option<(PathBuf, File)>> {
            path.as_ref()
                .map(|p| {
                    File::create(p)
                        .with_context(|| format!("cannot write the {what} to {}", p.display()))
                        .map(|f| (p.clone(), f))
                })
                .transpose()
        };
        if let Some(dir) = &args.junit_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the JUnit folder {}", dir.display()))?;
        }
        Ok(Outputs {
            csv: create(&args.csv, "CSV report")?,
            json: create(&args.json, "JSON report")?,
            junit_dir: args.junit_dir.clone(),
        })
    }

    /// Removes the report files opened (still empty), so that none
    /// pretends the class was graded.
    fn discard(self) {
        for (path, file) in [self.csv, self.json].into_iter().flatten() {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }
}

pub fn run(args: &Args) -> Result<ExitCode> {
    if let Err(e) = require_admin("grade") {
        return Ok(invalid(&e));
    }
    let rubric = match Rubric::load(&args.rubric) {
        Ok(rubric) => rubric,
        Err(e) => return Ok(invalid(&e)),
    };
    print_warnings(&rubric.warnings);
    let class = match prepare(&args.submissions, args.shard, &rubric) {
        Ok(class) => class,
        Err(e) => return Ok(invalid(&e)),
    };
    for warning in &class.rubric_warnings {
        eprintln!("warning: {}", line(warning));
    }
    let mut outputs = match Outputs::open(args) {
        Ok(outputs) => outputs,
        Err(e) => return Ok(invalid(&e)),
    };
    let warnings = class.rubric_warnings.clone();
    let cancel = match cancel_on_stop_signals() {
        Ok(cancel) => cancel,
        Err(e) => return Ok(invalid(&e)),
    };
    let progress = Progress::new();
    let phase = progress.phase("submissions graded", class.len());
    let max_points = rubric.max_points;
    let rows = grade(
        class,
        &Options {
            jobs: args.jobs,
            checks: RunOptions {
                keep_mail: args.keep_mail,
            },
        },
        &cancel,
        &|row: &Row| {
            phase.inc();
            if let Some(note) = progress_note(row, max_points) {
                progress.println(&note);
            }
        },
    );
    phase.finish();
    for row in &rows {
        if let Some(left) = &row.left_behind {
            eprintln!(
                "error: lab {} of {}: {}",
                row.submission.lab,
                line(&row.submission.student),
                crate::printable::lines(left)
            );
        }
    }
    if cancel.reason().is_some() {
        let graded = rows
            .iter()
            .filter(|r| !matches!(r.verdict, Verdict::Interrupted))
            .count();
        eprintln!(
            "interrupted after {graded} of {} submissions: every lab was torn down, no report was written",
            rows.len()
        );
        outputs.discard();
        return Ok(ExitCode::from(interrupted_exit_code(cancel.reason())));
    }
    print!("{}", table::to_table(&rows, max_points));
    if let Err(e) = write_reports(&rows, &rubric, args.shard, &warnings, &mut outputs) {
        return Ok(invalid(&e));
    }
    let all_graded = rows
        .iter()
        .all(|r| matches!(r.verdict, Verdict::Graded(_)) && r.left_behind.is_none());
    Ok(if all_graded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A line as a submission is done (beside the progress bar, or on its own
/// in a CI log).
fn progress_note(row: &Row, max_points: u32) -> Option<String> {
    let marks = row.marks(max_points);
    let student = line(&row.submission.student);
    match &row.verdict {
        Verdict::Interrupted => None,
        Verdict::Graded(_) => Some(format!(
            "graded {student}: {}/{} ({:.1}%)",
            marks.points, marks.max_points, marks.percent
        )),
        Verdict::Ungradable { reason, .. } => {
            Some(format!("not graded {student}: {}", line(reason)))
        }
    }
}

fn write_reports(
    rows: &[Row],
    rubric: &Rubric,
    shard: Option<Shard>,
    warnings: &[String],
    outputs: &mut Outputs,
) -> Result<()> {
    let write = |(path, file): &mut (PathBuf, File), bytes: &[u8], what: &str| {
        file.write_all(bytes)
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write the {what} to {}", path.display()))
    };
    if let Some(csv) = &mut outputs.csv {
        write(csv, &csv::to_csv(rows, rubric.max_points)?, "CSV report")?;
    }
    if let Some(json) = &mut outputs.json {
        let value = json::to_class_json(rows, rubric.max_points, &rubric.path, shard, warnings);
        let mut text = serde_json::to_string_pretty(&value)?;
        text.push('\n');
        write(json, text.as_bytes(), "JSON report")?;
    }
    if let Some(dir) = &outputs.junit_dir {
        junit::write_all(dir, rows)?;
    }
    Ok(())
}

/// How many submissions `grade` grades at once by default: the cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// `--shard` as clap reads it.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    text.parse()
}
