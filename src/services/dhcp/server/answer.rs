//! What the server does about each kind of request: the lease decisions
//! (RFC 2131 §4.3) for DISCOVER, REQUEST in its four states, RELEASE,
//! DECLINE and INFORM, counted in the server's stats.

use std::fmt;
use std::net::Ipv4Addr;

use dhcproto::v4::MessageType;

use super::Server;
use super::request::Request;

/// What the server does about a request.
pub(super) enum Answer {
    Offer(Ipv4Addr),
    Ack(Ipv4Addr),
    /// The address refused and why (option 56).
    Nak(Ipv4Addr, &'static str),
    /// An ACK to an INFORM: options, no address.
    Inform,
    /// Nothing to send; the text says what happened, for the log.
    Silent(String),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Offer(addr) => write!(f, "OFFER {addr}"),
            Answer::Ack(addr) => write!(f, "ACK {addr}"),
            Answer::Nak(addr, why) => write!(f, "NAK {addr} ({why})"),
            Answer::Inform => f.write_str("ACK (options only)"),
            Answer::Silent(what) => f.write_str(what),
        }
    }
}

impl Server {
    pub(super) fn answer(
        &mut self,
        request: &Request,
        pool: usize,
        server_id: Ipv4Addr,
        now: u64,
    ) -> Answer {
        match request.kind {
            MessageType::Discover => self.discover(request, pool, now),
            MessageType::Request => self.request(request, pool, server_id, now),
            MessageType::Release => self.release(request, pool, now),
            MessageType::Decline => self.decline(request, pool, now),
            MessageType::Inform => {
                self.stats.informs += 1;
                Answer::Inform
            }
            _ => Answer::Silent("ignored: not a client message".into()),
        }
    }

    fn discover(&mut self, request: &Request, pool: usize, now: u64) -> Answer {
        self.stats.discovers += 1;
        let leases = &mut self.pools[pool];
        match leases.offer(request.mac, request.requested(), request.hostname(), now) {
            Some(addr) => Answer::Offer(addr),
            None => {
                self.stats.exhausted += 1;
                tracing::warn!(
                    "dhcp: pool {} exhausted: no address for {}",
                    leases.pool.subnet,
                    request.mac
                );
                Answer::Silent("no OFFER (pool exhausted)".into())
            }
        }
    }

    /// SELECTING (our server id), INIT-REBOOT (no server id, option 50),
    /// RENEWING and REBINDING (ciaddr): all ACK an address the client may
    /// have and NAK any other.
    fn request(&mut self, request: &Request, pool: usize, server_id: Ipv4Addr, now: u64) -> Answer {
        self.stats.requests += 1;
        let leases = &mut self.pools[pool];
        if let Some(chosen) = request.server_id().filter(|&id| id != server_id) {
            leases.forget_offer(request.mac, now);
            return Answer::Silent(format!("ignored: the client chose server {chosen}"));
        }
        let ciaddr = Some(request.message.ciaddr()).filter(|a| !a.is_unspecified());
        let Some(addr) = request.requested().or(ciaddr) else {
            return Answer::Silent("ignored: no address requested".into());
        };
        if !leases.pool.subnet.contains(&addr) {
            return Answer::Nak(addr, "wrong subnet");
        }
        // INIT-REBOOT (RFC 2131 §4.3.2): a client we know nothing of may
        // hold another server's lease, so stay silent; one we know gets its
        // own address confirmed and any other refused.
        if request.server_id().is_none() && ciaddr.is_none() {
            match leases.on_record(request.mac) {
                None => {
                    return Answer::Silent(
                        "ignored: INIT-REBOOT from a client without a record here".into(),
                    );
                }
                Some(own) if own != addr => return Answer::Nak(addr, "not the client's address"),
                Some(_) => {}
            }
        }
        if !leases.may_bind(request.mac, addr, now) {
            return Answer::Nak(addr, "address not available");
        }
        let records = leases.bind(request.mac, addr, request.hostname(), now);
        self.journal(&records);
        Answer::Ack(addr)
    }

    fn release(&mut self, request: &Request, pool: usize, now: u64) -> Answer {
        self.stats.releases += 1;
        let addr = request.message.ciaddr();
        let record = self.pools[pool].release(request.mac, addr, now);
        self.journal(record.as_slice());
        match record {
            Some(_) => Answer::Silent(format!("released {addr}")),
            None => Answer::Silent(format!("ignored: {addr} is not the client's")),
        }
    }

    fn decline(&mut self, request: &Request, pool: usize, now: u64) -> Answer {
        self.stats.declines += 1;
        let Some(addr) = request.requested() else {
            return Answer::Silent("ignored: no address declined".into());
        };
        let record = self.pools[pool].decline(request.mac, addr, now);
        self.journal(record.as_slice());
        match record {
            Some(_) => Answer::Silent(format!(
                "{addr} marked in use, not offered until the lease time passes"
            )),
            None => Answer::Silent(format!("ignored: {addr} is not the client's")),
        }
    }
}
