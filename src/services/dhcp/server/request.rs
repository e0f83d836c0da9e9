//! A client's message as the server reads it: a BOOTREQUEST with a DHCP
//! message type from an Ethernet client with a unicast MAC address, its
//! options, and how it is described in the log.

use std::fmt;
use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode, OptionCode};

use super::Arrival;
use crate::lab::addr::Mac;

/// The magic cookie that starts the options of a DHCP message (RFC 2131 §3).
pub(super) const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Where the cookie sits: after the fixed BOOTP fields.
pub(super) const COOKIE_OFFSET: usize = 236;

/// A well-formed client message.
pub(super) struct Request {
    pub(super) message: Message,
    pub(super) kind: MessageType,
    pub(super) mac: Mac,
}

impl Request {
    /// A BOOTREQUEST with a DHCP message type from an Ethernet client with
    /// a unicast MAC address, or None.
    pub(super) fn parse(datagram: &[u8]) -> Option<Request> {
        if datagram.get(COOKIE_OFFSET..COOKIE_OFFSET + 4) != Some(&MAGIC_COOKIE[..]) {
            return None;
        }
        let message = crate::services::dhcp::decode(datagram)?;
        if message.opcode() != Opcode::BootRequest {
            return None;
        }
        let kind = message.opts().msg_type()?;
        let mac: [u8; 6] = message.chaddr().try_into().ok()?;
        let unicast = mac[0] & 1 == 0 && mac != [0; 6];
        unicast.then_some(Request {
            message,
            kind,
            mac: Mac(mac),
        })
    }

    /// Where the client is: its relay, or the receiving interface.
    pub(super) fn via(&self, arrival: &Arrival) -> Ipv4Addr {
        Some(self.message.giaddr())
            .filter(|a| !a.is_unspecified())
            .unwrap_or(arrival.local.addr())
    }

    /// ` via relay 192.168.20.1` or ` on 192.168.10.2/24` (the interface
    /// it came in on), for the log.
    pub(super) fn route(&self, arrival: &Arrival) -> String {
        let giaddr = self.message.giaddr();
        if giaddr.is_unspecified() {
            format!(" on {}", arrival.local)
        } else {
            format!(" via relay {giaddr}")
        }
    }

    /// `REQUEST from 02:…:08 "pc1" for 192.168.20.100 (server 192.168.10.2)`
    pub(super) fn details(&self) -> String {
        let mut text = self.to_string();
        if let Some(name) = self.hostname() {
            text.push_str(&format!(" \"{name}\""));
        }
        let ciaddr = self.message.ciaddr();
        if !ciaddr.is_unspecified() {
            text.push_str(&format!(" with {ciaddr}"));
        }
        if let Some(requested) = self.requested() {
            text.push_str(&format!(" for {requested}"));
        }
        if let Some(server) = self.server_id() {
            text.push_str(&format!(" (server {server})"));
        }
        text
    }

    pub(super) fn requested(&self) -> Option<Ipv4Addr> {
        match self.message.opts().get(OptionCode::RequestedIpAddress) {
            Some(DhcpOption::RequestedIpAddress(addr)) => Some(*addr),
            _ => None,
        }
    }

    pub(super) fn server_id(&self) -> Option<Ipv4Addr> {
        match self.message.opts().get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(addr)) => Some(*addr),
            _ => None,
        }
    }

    pub(super) fn hostname(&self) -> Option<String> {
        match self.message.opts().get(OptionCode::Hostname) {
            Some(DhcpOption::Hostname(name)) => Some(name.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = format!("{:?}", self.kind).to_uppercase();
        write!(f, "{kind} from {}", self.mac)
    }
}
