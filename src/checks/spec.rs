//! Runnable checks: the lab file's checks with every name resolved against
//! the lab's plan, every value parsed, and a readable title.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

use crate::lab::addr::Ipv4Net;
use crate::lab::model_agents::MailAccount;

#[derive(Clone, Debug)]
pub struct CheckSpec {
    /// What the report calls it: the check's `name`, or a sentence.
    pub title: String,
    pub points: u32,
    pub probe: Probe,
}

/// Where a probe goes: a lab node (its address, static or leased), an
/// address, or a DNS name (looked up through the source node's resolver).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Target {
    Node(String),
    Ip(Ipv4Addr),
    Name(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Node(name) | Target::Name(name) => f.write_str(name),
            Target::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// `http://HOST[:PORT]/PATH`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    pub host: Target,
    /// As written, for the Host header.
    pub host_text: String,
    pub port: u16,
    pub path: String,
}

#[derive(Clone, Debug)]
pub enum Probe {
    Ping {
        from: String,
        to: Target,
        reachable: bool,
    },
    Tcp {
        from: String,
        to: Target,
        port: u16,
        open: bool,
    },
    Dhcp {
        node: String,
        interface: String,
        subnet: Option<Ipv4Net>,
        server: Option<Target>,
    },
    Dns {
        from: String,
        name: String,
        record_type: String,
        expect: Vec<String>,
    },
    Http {
        from: String,
        url: HttpUrl,
        status: u16,
        contains: Option<String>,
    },
    Mail(Box<MailProbe>),
    MailRefused {
        from: String,
        server: Target,
        to: String,
        sender: String,
    },
    Exec {
        node: String,
        command: Vec<String>,
        exit: i32,
        output: Option<String>,
        timeout: Duration,
    },
}

#[derive(Clone, Debug)]
pub struct MailProbe {
    pub from: String,
    pub account: MailAccount,
    pub to: String,
    pub reader: String,
    pub reader_account: MailAccount,
    pub within: Duration,
    /// File name and content of the attachment, read when the checks load.
    pub attachment: Option<(String, Vec<u8>)>,
}

impl Probe {
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Ping { .. } => "ping",
            Probe::Tcp { .. } => "tcp",
            Probe::Dhcp { .. } => "dhcp",
            Probe::Dns { .. } => "dns",
            Probe::Http { .. } => "http",
            Probe::Mail(_) => "mail",
            Probe::MailRefused { .. } => "mail-refused",
            Probe::Exec { .. } => "exec",
        }
    }

    /// The sentence a report shows when the check has no `name`.
    pub fn describe(&self) -> String {
        match self {
            Probe::Ping {
                from,
                to,
                reachable: true,
            } => format!("{from} can ping {to}"),
            Probe::Ping {
                from,
                to,
                reachable: false,
            } => format!("{from} cannot reach {to}"),
            Probe::Tcp {
                from,
                to,
                port,
                open: true,
            } => {
                format!("{from} can connect to {to} port {port}")
            }
            Probe::Tcp {
                from,
                to,
                port,
                open: false,
            } => {
                format!("{from} cannot connect to {to} port {port}")
            }
            Probe::Dhcp {
                node,
                interface,
                subnet,
                server,
            } => {
                let mut s = format!("{node}/{interface} gets a DHCP lease");
                if let Some(subnet) = subnet {
                    s.push_str(&format!(" in {subnet}"));
                }
                if let Some(server) = server {
                    s.push_str(&format!(" from {server}"));
                }
                s
            }
            Probe::Dns {
                from,
                name,
                record_type,
                expect,
            } if expect.is_empty() => {
                format!("{from} resolves {name} ({record_type})")
            }
            Probe::Dns {
                from,
                name,
                record_type,
                expect,
            } => {
                format!(
                    "{from} resolves {name} ({record_type}) to {}",
                    expect.join(", ")
                )
            }
            Probe::Http {
                from, url, status, ..
            } => format!(
                "{from} fetches http://{}{}{} (status {status})",
                url.host_text,
                if url.port == 80 {
                    String::new()
                } else {
                    format!(":{}", url.port)
                },
                url.path
            ),
            Probe::Mail(mail) => format!(
                "{} ({}) mails {} and {} receives it{}",
                mail.from,
                mail.account.address,
                mail.to,
                mail.reader,
                if mail.attachment.is_some() {
                    " with its attachment"
                } else {
                    ""
                }
            ),
            Probe::MailRefused {
                from, server, to, ..
            } => {
                format!("{server} refuses to relay mail for {to} from {from} without login")
            }
            Probe::Exec { node, command, .. } => {
                format!("{node}: `{}` succeeds", command.join(" "))
            }
        }
    }

    /// The node whose namespace the probe starts in.
    pub fn source(&self) -> &str {
        match self {
            Probe::Ping { from, .. }
            | Probe::Tcp { from, .. }
            | Probe::Dns { from, .. }
            | Probe::Http { from, .. }
            | Probe::MailRefused { from, .. } => from,
            Probe::Dhcp { node, .. } | Probe::Exec { node, .. } => node,
            Probe::Mail(mail) => &mail.from,
        }
    }
}

/// `10s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0)
        .then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("5y"), None);
    }
}
