//! `labctl status [LAB] [--json]`: the running labs, or one lab as the
//! kernel sees it now (interfaces, addresses, routes) next to what was
//! planned. The JSON shape is documented in docs/status-json.md and stable:
//! fields may be added, never renamed or removed, within a `version`.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::daemon::control::{self, Reply, Request};
use crate::daemon::pidfile::ProcessId;
use crate::daemon::services::{Kind, Port, ports_text};
use crate::daemon::state::ClientReport;
use crate::lab::addr::Ipv4Net;
use crate::lab::plan::{PlanNode, RouteOrigin};
use crate::net::inspect::{NamespaceView, inspect_plan};
use crate::plural::count;
use crate::printable::line;
use crate::services::dhcp::server::{LeaseInfo, Stats};
use crate::state::{LabDir, LabRecord, all_labs, is_permission_denied};

const VERSION: u32 = 1;

#[derive(Serialize)]
struct LabList {
    version: u32,
    labs: Vec<LabSummary>,
}

#[derive(Serialize)]
struct LabSummary {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    file: String,
    started: u64,
    nodes: usize,
    links: usize,
    daemon: DaemonStatus,
}

#[derive(Serialize)]
struct DaemonStatus {
    pid: Option<i32>,
    running: bool,
    uptime_seconds: Option<u64>,
}

#[derive(Serialize)]
struct LabStatus {
    version: u32,
    lab: LabSummary,
    nodes: Vec<NodeStatus>,
}

#[derive(Serialize)]
struct NodeStatus {
    name: String,
    kind: &'static str,
    namespace: String,
    /// False when the namespace has gone missing (a damaged lab: `down` it).
    present: bool,
    interfaces: Vec<InterfaceStatus>,
    routes: Vec<RouteStatus>,
    services: Vec<ServiceStatus>,
}

/// One service of a node: what the plan says the daemon runs, the ports it
/// listens on, and whether the daemon answers.
#[derive(Serialize)]
struct ServiceStatus {
    #[serde(flatten)]
    service: Service,
    ports: Vec<Port>,
    /// The lab daemon, which runs every service, answers now.
    running: bool,
}

/// A service's own fields, by kind.
#[derive(Serialize)]
#[allow(clippy::enum_variant_names)] // the names are the JSON `kind`s
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Service {
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
    },
    WebServer {
        /// The directory served (relative to the lab file), if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        root: Option<String>,
        /// The paths of inline pages.
        pages: Vec<String>,
    },
}

#[derive(Serialize)]
struct InterfaceStatus {
    name: String,
    /// "up" or "down" (administrative state).
    state: &'static str,
    /// Operational state from the kernel: "up", "down", "lowerlayerdown", …
    oper: String,
    mac: Option<String>,
    addresses: Vec<Ipv4Net>,
    /// How the interface is addressed in the lab file.
    addressing: &'static str,
    /// `node/interface` at the other end of the cable.
    peer: String,
    /// The bridge a switch port belongs to.
    bridge: Option<String>,
    /// For `dhcp` interfaces: the client's state and lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<ClientReport>,
}

#[derive(Serialize)]
struct RouteStatus {
    /// `default` or `ADDRESS/PREFIX`.
    to: String,
    via: Option<Ipv4Addr>,
    dev: Option<String>,
    /// connected, gateway, static, auto, dhcp, or other (not from labctl).
    origin: &'static str,
}

