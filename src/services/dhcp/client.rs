//! The DHCP client of a host interface (RFC 2131 §4.4): DISCOVER, OFFER,
//! REQUEST, ACK on the wire; renewing (unicast to the server) and rebinding
//! (broadcast). It only exchanges messages on a socket it is given; applying
//! the lease to the interface is the caller's job.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use dhcproto::Encodable;
use dhcproto::v4::{DhcpOption, Flags, Message, MessageType, Opcode, OptionCode};
use ipnet::Ipv4Net;
use serde::Serialize;
use tokio::net::UdpSocket;
use tokio::time::{Instant, timeout_at};

use crate::lab::addr::Mac;

/// What the server granted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub address: Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub domain: Option<String>,
    /// The server that granted it (option 54).
    pub server: Ipv4Addr,
    pub lease_seconds: u32,
    /// When to renew (T1) and rebind (T2), in seconds from the grant.
    pub renew_seconds: u32,
    pub rebind_seconds: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no DHCPOFFER after {0} DISCOVERs — is there a DHCP server or a relay on this network?"
    )]
    NoOffer(u32),
    #[error("server {server} offered {address} but did not answer the REQUEST")]
    NoAck { server: Ipv4Addr, address: Ipv4Addr },
    #[error("server {server} refused (DHCPNAK){}", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Refused {
        server: Ipv4Addr,
        message: Option<String>,
    },
    #[error("network error: {0}")]
    Io(String),
}

/// The client's identity and how persistent it is.
#[derive(Clone, Debug)]
pub struct Client {
    pub mac: Mac,
    /// Sent as option 12, so the server's lease list names the node.
    pub hostname: String,
    /// Where broadcasts go: 255.255.255.255 and the server port (67).
    pub servers: SocketAddrV4,
    /// DISCOVERs (and REQUESTs) sent before giving up.
    pub attempts: u32,
    /// Wait after the first attempt; doubled after each.
    pub first_wait: Duration,
}

impl Client {
    /// A full exchange from nothing: DISCOVER → OFFER → REQUEST → ACK.
    pub async fn acquire(&self, socket: &UdpSocket) -> Result<Lease, ClientError> {
        let xid = rand_xid(self.mac);
        let discover = self.message(xid, MessageType::Discover, None);
        let offer = self
            .exchange(socket, &discover, self.servers, xid, &[MessageType::Offer])
            .await?
            .ok_or(ClientError::NoOffer(self.attempts))?;
        let server = server_id(&offer).unwrap_or(Ipv4Addr::UNSPECIFIED);
        let address = offer.yiaddr();
        let request = self.message(xid, MessageType::Request, Some((address, server)));
        self.finish(socket, &request, self.servers, xid, server, address)
            .await
    }

    /// Renews `lease`: unicast to its server (RENEWING) when `rebind` is
    /// false, broadcast to any server (REBINDING) when true. The socket must
    /// be able to send from the leased address.
    pub async fn renew(
        &self,
        socket: &UdpSocket,
        lease: &Lease,
        rebind: bool,
    ) -> Result<Lease, ClientError> {
        let xid = rand_xid(self.mac);
        let mut request = self.message(xid, MessageType::Request, None);
        request
            .set_ciaddr(lease.address.addr())
            .set_flags(Flags::default());
        let to = if rebind {
            self.servers
        } else {
            SocketAddrV4::new(lease.server, self.servers.port())
        };
        self.finish(
            socket,
            &request,
            to,
            xid,
            lease.server,
            lease.address.addr(),
        )
        .await
    }

    async fn finish(
        &self,
        socket: &UdpSocket,
        request: &Message,
        to: SocketAddrV4,
        xid: u32,
        server: Ipv4Addr,
        address: Ipv4Addr,
    ) -> Result<Lease, ClientError> {
        let answer = self
            .exchange(
                socket,
                request,
                to,
                xid,
                &[MessageType::Ack, MessageType::Nak],
            )
            .await?
            .ok_or(ClientError::NoAck { server, address })?;
        if message_type(&answer) == Some(MessageType::Nak) {
            let message = match answer.opts().get(OptionCode::Message) {
                Some(DhcpOption::Message(text)) => Some(text.clone()),
                _ => None,
            };
            return Err(ClientError::Refused { server, message });
        }
        Ok(lease_from(&answer, server))
    }

    /// Sends `message` and waits for an answer of one of `wanted` types with
    /// our xid, resending with doubling waits; None after every attempt.
    async fn exchange(
        &self,
        socket: &UdpSocket,
        message: &Message,
        to: SocketAddrV4,
        xid: u32,
        wanted: &[MessageType],
    ) -> Result<Option<Message>, ClientError> {
        let bytes = message
            .to_vec()
            .map_err(|e| ClientError::Io(e.to_string()))?;
        let mut wait = self.first_wait;
        let mut buffer = vec![0u8; 1500];
        for _ in 0..self.attempts {
            socket
                .send_to(&bytes, to)
                .await
                .map_err(|e| ClientError::Io(e.to_string()))?;
            let deadline = Instant::now() + wait;
            while let Ok(received) = timeout_at(deadline, socket.recv_from(&mut buffer)).await {
                let (len, _) = received.map_err(|e| ClientError::Io(e.to_string()))?;
                let Some(answer) = super::decode(&buffer[..len]) else {
                    continue;
                };
                let ours = answer.opcode() == Opcode::BootReply
                    && answer.xid() == xid
                    && answer.chaddr().get(..6) == Some(&self.mac.0[..]);
                if ours && message_type(&answer).is_some_and(|t| wanted.contains(&t)) {
                    return Ok(Some(answer));
                }
            }
            wait *= 2;
        }
        Ok(None)
    }

