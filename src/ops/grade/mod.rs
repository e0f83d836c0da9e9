//! `grade`: a class in one command. Every submission is loaded and checked
//! against the rubric (loaded once, resolved against each lab's plan)
//! before anything is built; then `test` grades them, a bounded number at
//! a time, each under a lab name of its own. A submission that cannot be
//! graded (an invalid file, a rubric that does not fit it, a lab that does
//! not build) still gets its row: no points, and the reason. A cancel
//! stops taking new submissions and tears down those being graded.

mod lint;
mod submissions;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};

use super::cancel::Cancel;
use super::check::InvalidFile;
use super::test::{Graded, test};
use crate::checks::load::{ParsedChecks, parse_checks_text};
use crate::checks::report::Report;
use crate::checks::run_options::RunOptions;
use crate::checks::spec::CheckSpec;
use crate::lab::diagnostic::{Diagnostic, Report as DiagnosticReport};
use crate::lab::plan::Plan;
use crate::progress::Progress;

pub use submissions::{Shard, Submission};

/// The instructor's checks file, read once for the whole class.
pub struct Rubric {
    pub path: PathBuf,
    parsed: ParsedChecks,
    /// What a submission can score: every check's points.
    pub max_points: u32,
    /// The file's warnings, rendered (empty if none).
    pub warnings: String,
}

impl Rubric {
    /// Reads the checks file at `path`; a file with an error (YAML, shape,
    /// types: anything that does not depend on the lab) or no checks is an
    /// `InvalidFile`.
    pub fn load(path: &Path) -> Result<Rubric> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the rubric {}", path.display()))?;
        let parsed = parse_checks_text(&path.display().to_string(), text);
        let rendered = DiagnosticReport {
            source: &parsed.source,
            diagnostics: parsed.diagnostics.clone(),
        }
        .to_string();
        let problem = if parsed.diagnostics.iter().any(Diagnostic::is_error) {
            Some("is not a valid checks file")
        } else if parsed.file.as_ref().is_none_or(|f| f.checks.is_empty()) {
            Some("has no checks")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(InvalidFile {
                diagnostics: if parsed.diagnostics.is_empty() {
                    String::new()
                } else {
                    rendered
                },
                message: format!("the rubric {} {problem}", path.display()),
            }
            .into());
        }
        let max_points = parsed
            .file
            .iter()
            .flat_map(|f| &f.checks)
            .map(|c| c.points.unwrap_or(1))
            .sum();
        Ok(Rubric {
            path: path.to_path_buf(),
            warnings: if parsed.diagnostics.is_empty() {
                String::new()
            } else {
                rendered
            },
            parsed,
            max_points,
        })
    }
}

/// What became of one submission.
pub enum Verdict {
    /// Its lab was built and checked (whatever it scored).
    Graded(Box<Report>),
    /// It could not be graded: why, in one line, and the details behind it
    /// (a file's rendered diagnostics; empty when the reason says it all).
    Ungradable { reason: String, details: String },
    /// The run was cancelled before it was graded (or while it was).
    Interrupted,
}

/// One row of the class.
pub struct Row {
    pub submission: Submission,
    pub verdict: Verdict,
    /// Why its lab could not be torn down completely, if it could not.
    pub left_behind: Option<String>,
    /// The lab file's validation warnings, one line each (`LINE:COL:
    /// message — hint`): what validate caught that the checks may not.
    pub warnings: Vec<String>,
}

/// A row's marks, as every report gives them.
pub struct Marks<'a> {
    pub graded: bool,
    pub points: u32,
    pub max_points: u32,
    pub percent: f64,
    /// The titles of the checks that failed.
    pub failed: Vec<&'a str>,
    /// Why it could not be graded.
    pub reason: Option<&'a str>,
}

