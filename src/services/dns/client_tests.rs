//! The stub client against a scripted server on 127.0.0.1 that can answer,
//! truncate, refuse, stay silent or send garbage first.

use super::*;
use hickory_proto::op::OpCode;
use hickory_proto::rr::rdata::{A, CNAME, MX};
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Clone, Copy, Default)]
struct Behaviour {
    truncate_udp: bool,
    garbage_first: bool,
    refuse: bool,
}

/// A tiny authoritative responder over a fixed record list (UDP and TCP on
/// the same port). Names without records are NXDOMAIN.
async fn fake_server(records: Vec<Record>, behaviour: Behaviour) -> SocketAddr {
    let records = Arc::new(records);
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    let for_udp = records.clone();
    tokio::spawn(async move {
        let mut buffer = [0u8; 4096];
        while let Ok((len, peer)) = udp.recv_from(&mut buffer).await {
            let request = Message::from_vec(&buffer[..len]).unwrap();
            if behaviour.garbage_first {
                udp.send_to(b"\x00\x01garbage", peer).await.unwrap();
                let mut wrong_id = answer(&request, &for_udp, behaviour);
                wrong_id.metadata.id = request.metadata.id.wrapping_add(1);
                wrong_id.answers.clear();
                udp.send_to(&wrong_id.to_vec().unwrap(), peer)
                    .await
                    .unwrap();
            }
            let mut reply = answer(&request, &for_udp, behaviour);
            if behaviour.truncate_udp {
                reply.answers.clear();
                reply.metadata.truncation = true;
            }
            udp.send_to(&reply.to_vec().unwrap(), peer).await.unwrap();
        }
    });
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            let len = stream.read_u16().await.unwrap() as usize;
            let mut bytes = vec![0u8; len];
            stream.read_exact(&mut bytes).await.unwrap();
            let request = Message::from_vec(&bytes).unwrap();
            let reply = answer(&request, &records, behaviour).to_vec().unwrap();
            stream.write_u16(reply.len() as u16).await.unwrap();
            stream.write_all(&reply).await.unwrap();
        }
    });
    addr
}

fn answer(request: &Message, records: &[Record], behaviour: Behaviour) -> Message {
    let mut reply = Message::response(request.metadata.id, OpCode::Query);
    reply.add_queries(request.queries.clone());
    reply.metadata.authoritative = true;
    let question = &request.queries[0];
    if behaviour.refuse {
        reply.metadata.response_code = ResponseCode::Refused;
        return reply;
    }
    let named: Vec<&Record> = records
        .iter()
        .filter(|r| r.name == *question.name())
        .collect();
    if named.is_empty() {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.add_answers(
        named
            .into_iter()
            .filter(|r| r.record_type() == question.query_type())
            .cloned(),
    );
    reply
}

fn a(name: &str, ip: [u8; 4]) -> Record {
    Record::from_rdata(
        name.parse().unwrap(),
        300,
        RData::A(A::from(Ipv4Addr::from(ip))),
    )
}

fn mx(name: &str, preference: u16, exchange: &str) -> Record {
    let data = RData::MX(MX::new(preference, exchange.parse().unwrap()));
    Record::from_rdata(name.parse().unwrap(), 300, data)
}

fn cbrc() -> Vec<Record> {
    vec![
        a("cbrc.com.", [192, 168, 1, 2]),
        mx("cbrc.com.", 20, "backup.cbrc.com."),
        mx("cbrc.com.", 10, "mail.cbrc.com."),
        a("mail.cbrc.com.", [192, 168, 1, 2]),
        a("backup.cbrc.com.", [192, 168, 1, 3]),
        Record::from_rdata(
            "www.cbrc.com.".parse().unwrap(),
            300,
            RData::CNAME(CNAME("web.cbrc.com.".parse().unwrap())),
        ),
        a("nomx.org.", [10, 0, 0, 9]),
        mx("null.org.", 0, "."),
        mx("broken.org.", 10, "missing.broken.org."),
    ]
}

const SHORT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn query_returns_answers_and_flags() {
    let server = fake_server(cbrc(), Behaviour::default()).await;
    let reply = query(server, "mail.cbrc.com", RecordType::A, SHORT)
        .await
        .unwrap();
    assert_eq!(reply.rcode, ResponseCode::NoError);
    assert!(reply.authoritative);
    assert!(!reply.recursion_available);
    assert_eq!(reply.ipv4(), vec![Ipv4Addr::new(192, 168, 1, 2)]);
    assert_eq!(reply.server, server);
}

#[tokio::test]
async fn nxdomain_and_nodata_are_told_apart() {
    let server = fake_server(cbrc(), Behaviour::default()).await;
    let missing = query(server, "nope.cbrc.com.", RecordType::A, SHORT)
        .await
        .unwrap();
    assert_eq!(missing.rcode, ResponseCode::NXDomain);
    let err = missing.require("nope.cbrc.com", RecordType::A).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");

    let nodata = query(server, "mail.cbrc.com", RecordType::MX, SHORT)
        .await
        .unwrap();
    let err = nodata.require("mail.cbrc.com", RecordType::MX).unwrap_err();
    assert!(matches!(err, QueryError::NoData { .. }), "{err}");
}

#[tokio::test]
async fn truncated_udp_reply_is_asked_again_over_tcp() {
    let behaviour = Behaviour {
        truncate_udp: true,
        ..Behaviour::default()
    };
    let server = fake_server(cbrc(), behaviour).await;
    let reply = query(server, "cbrc.com", RecordType::MX, SHORT)
        .await
        .unwrap();
    assert_eq!(reply.data_of(RecordType::MX).count(), 2);
}

#[tokio::test]
async fn garbage_and_wrong_ids_are_ignored() {
    let behaviour = Behaviour {
        garbage_first: true,
        ..Behaviour::default()
    };
    let server = fake_server(cbrc(), behaviour).await;
    let reply = query(server, "mail.cbrc.com", RecordType::A, SHORT)
        .await
        .unwrap();
    assert_eq!(reply.ipv4(), vec![Ipv4Addr::new(192, 168, 1, 2)]);
}

#[tokio::test]
async fn silent_server_times_out_naming_the_server() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = silent.local_addr().unwrap();
    let started = Instant::now();
    let err = query(server, "a.b", RecordType::A, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(err, QueryError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains(&server.to_string()), "{err}");
}

#[tokio::test]
async fn bad_names_are_refused_before_sending() {
    let err = query("127.0.0.1:9".parse().unwrap(), "", RecordType::A, SHORT)
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::BadName { .. }), "{err}");
    let long_label = format!("{}.com", "x".repeat(64));
    let err = query(
        "127.0.0.1:9".parse().unwrap(),
        &long_label,
        RecordType::A,
        SHORT,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, QueryError::BadName { .. }), "{err}");
}

