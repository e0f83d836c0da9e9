//! Builds a plan in the kernel: one namespace per node, veth pairs created
//! straight into their namespaces (never in the host's), a bridge per switch,
//! forwarding on routers, addresses and routes — all through rtnetlink.
//!
//! Interface indices come from the plan, so no request waits for a lookup:
//! namespaces first, then bridges, then every veth pair, then every
//! namespace's addresses and routes, each phase pipelined over netlink.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result};
use futures::stream::{self, StreamExt, TryStreamExt};
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth, LinkMessage};
use rtnetlink::{
    Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};

use super::etc;
use super::netns::{self, NewNamespace};
use crate::lab::model::NodeKind;
use crate::lab::plan::{BRIDGE_INDEX, BRIDGE_NAME, Plan, PlanIface, PlanNode};
use crate::progress::Progress;

/// How many netlink requests are in flight at once.
const PIPELINE: usize = 64;

/// A namespace made by `build`: a switch's keeps a netlink handle that
/// lives in it for the bridge and its ports; every other node's gets one
/// only while it is configured (`CONFIGURE_BATCH` at a time), so a lab of
/// 10,000 nodes does not hold 10,000 netlink connections (~9 KB each).
struct Made {
    netlink: Option<Handle>,
}

/// How many nodes' netlink connections are open at once while addresses
/// and routes are added.
const CONFIGURE_BATCH: usize = 256;

/// Builds `plan`'s network; the nodes' files go into the node-file store
/// `store` (`etc::mount_store`).
pub async fn build(plan: &Plan, store: &Path, progress: &Progress) -> Result<()> {
    let made = create_namespaces(plan, store, progress)?;

    let bridges = progress.phase(
        "bridges",
        plan.nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Switch)
            .count(),
    );
    stream::iter(
        plan.nodes
            .iter()
            .zip(&made)
            .filter(|(n, _)| n.kind == NodeKind::Switch),
    )
    .map(|(node, m)| {
        let bridges = &bridges;
        async move {
            let bridge = LinkBridge::new(BRIDGE_NAME)
                .index(BRIDGE_INDEX)
                .up()
                .build();
            netlink_of(m, node)?
                .link()
                .add(bridge)
                .execute()
                .await
                .with_context(|| format!("{}: cannot create bridge {BRIDGE_NAME}", node.name))?;
            bridges.inc();
            Ok::<_, anyhow::Error>(())
        }
    })
    .buffer_unordered(PIPELINE)
    .try_collect::<()>()
    .await?;
    bridges.finish();

    let (connection, host, _) =
        rtnetlink::new_connection().context("cannot open a netlink socket")?;
    tokio::spawn(connection);
    let links = progress.phase("links", plan.links.len());
    stream::iter(&plan.links)
        .map(|link| {
            let (a, b) = (plan.iface(link.a), plan.iface(link.b));
            let (host, links, made) = (&host, &links, &made);
            async move {
                // The two namespaces are opened for this request only (the
                // kernel reads the descriptors when it takes the request).
                let a_ns = netns::open(&plan.nodes[link.a.node].namespace)?;
                let b_ns = netns::open(&plan.nodes[link.b.node].namespace)?;
                host.link()
                    .add(veth_message(a, &a_ns, b, &b_ns))
                    .execute()
                    .await
                    .with_context(|| format!("cannot create the cable {} – {}", b.peer, a.peer))?;
                if b.bridge_port {
                    // Switch to switch: the peer joins its bridge afterwards.
                    let port = LinkUnspec::new_with_index(b.index)
                        .controller(BRIDGE_INDEX)
                        .build();
                    let b_node = &plan.nodes[link.b.node];
                    netlink_of(&made[link.b.node], b_node)?
                        .link()
                        .set(port)
                        .execute()
                        .await?;
                }
                links.inc();
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(PIPELINE)
        .try_collect::<()>()
        .await?;
    links.finish();

    // The `b` ends of the cables, which are created down.
    let mut down: Vec<Vec<u32>> = vec![Vec::new(); plan.nodes.len()];
    for link in &plan.links {
        down[link.b.node].push(plan.iface(link.b).index);
    }
    let configured = progress.phase("addresses and routes", plan.nodes.len());
    let runtime = tokio::runtime::Handle::current();
    for (batch, nodes) in plan.nodes.chunks(CONFIGURE_BATCH).enumerate() {
        let first = batch * CONFIGURE_BATCH;
        let namespaces = nodes.iter().map(|n| n.namespace.clone()).collect();
        let runtime = runtime.clone();
        let handles = netns::run_in_each(namespaces, move |_, _| open_netlink(&runtime))?;
        stream::iter(nodes.iter().zip(&handles).zip(&down[first..]))
            .map(|((node, netlink), down)| {
                let configured = &configured;
                async move {
                    configure(node, down, netlink)
                        .await
                        .with_context(|| format!("configuring {}", node.name))?;
                    configured.inc();
                    Ok::<_, anyhow::Error>(())
                }
            })
            .buffer_unordered(PIPELINE)
            .try_collect::<()>()
            .await?;
    }
    configured.finish();
    // The cables' impairments are the lab daemon's (`daemon::impairments`).
    Ok(())
}

/// How many file descriptors building `plan` holds at most: a netlink
/// connection per switch, one per node of a configure batch, and the two
/// namespaces of every cable request in flight.
pub fn descriptors_needed(plan: &Plan) -> usize {
    let switches = plan
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Switch)
        .count();
    switches + CONFIGURE_BATCH.min(plan.nodes.len()) + 2 * PIPELINE
}

/// A netlink connection in the calling thread's namespace, served by the
/// runtime `runtime` (it ends when the handle is dropped).
fn open_netlink(runtime: &tokio::runtime::Handle) -> Result<Handle> {
    let _entered = runtime.enter();
    let (connection, handle, _) =
        rtnetlink::new_connection().context("cannot open a netlink socket")?;
    runtime.spawn(connection);
    Ok(handle)
}

/// The netlink handle a switch keeps.
fn netlink_of<'a>(made: &'a Made, node: &PlanNode) -> Result<&'a Handle> {
    made.netlink
        .as_ref()
        .with_context(|| format!("{}: no netlink connection in its namespace", node.name))
}