impl Row {
    /// Its marks; a submission that was not graded scores 0 of the
    /// rubric's `max_points`.
    pub fn marks(&self, max_points: u32) -> Marks<'_> {
        match &self.verdict {
            Verdict::Graded(report) => {
                let summary = report.summary();
                Marks {
                    graded: true,
                    points: summary.points,
                    max_points: summary.max_points,
                    percent: summary.percent,
                    failed: report
                        .results
                        .iter()
                        .filter(|r| !r.outcome.passed)
                        .map(|r| r.spec.title.as_str())
                        .collect(),
                    reason: None,
                }
            }
            Verdict::Ungradable { reason, .. } => Marks {
                graded: false,
                points: 0,
                max_points,
                percent: 0.0,
                failed: Vec::new(),
                reason: Some(reason),
            },
            Verdict::Interrupted => Marks {
                graded: false,
                points: 0,
                max_points,
                percent: 0.0,
                failed: Vec::new(),
                reason: Some("interrupted before it was graded"),
            },
        }
    }
}

/// A class ready to grade: its submissions, checked against the rubric.
pub struct Class {
    pending: Vec<Pending>,
    /// Warnings about the rubric from what the submissions' labs run.
    pub rubric_warnings: Vec<String>,
}

struct Pending {
    submission: Submission,
    warnings: Vec<String>,
    work: Result<(Plan, Vec<CheckSpec>), Verdict>,
}

/// The submissions in `paths` (folders and files), this `shard` of them,
/// loaded and checked against `rubric`. An error means nothing to grade.
pub fn prepare(paths: &[PathBuf], shard: Option<Shard>, rubric: &Rubric) -> Result<Class> {
    let files = submissions::lab_files(paths)?;
    let running: HashSet<String> = crate::state::all_labs().into_iter().collect();
    // Named over the whole class, so a student's lab name is the same in every shard.
    let class = submissions::name(files, &running);
    let mine = match shard {
        Some(shard) => shard.select(class),
        None => class,
    };
    let pending: Vec<Pending> = mine
        .into_iter()
        .map(|submission| {
            let mut warnings = Vec::new();
            let work = load(&submission, rubric, &mut warnings);
            Pending {
                submission,
                warnings,
                work,
            }
        })
        .collect();
    let labs: Vec<(&str, &Plan)> = pending
        .iter()
        .filter_map(|p| Some((p.submission.student.as_str(), &p.work.as_ref().ok()?.0)))
        .collect();
    let rubric_warnings = match &rubric.parsed.file {
        Some(file) => lint::lint(file, &labs),
        None => Vec::new(),
    };
    Ok(Class {
        pending,
        rubric_warnings,
    })
}

