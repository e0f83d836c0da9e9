//! The checks a lab file (or a separate checks file) declares: what the lab
//! must do, each as one kind key with its settings, plus an optional `name`
//! and `points`. Kept apart from `model.rs` so the lab model stays small;
//! the `checks` module resolves these into runnable checks.
//!
//! The file format lets an entry carry any of the kind keys (so the JSON
//! Schema stays simple for editors, and an entry with two kinds is reported
//! at its position, not as an unreadable file); `Check` turns what was
//! written into one `CheckKind`, or says why there is not exactly one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::diagnostic::Diagnostic;

/// A checks file kept apart from the student's lab file:
/// `labctl check LAB --checks FILE`, `labctl test LAB.yaml --checks FILE`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecksFile {
    /// The checks, run instead of the lab file's own.
    pub checks: Vec<Check>,
}

/// One check of the lab's behaviour: exactly one kind key (`ping`, `tcp`,
/// `dhcp`, `dns`, `http`, `mail`, `mail-refused`, `mail-spoof`, `exec`, `wire`), and optionally a
/// `name` and `points`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(from = "CheckKeys", into = "CheckKeys")]
pub struct Check {
    /// Shown in reports; by default a sentence made from the check.
    pub name: Option<String>,
    /// Points this check is worth (default 1).
    pub points: Option<u32>,
    /// What it checks, or why the entry does not say one thing to check.
    pub kind: Result<CheckKind, NotOneKind>,
    /// A change made to the running lab first, and undone afterwards.
    pub after: Option<AfterChange>,
}

/// `after: {link: [r1, r2], state: down}`: the check runs with this cable
/// cut (or plugged in), after the other checks, one change at a time, and
/// the cable is put back as it was afterwards.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterChange {
    /// The cable, by its two ends as in `links`: `[r1, r2]` or `[r1:eth0, r2:eth0]`.
    pub link: [String; 2],
    /// `down` (cut it) or `up`.
    pub state: CableState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CableState {
    Down,
    Up,
}

/// What one check checks, with that kind's settings.
#[derive(Clone, Debug)]
pub enum CheckKind {
    Ping(PingCheck),
    Tcp(TcpCheck),
    Dhcp(DhcpCheck),
    Dns(DnsCheck),
    Http(HttpCheck),
    Mail(MailCheck),
    MailRefused(MailRefusedCheck),
    MailSpoof(MailSpoofCheck),
    Exec(ExecCheck),
    Wire(Box<WireCheck>),
}

/// An entry with no kind key, or with several.
#[derive(Clone, Debug)]
pub enum NotOneKind {
    None,
    /// Every kind written, in the order of `CHECK_KINDS`.
    Several(Vec<CheckKind>),
}

impl CheckKind {
    /// The key that names this kind in a file.
    pub fn key(&self) -> &'static str {
        match self {
            CheckKind::Ping(_) => "ping",
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Dhcp(_) => "dhcp",
            CheckKind::Dns(_) => "dns",
            CheckKind::Http(_) => "http",
            CheckKind::Mail(_) => "mail",
            CheckKind::MailRefused(_) => "mail-refused",
            CheckKind::MailSpoof(_) => "mail-spoof",
            CheckKind::Exec(_) => "exec",
            CheckKind::Wire(_) => "wire",
        }
    }
}

impl From<CheckKeys> for Check {
    fn from(keys: CheckKeys) -> Check {
        let CheckKeys {
            name,
            points,
            ping,
            tcp,
            dhcp,
            dns,
            http,
            mail,
            mail_refused,
            mail_spoof,
            exec,
            wire,
            after,
        } = keys;
        let mut kinds: Vec<CheckKind> = [
            ping.map(CheckKind::Ping),
            tcp.map(CheckKind::Tcp),
            dhcp.map(CheckKind::Dhcp),
            dns.map(CheckKind::Dns),
            http.map(CheckKind::Http),
            mail.map(CheckKind::Mail),
            mail_refused.map(CheckKind::MailRefused),
            mail_spoof.map(CheckKind::MailSpoof),
            exec.map(CheckKind::Exec),
            wire.map(|w| CheckKind::Wire(Box::new(w))),
        ]
        .into_iter()
        .flatten()
        .collect();
        let kind = match kinds.len() {
            0 => Err(NotOneKind::None),
            1 => Ok(kinds.remove(0)),
            _ => Err(NotOneKind::Several(kinds)),
        };
        Check {
            name,
            points,
            kind,
            after,
        }
    }
}

