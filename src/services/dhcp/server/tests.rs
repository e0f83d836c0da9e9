//! The server without sockets (datagrams in, replies out, at chosen
//! times), its lease file, hostile datagrams, and `serve` over UDP. One
//! file past 600 lines: every test drives the same small harness
//! (`server`, `send`, `dora`) at the top.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::services::shutdown::ShutdownTrigger;
use MessageType::{Ack, Decline, Discover, Inform, Nak, Offer, Release};
use dhcproto::v4::{DhcpOption, Flags, Message, MessageType, Opcode, OptionCode};
use dhcproto::{Decodable, Decoder, Encodable};
use tokio::net::UdpSocket;

use super::reply::MIN_REPLY_LEN;
use super::request::{COOKIE_OFFSET, MAGIC_COOKIE};
use super::*;
use crate::lab::addr::Mac;
use crate::random_input::Random;
use crate::services::dhcp::lease_info::LeaseState;
use crate::services::dhcp::leases::OFFER_HOLD_SECONDS;

const CLIENT_PORT: u16 = 1068;
const SERVER_PORT: u16 = 1067;
const LAN: Arrival = Arrival {
    local: Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 10, 1), 24),
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
        &request(client, Some(LAN.local.addr()), Some(addr)),
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
    let mut m = request(1, Some(LAN.local.addr()), Some(addr));
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
    let (nak, to) = send(&mut s, &request(2, Some(LAN.local.addr()), Some(addr)), 0).unwrap();
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
        Some(&DhcpOption::ServerIdentifier(LAN.local.addr()))
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
        format!("dhcp xid 0x1a2b3c4d C: DISCOVER from {mac1} \"pc1\\x1b[2J\" via relay 10.20.0.1"),
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
        &request(2, Some(LAN.local.addr()), Some(ip("192.168.10.50"))),
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
    let at = |s: &mut Server, client| send(s, &message(Discover, client), 20).unwrap().0.yiaddr();
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
    let (ack, _) = send(&mut s, &request(1, Some(LAN.local.addr()), Some(moved)), 0).unwrap();
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
    let real = request(1, Some(LAN.local.addr()), Some(ip("192.168.10.100")))
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
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut noise = || (random.next() >> 24) as u8;
    for round in 0..20_000 {
        let len = usize::from(noise()) * 2;
        let mut datagram: Vec<u8> = (0..len).map(|_| noise()).collect();
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
