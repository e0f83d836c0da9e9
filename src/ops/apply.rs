//! `apply`: edits of a lab file carried into the running lab where that is
//! possible without rebuilding the network: mail users, passwords and
//! domains (the daemon replaces a mail server's accounts in place; mail,
//! queue and open sessions stay); DNS zones, DHCP pools and reservations,
//! web pages (that one server starts again with the edited plan; DHCP
//! leases are on disk and stay); a PC's mail settings (read from the
//! record by `labctl mail` and the checks). Every other difference is
//! named as needing `down` and `up`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::daemon::control::{self, Request};
use crate::lab::diagnostic::Report;
use crate::lab::plan::{Plan, PlanNode};
use crate::lab::topology::MailPlan;
use crate::state::{LabDir, LabRecord};

/// What `apply` did, and what it could not do live.
#[derive(Default)]
pub struct Applied {
    /// One line per change made ("mail: user carol added").
    pub changed: Vec<String>,
    /// One line per difference that needs `down` and `up`.
    pub needs_rebuild: Vec<String>,
}

pub fn apply(lab: &str, file: Option<&Path>) -> Result<Applied> {
    crate::ops::admin::require_admin("apply")?;
    let dir = LabDir::of(lab)?;
    let record = dir
        .read_record()
        .with_context(|| format!("lab {lab} is not running"))?;
    let path = file.map_or_else(|| PathBuf::from(&record.file), Path::to_path_buf);
    let mut checked = crate::lab::load::read_file(&path)?.finish();
    if checked.plan.is_none() {
        let report = Report {
            source: &checked.source,
            diagnostics: checked.diagnostics,
        };
        bail!(
            "{} is not valid; nothing was applied:\n{}",
            path.display(),
            report.diagnostics_text()
        );
    }
    checked.rename(lab)?;
    let Some(wanted) = checked.plan else {
        bail!("{} is not valid", path.display());
    };
    let mut applied = Applied::default();
    let mut running = record.plan.clone();
    compare(&record.plan, &wanted, &mut applied.needs_rebuild);
    let socket = dir.socket_path();
    let call = |request: &Request| -> Result<()> {
        let reply = control::call(&socket, request)
            .with_context(|| format!("the daemon of lab {lab} does not answer"))?;
        match reply.error {
            Some(error) => bail!("{error}"),
            None => Ok(()),
        }
    };
    for (index, node) in record.plan.nodes.iter().enumerate() {
        let Some(new) = wanted.node(&node.name) else {
            continue;
        };
        let name = &node.name;
        let mut edited = running.nodes[index].clone();
        let mut reload = Vec::new();
        for field in differing_fields(node, new) {
            match field.as_str() {
                "dns_server" if node.dns_server.is_some() && new.dns_server.is_some() => {
                    edited.dns_server = new.dns_server.clone();
                    reload.push(("dns", format!("{name}: DNS zones reloaded")));
                }
                "dhcp_server" if node.dhcp_server.is_some() && new.dhcp_server.is_some() => {
                    edited.dhcp_server = new.dhcp_server.clone();
                    reload.push((
                        "dhcp",
                        format!("{name}: DHCP pools and reservations reloaded (leases kept)"),
                    ));
                }
                "agents" => {
                    if node.agents.mail != new.agents.mail {
                        edited.agents.mail = new.agents.mail.clone();
                        applied
                            .changed
                            .push(format!("{name}: mail client settings updated"));
                    }
                    match (&node.agents.web, &new.agents.web) {
                        (Some(a), Some(b)) if a != b => {
                            edited.agents.web = new.agents.web.clone();
                            reload.push(("web", format!("{name}: web site reloaded")));
                        }
                        (a, b) if a != b => applied
                            .needs_rebuild
                            .push(format!("{name}: web server added or removed")),
                        _ => {}
                    }
                }
                other => applied
                    .needs_rebuild
                    .push(format!("{name}: {} changed", other.replace('_', " "))),
            }
        }
        for (service, said) in reload {
            call(&Request::Reload {
                node: Box::new(edited.clone()),
                service: service.to_string(),
            })
            .with_context(|| format!("reloading the {service} server on {name}"))?;
            applied.changed.push(said);
        }
        // Only what was applied: the rest stays as it runs.
        running.nodes[index] = edited;
    }
    for (index, node) in record.plan.nodes.iter().enumerate() {
        let Some(new) = wanted.node(&node.name) else {
            continue;
        };
        let (Some(old_mail), Some(new_mail)) = (&node.mail, &new.mail) else {
            continue;
        };
        if old_mail == new_mail {
            continue;
        }
        call(&Request::MailUsers {
            node: node.name.clone(),
            mail: new_mail.clone(),
        })
        .with_context(|| format!("mail users of {}", node.name))?;
        applied
            .changed
            .extend(mail_changes(&node.name, old_mail, new_mail));
        running.nodes[index].mail = Some(new_mail.clone());
    }
    if !applied.changed.is_empty() {
        // Checks and `status` read the users from the record.
        dir.write_record(&LabRecord {
            file: path.display().to_string(),
            started: record.started,
            plan: running,
        })?;
    }
    Ok(applied)
}

