//! One module per kind of probe. Each runs from the source node's namespace
//! with that node's own settings, and on failure walks the chain back to
//! the first link that broke.

mod dhcp;
mod dns;
mod exec;
mod http;
pub mod mail;
mod path;
mod reach;

use super::context::LabContext;
use super::outcome::Outcome;
use super::spec::Probe;

/// Runs one probe to its outcome (blocking; steps run inside nodes).
pub fn run(ctx: &LabContext, probe: &Probe) -> Outcome {
    let result = match probe {
        Probe::Ping {
            from,
            to,
            reachable,
        } => reach::ping(ctx, from, to, *reachable),
        Probe::Tcp {
            from,
            to,
            port,
            open,
        } => reach::tcp(ctx, from, to, *port, *open),
        Probe::Dhcp {
            node,
            interface,
            subnet,
            server,
        } => dhcp::lease(ctx, node, interface, *subnet, server.as_ref()),
        Probe::Dns {
            from,
            name,
            record_type,
            expect,
        } => dns::lookup(ctx, from, name, record_type, expect),
        Probe::Http {
            from,
            url,
            status,
            contains,
        } => http::fetch(ctx, from, url, *status, contains.as_deref()),
        Probe::Exec {
            node,
            command,
            exit,
            output,
            timeout,
        } => exec::run(ctx, node, command, *exit, output.as_deref(), *timeout),
        Probe::Mail(probe) => mail::mail(ctx, probe),
        Probe::MailRefused {
            from,
            server,
            to,
            sender,
        } => mail::refused(ctx, from, server, to, sender),
    };
    match result {
        Ok(outcome) => outcome,
        Err(diagnosis) => Outcome::fail(diagnosis),
    }
}
