//! `status`: the one model of running labs — the list of labs, and one lab
//! as the kernel sees it now (interfaces, addresses, routes) next to what
//! was planned, with each node's services as the daemon reports them. The
//! CLI prints it as text or as JSON; the JSON shape is documented in
//! docs/status-json.md and stable: fields may be added, never renamed or
//! removed, within a `version`.

use std::net::Ipv4Addr;

use anyhow::Result;
use ipnet::Ipv4Net;
use serde::Serialize;

use super::admin::require_admin;
use crate::daemon::control::{self, Reply, Request};
use crate::daemon::mail::{mail_dir, queue_dir};
use crate::daemon::pidfile::ProcessId;
use crate::daemon::services::{Kind, Port};
use crate::daemon::state::ClientReport;
use crate::lab::addr::DEFAULT_ROUTE;
use crate::lab::model_agents::MailProtocol;
use crate::lab::plan::{PlanNode, RouteOrigin};
use crate::net::inspect::{NamespaceView, inspect_plan};
use crate::services::dhcp::server::{LeaseInfo, Stats};
use crate::services::mail::smtp::queue::Queue;
use crate::state::{LabDir, LabRecord, all_labs, is_permission_denied};

pub const VERSION: u32 = 1;

#[derive(Serialize)]
pub struct LabList {
    pub version: u32,
    pub labs: Vec<LabSummary>,
}

#[derive(Serialize)]
pub struct LabSummary {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub file: String,
    pub started: u64,
    pub nodes: usize,
    pub links: usize,
    pub daemon: DaemonStatus,
}

#[derive(Serialize)]
pub struct DaemonStatus {
    pub pid: Option<i32>,
    pub running: bool,
    pub uptime_seconds: Option<u64>,
}

#[derive(Serialize)]
pub struct LabStatus {
    pub version: u32,
    pub lab: LabSummary,
    pub nodes: Vec<NodeStatus>,
}

#[derive(Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub kind: &'static str,
    pub namespace: String,
    /// False when the namespace has gone missing (a damaged lab: `down` it).
    pub present: bool,
    pub interfaces: Vec<InterfaceStatus>,
    pub routes: Vec<RouteStatus>,
    pub services: Vec<ServiceStatus>,
    /// A PC's mail client settings (`mail:`), passwords left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mail: Vec<MailClientStatus>,
}

/// One account of a PC's mail client.
#[derive(Serialize)]
pub struct MailClientStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub address: String,
    pub incoming: String,
    /// `pop3` or `imap`.
    pub protocol: &'static str,
    pub outgoing: String,
    pub user: String,
}

/// A mailbox of a mail server and how many messages its inbox holds now.
#[derive(Serialize)]
pub struct MailboxStatus {
    pub user: String,
    /// Messages in the inbox (read or not; other folders not counted).
    pub messages: usize,
}

