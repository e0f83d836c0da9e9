//! `labctl graph FILE|LAB [--format F] [-o OUT]`: a lab file as written (no
//! root needed), or a running lab with the addresses its interfaces have
//! now (DHCP leases included, read from the kernel), as Mermaid or DOT
//! source, or as an SVG or PNG picture drawn by Graphviz `dot`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

use crate::checks::load::load_lab_file;
use crate::lab::graph::{GraphFormat, LiveAddresses, render};
use crate::lab::plan::{Plan, plan};
use crate::lifecycle::{looks_like_file, require_admin};
use crate::net::inspect::inspect_plan;
use crate::state::LabDir;

use super::validate::print_report;

pub fn run(target: &str, format: Option<GraphFormat>, output: Option<&Path>) -> Result<ExitCode> {
    let format = match (format, output) {
        (Some(format), _) => format,
        (None, Some(path)) => format_of(path)?,
        (None, None) => GraphFormat::Mermaid,
    };
    if format == GraphFormat::Png && output.is_none() && std::io::stdout().is_terminal() {
        bail!("a PNG is not for a terminal: write it to a file with `-o lab.png`");
    }
    let source = if looks_like_file(target) {
        let checked = load_lab_file(Path::new(target))?.checked;
        let Some((_, topology)) = &checked.valid else {
            return Ok(print_report(&checked));
        };
        render(&plan(topology), None, format)
    } else {
        let (plan, live) = running(target)?;
        render(&plan, Some(&live), format)
    };
    let bytes = match format {
        GraphFormat::Svg => draw(&source, "svg")?,
        GraphFormat::Png => draw(&source, "png")?,
        GraphFormat::Mermaid | GraphFormat::Dot => source.into_bytes(),
    };
    match output {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A running lab's plan and the addresses its interfaces have now.
fn running(lab: &str) -> Result<(Plan, LiveAddresses)> {
    require_admin("graph LAB")?;
    let dir = LabDir::of(lab)?;
    let record = dir.read_record().with_context(|| {
        format!(
            "lab {lab} is not running (`labctl status` lists the running labs; \
             give a lab file to draw it as written)"
        )
    })?;
    let views = inspect_plan(&record.plan)?;
    let mut live = LiveAddresses::new();
    for (node, view) in record.plan.nodes.iter().zip(views) {
        for link in view.iter().flat_map(|v| &v.links) {
            if node.interfaces.iter().any(|i| i.name == link.name) {
                live.insert(
                    format!("{}/{}", node.name, link.name),
                    link.addresses.clone(),
                );
            }
        }
    }
    Ok((record.plan, live))
}

/// The format a file name asks for.
fn format_of(path: &Path) -> Result<GraphFormat> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match extension.as_deref() {
        Some("svg") => GraphFormat::Svg,
        Some("png") => GraphFormat::Png,
        Some("dot" | "gv") => GraphFormat::Dot,
        Some("mmd" | "mermaid") => GraphFormat::Mermaid,
        _ => bail!(
            "cannot tell the format from the name {}: end it in .svg, .png, .dot or .mmd, \
             or give --format",
            path.display()
        ),
    })
}

/// Runs Graphviz `dot` on DOT source: the picture's bytes.
fn draw(source: &str, format: &str) -> Result<Vec<u8>> {
    let spawned = Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "drawing a {} needs Graphviz `dot`, which is not installed: install the graphviz \
             package (`sudo apt-get install graphviz`), or print the source with --format dot",
            format.to_uppercase()
        ),
        Err(e) => return Err(e).context("cannot run Graphviz `dot`"),
    };
    // dot reads all of its input before it writes, so this cannot deadlock.
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(source.as_bytes())
        .context("cannot give the graph to Graphviz `dot`")?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "Graphviz `dot -T{format}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}
