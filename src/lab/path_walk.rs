//! A packet walked hop by hop through a `Network`: at each node the
//! longest matching prefix, to the next hop that has the route's gateway
//! (or the destination) on the segment it leaves by. It ends delivered, or
//! at the first node with no route, a node in the way that does not
//! forward, a next hop nobody on the segment has, or a loop. Validation
//! walks the planned network, the checks' diagnoses the kernels' one; each
//! words the outcome its own way.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::network::Network;

/// Where a walk counts as arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// At the node that has the destination address.
    Address,
    /// At the start, or a forwarding node, with an interface on the
    /// destination's network (the lab file's view: whether a LAN is
    /// reached, not which host on it answers).
    Network,
}

/// Where a walk stops short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `node` has no route to `prefix` (the destination's network).
    NoRoute { node: usize, prefix: Ipv4Net },
    /// `from` sends the packet to `node`, which is in the way but does
    /// not forward.
    NotForwarding { from: usize, node: usize },
    /// `node` sends to `next` (its gateway when `gateway`) on segment
    /// `segment`, but no other node there has that address.
    NoNextHop {
        node: usize,
        next: Ipv4Addr,
        gateway: bool,
        segment: usize,
    },
    /// The packet goes round between these nodes.
    Loop { nodes: Vec<usize> },
}

impl Stop {
    /// The node to fix.
    pub fn node(&self) -> usize {
        match self {
            Stop::NoRoute { node, .. }
            | Stop::NotForwarding { node, .. }
            | Stop::NoNextHop { node, .. } => *node,
            Stop::Loop { nodes } => nodes[0],
        }
    }
}

/// Hops from `start` towards `dest`: the nodes passed, ending with the one
/// where it arrived.
pub fn walk(net: &Network, start: usize, dest: Ipv4Addr, goal: Goal) -> Result<Vec<usize>, Stop> {
    let mut at = start;
    let mut path = vec![start];
    loop {
        let may_deliver = at == start || net.forwards(at);
        let arrived = match goal {
            Goal::Address => net.owns(at, dest),
            Goal::Network => may_deliver && net.on_network_of(at, dest),
        };
        if arrived {
            return Ok(path);
        }
        if !may_deliver {
            return Err(Stop::NotForwarding {
                from: path[path.len() - 2],
                node: at,
            });
        }
        let no_route = || Stop::NoRoute {
            node: at,
            prefix: net.subnet_of(dest),
        };
        let route = net.route(at, dest).ok_or_else(no_route)?;
        let port = route.port.ok_or_else(no_route)?;
        let segment = net.segment((at, port));
        let next = route.via.unwrap_or(dest);
        let Some((hop, _)) = net.owner_on(segment, next).filter(|(n, _)| *n != at) else {
            return Err(Stop::NoNextHop {
                node: at,
                next,
                gateway: route.via.is_some(),
                segment,
            });
        };
        if let Some(first) = path.iter().position(|&n| n == hop) {
            return Err(Stop::Loop {
                nodes: path[first..].to_vec(),
            });
        }
        path.push(hop);
        at = hop;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::network::tests::{ONE_ROUTER, plan_of};

    #[test]
    fn a_packet_reaches_the_host_or_its_network() {
        let plan = plan_of(ONE_ROUTER);
        let net = Network::planned(&plan);
        let pc1 = net.index_of("pc1").unwrap();
        let names = |path: Vec<usize>| -> Vec<String> {
            path.iter().map(|&n| net.node(n).name.clone()).collect()
        };
        let host = walk(&net, pc1, "10.0.2.10".parse().unwrap(), Goal::Address).unwrap();
        assert_eq!(names(host), ["pc1", "r1", "pc2"]);
        // An address nobody has: the router on its network is as far as
        // the lab file can tell, the host is not there.
        let lan = walk(&net, pc1, "10.0.2.99".parse().unwrap(), Goal::Network).unwrap();
        assert_eq!(names(lan), ["pc1", "r1"]);
        let r1 = net.index_of("r1").unwrap();
        assert_eq!(
            walk(&net, pc1, "10.0.2.99".parse().unwrap(), Goal::Address),
            Err(Stop::NoNextHop {
                node: r1,
                next: "10.0.2.99".parse().unwrap(),
                gateway: false,
                segment: net.segment((r1, 1)),
            })
        );
    }
}
