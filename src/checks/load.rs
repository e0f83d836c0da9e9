//! Loading checks: the lab file's own `checks:` list, or a separate checks
//! file an instructor keeps away from the student's lab file. Both go
//! through the same stages as the lab file (YAML, shape against the
//! schema, types, meaning against the lab's plan) with file:line:col errors.
//! A lab file is loaded here with its checks, so that every verb sees one
//! verdict for both, the lab's problems first.
//!
//! A checks file is often an instructor's hidden rubric: its problems can
//! be rendered without its lines (`RubricLines::Hidden`), each placed by
//! check number, name and field instead, for the student who sees them.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use super::resolve::resolve_checks;
use super::resolver::LabGaps;
use super::spec::CheckSpec;
use crate::lab::diagnostic::{Diagnostic, Pos, Report, SourceFile};
use crate::lab::load::{Checked, Stages, read_file, read_text};
use crate::lab::model_checks::{ChecksFile, explain_misplaced_keys};
use crate::lab::plan::Plan;
use crate::lab::raw::{RawNode, RawValue, Step};
use crate::lab::shape::check_shape;

/// A lab file and its own checks, with one verdict for both.
pub struct LabWithChecks {
    /// The lab: valid only when neither it nor its checks have an error;
    /// its diagnostics are the lab's, then the checks'.
    pub checked: Checked,
    /// The lab file's checks, resolved against its plan.
    pub checks: Vec<CheckSpec>,
}

/// The lab file at `path` and its `checks:`.
pub fn load_lab_file(path: &Path) -> anyhow::Result<LabWithChecks> {
    Ok(with_checks(read_file(path)?))
}

pub fn load_lab_text(name: &str, text: String) -> LabWithChecks {
    with_checks(read_text(name, text))
}

/// Resolves the lab's `checks:` when the lab itself is sound (even beside
/// errors of another stage), then gives the verdict.
fn with_checks(mut stages: Stages) -> LabWithChecks {
    let mut checks = Vec::new();
    if let (Some(raw), Some((lab, _, plan))) = (&stages.raw, &stages.sound) {
        let (specs, found) = resolve_checks(
            &lab.checks,
            raw,
            plan,
            &base_dir(&stages.source),
            LabGaps::Errors,
        );
        stages.diagnostics.extend(found);
        checks = specs;
    }
    LabWithChecks {
        checked: stages.finish(),
        checks,
    }
}

/// The directory of the file: attachments are relative to it.
fn base_dir(source: &SourceFile) -> std::path::PathBuf {
    Path::new(&source.name)
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Checks read from a file: the runnable ones when there is no error, and
/// every diagnostic with the file's text to render them.
pub struct LoadedChecks {
    pub source: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    pub checks: Option<Vec<CheckSpec>>,
    /// The file's syntax tree, when it parsed (to place a diagnostic by
    /// check and field).
    raw: Option<RawNode>,
}

/// Whether a checks file's diagnostics may quote its lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RubricLines {
    /// With the file's lines and carets (for the instructor who wrote it).
    Shown,
    /// Placed by check number, name and field only: a student grading
    /// against a hidden rubric never sees its lines.
    Hidden,
}

impl LoadedChecks {
    /// The rendered diagnostics (errors and warnings), if any, with the
    /// file's lines.
    pub fn report(&self) -> Option<String> {
        self.render(RubricLines::Shown)
    }

    /// The rendered diagnostics, if any, with or without the file's lines.
    pub fn render(&self, lines: RubricLines) -> Option<String> {
        if self.diagnostics.is_empty() {
            return None;
        }
        let report = Report {
            source: &self.source,
            diagnostics: self.diagnostics.clone(),
        };
        Some(match lines {
            RubricLines::Shown => report.to_string(),
            RubricLines::Hidden => {
                let mut sorted: Vec<&Diagnostic> = self.diagnostics.iter().collect();
                sorted.sort_by_key(|d| (d.severity, d.pos));
                let mut out = String::new();
                for d in sorted {
                    let label = if d.is_error() { "error" } else { "warning" };
                    out.push_str(&format!("{label}: {}\n", d.message));
                    let place = d.pos.map(|pos| self.place(pos));
                    out.push_str(&format!(
                        "  --> {}{}\n",
                        self.source.name,
                        place.map(|p| format!(": {p}")).unwrap_or_default()
                    ));
                    if let Some(hint) = &d.hint {
                        out.push_str(&format!("   = hint: {hint}\n"));
                    }
                    out.push('\n');
                }
                out + &report.summary()
            }
        })
    }

