//! What the daemon knows about its running services, shared between node
//! threads and the control socket: each DHCP client's state, each DHCP
//! server's leases, each mail server's recent messages.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::services::dhcp::client::Lease;
use crate::services::dhcp::server::Server;
use crate::services::mail::smtp::fates::Fates;

#[derive(Default)]
pub struct Shared {
    /// By `node/iface`.
    clients: Mutex<BTreeMap<String, ClientState>>,
    /// By node.
    pub dhcp_servers: Mutex<BTreeMap<String, Arc<Mutex<Server>>>>,
    /// By node: what became of each mail server's recent messages.
    pub mail_fates: Mutex<BTreeMap<String, Arc<Fates>>>,
    /// Re-convergence of the routers (labs with routers).
    pub convergence: std::sync::OnceLock<Arc<super::convergence::Convergence>>,
    /// By node: each mail server's accounts, which `labctl apply` replaces.
    pub mail_accounts: Mutex<BTreeMap<String, Arc<crate::services::mail::accounts::Accounts>>>,
    /// The servers `labctl service` stops and starts.
    pub switchable: std::sync::OnceLock<Arc<super::switchable::Switchable>>,
    /// The cables' impairments (and the wires the daemon carries).
    pub impairments: std::sync::OnceLock<Arc<super::impairments::Impairments>>,
}

#[derive(Clone, Debug)]
pub enum ClientState {
    Waiting,
    Bound { lease: Lease, since: SystemTime },
    Failed { reason: String },
}

/// Where a DHCP client is, as `status --json` and the control socket spell
/// it: `"waiting"`, `"bound"`, `"failed"`, or `"unknown"` when the daemon
/// does not answer (docs/status-json.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientStatus {
    Waiting,
    Bound,
    Failed,
    Unknown,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Waiting => "waiting",
            ClientStatus::Bound => "bound",
            ClientStatus::Failed => "failed",
            ClientStatus::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ClientStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A DHCP client as the control socket reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientReport {
    pub state: ClientStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// Unix seconds when the lease runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// Why it has no lease, in words a student can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ClientReport {
    /// The leased address (reported as ADDRESS/PREFIX), if there is one.
    pub fn leased_address(&self) -> Option<Ipv4Addr> {
        self.address.as_deref()?.split('/').next()?.parse().ok()
    }

    /// A client whose state nobody can tell: the daemon does not answer.
    pub fn unknown() -> ClientReport {
        ClientReport {
            state: ClientStatus::Unknown,
            ..report(&ClientState::Waiting)
        }
    }
}

impl Shared {
    pub fn set_client(&self, key: &str, state: ClientState) {
        self.clients
            .lock()
            .expect("lock")
            .insert(key.to_string(), state);
    }

    pub fn client_reports(&self) -> BTreeMap<String, ClientReport> {
        let clients = self.clients.lock().expect("lock");
        clients
            .iter()
            .map(|(key, state)| (key.clone(), report(state)))
            .collect()
    }
}

fn report(state: &ClientState) -> ClientReport {
    let empty = ClientReport {
        state: ClientStatus::Waiting,
        address: None,
        server: None,
        gateway: None,
        dns: Vec::new(),
        expires: None,
        reason: None,
    };
    match state {
        ClientState::Waiting => ClientReport {
            state: ClientStatus::Waiting,
            ..empty
        },
        ClientState::Failed { reason } => ClientReport {
            state: ClientStatus::Failed,
            reason: Some(reason.clone()),
            ..empty
        },
        ClientState::Bound { lease, since } => {
            let since = since
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            ClientReport {
                state: ClientStatus::Bound,
                address: Some(lease.address.to_string()),
                server: Some(lease.server.to_string()),
                gateway: lease.gateway.map(|g| g.to_string()),
                dns: lease.dns.iter().map(|d| d.to_string()).collect(),
                expires: Some(since + u64::from(lease.lease_seconds)),
                ..empty
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reported_lease_gives_its_address_without_the_prefix() {
        let bound = ClientReport {
            state: ClientStatus::Bound,
            address: Some("192.168.1.100/24".into()),
            ..ClientReport::unknown()
        };
        assert_eq!(
            bound.leased_address(),
            Some(Ipv4Addr::new(192, 168, 1, 100))
        );
        assert_eq!(ClientReport::unknown().leased_address(), None);
    }

    /// `status --json` and the control socket spell the states as before
    /// the enum: plain lowercase strings, and they read back.
    #[test]
    fn states_keep_their_json_spelling() {
        for (status, text) in [
            (ClientStatus::Waiting, "waiting"),
            (ClientStatus::Bound, "bound"),
            (ClientStatus::Failed, "failed"),
            (ClientStatus::Unknown, "unknown"),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), text);
            assert_eq!(status.to_string(), text);
            let back: ClientStatus = serde_json::from_value(text.into()).unwrap();
            assert_eq!(back, status);
        }
        let failed = report(&ClientState::Failed {
            reason: "no DHCPOFFER".into(),
        });
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"state":"failed","reason":"no DHCPOFFER"}"#
        );
    }
}
