//! Addresses as a lab file writes them: IPv4 networks `ADDRESS/PREFIX`
//! (the type is `ipnet::Ipv4Net`; this module adds the parser with the
//! messages a student needs when one is wrong, and the subnet questions
//! ipnet does not answer) and MAC addresses.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The destination of a default route: every IPv4 address.
pub const DEFAULT_ROUTE: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::UNSPECIFIED, 0);

/// What `ipnet::Ipv4Net` does not say about a subnet: which of its
/// addresses a host cannot have, and whether two networks overlap.
pub trait SubnetExt {
    /// True when the address has no host bits: it names the network itself.
    fn is_network_address(&self) -> bool;
    /// True when `addr` cannot be given to an interface on this subnet: its
    /// network or broadcast address, if the subnet has room for hosts
    /// (a /31 or /32 uses every address).
    fn reserves(&self, addr: Ipv4Addr) -> bool;
    /// True when this address cannot be given to an interface (see `reserves`).
    fn is_reserved_host(&self) -> bool;
    /// True when the two networks share an address.
    fn overlaps(&self, other: &Ipv4Net) -> bool;
}

impl SubnetExt for Ipv4Net {
    fn is_network_address(&self) -> bool {
        self.addr() == self.network()
    }

    fn reserves(&self, addr: Ipv4Addr) -> bool {
        self.prefix_len() < 31 && (addr == self.network() || addr == self.broadcast())
    }

    fn is_reserved_host(&self) -> bool {
        self.reserves(self.addr())
    }

    fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.contains(other) || other.contains(self)
    }
}

/// Why a text is not `ADDRESS/PREFIX`, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetParseError {
    pub message: String,
    pub hint: String,
}

/// Parses `ADDRESS/PREFIX` as written in a lab file, keeping the host bits
/// (an interface address `192.168.1.2/24` stays itself); a mistake is told
/// the way a student needs it (a missing prefix, a mask where the prefix
/// length goes, a number out of range).
pub fn parse_net(text: &str) -> Result<Ipv4Net, NetParseError> {
    let example = "write ADDRESS/PREFIX, e.g. 192.168.1.2/24";
    let Some((addr, prefix)) = text.split_once('/') else {
        return Err(NetParseError {
            message: format!("`{text}` has no prefix length"),
            hint: match parse_ipv4(text) {
                Ok(_) => format!("add the prefix length: `{text}/24` for a 255.255.255.0 mask"),
                Err(_) => example.to_string(),
            },
        });
    };
    let addr = parse_ipv4(addr).map_err(|message| NetParseError {
        message,
        hint: example.to_string(),
    })?;
    match prefix.parse::<u8>().map(|p| Ipv4Net::new(addr, p)) {
        Ok(Ok(net)) => Ok(net),
        _ => Err(NetParseError {
            message: format!("`/{prefix}` is not a prefix length"),
            hint: mask_hint(prefix),
        }),
    }
}

/// Parses an IPv4 address, saying which part is wrong.
pub fn parse_ipv4(text: &str) -> Result<Ipv4Addr, String> {
    Ipv4Addr::from_str(text).map_err(|_| {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 4 {
            format!("`{text}` is not an IPv4 address (it needs four numbers separated by dots)")
        } else if let Some(bad) = parts.iter().find(|p| p.parse::<u8>().is_err()) {
            format!("`{text}` is not an IPv4 address (`{bad}` is not a number from 0 to 255)")
        } else {
            format!("`{text}` is not an IPv4 address")
        }
    })
}

fn mask_hint(prefix: &str) -> String {
    match parse_ipv4(prefix) {
        Ok(mask) => {
            let bits = u32::from(mask);
            if bits.leading_ones() + bits.trailing_zeros() == 32 {
                format!("for the mask {mask} write /{}", bits.leading_ones())
            } else {
                format!("{mask} is not a valid subnet mask")
            }
        }
        Err(_) => "the prefix length is a number from 0 to 32, e.g. /24".to_string(),
    }
}

/// A unicast Ethernet address, written `02:00:00:00:00:01`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// Parses six hex bytes joined by colons; None unless it is a usable
    /// unicast address.
    pub fn parse(text: &str) -> Option<Mac> {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() != 6 {
            return None;
        }
        let mut mac = [0u8; 6];
        for (byte, part) in mac.iter_mut().zip(parts) {
            if part.len() != 2 {
                return None;
            }
            *byte = u8::from_str_radix(part, 16).ok()?;
        }
        (mac[0] & 1 == 0 && mac != [0; 6]).then_some(Mac(mac))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Mac::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a MAC address")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        parse_net(s).unwrap()
    }

    #[test]
    fn networks_and_membership() {
        assert_eq!(net("192.168.1.7/24").addr(), Ipv4Addr::new(192, 168, 1, 7));
        assert_eq!(net("192.168.1.7/24").trunc(), net("192.168.1.0/24"));
        assert!(net("10.0.0.1/30").contains(&"10.0.0.2".parse::<Ipv4Addr>().unwrap()));
        assert!(!net("10.0.0.1/30").contains(&"10.0.0.4".parse::<Ipv4Addr>().unwrap()));
        assert!(net("10.0.0.0/8").overlaps(&net("10.1.2.0/24")));
        assert!(net("10.1.2.0/24").overlaps(&net("10.0.0.0/8")));
        assert!(net("10.1.2.9/24").overlaps(&net("10.1.2.200/24")));
        assert!(!net("10.0.0.0/24").overlaps(&net("10.0.1.0/24")));
        assert!(net("192.168.1.0/24").is_reserved_host());
        assert!(net("192.168.1.255/24").is_reserved_host());
        assert!(!net("192.168.1.254/24").is_reserved_host());
        assert!(!net("10.0.0.0/31").is_reserved_host());
        assert!(net("192.168.1.0/24").is_network_address());
        assert!(!net("192.168.1.1/24").is_network_address());
        assert_eq!(DEFAULT_ROUTE, net("0.0.0.0/0"));
    }

    #[test]
    fn explains_bad_input() {
        let e = parse_net("192.168.1.300/24").unwrap_err();
        assert!(
            e.message.contains("`300` is not a number from 0 to 255"),
            "{e:?}"
        );
        let e = parse_net("192.168.1.3").unwrap_err();
        assert!(e.hint.contains("192.168.1.3/24"), "{e:?}");
        let e = parse_net("192.168.1.3/255.255.255.0").unwrap_err();
        assert!(e.hint.contains("/24"), "{e:?}");
        let e = parse_net("192.168.1.3/33").unwrap_err();
        assert!(e.message.contains("/33"), "{e:?}");
    }

    #[test]
    fn serialises_as_the_text_a_lab_file_uses() {
        let json = serde_json::to_string(&net("192.168.1.2/24")).unwrap();
        assert_eq!(json, "\"192.168.1.2/24\"");
        assert_eq!(
            serde_json::from_str::<Ipv4Net>(&json).unwrap(),
            net("192.168.1.2/24")
        );
    }
}
