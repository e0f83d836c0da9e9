//! Validation of what runs for a node's user: its mail client settings
//! (addresses, servers, logins) and its web site.

use super::{Validator, valid_domain};
use crate::lab::addr::parse_ipv4;
use crate::lab::model::NodeKind;
use crate::lab::model_agents::{MailAccount, MailSettings, WebService};
use crate::lab::raw::Step;
use crate::lab::topology::{Addressing, Topology};
use crate::path;

impl Validator<'_> {
    pub(super) fn check_agents(&mut self, topo: &mut Topology) {
        for index in 0..topo.nodes.len() {
            let name = topo.nodes[index].name.clone();
            let node = &self.lab.nodes[name.as_str()];
            let kind = node.kind;
            let mail = node.mail.clone();
            let web = node.services.as_ref().and_then(|s| s.web.clone());
            if let Some(settings) = mail {
                let accounts = self.mail_settings(topo, index, &settings);
                topo.nodes[index].agents.mail = accounts;
            }
            if let Some(web) = web {
                let at = path!["nodes", name.as_str(), "services", "web"];
                if kind == NodeKind::Switch {
                    self.error(
                        &at,
                        "a switch cannot run a web server",
                        "put `web` on a server",
                    );
                } else if self.web_service(&at, &web) {
                    topo.nodes[index].agents.web = Some(web);
                }
            }
        }
    }

    fn mail_settings(
        &mut self,
        topo: &Topology,
        index: usize,
        settings: &MailSettings,
    ) -> Vec<MailAccount> {
        let name = topo.nodes[index].name.clone();
        let base = path!["nodes", name.as_str(), "mail"].to_vec();
        if matches!(topo.nodes[index].kind, NodeKind::Switch | NodeKind::Router) {
            self.error(
                &base,
                format!(
                    "{name} is a {}: only hosts and servers have a mail client",
                    topo.nodes[index].kind.as_str()
                ),
                "move `mail:` to a PC",
            );
            return Vec::new();
        }
        let mut accounts: Vec<MailAccount> = Vec::new();
        for (i, account) in settings.accounts().into_iter().enumerate() {
            let mut at = base.clone();
            if matches!(settings, MailSettings::Many(_)) {
                at.push(Step::from(i));
            }
            let field = |f: &str| {
                let mut p = at.clone();
                p.push(Step::from(f));
                p
            };
            let mut ok = true;
            if !valid_address(&account.address) {
                ok = false;
                self.error(
                    &field("address"),
                    format!("`{}` is not an email address", account.address),
                    "write USER@DOMAIN, e.g. ada@cbrc.com",
                );
            } else if accounts
                .iter()
                .any(|a| a.address.eq_ignore_ascii_case(&account.address))
            {
                ok = false;
                self.error(
                    &field("address"),
                    format!("{name} has two accounts for {}", account.address),
                    "each account of a PC needs its own address",
                );
            }
            for (key, server) in [
                ("incoming", &account.incoming),
                ("outgoing", &account.outgoing),
            ] {
                if parse_ipv4(server).is_err() && !valid_domain(server.trim_end_matches('.')) {
                    ok = false;
                    self.error(
                        &field(key),
                        format!("`{server}` is neither a server name nor an address"),
                        "write the mail server's name (mail.cbrc.com) or address (192.168.1.2)",
                    );
                } else if parse_ipv4(server).is_err()
                    && !self.can_resolve(topo, index)
                    && !(key == "outgoing" && account.outgoing == account.incoming)
                {
                    self.warn(
                        &field(key),
                        format!("{name} has no DNS server to look up {server}"),
                        "give the PC `dns: [SERVER]`, or a DHCP pool with `dns:`, or write the server's address",
                    );
                }
            }
            for (key, value) in [("user", &account.user), ("password", &account.password)] {
                if value.is_empty() || value.chars().any(|c| c.is_control() || c == ' ') {
                    ok = false;
                    self.error(
                        &field(key),
                        format!("the mail {key} of {name} is empty or has spaces"),
                        format!("write the {key} the mail server knows, e.g. ada"),
                    );
                }
            }
            if ok {
                accounts.push(account.clone());
            }
        }
        accounts
    }

    /// Whether the node has a resolver: its own `dns:` list, or a DHCP
    /// interface (whose lease may bring one).
    fn can_resolve(&self, topo: &Topology, index: usize) -> bool {
        let node = &topo.nodes[index];
        !node.dns.is_empty()
            || node
                .interfaces
                .iter()
                .any(|i| i.addressing == Addressing::Dhcp)
    }

    /// Checks a web service; true when it can be served.
    fn web_service(&mut self, at: &[Step], web: &WebService) -> bool {
        let field = |f: &str| {
            let mut p = at.to_vec();
            p.push(Step::from(f));
            p
        };
        match (&web.root, web.pages.is_empty()) {
            (Some(_), false) => {
                self.error(
                    &field("root"),
                    "a web service has either `pages` or a `root` directory, not both",
                    "keep one of them",
                );
                return false;
            }
            (None, true) => {
                self.error(
                    at,
                    "the web service has no pages",
                    "add `pages: {/: \"<h1>Hello</h1>\"}` or `root: ./site`",
                );
                return false;
            }
            (Some(root), true) if root.trim().is_empty() => {
                self.error(
                    &field("root"),
                    "the web root is empty",
                    "write a directory, e.g. ./site",
                );
                return false;
            }
            _ => {}
        }
        let mut ok = true;
        for page in web.pages.keys() {
            if !page.starts_with('/')
                || page.contains("..")
                || page.chars().any(char::is_whitespace)
            {
                ok = false;
                let mut p = field("pages");
                p.push(Step::from(page.as_str()));
                self.error(
                    &p,
                    format!("`{page}` is not a page path"),
                    "paths start with `/`, e.g. / or /about.html",
                );
            }
        }
        ok
    }
}

/// `local@domain` with a plausible local part and a domain name.
pub fn valid_address(address: &str) -> bool {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && local
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
                && valid_domain(domain)
        }
        None => false,
    }
}