    /// Where `pos` is, in words: `check 3 ("Ada emails Bob"), mail.reader`,
    /// or the top-level key, or only the line when the file did not parse.
    fn place(&self, pos: Pos) -> String {
        let path = self.raw.as_ref().and_then(|raw| path_to(raw, pos));
        let Some(path) = path else {
            return format!("line {}", pos.line);
        };
        let keys = |steps: &[Step]| {
            steps
                .iter()
                .map(|s| match s {
                    Step::Key(k) => k.clone(),
                    Step::Index(i) => format!("[{i}]"),
                })
                .collect::<Vec<_>>()
                .join(".")
        };
        match path.as_slice() {
            [Step::Key(top), Step::Index(i), field @ ..] if top == "checks" => {
                let name = self
                    .raw
                    .as_ref()
                    .and_then(|raw| {
                        raw.get(&[Step::from("checks"), Step::from(*i), Step::from("name")])
                    })
                    .and_then(|n| n.value.scalar_text());
                let mut place = format!("check {}", i + 1);
                if let Some(name) = name {
                    place.push_str(&format!(" (\"{}\")", crate::printable::line(&name)));
                }
                if !field.is_empty() {
                    place.push_str(&format!(", `{}`", keys(field)));
                }
                place
            }
            [] => format!("line {}", pos.line),
            steps => format!("`{}`", keys(steps)),
        }
    }
}

/// The path from the root to the key or value written at `pos`.
fn path_to(node: &RawNode, pos: Pos) -> Option<Vec<Step>> {
    let at = |p: Pos| (p.line, p.col) == (pos.line, pos.col);
    if at(node.pos) {
        return Some(Vec::new());
    }
    let children: Vec<(Step, Option<&RawNode>, &RawNode)> = match &node.value {
        RawValue::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (Step::Index(i), None, item))
            .collect(),
        RawValue::Map(entries) => entries
            .iter()
            .filter_map(|(key, value)| {
                Some((Step::Key(key.value.scalar_text()?), Some(key), value))
            })
            .collect(),
        _ => Vec::new(),
    };
    children.into_iter().find_map(|(step, key, value)| {
        if key.is_some_and(|k| at(k.pos)) {
            return Some(vec![step]);
        }
        let mut rest = path_to(value, pos)?;
        rest.insert(0, step);
        Some(rest)
    })
}

pub fn checks_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ChecksFile)).expect("schema is JSON")
}

/// A separate checks file (`checks:` only), resolved against `plan`.
pub fn load_checks_file(path: &Path, plan: &Plan) -> anyhow::Result<LoadedChecks> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read checks file {}", path.display()))?;
    Ok(load_checks_text(&path.display().to_string(), text, plan))
}

pub fn load_checks_text(name: &str, text: String, plan: &Plan) -> LoadedChecks {
    parse_checks_text(name, text).resolve(plan)
}

/// A checks file read and decoded, not yet resolved against any lab: what
/// `grade` loads once and resolves against each submission's plan.
pub struct ParsedChecks {
    pub source: SourceFile,
    /// YAML, shape and type problems: the same for every lab.
    pub diagnostics: Vec<Diagnostic>,
    raw: Option<RawNode>,
    /// The checks as written, when the file could be decoded.
    pub file: Option<ChecksFile>,
}

/// A separate checks file's text through the stages that need no lab.
pub fn parse_checks_text(name: &str, text: String) -> ParsedChecks {
    let source = SourceFile::new(name, text);
    let (raw, file, diagnostics) = match RawNode::parse(&source.text) {
        Err(d) => (None, None, vec![d]),
        Ok(raw) => {
            let shape = check_shape(&raw, &checks_schema());
            let mut diagnostics = shape.diagnostics;
            explain_misplaced_keys(&mut diagnostics);
            let file = shape.pruned.and_then(|json| {
                serde_json::from_value::<ChecksFile>(json)
                    .map_err(|e| {
                        diagnostics.push(Diagnostic::error(
                            format!("the checks file does not fit the checks format: {e}"),
                            None,
                        ))
                    })
                    .ok()
            });
            (Some(raw), file, diagnostics)
        }
    };
    ParsedChecks {
        source,
        diagnostics,
        raw,
        file,
    }
}

impl ParsedChecks {
    /// The checks resolved against `plan`: runnable when neither the file
    /// nor the resolving found an error.
    pub fn resolve(&self, plan: &Plan) -> LoadedChecks {
        let source = SourceFile::new(self.source.name.clone(), self.source.text.clone());
        let mut diagnostics = self.diagnostics.clone();
        let checks = match (&self.raw, &self.file) {
            (Some(raw), Some(file)) => {
                let (specs, found) = resolve_checks(
                    &file.checks,
                    raw,
                    plan,
                    &base_dir(&source),
                    LabGaps::FailTheCheck,
                );
                diagnostics.extend(found);
                let ok = !diagnostics.iter().any(Diagnostic::is_error);
                ok.then_some(specs)
            }
            _ => None,
        };
        LoadedChecks {
            source,
            diagnostics,
            checks,
            raw: self.raw.clone(),
        }
    }
}
