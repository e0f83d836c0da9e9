//! Check validation: every check of a lab file or checks file is resolved
//! against the lab's plan (nodes exist and can send, mail PCs have
//! accounts, values parse), and every problem is reported at its
//! file:line:col with a hint, all in one run.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use super::spec::{CheckSpec, HttpUrl, MailProbe, Probe, Target, parse_duration};
use crate::lab::addr::{Ipv4Net, parse_ipv4};
use crate::lab::diagnostic::{Diagnostic, did_you_mean};
use crate::lab::model::NodeKind;
use crate::lab::model_agents::MailAccount;
use crate::lab::model_checks::{CHECK_KINDS, Check, Expect, OneOrMany};
use crate::lab::plan::{Plan, PlanNode};
use crate::lab::raw::{RawNode, RawValue, Step};
use crate::lab::validate::{valid_address, valid_domain};

/// Record types a `dns` check can ask for.
pub const RECORD_TYPES: [&str; 8] = ["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT"];
/// Delivery time a `mail` check allows by default.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(10);
/// Run time an `exec` check allows by default.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest attachment a check may send.
pub const MAX_ATTACHMENT: u64 = 10 * 1024 * 1024;
/// Points one check may be worth at most.
pub const MAX_POINTS: u32 = 1000;

/// Resolves `checks` (found under the top-level `checks` key of `raw`)
/// against `plan`. `base_dir` is the directory of the file they are in
/// (attachments are relative to it).
pub fn resolve_checks(
    checks: &[Check],
    raw: &RawNode,
    plan: &Plan,
    base_dir: &Path,
) -> (Vec<CheckSpec>, Vec<Diagnostic>) {
    let mut resolver = Resolver {
        raw,
        plan,
        base_dir,
        found: Vec::new(),
    };
    let specs = checks
        .iter()
        .enumerate()
        .filter_map(|(i, check)| resolver.check(i, check))
        .collect();
    (specs, resolver.found)
}

struct Resolver<'a> {
    raw: &'a RawNode,
    plan: &'a Plan,
    base_dir: &'a Path,
    found: Vec<Diagnostic>,
}

/// Where a field of one check is: `checks[i].KIND.FIELD`.
#[derive(Clone)]
struct At {
    index: usize,
    kind: &'static str,
}

impl At {
    fn path(&self, field: Option<&str>) -> Vec<Step> {
        let mut p = vec![
            Step::from("checks"),
            Step::from(self.index),
            Step::from(self.kind),
        ];
        if let Some(f) = field {
            p.push(Step::from(f));
        }
        p
    }
}

impl<'a> Resolver<'a> {
    fn error(&mut self, at: &[Step], message: impl Into<String>, hint: impl Into<String>) {
        let pos = self.raw.pos(at);
        self.found
            .push(Diagnostic::error(message, Some(pos)).hint(hint));
    }

