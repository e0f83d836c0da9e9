//! The server on 127.0.0.1 (ephemeral ports), asked by the stub client:
//! flags, refusal, TCP, truncation, hostile input, and a forwarder in front
//! of an authoritative server (cache with TTL countdown).

use super::*;
use crate::lab::zones::Zone;
use crate::lab::zones::{RecordValue, ZoneRecord};
use crate::random_input::Random;
use crate::services::dns::client::{QueryError, query};
use crate::services::dns::handler::Prepared;
use crate::services::dns::upstream::Role;
use crate::services::shutdown::ShutdownTrigger;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;
use hickory_proto::rr::{Name, RecordType};
use std::net::{Ipv4Addr, SocketAddr};

fn cbrc() -> Zone {
    let record = |name: &str, data| ZoneRecord {
        name: name.into(),
        data,
    };
    let mut records = vec![
        record(
            "mail.cbrc.com.",
            RecordValue::A(Ipv4Addr::new(192, 168, 1, 2)),
        ),
        record(
            "cbrc.com.",
            RecordValue::Mx {
                preference: 10,
                exchange: "mail.cbrc.com.".into(),
            },
        ),
    ];
    for i in 0..120u8 {
        records.push(record(
            "big.cbrc.com.",
            RecordValue::A(Ipv4Addr::new(10, 9, 0, i)),
        ));
    }
    Zone::new("cbrc.com.".into(), 300, false, records)
}

async fn start(zones: &[Zone], role: Option<Role>) -> (SocketAddr, ShutdownTrigger) {
    start_with(zones, role, TcpConfig::default()).await
}

async fn start_with(
    zones: &[Zone],
    role: Option<Role>,
    tcp_config: TcpConfig,
) -> (SocketAddr, ShutdownTrigger) {
    let handler = Arc::new(Handler::new(zones, role.as_ref()).unwrap());
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    let stop_tx = ShutdownTrigger::new();
    tokio::spawn(serve(
        handler,
        vec![udp],
        vec![tcp],
        tcp_config,
        stop_tx.subscribe(),
    ));
    (addr, stop_tx)
}

