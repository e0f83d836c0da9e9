//! The DHCP server (RFC 2131/2132): pools of addresses for the subnets it
//! serves, directly or through relays, and the DISCOVER/OFFER/REQUEST/ACK
//! exchange, renewals, RELEASE, DECLINE and INFORM. `Server::handle` turns
//! one datagram into at most one reply; `serve` runs it on sockets the
//! caller has bound.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use dhcproto::Encodable;
use dhcproto::v4::{DhcpOption, DhcpOptions, Message, MessageType, Opcode, OptionCode};
use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;
use tokio::task::JoinSet;

use super::journal::Journal;
pub use super::leases::LeaseInfo;
use super::leases::Leases;
use crate::lab::addr::{Ipv4Net, Mac};
use crate::services::node_log::{FROM_CLIENT, FROM_SERVER, NOTE, NodeLog};
use crate::services::shutdown::Shutdown;

/// The magic cookie that starts the options of a DHCP message (RFC 2131 §3).
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Where the cookie sits: after the fixed BOOTP fields.
const COOKIE_OFFSET: usize = 236;
/// Replies are padded to the minimum BOOTP message size (RFC 1542 §2.1).
const MIN_REPLY_LEN: usize = 300;

/// The addresses handed out on one subnet, and the options that go with them.
#[derive(Clone, Debug)]
pub struct Pool {
    /// The network, e.g. 192.168.10.0/24.
    pub subnet: Ipv4Net,
    /// The first and last address handed out.
    pub range: (Ipv4Addr, Ipv4Addr),
    /// Option 3.
    pub gateway: Option<Ipv4Addr>,
    /// Option 6.
    pub dns: Vec<Ipv4Addr>,
    /// Option 15.
    pub domain: Option<String>,
    /// Option 51; T1 (58) is half of it, T2 (59) seven eighths.
    pub lease_time: Duration,
    /// Static addresses by MAC; they may lie outside the range but not
    /// outside the subnet.
    pub reservations: Vec<([u8; 6], Ipv4Addr)>,
}

/// What a server serves.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// One pool per subnet served, directly or through relays.
    pub pools: Vec<Pool>,
    /// Leases persist here; None keeps them in memory only.
    pub lease_file: Option<PathBuf>,
    /// Where clients listen (68); replies to unrelayed clients go there.
    pub client_port: u16,
    /// Where servers and relays listen (67); replies to relays go there.
    pub server_port: u16,
}

/// Where a datagram came in: the address and subnet of the receiving
/// interface.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    pub local: Ipv4Net,
}

/// A datagram to send, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub to: SocketAddrV4,
}

/// Counters since the server started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Datagrams handled.
    pub received: u64,
    /// Dropped as not a DHCP request.
    pub malformed: u64,
    /// Dropped because no pool serves the client's subnet.
    pub no_pool: u64,
    pub discovers: u64,
    pub offers: u64,
    pub requests: u64,
    pub acks: u64,
    pub naks: u64,
    pub releases: u64,
    pub declines: u64,
    pub informs: u64,
    /// DISCOVERs left unanswered because the pool was full.
    pub exhausted: u64,
}

/// A DHCP server: its pools, their leases and the lease file.
pub struct Server {
    pools: Vec<Leases>,
    journal: Option<Journal>,
    client_port: u16,
    server_port: u16,
    stats: Stats,
    /// The node's log: each request and what was answered (`labctl logs`).
    log: NodeLog,
}

/// A well-formed client message.
struct Request {
    message: Message,
    kind: MessageType,
    mac: Mac,
}

/// What the server does about a request.
enum Answer {
    Offer(Ipv4Addr),
    Ack(Ipv4Addr),
    /// The address refused and why (option 56).
    Nak(Ipv4Addr, &'static str),
    /// An ACK to an INFORM: options, no address.
    Inform,
    /// Nothing to send; the text says what happened, for the log.
    Silent(String),
}

impl Server {
    /// A server with the leases of `config.lease_file`, if it exists.
    pub fn new(config: ServerConfig, now: SystemTime) -> anyhow::Result<Server> {
        for pool in &config.pools {
            check_pool(pool)?;
        }
        let mut pools: Vec<Leases> = config.pools.into_iter().map(Leases::new).collect();
        let journal = match &config.lease_file {
            Some(path) => {
                for record in Journal::load(path)? {
                    if let Some(leases) = pools
                        .iter_mut()
                        .find(|l| l.pool.subnet.contains(record.address))
                    {
                        leases.restore(&record, unix_seconds(now));
                    }
                }
                Some(Journal::create(path, pools.iter().flat_map(Leases::all))?)
            }
            None => None,
        };
        let (client_port, server_port) = (config.client_port, config.server_port);
        Ok(Server {
            pools,
            journal,
            client_port,
            server_port,
            stats: Stats::default(),
            log: NodeLog::discard(),
        })
    }