    /// A BOOTREQUEST of `kind`; `selecting` = (offered address, server) for
    /// a REQUEST answering an OFFER. The broadcast flag asks servers and
    /// relays to broadcast answers: the interface has no address yet.
    fn message(
        &self,
        xid: u32,
        kind: MessageType,
        selecting: Option<(Ipv4Addr, Ipv4Addr)>,
    ) -> Message {
        let mut m = Message::default();
        m.set_opcode(Opcode::BootRequest)
            .set_xid(xid)
            .set_chaddr(&self.mac.0)
            .set_flags(Flags::default().set_broadcast());
        let opts = m.opts_mut();
        opts.insert(DhcpOption::MessageType(kind));
        opts.insert(DhcpOption::Hostname(self.hostname.clone()));
        opts.insert(DhcpOption::ParameterRequestList(vec![
            OptionCode::SubnetMask,
            OptionCode::Router,
            OptionCode::DomainNameServer,
            OptionCode::DomainName,
        ]));
        if let Some((address, server)) = selecting {
            opts.insert(DhcpOption::RequestedIpAddress(address));
            opts.insert(DhcpOption::ServerIdentifier(server));
        }
        m
    }
}

fn message_type(m: &Message) -> Option<MessageType> {
    match m.opts().get(OptionCode::MessageType) {
        Some(DhcpOption::MessageType(t)) => Some(*t),
        _ => None,
    }
}

fn server_id(m: &Message) -> Option<Ipv4Addr> {
    match m.opts().get(OptionCode::ServerIdentifier) {
        Some(DhcpOption::ServerIdentifier(ip)) => Some(*ip),
        _ => None,
    }
}

fn lease_from(ack: &Message, fallback_server: Ipv4Addr) -> Lease {
    let opts = ack.opts();
    let prefix = match opts.get(OptionCode::SubnetMask) {
        Some(DhcpOption::SubnetMask(mask)) => u32::from(*mask).leading_ones() as u8,
        _ => 24,
    };
    let lease_seconds = match opts.get(OptionCode::AddressLeaseTime) {
        Some(DhcpOption::AddressLeaseTime(t)) => *t,
        _ => 3600,
    };
    let renew_seconds = match opts.get(OptionCode::Renewal) {
        Some(DhcpOption::Renewal(t)) => *t,
        _ => lease_seconds / 2,
    };
    let rebind_seconds = match opts.get(OptionCode::Rebinding) {
        Some(DhcpOption::Rebinding(t)) => *t,
        _ => lease_seconds / 8 * 7,
    };
    Lease {
        // A prefix counted from a u32 is at most 32.
        address: Ipv4Net::new_assert(ack.yiaddr(), prefix),
        gateway: match opts.get(OptionCode::Router) {
            Some(DhcpOption::Router(routers)) => routers.first().copied(),
            _ => None,
        },
        dns: match opts.get(OptionCode::DomainNameServer) {
            Some(DhcpOption::DomainNameServer(servers)) => servers.clone(),
            _ => Vec::new(),
        },
        domain: match opts.get(OptionCode::DomainName) {
            Some(DhcpOption::DomainName(name)) => Some(name.clone()),
            _ => None,
        },
        server: server_id(ack).unwrap_or(fallback_server),
        lease_seconds,
        renew_seconds,
        rebind_seconds,
    }
}

