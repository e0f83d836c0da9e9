//! Starts the DHCP clients of a host: one job per `dhcp` interface for the
//! life of the daemon. A job gets a lease, applies it (address, default
//! route, the node's `resolv.conf`), renews at T1, rebinds at T2 and starts
//! over when the lease runs out. The client port is held only during an
//! exchange, so a student can run `dhclient` or `udhcpc` by hand in between.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::{DHCP_CLIENT_PORT, DHCP_SERVER_PORT};
use crate::daemon::context::{NodeContext, Tasks};
use crate::daemon::state::{ClientState, Shared};
use crate::lab::plan::{PlanIface, PlanNode};
use crate::net::etc;
use crate::net::lease as net_lease;
use crate::net::udp::udp_socket;
use crate::services::dhcp::client::{Client, ClientError, Lease};
use crate::services::node_log::{NOTE, NodeLog};
use crate::services::shutdown::Shutdown;

/// How long a client that found no server waits before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

pub fn start(context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
    let node = &context.node;
    let dhcp: Vec<&PlanIface> = node.interfaces.iter().filter(|i| i.dhcp).collect();
    if dhcp.is_empty() {
        return Ok(());
    }
    let (connection, netlink, _) =
        rtnetlink::new_connection().context("cannot open a netlink socket")?;
    tokio::spawn(connection);
    for iface in dhcp {
        let key = format!("{}/{}", node.name, iface.name);
        context.shared.set_client(&key, ClientState::Waiting);
        let client = Client {
            mac: iface.mac,
            hostname: node.name.clone(),
            servers: SocketAddrV4::new(Ipv4Addr::BROADCAST, DHCP_SERVER_PORT),
            attempts: 4,
            first_wait: Duration::from_millis(500),
        };
        let job = ClientJob {
            key,
            node: node.clone(),
            iface: iface.clone(),
            client,
            netlink: netlink.clone(),
            shared: context.shared.clone(),
            log: context.log.clone(),
        };
        tasks.spawn(job.run(context.shutdown.clone()));
    }
    Ok(())
}

/// Why a client has no lease; shown to the student as the client's reason.
#[derive(Debug, thiserror::Error)]
enum AcquireError {
    #[error("{0:#}")]
    Socket(anyhow::Error),
    #[error(transparent)]
    Exchange(#[from] ClientError),
    #[error("{0:#}")]
    Apply(anyhow::Error),
}

/// One DHCP interface of a host for the life of the daemon.
struct ClientJob {
    key: String,
    node: PlanNode,
    iface: PlanIface,
    client: Client,
    netlink: rtnetlink::Handle,
    shared: Arc<Shared>,
    log: NodeLog,
}

impl ClientJob {
    async fn run(self, mut stop: Shutdown) -> Result<()> {
        loop {
            let acquired = tokio::select! {
                () = stop.fired() => return Ok(()),
                acquired = self.acquire() => acquired,
            };
            let mut lease = match acquired {
                Ok(lease) => lease,
                Err(e) => {
                    let reason = e.to_string();
                    self.note(&reason);
                    self.shared
                        .set_client(&self.key, ClientState::Failed { reason });
                    tokio::select! {
                        () = stop.fired() => return Ok(()),
                        _ = tokio::time::sleep(RETRY_AFTER_FAILURE) => continue,
                    }
                }
            };
            // Bound: renew until the server stops answering and the lease runs out.
            loop {
                let granted = tokio::time::Instant::now();
                let at = |seconds: u32| granted + Duration::from_secs(u64::from(seconds));
                let mut renewed = None;
                let mut refused = false;
                for (when, rebind) in [(lease.renew_seconds, false), (lease.rebind_seconds, true)] {
                    tokio::select! {
                        () = stop.fired() => return Ok(()),
                        _ = tokio::time::sleep_until(at(when)) => {}
                    }
                    match self.renew(&lease, rebind).await {
                        Ok(new) => {
                            renewed = Some(new);
                            break;
                        }
                        // A NAK means stop using the address now (RFC 2131 §4.4.5).
                        Err(e) if matches!(e.downcast_ref(), Some(ClientError::Refused { .. })) => {
                            self.note(&e.to_string());
                            refused = true;
                            break;
                        }
                        Err(_) => {}
                    }
                }
                if refused {
                    self.remove(&lease).await;
                    break;
                }
                match renewed {
                    Some(new) => {
                        self.apply(&new, Some(&lease)).await?;
                        lease = new;
                    }
                    None => {
                        tokio::select! {
                            () = stop.fired() => return Ok(()),
                            _ = tokio::time::sleep_until(at(lease.lease_seconds)) => {}
                        }
                        self.note(&format!("lease on {} expired", lease.address));
                        self.remove(&lease).await;
                        break;
                    }
                }
            }
        }
    }

    async fn acquire(&self) -> Result<Lease, AcquireError> {
        let socket = udp_socket(
            Some(&self.iface.name),
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_CLIENT_PORT),
        )
        .map_err(AcquireError::Socket)?;
        let lease = self.client.acquire(&socket).await?;
        drop(socket);
        self.apply(&lease, None)
            .await
            .map_err(AcquireError::Apply)?;
        Ok(lease)
    }

    async fn renew(&self, lease: &Lease, rebind: bool) -> Result<Lease> {
        let socket = udp_socket(
            Some(&self.iface.name),
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_CLIENT_PORT),
        )?;
        Ok(self.client.renew(&socket, lease, rebind).await?)
    }

    /// Puts the lease on the interface: address, default route, resolver.
    async fn apply(&self, lease: &Lease, old: Option<&Lease>) -> Result<()> {
        if let Some(old) = old.filter(|o| o.address != lease.address) {
            self.remove(old).await;
        }
        net_lease::put(
            &self.netlink,
            self.iface.index,
            lease.address,
            lease.gateway,
        )
        .await?;
        let source = format!("DHCP server {}", lease.server);
        etc::write_resolv_conf(&self.node, &lease.dns, lease.domain.as_deref(), &source)?;
        self.note(&format!(
            "bound to {} from {} (gateway {}, DNS {})",
            lease.address,
            lease.server,
            lease.gateway.map_or("none".to_string(), |g| g.to_string()),
            if lease.dns.is_empty() {
                "none".to_string()
            } else {
                lease
                    .dns
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
        self.shared.set_client(
            &self.key,
            ClientState::Bound {
                lease: lease.clone(),
                since: SystemTime::now(),
            },
        );
        Ok(())
    }

    /// What happened, in the daemon's log and the node's.
    fn note(&self, text: &str) {
        tracing::info!("dhcp-client {}: {text}", self.key);
        self.log
            .line(&format!("dhcp-client {}", self.iface.name), NOTE, text);
    }

    /// Takes an expired lease's address off the interface.
    async fn remove(&self, lease: &Lease) {
        net_lease::take_back(&self.netlink, self.iface.index, lease.address.addr()).await;
        self.shared.set_client(&self.key, ClientState::Waiting);
    }
}
