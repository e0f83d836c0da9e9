//! What the daemon runs for a node, read from the plan: the one list of
//! services. Each kind has its name, the ports it listens on, the phase it
//! starts in and the function that starts it; `status` and `graph` list
//! services from here, and the daemon starts exactly what `planned` says.
//! A new service is a new `Kind` here plus the module that starts it.

use anyhow::Result;
use serde::Serialize;

use super::context::{NodeContext, Tasks};
use super::dhcp::{self, DHCP_CLIENT_PORT, DHCP_SERVER_PORT};
use super::dns::{self, DNS_PORT};
use super::mail::{
    self, IMAP_PORT, IMAPS_PORT, POP3_PORT, POP3S_PORT, SMTP_PORT, SUBMISSION_PORT,
    SUBMISSIONS_PORT,
};
use super::web::{self, HTTP_PORT, HTTPS_PORT};
use super::webmail;
use crate::lab::plan::PlanNode;

/// One port a service listens on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Port {
    /// The application protocol: `SMTP`, `POP3`, `IMAP`, `HTTP`, `DNS`,
    /// `DHCP`; with TLS from the first byte `SMTPS` (465), `POP3S`,
    /// `IMAPS`, `HTTPS`.
    pub protocol: &'static str,
    /// `tcp` or `udp`.
    pub transport: &'static str,
    pub port: u16,
}

/// Which of a node's services start together: servers and relays first, so
/// that clients started afterwards find them listening (no first DISCOVER
/// is lost).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Infrastructure,
    Clients,
}

impl Phase {
    /// In the order the daemon starts them.
    pub const ALL: [Phase; 2] = [Phase::Infrastructure, Phase::Clients];
}

/// The kinds of service, as `status --json` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    DhcpServer,
    DhcpRelay,
    DhcpClient,
    DnsServer,
    MailServer,
    WebServer,
    Webmail,
}

impl Kind {
    /// The short name in pictures and summaries.
    pub fn short_name(self) -> &'static str {
        match self {
            Kind::DhcpServer => "DHCP",
            Kind::DhcpRelay => "DHCP relay",
            Kind::DhcpClient => "DHCP client",
            Kind::DnsServer => "DNS",
            Kind::MailServer => "mail",
            Kind::WebServer => "web",
            Kind::Webmail => "webmail",
        }
    }

    /// The ports the kind listens on at `node`: the implicit-TLS ones
    /// (465, 995, 993; 443) too when the node's service offers TLS.
    pub fn ports(self, node: &PlanNode) -> Vec<Port> {
        let tcp = |protocol, port| Port {
            protocol,
            transport: "tcp",
            port,
        };
        let udp = |protocol, port| Port {
            protocol,
            transport: "udp",
            port,
        };
        match self {
            Kind::DhcpServer | Kind::DhcpRelay => vec![udp("DHCP", DHCP_SERVER_PORT)],
            Kind::DhcpClient => vec![udp("DHCP", DHCP_CLIENT_PORT)],
            Kind::DnsServer => vec![udp("DNS", DNS_PORT), tcp("DNS", DNS_PORT)],
            Kind::MailServer if mail_tls(node) => vec![
                tcp("SMTP", SMTP_PORT),
                tcp("SMTP", SUBMISSION_PORT),
                tcp("SMTPS", SUBMISSIONS_PORT),
                tcp("POP3", POP3_PORT),
                tcp("POP3S", POP3S_PORT),
                tcp("IMAP", IMAP_PORT),
                tcp("IMAPS", IMAPS_PORT),
            ],
            Kind::MailServer => vec![
                tcp("SMTP", SMTP_PORT),
                tcp("SMTP", SUBMISSION_PORT),
                tcp("POP3", POP3_PORT),
                tcp("IMAP", IMAP_PORT),
            ],
            Kind::WebServer | Kind::Webmail if node.agents.https() => {
                vec![tcp("HTTP", HTTP_PORT), tcp("HTTPS", HTTPS_PORT)]
            }
            Kind::WebServer | Kind::Webmail => vec![tcp("HTTP", HTTP_PORT)],
        }
    }

    /// The name `labctl service LAB NODE NAME stop|start` knows it by; None
    /// for what is not a server one stops (relays, clients).
    pub fn service_name(self) -> Option<&'static str> {
        match self {
            Kind::DhcpServer => Some("dhcp"),
            Kind::DnsServer => Some("dns"),
            Kind::MailServer => Some("mail"),
            Kind::WebServer => Some("web"),
            Kind::Webmail => Some("webmail"),
            Kind::DhcpRelay | Kind::DhcpClient => None,
        }
    }

    pub fn phase(self) -> Phase {
        match self {
            Kind::DhcpClient => Phase::Clients,
            Kind::DhcpServer
            | Kind::DhcpRelay
            | Kind::DnsServer
            | Kind::MailServer
            | Kind::WebServer
            | Kind::Webmail => Phase::Infrastructure,
        }
    }

    /// Binds the service's sockets in the node's namespace (the calling
    /// thread is there) and spawns its tasks, every instance of it on the
    /// node (each relay or client interface). Runs inside the node's
    /// runtime; its tasks end once `context.shutdown` fired and they drained.
    pub fn start(self, context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
        match self {
            Kind::DhcpServer => dhcp::server::start(context, tasks),
            Kind::DhcpRelay => dhcp::relay::start(context, tasks),
            Kind::DhcpClient => dhcp::client::start(context, tasks),
            Kind::DnsServer => dns::start(context, tasks),
            Kind::MailServer => mail::start(context, tasks),
            Kind::WebServer => web::start(context, tasks),
            Kind::Webmail => webmail::start(context, tasks),
        }
    }
}

