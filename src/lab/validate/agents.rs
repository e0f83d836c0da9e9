//! The agents pass: what runs for a node's user, its mail client settings
//! (addresses, servers, logins) and its web site. Resolves each node's
//! `Agents` (the accounts and the site that are usable).

use super::findings::Findings;
use super::names::{valid_address, valid_domain};
use crate::lab::addr::parse_ipv4;
use crate::lab::diagnostic::Diagnostic;
use crate::lab::model::{Lab, NodeKind};
use crate::lab::model_agents::{Agents, MailAccount, MailSettings, WebService, WebmailService};
use crate::lab::raw::{RawNode, Step};
use crate::lab::topology::{Addressing, Topology};
use crate::path;

/// Resolves every node's agents, by node index.
pub(super) fn resolve_agents(
    lab: &Lab,
    raw: &RawNode,
    topo: &Topology,
) -> (Vec<Agents>, Vec<Diagnostic>) {
    let mut pass = AgentsPass {
        lab,
        found: Findings::new(raw),
    };
    let agents = pass.resolve(topo);
    (agents, pass.found.into_list())
}

struct AgentsPass<'a> {
    lab: &'a Lab,
    found: Findings<'a>,
}

impl AgentsPass<'_> {
    fn resolve(&mut self, topo: &Topology) -> Vec<Agents> {
        (0..topo.nodes.len())
            .map(|index| self.agents_of(topo, index))
            .collect()
    }

    /// Node `index`'s mail accounts and web site, as far as they are usable.
    fn agents_of(&mut self, topo: &Topology, index: usize) -> Agents {
        let mut agents = Agents::default();
        let name = topo.nodes[index].name.clone();
        let node = &self.lab.nodes[name.as_str()];
        let kind = node.kind;
        let mail = node.mail.clone();
        let web = node.services.as_ref().and_then(|s| s.web.clone());
        let webmail = node.services.as_ref().and_then(|s| s.webmail.clone());
        if let Some(settings) = mail {
            agents.mail = self.mail_settings(topo, index, &settings);
        }
        if let Some(web) = web {
            let at = path!["nodes", name.as_str(), "services", "web"];
            if kind == NodeKind::Switch {
                self.found.error(
                    &at,
                    "a switch cannot run a web server",
                    "put `web` on a server",
                );
            } else if self.web_service(&at, &web) {
                agents.web = Some(web);
            }
        }
        if let Some(webmail) = webmail {
            let at = path!["nodes", name.as_str(), "services", "webmail"];
            if kind == NodeKind::Switch {
                self.found.error(
                    &at,
                    "a switch cannot run webmail",
                    "put `webmail` on a server",
                );
            } else if agents.web.is_some() {
                self.found.error(
                    &at,
                    "`web` and `webmail` both serve port 80",
                    "put webmail on a server of its own (e.g. webmail.DOMAIN)",
                );
            } else if self.webmail_service(&at, &webmail) {
                agents.webmail = Some(webmail);
            }
        }
        agents
    }

    /// Checks a webmail service; true when it can be served.
    fn webmail_service(&mut self, at: &[Step], webmail: &WebmailService) -> bool {
        let field = |f: &str| {
            let mut p = at.to_vec();
            p.push(Step::from(f));
            p
        };
        let server = webmail.server.trim_end_matches('.');
        if parse_ipv4(server).is_err() && !valid_domain(server) {
            self.found.error(
                &field("server"),
                format!(
                    "`{}` is not a mail server's name or address",
                    webmail.server
                ),
                "write the name the webmail looks up, e.g. mail.hamburger.edu",
            );
            return false;
        }
        let domain = webmail.mail_domain();
        if !valid_domain(&domain) || !domain.contains('.') && webmail.domain.is_none() {
            self.found.error(
                &field("domain"),
                format!(
                    "the users' mail domain `{domain}` is not a domain (from `{}`)",
                    webmail.domain.as_deref().unwrap_or(&webmail.server)
                ),
                "write `domain: hamburger.edu`",
            );
            return false;
        }
        true
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
            self.found.error(
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
                self.found.error(
                    &field("address"),
                    format!("`{}` is not an email address", account.address),
                    "write USER@DOMAIN, e.g. ada@cbrc.com",
                );
            } else if accounts
                .iter()
                .any(|a| a.address.eq_ignore_ascii_case(&account.address))
            {
                ok = false;
                self.found.error(
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
                    self.found.error(
                        &field(key),
                        format!("`{server}` is neither a server name nor an address"),
                        "write the mail server's name (mail.cbrc.com) or address (192.168.1.2)",
                    );
                } else if parse_ipv4(server).is_err()
                    && !self.can_resolve(topo, index)
                    && !(key == "outgoing" && account.outgoing == account.incoming)
                {
                    self.found.warn(
                        &field(key),
                        format!("{name} has no DNS server to look up {server}"),
                        "give the PC `dns: [SERVER]`, or a DHCP pool with `dns:`, or write the server's address",
                    );
                }
            }
            for (key, value) in [("user", &account.user), ("password", &account.password)] {
                if value.is_empty() || value.chars().any(|c| c.is_control() || c == ' ') {
                    ok = false;
                    self.found.error(
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
                self.found.error(
                    &field("root"),
                    "a web service has either `pages` or a `root` directory, not both",
                    "keep one of them",
                );
                return false;
            }
            (None, true) => {
                self.found.error(
                    at,
                    "the web service has no pages",
                    "add `pages: {/: \"<h1>Hello</h1>\"}` or `root: ./site`",
                );
                return false;
            }
            (Some(root), true) if root.trim().is_empty() => {
                self.found.error(
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
                self.found.error(
                    &p,
                    format!("`{page}` is not a page path"),
                    "paths start with `/`, e.g. / or /about.html",
                );
            }
        }
        ok
    }
}
