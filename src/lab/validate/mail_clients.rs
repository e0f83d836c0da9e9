//! PCs' mail settings against the lab's mail servers: is the address's
//! domain served by a mail server here, and is its user one of that
//! server's users; do the incoming and outgoing server names resolve in the
//! lab's zones, to a node that runs mail, which knows the login, over TLS
//! when the server requires it. Warnings
//! only: a lab may mean a mistake for the student to find (a relay
//! exercise, a wrong password to diagnose), but a typo here otherwise
//! passes unnoticed until mail goes missing.

use std::net::Ipv4Addr;

use super::findings::Findings;
use crate::lab::addr::parse_ipv4;
use crate::lab::diagnostic::{Diagnostic, did_you_mean};
use crate::lab::model::Lab;
use crate::lab::model_agents::{Agents, MailAccount, MailSecurity, MailSettings};
use crate::lab::model_tls::TlsMode;
use crate::lab::raw::{RawNode, Step};
use crate::lab::topology::{MailPlan, Topology};
use crate::lab::zones::{DnsServer, RecordValue, Zone, absolute, addresses_in_zones};
use crate::path;

#[cfg(test)]
mod tests;

/// What the other passes resolved, by node index.
pub(super) struct Resolved<'a> {
    pub agents: &'a [Agents],
    pub mail: &'a [Option<MailPlan>],
    pub dns: &'a [Option<DnsServer>],
}

/// Warnings for mail settings that cannot reach the mailbox they name.
pub(super) fn mail_client_warnings(
    lab: &Lab,
    raw: &RawNode,
    topo: &Topology,
    resolved: &Resolved,
) -> Vec<Diagnostic> {
    let zones: Vec<&Zone> = resolved
        .dns
        .iter()
        .flatten()
        .flat_map(|s| &s.zones)
        .filter(|z| !z.reverse)
        .collect();
    let mut pass = MailClients {
        topo,
        resolved,
        zones,
        found: Findings::new(raw),
    };
    for (index, node) in topo.nodes.iter().enumerate() {
        let Some(settings) = &lab.nodes[node.name.as_str()].mail else {
            continue;
        };
        for (i, account) in settings.accounts().into_iter().enumerate() {
            // Accounts the agents pass refused are reported there already.
            if !resolved.agents[index].mail.contains(account) {
                continue;
            }
            let mut at = path!["nodes", node.name.as_str(), "mail"].to_vec();
            if matches!(settings, MailSettings::Many(_)) {
                at.push(Step::from(i));
            }
            pass.account(&node.name, &at, account);
        }
    }
    pass.found.into_list()
}

struct MailClients<'a> {
    topo: &'a Topology,
    resolved: &'a Resolved<'a>,
    /// The lab's forward zones, from every DNS server.
    zones: Vec<&'a Zone>,
    found: Findings<'a>,
}

impl<'a> MailClients<'a> {
    fn account(&mut self, pc: &str, at: &[Step], account: &MailAccount) {
        let field = |f: &str| -> Vec<Step> {
            let mut p = at.to_vec();
            p.push(Step::from(f));
            p
        };
        let (local, domain) = account
            .address
            .rsplit_once('@')
            .map(|(l, d)| (l.to_ascii_lowercase(), d.to_ascii_lowercase()))
            .unwrap_or_default();
        let servers: Vec<usize> = (0..self.topo.nodes.len())
            .filter(|&n| self.resolved.mail[n].is_some())
            .collect();
        if servers.is_empty() {
            self.found.warn(
                &field("address"),
                format!("no node of this lab runs a mail server for {domain}"),
                format!(
                    "add `services: {{mail: {{domains: [{domain}], users: {{{}: PASSWORD}}}}}}` to a server",
                    account.user
                ),
            );
            return;
        }
        let home = servers
            .iter()
            .copied()
            .find(|&n| self.plan(n).domains.contains(&domain));
        match home {
            None => self.unserved_domain(&field("address"), &local, &domain, &servers),
            Some(home) => self.unknown_user(&field("address"), &local, &domain, home),
        }
        let mut logged_in: Vec<usize> = Vec::new();
        for key in ["incoming", "outgoing"] {
            let server = if key == "incoming" {
                &account.incoming
            } else {
                &account.outgoing
            };
            let Some(node) = self.mail_server_at(&field(key), server, &servers) else {
                continue;
            };
            if key == "incoming"
                && let Some(home) = home
                && home != node
            {
                self.found.warn(
                    &field(key),
                    format!(
                        "mail for {} is delivered to {}, but {server} is {}",
                        account.address, self.topo.nodes[home].name, self.topo.nodes[node].name
                    ),
                    format!("read it from {}", self.server_names(home)),
                );
            }
            if !logged_in.contains(&node) {
                logged_in.push(node);
                self.login(&field("user"), &field("password"), account, node);
                self.without_tls(pc, at, key, account, node);
            }
        }
    }

