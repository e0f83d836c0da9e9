//! The webmail of a node inside the daemon: binds port 80 in the node's
//! namespace (the caller's thread is already there), as the web service
//! does, and serves webmail that finds the mail server through the node's
//! own resolv.conf, saying STARTTLS to it when the lab has a CA. With
//! `tls: optional|required` it serves HTTPS on 443 with the node's
//! certificate from the lab CA; with `required` port 80 only redirects.

use std::net::{Ipv4Addr, SocketAddrV4};

use anyhow::Result;

use super::context::{NodeContext, Tasks};
use super::web::{HTTP_PORT, HTTPS_PORT};
use crate::agent::webmail::{self, WebmailConfig};
use crate::lab::model_agents::WebmailService;
use crate::net::tcp::tcp_listener;

pub fn start(context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
    let Some(settings) = &context.node.agents.webmail else {
        return Ok(());
    };
    let tls = super::tls::server(&context.state_dir, &context.node.name, settings.tls_mode())?;
    let listener = tcp_listener(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, HTTP_PORT))?;
    let mut plain = config(context, settings)?;
    if let Some(tls) = tls {
        let listener = tcp_listener(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, HTTPS_PORT))?;
        tracing::info!(
            "{}: webmail over HTTPS on port {HTTPS_PORT} for {}",
            context.node.name,
            settings.server
        );
        let mut secure = config(context, settings)?;
        secure.https = Some(tls.acceptor);
        tasks.spawn(webmail::serve(
            listener,
            secure,
            context.log.clone(),
            context.shutdown.clone(),
        ));
        plain.redirect_to_https = tls.required;
    }
    tracing::info!(
        "{}: webmail on port {HTTP_PORT} for {}{}",
        context.node.name,
        settings.server,
        if plain.redirect_to_https {
            " (redirects to HTTPS)"
        } else {
            ""
        }
    );
    tasks.spawn(webmail::serve(
        listener,
        plain,
        context.log.clone(),
        context.shutdown.clone(),
    ));
    Ok(())
}

/// The webmail's settings from the lab file, with the lab CA for its
/// STARTTLS to the mail server.
fn config(context: &NodeContext, settings: &WebmailService) -> Result<WebmailConfig> {
    let mut config = WebmailConfig::new(
        &context.node.name,
        settings.server.trim_end_matches('.'),
        &settings.mail_domain(),
        &context.node.namespace,
    );
    config.server.tls = super::tls::lab_connector(&context.state_dir)?;
    Ok(config)
}
