//! The daemon's control protocol: one JSON request per line on a Unix socket
//! in the lab's state dir, one JSON reply per line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::state::ClientReport;
use crate::services::dhcp::server::{LeaseInfo, Stats};
use crate::services::mail::smtp::fates::Fate;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Request {
    /// Is the daemon up and done starting?
    Ping,
    /// Stop the daemon (and with it the lab's services).
    Stop,
    /// What became of message `id` (its queue id) at the mail server of
    /// `node` (read-only; a daemon older than this request answers
    /// `ok: false`).
    #[serde(rename = "mail-fate")]
    MailFate { node: String, id: String },
    /// Set both ends of a cable down or up and re-converge the routers
    /// (`labctl link`); the reply's `changes` say what moved.
    Link {
        ends: [crate::lab::plan::PlanEnd; 2],
        up: bool,
    },
    /// Put impairments on both ends of a cable, replacing what it had
    /// (`labctl link … --delay …`); `changes` says how, when worth saying.
    Impair {
        ends: [crate::lab::plan::PlanEnd; 2],
        netem: crate::lab::netem::Netem,
    },
    /// Stop or start one server of a node (`labctl service`); `changes`
    /// says whether anything changed.
    Service {
        node: String,
        service: String,
        start: bool,
    },
    /// Replace the users (and domains) of a running mail server (`labctl
    /// apply`): new users get their mailbox, open sessions stay.
    #[serde(rename = "mail-users")]
    MailUsers {
        node: String,
        mail: crate::lab::topology::MailPlan,
    },
    /// Start one server of a node again with the node's edited plan
    /// (`labctl apply` of DNS zones, DHCP pools, web pages); a stopped one
    /// stays stopped and starts with it later.
    Reload {
        node: Box<crate::lab::plan::PlanNode>,
        service: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub lab: String,
    pub pid: u32,
    pub uptime_seconds: u64,
    /// DHCP clients by `node/iface`.
    #[serde(default)]
    pub dhcp_clients: BTreeMap<String, ClientReport>,
    /// DHCP servers by node: their leases and counters.
    #[serde(default)]
    pub dhcp_servers: BTreeMap<String, ServerReport>,
    /// For `mail-fate`: the message's fates, oldest first; absent when the
    /// node has no such message (or no mail server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_fate: Option<Vec<Fate>>,
    /// For `link`: what changed in the routers' tables, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// Servers stopped by `labctl service`, as `node/service` (`ns/dns`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopped: Vec<String>,
    /// Why the request could not be carried out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ServerReport {
    pub leases: Vec<LeaseInfo>,
    pub stats: Stats,
}

/// Sends one request and waits for the reply (blocking; used by the CLI).
pub fn call(socket: &std::path::Path, request: &Request) -> anyhow::Result<Reply> {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    Ok(serde_json::from_str(&reply)?)
}
