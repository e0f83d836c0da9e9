//! IPv4 networks written as `ADDRESS/PREFIX`, with the messages a student
//! needs when one is wrong.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interface address with its prefix (`192.168.1.2/24`), or a network
/// (`192.168.1.0/24`) when the host bits are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub const DEFAULT: Ipv4Net = Ipv4Net {
        addr: Ipv4Addr::UNSPECIFIED,
        prefix: 0,
    };

    pub fn mask(self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// The network this address belongs to (host bits cleared).
    pub fn network(self) -> Ipv4Net {
        Ipv4Net {
            addr: Ipv4Addr::from(u32::from(self.addr) & self.mask()),
            prefix: self.prefix,
        }
    }

    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network().addr)
    }

    pub fn overlaps(self, other: Ipv4Net) -> bool {
        let shorter = self.prefix.min(other.prefix);
        let probe = |n: Ipv4Net| {
            Ipv4Net {
                addr: n.addr,
                prefix: shorter,
            }
            .network()
        };
        probe(self) == probe(other)
    }

    pub fn is_network_address(self) -> bool {
        self.addr == self.network().addr
    }

    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// True when this address cannot be given to an interface: the network or
    /// broadcast address of a subnet that has room for hosts.
    pub fn is_reserved_host(self) -> bool {
        self.prefix < 31 && (self.is_network_address() || self.addr == self.broadcast())
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetParseError {
    pub message: String,
    pub hint: String,
}

impl FromStr for Ipv4Net {
    type Err = NetParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
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
        let prefix = match prefix.parse::<u8>() {
            Ok(p) if p <= 32 => p,
            _ => {
                return Err(NetParseError {
                    message: format!("`/{prefix}` is not a prefix length"),
                    hint: mask_hint(prefix),
                });
            }
        };
        Ok(Ipv4Net { addr, prefix })
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

impl Serialize for Ipv4Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Net {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e: NetParseError| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn networks_and_membership() {
        assert_eq!(net("192.168.1.7/24").network(), net("192.168.1.0/24"));
        assert!(net("10.0.0.1/30").contains("10.0.0.2".parse().unwrap()));
        assert!(!net("10.0.0.1/30").contains("10.0.0.4".parse().unwrap()));
        assert!(net("10.0.0.0/8").overlaps(net("10.1.2.0/24")));
        assert!(!net("10.0.0.0/24").overlaps(net("10.0.1.0/24")));
        assert!(net("192.168.1.0/24").is_reserved_host());
        assert!(net("192.168.1.255/24").is_reserved_host());
        assert!(!net("10.0.0.0/31").is_reserved_host());
        assert_eq!(net("0.0.0.0/0").mask(), 0);
    }

    #[test]
    fn explains_bad_input() {
        let e = "192.168.1.300/24".parse::<Ipv4Net>().unwrap_err();
        assert!(
            e.message.contains("`300` is not a number from 0 to 255"),
            "{e:?}"
        );
        let e = "192.168.1.3".parse::<Ipv4Net>().unwrap_err();
        assert!(e.hint.contains("192.168.1.3/24"), "{e:?}");
        let e = "192.168.1.3/255.255.255.0".parse::<Ipv4Net>().unwrap_err();
        assert!(e.hint.contains("/24"), "{e:?}");
        let e = "192.168.1.3/33".parse::<Ipv4Net>().unwrap_err();
        assert!(e.message.contains("/33"), "{e:?}");
    }
}
