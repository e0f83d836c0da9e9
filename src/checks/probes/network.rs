//! The lab's network as it is now, for diagnoses: each node's live
//! addresses, routes and forwarding switch as its kernel has them
//! (`read_live`, which needs root), turned into the pure `lab::network`
//! description (`live_network`) that the trace, the DHCP path and the
//! wiring questions read, and that they are unit-tested on from a plan.

use anyhow::{Context, Result};
use ipnet::Ipv4Net;

use crate::lab::network::{Network, NodeRoute, NodeState, port_towards};
use crate::lab::plan::{Plan, PlanNode};
use crate::net::inspect::{NamespaceView, inspect};
use crate::net::netns;

/// One node as its kernel has it now.
#[derive(Clone, Debug, Default)]
pub struct Live {
    pub view: NamespaceView,
    /// net.ipv4.ip_forward.
    pub forwarding: bool,
}

/// Every node's live state, in plan order (None: its namespace is gone).
/// The nodes are read at the same time, one thread each.
pub fn read_live(plan: &Plan) -> Result<Vec<Option<Live>>> {
    std::thread::scope(|scope| {
        let readers: Vec<_> = plan
            .nodes
            .iter()
            .map(|node| scope.spawn(move || read_node(&node.namespace)))
            .collect();
        readers
            .into_iter()
            .zip(&plan.nodes)
            .map(|(reader, node)| {
                reader
                    .join()
                    .map_err(|_| anyhow::anyhow!("reading node {} panicked", node.name))?
                    .with_context(|| format!("reading node {}", node.name))
            })
            .collect()
    })
}

fn read_node(namespace: &str) -> Result<Option<Live>> {
    if !netns::exists(namespace) {
        return Ok(None);
    }
    netns::run_in(namespace, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let view = runtime.block_on(async {
            let (connection, handle, _) = rtnetlink::new_connection()?;
            tokio::spawn(connection);
            inspect(&handle).await
        })?;
        // /proc/sys/net follows the reading thread's namespace.
        let forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .map(|s| s.trim() == "1")
            .unwrap_or(false);
        Ok(Some(Live { view, forwarding }))
    })
}

/// The lab's network with every node as its kernel has it (`live`, in
/// plan order), or as the plan has it when it could not be read.
pub fn live_network<'a>(plan: &'a Plan, live: &[Option<Live>]) -> Network<'a> {
    let state = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(n, node)| match live.get(n).and_then(Option::as_ref) {
            Some(live) => live_state(node, live),
            None => NodeState::planned(node),
        })
        .collect();
    Network::new(plan, state)
}

/// `node` as its kernel has it: the addresses of the links named as its
/// interfaces, its routes (leaving by their device, or towards their
/// gateway), its forwarding switch.
fn live_state(node: &PlanNode, live: &Live) -> NodeState {
    let addresses: Vec<Vec<Ipv4Net>> = node
        .interfaces
        .iter()
        .map(|iface| {
            live.view
                .links
                .iter()
                .find(|l| l.name == iface.name)
                .map(|l| l.addresses.clone())
                .unwrap_or_default()
        })
        .collect();
    let routes = live
        .view
        .routes
        .iter()
        .map(|r| NodeRoute {
            to: r.to,
            via: r.via,
            port: match (&r.dev, r.via) {
                (Some(dev), _) => node.interfaces.iter().position(|i| &i.name == dev),
                (None, Some(via)) => port_towards(&addresses, via),
                (None, None) => None,
            },
        })
        .collect();
    NodeState {
        addresses,
        routes,
        forwarding: live.forwarding,
    }
}
