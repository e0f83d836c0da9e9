//! Loading a lab file: YAML syntax, then shape (against the JSON Schema),
//! then types, then meaning. Each stage reports all it finds; meaning is
//! checked unless the shape is too broken to read (unknown keys are not).
//!
//! The lab's `checks:` are decoded here with the rest of the model but
//! resolved by the `checks` module, which takes the `Stages` (the syntax
//! tree for positions, the model and its plan) and adds what it finds.

use std::path::Path;

use anyhow::Context;

use super::diagnostic::{Diagnostic, SourceFile};
use super::model::Lab;
use super::model_checks::explain_misplaced_keys;
use super::plan::{Plan, plan};
use super::raw::RawNode;
use super::schema::lab_schema;
use super::shape::check_shape;
use super::topology::Topology;
use super::validate::validate;

/// A lab file's verdict.
pub struct Checked {
    pub source: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    /// Present when there is no error (warnings may remain).
    pub valid: Option<(Lab, Topology)>,
    /// The plan of the valid lab, built once for every caller.
    pub plan: Option<Plan>,
}

/// A lab file taken through the stages of its own, for a later stage (its
/// checks) to add to before the verdict.
pub struct Stages {
    pub source: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    /// The syntax tree, when the YAML could be read.
    pub raw: Option<RawNode>,
    /// The model, its topology and its plan, when the lab's meaning is
    /// sound — even beside errors of another stage (an unknown key), so
    /// that a later stage still reports what it finds.
    pub sound: Option<(Lab, Topology, Plan)>,
}

impl Stages {
    /// The verdict: valid when no stage found an error.
    pub fn finish(self) -> Checked {
        let ok = !self.diagnostics.iter().any(Diagnostic::is_error);
        let (valid, plan) = match self.sound.filter(|_| ok) {
            Some((lab, topology, plan)) => (Some((lab, topology)), Some(plan)),
            None => (None, None),
        };
        Checked {
            source: self.source,
            diagnostics: self.diagnostics,
            valid,
            plan,
        }
    }
}

/// The lab in `text`, judged as a lab only: its `checks:` are decoded but
/// not resolved (verbs load a lab file with `checks::load`, which does).
pub fn check_text(name: &str, text: String) -> Checked {
    read_text(name, text).finish()
}

/// The lab file at `path`, through the stages of its own.
pub fn read_file(path: &Path) -> anyhow::Result<Stages> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read lab file {}", path.display()))?;
    Ok(read_text(&path.display().to_string(), text))
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
            self.plan = Some(plan(topology));
        }
        Ok(())
    }
}

/// `text` (named `name` in messages), through the stages of its own.
pub fn read_text(name: &str, text: String) -> Stages {
    let source = SourceFile::new(name, text);
    let (raw, sound, diagnostics) = read_source(&source);
    Stages {
        source,
        diagnostics,
        raw,
        sound,
    }
}

type Found = (
    Option<RawNode>,
    Option<(Lab, Topology, Plan)>,
    Vec<Diagnostic>,
);

fn read_source(source: &SourceFile) -> Found {
    let raw = match RawNode::parse(&source.text) {
        Ok(raw) => raw,
        Err(d) => return (None, None, vec![d]),
    };
    let shape = check_shape(&raw, &lab_schema());
    let mut diagnostics = shape.diagnostics;
    explain_misplaced_keys(&mut diagnostics);
    let Some(pruned) = shape.pruned else {
        return (Some(raw), None, diagnostics);
    };
    let lab: Lab = match serde_json::from_value(pruned) {
        Ok(lab) => lab,
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                format!("the lab file does not fit the lab format: {e}"),
                None,
            ));
            return (Some(raw), None, diagnostics);
        }
    };
    let (topology, found) = validate(&lab, &raw);
    diagnostics.extend(found);
    let sound = topology.map(|topology| {
        let plan = plan(&topology);
        (lab, topology, plan)
    });
    (Some(raw), sound, diagnostics)
}
