//! The DHCP relay agent of a router interface (RFC 2131 §4.1 and RFC 1542),
//! what Cisco calls `ip helper-address`: client broadcasts heard on the
//! interface go to the server with `giaddr` set to the interface's address;
//! the server's answers, sent to `giaddr`, go back out on the interface.

use std::net::{Ipv4Addr, SocketAddrV4};

use dhcproto::Encodable;
use dhcproto::v4::Opcode;
use tokio::net::UdpSocket;

use crate::lab::addr::Mac;
use crate::services::node_log::{FROM_CLIENT, FROM_SERVER, NodeLog};
use crate::services::shutdown::Shutdown;

/// Requests that have crossed this many relays are dropped (RFC 1542 §4.1.1).
const MAX_HOPS: u8 = 16;

/// One relaying interface.
#[derive(Clone, Copy, Debug)]
pub struct Relay {
    /// The interface's address, stamped into requests as `giaddr`.
    pub giaddr: Ipv4Addr,
    /// Where requests go: the DHCP server's address and port.
    pub server: SocketAddrV4,
    /// Where answers go on the client network: 255.255.255.255 and the
    /// client port (68).
    pub clients: SocketAddrV4,
}

impl Relay {
    /// A client's request, ready for the server; None to drop it.
    pub fn forward_request(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        let mut message = super::decode(datagram)?;
        if message.opcode() != Opcode::BootRequest || message.hops() >= MAX_HOPS {
            return None;
        }
        message.set_hops(message.hops() + 1);
        if message.giaddr().is_unspecified() {
            message.set_giaddr(self.giaddr);
        }
        message.to_vec().ok()
    }

    /// A server's answer for a client on this interface; None to drop it.
    pub fn forward_reply(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        let message = super::decode(datagram)?;
        (message.opcode() == Opcode::BootReply && message.giaddr() == self.giaddr)
            .then(|| datagram.to_vec())
    }
}

/// `dhcp xid 0x…` and `DISCOVER from 02:…` of a message, for the log.
fn describe(datagram: &[u8]) -> Option<(String, String)> {
    let message = super::decode(datagram)?;
    let kind = format!("{:?}", message.opts().msg_type()?).to_uppercase();
    let mac = <[u8; 6]>::try_from(message.chaddr()).ok().map(Mac)?;
    let yiaddr = message.yiaddr();
    let address = if yiaddr.is_unspecified() {
        String::new()
    } else {
        format!(" {yiaddr}")
    };
    Some((
        format!("dhcp xid {:#010x}", message.xid()),
        format!("{kind}{address} for {mac}"),
    ))
}

/// Relays until `stop` fires. `client_side` is bound to the client port's
/// server side (67) on the interface (SO_BINDTODEVICE, SO_BROADCAST);
/// `server_side` is bound to `giaddr`:67, where the server answers. Each
/// message relayed goes into `log`.
pub async fn serve(
    relay: Relay,
    client_side: UdpSocket,
    server_side: UdpSocket,
    log: NodeLog,
    mut stop: Shutdown,
) -> anyhow::Result<()> {
    let mut from_client = vec![0u8; 1500];
    let mut from_server = vec![0u8; 1500];
    loop {
        tokio::select! {
            () = stop.fired() => return Ok(()),
            received = client_side.recv_from(&mut from_client) => {
                let (len, _) = received?;
                if let Some(request) = relay.forward_request(&from_client[..len]) {
                    if let Some((tag, what)) = describe(&request) {
                        log.line(&tag, FROM_CLIENT, &format!("{what} relayed from {} to server {}", relay.giaddr, relay.server.ip()));
                    }
                    if let Err(e) = server_side.send_to(&request, relay.server).await {
                        tracing::warn!("dhcp-relay {}: cannot reach server {}: {e}", relay.giaddr, relay.server);
                    }
                }
            }
            received = server_side.recv_from(&mut from_server) => {
                let (len, from) = received?;
                if let Some(reply) = relay.forward_reply(&from_server[..len]) {
                    if let Some((tag, what)) = describe(&reply) {
                        log.line(&tag, FROM_SERVER, &format!("{what} from server {} relayed onto {}", from.ip(), relay.giaddr));
                    }
                    client_side.send_to(&reply, relay.clients).await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcproto::v4::Message;
    use dhcproto::v4::{DhcpOption, MessageType};
    use dhcproto::{Decodable, Decoder};

    fn relay() -> Relay {
        Relay {
            giaddr: Ipv4Addr::new(192, 168, 10, 1),
            server: SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 2), 67),
            clients: SocketAddrV4::new(Ipv4Addr::BROADCAST, 68),
        }
    }

    fn discover() -> Message {
        let mut m = Message::default();
        m.set_chaddr(&[2, 0, 0, 0, 0, 1]);
        m.opts_mut()
            .insert(DhcpOption::MessageType(MessageType::Discover));
        m
    }

    #[test]
    fn requests_get_giaddr_and_a_hop() {
        let out = relay()
            .forward_request(&discover().to_vec().unwrap())
            .unwrap();
        let m = Message::decode(&mut Decoder::new(&out)).unwrap();
        assert_eq!(m.giaddr(), Ipv4Addr::new(192, 168, 10, 1));
        assert_eq!(m.hops(), 1);
    }

    #[test]
    fn a_giaddr_set_by_an_earlier_relay_is_kept() {
        let mut m = discover();
        m.set_giaddr(Ipv4Addr::new(10, 9, 9, 1)).set_hops(2);
        let out = relay().forward_request(&m.to_vec().unwrap()).unwrap();
        let m = Message::decode(&mut Decoder::new(&out)).unwrap();
        assert_eq!((m.giaddr(), m.hops()), (Ipv4Addr::new(10, 9, 9, 1), 3));
    }

    #[test]
    fn loops_replies_to_others_and_garbage_are_dropped() {
        let mut looping = discover();
        looping.set_hops(MAX_HOPS);
        assert!(
            relay()
                .forward_request(&looping.to_vec().unwrap())
                .is_none()
        );
        assert!(relay().forward_request(b"\x01\x02garbage").is_none());
        let mut reply = discover();
        reply
            .set_opcode(Opcode::BootReply)
            .set_giaddr(Ipv4Addr::new(10, 0, 0, 1));
        assert!(relay().forward_reply(&reply.to_vec().unwrap()).is_none());
        reply.set_giaddr(Ipv4Addr::new(192, 168, 10, 1));
        assert!(relay().forward_reply(&reply.to_vec().unwrap()).is_some());
        // A request is never relayed back to clients.
        assert!(
            relay()
                .forward_reply(&discover().to_vec().unwrap())
                .is_none()
        );
    }
}
