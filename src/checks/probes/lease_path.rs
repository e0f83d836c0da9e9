//! Whether a DHCP lease can come to an interface, from the plan and the
//! routers' live tables: a server on its segment with a pool for it, or a
//! relay on its segment whose server has a pool for the relay's network and
//! a path there and back. When none can, the reason — answered at once,
//! instead of waiting for four DISCOVERs to go unanswered. Also where a
//! node is cabled to the wrong segment. Pure: it reads a `Network`.

use ipnet::Ipv4Net;

use super::trace::one_way;
use crate::lab::model::NodeKind;
use crate::lab::network::{Network, Port};

/// Why no lease can reach an interface, and what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    pub reason: String,
    pub hint: String,
    /// The cause key (see `Diagnosis::cause`): a broken route is one cause
    /// for every interface behind it.
    pub cause: String,
}

/// Why no lease can reach port `client`; None when a server can answer
/// (or labctl cannot tell). Only what is certain is said: a lease that
/// might come is waited for.
pub fn lease_blocker(net: &Network, client: Port) -> Option<Blocker> {
    let seg = net.segment(client);
    let mut reasons = Vec::new();
    let mut hint = None;
    let mut cause = None;
    for &port in net.members(seg) {
        let (n, i) = port;
        if n == client.0 {
            continue;
        }
        let node = net.node(n);
        if let Some(pools) = &node.dhcp_server {
            let mine = net.addresses(port);
            if mine.is_empty()
                || pools
                    .iter()
                    .any(|p| mine.iter().any(|a| p.subnet.contains(&a.addr())))
            {
                return None;
            }
            reasons.push(format!(
                "{} runs DHCP on this network but has no pool for {}",
                node.name,
                join(&mine.iter().map(|a| a.trunc()).collect::<Vec<_>>())
            ));
        }
        let Some(server_ip) = node.interfaces[i].dhcp_relay else {
            continue;
        };
        let relay = &node.name;
        let Some(giaddr) = net.addresses(port).first().map(|a| a.addr()) else {
            continue;
        };
        let Some((server, _)) = net.owner(server_ip) else {
            reasons.push(format!(
                "{relay} relays DHCP to {server_ip}, but no node has that address"
            ));
            continue;
        };
        let server_name = &net.node(server).name;
        let Some(pools) = &net.node(server).dhcp_server else {
            reasons.push(format!(
                "{relay} relays DHCP to {server_ip}, which is {server_name}: it runs no DHCP server"
            ));
            continue;
        };
        if !pools.iter().any(|p| p.subnet.contains(&giaddr)) {
            reasons.push(format!(
                "{relay} relays DHCP from {} to {server_name} ({server_ip}), which has no pool for that network",
                net.subnet_of(giaddr)
            ));
            continue;
        }
        let there = one_way(net, n, server_ip, false);
        let back = there
            .as_ref()
            .ok()
            .map(|_| one_way(net, server, giaddr, true));
        match (there, back) {
            (Ok(_), Some(Ok(_))) => return None,
            (Err(broken), _) | (_, Some(Err(broken))) => {
                reasons.push(format!(
                    "{relay} relays DHCP from {} to {server_name} ({server_ip}), but {}",
                    net.subnet_of(giaddr),
                    broken.phrase(net)
                ));
                hint.get_or_insert(broken.hint(net));
                cause.get_or_insert(broken.cause(net));
            }
            (Ok(_), None) => return None,
        }
    }
    let reason = if reasons.is_empty() {
        format!(
            "no DHCP server or relay on its network, {}",
            net.describe_segment(seg)
        )
    } else {
        reasons.join("; ")
    };
    Some(Blocker {
        cause: cause.unwrap_or_else(|| format!("dhcp {}", net.describe_segment(seg))),
        reason,
        hint: hint.unwrap_or_else(|| {
            "a DHCP server on this network with a pool for it, or a `dhcp_relay` on its router to a server that has one"
                .into()
        }),
    })
}

