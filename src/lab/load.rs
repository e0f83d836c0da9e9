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
}

pub fn check_file(path: &Path) -> anyhow::Result<Checked> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read lab file {}", path.display()))?;
    Ok(check_text(&path.display().to_string(), text))
}

pub fn check_text(name: &str, text: String) -> Checked {
    let source = SourceFile::new(name, text);
    let (valid, diagnostics) = check_source(&source);
    Checked {
        source,
        diagnostics,
        valid,
    }
}

fn check_source(source: &SourceFile) -> (Option<(Lab, Topology)>, Vec<Diagnostic>) {
    let raw = match RawNode::parse(&source.text) {
        Ok(raw) => raw,
        Err(d) => return (None, vec![d]),
    };
    let shape = check_shape(&raw, &lab_schema());
    let mut diagnostics = shape.diagnostics;
    let Some(pruned) = shape.pruned else {
        return (None, diagnostics);
    };
    let lab: Lab = match serde_json::from_value(pruned) {
        Ok(lab) => lab,
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                format!("the lab file does not fit the lab format: {e}"),
                None,
            ));
            return (None, diagnostics);
        }
    };
    let (topology, found) = validate(&lab, &raw);
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    diagnostics.extend(found);
    (topology.filter(|_| ok).map(|t| (lab, t)), diagnostics)
}
