//! `labctl status [LAB] [--json]`: the running labs, or one lab as the
//! kernel sees it now, printed from the one status model (`ops::status`)
//! as text or as JSON (docs/status-json.md).

use std::process::ExitCode;

use anyhow::Result;

use crate::daemon::services::ports_text;
use crate::ops::status::{self, LabList, LabStatus, Service, ServiceStatus};
use crate::ops::target::lab_name;
use crate::plural::count;
use crate::printable::line;

pub fn run(lab: Option<&str>, json: bool) -> Result<ExitCode> {
    match lab {
        None => list(&status::labs()?, json),
        Some(target) => one(&status::lab(&lab_name(target)?)?, json),
    }
}

fn list(list: &LabList, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(list)?);
        return Ok(ExitCode::SUCCESS);
    }
    let labs = &list.labs;
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

fn one(status: &LabStatus, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(status)?);
    } else {
        print_human(status);
    }
    Ok(ExitCode::SUCCESS)
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
            // A cut cable (`labctl link … down`) or `ip link set … down`.
            let cut = if i.state != "up" {
                "  DOWN"
            } else if i.oper == "down" || i.oper == "lowerlayerdown" {
                "  NO CARRIER (the other end is down)"
            } else {
                ""
            };
            println!(
                "  {:<8} {:<4} {:<17} {:<18} → {}{bridge}{cut}",
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
    let stopped = if status.stopped {
        " [stopped: `labctl service … start` starts it]"
    } else if status.running {
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
        Service::MailServer {
            domains,
            users,
            dkim,
            sender_checks,
            ..
        } => {
            println!(
                "  mail ({ports}){stopped}: {}, users {}",
                domains.join(", "),
                users.join(", ")
            );
            if let Some(enforcement) = sender_checks {
                println!("    sender checks (SPF, DKIM, DMARC): {enforcement}");
            }
            for record in dkim {
                let state = if record.published {
                    "published in the lab's zone"
                } else {
                    "publish it in the domain's zone"
                };
                println!("    dkim {} TXT \"{}\" ({state})", record.name, record.text);
            }
        }
        Service::WebServer { root, pages } => {
            let site = match root {
                Some(root) => format!("files in {root}"),
                None => format!("pages {}", pages.join(" ")),
            };
            println!("  web ({ports}){stopped}: {site}")
        }
        Service::Webmail { server } => {
            println!(
                "  webmail ({ports}){stopped}: IMAP and SMTP at {}",
                line(server)
            )
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