fn create_namespaces(plan: &Plan, store: &Path, progress: &Progress) -> Result<Vec<Made>> {
    netns::ensure_netns_dir()?;
    etc::mount_store(store)?;
    for node in &plan.nodes {
        etc::write_node_files(node, store)?;
    }
    let phase = progress.phase("namespaces", plan.nodes.len());
    let wanted = plan
        .nodes
        .iter()
        .map(|node| NewNamespace {
            name: node.namespace.clone(),
            sysctls: if node.forwarding {
                vec![("net/ipv4/ip_forward", "1")]
            } else {
                Vec::new()
            },
        })
        .collect();
    let runtime = tokio::runtime::Handle::current();
    let counter = phase.clone();
    let switches: Vec<bool> = plan
        .nodes
        .iter()
        .map(|n| n.kind == NodeKind::Switch)
        .collect();
    let made = netns::create_all(wanted, move |i, _| {
        let netlink = switches[i].then(|| open_netlink(&runtime)).transpose()?;
        counter.inc();
        Ok(netlink)
    })?;
    phase.finish();
    Ok(made.into_iter().map(|netlink| Made { netlink }).collect())
}

/// One request that creates both ends of a cable, each already in its own
/// namespace with its planned index — `a` up, and in its bridge if it is a
/// switch port.
fn veth_message(a: &PlanIface, a_ns: &OwnedFd, b: &PlanIface, b_ns: &OwnedFd) -> LinkMessage {
    // The peer cannot be created up (the kernel refuses to open a veth end
    // before its peer is attached): `configure` brings it up.
    let peer = LinkUnspec::new_with_name(&b.name)
        .index(b.index)
        .setns_by_fd(b_ns.as_raw_fd())
        .address(b.mac.0.to_vec());
    let mut link = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
        .name(a.name.clone())
        .index(a.index)
        .setns_by_fd(a_ns.as_raw_fd())
        .address(a.mac.0.to_vec())
        .up()
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())));
    if a.bridge_port {
        link = link.controller(BRIDGE_INDEX);
    }
    link.build()
}

/// Loopback and the interfaces still down come up, then addresses, then
/// routes (a gateway must be reachable before a route through it is accepted).
async fn configure(node: &PlanNode, down: &[u32], netlink: &Handle) -> Result<()> {
    for &index in std::iter::once(&1).chain(down) {
        netlink
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .with_context(|| format!("cannot bring up interface {index}"))?;
    }
    for iface in &node.interfaces {
        if let Some(net) = iface.address {
            netlink
                .address()
                .add(iface.index, IpAddr::V4(net.addr()), net.prefix_len())
                .execute()
                .await
                .with_context(|| format!("cannot add {net} to {}", iface.name))?;
        }
    }
    for route in &node.routes {
        let message = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(route.to.addr(), route.to.prefix_len())
            .gateway(route.via)
            .build();
        netlink
            .route()
            .add(message)
            .execute()
            .await
            .with_context(|| format!("cannot add route to {} via {}", route.to, route.via))?;
    }
    Ok(())
}