/// One service of a node: what the plan says the daemon runs, the ports it
/// listens on, and whether the daemon answers.
#[derive(Serialize)]
pub struct ServiceStatus {
    #[serde(flatten)]
    pub service: Service,
    pub ports: Vec<Port>,
    /// The lab daemon, which runs every service, answers now.
    pub running: bool,
    /// Stopped with `labctl service … stop`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

/// A service's own fields, by kind.
#[derive(Serialize)]
#[allow(clippy::enum_variant_names)] // the names are the JSON `kind`s
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Service {
    DhcpServer {
        leases: Vec<LeaseInfo>,
        stats: Stats,
    },
    DhcpRelay {
        interface: String,
        server: Ipv4Addr,
    },
    DhcpClient {
        interface: String,
        #[serde(flatten)]
        client: ClientReport,
    },
    DnsServer {
        /// Zone origins, with the final dot.
        zones: Vec<String>,
        /// `authoritative`, `forwarder` or `recursive`.
        role: &'static str,
        /// The lab servers a resolver asks (forwarder) or starts from (roots).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        upstream: Vec<Ipv4Addr>,
    },
    MailServer {
        domains: Vec<String>,
        /// The mailbox names.
        users: Vec<String>,
        /// The DKIM key records to publish, one per domain it signs for.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        dkim: Vec<DkimRecord>,
        /// `reject`, `quarantine` or `record` when it checks senders.
        #[serde(skip_serializing_if = "Option::is_none")]
        sender_checks: Option<&'static str>,
        /// Each user's inbox, as the store on disk holds it now.
        mailboxes: Vec<MailboxStatus>,
        /// Messages waiting in the relay queue for another server.
        queue: usize,
    },
    WebServer {
        /// The directory served (relative to the lab file), if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        root: Option<String>,
        /// The paths of inline pages.
        pages: Vec<String>,
    },
    Webmail {
        /// The mail server it reads and sends through.
        server: String,
    },
}

#[derive(Serialize)]
pub struct InterfaceStatus {
    pub name: String,
    /// "up" or "down" (administrative state).
    pub state: &'static str,
    /// Operational state from the kernel: "up", "down", "lowerlayerdown", …
    pub oper: String,
    pub mac: Option<String>,
    pub addresses: Vec<Ipv4Net>,
    /// How the interface is addressed in the lab file.
    pub addressing: &'static str,
    /// `node/interface` at the other end of the cable.
    pub peer: String,
    /// The bridge a switch port belongs to.
    pub bridge: Option<String>,
    /// For `dhcp` interfaces: the client's state and lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease: Option<ClientReport>,
}

#[derive(Serialize)]
pub struct RouteStatus {
    /// `default` or `ADDRESS/PREFIX`.
    pub to: String,
    pub via: Option<Ipv4Addr>,
    pub dev: Option<String>,
    /// connected, gateway, static, auto, dhcp, or other (not from labctl).
    pub origin: &'static str,
}

/// Every lab with a state dir on this machine (labs whose record cannot be
/// read are left out, unless it is for want of root).
pub fn labs() -> Result<LabList> {
    let mut labs: Vec<LabSummary> = Vec::new();
    for dir in all_labs().iter().filter_map(|name| LabDir::of(name).ok()) {
        let record = match dir.read_record() {
            Ok(record) => record,
            // Lab state is root's: say so rather than "no lab is up".
            Err(e) if is_permission_denied(&e) => return Err(e),
            Err(_) => continue,
        };
        let reply = ask_daemon(&dir);
        labs.push(summary(&dir, &record, reply.as_ref()));
    }
    Ok(LabList {
        version: VERSION,
        labs,
    })
}

/// Lab `lab` as it is now (needs root: it reads the lab's namespaces).
pub fn lab(lab: &str) -> Result<LabStatus> {
    require_admin("status LAB")?;
    let dir = LabDir::of(lab)?;
    let record = dir.read_record()?;
    let reply = ask_daemon(&dir);
    let views = inspect_plan(&record.plan)?;
    let nodes = record
        .plan
        .nodes
        .iter()
        .zip(views)
        .map(|(node, view)| node_status(&dir, node, view, reply.as_ref()))
        .collect();
    Ok(LabStatus {
        version: VERSION,
        lab: summary(&dir, &record, reply.as_ref()),
        nodes,
    })
}

fn summary(dir: &LabDir, record: &LabRecord, reply: Option<&Reply>) -> LabSummary {
    let daemon = ProcessId::read(&dir.pid_path());
    let running = daemon.is_some_and(|d| d.is_alive());
    let uptime = reply.map(|r| r.uptime_seconds);
    LabSummary {
        name: dir.name.clone(),
        description: record.plan.description.clone(),
        file: record.file.clone(),
        started: record.started,
        nodes: record.plan.nodes.len(),
        links: record.plan.links.len(),
        daemon: DaemonStatus {
            pid: daemon.map(|d| d.pid),
            running,
            uptime_seconds: uptime,
        },
    }
}

/// The daemon's report, if it is running and answers.
fn ask_daemon(dir: &LabDir) -> Option<Reply> {
    let alive = ProcessId::read(&dir.pid_path()).is_some_and(|d| d.is_alive());
    alive
        .then(|| control::call(&dir.socket_path(), &Request::Ping).ok())
        .flatten()
}

fn node_status(
    dir: &LabDir,
    node: &PlanNode,
    view: Option<NamespaceView>,
    reply: Option<&Reply>,
) -> NodeStatus {
    let present = view.is_some();
    let view = view.unwrap_or_default();
    let client = |iface: &str| {
        reply
            .and_then(|r| r.dhcp_clients.get(&format!("{}/{iface}", node.name)))
            .cloned()
    };
    let interfaces = node
        .interfaces
        .iter()
        .map(|planned| {
            let live = view.links.iter().find(|l| l.name == planned.name);
            InterfaceStatus {
                name: planned.name.clone(),
                state: if live.is_some_and(|l| l.up) {
                    "up"
                } else {
                    "down"
                },
                oper: live.map_or("missing".into(), |l| l.oper.clone()),
                mac: live.and_then(|l| l.mac.clone()),
                addresses: live.map(|l| l.addresses.clone()).unwrap_or_default(),
                addressing: if planned.dhcp {
                    "dhcp"
                } else if planned.address.is_some() {
                    "static"
                } else {
                    "none"
                },
                peer: planned.peer.clone(),
                bridge: live
                    .and_then(|l| l.controller)
                    .and_then(|c| view.links.iter().find(|b| b.index == c))
                    .map(|b| b.name.clone()),
                lease: if planned.dhcp {
                    client(&planned.name)
                } else {
                    None
                },
            }
        })
        .collect();
    let running = reply.is_some();
    let entry = |kind: Kind, service: Service| {
        let stopped = kind.service_name().is_some_and(|name| {
            reply.is_some_and(|r| r.stopped.contains(&format!("{}/{name}", node.name)))
        });
        ServiceStatus {
            service,
            ports: kind.ports(node),
            running: running && !stopped,
            stopped,
        }
    };
    let mut services = Vec::new();
    if node.dhcp_server.is_some() {
        let report = reply.and_then(|r| r.dhcp_servers.get(&node.name));
        services.push(entry(
            Kind::DhcpServer,
            Service::DhcpServer {
                leases: report.map(|r| r.leases.clone()).unwrap_or_default(),
                stats: report.map(|r| r.stats.clone()).unwrap_or_default(),
            },
        ));
    }
    if let Some(dns) = &node.dns_server {
        services.push(entry(Kind::DnsServer, dns_status(dns)));
    }
    if let Some(mail) = &node.mail {
        services.push(entry(
            Kind::MailServer,
            Service::MailServer {
                domains: mail.domains.clone(),
                users: mail.users.iter().map(|u| u.name.clone()).collect(),
                dkim: mail.dkim.iter().filter_map(dkim_record).collect(),
                sender_checks: mail.sender_checks.map(|e| e.as_str()),
                mailboxes: mail
                    .users
                    .iter()
                    .map(|u| MailboxStatus {
                        user: u.name.clone(),
                        messages: inbox_count(&mail_dir(&dir.dir, &node.name), &u.name),
                    })
                    .collect(),
                queue: Queue::existing(&queue_dir(&dir.dir, &node.name))
                    .pending()
                    .map_or(0, |p| p.len()),
            },
        ));
    }
    if let Some(web) = &node.agents.web {
        services.push(entry(
            Kind::WebServer,
            Service::WebServer {
                root: web.root.clone(),
                pages: web.pages.keys().cloned().collect(),
            },
        ));
    }
    if let Some(webmail) = &node.agents.webmail {
        services.push(entry(
            Kind::Webmail,
            Service::Webmail {
                server: webmail.server.clone(),
            },
        ));
    }
    for iface in &node.interfaces {
        if let Some(server) = iface.dhcp_relay {
            services.push(entry(
                Kind::DhcpRelay,
                Service::DhcpRelay {
                    interface: iface.name.clone(),
                    server,
                },
            ));
        }
        if iface.dhcp {
            let report = client(&iface.name).unwrap_or_else(ClientReport::unknown);
            services.push(entry(
                Kind::DhcpClient,
                Service::DhcpClient {
                    interface: iface.name.clone(),
                    client: report,
                },
            ));
        }
    }
    let routes = view
        .routes
        .iter()
        .map(|r| {
            let from_dhcp = |via: Ipv4Addr| {
                r.to == DEFAULT_ROUTE
                    && node.interfaces.iter().any(|i| {
                        i.dhcp
                            && client(&i.name).is_some_and(|c| c.gateway == Some(via.to_string()))
                    })
            };
            let origin = match r.via {
                None => "connected",
                Some(via) if from_dhcp(via) => "dhcp",
                Some(via) => node
                    .routes
                    .iter()
                    .find(|p| p.to == r.to && p.via == via)
                    .map_or("other", |p| match p.origin {
                        RouteOrigin::Gateway => "gateway",
                        RouteOrigin::Static => "static",
                        RouteOrigin::Auto => "auto",
                    }),
            };
            RouteStatus {
                to: if r.to == DEFAULT_ROUTE {
                    "default".into()
                } else {
                    r.to.to_string()
                },
                via: r.via,
                dev: r.dev.clone(),
                origin,
            }
        })
        .collect();
    NodeStatus {
        name: node.name.clone(),
        kind: node.kind.as_str(),
        namespace: node.namespace.clone(),
        present,
        interfaces,
        routes,
        services,
        mail: node
            .agents
            .mail
            .iter()
            .map(|a| MailClientStatus {
                name: a.name.clone(),
                address: a.address.clone(),
                incoming: a.incoming.clone(),
                protocol: match a.protocol.unwrap_or_default() {
                    MailProtocol::Pop3 => "pop3",
                    MailProtocol::Imap => "imap",
                },
                outgoing: a.outgoing.clone(),
                user: a.user.clone(),
            })
            .collect(),
    }
}

/// Messages in `user`'s inbox maildir (`new/` and `cur/`), read without
/// opening the store, which belongs to the lab daemon.
fn inbox_count(mail_dir: &std::path::Path, user: &str) -> usize {
    let inbox = mail_dir.join("maildirs").join(user);
    ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(inbox.join(sub)).ok())
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .sum()
}