impl From<Check> for CheckKeys {
    fn from(check: Check) -> CheckKeys {
        let mut keys = CheckKeys {
            name: check.name,
            points: check.points,
            after: check.after,
            ..CheckKeys::default()
        };
        let kinds = match check.kind {
            Ok(kind) => vec![kind],
            Err(NotOneKind::None) => Vec::new(),
            Err(NotOneKind::Several(kinds)) => kinds,
        };
        for kind in kinds {
            match kind {
                CheckKind::Ping(c) => keys.ping = Some(c),
                CheckKind::Tcp(c) => keys.tcp = Some(c),
                CheckKind::Dhcp(c) => keys.dhcp = Some(c),
                CheckKind::Dns(c) => keys.dns = Some(c),
                CheckKind::Http(c) => keys.http = Some(c),
                CheckKind::Mail(c) => keys.mail = Some(c),
                CheckKind::MailRefused(c) => keys.mail_refused = Some(c),
                CheckKind::MailSpoof(c) => keys.mail_spoof = Some(c),
                CheckKind::Exec(c) => keys.exec = Some(c),
                CheckKind::Wire(c) => keys.wire = Some(*c),
            }
        }
        keys
    }
}

/// One check of the lab's behaviour: exactly one kind key (`ping`, `tcp`,
/// `dhcp`, `dns`, `http`, `mail`, `mail-refused`, `mail-spoof`, `exec`, `wire`), and optionally a
/// `name` and `points`.
// A check as written (every kind key optional): what the schema shows and
// what `Check` is read from.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Check")]
pub struct CheckKeys {
    /// Shown in reports; by default a sentence made from the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Points this check is worth (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
    /// ICMP echo from a node: `{from: pc0, to: 192.168.2.10}`; `expect: fail`
    /// for a destination that must NOT answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<PingCheck>,
    /// A TCP port accepts connections from a node: `{from: pc0, to: mail.cbrc.com, port: 25}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    /// A node got a DHCP lease: `{node: pc0, subnet: 192.168.1.0/24, server: server0}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<DhcpCheck>,
    /// A name resolves through the node's own resolver:
    /// `{from: pc0, name: mail.cbrc.com, type: A, expect: 192.168.1.2}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsCheck>,
    /// A web page fetched from a node:
    /// `{from: pc0, url: http://www.mastertech.com/, status: 200, contains: MasterTech}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// Mail sent with one PC's mail settings arrives in another's mailbox:
    /// `{from: pc-ada, to: bob@cbrc.com, reader: pc-bob, within: 10s}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailCheck>,
    /// A mail server refuses to relay for a sender who did not log in:
    /// `{from: pc0, server: mail.cbrc.com, to: someone@elsewhere.org}`.
    #[serde(
        default,
        rename = "mail-refused",
        skip_serializing_if = "Option::is_none"
    )]
    pub mail_refused: Option<MailRefusedCheck>,
    /// A forged sender sent from a node straight to a mail server must be
    /// refused or quarantined: `{from: spoofer, server: mail.com,
    /// from-address: dean@uts.edu.au, to: client1@mail.com, expect: refused}`.
    #[serde(
        default,
        rename = "mail-spoof",
        skip_serializing_if = "Option::is_none"
    )]
    pub mail_spoof: Option<MailSpoofCheck>,
    /// A command run inside a node: `{node: pc0, command: [ip, route], exit: 0, output: "default via"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
    /// What crossed the lab's links while the other checks ran (or while a
    /// command ran): `{seen: {proto: smtp, at: [r1, r2]}}`,
    /// `{absent: {text: secret}}`, `{relay: {relay: r1, client: pc-bob}, run: …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<WireCheck>,
    /// Run this check with a cable cut (or plugged in), after the others,
    /// and put it back afterwards: `{link: [r1, r2], state: down}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<AfterChange>,
}

/// Whether the destination must answer (`ok`, the default) or must not (`fail`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// It must work (the default).
    #[default]
    Ok,
    /// It must not work.
    Fail,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PingCheck {
    /// The node the ping is sent from.
    pub from: String,
    /// A node name, an address, or a DNS name (resolved through `from`'s resolver).
    pub to: String,
    /// `ok` (default): it must answer; `fail`: it must not be reachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// The node the connection is made from.
    pub from: String,
    /// A node name, an address, or a DNS name (resolved through `from`'s resolver).
    pub to: String,
    /// The TCP port, e.g. 25.
    pub port: u16,
    /// `ok` (default): the port must accept; `fail`: it must not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhcpCheck {
    /// The client node.
    pub node: String,
    /// Its interface (default: its first `dhcp` interface).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The network the leased address must be in, e.g. 192.168.1.0/24.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// The server that must have given the lease: a node name or an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// One value, or a list of values.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsCheck {
    /// The node whose resolver (its `dns:` list or what DHCP gave it) is asked.
    pub from: String,
    /// The name to look up, e.g. mail.cbrc.com.
    pub name: String,
    /// Record type: A (default), AAAA, CNAME, MX, NS, PTR, SRV or TXT.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// The answer(s) that must be among the records: an address, a node name
    /// (its address), `10 mail.cbrc.com.` for MX, … Without it any answer passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<OneOrMany>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// The node the page is fetched from.
    pub from: String,
    /// `http://HOST[:PORT]/PATH`; HOST is resolved through `from`'s resolver.
    pub url: String,
    /// The HTTP status the answer must have (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Text the body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Log in to a webmail first (its form at /login), then fetch `url`
    /// with the session: `{user: bob, password: secret}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<WebLogin>,
}

