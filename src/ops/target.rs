//! Which lab a verb's argument names: a lab name as it is, or a lab file's
//! `name` (read even from a file that no longer validates, so a broken
//! file's lab can still be taken down).

use std::path::Path;

use anyhow::{Result, bail};

use crate::lab::raw::RawNode;
use crate::path;

/// Whether `target` names a lab file rather than a lab.
pub fn looks_like_file(target: &str) -> bool {
    target.ends_with(".yaml") || target.ends_with(".yml") || Path::new(target).is_file()
}

/// A lab file's `name`, or the argument itself when it is a lab name.
pub fn lab_name(target: &str) -> Result<String> {
    if !looks_like_file(target) {
        return Ok(target.to_string());
    }
    let text = std::fs::read_to_string(target)
        .map_err(|e| anyhow::anyhow!("cannot read lab file {target}: {e}"))?;
    let name = RawNode::parse(&text)
        .ok()
        .and_then(|raw| raw.get(&path!["name"]).and_then(|n| n.value.scalar_text()));
    match name {
        Some(name) => Ok(name),
        None => bail!(
            "{target} has no `name`: give the lab's name instead (`labctl status` lists them)"
        ),
    }
}