/// A DNS server as the plan describes it.
fn dns_status(dns: &crate::lab::zones::DnsServer) -> Service {
    use crate::lab::zones::ResolverRole;
    let (role, upstream) = match &dns.resolver {
        None => ("authoritative", Vec::new()),
        Some(role @ ResolverRole::Forward { servers }) => (role.name(), servers.clone()),
        Some(role @ ResolverRole::Recursive { roots, .. }) => (role.name(), roots.clone()),
    };
    Service::DnsServer {
        zones: dns.zones.iter().map(|z| z.origin.clone()).collect(),
        role,
        upstream,
    }
}

/// A DKIM key's TXT record, as the domain's zone must hold it.
#[derive(Debug, Clone, Serialize)]
pub struct DkimRecord {
    /// `SELECTOR._domainkey.DOMAIN`.
    pub name: String,
    pub text: String,
    /// Whether `up` put it in the lab's zone.
    pub published: bool,
}

/// The record of a key `up` made or the lab file gave.
fn dkim_record(key: &crate::lab::topology::DkimKey) -> Option<DkimRecord> {
    let text = crate::lab::dkim::record_text(key.private_key.as_deref()?).ok()?;
    Some(DkimRecord {
        name: crate::lab::dkim::record_name(&key.selector, &key.domain),
        text,
        published: key.publish,
    })
}
