//! A node's services inside the daemon: one OS thread per node that has
//! any, which enters the node's namespace once, binds the node's sockets
//! there and runs a current-thread tokio runtime until the daemon stops.
//! The services themselves only see bound sockets.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use tokio::sync::watch;

use super::state::{ClientState, Shared};
use crate::lab::plan::{PlanIface, PlanNode};
use crate::net::lease as net_lease;
use crate::net::udp::udp_socket;
use crate::net::{etc, netns};
use crate::services::dhcp::client::{Client, ClientError, Lease};
use crate::services::dhcp::relay::{self, Relay};
use crate::services::dhcp::server::{self, Arrival, Pool, Server, ServerConfig};
use crate::services::node_log::{NOTE, NodeLog};

pub const DHCP_SERVER_PORT: u16 = 67;
pub const DHCP_CLIENT_PORT: u16 = 68;

/// What a node thread needs.
pub struct NodeContext {
    pub node: PlanNode,
    pub state_dir: PathBuf,
    pub shared: Arc<Shared>,
    pub stop: watch::Receiver<bool>,
    /// The node's service log (`labctl logs LAB NODE`).
    pub log: NodeLog,
}

/// The node's service log, printed by `labctl logs LAB NODE`.
pub fn log_path(state_dir: &Path, node: &str) -> PathBuf {
    state_dir.join("logs").join(format!("{node}.log"))
}

/// Whether `node` runs a service that writes to its log.
pub fn keeps_log(node: &PlanNode) -> bool {
    super::services::planned(node)
        .into_iter()
        .any(|kind| kind != super::services::Kind::WebServer)
}

/// Which of a node's services to start: servers and relays first, so that
/// clients started afterwards find them listening.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Infrastructure,
    Clients,
}

/// Starts the node's services of `phase` on their own thread; returns once
/// their sockets are bound (or binding failed).
pub fn start(context: NodeContext, phase: Phase) -> Result<std::thread::JoinHandle<Result<()>>> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let name = context.node.name.clone();
    let namespace = context.node.namespace.clone();
    let handle = netns::spawn_in(&namespace, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(run(context, phase, ready_tx))
    })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(message)) => anyhow::bail!("{name}: {message}"),
        Err(_) => match handle.join() {
            Ok(Err(e)) => Err(e.context(format!("{name}: services failed to start"))),
            _ => anyhow::bail!("{name}: services failed to start"),
        },
    }
}

async fn run(
    context: NodeContext,
    phase: Phase,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) -> Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    let started = match phase {
        Phase::Infrastructure => match super::dns::start(&context, &mut tasks).await {
            Ok(()) => start_infrastructure(&context, &mut tasks),
            Err(e) => Err(e),
        },
        Phase::Clients => start_clients(&context, &mut tasks),
    };
    if let Err(e) = started {
        let _ = ready.send(Err(format!("{e:#}")));
        return Err(e);
    }
    let _ = ready.send(Ok(()));
    while let Some(done) = tasks.join_next().await {
        if let Ok(Err(e)) = done {
            eprintln!("{}: a service stopped: {e:#}", context.node.name);
        }
    }
    Ok(())
}