pub fn run(lab: Option<&str>, json: bool) -> Result<ExitCode> {
    match lab {
        None => list(json),
        Some(target) => one(&super::down::lab_name(target)?, json),
    }
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

fn list(json: bool) -> Result<ExitCode> {
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
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&LabList {
                version: VERSION,
                labs
            })?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if labs.is_empty() {
        println!("no lab is up (start one with `labctl up FILE`)");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<20} {:>6} {:>6}  {:<10} FILE",
        "LAB", "NODES", "LINKS", "DAEMON"
    );
    let stopped = labs
        .iter()
        .find(|l| !l.daemon.running)
        .map(|l| l.name.clone());
    for lab in labs {
        let daemon = if lab.daemon.running {
            "running"
        } else {
            "STOPPED"
        };
        println!(
            "{:<20} {:>6} {:>6}  {:<10} {}",
            lab.name,
            lab.nodes,
            lab.links,
            daemon,
            line(&lab.file)
        );
    }
    if let Some(stopped) = stopped {
        println!(
            "a STOPPED daemon: `labctl restart {stopped}` starts its services again, keeping mail and leases"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn one(lab: &str, json: bool) -> Result<ExitCode> {
    crate::lifecycle::require_admin("status LAB")?;
    let dir = LabDir::of(lab)?;
    let record = dir.read_record()?;
    let reply = ask_daemon(&dir);
    let views = inspect_plan(&record.plan)?;
    let nodes = record
        .plan
        .nodes
        .iter()
        .zip(views)
        .map(|(node, view)| node_status(node, view, reply.as_ref()))
        .collect();
    let status = LabStatus {
        version: VERSION,
        lab: summary(&dir, &record, reply.as_ref()),
        nodes,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_human(&status);
    }
    Ok(ExitCode::SUCCESS)
}

/// The daemon's report, if it is running and answers.
fn ask_daemon(dir: &LabDir) -> Option<Reply> {
    let alive = ProcessId::read(&dir.pid_path()).is_some_and(|d| d.is_alive());
    alive
        .then(|| control::call(&dir.socket_path(), &Request::Ping).ok())
        .flatten()
}

fn node_status(node: &PlanNode, view: Option<NamespaceView>, reply: Option<&Reply>) -> NodeStatus {
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
    let entry = |kind: Kind, service: Service| ServiceStatus {
        service,
        ports: kind.ports(),
        running,
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
                r.to == Ipv4Net::DEFAULT
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
                to: if r.to == Ipv4Net::DEFAULT {
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
    }
}

fn print_human(status: &LabStatus) {
    let lab = &status.lab;
    let daemon = match (lab.daemon.running, lab.daemon.pid) {
        (true, Some(pid)) => format!("daemon pid {pid}"),
        _ => format!(
            "DAEMON NOT RUNNING (its services are stopped: `labctl restart {}` starts them again, keeping mail, leases and the relay queue)",
            lab.name
        ),
    };
    println!(
        "lab {} — {}, {}, {daemon}",
        lab.name,
        count(lab.nodes, "node"),
        count(lab.links, "link")
    );
    if let Some(description) = &lab.description {
        println!("{}", line(description));
    }
    println!("file {}", line(&lab.file));
    for node in &status.nodes {
        let missing = if node.present {
            ""
        } else {
            "  NAMESPACE MISSING"
        };
        println!(
            "\n{} ({}, namespace {}){missing}",
            node.name, node.kind, node.namespace
        );
        for i in &node.interfaces {
            let addresses: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
            let bridge = i
                .bridge
                .as_ref()
                .map(|b| format!(" port of {b}"))
                .unwrap_or_default();
            println!(
                "  {:<8} {:<4} {:<17} {:<18} → {}{bridge}",
                i.name,
                i.state,
                i.mac.as_deref().unwrap_or("-"),
                if addresses.is_empty() {
                    i.addressing.to_string()
                } else {
                    addresses.join(" ")
                },
                i.peer
            );
        }
        for service in &node.services {
            print_service(service);
        }
        for r in &node.routes {
            let via = r.via.map(|v| format!(" via {v}")).unwrap_or_default();
            let dev = r
                .dev
                .as_ref()
                .map(|d| format!(" dev {d}"))
                .unwrap_or_default();
            println!("  route {}{via}{dev} ({})", r.to, r.origin);
        }
    }
}

/// `  mail (SMTP 25, 587; POP3 110; IMAP 143): mt.com, users ada, bob`
fn print_service(status: &ServiceStatus) {
    let ports = ports_text(&status.ports);
    let stopped = if status.running {
        ""
    } else {
        " [not running: the lab daemon does not answer]"
    };
    match &status.service {
        Service::DhcpServer { leases, stats } => {
            println!(
                "  dhcp server ({ports}){stopped}: {}, {}, {} malformed",
                count(leases.len(), "lease"),
                count(stats.received, "request"),
                stats.malformed
            );
            for lease in leases {
                // The hostname is whatever the client sent.
                let name = line(lease.hostname.as_deref().unwrap_or("-"));
                println!(
                    "    lease {} → {} ({name}, {})",
                    lease.address, lease.mac, lease.state
                );
            }
        }
        Service::DhcpRelay { interface, server } => {
            println!("  dhcp relay ({ports}){stopped}: {interface} → {server}")
        }
        Service::DnsServer {
            zones,
            role,
            upstream,
        } => {
            let servers: Vec<String> = upstream.iter().map(|s| s.to_string()).collect();
            let via = if servers.is_empty() {
                String::new()
            } else {
                format!(" via {}", servers.join(", "))
            };
            let zones = if zones.is_empty() {
                "no zones".to_string()
            } else {
                zones.join(" ")
            };
            println!("  dns server ({ports}; {role}{via}){stopped}: {zones}")
        }
        Service::MailServer { domains, users } => println!(
            "  mail ({ports}){stopped}: {}, users {}",
            domains.join(", "),
            users.join(", ")
        ),
        Service::WebServer { root, pages } => {
            let site = match root {
                Some(root) => format!("files in {root}"),
                None => format!("pages {}", pages.join(" ")),
            };
            println!("  web ({ports}){stopped}: {site}")
        }
        Service::DhcpClient { interface, client } => {
            let head = format!("  dhcp client ({ports}){stopped} {interface}");
            match (&client.address, &client.reason) {
                (Some(address), _) => println!(
                    "{head}: {} from {}",
                    line(address),
                    line(client.server.as_deref().unwrap_or("?"))
                ),
                (None, Some(reason)) => println!("{head}: FAILED — {}", line(reason)),
                (None, None) => println!("{head}: {}", client.state),
            }
        }
    }
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
