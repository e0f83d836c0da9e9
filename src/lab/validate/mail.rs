//! The mail pass: domains, user names and passwords, one server per
//! domain, and whether a server that may relay to other domains has DNS
//! servers to find their MX records with. Resolves each node's `MailPlan`.

use std::collections::HashMap;

use super::findings::Findings;
use super::names::valid_domain;
use crate::lab::diagnostic::Diagnostic;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::lab::dkim;
use crate::lab::model::{Lab, MailService, NodeKind};
use crate::lab::raw::{RawNode, Step};
use crate::lab::topology::{Addressing, DkimKey, MailPlan, MailUser, Topology};
use crate::path;

#[cfg(test)]
mod tests;

/// The longest user name: an address's local part (RFC 5321 §4.5.3.1.1).
const MAX_USER: usize = 64;

/// Resolves every node's mail service, by node index (`None` for a node
/// that runs none, or cannot).
pub(super) fn resolve_mail(
    lab: &Lab,
    raw: &RawNode,
    topo: &Topology,
) -> (Vec<Option<MailPlan>>, Vec<Diagnostic>) {
    let mut pass = MailPass {
        lab,
        found: Findings::new(raw),
    };
    let plans = pass.resolve(topo);
    (plans, pass.found.into_list())
}

struct MailPass<'a> {
    lab: &'a Lab,
    found: Findings<'a>,
}