fn join(nets: &[Ipv4Net]) -> String {
    if nets.is_empty() {
        return "its network".into();
    }
    nets.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Port `port` is cabled to a segment that does not carry `wanted` (its
/// network), while another segment does: the two segments' descriptions.
pub fn miswired(net: &Network, port: Port, wanted: Ipv4Net) -> Option<(String, String)> {
    if net.node(port.0).kind == NodeKind::Switch {
        return None;
    }
    let seg = net.segment(port);
    let here = net.subnets_on(seg, Some(port.0));
    if here.iter().any(|n| n.contains(&wanted.network())) {
        return None;
    }
    let there = net.segment_with(wanted, Some(port.0))?;
    (there != seg).then(|| {
        (
            net.describe_segment_without(seg, Some(port.0)),
            net.describe_segment_without(there, Some(port.0)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::network::tests::plan_of;

    const RELAYED: &str = "
name: t
nodes:
  r1:
    kind: router
    interfaces:
      eth0: 10.0.1.1/24
      eth1: {address: 10.0.2.1/24, dhcp_relay: 10.0.1.2}
  sw1: {kind: switch}
  sw2: {kind: switch}
  sw3: {kind: switch}
  server:
    kind: server
    interfaces: {eth0: 10.0.1.2/24}
    gateway: 10.0.1.1
    services:
      dhcp:
        pools:
          - {range: 10.0.1.100-10.0.1.199, gateway: 10.0.1.1}
          - {range: 10.0.2.100-10.0.2.199, gateway: 10.0.2.1}
  pc1: {kind: host, interfaces: {eth0: dhcp}}
  pc2: {kind: host, interfaces: {eth0: dhcp}}
  pc3: {kind: host, interfaces: {eth0: dhcp}}
links:
  - [r1:eth0, sw1]
  - [r1:eth1, sw2]
  - [server, sw1]
  - [pc1, sw1]
  - [pc2, sw2]
  - [pc3, sw3]
";

    fn blocker(yaml: &str, pc: &str) -> Option<String> {
        let plan = plan_of(yaml);
        let net = Network::planned(&plan);
        lease_blocker(&net, (net.index_of(pc).unwrap(), 0)).map(|b| b.reason)
    }

    #[test]
    fn a_lease_that_can_come_is_waited_for() {
        assert_eq!(blocker(RELAYED, "pc1"), None);
        assert_eq!(blocker(RELAYED, "pc2"), None);
    }

    #[test]
    fn a_lease_that_cannot_come_says_why() {
        assert_eq!(
            blocker(RELAYED, "pc3").as_deref(),
            Some("no DHCP server or relay on its network, sw3")
        );
        assert_eq!(
            blocker(&RELAYED.replace("    gateway: 10.0.1.1\n", ""), "pc2").as_deref(),
            Some(
                "r1 relays DHCP from 10.0.2.0/24 to server (10.0.1.2), but server has no route back to 10.0.2.0/24"
            )
        );
        assert_eq!(
            blocker(
                &RELAYED.replace(
                    "          - {range: 10.0.2.100-10.0.2.199, gateway: 10.0.2.1}\n",
                    ""
                ),
                "pc2"
            )
            .as_deref(),
            Some(
                "r1 relays DHCP from 10.0.2.0/24 to server (10.0.1.2), which has no pool for that network"
            )
        );
    }

    #[test]
    fn a_pc_on_the_wrong_switch() {
        // pc1 belongs on sw1 (10.0.1.0/24) but is plugged into sw2: it gets
        // a lease, from the other pool.
        let plan = plan_of(&RELAYED.replace("[pc1, sw1]", "[pc1, sw2]"));
        let net = Network::planned(&plan);
        let pc1 = (net.index_of("pc1").unwrap(), 0);
        let sw1_net = "10.0.1.0/24".parse().unwrap();
        assert_eq!(
            miswired(&net, pc1, sw1_net),
            Some(("sw2 (10.0.2.0/24)".into(), "sw1 (10.0.1.0/24)".into()))
        );
        let pc2 = (net.index_of("pc2").unwrap(), 0);
        assert_eq!(miswired(&net, pc2, "10.0.2.0/24".parse().unwrap()), None);
    }
}
