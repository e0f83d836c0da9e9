//! `dns` checks: a name resolves, through the node's own resolver, to the
//! expected records.

use hickory_proto::rr::{RData, RecordType};

use crate::agent::resolver;
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::zones::a_records;
use crate::checks::resolver::Resolver;
use crate::lab::addr::parse_ipv4;
use crate::lab::model_checks::{DnsCheck, OneOrMany};
use crate::lab::validate::valid_query_name;

/// Record types a `dns` check can ask for.
pub const RECORD_TYPES: [&str; 8] = ["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT"];

#[derive(Clone, Debug)]
pub struct Dns {
    pub from: String,
    /// Without the final dot.
    pub name: String,
    /// In capitals, one of `RECORD_TYPES`.
    pub record_type: String,
    /// Answers that must be among the records (addresses for A); empty: any answer.
    pub expect: Vec<String>,
}

pub fn resolve(r: &mut Resolver, c: &DnsCheck) -> Option<Dns> {
    let from = r.source("from", &c.from)?;
    let name = c.name.trim_end_matches('.').to_string();
    if !valid_query_name(&name) {
        r.error(
            "name",
            format!("`{}` is not a DNS name", c.name),
            "labels of letters, digits, `-` and `_` joined by dots, e.g. mail.cbrc.com or _dmarc.cbrc.com",
        );
        return None;
    }
    let record_type = c.record_type.as_deref().unwrap_or("A").to_ascii_uppercase();
    if !RECORD_TYPES.contains(&record_type.as_str()) {
        r.error(
            "type",
            format!("`{record_type}` is not a record type labctl can check"),
            format!("use one of {}", RECORD_TYPES.join(", ")),
        );
        return None;
    }
    let expect = expected_answers(r, &record_type, c.expect.as_ref())?;
    Some(Dns {
        from,
        name,
        record_type,
        expect,
    })
}

/// The answers to expect; for an A record, a node stands for its address.
fn expected_answers(
    r: &mut Resolver,
    record_type: &str,
    expect: Option<&OneOrMany>,
) -> Option<Vec<String>> {
    let Some(expect) = expect else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    for value in expect.to_vec() {
        if record_type != "A" {
            out.push(value);
            continue;
        }
        if let Ok(ip) = parse_ipv4(&value) {
            out.push(ip.to_string());
        } else if let Some(node) = r.find_node(&value) {
            match node.static_addresses().next() {
                Some(ip) => out.push(ip.to_string()),
                None => {
                    r.missing(
                        "expect",
                        format!("{} has no fixed address to expect", node.name),
                        "write the address the record must give",
                    );
                    return None;
                }
            }
        } else {
            r.missing(
                "expect",
                format!("`{value}` is not an address nor a node"),
                "an A record answers an address, e.g. 192.168.1.2",
            );
            return None;
        }
    }
    Some(out)
}

impl Dns {
    pub fn describe(&self) -> String {
        let Dns {
            from,
            name,
            record_type,
            expect,
        } = self;
        if expect.is_empty() {
            format!("{from} resolves {name} ({record_type})")
        } else {
            format!(
                "{from} resolves {name} ({record_type}) to {}",
                expect.join(", ")
            )
        }
    }

    pub fn run(&self, ctx: &LabContext) -> Step<Outcome> {
        probe(ctx, &self.from, &self.name, &self.record_type, &self.expect)
    }
}

fn probe(
    ctx: &LabContext,
    from: &str,
    name: &str,
    record_type: &str,
    expect: &[String],
) -> Step<Outcome> {
    ctx.address_of(from)?;
    let servers = ctx.name_servers(from);
    if servers.is_empty() {
        return Err(Diagnosis::new(
            "dns",
            format!("{from} could not resolve {name}: it has no DNS server"),
            format!("give {from} `dns: [SERVER]`, or a DHCP pool with `dns:`"),
        ));
    }
    let rtype: RecordType = record_type
        .parse()
        .map_err(|_| Diagnosis::new("dns", format!("unknown record type {record_type}"), ""))?;
    let owned = name.to_string();
    let reply = ctx
        .in_node(from, move || async move {
            resolver::lookup(&servers, &owned, rtype).await
        })?
        .map_err(|e| ctx.dns_failure(from, name, record_type, &e))?;
    reply
        .require(name, rtype)
        .map_err(|e| ctx.dns_failure(from, name, record_type, &e))?;
    let answers: Vec<String> = reply.data_of(rtype).map(render).collect();
    let server = reply.server.ip();
    let missing: Vec<&String> = expect
        .iter()
        .filter(|wanted| !answers.iter().any(|a| same_answer(a, wanted)))
        .collect();
    if missing.is_empty() {
        Ok(Outcome::pass(format!(
            "{server} answered {name} {record_type}: {}",
            answers.join(", ")
        )))
    } else if record_type == "A" {
        Err(wrong_address(ctx, from, name, server, &answers, &missing))
    } else {
        Err(Diagnosis::new(
            "dns",
            format!(
                "{from} resolved {name} ({record_type}) through {server} to {}, not {}",
                answers.join(", "),
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("check the {record_type} record of {name} in the zone"),
        ))
    }
}

/// An A record that points somewhere else: each address named with the node
/// that has it, and the record named with its zone and server.
fn wrong_address(
    ctx: &LabContext,
    from: &str,
    name: &str,
    server: std::net::IpAddr,
    answers: &[String],
    missing: &[&String],
) -> Diagnosis {
    let owned = |text: &str| match text.parse().ok().and_then(|ip| ctx.owner_of(ip)) {
        Some(node) => format!("{text} ({})", node.name),
        None => format!("{text} (no node of the lab has it)"),
    };
    let got: Vec<String> = answers.iter().map(|a| owned(a)).collect();
    let wanted: Vec<String> = missing.iter().map(|a| owned(a)).collect();
    let records: Vec<String> = ctx
        .network()
        .map(|net| {
            a_records(&net, name)
                .into_iter()
                .filter(|(_, _, ip)| answers.contains(&ip.to_string()))
                .map(|(n, zone, ip)| {
                    format!("{name} A {ip} in zone {zone} on {}", net.node(n).name)
                })
                .collect()
        })
        .unwrap_or_default();
    let hint = if records.is_empty() {
        format!("check the A record of {name} in the zone")
    } else {
        format!(
            "the record {} points to {}: it should give {}",
            records.join(", and "),
            got.join(", "),
            wanted.join(", ")
        )
    };
    Diagnosis::new(
        "dns",
        format!(
            "{from} resolved {name} through {server} to {}, not {}",
            got.join(", "),
            wanted.join(", ")
        ),
        hint,
    )
    .with_cause(format!("a-record {name}"))
}

/// A record's data as a lab file writes it (`10 mail.cbrc.com.` for MX).
fn render(data: &RData) -> String {
    match data {
        RData::MX(mx) => format!("{} {}", mx.preference, mx.exchange),
        RData::TXT(txt) => txt.to_string().trim_matches('"').to_string(),
        other => other.to_string(),
    }
}

/// Names compare without case and without the final dot.
fn same_answer(answer: &str, wanted: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('.').to_ascii_lowercase();
    norm(answer) == norm(wanted)
}

#[cfg(test)]
mod tests {
    #[test]
    fn answers_compare_like_dns_names() {
        assert!(super::same_answer("10 mail.cbrc.com.", "10 MAIL.cbrc.com"));
        assert!(!super::same_answer("10 mail.cbrc.com.", "20 mail.cbrc.com"));
    }
}
