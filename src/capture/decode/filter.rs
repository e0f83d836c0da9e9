//! Which events to show: `--proto smtp,dns` and `--node pc-ada`.

use super::{Event, Layer, Proto};
use crate::capture::frame::Tap;

/// Events of any of these protocols, touching any of these nodes (an
/// empty list lets everything through).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub protos: Vec<Proto>,
    pub nodes: Vec<String>,
}

impl Filter {
    /// `smtp,dns`: the protocols of a `--proto` list.
    pub fn parse_protos(list: &str) -> Result<Vec<Proto>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                Proto::ALL
                    .into_iter()
                    .find(|p| p.name().eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        let known: Vec<&str> = Proto::ALL.iter().map(|p| p.name()).collect();
                        format!(
                            "unknown protocol {name:?} in --proto\n  fix: use some of {}",
                            known.join(", ")
                        )
                    })
            })
            .collect()
    }

    /// An event passes when its protocol — or the transport under it: an
    /// SMTP connection's handshake is `tcp` too — is asked for, and it was
    /// sent by, sent to or seen at one of the nodes.
    pub fn matches(&self, event: &Event, taps: &[Tap]) -> bool {
        let proto_ok = self.protos.is_empty()
            || self.protos.contains(&event.proto)
            || event.layers.iter().any(|layer| {
                let under = match layer {
                    Layer::Tcp { .. } => Proto::Tcp,
                    Layer::Udp { .. } => Proto::Udp,
                    Layer::Icmp { .. } => Proto::Icmp,
                    Layer::Arp { .. } => Proto::Arp,
                    _ => return false,
                };
                self.protos.contains(&under)
            });
        let node_ok = self.nodes.is_empty()
            || self.nodes.iter().any(|node| {
                event.from.as_deref() == Some(node)
                    || event.to.as_deref() == Some(node)
                    || event
                        .path
                        .iter()
                        .any(|hop| taps.get(hop.tap).is_some_and(|t| &t.node == node))
            });
        proto_ok && node_ok
    }
}
