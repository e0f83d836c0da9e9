//! Pictures (SVG, PNG) of DOT source, drawn by Graphviz `dot`.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Runs Graphviz `dot` on DOT source: the picture's bytes.
pub(super) fn draw(source: &str, format: &str) -> Result<Vec<u8>> {
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
