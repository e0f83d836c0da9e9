//! The mail pass: domains, user names and passwords, one server per
//! domain, and whether a server that may relay to other domains has DNS
//! servers to find their MX records with. Resolves each node's `MailPlan`.

use std::collections::HashMap;

use super::findings::Findings;
use super::names::valid_domain;
use crate::lab::diagnostic::Diagnostic;
use crate::lab::model::{Lab, NodeKind};
use crate::lab::raw::{RawNode, Step};
use crate::lab::topology::{Addressing, MailPlan, MailUser, Topology};
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
            mail_nodes.push(index);
            plans[index] = Some(MailPlan {
                domains,
                users,
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