/// A transaction id that differs between clients and between exchanges.
fn rand_xid(mac: Mac) -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let [_, _, a, b, c, d] = mac.0;
    u32::from_be_bytes([a, b, c, d]) ^ now.subsec_nanos() ^ (now.as_secs() as u32).rotate_left(16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcproto::{Decodable, Decoder};

    fn client(servers: SocketAddrV4) -> Client {
        Client {
            mac: Mac([2, 0, 0, 0, 0, 7]),
            hostname: "pc7".into(),
            servers,
            attempts: 3,
            first_wait: Duration::from_millis(50),
        }
    }

    /// A scripted server on 127.0.0.1: answers each request with the reply
    /// `answer` builds (None = stay silent), and records the requests.
    async fn fake_server(
        answer: impl Fn(&Message) -> Option<Message> + Send + 'static,
    ) -> (SocketAddrV4, tokio::task::JoinHandle<Vec<Message>>) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let std::net::SocketAddr::V4(addr) = socket.local_addr().unwrap() else {
            unreachable!()
        };
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut buffer = vec![0u8; 1500];
            while let Ok(Ok((len, from))) =
                tokio::time::timeout(Duration::from_millis(600), socket.recv_from(&mut buffer))
                    .await
            {
                let request = Message::decode(&mut Decoder::new(&buffer[..len])).unwrap();
                if let Some(reply) = answer(&request) {
                    socket
                        .send_to(&reply.to_vec().unwrap(), from)
                        .await
                        .unwrap();
                }
                seen.push(request);
            }
            seen
        });
        (addr, task)
    }

    fn reply_to(request: &Message, kind: MessageType, yiaddr: Ipv4Addr) -> Message {
        let mut m = Message::default();
        m.set_opcode(Opcode::BootReply)
            .set_xid(request.xid())
            .set_chaddr(request.chaddr())
            .set_yiaddr(yiaddr);
        let opts = m.opts_mut();
        opts.insert(DhcpOption::MessageType(kind));
        opts.insert(DhcpOption::ServerIdentifier(Ipv4Addr::new(192, 168, 1, 2)));
        opts.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
        opts.insert(DhcpOption::Router(vec![Ipv4Addr::new(192, 168, 1, 1)]));
        opts.insert(DhcpOption::DomainNameServer(vec![Ipv4Addr::new(
            192, 168, 1, 2,
        )]));
        opts.insert(DhcpOption::DomainName("cbrc.com".into()));
        opts.insert(DhcpOption::AddressLeaseTime(600));
        m
    }

    #[tokio::test]
    async fn a_full_exchange_yields_the_lease() {
        let (addr, server) = fake_server(|req| {
            let kind = message_type(req)?;
            let yiaddr = Ipv4Addr::new(192, 168, 1, 100);
            Some(match kind {
                MessageType::Discover => reply_to(req, MessageType::Offer, yiaddr),
                MessageType::Request => reply_to(req, MessageType::Ack, yiaddr),
                _ => return None,
            })
        })
        .await;
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let lease = client(addr).acquire(&socket).await.unwrap();
        assert_eq!(lease.address.to_string(), "192.168.1.100/24");
        assert_eq!(lease.gateway, Some(Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(lease.dns, [Ipv4Addr::new(192, 168, 1, 2)]);
        assert_eq!(lease.domain.as_deref(), Some("cbrc.com"));
        assert_eq!(
            (
                lease.lease_seconds,
                lease.renew_seconds,
                lease.rebind_seconds
            ),
            (600, 300, 525)
        );
        let seen = server.await.unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[0].flags().broadcast());
        let request = &seen[1];
        assert!(matches!(
            request.opts().get(OptionCode::RequestedIpAddress),
            Some(DhcpOption::RequestedIpAddress(ip)) if *ip == Ipv4Addr::new(192, 168, 1, 100)
        ));
        assert!(matches!(
            request.opts().get(OptionCode::Hostname),
            Some(DhcpOption::Hostname(h)) if h == "pc7"
        ));

        // Renewing is a REQUEST with ciaddr, no requested address.
        let (addr, server) = fake_server(|req| {
            (req.ciaddr() == Ipv4Addr::new(192, 168, 1, 100))
                .then(|| reply_to(req, MessageType::Ack, req.ciaddr()))
        })
        .await;
        let mut renewing = lease.clone();
        renewing.server = *addr.ip();
        let renewed = client(addr).renew(&socket, &renewing, false).await.unwrap();
        assert_eq!(renewed.address, lease.address);
        let seen = server.await.unwrap();
        assert!(seen[0].opts().get(OptionCode::RequestedIpAddress).is_none());
    }

    #[tokio::test]
    async fn silence_is_diagnosed_after_every_discover() {
        let (addr, server) = fake_server(|_| None).await;
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let error = client(addr).acquire(&socket).await.unwrap_err();
        assert_eq!(error, ClientError::NoOffer(3));
        assert!(error.to_string().contains("no DHCPOFFER after 3 DISCOVERs"));
        assert_eq!(server.await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_nak_and_foreign_replies_are_handled() {
        let (addr, _server) = fake_server(|req| {
            let mut other = reply_to(req, MessageType::Offer, Ipv4Addr::new(10, 0, 0, 9));
            other.set_xid(req.xid() ^ 1); // not ours: ignored
            match message_type(req)? {
                MessageType::Discover => Some(reply_to(
                    req,
                    MessageType::Offer,
                    Ipv4Addr::new(192, 168, 1, 100),
                )),
                MessageType::Request => {
                    let mut nak = reply_to(req, MessageType::Nak, Ipv4Addr::UNSPECIFIED);
                    nak.opts_mut()
                        .insert(DhcpOption::Message("address taken".into()));
                    Some(nak)
                }
                _ => Some(other),
            }
        })
        .await;
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let error = client(addr).acquire(&socket).await.unwrap_err();
        assert_eq!(
            error,
            ClientError::Refused {
                server: Ipv4Addr::new(192, 168, 1, 2),
                message: Some("address taken".into())
            }
        );
    }
}
