//! `labctl down LAB|FILE` and `labctl down --all`: remove labs completely
//! (`ops::down`).

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::ops::admin::require_admin;
use crate::ops::down::{Down, down};
use crate::ops::target::lab_name;
use crate::state::all_labs;

pub fn run(target: Option<&str>, all: bool) -> Result<ExitCode> {
    let names = match (target, all) {
        (_, true) => all_labs(),
        (Some(target), false) => vec![lab_name(target)?],
        (None, false) => {
            bail!("say which lab: `labctl down LAB`, `labctl down FILE` or `labctl down --all`")
        }
    };
    // Rootless `down` stops a lab from outside its namespaces (ops::rootless).
    if !crate::rootless::active() {
        require_admin("down")?;
    }
    for name in names {
        match down(&name)? {
            Down::NotUp => println!("lab {name} is not up: nothing to do"),
            Down::Removed => println!("lab {name} is down"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
