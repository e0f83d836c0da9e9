//! `labctl web LAB [--listen ADDR:PORT] [--replay FILE]`: serves the web
//! view (`web`) and prints its URL; runs until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::web::{WebRequest, listen, serve};

pub fn run(lab: &str, listen: Option<SocketAddr>, replay: Option<PathBuf>) -> Result<ExitCode> {
    let request = WebRequest {
        lab: lab.to_string(),
        listen_explicit: listen.is_some(),
        listen: match listen {
            Some(addr) => addr,
            None => listen::DEFAULT.parse()?,
        },
        replay,
    };
    serve(request, |url| {
        println!("labctl web: {url}  (Ctrl-C to stop)");
        let _ = std::io::stdout().flush();
    })?;
    Ok(ExitCode::SUCCESS)
}