/// "mail: user carol added on mail", one line per user (and domain) changed.
fn mail_changes(node: &str, old: &MailPlan, new: &MailPlan) -> Vec<String> {
    let mut lines = Vec::new();
    for user in &new.users {
        match old.users.iter().find(|u| u.name == user.name) {
            None => lines.push(format!("{node}: mail user {} added", user.name)),
            Some(was) if was.password != user.password => lines.push(format!(
                "{node}: password of mail user {} changed",
                user.name
            )),
            Some(_) => {}
        }
    }
    for user in &old.users {
        if !new.users.iter().any(|u| u.name == user.name) {
            lines.push(format!(
                "{node}: mail user {} removed (the mailbox is kept on disk)",
                user.name
            ));
        }
    }
    if old.domains != new.domains {
        lines.push(format!(
            "{node}: mail domains now {}",
            new.domains.join(", ")
        ));
    }
    lines
}

/// Every difference between the running plan and the edited one that
/// `apply` does not carry over live.
fn compare(old: &Plan, new: &Plan, out: &mut Vec<String>) {
    for node in &new.nodes {
        if old.node(&node.name).is_none() {
            out.push(format!("new node {}", node.name));
        }
    }
    for node in &old.nodes {
        let Some(edited) = new.node(&node.name) else {
            out.push(format!("node {} removed", node.name));
            continue;
        };
        if node.kind != edited.kind {
            out.push(format!("{}: kind changed", node.name));
        }
    }
    let cables = |plan: &Plan| -> Vec<String> {
        let mut names: Vec<String> = plan
            .links
            .iter()
            .map(|l| crate::ops::link::cable_name(plan, l))
            .collect();
        names.sort();
        names
    };
    if cables(old) != cables(new) {
        out.push("links changed".to_string());
    }
    let impairments = |plan: &Plan| serde_json::to_value(&plan.impairments).unwrap_or(Value::Null);
    if impairments(old) != impairments(new) {
        out.push(
            "impairments changed (`labctl link LAB A B --delay …` changes them live)".to_string(),
        );
    }
}

/// The top-level fields of a node's plan that differ, mail users aside.
fn differing_fields(old: &PlanNode, new: &PlanNode) -> Vec<String> {
    let strip = |node: &PlanNode| {
        let mut node = node.clone();
        node.mail = None;
        serde_json::to_value(&node).unwrap_or(Value::Null)
    };
    let (Value::Object(a), Value::Object(b)) = (strip(old), strip(new)) else {
        return vec!["its settings".to_string()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .filter(|k| k.as_str() != "kind")
        .cloned()
        .collect()
}