#[tokio::test]
async fn lookup_moves_past_refusing_and_closed_servers() {
    let refusing = fake_server(
        cbrc(),
        Behaviour {
            refuse: true,
            ..Behaviour::default()
        },
    )
    .await;
    let closed = {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.local_addr().unwrap()
    };
    let good = fake_server(cbrc(), Behaviour::default()).await;
    let reply = lookup_at(&[refusing, closed, good], "mail.cbrc.com", RecordType::A)
        .await
        .unwrap();
    assert_eq!(reply.server, good);

    let err = lookup_at(&[refusing], "mail.cbrc.com", RecordType::A)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("REFUSED") || err.to_string().contains("Refused"),
        "{err}"
    );
    let err = lookup_at(&[], "mail.cbrc.com", RecordType::A)
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::NoServers));
}

#[tokio::test]
async fn mail_exchangers_by_preference_with_addresses() {
    let server = fake_server(cbrc(), Behaviour::default()).await;
    let found = mail_exchangers_at(&[server], "cbrc.com").await.unwrap();
    assert_eq!(
        found,
        vec![
            (
                "mail.cbrc.com".to_string(),
                vec![Ipv4Addr::new(192, 168, 1, 2)]
            ),
            (
                "backup.cbrc.com".to_string(),
                vec![Ipv4Addr::new(192, 168, 1, 3)]
            ),
        ]
    );
}

#[tokio::test]
async fn mail_exchangers_fall_back_to_a_and_report_failures() {
    let server = fake_server(cbrc(), Behaviour::default()).await;
    let found = mail_exchangers_at(&[server], "nomx.org").await.unwrap();
    assert_eq!(
        found,
        vec![("nomx.org".to_string(), vec![Ipv4Addr::new(10, 0, 0, 9)])]
    );

    let err = mail_exchangers_at(&[server], "null.org").await.unwrap_err();
    assert!(matches!(err, QueryError::NullMx { .. }), "{err}");
    let err = mail_exchangers_at(&[server], "nowhere.org")
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::NxDomain { .. }), "{err}");
    let err = mail_exchangers_at(&[server], "broken.org")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing.broken.org"), "{err}");
}
