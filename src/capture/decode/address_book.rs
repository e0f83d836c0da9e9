//! Who is who on the wire: the lab's nodes by IPv4 and MAC address, so an
//! event says `mgmt-pc1 → mail` instead of `192.168.30.100 → 192.168.10.4`.
//! Static addresses and every interface's MAC come from the plan; an
//! address a PC gets by DHCP is learned from the server's ACK as the
//! capture sees it (its `chaddr` is the PC's planned MAC).

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use crate::lab::model::NodeKind;
use crate::lab::plan::Plan;

/// The lab's nodes by address; empty when no plan is known.
#[derive(Clone, Debug, Default)]
pub struct AddressBook {
    by_ip: HashMap<Ipv4Addr, String>,
    by_mac: HashMap<[u8; 6], String>,
    switches: HashSet<String>,
}

impl AddressBook {
    /// Every static address and MAC of the plan's nodes.
    pub fn from_plan(plan: &Plan) -> AddressBook {
        let mut book = AddressBook::default();
        for node in &plan.nodes {
            if node.kind == NodeKind::Switch {
                book.switches.insert(node.name.clone());
            }
            for iface in &node.interfaces {
                book.by_mac.insert(iface.mac.0, node.name.clone());
                if let Some(net) = iface.address {
                    book.by_ip.insert(net.addr(), node.name.clone());
                }
            }
        }
        book
    }

    /// The node owning `mac` now also answers to `ip` (a DHCP ACK). Returns
    /// whether the MAC belongs to a node of the lab.
    pub fn learn(&mut self, ip: Ipv4Addr, mac: [u8; 6]) -> bool {
        match self.by_mac.get(&mac) {
            Some(node) => {
                self.by_ip.insert(ip, node.clone());
                true
            }
            None => false,
        }
    }

    /// `node` answers to `ip`: a lease the lab's state already knows
    /// (`labctl status`), for a capture that starts after the DHCP ACK.
    pub fn add(&mut self, ip: Ipv4Addr, node: &str) {
        self.by_ip.insert(ip, node.to_string());
    }

    pub fn node_of_ip(&self, ip: Ipv4Addr) -> Option<&str> {
        self.by_ip.get(&ip).map(String::as_str)
    }

    pub fn node_of_mac(&self, mac: [u8; 6]) -> Option<&str> {
        self.by_mac.get(&mac).map(String::as_str)
    }

    /// Whether `node` is a switch (a switch forwards frames, it does not
    /// speak: a path names it, a dialogue never does).
    pub fn is_switch(&self, node: &str) -> bool {
        self.switches.contains(node)
    }

    /// The node with address `ip`, else the address itself.
    pub fn name_ip(&self, ip: Ipv4Addr) -> String {
        self.node_of_ip(ip)
            .map_or_else(|| ip.to_string(), str::to_string)
    }
}