    /// Logs every exchange in `log` from now on.
    pub fn set_log(&mut self, log: NodeLog) {
        self.log = log;
    }

    /// Handles one received datagram and logs what happened; None when there
    /// is nothing to send (dropped, RELEASE, DECLINE, exhausted pool…).
    pub fn handle(&mut self, datagram: &[u8], arrival: &Arrival, now: SystemTime) -> Option<Reply> {
        self.stats.received += 1;
        let Some(request) = Request::parse(datagram) else {
            self.stats.malformed += 1;
            let what = format!("dropped a malformed datagram via {}", arrival.local.addr);
            eprintln!("dhcp: {what}");
            self.log.line("dhcp", NOTE, &what);
            return None;
        };
        let via = request.via(arrival);
        let tag = format!("dhcp xid {:#010x}", request.message.xid());
        let route = request.route(arrival);
        self.log
            .line(&tag, FROM_CLIENT, &format!("{}{route}", request.details()));
        let Some(pool) = self.pool_for(&request, arrival) else {
            self.stats.no_pool += 1;
            eprintln!("dhcp: {request} via {via} -> dropped: no pool for that subnet");
            self.log
                .line(&tag, NOTE, "dropped: no pool for that subnet");
            return None;
        };
        let answer = self.answer(&request, pool, arrival.local.addr, unix_seconds(now));
        eprintln!("dhcp: {request} via {via} -> {answer}");
        match &answer {
            Answer::Silent(what) => self.log.line(&tag, NOTE, what),
            _ => self.log.line(
                &tag,
                FROM_SERVER,
                &format!("{answer} to {}{route}", request.mac),
            ),
        }
        self.reply(&request, pool, &answer, arrival.local.addr)
    }

    /// The leases that have not expired, by address.
    pub fn leases(&self, now: SystemTime) -> Vec<LeaseInfo> {
        let now = unix_seconds(now);
        let mut leases: Vec<LeaseInfo> = self.pools.iter().flat_map(|p| p.active(now)).collect();
        leases.sort_by_key(|l| l.address);
        leases
    }

    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }

    /// The pool for the client's subnet: the relay's (giaddr), else the
    /// client's own address (ciaddr, for renewals that come straight from
    /// another subnet), else the receiving interface's.
    fn pool_for(&self, request: &Request, arrival: &Arrival) -> Option<usize> {
        let key = [request.message.giaddr(), request.message.ciaddr()]
            .into_iter()
            .find(|a| !a.is_unspecified())
            .unwrap_or(arrival.local.addr);
        self.pools.iter().position(|l| l.pool.subnet.contains(key))
    }

