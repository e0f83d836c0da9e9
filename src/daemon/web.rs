//! The web service of a node inside the daemon: binds port 80 in the node's
//! namespace (the caller's thread is already there) and serves the site.
//! A `root` directory is relative to the lab file, found in the lab record.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use anyhow::{Context, Result};

use super::context::{NodeContext, Tasks};
use crate::net::tcp::tcp_listener;
use crate::services::http::{self, Site};
use crate::state::LabRecord;

pub const HTTP_PORT: u16 = 80;
pub const HTTPS_PORT: u16 = 443;

pub fn start(context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
    let Some(web) = &context.node.agents.web else {
        return Ok(());
    };
    let site = match &web.root {
        None => Site::Pages(web.pages.clone().into_iter().collect()),
        Some(root) => {
            let record: LabRecord = serde_json::from_slice(
                &std::fs::read(context.state_dir.join("lab.json"))
                    .context("cannot read the lab record")?,
            )?;
            let lab_dir = Path::new(&record.file)
                .parent()
                .unwrap_or(Path::new("/"))
                .to_path_buf();
            let dir = lab_dir.join(root);
            if !dir.is_dir() {
                anyhow::bail!(
                    "web root {root} ({}) is not a directory: create it next to the lab file",
                    dir.display()
                );
            }
            Site::Directory(dir)
        }
    };
    let listener = tcp_listener(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, HTTP_PORT))?;
    tracing::info!("{}: web server on port {HTTP_PORT}", context.node.name);
    let tls = super::tls::server(
        &context.state_dir,
        &context.node.name,
        web.tls.unwrap_or_default(),
    )?;
    if let Some(tls) = tls {
        let listener = tcp_listener(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, HTTPS_PORT))?;
        tracing::info!("{}: HTTPS on port {HTTPS_PORT}", context.node.name);
        let config = http::HttpConfig {
            tls: Some(tls.acceptor),
            ..http::HttpConfig::default()
        };
        tasks.spawn(http::serve(
            listener,
            site.clone(),
            config,
            context.shutdown.clone(),
        ));
    }
    tasks.spawn(http::serve(
        listener,
        site,
        http::HttpConfig::default(),
        context.shutdown.clone(),
    ));
    Ok(())
}
