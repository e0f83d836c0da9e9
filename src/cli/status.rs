//! `labctl status [LAB] [--json]`: the running labs, or one lab as the
//! kernel sees it now (interfaces, addresses, routes) next to what was
//! planned. The JSON shape is documented in docs/status-json.md and stable:
//! fields may be added, never renamed or removed, within a `version`.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::daemon::control::{self, Request};
use crate::daemon::pidfile::ProcessId;
use crate::lab::addr::Ipv4Net;
use crate::lab::plan::{PlanNode, RouteOrigin};
use crate::net::inspect::{NamespaceView, inspect};
use crate::net::netns;
use crate::state::{LabDir, LabRecord, all_labs};

const VERSION: u32 = 1;

#[derive(Serialize)]
struct LabList {
    version: u32,
    labs: Vec<LabSummary>,
}

#[derive(Serialize)]
struct LabSummary {
    name: String,
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
    services: Vec<String>,
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
}

#[derive(Serialize)]
struct RouteStatus {
    /// `default` or `ADDRESS/PREFIX`.
    to: String,
    via: Option<Ipv4Addr>,
    dev: Option<String>,
    /// connected, gateway, static, auto, or other (not from the lab file).
    origin: &'static str,
}

pub fn run(lab: Option<&str>, json: bool) -> Result<ExitCode> {
    match lab {
        None => list(json),
        Some(target) => one(&super::down::lab_name(target)?, json),
    }
}

fn summary(dir: &LabDir, record: &LabRecord) -> LabSummary {
    let daemon = ProcessId::read(&dir.pid_path());
    let running = daemon.is_some_and(|d| d.is_alive());
    let uptime = running
        .then(|| control::call(&dir.socket_path(), &Request::Ping).ok())
        .flatten()
        .map(|r| r.uptime_seconds);
    LabSummary {
        name: dir.name.clone(),
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
    let labs: Vec<LabSummary> = all_labs()
        .iter()
        .map(|name| LabDir::of(name))
        .filter_map(|dir| dir.read_record().ok().map(|r| summary(&dir, &r)))
        .collect();
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
    for lab in labs {
        let daemon = if lab.daemon.running {
            "running"
        } else {
            "STOPPED"
        };
        println!(
            "{:<20} {:>6} {:>6}  {:<10} {}",
            lab.name, lab.nodes, lab.links, daemon, lab.file
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn one(lab: &str, json: bool) -> Result<ExitCode> {
    crate::lifecycle::require_admin("status LAB")?;
    let dir = LabDir::of(lab);
    let record = dir.read_record()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut nodes = Vec::new();
    for node in &record.plan.nodes {
        let view = if netns::exists(&node.namespace) {
            let handle = runtime.handle().clone();
            let netlink = netns::run_in(&node.namespace, move || {
                let _entered = handle.enter();
                let (connection, netlink, _) = rtnetlink::new_connection()?;
                handle.spawn(connection);
                Ok(netlink)
            })?;
            Some(
                runtime
                    .block_on(inspect(&netlink))
                    .with_context(|| format!("reading node {}", node.name))?,
            )
        } else {
            None
        };
        nodes.push(node_status(node, view));
    }
    let status = LabStatus {
        version: VERSION,
        lab: summary(&dir, &record),
        nodes,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_human(&status);
    }
    Ok(ExitCode::SUCCESS)
}

fn node_status(node: &PlanNode, view: Option<NamespaceView>) -> NodeStatus {
    let present = view.is_some();
    let view = view.unwrap_or_default();
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
            }
        })
        .collect();
    let routes = view
        .routes
        .iter()
        .map(|r| {
            let origin = match r.via {
                None => "connected",
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
        services: Vec::new(),
    }
}

fn print_human(status: &LabStatus) {
    let lab = &status.lab;
    let daemon = match (lab.daemon.running, lab.daemon.pid) {
        (true, Some(pid)) => format!("daemon pid {pid}"),
        _ => "DAEMON NOT RUNNING (run `labctl down` then `up`)".to_string(),
    };
    println!(
        "lab {} — {} nodes, {} links, {daemon}",
        lab.name, lab.nodes, lab.links
    );
    println!("file {}", lab.file);
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