impl Class {
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// A submission's plan (under its own lab name) and the rubric's checks
/// resolved against it, or why it cannot be graded.
fn load(
    submission: &Submission,
    rubric: &Rubric,
    warnings: &mut Vec<String>,
) -> Result<(Plan, Vec<CheckSpec>), Verdict> {
    let ungradable = |reason: String, details: String| Verdict::Ungradable { reason, details };
    // Judged as a lab only: a submission is graded by the rubric, so its
    // own `checks:` are not resolved (nor held against it).
    let mut checked = crate::lab::load::read_file(&submission.file)
        .map_err(|e| ungradable(one_line(&e), String::new()))?
        .finish();
    warnings.extend(
        checked
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .map(warning_line),
    );
    if checked.plan.is_none() {
        let report = DiagnosticReport {
            source: &checked.source,
            diagnostics: checked.diagnostics.clone(),
        };
        return Err(ungradable(
            format!(
                "invalid lab file: {}",
                first_error(&checked.diagnostics).unwrap_or("it does not validate")
            ),
            report.to_string(),
        ));
    }
    checked
        .rename(&submission.lab)
        .map_err(|e| ungradable(format!("{e:#}"), String::new()))?;
    let plan = checked.plan.expect("a valid lab has a plan");
    let resolved = rubric.parsed.resolve(&plan);
    match resolved.checks {
        Some(checks) => Ok((plan, checks)),
        None => Err(ungradable(
            format!(
                "the rubric does not fit this lab: {}",
                first_error(&resolved.diagnostics).unwrap_or("its checks do not resolve")
            ),
            resolved.report().unwrap_or_default(),
        )),
    }
}

fn first_error(diagnostics: &[Diagnostic]) -> Option<&str> {
    diagnostics
        .iter()
        .find(|d| d.is_error())
        .map(|d| d.message.as_str())
}

/// How to grade a class.
pub struct Options {
    /// How many submissions are graded at once (at least 1).
    pub jobs: usize,
    /// How each submission's checks run (as `test` runs them).
    pub checks: RunOptions,
}

/// Grades `class`, `options.jobs` submissions at a time, calling `done`
/// as each is finished (from the grading threads); rows in the class's
/// order. When `cancel` fires, no more submissions are started, those
/// being graded are torn down, and the rest are `Interrupted`.
pub fn grade(
    class: Class,
    options: &Options,
    cancel: &Cancel,
    done: &(dyn Fn(&Row) + Sync),
) -> Vec<Row> {
    let total = class.pending.len();
    let queue: Vec<Mutex<Option<Pending>>> = class
        .pending
        .into_iter()
        .map(|p| Mutex::new(Some(p)))
        .collect();
    let rows: Vec<Mutex<Option<Row>>> = (0..total).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, total.max(1)) {
            scope.spawn(|| {
                while cancel.reason().is_none() {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = queue.get(i) else { break };
                    let Some(pending) = lock(slot).take() else {
                        continue;
                    };
                    let row = grade_one(pending, &options.checks, cancel);
                    done(&row);
                    *lock(&rows[i]) = Some(row);
                }
            });
        }
    });
    // Whatever no thread took was never started.
    rows.into_iter()
        .zip(queue)
        .map(|(row, pending)| {
            let row = row.into_inner().unwrap_or_else(|e| e.into_inner());
            let pending = pending.into_inner().unwrap_or_else(|e| e.into_inner());
            match (row, pending) {
                (Some(row), _) => row,
                (None, Some(pending)) => Row {
                    submission: pending.submission,
                    verdict: Verdict::Interrupted,
                    left_behind: None,
                    warnings: pending.warnings,
                },
                (None, None) => unreachable!("a taken submission always gets its row"),
            }
        })
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A grading thread that panicked leaves its slot as it was.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds, checks and tears down one submission's lab.
fn grade_one(pending: Pending, options: &RunOptions, cancel: &Cancel) -> Row {
    let Pending {
        submission,
        warnings,
        work,
    } = pending;
    let (plan, checks) = match work {
        Ok(work) => work,
        Err(verdict) => {
            return Row {
                submission,
                verdict,
                left_behind: None,
                warnings,
            };
        }
    };
    let (verdict, left_behind) = match test(
        plan,
        &submission.file,
        checks,
        options,
        &Progress::silent(),
        cancel,
    ) {
        Ok(tested) => {
            let left_behind = tested.teardown.err().map(|e| format!("{e:#}"));
            let verdict = match tested.graded {
                Graded::Done(report) => Verdict::Graded(report),
                Graded::Interrupted => Verdict::Interrupted,
                Graded::Failed(e) => Verdict::Ungradable {
                    reason: format!("the checks could not run: {}", one_line(&e)),
                    details: format!("{e:#}"),
                },
            };
            (verdict, left_behind)
        }
        Err(_) if cancel.reason().is_some() => (Verdict::Interrupted, None),
        Err(e) => (
            Verdict::Ungradable {
                reason: format!("the lab could not be built: {}", one_line(&e)),
                details: format!("{e:#}"),
            },
            None,
        ),
    };
    Row {
        submission,
        verdict,
        left_behind,
        warnings,
    }
}

/// A lab file's warning on one line: where, what, and the hint.
fn warning_line(d: &Diagnostic) -> String {
    let place = d
        .pos
        .map(|p| format!("{}:{}: ", p.line, p.col))
        .unwrap_or_default();
    match &d.hint {
        Some(hint) => format!("{place}{} — {hint}", d.message),
        None => format!("{place}{}", d.message),
    }
}

/// An error on one line (for a table cell or a CSV field): its lines
/// joined with " / ".
fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}
