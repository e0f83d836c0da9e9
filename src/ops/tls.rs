//! The lab's TLS at `up`: when any service says `tls: optional|required`,
//! a new CA for this lab, a certificate for each such server (its names in
//! the lab's zones, its node name, its mail host name and its addresses),
//! all kept in the lab's root-only state dir, and the CA added to every
//! node's trust store (`/etc/netns/LAB.NODE/ssl/certs/ca-certificates.crt`,
//! the host's bundle plus the lab CA), so the programs inside trust the
//! lab's servers as they trust any CA. `labctl ca LAB` prints the CA.

use std::collections::BTreeSet;
use std::net::IpAddr;

use anyhow::{Result, bail};

use crate::lab::plan::{Plan, PlanNode};
use crate::lab::zones::RecordValue;
use crate::net::etc;
use crate::services::tls::authority::{LabCa, Subject};
use crate::state::{LabDir, TlsFiles};

/// Whether the node runs a service that offers TLS.
pub fn offers_tls(node: &PlanNode) -> bool {
    let mail = node.mail.as_ref().is_some_and(|m| !m.tls.is_off());
    mail || node.agents.https()
}

/// Makes the CA and certificates and installs the CA in every node; does
/// nothing when no service of the lab offers TLS.
pub fn prepare(plan: &Plan, dir: &LabDir) -> Result<()> {
    let servers: Vec<(&PlanNode, Subject)> = plan
        .nodes
        .iter()
        .filter(|node| offers_tls(node))
        .map(|node| (node, subject(plan, node)))
        .collect();
    if servers.is_empty() {
        return Ok(());
    }
    let subjects: Vec<Subject> = servers.iter().map(|(_, s)| s.clone()).collect();
    let ca = LabCa::generate(&plan.lab, &subjects)?;
    let files = TlsFiles::of(&dir.dir);
    files.create()?;
    files.write(&files.ca_key(), &ca.key_pem)?;
    files.write(&files.ca_cert(), &ca.cert_pem)?;
    for (node, subject) in &servers {
        let issued = ca.issue(subject)?;
        files.write(&files.chain(&node.name), &issued.chain_pem)?;
        files.write(&files.key(&node.name), &issued.key_pem)?;
    }
    etc::install_ca(
        plan.nodes.iter().map(|n| n.namespace.as_str()),
        &plan.lab,
        &ca.cert_pem,
    )
}

/// The CA of a running lab, PEM.
pub fn ca_pem(lab: &str) -> Result<String> {
    let dir = LabDir::of(lab)?;
    dir.read_record()?;
    match TlsFiles::of(&dir.dir).read_ca()? {
        Some(pem) => Ok(pem),
        None => bail!(
            "lab `{lab}` has no certificate authority: no service in it says `tls: optional` or `tls: required`"
        ),
    }
}

/// What a server's certificate names: the names of the lab's zones whose
/// A records point at one of its addresses (and CNAMEs to them), its
/// node name, its mail host name, and its addresses.
pub fn subject(plan: &Plan, node: &PlanNode) -> Subject {
    let addresses: Vec<IpAddr> = node
        .interfaces
        .iter()
        .filter_map(|i| i.address.map(|net| IpAddr::V4(net.addr())))
        .collect();
    let mut names = Vec::new();
    let mut add = |name: String| {
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    };
    let records: Vec<_> = plan
        .nodes
        .iter()
        .filter_map(|n| n.dns_server.as_ref())
        .flat_map(|server| server.zones.iter())
        .filter(|zone| !zone.reverse)
        .flat_map(|zone| zone.records.iter())
        .collect();
    let mut found: BTreeSet<String> = records
        .iter()
        .filter(|r| matches!(r.data, RecordValue::A(a) if addresses.contains(&IpAddr::V4(a))))
        .map(|r| r.name.to_ascii_lowercase())
        .collect();
    // Names that are aliases of those (`www CNAME server0`), a few levels.
    for _ in 0..4 {
        let aliases: Vec<String> = records
            .iter()
            .filter(|r| matches!(&r.data, RecordValue::Cname(target) if found.contains(&target.to_ascii_lowercase())))
            .map(|r| r.name.to_ascii_lowercase())
            .collect();
        found.extend(aliases);
    }
    if let Some(mail) = &node.mail {
        for domain in &mail.domains {
            add(format!("{}.{domain}", node.name.to_ascii_lowercase()));
        }
    }
    for name in found {
        // Wildcards and names no client can ask for stay out.
        let name = name.trim_end_matches('.').to_string();
        if rustls::pki_types::DnsName::try_from(name.as_str()).is_ok() && !name.contains('*') {
            add(name);
        }
    }
    add(node.name.to_ascii_lowercase());
    Subject { names, addresses }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_named_by_the_zones_its_node_and_its_mail_domain() {
        let lab = "name: t\nnodes:\n  dns0:\n    kind: server\n    interfaces: {eth0: 192.168.1.2/24}\n    services:\n      dns:\n        zones:\n          mt.com:\n            '@': {MX: 10 mail.mt.com.}\n            mail: {A: 192.168.1.10}\n            www: {CNAME: mail}\n            other: {A: 192.168.1.99}\n  mail0:\n    kind: server\n    interfaces: {eth0: 192.168.1.10/24}\n    dns: [192.168.1.2]\n    services:\n      mail: {domains: [mt.com], users: {ada: secret}, tls: required}\n  sw:\n    kind: switch\nlinks:\n  - [dns0, sw]\n  - [mail0, sw]\n";
        let checked = crate::lab::load::check_text("lab.yaml", lab.to_string());
        let plan = checked.plan.expect("a valid lab");
        let mail = plan.nodes.iter().find(|n| n.name == "mail0").unwrap();
        assert!(offers_tls(mail));
        let subject = subject(&plan, mail);
        assert_eq!(
            subject.names,
            ["mail0.mt.com", "mail.mt.com", "www.mt.com", "mail0"]
        );
        assert_eq!(subject.addresses, [IpAddr::from([192, 168, 1, 10])]);
        let dns = plan.nodes.iter().find(|n| n.name == "dns0").unwrap();
        assert!(!offers_tls(dns));
    }
}
