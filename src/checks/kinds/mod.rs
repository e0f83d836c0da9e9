//! One module per kind of check, each holding that kind's resolution (its
//! settings checked against the lab's plan, with positions), its probe
//! (run from the source node's namespace with that node's own settings)
//! and its diagnosis (on failure, the first link of the chain that broke).
//! This module only dispatches on the kind.

pub mod dhcp;
pub mod dns;
pub mod exec;
pub mod http;
pub mod mail;
pub mod mail_refused;
pub mod mail_spoof;
pub mod ping;
pub mod tcp;
pub mod unrunnable;
pub mod wire;

use super::context::LabContext;
use super::outcome::Outcome;
use super::resolver::Resolver;
use super::run_options::RunOptions;
use crate::lab::model_checks::CheckKind;

/// A resolved check of one kind: what its probe does.
#[derive(Clone, Debug)]
pub enum Probe {
    Ping(ping::Ping),
    Tcp(tcp::Tcp),
    Dhcp(dhcp::Dhcp),
    Dns(dns::Dns),
    Http(http::Http),
    Mail(Box<mail::Mail>),
    MailRefused(mail_refused::MailRefused),
    MailSpoof(mail_spoof::MailSpoof),
    Exec(exec::Exec),
    /// Graded by the runner on the run's capture, after the others.
    Wire(Box<wire::Wire>),
    /// A check the lab lacks something for: it fails with the reason.
    Unrunnable(unrunnable::Unrunnable),
}

/// Resolves one check's settings (problems go to `r`).
pub fn resolve(r: &mut Resolver, kind: &CheckKind) -> Option<Probe> {
    Some(match kind {
        CheckKind::Ping(c) => Probe::Ping(ping::resolve(r, c)?),
        CheckKind::Tcp(c) => Probe::Tcp(tcp::resolve(r, c)?),
        CheckKind::Dhcp(c) => Probe::Dhcp(dhcp::resolve(r, c)?),
        CheckKind::Dns(c) => Probe::Dns(dns::resolve(r, c)?),
        CheckKind::Http(c) => Probe::Http(http::resolve(r, c)?),
        CheckKind::Mail(c) => Probe::Mail(Box::new(mail::resolve(r, c)?)),
        CheckKind::MailRefused(c) => Probe::MailRefused(mail_refused::resolve(r, c)?),
        CheckKind::MailSpoof(c) => Probe::MailSpoof(mail_spoof::resolve(r, c)?),
        CheckKind::Exec(c) => Probe::Exec(exec::resolve(r, c)?),
        CheckKind::Wire(c) => Probe::Wire(Box::new(wire::resolve(r, c)?)),
    })
}

impl Probe {
    /// The kind's key in a file (`ping`, `mail-refused`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Ping(_) => "ping",
            Probe::Tcp(_) => "tcp",
            Probe::Dhcp(_) => "dhcp",
            Probe::Dns(_) => "dns",
            Probe::Http(_) => "http",
            Probe::Mail(_) => "mail",
            Probe::MailRefused(_) => "mail-refused",
            Probe::MailSpoof(_) => "mail-spoof",
            Probe::Exec(_) => "exec",
            Probe::Wire(_) => "wire",
            Probe::Unrunnable(u) => u.kind,
        }
    }

    /// The sentence a report shows when the check has no `name`.
    pub fn describe(&self) -> String {
        match self {
            Probe::Ping(p) => p.describe(),
            Probe::Tcp(p) => p.describe(),
            Probe::Dhcp(p) => p.describe(),
            Probe::Dns(p) => p.describe(),
            Probe::Http(p) => p.describe(),
            Probe::Mail(p) => p.describe(),
            Probe::MailRefused(p) => p.describe(),
            Probe::MailSpoof(p) => p.describe(),
            Probe::Exec(p) => p.describe(),
            Probe::Wire(p) => p.describe(),
            Probe::Unrunnable(u) => u.describe(),
        }
    }

    /// The node whose namespace the probe starts in.
    pub fn source(&self) -> &str {
        match self {
            Probe::Ping(p) => &p.from,
            Probe::Tcp(p) => &p.from,
            Probe::Dhcp(p) => &p.node,
            Probe::Dns(p) => &p.from,
            Probe::Http(p) => &p.from,
            Probe::Mail(p) => &p.from,
            Probe::MailRefused(p) => &p.from,
            Probe::MailSpoof(p) => &p.from,
            Probe::Exec(p) => &p.node,
            Probe::Wire(p) => p.source(),
            Probe::Unrunnable(u) => &u.source,
        }
    }

    /// Runs the probe to its outcome (blocking; steps run inside nodes).
    pub fn run(&self, ctx: &LabContext, options: &RunOptions) -> Outcome {
        let result = match self {
            Probe::Ping(p) => p.run(ctx),
            Probe::Tcp(p) => p.run(ctx),
            Probe::Dhcp(p) => p.run(ctx),
            Probe::Dns(p) => p.run(ctx),
            Probe::Http(p) => p.run(ctx),
            Probe::Mail(p) => p.run(ctx, options),
            Probe::MailRefused(p) => p.run(ctx),
            Probe::MailSpoof(p) => p.run(ctx),
            Probe::Exec(p) => p.run(ctx),
            // What crossed the wire is known only once the other checks
            // are done: `runner` grades it from the run's capture.
            Probe::Wire(_) => Err(super::outcome::Diagnosis::new(
                "wire",
                "a wire check is graded on the capture of a whole run",
                "run it with `labctl check` or `labctl test`",
            )),
            Probe::Unrunnable(u) => u.run(),
        };
        match result {
            Ok(outcome) => outcome,
            Err(diagnosis) => Outcome::fail(diagnosis),
        }
    }
}