/// Whether the node's mail service offers TLS (as `mail::start` opens 465, 995, 993).
fn mail_tls(node: &PlanNode) -> bool {
    node.mail.as_ref().is_some_and(|m| !m.tls.is_off())
}

/// The node's services in the order the daemon starts them (relays and
/// clients once per interface).
pub fn planned(node: &PlanNode) -> Vec<Kind> {
    let mut kinds = Vec::new();
    if node.dhcp_server.is_some() {
        kinds.push(Kind::DhcpServer);
    }
    if node.dns_server.is_some() {
        kinds.push(Kind::DnsServer);
    }
    if node.mail.is_some() {
        kinds.push(Kind::MailServer);
    }
    if node.agents.web.is_some() {
        kinds.push(Kind::WebServer);
    }
    if node.agents.webmail.is_some() {
        kinds.push(Kind::Webmail);
    }
    for iface in &node.interfaces {
        if iface.dhcp_relay.is_some() {
            kinds.push(Kind::DhcpRelay);
        }
        if iface.dhcp {
            kinds.push(Kind::DhcpClient);
        }
    }
    kinds
}

/// The kinds a node starts in `phase`, each once, in `planned` order.
pub fn to_start(node: &PlanNode, phase: Phase) -> Vec<Kind> {
    let mut kinds = Vec::new();
    for kind in planned(node) {
        if kind.phase() == phase && !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// The servers a node runs, for a picture: `DHCP, DNS, mail` (relays once;
/// clients are not servers).
pub fn summary(node: &PlanNode) -> String {
    let mut names: Vec<&str> = Vec::new();
    for kind in planned(node) {
        if kind != Kind::DhcpClient && !names.contains(&kind.short_name()) {
            names.push(kind.short_name());
        }
    }
    names.join(", ")
}

/// `SMTP 25, 587; POP3 110; IMAP 143` (a protocol on UDP and TCP alike
/// is named once: `DNS 53`).
pub fn ports_text(ports: &[Port]) -> String {
    let mut groups: Vec<(&str, Vec<u16>)> = Vec::new();
    for port in ports {
        match groups.iter_mut().find(|(name, _)| *name == port.protocol) {
            Some((_, numbers)) if numbers.contains(&port.port) => {}
            Some((_, numbers)) => numbers.push(port.port),
            None => groups.push((port.protocol, vec![port.port])),
        }
    }
    groups
        .iter()
        .map(|(name, numbers)| {
            let numbers: Vec<String> = numbers.iter().map(ToString::to_string).collect();
            format!("{name} {}", numbers.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_read_as_in_the_lecture() {
        let yaml = "
name: ports
nodes:
  plain:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    services:
      mail: {domains: [mt.com], users: {ada: secret}}
      web: {pages: {/: hello}}
      dns: {zones: {mt.com: {mail: {A: 192.168.1.2}}}}
  secure:
    kind: server
    interfaces: {eth0: 192.168.1.3/24}
    services:
      mail: {domains: [cbrc.com], users: {bob: secret}, tls: required}
      web: {pages: {/: hello}, tls: optional}
  sw: {kind: switch}
links: [[plain, sw], [secure, sw]]
";
        let checked = crate::lab::load::check_text("ports.yaml", yaml.to_string());
        let (_, topology) = checked
            .valid
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
        let plan = crate::lab::plan::plan(&topology);
        let (plain, secure) = (plan.node("plain").unwrap(), plan.node("secure").unwrap());
        let text = |kind: Kind, node| ports_text(&kind.ports(node));
        assert_eq!(
            text(Kind::MailServer, plain),
            "SMTP 25, 587; POP3 110; IMAP 143"
        );
        assert_eq!(text(Kind::WebServer, plain), "HTTP 80");
        assert_eq!(text(Kind::DnsServer, plain), "DNS 53");
        assert_eq!(
            text(Kind::MailServer, secure),
            "SMTP 25, 587; SMTPS 465; POP3 110; POP3S 995; IMAP 143; IMAPS 993"
        );
        assert_eq!(text(Kind::WebServer, secure), "HTTP 80; HTTPS 443");
    }

    /// Two relaying interfaces and two DHCP interfaces start one relay and
    /// one client service each (which cover every interface); the server
    /// and relays start before any client.
    #[test]
    fn each_kind_starts_once_in_its_phase() {
        let yaml = "
name: seam
nodes:
  r1:
    kind: router
    interfaces:
      eth0: {address: 192.168.10.1/24, dhcp_relay: 192.168.1.2}
      eth1: {address: 192.168.20.1/24, dhcp_relay: 192.168.1.2}
      eth2: 192.168.1.1/24
  server:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    gateway: 192.168.1.1
    services:
      dhcp:
        pools:
          - {range: 192.168.10.100-192.168.10.120, gateway: 192.168.10.1}
          - {range: 192.168.20.100-192.168.20.120, gateway: 192.168.20.1}
      web: {pages: {/: hello}}
  pc:
    kind: host
    interfaces: {eth0: dhcp, eth1: dhcp}
links:
  - [r1:eth0, pc:eth0]
  - [r1:eth1, pc:eth1]
  - [r1:eth2, server]
";
        let checked = crate::lab::load::check_text("seam.yaml", yaml.to_string());
        let (_, topology) = checked
            .valid
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
        let plan = crate::lab::plan::plan(&topology);
        let node = |name: &str| plan.node(name).unwrap();
        assert_eq!(
            planned(node("r1")),
            [Kind::DhcpRelay, Kind::DhcpRelay],
            "status lists each relay interface"
        );
        assert_eq!(
            to_start(node("r1"), Phase::Infrastructure),
            [Kind::DhcpRelay]
        );
        assert_eq!(to_start(node("r1"), Phase::Clients), []);
        assert_eq!(
            to_start(node("server"), Phase::Infrastructure),
            [Kind::DhcpServer, Kind::WebServer]
        );
        assert_eq!(to_start(node("pc"), Phase::Infrastructure), []);
        assert_eq!(to_start(node("pc"), Phase::Clients), [Kind::DhcpClient]);
    }
}
