//! The webmail of a node inside the daemon: binds port 80 in the node's
//! namespace (the caller's thread is already there), as the web service
//! does, and serves webmail that finds the mail server through the node's
//! own resolv.conf, saying STARTTLS to it when the lab has a CA. HTTPS
//! comes the same way once a node has a certificate.

use std::net::{Ipv4Addr, SocketAddrV4};

use anyhow::Result;

use super::context::{NodeContext, Tasks};
use super::web::HTTP_PORT;
use crate::agent::webmail::{self, WebmailConfig};
use crate::net::tcp::tcp_listener;

pub fn start(context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
    let Some(settings) = &context.node.agents.webmail else {
        return Ok(());
    };
    let listener = tcp_listener(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, HTTP_PORT))?;
    tracing::info!(
        "{}: webmail on port {HTTP_PORT} for {}",
        context.node.name,
        settings.server
    );
    let mut config = WebmailConfig::new(
        &context.node.name,
        settings.server.trim_end_matches('.'),
        &settings.mail_domain(),
        &context.node.namespace,
    );
    config.server.tls = super::tls::lab_connector(&context.state_dir)?;
    tasks.spawn(webmail::serve(
        listener,
        config,
        context.log.clone(),
        context.shutdown.clone(),
    ));
    Ok(())
}
