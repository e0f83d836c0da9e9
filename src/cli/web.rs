//! `labctl web LAB [--listen ADDR:PORT] [--replay FILE]`: serves the web
//! view (`web`) and prints its URL; runs until Ctrl-C or SIGTERM. The
//! listening socket is opened first (`bind`), before a rootless labctl
//! enters the lab's namespaces, so it stays on the host's network.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::web::{WebRequest, listen, serve};

/// The page's listening socket, opened in the caller's network namespace.
pub struct Listener {
    socket: std::net::TcpListener,
    /// Whether `--listen` was given (a non-loopback address needs it).
    explicit: bool,
}

/// Opens `--listen` (or the default): refused without `--listen` when not
/// loopback, and warned about when it is not.
pub fn bind(listen: Option<SocketAddr>) -> Result<Listener> {
    let addr = match listen {
        Some(addr) => addr,
        None => listen::DEFAULT.parse()?,
    };
    if let Some(warning) =
        listen::check(addr, listen.is_some()).map_err(|refused| anyhow::anyhow!("{refused}"))?
    {
        eprintln!("{warning}");
    }
    let socket = std::net::TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on {addr} (--listen ADDR:PORT picks another)"))?;
    Ok(Listener {
        socket,
        explicit: listen.is_some(),
    })
}

pub fn run(lab: &str, listener: Listener, replay: Option<PathBuf>) -> Result<ExitCode> {
    let request = WebRequest {
        lab: lab.to_string(),
        listener: listener.socket,
        listen_explicit: listener.explicit,
        replay,
    };
    serve(request, |url| {
        println!("labctl web: {url}  (Ctrl-C to stop)");
        let _ = std::io::stdout().flush();
    })?;
    Ok(ExitCode::SUCCESS)
}
