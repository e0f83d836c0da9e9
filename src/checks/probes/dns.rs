//! `dns` checks: a name resolves, through the node's own resolver, to the
//! expected records.

use hickory_proto::rr::{RData, RecordType};

use crate::agent::resolver;
use crate::checks::context::{LabContext, dns_diagnosis};
use crate::checks::outcome::{Diagnosis, Outcome, Step};

pub fn lookup(
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
        .map_err(|e| dns_diagnosis(from, name, record_type, &e))?;
    reply
        .require(name, rtype)
        .map_err(|e| dns_diagnosis(from, name, record_type, &e))?;
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
