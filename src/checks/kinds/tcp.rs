//! `tcp` checks: a TCP port accepts connections from a node (or, with
//! `expect: fail`, must not).

use std::net::SocketAddrV4;

use crate::agent::tcp::{ConnectError, connect};
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::path::{SILENCE, explain_silence};
use crate::checks::resolver::Resolver;
use crate::checks::target::Target;
use crate::lab::model_checks::{Expect, TcpCheck};

#[derive(Clone, Debug)]
pub struct Tcp {
    pub from: String,
    pub to: Target,
    pub port: u16,
    /// Whether the port must accept (`expect: ok`) or must not (`expect: fail`).
    pub open: bool,
}

pub fn resolve(r: &mut Resolver, c: &TcpCheck) -> Option<Tcp> {
    if c.port == 0 {
        r.error("port", "port 0 is not a port", "e.g. 25, 80, 110");
    }
    Some(Tcp {
        from: r.source("from", &c.from)?,
        to: r.target("to", &c.to)?,
        port: c.port,
        open: c.expect.unwrap_or_default() == Expect::Ok,
    })
}

impl Tcp {
    pub fn describe(&self) -> String {
        let Tcp {
            from,
            to,
            port,
            open,
        } = self;
        if *open {
            format!("{from} can connect to {to} port {port}")
        } else {
            format!("{from} cannot connect to {to} port {port}")
        }
    }

    pub fn run(&self, ctx: &LabContext) -> Step<Outcome> {
        probe(ctx, &self.from, &self.to, self.port, self.open)
    }
}

fn probe(ctx: &LabContext, from: &str, to: &Target, port: u16, open: bool) -> Step<Outcome> {
    ctx.address_of(from)?;
    let ip = ctx.resolve(from, to)?;
    let connected = ctx.in_node(from, move || async move {
        connect(SocketAddrV4::new(ip, port), SILENCE)
            .await
            .map(|_| ())
    })?;
    let shown = if to.to_string() == ip.to_string() {
        format!("{ip}:{port}")
    } else {
        format!("{to} ({ip}) port {port}")
    };
    match (connected, open) {
        (Ok(()), true) => Ok(Outcome::pass(format!("{shown} accepted the connection"))),
        (Ok(()), false) => Err(Diagnosis::new(
            "reachable",
            format!("{shown} accepted a connection from {from}, but it must not"),
            "stop the service, or keep this node from reaching it",
        )),
        (Err(e), false) => Ok(Outcome::pass(format!(
            "{shown} did not accept a connection from {from} ({e})"
        ))),
        (Err(ConnectError::Refused), true) => {
            let owner = ctx
                .owner_of(ip)
                .map(|n| n.name.clone())
                .unwrap_or_else(|| ip.to_string());
            if let Some(stopped) = ctx.stopped_server(&owner, port) {
                return Err(stopped.about(&format!(
                    "{from} could not connect to {owner} ({ip}) port {port}"
                )));
            }
            Err(Diagnosis::new(
                "connect",
                format!("{from} reached {owner} ({ip}), but nothing listens on port {port}"),
                format!(
                    "is the service for port {port} configured on {owner} (and is the lab's daemon running)?"
                ),
            ))
        }
        (Err(e), true) => {
            let mut d = explain_silence(ctx, from, ip, &format!("connect to {shown}"));
            d.message = format!("{from} could not connect to {shown}: {e}; {}", d.message);
            Ok(Outcome::fail(d))
        }
    }
}
