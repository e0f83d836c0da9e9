//! The message sent back: an OFFER, ACK or NAK built from the request and
//! the answer, with the pool's options, padded to the BOOTP minimum, and
//! where it goes (relay, client address or broadcast, RFC 2131 §4.1).

use std::net::{Ipv4Addr, SocketAddrV4};

use dhcproto::Encodable;
use dhcproto::v4::{DhcpOption, DhcpOptions, Message, MessageType, Opcode};

use super::answer::Answer;
use super::request::Request;
use super::{Pool, Server};

/// Replies are padded to the minimum BOOTP message size (RFC 1542 §2.1).
pub(super) const MIN_REPLY_LEN: usize = 300;

/// A datagram to send, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub to: SocketAddrV4,
}

impl Server {
    pub(super) fn reply(
        &mut self,
        request: &Request,
        pool: usize,
        answer: &Answer,
        server_id: Ipv4Addr,
    ) -> Option<Reply> {
        let (kind, yiaddr) = match *answer {
            Answer::Offer(addr) => (MessageType::Offer, addr),
            Answer::Ack(addr) => (MessageType::Ack, addr),
            Answer::Nak(..) => (MessageType::Nak, Ipv4Addr::UNSPECIFIED),
            Answer::Inform => (MessageType::Ack, Ipv4Addr::UNSPECIFIED),
            Answer::Silent(_) => return None,
        };
        match kind {
            MessageType::Offer => self.stats.offers += 1,
            MessageType::Nak => self.stats.naks += 1,
            _ => self.stats.acks += 1,
        }
        let message = &request.message;
        let ciaddr = if kind == MessageType::Ack {
            message.ciaddr()
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        let mut out = Message::new_with_id(
            message.xid(),
            ciaddr,
            yiaddr,
            Ipv4Addr::UNSPECIFIED,
            message.giaddr(),
            message.chaddr(),
        );
        let relayed_nak = kind == MessageType::Nak && !message.giaddr().is_unspecified();
        let flags = if relayed_nak {
            message.flags().set_broadcast()
        } else {
            message.flags()
        };
        out.set_opcode(Opcode::BootReply).set_flags(flags);
        out.set_opts(options(kind, answer, &self.pools[pool].pool, server_id));
        let mut bytes = out.to_vec().ok()?;
        bytes.resize(bytes.len().max(MIN_REPLY_LEN), 0);
        Some(Reply {
            bytes,
            to: self.destination(message, kind),
        })
    }

    /// RFC 2131 §4.1: to the relay; else a NAK is broadcast; else to the
    /// client's address; else broadcast (we cannot unicast to a client that
    /// has no address: there is no ARP entry for it).
    fn destination(&self, message: &Message, kind: MessageType) -> SocketAddrV4 {
        let (giaddr, ciaddr) = (message.giaddr(), message.ciaddr());
        if !giaddr.is_unspecified() {
            SocketAddrV4::new(giaddr, self.server_port)
        } else if kind != MessageType::Nak && !ciaddr.is_unspecified() {
            SocketAddrV4::new(ciaddr, self.client_port)
        } else {
            SocketAddrV4::new(Ipv4Addr::BROADCAST, self.client_port)
        }
    }
}

/// The options of a reply: 53 and 54 always; the subnet's (1, 3, 6, 15, 28)
/// unless it is a NAK; the lease times (51, 58, 59) when an address is given.
fn options(kind: MessageType, answer: &Answer, pool: &Pool, server_id: Ipv4Addr) -> DhcpOptions {
    let mut opts = DhcpOptions::new();
    opts.insert(DhcpOption::MessageType(kind));
    opts.insert(DhcpOption::ServerIdentifier(server_id));
    if let Answer::Nak(_, why) = answer {
        opts.insert(DhcpOption::Message((*why).into()));
        return opts;
    }
    opts.insert(DhcpOption::SubnetMask(pool.subnet.netmask()));
    opts.insert(DhcpOption::BroadcastAddr(pool.subnet.broadcast()));
    if let Some(gateway) = pool.gateway {
        opts.insert(DhcpOption::Router(vec![gateway]));
    }
    if !pool.dns.is_empty() {
        opts.insert(DhcpOption::DomainNameServer(pool.dns.clone()));
    }
    if let Some(domain) = &pool.domain {
        opts.insert(DhcpOption::DomainName(domain.clone()));
    }
    if matches!(answer, Answer::Offer(_) | Answer::Ack(_)) {
        let lease = u32::try_from(pool.lease_time.as_secs()).unwrap_or(u32::MAX);
        opts.insert(DhcpOption::AddressLeaseTime(lease));
        opts.insert(DhcpOption::Renewal(lease / 2));
        opts.insert(DhcpOption::Rebinding((u64::from(lease) * 7 / 8) as u32));
    }
    opts
}
