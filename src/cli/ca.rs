//! `labctl ca LAB [-o FILE]`: print or save the lab's CA certificate
//! (`ops::tls`), for a browser or a client on the host.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::ops::tls;

pub fn run(lab: &str, output: Option<&Path>) -> Result<ExitCode> {
    let pem = tls::ca_pem(lab)?;
    match output {
        None => print!("{pem}"),
        Some(path) => {
            std::fs::write(path, &pem)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote the CA of lab {lab} to {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