impl MailPass<'_> {
    fn resolve(&mut self, topo: &Topology) -> Vec<Option<MailPlan>> {
        let mut plans = vec![None; topo.nodes.len()];
        let mut owners: HashMap<String, String> = HashMap::new();
        let mut mail_nodes = Vec::new();
        for (index, node) in topo.nodes.iter().enumerate() {
            let name = node.name.clone();
            let Some(service) = self.lab.nodes[name.as_str()]
                .services
                .as_ref()
                .and_then(|s| s.mail.as_ref())
            else {
                continue;
            };
            let at = path!["nodes", name.as_str(), "services", "mail"];
            if !node.kind.is_end_device() {
                let kind = node.kind.as_str();
                self.found.error(
                    &at,
                    format!("a {kind} cannot run a mail server"),
                    "put the mail service on a node of kind `server`",
                );
                continue;
            }
            let mut domains = Vec::new();
            if service.domains.is_empty() {
                self.found.error(
                    &at,
                    format!("the mail service of {name} has no domains"),
                    "list the domains it receives mail for, e.g. `domains: [mt.com]`",
                );
            }
            for (i, domain) in service.domains.iter().enumerate() {
                let domain_at = path!["nodes", name.as_str(), "services", "mail", "domains", i];
                let lower = domain.trim_end_matches('.').to_ascii_lowercase();
                if !valid_domain(&lower) {
                    self.found.error(
                        &domain_at,
                        format!("`{domain}` is not a domain name"),
                        "write labels of letters, digits and `-` joined by dots, e.g. mt.com",
                    );
                    continue;
                }
                if let Some(owner) = owners.insert(lower.clone(), name.clone()) {
                    let message = if owner == name {
                        format!("domain {lower} is listed twice")
                    } else {
                        format!("domain {lower} is also served by {owner}")
                    };
                    self.found.error(
                        &domain_at,
                        message,
                        "each domain has one mail server in a lab",
                    );
                    continue;
                }
                domains.push(lower);
            }
            let users = self.mail_users(&name, service.users.iter());
            if service.users.is_empty() {
                self.found.warn(
                    &at,
                    format!("the mail service of {name} has no users, so it refuses all mail"),
                    "add users, e.g. `users: {ada: secret}`",
                );
            }
            let dkim = self.dkim_keys(&name, service, &domains);
            mail_nodes.push(index);
            plans[index] = Some(MailPlan {
                domains,
                users,
                dkim,
                sender_checks: service.sender_checks,
                tls: service.tls.unwrap_or_default(),
            });
        }
        if mail_nodes.len() > 1 {
            for index in mail_nodes {
                self.check_mail_resolver(topo, index);
            }
        }
        plans
    }

    fn mail_users<'a>(
        &mut self,
        node: &str,
        written: impl Iterator<Item = (&'a String, &'a String)>,
    ) -> Vec<MailUser> {
        let parent: Vec<Step> = path!["nodes", node, "services", "mail", "users"].to_vec();
        let mut users: Vec<MailUser> = Vec::new();
        for (user, password) in written {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "._+-".contains(c);
            let lower = user.to_ascii_lowercase();
            if user.is_empty()
                || user.len() > MAX_USER
                || user.starts_with('.')
                || user.ends_with('.')
                || user.contains("..")
                || !user.chars().all(allowed)
            {
                self.found.error_at_key(
                    &parent,
                    user,
                    format!("`{user}` is not a valid user name"),
                    "use letters, digits, `.`, `_`, `+` and `-` (at most 64), e.g. ada or ada.lovelace"
                        .to_string(),
                );
                continue;
            }
            if users.iter().any(|u| u.name == lower) {
                self.found.error_at_key(
                    &parent,
                    user,
                    format!("user {lower} is listed twice (user names ignore case)"),
                    "remove one of them".to_string(),
                );
                continue;
            }
            if password.is_empty() {
                let mut at = parent.clone();
                at.push(Step::from(user.as_str()));
                self.found.error(
                    &at,
                    format!("user {user} has an empty password"),
                    "give every user a password, e.g. `ada: secret`",
                );
                continue;
            }
            users.push(MailUser {
                name: lower,
                password: password.clone(),
            });
        }
        users
    }

    /// One DKIM key per domain of the server: the lab file's, checked, or
    /// one `up` makes.
    fn dkim_keys(&mut self, node: &str, service: &MailService, domains: &[String]) -> Vec<DkimKey> {
        let Some(dkim) = &service.dkim else {
            return Vec::new();
        };
        let at = path!["nodes", node, "services", "mail", "dkim"];
        let selector = dkim.selector.to_ascii_lowercase();
        if !valid_domain(&selector) {
            let mut at = at.to_vec();
            at.push(Step::from("selector"));
            self.found.error(
                &at,
                format!("`{}` is not a DKIM selector", dkim.selector),
                "use a DNS label, e.g. `selector: s1`",
            );
            return Vec::new();
        }
        let keys_at: Vec<Step> = path!["nodes", node, "services", "mail", "dkim", "keys"].to_vec();
        let mut given = HashMap::new();
        for (domain, key) in &dkim.keys {
            let lower = domain.trim_end_matches('.').to_ascii_lowercase();
            if !domains.contains(&lower) {
                self.found.error_at_key(
                    &keys_at,
                    domain,
                    format!("{node} does not serve {domain}, so it cannot sign for it"),
                    format!("give keys for its domains only: {}", domains.join(", ")),
                );
                continue;
            }
            match dkim::parse_key(key) {
                Ok(der) => {
                    given.insert(lower, STANDARD.encode(der));
                }
                Err(why) => {
                    let mut at = keys_at.clone();
                    at.push(Step::from(domain.as_str()));
                    self.found.error(
                        &at,
                        format!("the DKIM key of {domain}: {why}"),
                        "leave the key out and `up` makes one, or give `openssl genpkey -algorithm ed25519` output",
                    );
                }
            }
        }
        domains
            .iter()
            .map(|domain| DkimKey {
                domain: domain.clone(),
                selector: selector.clone(),
                private_key: given.remove(domain),
                publish: dkim.publish,
            })
            .collect()
    }

    /// A mail server in a lab with other mail domains relays through DNS.
    fn check_mail_resolver(&mut self, topo: &Topology, index: usize) {
        let node = &topo.nodes[index];
        let by_dhcp = node
            .interfaces
            .iter()
            .any(|i| matches!(i.addressing, Addressing::Dhcp));
        if node.dns.is_empty() && !by_dhcp && node.kind != NodeKind::Switch {
            self.found.warn(
                &path!["nodes", node.name.as_str(), "services", "mail"],
                format!(
                    "{} cannot relay mail to the lab's other mail domains: it has no DNS servers to find their MX records",
                    node.name
                ),
                "give the node `dns: [ADDRESS]` of a DNS server that knows the other domains",
            );
        }
    }
}
