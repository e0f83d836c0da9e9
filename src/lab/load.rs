//! Loading a lab file: YAML syntax, then shape (against the JSON Schema),
//! then types, then meaning. Each stage reports all it finds; meaning is
//! checked unless the shape is too broken to read (unknown keys are not).

use std::path::Path;

use anyhow::Context;

use super::diagnostic::{Diagnostic, SourceFile};
use super::model::Lab;
use super::raw::RawNode;
use super::schema::lab_schema;
use super::shape::check_shape;
use super::topology::Topology;
use super::validate::validate;

pub struct Checked {
    pub source: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    /// Present when there is no error (warnings may remain).
    pub valid: Option<(Lab, Topology)>,
    /// The lab file's own checks, resolved against its plan.
    pub checks: Vec<crate::checks::spec::CheckSpec>,
}

pub fn check_file(path: &Path) -> anyhow::Result<Checked> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read lab file {}", path.display()))?;
    Ok(check_text(&path.display().to_string(), text))
}

impl Checked {
    /// Runs the lab under `name` instead of the file's own `name:` (the same
    /// file up twice, or many students' files with one name graded side by
    /// side). Only a valid lab can be renamed.
    pub fn rename(&mut self, name: &str) -> anyhow::Result<()> {
        if let Some(problem) = super::validate::name_problem(name) {
            anyhow::bail!(
                "--name {name:?} cannot name a lab: {problem}\n  fix: use letters, digits and `-`"
            );
        }
        if let Some((lab, topology)) = &mut self.valid {
            lab.name = name.to_string();
            topology.name = name.to_string();
        }
        Ok(())
    }
}

pub fn check_text(name: &str, text: String) -> Checked {
    let source = SourceFile::new(name, text);
    let (valid, diagnostics, checks) = check_source(&source);
    Checked {
        source,
        diagnostics,
        valid,
        checks,
    }
}

type Found = (
    Option<(Lab, Topology)>,
    Vec<Diagnostic>,
    Vec<crate::checks::spec::CheckSpec>,
);

fn check_source(source: &SourceFile) -> Found {
    let raw = match RawNode::parse(&source.text) {
        Ok(raw) => raw,
        Err(d) => return (None, vec![d], Vec::new()),
    };
    let shape = check_shape(&raw, &lab_schema());
    let mut diagnostics = shape.diagnostics;
    crate::checks::validate::explain_misplaced_keys(&mut diagnostics);
    let Some(pruned) = shape.pruned else {
        return (None, diagnostics, Vec::new());
    };
    let lab: Lab = match serde_json::from_value(pruned) {
        Ok(lab) => lab,
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                format!("the lab file does not fit the lab format: {e}"),
                None,
            ));
            return (None, diagnostics, Vec::new());
        }
    };
    let (topology, found) = validate(&lab, &raw);
    diagnostics.extend(found);
    let mut checks = Vec::new();
    if let Some(topology) = &topology {
        let base = std::path::Path::new(&source.name)
            .parent()
            .unwrap_or(std::path::Path::new("."));
        let (specs, found) = crate::checks::validate::resolve_checks(
            &lab.checks,
            &raw,
            &super::plan::plan(topology),
            base,
        );
        diagnostics.extend(found);
        checks = specs;
    }
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    (
        topology.filter(|_| ok).map(|t| (lab, t)),
        diagnostics,
        checks,
    )
}