/// A webmail login for an `http` check.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebLogin {
    pub user: String,
    pub password: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailCheck {
    /// The sending PC: its `mail:` settings are used, as its mail client would.
    pub from: String,
    /// The recipient's address.
    pub to: String,
    /// The PC that must receive it (over POP3 or IMAP, as its `mail:` settings say).
    pub reader: String,
    /// How long delivery may take: `10s` (default), `1m`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// The sender's account when it has several (its address or user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// A file (relative to the file this check is in) attached to the mail;
    /// it must arrive byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// The SPF result the reader's server must record (`pass`), read from
    /// the `Authentication-Results:` header of the delivered message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spf: Option<AuthResult>,
    /// The DKIM result that header must show (`pass`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dkim: Option<AuthResult>,
    /// The DMARC result that header must show (`pass`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dmarc: Option<AuthResult>,
}

/// A result in an `Authentication-Results:` header (RFC 8601).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthResult {
    Pass,
    Fail,
    Softfail,
    Neutral,
    None,
    Temperror,
    Permerror,
}

impl AuthResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthResult::Pass => "pass",
            AuthResult::Fail => "fail",
            AuthResult::Softfail => "softfail",
            AuthResult::Neutral => "neutral",
            AuthResult::None => "none",
            AuthResult::Temperror => "temperror",
            AuthResult::Permerror => "permerror",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailSpoofCheck {
    /// The node the forged mail is sent from (straight to port 25, no login).
    pub from: String,
    /// The receiving mail server: a name (resolved through `from`'s resolver), an address or a node.
    pub server: String,
    /// The forged sender, in `MAIL FROM` and the `From:` header.
    #[serde(rename = "from-address")]
    pub from_address: String,
    /// A recipient at the server's own domain.
    pub to: String,
    /// What the server must do with it.
    pub expect: SpoofExpect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SpoofExpect {
    /// A 5xx reply at the end of DATA (or before).
    Refused,
    /// Accepted into the recipient's Junk folder.
    Quarantined,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailRefusedCheck {
    /// The node the relay attempt is made from (without logging in).
    pub from: String,
    /// The mail server: a name (resolved through `from`'s resolver), an address or a node.
    pub server: String,
    /// An address in a domain the server does not deliver itself.
    pub to: String,
    /// The envelope sender to claim (default: nobody@example.net).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    /// The node the command runs in (with its own /etc/resolv.conf and hostname).
    pub node: String,
    /// `[ip, route]`, or one line of shell (`sh -c`).
    pub command: OneOrMany,
    /// The exit code it must end with (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// Text its output (stdout and stderr) must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// How long it may run: `10s` (default), `1m`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// What a `wire` check looks at and what must (not) be there: exactly one
/// of `seen`, `not-seen`, `absent`, `relay`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireCheck {
    /// The checks whose traffic is looked at, by `name`, or `all` (the
    /// default: every other check of the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<OneOrMany>,
    /// A command run inside a node; its traffic is looked at instead of
    /// the other checks': `{node: pc-bob, command: "udhcpc -i eth0 -n -q"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<WireRun>,
    /// A protocol that must have crossed these nodes (all of them, one
    /// packet): `{proto: smtp, at: [r1, r2]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<WireSeen>,
    /// A protocol that must not have crossed these nodes: `{proto: http, at: r1}`.
    #[serde(default, rename = "not-seen", skip_serializing_if = "Option::is_none")]
    pub not_seen: Option<WireSeen>,
    /// Text that must not be readable on the wire — in a frame's bytes or
    /// in a decoded dialogue, AUTH PLAIN/LOGIN credentials included:
    /// `{text: secret, at: any}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<WireAbsent>,
    /// A DHCP exchange answered through a relay (an OFFER or ACK with the
    /// relay's address as giaddr): `{relay: r1, client: pc-bob}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<WireRelay>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireRun {
    /// The node the command runs in.
    pub node: String,
    /// `[udhcpc, -i, eth0, -n, -q]`, or one line of shell (`sh -c`).
    pub command: OneOrMany,
    /// How long it may run: `10s` (default), `1m`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireSeen {
    /// arp, icmp, dhcp, dns, tcp, udp, smtp, pop3, imap or http.
    pub proto: String,
    /// Nodes (`r1`) or interfaces (`r1:eth0`) one packet must have crossed,
    /// or `any` (the default). (Not `on`: YAML reads that key as `true`.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<OneOrMany>,
    /// The node that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The node it was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireAbsent {
    /// The text (a password, a secret word); matched exactly.
    pub text: String,
    /// Nodes or interfaces where it must not be seen, or `any` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<OneOrMany>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireRelay {
    /// The router that relays (its `dhcp_relay` interface's address is the giaddr).
    pub relay: String,
    /// The client whose exchange it must be (by its MAC), default any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// A check's kind keys, for messages.
pub const CHECK_KINDS: [&str; 10] = [
    "ping",
    "tcp",
    "dhcp",
    "dns",
    "http",
    "mail",
    "mail-refused",
    "mail-spoof",
    "exec",
    "wire",
];

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
