//! `labctl graph FILE|LAB [--format F] [-o OUT]`: a lab file as written (no
//! root needed), or a running lab with the addresses its interfaces have
//! now, as Mermaid or DOT source or an SVG/PNG picture (`ops::graph`).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::validate::print_report;
use crate::checks::load::load_lab_file;
use crate::ops::graph::{Diagram, GraphFormat};
use crate::ops::target::looks_like_file;

pub fn run(target: &str, format: Option<GraphFormat>, output: Option<&Path>) -> Result<ExitCode> {
    let format = match (format, output) {
        (Some(format), _) => format,
        (None, Some(path)) => GraphFormat::of_file(path)?,
        (None, None) => GraphFormat::Mermaid,
    };
    if format == GraphFormat::Png && output.is_none() && std::io::stdout().is_terminal() {
        bail!("a PNG is not for a terminal: write it to a file with `-o lab.png`");
    }
    let diagram = if looks_like_file(target) {
        let checked = load_lab_file(Path::new(target))?.checked;
        let Some(plan) = checked.plan else {
            return Ok(print_report(&checked));
        };
        Diagram::planned(plan)
    } else {
        Diagram::running(target)?
    };
    let bytes = diagram.draw(format)?;
    match output {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}
