//! What a receiving server recorded about a message's sender: the results
//! of its topmost `Authentication-Results:` header (RFC 8601: the one the
//! last server added) and the client address of its `Received-SPF:`
//! header; and the root cause when a result is not the one a check wants,
//! naming the DNS record to fix.

use std::net::Ipv4Addr;

use mail_parser::MessageParser;

use crate::checks::context::LabContext;
use crate::checks::outcome::Diagnosis;
use crate::lab::model_checks::AuthResult;
use crate::services::dns::client::lookup;

/// The methods a check can ask about.
pub const METHODS: [&str; 3] = ["spf", "dkim", "dmarc"];

/// One server's record of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// The authserv-id (the server's name).
    pub server: String,
    /// `method=result` pairs with the rest of each clause.
    pub results: Vec<(String, String, String)>,
    /// The client address SPF was checked for.
    pub client_ip: Option<Ipv4Addr>,
}

impl Recorded {
    /// The result of `method`; "none" when the header does not name it.
    pub fn result(&self, method: &str) -> &str {
        self.clause(method).map_or("none", |(_, r, _)| r.as_str())
    }

    /// The whole clause of `method`, if any.
    pub fn clause(&self, method: &str) -> Option<&(String, String, String)> {
        self.results.iter().find(|(m, _, _)| m == method)
    }

    /// A property of `method`'s clause (`smtp.mailfrom`, `header.d`, …).
    pub fn property(&self, method: &str, name: &str) -> Option<String> {
        let (_, _, rest) = self.clause(method)?;
        let start = rest.find(&format!("{name}="))? + name.len() + 1;
        let value = rest[start..].split_whitespace().next()?;
        Some(value.trim_matches(['"', ';']).to_string())
    }
}

/// The topmost `Authentication-Results:` header of `message`, None when it
/// has none.
pub fn recorded(message: &[u8]) -> Option<Recorded> {
    let parsed = MessageParser::new().parse_headers(message)?;
    let header = |name: &str| {
        parsed
            .headers()
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
            .map(|h| {
                let raw = &message[h.offset_start() as usize..h.offset_end() as usize];
                String::from_utf8_lossy(raw).replace(['\r', '\n', '\t'], " ")
            })
    };
    let text = header("Authentication-Results")?;
    let mut clauses = text.split(';');
    let server = clauses.next().unwrap_or("").trim().to_string();
    let results = clauses
        .filter_map(|clause| {
            let clause = clause.trim();
            let (method, rest) = clause.split_once('=')?;
            let result: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            Some((
                method.trim().to_ascii_lowercase(),
                result.to_ascii_lowercase(),
                clause.to_string(),
            ))
        })
        .collect();
    let client_ip = header("Received-SPF").and_then(|spf| {
        let start = spf.find("client-ip=")? + "client-ip=".len();
        spf[start..]
            .split(|c: char| c == ';' || c.is_whitespace())
            .next()?
            .parse()
            .ok()
    });
    Some(Recorded {
        server,
        results,
        client_ip,
    })
}

