//! The interfaces a node declares under `interfaces`: names checked, and
//! addresses, MACs and relay targets parsed. Links name the rest later.

use std::net::Ipv4Addr;

use crate::lab::addr::{Mac, SubnetExt, parse_ipv4, parse_net};
use crate::lab::model::{InterfaceSpec, Node, NodeKind};
use crate::lab::topology::Addressing;
use crate::lab::validate::findings::Findings;
use crate::lab::validate::iface_path;
use crate::lab::validate::names::ifname_problem;
use crate::path;

/// An interface as the node declares it under `interfaces`.
pub(super) struct Declared {
    pub name: String,
    pub addressing: Addressing,
    pub mac: Option<Mac>,
    pub dhcp_relay: Option<Ipv4Addr>,
}

/// The interfaces `node` declares, with their parsed settings.
pub(super) fn declared_interfaces(
    found: &mut Findings,
    node_name: &str,
    node: &Node,
) -> Vec<Declared> {
    let mut out = Vec::new();
    for (ifname, spec) in &node.interfaces {
        let parent = path!["nodes", node_name, "interfaces"];
        if let Err(why) = ifname_problem(ifname, node.kind) {
            found.error_at_key(
                &parent,
                ifname,
                format!("`{ifname}` cannot be an interface name: {why}"),
                "use at most 15 letters, digits, `-`, `_` or `.`, e.g. eth0".to_string(),
            );
        }
        let field = match spec {
            InterfaceSpec::Address(_) => None,
            InterfaceSpec::Detailed(_) => Some("address"),
        };
        let at = iface_path(node_name, ifname, field);
        let addressing = match spec.address() {
            None => Addressing::None,
            Some("dhcp") => {
                if node.kind == NodeKind::Router || node.kind == NodeKind::Switch {
                    found.error(
                        &at,
                        format!(
                            "{node_name}/{ifname}: a {} cannot get its address by DHCP",
                            node.kind.as_str()
                        ),
                        "give it a static ADDRESS/PREFIX",
                    );
                }
                Addressing::Dhcp
            }
            Some(text) => match parse_net(text) {
                Ok(net) if net.is_reserved_host() => {
                    let which = if net.is_network_address() {
                        "network"
                    } else {
                        "broadcast"
                    };
                    found.error(
                        &at,
                        format!(
                            "{net} is the {which} address of {}, not a host address",
                            net.trunc()
                        ),
                        "pick an address between the first and the last of the subnet",
                    );
                    Addressing::Static(net)
                }
                Ok(net) => match unusable(net.addr()) {
                    Some(why) => {
                        found.error(
                            &at,
                            format!("{} is {why}, not an interface address", net.addr()),
                            "use a private address, e.g. 192.168.1.10/24 or 10.0.0.1/30",
                        );
                        Addressing::Static(net)
                    }
                    None => Addressing::Static(net),
                },
                Err(_) if text.eq_ignore_ascii_case("dhcp") => {
                    found.error(
                        &at,
                        format!("`{text}` is not an address"),
                        "write `dhcp` in lower case",
                    );
                    Addressing::Dhcp
                }
                Err(_) if !text.starts_with(|c: char| c.is_ascii_digit()) => {
                    found.error(
                        &at,
                        format!("`{text}` is not an address"),
                        "write ADDRESS/PREFIX (e.g. 192.168.1.2/24), or `dhcp`",
                    );
                    Addressing::None
                }
                Err(e) => {
                    found.error(&at, e.message, e.hint);
                    Addressing::None
                }
            },
        };
        if node.kind == NodeKind::Switch && addressing != Addressing::None {
            found.error(
                    &at,
                    format!("{node_name}/{ifname}: a switch port has no address"),
                    "a switch only forwards frames: put the address on the host or router plugged into it",
                );
        }
        let mac = spec.mac().and_then(|text| {
                let parsed = Mac::parse(text);
                if parsed.is_none() {
                    found.error(
                        &iface_path(node_name, ifname, Some("mac")),
                        format!("`{text}` is not a usable MAC address"),
                        "write six hex bytes with colons, e.g. 02:00:00:00:00:01 (the first byte even: a unicast address)",
                    );
                }
                parsed
            });
        let dhcp_relay = spec.dhcp_relay().and_then(|text| {
            let at = iface_path(node_name, ifname, Some("dhcp_relay"));
            if node.kind != NodeKind::Router {
                found.error(
                    &at,
                    format!(
                        "{node_name} is a {}: only routers relay DHCP",
                        node.kind.as_str()
                    ),
                    "put `dhcp_relay` on the router interface of the clients' network",
                );
                return None;
            }
            parse_ipv4(text)
                .map_err(|message| {
                    found.error(&at, message, "`dhcp_relay` is the DHCP server's address")
                })
                .ok()
        });
        out.push(Declared {
            name: ifname.clone(),
            addressing,
            mac,
            dhcp_relay,
        });
    }
    out
}

/// What kind of special address `ip` is, if it cannot be an interface's.
fn unusable(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if ip.octets()[0] == 0 {
        Some("in 0.0.0.0/8 (\"this network\")")
    } else if ip.octets()[0] >= 240 {
        Some("a reserved (class E) address")
    } else {
        None
    }
}
