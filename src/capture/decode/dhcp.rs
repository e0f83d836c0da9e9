//! DHCP messages (read with dhcproto, as the lab's own server and client
//! do) in a course's words: type, transaction id, the addresses the
//! exchange is about, the relay and the server.

use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Message, MessageType, OptionCode};
use dhcproto::{Decodable, Decoder};

/// One DHCP message, decoded.
pub struct DhcpMessage {
    /// `DHCP OFFER xid 0x3903f326 yiaddr 192.168.30.101 …`
    pub text: String,
    pub fields: Vec<(String, String)>,
    /// Sent by a server (OFFER, ACK, NAK).
    pub reply: bool,
    /// An ACK: this client MAC now has this address.
    pub lease: Option<(Ipv4Addr, [u8; 6])>,
}

pub fn decode(payload: &[u8]) -> Option<DhcpMessage> {
    let message =
        std::panic::catch_unwind(|| Message::decode(&mut Decoder::new(payload)).ok()).ok()??;
    let kind = match message.opts().get(OptionCode::MessageType) {
        Some(DhcpOption::MessageType(kind)) => *kind,
        _ => return None,
    };
    let name = match kind {
        MessageType::Discover => "DISCOVER".to_string(),
        MessageType::Offer => "OFFER".into(),
        MessageType::Request => "REQUEST".into(),
        MessageType::Decline => "DECLINE".into(),
        MessageType::Ack => "ACK".into(),
        MessageType::Nak => "NAK".into(),
        MessageType::Release => "RELEASE".into(),
        MessageType::Inform => "INFORM".into(),
        other => format!("{other:?}").to_uppercase(),
    };
    let mut fields = vec![
        ("type".to_string(), name.clone()),
        ("xid".to_string(), format!("0x{:08x}", message.xid())),
    ];
    let chaddr = <[u8; 6]>::try_from(message.chaddr().get(..6).unwrap_or_default()).ok();
    if let Some(mac) = chaddr {
        fields.push(("chaddr".into(), super::layers::mac_text(mac)));
    }
    for (label, address) in [
        ("ciaddr", message.ciaddr()),
        ("yiaddr", message.yiaddr()),
        ("giaddr", message.giaddr()),
    ] {
        if !address.is_unspecified() {
            fields.push((label.into(), address.to_string()));
        }
    }
    if let Some(DhcpOption::RequestedIpAddress(ip)) =
        message.opts().get(OptionCode::RequestedIpAddress)
    {
        fields.push(("requested".into(), ip.to_string()));
    }
    if let Some(DhcpOption::ServerIdentifier(ip)) = message.opts().get(OptionCode::ServerIdentifier)
    {
        fields.push(("server id".into(), ip.to_string()));
    }
    if let Some(DhcpOption::Message(why)) = message.opts().get(OptionCode::Message) {
        fields.push(("message".into(), why.clone()));
    }
    let mut text = format!("DHCP {name}");
    for (label, value) in &fields[1..] {
        if label == "chaddr" {
            continue; // the sender's node names it
        }
        let shown = match label.as_str() {
            "giaddr" => format!(" giaddr {value} (relay)"),
            "message" => format!(" {value:?}"),
            _ => format!(" {label} {value}"),
        };
        text.push_str(&shown);
    }
    let lease = (kind == MessageType::Ack && !message.yiaddr().is_unspecified())
        .then_some(())
        .and(chaddr)
        .map(|mac| (message.yiaddr(), mac));
    Some(DhcpMessage {
        text,
        fields,
        reply: matches!(
            kind,
            MessageType::Offer | MessageType::Ack | MessageType::Nak
        ),
        lease,
    })
}