    fn answer(&mut self, request: &Request, pool: usize, server_id: Ipv4Addr, now: u64) -> Answer {
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
                eprintln!(
                    "dhcp: pool {} exhausted: no address for {}",
                    leases.pool.subnet, request.mac
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
        if !leases.pool.subnet.contains(addr) {
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

    /// Appends to the lease file, compacting it when it has grown long. A
    /// failure is logged: the lease still holds in memory.
    fn journal(&mut self, records: &[LeaseInfo]) {
        let Some(journal) = &mut self.journal else {
            return;
        };
        if records.is_empty() {
            return;
        }
        let mut result = journal.append(records);
        let leases = self.pools.iter().map(Leases::count).sum();
        if result.is_ok() && journal.wants_compaction(leases) {
            let path = journal.path().to_path_buf();
            result = Journal::create(&path, self.pools.iter().flat_map(Leases::all))
                .map(|fresh| *journal = fresh);
        }
        if let Err(e) = result {
            eprintln!("dhcp: cannot save leases: {e:#}");
        }
    }

    fn reply(
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
    opts.insert(DhcpOption::SubnetMask(Ipv4Addr::from(pool.subnet.mask())));
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

fn check_pool(pool: &Pool) -> anyhow::Result<()> {
    let (first, last) = pool.range;
    let subnet = pool.subnet;
    if first > last || !subnet.contains(first) || !subnet.contains(last) {
        bail!("DHCP pool {subnet}: the range {first}-{last} is not inside the subnet");
    }
    if let Some((_, addr)) = pool
        .reservations
        .iter()
        .find(|(_, addr)| !subnet.contains(*addr))
    {
        bail!("DHCP pool {subnet}: the reservation {addr} is not inside the subnet");
    }
    Ok(())
}

impl Request {
    /// A BOOTREQUEST with a DHCP message type from an Ethernet client with
    /// a unicast MAC address, or None.
    fn parse(datagram: &[u8]) -> Option<Request> {
        if datagram.get(COOKIE_OFFSET..COOKIE_OFFSET + 4) != Some(&MAGIC_COOKIE[..]) {
            return None;
        }
        let message = super::decode(datagram)?;
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
    fn via(&self, arrival: &Arrival) -> Ipv4Addr {
        Some(self.message.giaddr())
            .filter(|a| !a.is_unspecified())
            .unwrap_or(arrival.local.addr)
    }

    /// ` via relay 192.168.20.1` or ` on 192.168.10.2/24` (the interface
    /// it came in on), for the log.
    fn route(&self, arrival: &Arrival) -> String {
        let giaddr = self.message.giaddr();
        if giaddr.is_unspecified() {
            format!(" on {}", arrival.local)
        } else {
            format!(" via relay {giaddr}")
        }
    }

    /// `REQUEST from 02:…:08 "pc1" for 192.168.20.100 (server 192.168.10.2)`
    fn details(&self) -> String {
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

    fn requested(&self) -> Option<Ipv4Addr> {
        match self.message.opts().get(OptionCode::RequestedIpAddress) {
            Some(DhcpOption::RequestedIpAddress(addr)) => Some(*addr),
            _ => None,
        }
    }

    fn server_id(&self) -> Option<Ipv4Addr> {
        match self.message.opts().get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(addr)) => Some(*addr),
            _ => None,
        }
    }

    fn hostname(&self) -> Option<String> {
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

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Runs `server` on sockets bound by the caller (0.0.0.0:67 with
/// SO_BROADCAST, one per interface, each with its Arrival) until `stop`
/// fires. Replies go out on the socket the request came in on.
pub async fn serve(
    server: Arc<Mutex<Server>>,
    sockets: Vec<(UdpSocket, Arrival)>,
    stop: Shutdown,
) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    for (socket, arrival) in sockets {
        tasks.spawn(serve_socket(server.clone(), socket, arrival, stop.clone()));
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a DHCP server task failed")??;
    }
    Ok(())
}

async fn serve_socket(
    server: Arc<Mutex<Server>>,
    socket: UdpSocket,
    arrival: Arrival,
    mut stop: Shutdown,
) -> anyhow::Result<()> {
    let mut buffer = vec![0u8; 2048];
    loop {
        let received = tokio::select! {
            () = stop.fired() => break,
            received = socket.recv_from(&mut buffer) => received,
        };
        let (len, _) = received.with_context(|| format!("DHCP server on {}", arrival.local))?;
        let reply = server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handle(&buffer[..len], &arrival, SystemTime::now());
        if let Some(reply) = reply
            && let Err(e) = socket.send_to(&reply.bytes, reply.to).await
        {
            eprintln!("dhcp: cannot send to {}: {e}", reply.to);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::shutdown::ShutdownTrigger;
    use MessageType::{Ack, Decline, Discover, Inform, Nak, Offer, Release};
    use dhcproto::v4::Flags;
    use dhcproto::{Decodable, Decoder};
    use std::fs::OpenOptions;
    use std::io::Write;

    use crate::services::dhcp::leases::{LeaseState, OFFER_HOLD_SECONDS};

    const CLIENT_PORT: u16 = 1068;
    const SERVER_PORT: u16 = 1067;
    const LAN: Arrival = Arrival {
        local: Ipv4Net {
            addr: Ipv4Addr::new(192, 168, 10, 1),
            prefix: 24,
        },
    };
    const BROADCAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT);

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    fn net(text: &str) -> Ipv4Net {
        text.parse().unwrap()
    }

    fn mac(n: u8) -> [u8; 6] {
        [2, 0, 0, 0, 0, n]
    }

    /// `seconds` after the tests' epoch.
    fn t(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
    }

    fn lan() -> Pool {
        Pool {
            subnet: net("192.168.10.0/24"),
            range: (ip("192.168.10.100"), ip("192.168.10.199")),
            gateway: Some(ip("192.168.10.1")),
            dns: vec![ip("192.168.1.2")],
            domain: Some("lab.test".into()),
            lease_time: Duration::from_secs(3600),
            reservations: vec![(mac(50), ip("192.168.10.50"))],
        }
    }

    /// A pool on the LAN handing out `first..=last`, without reservations.
    fn range(first: &str, last: &str) -> Pool {
        Pool {
            range: (ip(first), ip(last)),
            reservations: vec![],
            ..lan()
        }
    }

    /// The subnet behind a relay.
    fn remote() -> Pool {
        Pool {
            subnet: net("10.20.0.0/24"),
            ..range("10.20.0.10", "10.20.0.20")
        }
    }

    fn server_with(pools: Vec<Pool>, lease_file: Option<PathBuf>) -> Server {
        let config = ServerConfig {
            pools,
            lease_file,
            client_port: CLIENT_PORT,
            server_port: SERVER_PORT,
        };
        Server::new(config, t(0)).unwrap()
    }

    fn server() -> Server {
        server_with(vec![lan(), remote()], None)
    }

    fn message(kind: MessageType, client: u8) -> Message {
        let mut m = Message::default();
        m.set_chaddr(&mac(client));
        m.opts_mut().insert(DhcpOption::MessageType(kind));
        m
    }

    fn request(client: u8, server_id: Option<Ipv4Addr>, requested: Option<Ipv4Addr>) -> Message {
        let mut m = message(MessageType::Request, client);
        let options = [
            server_id.map(DhcpOption::ServerIdentifier),
            requested.map(DhcpOption::RequestedIpAddress),
        ];
        for option in options.into_iter().flatten() {
            m.opts_mut().insert(option);
        }
        m
    }

    /// A RENEWING (unicast) or REBINDING (broadcast) request.
    fn renew(client: u8, ciaddr: &str) -> Message {
        let mut m = request(client, None, None);
        m.set_ciaddr(ip(ciaddr));
        m
    }

    /// Sends `m` at `at`; the decoded reply and where it goes.
    fn send(server: &mut Server, m: &Message, at: u64) -> Option<(Message, SocketAddrV4)> {
        let reply = server.handle(&m.to_vec().unwrap(), &LAN, t(at))?;
        assert!(reply.bytes.len() >= MIN_REPLY_LEN);
        let decoded = Message::decode(&mut Decoder::new(&reply.bytes)).unwrap();
        assert_eq!(
            (decoded.opcode(), decoded.xid()),
            (Opcode::BootReply, m.xid())
        );
        Some((decoded, reply.to))
    }

    fn kind(m: &Message) -> MessageType {
        m.opts().msg_type().unwrap()
    }

    fn offer(server: &mut Server, client: u8) -> Option<Ipv4Addr> {
        let (reply, _) = send(server, &message(Discover, client), 0)?;
        assert_eq!(kind(&reply), Offer);
        Some(reply.yiaddr())
    }

    /// A full DISCOVER, OFFER, REQUEST, ACK at time 0.
    fn dora(server: &mut Server, client: u8) -> Ipv4Addr {
        let addr = offer(server, client).unwrap();
        let (ack, _) = send(
            server,
            &request(client, Some(LAN.local.addr), Some(addr)),
            0,
        )
        .unwrap();
        assert_eq!((kind(&ack), ack.yiaddr()), (Ack, addr));
        addr
    }

    fn addresses(server: &Server, at: u64) -> Vec<(Ipv4Addr, String)> {
        server
            .leases(t(at))
            .into_iter()
            .map(|l| (l.address, l.state.to_string()))
            .collect()
    }

    #[test]
    fn discover_gets_an_offer_with_the_pool_options() {
        let mut s = server();
        let (offer, to) = send(&mut s, &message(Discover, 1), 0).unwrap();
        assert_eq!(
            (kind(&offer), offer.yiaddr(), to),
            (Offer, ip("192.168.10.100"), BROADCAST)
        );
        let expected = [
            DhcpOption::ServerIdentifier(ip("192.168.10.1")),
            DhcpOption::AddressLeaseTime(3600),
            DhcpOption::Renewal(1800),
            DhcpOption::Rebinding(3150),
            DhcpOption::SubnetMask(ip("255.255.255.0")),
            DhcpOption::Router(vec![ip("192.168.10.1")]),
            DhcpOption::DomainNameServer(vec![ip("192.168.1.2")]),
            DhcpOption::DomainName("lab.test".into()),
            DhcpOption::BroadcastAddr(ip("192.168.10.255")),
        ];
        for option in expected {
            assert_eq!(offer.opts().get(OptionCode::from(&option)), Some(&option));
        }
        assert_eq!(
            addresses(&s, 0),
            [(ip("192.168.10.100"), "offered".to_string())]
        );
        // Asked for, a free address is offered; the broadcast bit changes nothing.
        let mut m = message(Discover, 2);
        m.set_flags(Flags::default().set_broadcast())
            .opts_mut()
            .insert(DhcpOption::RequestedIpAddress(ip("192.168.10.150")));
        let (offer, to) = send(&mut s, &m, 0).unwrap();
        assert_eq!((offer.yiaddr(), to), (ip("192.168.10.150"), BROADCAST));
    }

    #[test]
    fn a_request_after_the_offer_is_acked_and_bound() {
        let mut s = server();
        let addr = offer(&mut s, 1).unwrap();
        let mut m = request(1, Some(LAN.local.addr), Some(addr));
        m.opts_mut().insert(DhcpOption::Hostname("pc1".into()));
        let (ack, to) = send(&mut s, &m, 10).unwrap();
        assert_eq!((kind(&ack), ack.yiaddr(), to), (Ack, addr, BROADCAST));
        assert_eq!(
            ack.opts().get(OptionCode::AddressLeaseTime),
            Some(&DhcpOption::AddressLeaseTime(3600))
        );
        let lease = &s.leases(t(10))[0];
        assert_eq!(
            (lease.mac.as_str(), lease.hostname.as_deref()),
            ("02:00:00:00:00:01", Some("pc1"))
        );
        assert_eq!(
            (lease.state, lease.expires),
            (LeaseState::Bound, unix_seconds(t(3610)))
        );
        let stats = s.stats();
        assert_eq!(
            (stats.discovers, stats.offers, stats.requests, stats.acks),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn choosing_another_server_drops_our_offer() {
        let mut s = server();
        let addr = offer(&mut s, 1).unwrap();
        assert!(
            send(
                &mut s,
                &request(1, Some(ip("192.168.10.254")), Some(addr)),
                0
            )
            .is_none()
        );
        assert!(s.leases(t(0)).is_empty());
    }

    #[test]
    fn an_address_held_by_another_client_is_refused() {
        let mut s = server();
        let addr = dora(&mut s, 1);
        let (nak, to) = send(&mut s, &request(2, Some(LAN.local.addr), Some(addr)), 0).unwrap();
        assert_eq!(
            (kind(&nak), nak.yiaddr(), to),
            (Nak, Ipv4Addr::UNSPECIFIED, BROADCAST)
        );
        assert!(nak.opts().get(OptionCode::Message).is_some());
        assert_eq!(s.stats().naks, 1);
    }

    #[test]
    fn init_reboot_confirms_or_refuses_the_remembered_address() {
        let mut s = server();
        let addr = dora(&mut s, 1);
        let answer = |s: &mut Server, client, requested: &str| {
            let (reply, to) = send(s, &request(client, None, Some(ip(requested))), 5).unwrap();
            assert_eq!(to, BROADCAST);
            (kind(&reply), reply.yiaddr())
        };
        assert_eq!(answer(&mut s, 1, "192.168.10.100"), (Ack, addr));
        assert_eq!(
            answer(&mut s, 1, "192.168.10.101"),
            (Nak, Ipv4Addr::UNSPECIFIED),
            "not its address"
        );
        assert_eq!(
            answer(&mut s, 2, "10.99.0.5"),
            (Nak, Ipv4Addr::UNSPECIFIED),
            "wrong subnet"
        );
        // A client without a record here may hold another server's lease:
        // the server stays silent, whatever it asks for (RFC 2131 §4.3.2).
        for requested in ["192.168.10.100", "192.168.10.20", "192.168.10.150"] {
            assert!(
                send(&mut s, &request(2, None, Some(ip(requested))), 5).is_none(),
                "{requested}"
            );
        }
    }

    #[test]
    fn renewing_and_rebinding_extend_the_lease() {
        let mut s = server();
        let addr = dora(&mut s, 1);
        let (ack, to) = send(&mut s, &renew(1, "192.168.10.100"), 1800).unwrap();
        assert_eq!((kind(&ack), ack.yiaddr(), ack.ciaddr()), (Ack, addr, addr));
        assert_eq!(to, SocketAddrV4::new(addr, CLIENT_PORT));
        let mut rebind = renew(1, "192.168.10.100");
        rebind.set_flags(Flags::default().set_broadcast());
        let (ack, to) = send(&mut s, &rebind, 3200).unwrap();
        assert_eq!(
            (kind(&ack), to),
            (Ack, SocketAddrV4::new(addr, CLIENT_PORT))
        );
        assert_eq!(s.leases(t(3200))[0].expires, unix_seconds(t(6800)));
        // Someone else's address: NAK, broadcast since the client must drop it.
        let (nak, to) = send(&mut s, &renew(2, "192.168.10.100"), 3200).unwrap();
        assert_eq!((kind(&nak), to), (Nak, BROADCAST));
    }

    #[test]
    fn relayed_requests_get_the_relays_pool_and_go_back_to_the_relay() {
        let mut s = server();
        let relayed = |m: Message| {
            let mut m = m;
            m.set_giaddr(ip("10.20.0.1"));
            m
        };
        let (offer, to) = send(&mut s, &relayed(message(Discover, 1)), 0).unwrap();
        assert_eq!(
            (offer.yiaddr(), offer.giaddr()),
            (ip("10.20.0.10"), ip("10.20.0.1"))
        );
        assert_eq!(to, SocketAddrV4::new(ip("10.20.0.1"), SERVER_PORT));
        assert_eq!(
            offer.opts().get(OptionCode::ServerIdentifier),
            Some(&DhcpOption::ServerIdentifier(LAN.local.addr))
        );
        let (nak, to) = send(
            &mut s,
            &relayed(request(2, None, Some(ip("192.168.10.100")))),
            0,
        )
        .unwrap();
        assert_eq!(
            (kind(&nak), nak.flags().broadcast(), to.port()),
            (Nak, true, SERVER_PORT)
        );
        // No pool for the relay's subnet: dropped and counted.
        let mut unknown = message(Discover, 3);
        unknown.set_giaddr(ip("172.16.0.1"));
        assert!(send(&mut s, &unknown, 0).is_none());
        assert_eq!(s.stats().no_pool, 1);
    }

    #[test]
    fn the_log_shows_each_exchange_with_xid_mac_address_and_relay() {
        let path = std::env::temp_dir().join(format!("labctl-dhcp-log-{}", std::process::id()));
        let log = NodeLog::open(&path).unwrap();
        let mut s = server();
        s.set_log(log.clone());
        let mut discover = message(Discover, 1);
        discover.set_xid(0x1a2b3c4d).set_giaddr(ip("10.20.0.1"));
        discover
            .opts_mut()
            .insert(DhcpOption::Hostname("pc1\x1b[2J".into()));
        send(&mut s, &discover, 0).unwrap();
        dora(&mut s, 2);
        log.sync();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let mac1 = Mac(mac(1));
        let mac2 = Mac(mac(2));
        for expected in [
            format!(
                "dhcp xid 0x1a2b3c4d C: DISCOVER from {mac1} \"pc1\\x1b[2J\" via relay 10.20.0.1"
            ),
            format!("dhcp xid 0x1a2b3c4d S: OFFER 10.20.0.10 to {mac1} via relay 10.20.0.1"),
            format!("C: DISCOVER from {mac2} on 192.168.10.1/24"),
            format!("S: OFFER 192.168.10.100 to {mac2} on 192.168.10.1/24"),
            format!(
                "C: REQUEST from {mac2} for 192.168.10.100 (server 192.168.10.1) on 192.168.10.1/24"
            ),
            format!("S: ACK 192.168.10.100 to {mac2} on 192.168.10.1/24"),
        ] {
            assert!(text.contains(&expected), "{expected}\nnot in\n{text}");
        }
    }

    #[test]
    fn reservations_are_honoured() {
        let mut s = server();
        assert_eq!(
            dora(&mut s, 50),
            ip("192.168.10.50"),
            "outside the range, inside the subnet"
        );
        let (nak, _) = send(
            &mut s,
            &request(2, Some(LAN.local.addr), Some(ip("192.168.10.50"))),
            0,
        )
        .unwrap();
        assert_eq!(kind(&nak), Nak, "another client's reservation");
        // A reserved address inside the range is never handed to others.
        let pool = Pool {
            reservations: vec![(mac(60), ip("192.168.10.100"))],
            ..range("192.168.10.100", "192.168.10.101")
        };
        let mut s = server_with(vec![pool], None);
        assert_eq!(offer(&mut s, 1), Some(ip("192.168.10.101")));
        assert_eq!(offer(&mut s, 2), None);
        assert_eq!(offer(&mut s, 60), Some(ip("192.168.10.100")));
    }

    #[test]
    fn clients_never_share_an_address() {
        let mut s = server_with(vec![range("192.168.10.100", "192.168.10.199")], None);
        let mut given: Vec<Ipv4Addr> = (1..=100).map(|client| dora(&mut s, client)).collect();
        given.sort();
        given.dedup();
        assert_eq!(given.len(), 100);
        assert_eq!(offer(&mut s, 101), None);
    }

    #[test]
    fn an_exhausted_pool_offers_nothing_until_offers_lapse() {
        let mut s = server_with(vec![range("192.168.10.100", "192.168.10.101")], None);
        assert!(offer(&mut s, 1).is_some() && offer(&mut s, 2).is_some());
        assert_eq!(offer(&mut s, 3), None);
        assert_eq!(s.stats().exhausted, 1);
        let (reply, _) = send(&mut s, &message(Discover, 3), OFFER_HOLD_SECONDS).unwrap();
        assert_eq!(reply.yiaddr(), ip("192.168.10.100"));
    }

    #[test]
    fn expired_leases_are_reused_after_never_used_addresses() {
        let short = Pool {
            lease_time: Duration::from_secs(10),
            ..range("192.168.10.100", "192.168.10.102")
        };
        let mut s = server_with(vec![short], None);
        dora(&mut s, 1);
        dora(&mut s, 2);
        let at =
            |s: &mut Server, client| send(s, &message(Discover, client), 20).unwrap().0.yiaddr();
        assert_eq!(at(&mut s, 3), ip("192.168.10.102"));
        assert_eq!(at(&mut s, 4), ip("192.168.10.100"));
        assert_eq!(
            at(&mut s, 2),
            ip("192.168.10.101"),
            "its own, expired but not reused"
        );
    }

    #[test]
    fn a_released_address_is_free_and_goes_back_to_its_client() {
        let mut s = server();
        let addr = dora(&mut s, 1);
        let mut release = message(Release, 1);
        release.set_ciaddr(addr);
        assert!(send(&mut s, &release, 5).is_none());
        assert!(s.leases(t(5)).is_empty());
        assert_eq!(s.stats().releases, 1);
        assert_eq!(
            send(&mut s, &message(Discover, 1), 6).unwrap().0.yiaddr(),
            addr
        );
    }

    #[test]
    fn a_declined_address_is_not_offered_for_a_lease_time() {
        let mut s = server_with(vec![range("192.168.10.100", "192.168.10.101")], None);
        let addr = dora(&mut s, 1);
        let mut decline = message(Decline, 1);
        decline
            .opts_mut()
            .insert(DhcpOption::RequestedIpAddress(addr));
        assert!(send(&mut s, &decline, 0).is_none());
        assert_eq!(addresses(&s, 0), [(addr, "declined".to_string())]);
        assert_eq!(dora(&mut s, 1), ip("192.168.10.101"));
        assert_eq!(offer(&mut s, 2), None);
        assert_eq!(
            kind(&send(&mut s, &renew(1, "192.168.10.101"), 100).unwrap().0),
            Ack
        );
        assert_eq!(
            send(&mut s, &message(Discover, 2), 3600)
                .unwrap()
                .0
                .yiaddr(),
            addr
        );
    }

    #[test]
    fn inform_gets_options_but_no_address() {
        let mut s = server();
        let mut inform = message(Inform, 9);
        inform.set_ciaddr(ip("192.168.10.7"));
        let (ack, to) = send(&mut s, &inform, 0).unwrap();
        assert_eq!(
            (kind(&ack), ack.yiaddr(), to),
            (
                Ack,
                Ipv4Addr::UNSPECIFIED,
                SocketAddrV4::new(ip("192.168.10.7"), CLIENT_PORT)
            )
        );
        assert!(ack.opts().get(OptionCode::AddressLeaseTime).is_none());
        assert!(ack.opts().get(OptionCode::Router).is_some());
        assert!(s.leases(t(0)).is_empty());
        assert_eq!(s.stats().informs, 1);
    }

    #[test]
    fn leases_survive_a_restart() {
        let path = std::env::temp_dir().join(format!("labctl-dhcp-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut s = server_with(vec![lan()], Some(path.clone()));
        let (old, second) = (dora(&mut s, 1), dora(&mut s, 2));
        dora(&mut s, 2); // a renewal: one more line for the same lease
        let moved = ip("192.168.10.150");
        let (ack, _) = send(&mut s, &request(1, Some(LAN.local.addr), Some(moved)), 0).unwrap();
        assert_eq!((kind(&ack), ack.yiaddr()), (Ack, moved));
        drop(s);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"mac\":\"02:00").unwrap(); // cut short by a crash
        // Twice: from the journal, then from the compacted file.
        for _ in 0..2 {
            let mut s = server_with(vec![lan()], Some(path.clone()));
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            assert_eq!(lines, 3, "compacted: {old}, {second} and {moved}");
            assert_eq!(offer(&mut s, 1), Some(moved));
            assert_eq!(offer(&mut s, 3), Some(ip("192.168.10.102")));
            let (nak, _) = send(&mut s, &request(3, None, Some(second)), 0).unwrap();
            assert_eq!(kind(&nak), Nak);
        }
        std::fs::remove_file(&path).unwrap();
    }

    /// A small deterministic generator (xorshift), for the fuzz test.
    fn noise(seed: &mut u64) -> u8 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 24) as u8
    }

    #[test]
    fn malformed_datagrams_are_dropped_and_counted() {
        let mut s = server();
        let mut bad = Vec::new();
        let mut reply = message(Discover, 1);
        reply.set_opcode(Opcode::BootReply);
        let [mut long_hlen, mut zero_mac, mut multicast] =
            [1, 1, 1].map(|client| message(Discover, client));
        long_hlen.set_chaddr(&[2; 16]);
        zero_mac.set_chaddr(&[0; 6]);
        multicast.set_chaddr(&[1, 0, 0x5e, 0, 0, 1]);
        let untyped = Message::new(
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            &mac(1),
        );
        bad.extend([reply, untyped, long_hlen, zero_mac, multicast].map(|m| m.to_vec().unwrap()));
        let real = request(1, Some(LAN.local.addr), Some(ip("192.168.10.100")))
            .to_vec()
            .unwrap();
        bad.extend((0..COOKIE_OFFSET + 4).map(|len| real[..len].to_vec()));
        let mut corrupt = real.clone();
        corrupt[COOKIE_OFFSET] = 0;
        bad.push(corrupt);
        for datagram in &bad {
            assert!(s.handle(datagram, &LAN, t(0)).is_none());
        }
        assert_eq!(s.stats().malformed, bad.len() as u64);
        // Random bytes, and random options behind a valid header: no panic.
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for round in 0..20_000 {
            let len = usize::from(noise(&mut seed)) * 2;
            let mut datagram: Vec<u8> = (0..len).map(|_| noise(&mut seed)).collect();
            if round % 2 == 0 && len > COOKIE_OFFSET + 4 {
                datagram[..COOKIE_OFFSET].copy_from_slice(&real[..COOKIE_OFFSET]);
                datagram[COOKIE_OFFSET..COOKIE_OFFSET + 4].copy_from_slice(&MAGIC_COOKIE);
            }
            s.handle(&datagram, &LAN, t(0));
        }
        for len in COOKIE_OFFSET..real.len() {
            s.handle(&real[..len], &LAN, t(0));
        }
    }

    #[tokio::test]
    async fn serve_answers_a_relay_over_udp() {
        use tokio::time::timeout;
        let relay = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server_addr = socket.local_addr().unwrap();
        let pool = Pool {
            subnet: net("127.0.0.0/8"),
            ..range("127.0.0.100", "127.0.0.110")
        };
        let server_port = relay.local_addr().unwrap().port();
        let config = ServerConfig {
            pools: vec![pool],
            lease_file: None,
            client_port: CLIENT_PORT,
            server_port,
        };
        let server = Arc::new(Mutex::new(Server::new(config, SystemTime::now()).unwrap()));
        let stop_tx = ShutdownTrigger::new();
        let stop = stop_tx.subscribe();
        let arrival = Arrival {
            local: net("127.0.0.1/8"),
        };
        let task = tokio::spawn(serve(server.clone(), vec![(socket, arrival)], stop));
        let exchange = async |mut m: Message| {
            m.set_giaddr(ip("127.0.0.1"));
            relay
                .send_to(&m.to_vec().unwrap(), server_addr)
                .await
                .unwrap();
            let mut buffer = [0u8; 1500];
            let (len, _) = timeout(Duration::from_secs(5), relay.recv_from(&mut buffer))
                .await
                .unwrap()
                .unwrap();
            Message::decode(&mut Decoder::new(&buffer[..len])).unwrap()
        };
        let offer = exchange(message(Discover, 1)).await;
        assert_eq!((kind(&offer), offer.yiaddr()), (Offer, ip("127.0.0.100")));
        let ack = exchange(request(1, Some(ip("127.0.0.1")), Some(offer.yiaddr()))).await;
        assert_eq!((kind(&ack), ack.yiaddr()), (Ack, ip("127.0.0.100")));
        stop_tx.fire();
        timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(server.lock().unwrap().stats().acks, 1);
    }
}
