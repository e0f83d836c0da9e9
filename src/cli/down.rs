//! `labctl down LAB|FILE` and `labctl down --all`: remove labs completely.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::lab::raw::RawNode;
use crate::lifecycle::{looks_like_file, require_admin, teardown};
use crate::path;
use crate::state::{LabDir, all_labs};

pub fn run(target: Option<&str>, all: bool) -> Result<ExitCode> {
    let names = match (target, all) {
        (_, true) => all_labs(),
        (Some(target), false) => vec![lab_name(target)?],
        (None, false) => {
            bail!("say which lab: `labctl down LAB`, `labctl down FILE` or `labctl down --all`")
        }
    };
    require_admin("down")?;
    for name in names {
        let dir = LabDir::of(&name)?;
        if !dir.exists() {
            println!("lab {name} is not up: nothing to do");
            continue;
        }
        // A damaged or missing record still leaves the directory to remove.
        let plan = dir.read_record().ok().map(|r| r.plan);
        teardown(&dir, plan.as_ref())?;
        println!("lab {name} is down");
    }
    Ok(ExitCode::SUCCESS)
}

/// A lab file's `name` (read even from a file that no longer validates),
/// or the argument itself when it is a lab name.
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
