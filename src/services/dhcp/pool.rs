//! A DHCP pool as configured: the subnet, the range handed out, the options
//! that go with it and the reservations, and the check that they fit
//! together. A value type: the lease table and the server both use it.

use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;

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

/// A pool whose addresses do not fit its subnet.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PoolError {
    #[error("DHCP pool {subnet}: the range {first}-{last} is not inside the subnet")]
    RangeOutsideSubnet {
        subnet: Ipv4Net,
        first: Ipv4Addr,
        last: Ipv4Addr,
    },
    #[error("DHCP pool {subnet}: the reservation {addr} is not inside the subnet")]
    ReservationOutsideSubnet { subnet: Ipv4Net, addr: Ipv4Addr },
}

impl Pool {
    /// The range runs forward inside the subnet, and every reservation is
    /// inside the subnet.
    pub fn check(&self) -> Result<(), PoolError> {
        let (first, last) = self.range;
        let subnet = self.subnet;
        if first > last || !subnet.contains(&first) || !subnet.contains(&last) {
            return Err(PoolError::RangeOutsideSubnet {
                subnet,
                first,
                last,
            });
        }
        if let Some(&(_, addr)) = self
            .reservations
            .iter()
            .find(|(_, addr)| !subnet.contains(addr))
        {
            return Err(PoolError::ReservationOutsideSubnet { subnet, addr });
        }
        Ok(())
    }
}
