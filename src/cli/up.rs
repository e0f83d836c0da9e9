//! `labctl up FILE [--name NAME] [--keep-going]`: validate and plan the
//! file, build it (`ops::up`, which rolls everything back on failure or
//! Ctrl-C, and when a DHCP client gets no lease unless `--keep-going`),
//! and print a summary.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use super::signals::cancel_on_stop_signals;
use super::validate::{print_report, print_warnings};
use crate::checks::load::load_lab_file;
use crate::daemon::state::ClientReport;
use crate::lab::plan::{Plan, PlanNode};
use crate::lab::zones::ResolverRole;
use crate::ops::up::{Leases, up};
use crate::plural::count;
use crate::printable::line;
use crate::progress::Progress;

pub fn run(file: &Path, name: Option<&str>, keep_going: bool) -> Result<ExitCode> {
    let mut checked = load_lab_file(file)?.checked;
    if checked.valid.is_some()
        && let Some(name) = name
    {
        checked.rename(name)?;
    }
    let Some(plan) = checked.plan.clone() else {
        return Ok(print_report(&checked));
    };
    print_warnings(&checked);
    let cancel = cancel_on_stop_signals()?;
    let leases = if keep_going {
        Leases::Reported
    } else {
        Leases::Required
    };
    let up = up(plan, file, leases, &Progress::new(), &cancel)?;
    print_summary(&up.plan, &up.leases, up.took);
    let unleased = up.leases.values().filter(|l| l.reason.is_some()).count();
    if unleased > 0 {
        println!(
            "{} got no DHCP lease; the lab stays up (--keep-going): `labctl status {lab}` says why, `labctl logs {lab} NODE` shows the DHCP server's side",
            count(unleased, "interface"),
            lab = up.plan.lab
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The most nodes the summary lists before pointing at `labctl status`.
const SUMMARY_NODES: usize = 40;

/// A node's addresses for the summary: static ones, leases, or its ports.
fn addresses_of(node: &PlanNode, leases: &BTreeMap<String, ClientReport>) -> String {
    if node.interfaces.iter().all(|i| i.bridge_port) {
        return count(node.interfaces.len(), "port");
    }
    let addresses: Vec<String> = node
        .interfaces
        .iter()
        .filter_map(|i| match (&i.address, i.dhcp) {
            (Some(net), _) => Some(format!("{} {net}", i.name)),
            (None, true) => {
                let lease = leases.get(&format!("{}/{}", node.name, i.name));
                if lease.is_some_and(|l| l.address.is_none() && l.reason.is_some()) {
                    return Some(format!("{} NO LEASE", i.name));
                }
                let address = lease.and_then(|l| l.address.as_deref()).unwrap_or("?");
                let server = lease.and_then(|l| l.server.as_deref()).unwrap_or("?");
                let (address, server) = (line(address), line(server));
                Some(format!("{} {address} (dhcp from {server})", i.name))
            }
            _ => None,
        })
        .collect();
    addresses.join(", ")
}

/// What a node runs or relays, in a few words per service.
fn services_of(node: &PlanNode) -> Vec<String> {
    let mut services = Vec::new();
    if let Some(pools) = &node.dhcp_server {
        services.push(format!("dhcp ({})", count(pools.len(), "pool")));
    }
    let relays: Vec<String> = node
        .interfaces
        .iter()
        .filter_map(|i| i.dhcp_relay.map(|to| format!("{}→{to}", i.name)))
        .collect();
    if !relays.is_empty() {
        services.push(format!("dhcp relay {}", relays.join(" ")));
    }
    if let Some(dns) = &node.dns_server {
        let zones: Vec<&str> = dns
            .zones
            .iter()
            .map(|z| match z.origin.trim_end_matches('.') {
                "" => ".",
                origin => origin,
            })
            .collect();
        let mut text = format!("dns {}", zones.join(" "));
        match &dns.resolver {
            Some(ResolverRole::Forward { .. }) => text.push_str(" +forwarder"),
            Some(ResolverRole::Recursive { .. }) => text.push_str(" +resolver"),
            None => {}
        }
        services.push(text.trim_end().to_string());
    }
    if let Some(mail) = &node.mail {
        services.push(format!("mail {} (smtp pop3 imap)", mail.domains.join(" ")));
    }
    if node.agents.web.is_some() {
        services.push("web".into());
    }
    if let Some(account) = node.agents.mail.first() {
        services.push(format!("mail client {}", account.address));
    }
    services
}

fn print_summary(plan: &Plan, leases: &BTreeMap<String, ClientReport>, took: Duration) {
    println!(
        "lab {} is up: {}, {} in {:.2} s",
        plan.lab,
        count(plan.nodes.len(), "node"),
        count(plan.links.len(), "link"),
        took.as_secs_f64()
    );
    if let Some(description) = &plan.description {
        println!("  {}", crate::printable::line(description));
    }
    let width = plan
        .nodes
        .iter()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let rows: Vec<(String, String)> = plan
        .nodes
        .iter()
        .take(SUMMARY_NODES)
        .map(|node| (addresses_of(node, leases), services_of(node).join(", ")))
        .collect();
    let address_width = rows.iter().map(|(a, _)| a.len()).max().unwrap_or(0).max(9);
    println!(
        "  {:<width$}  {:<6}  {:<address_width$}  SERVICES",
        "NODE", "KIND", "ADDRESSES"
    );
    for (node, (addresses, services)) in plan.nodes.iter().zip(&rows) {
        let line = format!(
            "  {:<width$}  {:<6}  {addresses:<address_width$}  {services}",
            node.name,
            node.kind.as_str()
        );
        println!("{}", line.trim_end());
    }
    if plan.nodes.len() > SUMMARY_NODES {
        println!(
            "  … and {} more: labctl status {}",
            plan.nodes.len() - SUMMARY_NODES,
            plan.lab
        );
    }
    if let Some(node) = plan.nodes.iter().find(|n| n.kind.is_end_device()) {
        println!("try: labctl exec {} {} -- ip addr", plan.lab, node.name);
    }
    println!("stop: labctl down {}", plan.lab);
}