fn start_infrastructure(
    context: &NodeContext,
    tasks: &mut tokio::task::JoinSet<Result<()>>,
) -> Result<()> {
    let node = &context.node;
    if let Some(pools) = &node.dhcp_server {
        let config = ServerConfig {
            pools: pools
                .iter()
                .map(|p| Pool {
                    subnet: p.subnet,
                    range: (p.first, p.last),
                    gateway: p.gateway,
                    dns: p.dns.clone(),
                    domain: p.domain.clone(),
                    lease_time: Duration::from_secs(p.lease_seconds),
                    reservations: p
                        .reservations
                        .iter()
                        .map(|r| (r.mac.0, r.address))
                        .collect(),
                })
                .collect(),
            lease_file: Some(
                context
                    .state_dir
                    .join(format!("dhcp-leases-{}.jsonl", node.name)),
            ),
            client_port: DHCP_CLIENT_PORT,
            server_port: DHCP_SERVER_PORT,
        };
        let mut server = Server::new(config, SystemTime::now())?;
        server.set_log(context.log.clone());
        let server = Arc::new(Mutex::new(server));
        let mut sockets = Vec::new();
        for iface in node.interfaces.iter().filter(|i| i.address.is_some()) {
            let local = iface.address.expect("filtered");
            let socket = udp_socket(
                Some(&iface.name),
                SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_SERVER_PORT),
            )?;
            sockets.push((socket, Arrival { local }));
        }
        context
            .shared
            .dhcp_servers
            .lock()
            .expect("lock")
            .insert(node.name.clone(), server.clone());
        tasks.spawn(server::serve(server, sockets, context.stop.clone()));
    }
    super::mail::start(context, tasks)?;
    for iface in &node.interfaces {
        let (Some(server), Some(local)) = (iface.dhcp_relay, iface.address) else {
            continue;
        };
        let relay = Relay {
            giaddr: local.addr,
            server: SocketAddrV4::new(server, DHCP_SERVER_PORT),
            clients: SocketAddrV4::new(Ipv4Addr::BROADCAST, DHCP_CLIENT_PORT),
        };
        let client_side = udp_socket(
            Some(&iface.name),
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_SERVER_PORT),
        )?;
        let server_side = udp_socket(None, SocketAddrV4::new(local.addr, DHCP_SERVER_PORT))?;
        eprintln!("{}/{}: relaying DHCP to {server}", node.name, iface.name);
        tasks.spawn(relay::serve(
            relay,
            client_side,
            server_side,
            context.log.clone(),
            context.stop.clone(),
        ));
    }
    super::web::start(context, tasks)?;
    Ok(())
}

fn start_clients(
    context: &NodeContext,
    tasks: &mut tokio::task::JoinSet<Result<()>>,
) -> Result<()> {
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
        let stop = context.stop.clone();
        tasks.spawn(async move { job.run(stop).await });
    }
    Ok(())
}

/// One DHCP interface of a host for the life of the daemon: get a lease,
/// apply it, renew at T1, rebind at T2, start over when it expires. The
/// client port is held only during an exchange, so a student can run
/// `dhclient` or `udhcpc` by hand in between.
struct ClientJob {
    key: String,
    node: PlanNode,
    iface: PlanIface,
    client: Client,
    netlink: rtnetlink::Handle,
    shared: Arc<Shared>,
    log: NodeLog,
}

/// How long a client that found no server waits before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

impl ClientJob {
    async fn run(self, mut stop: watch::Receiver<bool>) -> Result<()> {
        loop {
            let acquired = tokio::select! {
                _ = stop.changed() => return Ok(()),
                acquired = self.acquire() => acquired,
            };
            let mut lease = match acquired {
                Ok(lease) => lease,
                Err(reason) => {
                    self.note(&reason);
                    self.shared
                        .set_client(&self.key, ClientState::Failed { reason });
                    tokio::select! {
                        _ = stop.changed() => return Ok(()),
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
                        _ = stop.changed() => return Ok(()),
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
                            _ = stop.changed() => return Ok(()),
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

    async fn acquire(&self) -> Result<Lease, String> {
        let socket = udp_socket(
            Some(&self.iface.name),
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_CLIENT_PORT),
        )
        .map_err(|e| format!("{e:#}"))?;
        let lease = self
            .client
            .acquire(&socket)
            .await
            .map_err(|e| e.to_string())?;
        drop(socket);
        self.apply(&lease, None)
            .await
            .map_err(|e| format!("{e:#}"))?;
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
        net_lease::put(&self.netlink, self.iface.index, lease).await?;
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
        eprintln!("dhcp-client {}: {text}", self.key);
        self.log
            .line(&format!("dhcp-client {}", self.iface.name), NOTE, text);
    }

    /// Takes an expired lease's address off the interface.
    async fn remove(&self, lease: &Lease) {
        net_lease::take_back(&self.netlink, self.iface.index, lease).await;
        self.shared.set_client(&self.key, ClientState::Waiting);
    }
}
