//! `labctl apply LAB [FILE]`: carry edits of the lab file into the running
//! lab (`ops::apply`), printing what changed and what needs down/up.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::ops::apply::apply;
use crate::ops::target::lab_name;
use crate::printable::line;

pub fn run(target: &str, file: Option<&Path>) -> Result<ExitCode> {
    let lab = lab_name(target)?;
    let applied = apply(&lab, file)?;
    if applied.changed.is_empty() {
        println!("lab {lab}: nothing to apply live");
    } else {
        println!("lab {lab}: applied");
        for change in &applied.changed {
            println!("  {}", line(change));
        }
    }
    if !applied.needs_rebuild.is_empty() {
        println!("not applied, needs `labctl down {lab}` and `labctl up` (or a future apply):");
        for change in &applied.needs_rebuild {
            println!("  {}", line(change));
        }
    }
    Ok(ExitCode::SUCCESS)
}
