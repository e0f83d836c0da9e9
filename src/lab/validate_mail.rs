//! Validation of mail services: domains, user names and passwords, one
//! server per domain, and whether a server that may relay to other domains
//! has DNS servers to find their MX records with.

use std::collections::HashMap;

use super::{Validator, valid_domain};
use crate::lab::model::NodeKind;
use crate::lab::raw::Step;
use crate::lab::topology::{Addressing, MailPlan, MailUser, Topology};
use crate::path;

/// The longest user name: an address's local part (RFC 5321 §4.5.3.1.1).
const MAX_USER: usize = 64;

impl Validator<'_> {
    pub(super) fn check_mail(&mut self, topo: &mut Topology) {
        let mut owners: HashMap<String, String> = HashMap::new();
        let mut mail_nodes = Vec::new();
        for index in 0..topo.nodes.len() {
            let name = topo.nodes[index].name.clone();
            let Some(service) = self.lab.nodes[name.as_str()]
                .services
                .as_ref()
                .and_then(|s| s.mail.as_ref())
            else {
                continue;
            };
            let at = path!["nodes", name.as_str(), "services", "mail"];
            if !topo.nodes[index].kind.is_end_device() {
                let kind = topo.nodes[index].kind.as_str();
                self.error(
                    &at,
                    format!("a {kind} cannot run a mail server"),
                    "put the mail service on a node of kind `server`",
                );
                continue;
            }
            let mut domains = Vec::new();
            if service.domains.is_empty() {
                self.error(
                    &at,
                    format!("the mail service of {name} has no domains"),
                    "list the domains it receives mail for, e.g. `domains: [mt.com]`",
                );
            }
            for (i, domain) in service.domains.iter().enumerate() {
                let domain_at = path!["nodes", name.as_str(), "services", "mail", "domains", i];
                let lower = domain.trim_end_matches('.').to_ascii_lowercase();
                if !valid_domain(&lower) {
                    self.error(
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
                    self.error(
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
                self.warn(
                    &at,
                    format!("the mail service of {name} has no users, so it refuses all mail"),
                    "add users, e.g. `users: {ada: secret}`",
                );
            }
            mail_nodes.push(index);
            topo.nodes[index].mail = Some(MailPlan { domains, users });
        }
        if mail_nodes.len() > 1 {
            for index in mail_nodes {
                self.check_mail_resolver(topo, index);
            }
        }
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
                self.error_at_key(
                    &parent,
                    user,
                    format!("`{user}` is not a valid user name"),
                    "use letters, digits, `.`, `_`, `+` and `-` (at most 64), e.g. ada or ada.lovelace"
                        .to_string(),
                );
                continue;
            }
            if users.iter().any(|u| u.name == lower) {
                self.error_at_key(
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
                self.error(
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
            self.warn(
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

#[cfg(test)]
mod tests {
    use crate::lab::diagnostic::{Diagnostic, Severity};
    use crate::lab::load::check_text;

    const TWO_DOMAINS: &str = "
name: mail
nodes:
  sw0: {kind: switch}
  mx1:
    kind: server
    interfaces: {eth0: 10.0.0.2/24}
    dns: [10.0.0.53]
    services:
      mail:
        domains: [mt.com]
        users: {ada: secret, Bob: pw}
  mx2:
    kind: server
    interfaces: {eth0: 10.0.0.3/24}
    dns: [10.0.0.53]
    services:
      mail: {domains: [cbrc.com], users: {carol: pw}}
links: [[mx1, sw0], [mx2, sw0]]
";

    fn diagnostics(yaml: &str) -> Vec<Diagnostic> {
        check_text("lab.yaml", yaml.to_string()).diagnostics
    }

    /// The diagnostic containing `needle`: its severity, line and column.
    fn find(found: &[Diagnostic], needle: &str) -> (Severity, usize, usize) {
        let d = found
            .iter()
            .find(|d| d.message.contains(needle))
            .unwrap_or_else(|| panic!("nothing about {needle:?} in {found:#?}"));
        let pos = d.pos.expect("a position");
        (d.severity, pos.line, pos.col)
    }

    #[test]
    fn a_correct_mail_lab_is_planned() {
        let checked = check_text("lab.yaml", TWO_DOMAINS.to_string());
        assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
        let (_, topo) = checked.valid.expect("valid");
        let mail = topo.nodes[1].mail.as_ref().expect("planned");
        assert_eq!(mail.domains, ["mt.com"]);
        let names: Vec<&str> = mail.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["ada", "bob"]);
    }

    #[test]
    fn bad_domains_users_and_passwords() {
        let yaml = TWO_DOMAINS
            .replace(
                "domains: [mt.com]",
                "domains: [mt.com, \"bad_domain!\", MT.com]",
            )
            .replace("ada: secret", "\"ada lovelace\": secret, eve: \"\"")
            .replace("domains: [cbrc.com]", "domains: [mt.com]");
        let found = diagnostics(&yaml);
        assert_eq!(
            find(&found, "`bad_domain!` is not a domain name"),
            (Severity::Error, 11, 27)
        );
        assert_eq!(
            find(&found, "domain mt.com is listed twice"),
            (Severity::Error, 11, 42)
        );
        assert_eq!(
            find(&found, "`ada lovelace` is not a valid user name"),
            (Severity::Error, 12, 17)
        );
        assert_eq!(
            find(&found, "user eve has an empty password"),
            (Severity::Error, 12, 46)
        );
        let (severity, line, _) = find(&found, "domain mt.com is also served by mx1");
        assert_eq!((severity, line), (Severity::Error, 18));
    }

    #[test]
    fn relaying_without_dns_servers_is_a_warning() {
        let yaml = TWO_DOMAINS.replacen("    dns: [10.0.0.53]\n", "", 1);
        let found = diagnostics(&yaml);
        let (severity, line, _) = find(&found, "mx1 cannot relay mail");
        assert_eq!((severity, line), (Severity::Warning, 10));
        assert_eq!(found.len(), 1, "{found:#?}");
    }

    #[test]
    fn only_servers_run_mail() {
        let yaml = TWO_DOMAINS.replace(
            "sw0: {kind: switch}",
            "sw0: {kind: switch, services: {mail: {domains: [x.org]}}}",
        );
        let found = diagnostics(&yaml);
        assert_eq!(
            find(&found, "a switch cannot run a mail server").0,
            Severity::Error
        );
        let empty = TWO_DOMAINS.replace("domains: [cbrc.com], users: {carol: pw}", "domains: []");
        let found = diagnostics(&empty);
        assert_eq!(find(&found, "mx2 has no domains").0, Severity::Error);
        assert_eq!(find(&found, "mx2 has no users").0, Severity::Warning);
    }
}