    /// A login in plain text to a server with `tls: required` is refused
    /// (`530 Must issue a STARTTLS command first`, `[PRIVACYREQUIRED]`).
    fn without_tls(
        &mut self,
        pc: &str,
        at: &[Step],
        key: &str,
        account: &MailAccount,
        node: usize,
    ) {
        if self.plan(node).tls != TlsMode::Required
            || account.security.unwrap_or_default() != MailSecurity::None
        {
            return;
        }
        let mut place = at.to_vec();
        // At `security: none` when written, else at the server's name.
        place.push(Step::from(if account.security.is_some() {
            "security"
        } else {
            key
        }));
        self.found.warn(
            &place,
            format!(
                "{pc}'s mail settings log in without TLS, but {} requires TLS (`tls: required`), so logging in fails",
                self.topo.nodes[node].name
            ),
            "set `security: starttls` (or `tls`)",
        );
    }

    fn plan(&self, node: usize) -> &'a MailPlan {
        let mail: &'a [Option<MailPlan>] = self.resolved.mail;
        mail[node]
            .as_ref()
            .expect("only mail servers are asked for")
    }

    /// The address's domain is served by no mail server of the lab.
    fn unserved_domain(&mut self, at: &[Step], local: &str, domain: &str, servers: &[usize]) {
        let topo = self.topo;
        let domains: Vec<(&str, &str)> = servers
            .iter()
            .flat_map(|&n| {
                self.plan(n)
                    .domains
                    .iter()
                    .map(move |d| (d.as_str(), topo.nodes[n].name.as_str()))
            })
            .collect();
        let listed: Vec<String> = domains.iter().map(|(d, n)| format!("{d} ({n})")).collect();
        let hint = match did_you_mean(domain, domains.iter().map(|(d, _)| *d)) {
            Some(near) => format!(
                "did you mean {local}@{near}? the lab's mail domains: {}",
                listed.join(", ")
            ),
            None => format!(
                "the lab's mail domains: {}; or add {domain} to a mail server's `domains`",
                listed.join(", ")
            ),
        };
        self.found.warn(
            at,
            format!("no mail server of this lab serves {domain}, so mail to {local}@{domain} is never delivered"),
            hint,
        );
    }

    /// The address's user is not an account of its domain's server.
    fn unknown_user(&mut self, at: &[Step], local: &str, domain: &str, home: usize) {
        let plan = self.plan(home);
        if plan.users.iter().any(|u| u.name == local) {
            return;
        }
        let name = &self.topo.nodes[home].name;
        let users: Vec<&str> = plan.users.iter().map(|u| u.name.as_str()).collect();
        let hint = match did_you_mean(local, users.iter().copied()) {
            Some(near) => format!("did you mean {near}@{domain}?"),
            None => format!("add `{local}: PASSWORD` to the users of {name}"),
        };
        self.found.warn(
            at,
            format!("{name} serves {domain} but has no user {local}, so mail to {local}@{domain} bounces"),
            hint,
        );
    }

    /// The mail server `server` (a name or an address) stands for, if it
    /// is one; otherwise says why it is not.
    fn mail_server_at(&mut self, at: &[Step], server: &str, servers: &[usize]) -> Option<usize> {
        let servers_hint = || -> String {
            let names: Vec<String> = servers.iter().map(|&n| self.server_names(n)).collect();
            format!("the lab's mail servers: {}", names.join("; "))
        };
        let addresses = match parse_ipv4(server) {
            Ok(address) => vec![address],
            Err(_) => {
                let found = addresses_in_zones(&self.zones, server);
                if found.is_empty() {
                    let names = self.zone_names();
                    let wanted = absolute(server);
                    let hint = match did_you_mean(&wanted, names.iter().map(String::as_str)) {
                        Some(near) => format!("did you mean {}?", near.trim_end_matches('.')),
                        None => servers_hint(),
                    };
                    self.found.warn(
                        at,
                        format!("{server} is in no zone of this lab's DNS servers, so it does not resolve"),
                        hint,
                    );
                    return None;
                }
                found
            }
        };
        let owners: Vec<(Ipv4Addr, Option<usize>)> = addresses
            .iter()
            .map(|&a| (a, self.topo.owner_of(a).map(|e| e.node)))
            .collect();
        if let Some(node) = owners
            .iter()
            .find_map(|&(_, n)| n.filter(|&n| self.resolved.mail[n].is_some()))
        {
            return Some(node);
        }
        let (address, owner) = owners[0];
        let literal = server == address.to_string();
        let message = match (owner, literal) {
            (None, true) => format!("no node of this lab has the address {address}"),
            (None, false) => format!("{server} is {address}, which no node of this lab has"),
            (Some(n), true) => format!(
                "{address} is {}, which runs no mail server",
                self.topo.nodes[n].name
            ),
            (Some(n), false) => format!(
                "{server} is {address} ({}), which runs no mail server",
                self.topo.nodes[n].name
            ),
        };
        self.found.warn(at, message, servers_hint());
        None
    }

    /// The account's login must be a user of the server it logs in to.
    fn login(
        &mut self,
        user_at: &[Step],
        password_at: &[Step],
        account: &MailAccount,
        node: usize,
    ) {
        let plan = self.plan(node);
        let name = &self.topo.nodes[node].name;
        let login = account.user.to_ascii_lowercase();
        match plan.users.iter().find(|u| u.name == login) {
            None => {
                let users: Vec<&str> = plan.users.iter().map(|u| u.name.as_str()).collect();
                let hint = match did_you_mean(&login, users.iter().copied()) {
                    Some(near) => format!("did you mean {near}?"),
                    None => format!("the users of {name}: {}", users.join(", ")),
                };
                self.found.warn(
                    user_at,
                    format!("{name} has no user {login}, so logging in fails"),
                    hint,
                );
            }
            // The password itself is never printed.
            Some(user) if user.password != account.password => self.found.warn(
                password_at,
                format!("this is not the password {name} has for {login}, so logging in fails"),
                format!("write the password of {login} in {name}'s `users`"),
            ),
            Some(_) => {}
        }
    }

    /// A mail server as a student would point at it: its names in the lab's
    /// zones and its addresses.
    fn server_names(&self, node: usize) -> String {
        let addresses: Vec<Ipv4Addr> = self.topo.nodes[node].static_addresses().collect();
        let mut names: Vec<String> = self
            .zones
            .iter()
            .flat_map(|z| &z.records)
            .filter(|r| matches!(r.data, RecordValue::A(a) if addresses.contains(&a)))
            .map(|r| r.name.trim_end_matches('.').to_string())
            .collect();
        names.dedup();
        names.extend(addresses.iter().map(Ipv4Addr::to_string));
        format!("{} ({})", names.join(" or "), self.topo.nodes[node].name)
    }

    /// Every name with a record in the lab's zones.
    fn zone_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .zones
            .iter()
            .flat_map(|z| &z.records)
            .map(|r| r.name.to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}