/// Why `method` is `found` and not `wanted` for mail from `sender`,
/// looked at through `server_node`'s DNS servers: the record to add or fix.
pub fn explain(
    ctx: &LabContext,
    server_node: Option<&str>,
    recorded: &Recorded,
    method: &str,
    wanted: AuthResult,
    sender: &str,
) -> Diagnosis {
    let found = recorded.result(method);
    let at = &recorded.server;
    let sender_domain = sender
        .rsplit_once('@')
        .map_or(sender, |(_, d)| d)
        .to_string();
    let said = recorded
        .clause(method)
        .map(|(_, _, c)| format!(" (\"{c}\")"))
        .unwrap_or_default();
    let headline = format!(
        "{at} recorded {method}={found}, not {}{said}",
        wanted.as_str()
    );
    let txt = |name: String| match server_node {
        Some(node) => txt_records(ctx, node, &name),
        None => Vec::new(),
    };
    match (method, found) {
        ("spf", _) => {
            let domain = recorded
                .property("spf", "smtp.mailfrom")
                .and_then(|m| m.rsplit_once('@').map(|(_, d)| d.to_string()))
                .unwrap_or(sender_domain);
            let ip = recorded
                .client_ip
                .map_or("the sending server's address".to_string(), |ip| {
                    ip.to_string()
                });
            let spf = txt(domain.clone())
                .into_iter()
                .find(|t| t.to_ascii_lowercase().starts_with("v=spf1"));
            match spf {
                None => Diagnosis::new(
                    "spf",
                    format!("{headline}: {domain} publishes no SPF record"),
                    format!("add a TXT record \"v=spf1 ip4:{ip} -all\" to {domain}"),
                ),
                Some(record) => Diagnosis::new(
                    "spf",
                    format!(
                        "{headline}: SPF for {domain} does not list {ip}: add ip4:{ip} to the TXT record (now \"{record}\")"
                    ),
                    format!(
                        "list every server that sends mail for {domain}, e.g. \"v=spf1 ip4:{ip} -all\""
                    ),
                ),
            }
        }
        ("dkim", "none") => Diagnosis::new(
            "dkim",
            format!("{headline}: the message arrived without a DKIM signature"),
            format!(
                "give the mail service that sends for {sender_domain} `dkim: {{selector: s1, publish: true}}`"
            ),
        ),
        ("dkim", _) => {
            let domain = recorded
                .property("dkim", "header.d")
                .unwrap_or(sender_domain);
            let selector = recorded.property("dkim", "header.s").unwrap_or("s1".into());
            let name = format!("{selector}._domainkey.{domain}");
            let hint = if txt(name.clone()).is_empty() {
                format!(
                    "publish the key `labctl status` shows as TXT {name}, or set `publish: true` in the sender's `dkim:`"
                )
            } else {
                format!(
                    "the TXT record at {name} must hold the key the sender signs with (`labctl status` shows it)"
                )
            };
            Diagnosis::new("dkim", headline, hint)
        }
        ("dmarc", "none") => Diagnosis::new(
            "dmarc",
            format!("{headline}: {sender_domain} publishes no DMARC record"),
            format!("add TXT \"v=DMARC1; p=reject\" at _dmarc.{sender_domain}"),
        ),
        _ => Diagnosis::new(
            "dmarc",
            format!(
                "{headline}: neither SPF nor DKIM passed for {sender_domain} (spf={}, dkim={})",
                recorded.result("spf"),
                recorded.result("dkim")
            ),
            format!(
                "sign {sender_domain}'s mail with DKIM, or list its server in the SPF record of {sender_domain}"
            ),
        ),
    }
}

/// The TXT strings at `name`, asked of `node`'s DNS servers (empty when
/// there are none or the lookup fails).
fn txt_records(ctx: &LabContext, node: &str, name: &str) -> Vec<String> {
    let servers: Vec<std::net::IpAddr> = ctx
        .node(node)
        .dns
        .iter()
        .map(|ip| std::net::IpAddr::V4(*ip))
        .collect();
    let name = name.to_string();
    let answer = ctx.in_node(node, move || async move {
        lookup(&servers, &name, hickory_proto::rr::RecordType::TXT).await
    });
    match answer {
        Ok(Ok(response)) => response
            .data_of(hickory_proto::rr::RecordType::TXT)
            .filter_map(|data| match data {
                hickory_proto::rr::RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELIVERED: &[u8] = b"Received: from mx-uts.uts.edu.au ([192.168.1.2])\r\n\
        \tby mx-mail.mail.com (labctl) with ESMTP id 1;\r\n\tTue, 01 Dec 2026 23:48:00 +0000\r\n\
        Authentication-Results: mx-mail.mail.com;\r\n\
        \tdkim=pass header.d=uts.edu.au header.s=s1 header.b=r7X5F8xH;\r\n\
        \tspf=fail (mx-mail.mail.com: domain of dean@uts.edu.au does not designate 192.168.1.2 as permitted sender) smtp.mailfrom=dean@uts.edu.au;\r\n\
        \tdmarc=pass header.from=uts.edu.au policy.dmarc=reject\r\n\
        Received-SPF: fail (mx-mail.mail.com: ...)\r\n\
        \treceiver=mx-mail.mail.com; client-ip=192.168.1.2; envelope-from=\"dean@uts.edu.au\"; helo=mx-uts;\r\n\
        Authentication-Results: mx-uts.uts.edu.au; spf=none\r\n\
        From: dean@uts.edu.au\r\n\r\nbody\r\n";

    #[test]
    fn the_topmost_header_is_read_with_its_client_address() {
        let r = recorded(DELIVERED).unwrap();
        assert_eq!(r.server, "mx-mail.mail.com");
        assert_eq!(r.result("dkim"), "pass");
        assert_eq!(r.result("spf"), "fail");
        assert_eq!(r.result("dmarc"), "pass");
        assert_eq!(r.result("arc"), "none");
        assert_eq!(r.property("dkim", "header.s").as_deref(), Some("s1"));
        assert_eq!(
            r.property("spf", "smtp.mailfrom").as_deref(),
            Some("dean@uts.edu.au")
        );
        assert_eq!(r.client_ip, Some(Ipv4Addr::new(192, 168, 1, 2)));
    }

    #[test]
    fn no_header_is_none() {
        assert_eq!(recorded(b"From: a@b.c\r\n\r\nx\r\n"), None);
    }
}
