//! Loading checks: the lab file's own `checks:` list, or a separate checks
//! file an instructor keeps away from the student's lab file. Both go
//! through the same stages as the lab file (YAML, shape against the
//! schema, types, meaning against the lab's plan) with file:line:col errors.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use super::spec::CheckSpec;
use super::validate::{explain_misplaced_keys, resolve_checks};
use crate::lab::diagnostic::{Diagnostic, Report, SourceFile};
use crate::lab::model_checks::ChecksFile;
use crate::lab::plan::Plan;
use crate::lab::raw::RawNode;
use crate::lab::shape::check_shape;

/// Checks read from a file: the runnable ones when there is no error, and
/// every diagnostic with the file's text to render them.
pub struct LoadedChecks {
    pub source: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    pub checks: Option<Vec<CheckSpec>>,
}

impl LoadedChecks {
    /// The rendered diagnostics (errors and warnings), if any.
    pub fn report(&self) -> Option<String> {
        (!self.diagnostics.is_empty()).then(|| {
            Report {
                source: &self.source,
                diagnostics: self.diagnostics.clone(),
            }
            .to_string()
        })
    }
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
    let source = SourceFile::new(name, text);
    let base_dir = Path::new(name)
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let (checks, diagnostics) = match RawNode::parse(&source.text) {
        Err(d) => (None, vec![d]),
        Ok(raw) => {
            let shape = check_shape(&raw, &checks_schema());
            let mut diagnostics = shape.diagnostics;
            explain_misplaced_keys(&mut diagnostics);
            let decoded = shape.pruned.and_then(|json| {
                serde_json::from_value::<ChecksFile>(json)
                    .map_err(|e| {
                        diagnostics.push(Diagnostic::error(
                            format!("the checks file does not fit the checks format: {e}"),
                            None,
                        ))
                    })
                    .ok()
            });
            match decoded {
                None => (None, diagnostics),
                Some(file) => {
                    let (specs, found) = resolve_checks(&file.checks, &raw, plan, &base_dir);
                    diagnostics.extend(found);
                    let ok = !diagnostics.iter().any(Diagnostic::is_error);
                    (ok.then_some(specs), diagnostics)
                }
            }
        }
    };
    LoadedChecks {
        source,
        diagnostics,
        checks,
    }
}