const WAIT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn authoritative_answers_and_refusals() {
    let (server, _stop) = start(&[cbrc()], None).await;
    let mail = query(server, "mail.cbrc.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert!(mail.authoritative);
    assert!(!mail.recursion_available);
    assert_eq!(mail.ipv4(), [Ipv4Addr::new(192, 168, 1, 2)]);
    let missing = query(server, "nope.cbrc.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert_eq!(missing.rcode, ResponseCode::NXDomain);
    assert!(missing.authoritative);
    let elsewhere = query(server, "www.mastertech.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert_eq!(elsewhere.rcode, ResponseCode::Refused);
    assert!(!elsewhere.authoritative);
}

#[tokio::test]
async fn large_answers_are_truncated_over_udp_and_complete_over_tcp() {
    let (server, _stop) = start(&[cbrc()], None).await;
    // The client retries over TCP when TC is set: all 120 records arrive.
    let big = query(server, "big.cbrc.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert_eq!(big.ipv4().len(), 120);
    // Over UDP alone the reply is cut to the advertised size, with TC.
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut request = Message::query();
    request.add_query(hickory_proto::op::Query::query(
        Name::from_ascii("big.cbrc.com.").unwrap(),
        RecordType::A,
    ));
    socket
        .send_to(&request.to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buffer = [0u8; 4096];
    let (len, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(len <= 512);
    let reply = Message::from_vec(&buffer[..len]).unwrap();
    assert!(reply.metadata.truncation);
}

#[tokio::test]
async fn hostile_datagrams_do_not_stop_the_server() {
    let (server, _stop) = start(&[cbrc()], None).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buffer = [0u8; 4096];
    // A readable header with a broken body: FORMERR with the same id.
    let mut broken = vec![0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    broken.extend_from_slice(&[0x3f, b'x']); // a label longer than the datagram
    socket.send_to(&broken, server).await.unwrap();
    let (len, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buffer[..2], &[0xab, 0xcd]);
    assert_eq!(buffer[3] & 0x0f, 1, "FORMERR: {:?}", &buffer[..len]);
    for junk in [&b""[..], b"\x01", &[0xff; 11], &[0x80; 300]] {
        socket.send_to(junk, server).await.unwrap();
    }
    let mail = query(server, "mail.cbrc.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert_eq!(mail.ipv4(), [Ipv4Addr::new(192, 168, 1, 2)]);
}

#[tokio::test]
async fn forwarder_caches_and_counts_the_ttl_down() {
    let (authoritative, _stop_a) = start(&[cbrc()], None).await;
    let (forwarder, _stop_f) = start(&[], Some(Role::Forward(vec![authoritative]))).await;
    let first = query(forwarder, "mail.cbrc.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert!(!first.authoritative);
    assert!(first.recursion_available);
    assert_eq!(first.ipv4(), [Ipv4Addr::new(192, 168, 1, 2)]);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let second = query(forwarder, "mail.cbrc.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert!(
        second.answers[0].ttl <= first.answers[0].ttl - 2,
        "{} then {}",
        first.answers[0].ttl,
        second.answers[0].ttl
    );
    let missing = query(forwarder, "nope.cbrc.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert_eq!(missing.rcode, ResponseCode::NXDomain);
    let mx = crate::services::dns::client::mail_exchangers_at(&[forwarder], "cbrc.com")
        .await
        .unwrap();
    assert_eq!(
        mx,
        [(
            "mail.cbrc.com".to_string(),
            vec![Ipv4Addr::new(192, 168, 1, 2)]
        )]
    );
}

#[tokio::test]
async fn forwarder_with_a_dead_upstream_says_servfail() {
    let dead = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let (forwarder, _stop) = start(&[], Some(Role::Forward(vec![dead]))).await;
    let reply = query(
        forwarder,
        "mail.cbrc.com",
        RecordType::A,
        Duration::from_secs(8),
    )
    .await;
    match reply {
        Ok(reply) => assert_eq!(reply.rcode, ResponseCode::ServFail),
        Err(e) => assert!(matches!(e, QueryError::Timeout { .. }), "{e}"),
    }
}

#[tokio::test]
async fn random_and_mutated_messages_never_panic() {
    let handler = Handler::new(&[cbrc()], None).unwrap();
    let mut valid = Message::query();
    valid.add_query(hickory_proto::op::Query::query(
        Name::from_ascii("mail.cbrc.com.").unwrap(),
        RecordType::A,
    ));
    let valid = valid.to_vec().unwrap();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut next = || random.next();
    for round in 0..20_000 {
        let mut bytes = if round % 2 == 0 {
            let len = (next() % 600) as usize;
            (0..len).map(|_| next() as u8).collect::<Vec<u8>>()
        } else {
            valid.clone()
        };
        if !bytes.is_empty() {
            for _ in 0..(next() % 6) {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
        }
        for udp in [true, false] {
            if let Prepared::Reply(reply) = handler.prepare(&bytes, udp) {
                assert!(reply.len() >= 12 || reply.is_empty());
            }
        }
    }
}

#[tokio::test]
async fn tcp_garbage_closes_only_that_connection() {
    let (server, _stop) = start(&[cbrc()], None).await;
    let mut stream = TcpStream::connect(server).await.unwrap();
    stream
        .write_all(&[0x00, 0x03, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest)).await;
    let mail = query(server, "mail.cbrc.com", RecordType::A, WAIT)
        .await
        .unwrap();
    assert_eq!(mail.ipv4(), [Ipv4Addr::new(192, 168, 1, 2)]);
}

/// A TCP connection from `from` (any 127/8 address) to `server`.
async fn tcp_from(from: Ipv4Addr, server: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from.into(), 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// Asks for mail.cbrc.com A on `stream` (RFC 7766 framing): the answer's
/// addresses, or None when the server closed instead.
async fn ask_over_tcp(stream: &mut TcpStream) -> Option<Vec<RData>> {
    let mut request = Message::query();
    request.add_query(hickory_proto::op::Query::query(
        Name::from_ascii("mail.cbrc.com.").unwrap(),
        RecordType::A,
    ));
    let bytes = request.to_vec().unwrap();
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    // The write may fail when the server has already closed.
    let _ = stream.write_all(&framed).await;
    let read = async {
        let len = stream.read_u16().await.ok()?;
        let mut reply = vec![0u8; usize::from(len)];
        stream.read_exact(&mut reply).await.ok()?;
        Some(reply)
    };
    let reply = tokio::time::timeout(WAIT, read).await.expect("in time")?;
    let reply = Message::from_vec(&reply).unwrap();
    Some(reply.answers.iter().map(|r| r.data.clone()).collect())
}

/// With a per-client cap of 3, the fourth and fifth TCP connections from
/// 127.0.0.1 are closed unanswered, while 127.0.0.2 is answered.
#[tokio::test]
async fn one_address_cannot_take_every_tcp_connection() {
    let mut config = TcpConfig::default();
    config.connections.max_per_client = 3;
    let (server, _stop) = start_with(&[cbrc()], None, config).await;
    let mail = vec![RData::A(Ipv4Addr::new(192, 168, 1, 2).into())];
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = tcp_from(Ipv4Addr::LOCALHOST, server).await;
        assert_eq!(ask_over_tcp(&mut stream).await, Some(mail.clone()));
        held.push(stream);
    }
    for _ in 0..2 {
        let mut stream = tcp_from(Ipv4Addr::LOCALHOST, server).await;
        assert_eq!(ask_over_tcp(&mut stream).await, None);
    }
    let mut other = tcp_from(Ipv4Addr::new(127, 0, 0, 2), server).await;
    assert_eq!(ask_over_tcp(&mut other).await, Some(mail.clone()));
    // Held connections still work.
    assert_eq!(ask_over_tcp(&mut held[0]).await, Some(mail));
}

/// A TCP client that says nothing, or nothing more, is closed after the
/// idle timeout.
#[tokio::test]
async fn silent_tcp_clients_are_closed_at_the_idle_timeout() {
    let config = TcpConfig {
        idle_timeout: Duration::from_millis(300),
        ..TcpConfig::default()
    };
    let (server, _stop) = start_with(&[cbrc()], None, config).await;
    let started = tokio::time::Instant::now();
    let mut silent = TcpStream::connect(server).await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, silent.read_to_end(&mut rest))
        .await
        .expect("closed in time")
        .unwrap();
    assert!(rest.is_empty());
    let mut answered = TcpStream::connect(server).await.unwrap();
    assert!(ask_over_tcp(&mut answered).await.is_some());
    tokio::time::timeout(WAIT, answered.read_to_end(&mut rest))
        .await
        .expect("closed in time")
        .unwrap();
    assert!(rest.is_empty());
    assert!(started.elapsed() < WAIT);
}

/// Many clients at once, with junk among their queries: every reply of a
/// batch goes to the client that asked (its own ids), none is lost.
#[tokio::test]
async fn a_batch_of_queries_from_many_clients_is_answered_to_each() {
    let (server, _stop) = start(&[cbrc()], None).await;
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    }
    for (c, client) in clients.iter().enumerate() {
        for q in 0..8u16 {
            let mut request = Message::query();
            request.metadata.id = (c as u16) << 8 | q;
            request.add_query(hickory_proto::op::Query::query(
                Name::from_ascii("mail.cbrc.com.").unwrap(),
                RecordType::A,
            ));
            client
                .send_to(&request.to_vec().unwrap(), server)
                .await
                .unwrap();
            client.send_to(b"\x01", server).await.unwrap(); // ignored
        }
    }
    let mut buffer = [0u8; 4096];
    for (c, client) in clients.iter().enumerate() {
        let mut ids = Vec::new();
        for _ in 0..8 {
            let (len, _) = tokio::time::timeout(WAIT, client.recv_from(&mut buffer))
                .await
                .expect("every query answered")
                .unwrap();
            let reply = Message::from_vec(&buffer[..len]).unwrap();
            assert_eq!(reply.answers.len(), 1);
            ids.push(reply.metadata.id);
        }
        ids.sort();
        let expected: Vec<u16> = (0..8).map(|q| (c as u16) << 8 | q).collect();
        assert_eq!(ids, expected, "client {c}");
    }
}
