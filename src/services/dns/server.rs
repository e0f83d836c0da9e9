//! The DNS server: a hickory catalog of the node's authoritative zones plus,
//! for names outside them, a forwarding or recursive resolver (or REFUSED
//! when it has none), served on sockets the caller has bound.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use hickory_server::Server;
use hickory_server::proto::rr::{LowerName, Name};
use hickory_server::resolver::config::{ConnectionConfig, NameServerConfig, ResolverOpts};
use hickory_server::resolver::recursor::{RecursiveConfig, RecursorOptions};
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::forwarder::{ForwardConfig, ForwardZoneHandler};
use hickory_server::store::recursor::RecursiveZoneHandler;
use hickory_server::zone_handler::{Catalog, ZoneHandler, ZoneType};
use ipnet::IpNet;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;

use super::zone::authoritative;
use crate::lab::zones::Zone;

/// A TCP client that sends nothing for this long is dropped.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// How long the resolver waits for an upstream server per attempt.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// Where names outside the node's zones go.
#[derive(Clone, Debug)]
pub enum Upstream {
    /// Nowhere: such questions are REFUSED.
    None,
    /// Forward to these servers (UDP, TCP when truncated); cache answers.
    Forward(Vec<SocketAddr>),
    /// Iterate from these root servers (port 53); only servers in `allow`
    /// are ever asked. `work_dir` holds the root hints file.
    Recursive {
        roots: Vec<IpAddr>,
        allow: Vec<IpNet>,
    },
}

/// The catalog: one handler per zone, and the resolver at the root when
/// there is one (a zone of the node's own still answers first).
pub async fn catalog(zones: &[Zone], upstream: &Upstream, work_dir: &Path) -> Result<Catalog> {
    let mut catalog = Catalog::new();
    let mut root_handlers: Vec<Arc<dyn ZoneHandler>> = Vec::new();
    for zone in zones {
        let handler = Arc::new(authoritative(zone)?);
        let origin = LowerName::from(Name::from_ascii(&zone.origin)?);
        if origin.is_root() {
            root_handlers.push(handler);
        } else {
            catalog.upsert(origin, vec![handler]);
        }
    }
    match upstream {
        Upstream::None => {}
        Upstream::Forward(servers) => root_handlers.push(Arc::new(forwarder(servers)?)),
        Upstream::Recursive { roots, allow } => {
            root_handlers.push(Arc::new(recursor(roots, allow, work_dir).await?))
        }
    }
    if !root_handlers.is_empty() {
        catalog.upsert(LowerName::from(Name::root()), root_handlers);
    }
    Ok(catalog)
}

fn forwarder(servers: &[SocketAddr]) -> Result<ForwardZoneHandler> {
    let name_servers = servers
        .iter()
        .map(|server| {
            let with_port = |mut c: ConnectionConfig| {
                c.port = server.port();
                c
            };
            NameServerConfig::new(
                server.ip(),
                true,
                vec![
                    with_port(ConnectionConfig::udp()),
                    with_port(ConnectionConfig::tcp()),
                ],
            )
        })
        .collect();
    let mut options = ResolverOpts::default();
    options.timeout = UPSTREAM_TIMEOUT;
    options.attempts = 2;
    let config = ForwardConfig {
        name_servers,
        options: Some(options),
    };
    ForwardZoneHandler::builder_tokio(config)
        .build()
        .map_err(|e| anyhow!("cannot set up the forwarder: {e}"))
}

/// The recursor reads its root hints from a file: written from the lab's
/// roots (never the real internet's).
async fn recursor(
    roots: &[IpAddr],
    allow: &[IpNet],
    work_dir: &Path,
) -> Result<RecursiveZoneHandler<TokioRuntimeProvider>> {
    let hints = work_dir.join("dns-root-hints.zone");
    let mut text = String::new();
    for (i, root) in roots.iter().enumerate() {
        let rtype = if root.is_ipv4() { "A" } else { "AAAA" };
        text.push_str(&format!(". 3600000 IN NS root-{i}.lab.\n"));
        text.push_str(&format!("root-{i}.lab. 3600000 IN {rtype} {root}\n"));
    }
    std::fs::write(&hints, text).with_context(|| format!("cannot write {}", hints.display()))?;
    let mut options = RecursorOptions::default();
    // Lab servers sit on private networks, which the recursor refuses by default.
    options.allow_server = allow.to_vec();
    let config = RecursiveConfig {
        roots: hints,
        dnssec_policy: Default::default(),
        options,
    };
    RecursiveZoneHandler::try_from_config(
        Name::root(),
        ZoneType::External,
        config,
        None,
        TokioRuntimeProvider::default(),
    )
    .await
    .map_err(|e| anyhow!("cannot set up the recursive resolver: {e}"))
}

/// Serves `catalog` on the bound sockets until `stop` turns true.
pub async fn serve(
    catalog: Catalog,
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpListener>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let mut server = Server::new(catalog);
    for socket in udp {
        server.register_socket(socket);
    }
    for listener in tcp {
        server.register_listener(listener, TCP_IDLE, 64 * 1024);
    }
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    server
        .shutdown_gracefully()
        .await
        .map_err(|e| anyhow!("DNS server stopped with an error: {e}"))
}