    fn check(&mut self, index: usize, check: &Check) -> Option<CheckSpec> {
        let kinds: Vec<&'static str> = [
            ("ping", check.ping.is_some()),
            ("tcp", check.tcp.is_some()),
            ("dhcp", check.dhcp.is_some()),
            ("dns", check.dns.is_some()),
            ("http", check.http.is_some()),
            ("mail", check.mail.is_some()),
            ("mail-refused", check.mail_refused.is_some()),
            ("exec", check.exec.is_some()),
        ]
        .into_iter()
        .filter_map(|(kind, present)| present.then_some(kind))
        .collect();
        let item = [Step::from("checks"), Step::from(index)];
        let kind = match kinds.as_slice() {
            [one] => *one,
            [] if self.has_other_keys(&item) => return None,
            [] => {
                self.error(
                    &item,
                    format!(
                        "check {} says what to check with none of its keys",
                        index + 1
                    ),
                    format!("give it one of: {}", CHECK_KINDS.join(", ")),
                );
                return None;
            }
            [_, second, ..] => {
                let pos = self
                    .raw
                    .key_pos(&item, second)
                    .unwrap_or_else(|| self.raw.pos(&item));
                self.found.push(
                    Diagnostic::error(
                        format!("check {} has both `{}` and `{second}`", index + 1, kinds[0]),
                        Some(pos),
                    )
                    .hint("one check checks one thing: split it into two list items"),
                );
                return None;
            }
        };
        if check.points.is_some_and(|p| p > MAX_POINTS) {
            self.error(
                &[item[0].clone(), item[1].clone(), Step::from("points")],
                format!("a check is worth at most {MAX_POINTS} points"),
                "use smaller numbers; the report shows a percentage anyway",
            );
        }
        let at = At { index, kind };
        let probe = match kind {
            "ping" => {
                let c = check.ping.as_ref()?;
                Probe::Ping {
                    from: self.source(&at, "from", &c.from)?,
                    to: self.target(&at, "to", &c.to)?,
                    reachable: c.expect.unwrap_or_default() == Expect::Ok,
                }
            }
            "tcp" => {
                let c = check.tcp.as_ref()?;
                if c.port == 0 {
                    self.error(
                        &at.path(Some("port")),
                        "port 0 is not a port",
                        "e.g. 25, 80, 110",
                    );
                }
                Probe::Tcp {
                    from: self.source(&at, "from", &c.from)?,
                    to: self.target(&at, "to", &c.to)?,
                    port: c.port,
                    open: c.expect.unwrap_or_default() == Expect::Ok,
                }
            }
            "dhcp" => {
                let c = check.dhcp.as_ref()?;
                let node = self.node(&at, "node", &c.node)?;
                let interface = self.dhcp_interface(&at, node, c.interface.as_deref())?;
                let subnet = match &c.subnet {
                    None => None,
                    Some(text) => match text.parse::<Ipv4Net>() {
                        Ok(net) => Some(net.network()),
                        Err(e) => {
                            self.error(&at.path(Some("subnet")), e.message, e.hint);
                            return None;
                        }
                    },
                };
                let server = match &c.server {
                    None => None,
                    Some(text) => match self.target(&at, "server", text)? {
                        Target::Name(_) => {
                            self.error(
                                &at.path(Some("server")),
                                format!("`{text}` is not a node of this lab nor an address"),
                                "name the DHCP server node (e.g. server0) or its address",
                            );
                            return None;
                        }
                        target => Some(target),
                    },
                };
                Probe::Dhcp {
                    node: node.name.clone(),
                    interface,
                    subnet,
                    server,
                }
            }
            "dns" => {
                let c = check.dns.as_ref()?;
                let from = self.source(&at, "from", &c.from)?;
                let name = c.name.trim_end_matches('.').to_string();
                if !valid_domain(&name) {
                    self.error(
                        &at.path(Some("name")),
                        format!("`{}` is not a DNS name", c.name),
                        "e.g. mail.cbrc.com",
                    );
                    return None;
                }
                let record_type = c.record_type.as_deref().unwrap_or("A").to_ascii_uppercase();
                if !RECORD_TYPES.contains(&record_type.as_str()) {
                    self.error(
                        &at.path(Some("type")),
                        format!("`{record_type}` is not a record type labctl can check"),
                        format!("use one of {}", RECORD_TYPES.join(", ")),
                    );
                    return None;
                }
                let expect = self.dns_expect(&at, &record_type, c.expect.as_ref())?;
                Probe::Dns {
                    from,
                    name,
                    record_type,
                    expect,
                }
            }
            "http" => {
                let c = check.http.as_ref()?;
                let from = self.source(&at, "from", &c.from)?;
                let url = match parse_url(&c.url) {
                    Ok(mut url) => {
                        if let Some(node) = self
                            .plan
                            .nodes
                            .iter()
                            .find(|n| n.name.eq_ignore_ascii_case(&url.host_text))
                        {
                            url.host = Target::Node(node.name.clone());
                        }
                        url
                    }
                    Err(why) => {
                        self.error(
                            &at.path(Some("url")),
                            format!("`{}` is not a web address labctl can fetch: {why}", c.url),
                            "write http://HOST/PATH, e.g. http://www.mastertech.com/",
                        );
                        return None;
                    }
                };
                let status = c.status.unwrap_or(200);
                if !(100..=599).contains(&status) {
                    self.error(
                        &at.path(Some("status")),
                        format!("{status} is not an HTTP status"),
                        "e.g. 200 or 404",
                    );
                }
                Probe::Http {
                    from,
                    url,
                    status,
                    contains: c.contains.clone(),
                }
            }
            "mail" => {
                let c = check.mail.as_ref()?;
                let from = self.source(&at, "from", &c.from)?;
                let account = self.account(&at, "from", &from, c.account.as_deref())?;
                if !valid_address(&c.to) {
                    self.error(
                        &at.path(Some("to")),
                        format!("`{}` is not an email address", c.to),
                        "e.g. bob@cbrc.com",
                    );
                    return None;
                }
                let reader = self.source(&at, "reader", &c.reader)?;
                let reader_account = match self
                    .plan
                    .node(&reader)
                    .and_then(|n| n.agents.account(Some(&c.to)))
                {
                    Some(account) => account.clone(),
                    None => self.account(&at, "reader", &reader, None)?,
                };
                let within = self.duration(&at, "within", c.within.as_deref(), DEFAULT_WITHIN)?;
                let attachment = match &c.attach {
                    None => None,
                    Some(file) => Some(self.attachment(&at, file)?),
                };
                Probe::Mail(Box::new(MailProbe {
                    from,
                    account,
                    to: c.to.clone(),
                    reader,
                    reader_account,
                    within,
                    attachment,
                }))
            }
            "mail-refused" => {
                let c = check.mail_refused.as_ref()?;
                let sender = c
                    .sender
                    .clone()
                    .unwrap_or_else(|| "nobody@example.net".to_string());
                for (field, address) in [("to", &c.to), ("sender", &sender)] {
                    if !valid_address(address) {
                        self.error(
                            &at.path(Some(field)),
                            format!("`{address}` is not an email address"),
                            "e.g. someone@elsewhere.org",
                        );
                        return None;
                    }
                }
                Probe::MailRefused {
                    from: self.source(&at, "from", &c.from)?,
                    server: self.target(&at, "server", &c.server)?,
                    to: c.to.clone(),
                    sender,
                }
            }
            _ => {
                let c = check.exec.as_ref()?;
                let node = self.node(&at, "node", &c.node)?.name.clone();
                let command = match &c.command {
                    OneOrMany::One(line) => vec!["sh".to_string(), "-c".to_string(), line.clone()],
                    OneOrMany::Many(words) => words.clone(),
                };
                if command.is_empty() || command[0].is_empty() {
                    self.error(
                        &at.path(Some("command")),
                        "the command is empty",
                        "e.g. [ip, route] or \"ip route | grep default\"",
                    );
                    return None;
                }
                let timeout =
                    self.duration(&at, "timeout", c.timeout.as_deref(), DEFAULT_EXEC_TIMEOUT)?;
                Probe::Exec {
                    node,
                    command,
                    exit: c.exit.unwrap_or(0),
                    output: c.output.clone(),
                    timeout,
                }
            }
        };
        let title = check.name.clone().unwrap_or_else(|| probe.describe());
        Some(CheckSpec {
            title,
            points: check.points.unwrap_or(1),
            probe,
        })
    }

    /// Whether the check's mapping has keys besides `name` and `points`
    /// (unknown ones, already reported by the shape check).
    fn has_other_keys(&self, item: &[Step]) -> bool {
        match self.raw.get(item).map(|n| &n.value) {
            Some(RawValue::Map(entries)) => entries.iter().any(|(key, _)| {
                !matches!(key.value.scalar_text().as_deref(), Some("name" | "points"))
            }),
            _ => false,
        }
    }

    /// A node of the lab, or an error with the closest name.
    fn node(&mut self, at: &At, field: &str, name: &str) -> Option<&'a PlanNode> {
        let plan = self.plan;
        if let Some(node) = plan
            .nodes
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(name))
        {
            return Some(node);
        }
        let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
        let hint = match did_you_mean(name, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("the nodes are {}", names.join(", ")),
        };
        self.error(
            &at.path(Some(field)),
            format!("lab {} has no node `{name}`", plan.lab),
            hint,
        );
        None
    }

    /// A node a probe can start from: not a switch.
    fn source(&mut self, at: &At, field: &str, name: &str) -> Option<String> {
        let node = self.node(at, field, name)?;
        if node.kind == NodeKind::Switch {
            let name = node.name.clone();
            self.error(
                &at.path(Some(field)),
                format!("{name} is a switch: it has no address to send from"),
                "start the check from a host, server or router",
            );
            return None;
        }
        Some(node.name.clone())
    }

    /// A node name, an address, or a DNS name.
    fn target(&mut self, at: &At, field: &str, text: &str) -> Option<Target> {
        if let Ok(ip) = parse_ipv4(text) {
            return Some(Target::Ip(ip));
        }
        if let Some(node) = self
            .plan
            .nodes
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(text))
        {
            if node.kind == NodeKind::Switch {
                self.error(
                    &at.path(Some(field)),
                    format!("{} is a switch: it has no address", node.name),
                    "name a host, server or router",
                );
                return None;
            }
            return Some(Target::Node(node.name.clone()));
        }
        let name = text.trim_end_matches('.');
        if name.contains('.') && valid_domain(name) {
            return Some(Target::Name(name.to_string()));
        }
        let names: Vec<&str> = self.plan.nodes.iter().map(|n| n.name.as_str()).collect();
        let hint = match did_you_mean(text, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => "write a node name, an address (192.168.1.2) or a DNS name (mail.cbrc.com)"
                .to_string(),
        };
        self.error(
            &at.path(Some(field)),
            format!("`{text}` is not a node, an address or a DNS name"),
            hint,
        );
        None
    }

    fn dhcp_interface(&mut self, at: &At, node: &PlanNode, wanted: Option<&str>) -> Option<String> {
        let dhcp: Vec<&str> = node
            .interfaces
            .iter()
            .filter(|i| i.dhcp)
            .map(|i| i.name.as_str())
            .collect();
        let name = node.name.clone();
        match wanted {
            Some(iface) if dhcp.contains(&iface) => Some(iface.to_string()),
            Some(iface) => {
                self.error(
                    &at.path(Some("interface")),
                    format!("{name}/{iface} is not a `dhcp` interface"),
                    if dhcp.is_empty() {
                        format!("{name} has none: set `eth0: dhcp` on it")
                    } else {
                        format!("its DHCP interfaces: {}", dhcp.join(", "))
                    },
                );
                None
            }
            None => match dhcp.first() {
                Some(first) => Some(first.to_string()),
                None => {
                    self.error(
                        &at.path(Some("node")),
                        format!("{name} has no `dhcp` interface, so it gets no lease"),
                        "set `eth0: dhcp` on the node, or check another node",
                    );
                    None
                }
            },
        }
    }

    fn dns_expect(
        &mut self,
        at: &At,
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
            } else if let Some(node) = self
                .plan
                .nodes
                .iter()
                .find(|n| n.name.eq_ignore_ascii_case(&value))
            {
                let addresses: Vec<Ipv4Addr> = node
                    .interfaces
                    .iter()
                    .filter_map(|i| i.address.map(|a| a.addr))
                    .collect();
                match addresses.first() {
                    Some(ip) => out.push(ip.to_string()),
                    None => {
                        let name = node.name.clone();
                        self.error(
                            &at.path(Some("expect")),
                            format!("{name} has no fixed address to expect"),
                            "write the address the record must give",
                        );
                        return None;
                    }
                }
            } else {
                self.error(
                    &at.path(Some("expect")),
                    format!("`{value}` is not an address nor a node"),
                    "an A record answers an address, e.g. 192.168.1.2",
                );
                return None;
            }
        }
        Some(out)
    }

    fn account(
        &mut self,
        at: &At,
        field: &str,
        node: &str,
        which: Option<&str>,
    ) -> Option<MailAccount> {
        let agents = &self.plan.node(node)?.agents;
        if let Some(account) = agents.account(which) {
            return Some(account.clone());
        }
        let (message, hint) = match which {
            Some(key) => (
                format!("{node} has no mail account `{key}`"),
                format!(
                    "its accounts: {}",
                    agents
                        .mail
                        .iter()
                        .map(|a| a.address.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            None => (
                format!("{node} has no mail settings"),
                format!(
                    "give {node} `mail: {{address: …, incoming: …, outgoing: …, user: …, password: …}}`"
                ),
            ),
        };
        self.error(&at.path(Some(field)), message, hint);
        None
    }

    fn duration(
        &mut self,
        at: &At,
        field: &str,
        text: Option<&str>,
        default: Duration,
    ) -> Option<Duration> {
        let Some(text) = text else {
            return Some(default);
        };
        match parse_duration(text) {
            Some(d) => Some(d),
            None => {
                self.error(
                    &at.path(Some(field)),
                    format!("`{text}` is not a duration"),
                    "write e.g. 10s, 500ms or 2m",
                );
                None
            }
        }
    }

    fn attachment(&mut self, at: &At, file: &str) -> Option<(String, Vec<u8>)> {
        let path = self.base_dir.join(file);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let read = std::fs::metadata(&path).and_then(|m| {
            if m.len() > MAX_ATTACHMENT {
                Err(std::io::Error::other(format!(
                    "it is {} bytes, more than {MAX_ATTACHMENT}",
                    m.len()
                )))
            } else {
                std::fs::read(&path)
            }
        });
        match read {
            Ok(bytes) if !name.is_empty() => Some((name, bytes)),
            Ok(_) => {
                self.error(
                    &at.path(Some("attach")),
                    format!("`{file}` is not a file"),
                    "name a file next to this file",
                );
                None
            }
            Err(e) => {
                self.error(
                    &at.path(Some("attach")),
                    format!("cannot read {}: {e}", path.display()),
                    "attachments are relative to the file the check is in",
                );
                None
            }
        }
    }
}

/// `name:` and `points:` written inside a check's kind mapping are reported
/// by the shape check as unknown keys there; say where they belong.
pub fn explain_misplaced_keys(diagnostics: &mut [Diagnostic]) {
    for d in diagnostics {
        for key in ["name", "points"] {
            for kind in CHECK_KINDS {
                if d.message == format!("unknown key `{key}` in `{kind}`") {
                    d.hint = Some(format!(
                        "`{key}` belongs to the check, not inside `{kind}`: write `{key}: …` on its own line under the list item, lined up with `{kind}:`"
                    ));
                }
            }
        }
    }
}

/// Parses `http://HOST[:PORT][/PATH]`.
pub fn parse_url(url: &str) -> Result<HttpUrl, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        if url.starts_with("https://") {
            "labctl's web checks speak plain HTTP".to_string()
        } else {
            "it does not start with http://".to_string()
        }
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| format!("`{port}` is not a port"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() || port == 0 {
        return Err("it has no host".into());
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the path has spaces".into());
    }
    let target = match parse_ipv4(host) {
        Ok(ip) => Target::Ip(ip),
        Err(_) if valid_domain(host) => Target::Name(host.to_string()),
        Err(_) => return Err(format!("`{host}` is not a host name")),
    };
    Ok(HttpUrl {
        host: target,
        host_text: host.to_string(),
        port,
        path: path.to_string(),
    })
}
