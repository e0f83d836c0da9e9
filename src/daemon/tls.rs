//! A node's TLS settings in the daemon, from the files `up` made in the
//! lab's state dir (`state::TlsFiles`): a server's certificate for its
//! listeners, and the lab CA for labctl's own clients (the relay).

use std::path::Path;

use anyhow::{Context, Result};
use tokio_rustls::TlsConnector;

use crate::lab::model_tls::TlsMode;
use crate::services::tls::{ServerTls, config};
use crate::state::TlsFiles;

/// The server settings of `node` for a service with `mode`; None when off.
pub fn server(state_dir: &Path, node: &str, mode: TlsMode) -> Result<Option<ServerTls>> {
    if mode.is_off() {
        return Ok(None);
    }
    let files = TlsFiles::of(state_dir);
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {} (made at `up`; run `labctl down` and `up` again)",
                path.display()
            )
        })
    };
    let chain = read(&files.chain(node))?;
    let key = read(&files.key(node))?;
    Ok(Some(ServerTls {
        acceptor: config::acceptor(&chain, &key)?,
        required: mode == TlsMode::Required,
    }))
}

/// A client that trusts the lab's CA; None when the lab has no TLS.
pub fn lab_connector(state_dir: &Path) -> Result<Option<TlsConnector>> {
    match TlsFiles::of(state_dir).read_ca()? {
        Some(pem) => Ok(Some(config::connector(&pem)?)),
        None => Ok(None),
    }
}
