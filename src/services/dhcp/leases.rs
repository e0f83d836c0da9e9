//! The lease table of one DHCP pool: who holds which address until when, and
//! which address to offer next (a reservation, the client's previous address,
//! the one it asks for, a never-used one, then the one expired the longest).
//! Times are unix seconds.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use super::lease_info::{LeaseInfo, LeaseState};
use super::pool::Pool;
use crate::lab::addr::{Mac, SubnetExt};

/// How long an offered address is kept for the client that was offered it.
pub const OFFER_HOLD_SECONDS: u64 = 60;

#[derive(Clone, Debug)]
struct Lease {
    mac: Mac,
    expires: u64,
    state: LeaseState,
    hostname: Option<String>,
}

/// The leases of one pool, indexed by address, by client and by expiry.
pub struct Leases {
    pub pool: Pool,
    /// Reserved address → its owner.
    reserved: HashMap<Ipv4Addr, Mac>,
    by_addr: HashMap<Ipv4Addr, Lease>,
    /// The client's latest address; a hint, checked against `by_addr`.
    by_mac: HashMap<Mac, Ipv4Addr>,
    /// Every lease on a dynamic address, oldest expiry first.
    by_expiry: BTreeSet<(u64, Ipv4Addr)>,
    /// Addresses of the range from here on have never been leased.
    next_unused: u32,
}

impl Leases {
    pub fn new(pool: Pool) -> Leases {
        Leases {
            reserved: pool
                .reservations
                .iter()
                .map(|&(mac, addr)| (addr, Mac(mac)))
                .collect(),
            next_unused: u32::from(pool.range.0),
            pool,
            by_addr: HashMap::new(),
            by_mac: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Takes back a lease read from the lease file, unless it no longer fits
    /// the pool, was only an offer or is a decline that has run out.
    pub fn restore(&mut self, record: &LeaseInfo, now: u64) {
        let Some(mac) = Mac::parse(&record.mac) else {
            return;
        };
        let stale = match record.state {
            LeaseState::Offered => true,
            LeaseState::Declined => record.expires <= now,
            LeaseState::Bound => false,
        };
        let fits = match self.reserved.get(&record.address) {
            Some(owner) => *owner == mac,
            None => self.is_dynamic(record.address),
        };
        if fits && !stale {
            let lease = Lease {
                mac,
                expires: record.expires,
                state: record.state,
                hostname: record.hostname.clone(),
            };
            self.set(record.address, lease);
        }
    }

    /// Chooses an address for a DISCOVER and holds it for the client; None
    /// when the pool is exhausted.
    pub fn offer(
        &mut self,
        mac: Mac,
        requested: Option<Ipv4Addr>,
        hostname: Option<String>,
        now: u64,
    ) -> Option<Ipv4Addr> {
        let addr = self.choose(mac, requested, now)?;
        let bound = self
            .by_addr
            .get(&addr)
            .is_some_and(|l| l.mac == mac && l.state == LeaseState::Bound && l.expires > now);
        if !bound {
            let expires = now + OFFER_HOLD_SECONDS.min(self.lease_seconds());
            self.set(
                addr,
                Lease {
                    mac,
                    expires,
                    state: LeaseState::Offered,
                    hostname,
                },
            );
        }
        Some(addr)
    }

    fn choose(&mut self, mac: Mac, requested: Option<Ipv4Addr>, now: u64) -> Option<Ipv4Addr> {
        if let Some(addr) = self.reservation(mac) {
            return Some(addr);
        }
        self.previous(mac)
            .or_else(|| requested.filter(|&addr| self.may_bind(mac, addr, now)))
            .or_else(|| self.next_unused())
            .or_else(|| self.oldest_expired(now))
    }

    /// True when `mac` may have `addr`: its reservation, or a dynamic address
    /// that is free or already the client's.
    pub fn may_bind(&self, mac: Mac, addr: Ipv4Addr, now: u64) -> bool {
        if let Some(reserved) = self.reservation(mac) {
            return addr == reserved;
        }
        if !self.is_dynamic(addr) || self.reserved.contains_key(&addr) {
            return false;
        }
        self.by_addr
            .get(&addr)
            .is_none_or(|l| l.expires <= now || (l.mac == mac && l.state != LeaseState::Declined))
    }

    /// Binds `addr` to `mac` for the pool's lease time, freeing the client's
    /// other address if it had one. Returns the records to journal.
    pub fn bind(
        &mut self,
        mac: Mac,
        addr: Ipv4Addr,
        hostname: Option<String>,
        now: u64,
    ) -> Vec<LeaseInfo> {
        let mut records = Vec::new();
        if let Some(old) = self.previous(mac).filter(|&old| old != addr) {
            records.extend(self.expire(old, now));
        }
        let known = self.by_addr.get(&addr).filter(|l| l.mac == mac);
        let hostname = hostname.or_else(|| known.and_then(|l| l.hostname.clone()));
        let expires = now + self.lease_seconds();
        self.set(
            addr,
            Lease {
                mac,
                expires,
                state: LeaseState::Bound,
                hostname,
            },
        );
        records.extend(self.info(addr));
        records
    }

    /// The client chose another server: its offer ends now.
    pub fn forget_offer(&mut self, mac: Mac, now: u64) {
        let offered = self.previous(mac).filter(|a| {
            self.by_addr
                .get(a)
                .is_some_and(|l| l.state == LeaseState::Offered)
        });
        if let Some(addr) = offered {
            self.expire(addr, now);
        }
    }

    /// RELEASE: the client's lease on `addr` ends now (it keeps the address
    /// if it comes back before someone else needs it).
    pub fn release(&mut self, mac: Mac, addr: Ipv4Addr, now: u64) -> Option<LeaseInfo> {
        self.by_addr
            .get(&addr)
            .filter(|l| l.mac == mac && l.state != LeaseState::Declined)?;
        self.expire(addr, now)
    }

    /// DECLINE: the address is in use by someone else; keep it out of the
    /// pool for a lease time.
    pub fn decline(&mut self, mac: Mac, addr: Ipv4Addr, now: u64) -> Option<LeaseInfo> {
        let lease = self.by_addr.get(&addr).filter(|l| l.mac == mac)?;
        let declined = Lease {
            state: LeaseState::Declined,
            expires: now + self.lease_seconds(),
            ..lease.clone()
        };
        self.set(addr, declined);
        self.info(addr)
    }

    /// The leases that have not expired.
    pub fn active(&self, now: u64) -> impl Iterator<Item = LeaseInfo> + '_ {
        self.by_addr
            .iter()
            .filter(move |(_, l)| l.expires > now)
            .map(|(&addr, l)| info(addr, l))
    }

    /// Every lease, expired ones included (they remember previous clients).
    pub fn all(&self) -> impl Iterator<Item = LeaseInfo> + '_ {
        self.by_addr.iter().map(|(&addr, l)| info(addr, l))
    }

    pub fn count(&self) -> usize {
        self.by_addr.len()
    }

    fn lease_seconds(&self) -> u64 {
        self.pool.lease_time.as_secs()
    }

    /// The address the pool has on record for `mac`: its reservation, or
    /// its lease (current or expired).
    pub fn on_record(&self, mac: Mac) -> Option<Ipv4Addr> {
        self.reservation(mac).or_else(|| self.previous(mac))
    }

    fn reservation(&self, mac: Mac) -> Option<Ipv4Addr> {
        self.reserved
            .iter()
            .find(|(_, owner)| **owner == mac)
            .map(|(&addr, _)| addr)
    }

    /// The client's current or previous dynamic address, if still its own.
    fn previous(&self, mac: Mac) -> Option<Ipv4Addr> {
        let addr = *self.by_mac.get(&mac)?;
        let lease = self.by_addr.get(&addr)?;
        (lease.mac == mac
            && lease.state != LeaseState::Declined
            && !self.reserved.contains_key(&addr))
        .then_some(addr)
    }

    /// An address of the range that a host may use (not the subnet's
    /// network or broadcast address).
    fn is_dynamic(&self, addr: Ipv4Addr) -> bool {
        let subnet = self.pool.subnet;
        (self.pool.range.0..=self.pool.range.1).contains(&addr)
            && subnet.contains(&addr)
            && !subnet.reserves(addr)
    }

    fn next_unused(&mut self) -> Option<Ipv4Addr> {
        while self.next_unused <= u32::from(self.pool.range.1) {
            let addr = Ipv4Addr::from(self.next_unused);
            self.next_unused = self.next_unused.checked_add(1)?;
            if self.is_dynamic(addr)
                && !self.by_addr.contains_key(&addr)
                && !self.reserved.contains_key(&addr)
            {
                return Some(addr);
            }
        }
        None
    }

    fn oldest_expired(&self, now: u64) -> Option<Ipv4Addr> {
        self.by_expiry
            .first()
            .filter(|(expires, _)| *expires <= now)
            .map(|&(_, addr)| addr)
    }

    fn expire(&mut self, addr: Ipv4Addr, now: u64) -> Option<LeaseInfo> {
        let lease = self.by_addr.get(&addr)?;
        let expired = Lease {
            expires: lease.expires.min(now),
            ..lease.clone()
        };
        self.set(addr, expired);
        self.info(addr)
    }

    /// Stores a lease, keeping the indexes in step.
    fn set(&mut self, addr: Ipv4Addr, lease: Lease) {
        if let Some(old) = self.by_addr.get(&addr) {
            self.by_expiry.remove(&(old.expires, addr));
        }
        if !self.reserved.contains_key(&addr) {
            self.by_expiry.insert((lease.expires, addr));
        }
        if lease.state != LeaseState::Declined {
            self.by_mac.insert(lease.mac, addr);
        } else if self.by_mac.get(&lease.mac) == Some(&addr) {
            self.by_mac.remove(&lease.mac);
        }
        self.by_addr.insert(addr, lease);
    }

    fn info(&self, addr: Ipv4Addr) -> Option<LeaseInfo> {
        self.by_addr.get(&addr).map(|l| info(addr, l))
    }
}

fn info(address: Ipv4Addr, lease: &Lease) -> LeaseInfo {
    LeaseInfo {
        mac: lease.mac.to_string(),
        address,
        hostname: lease.hostname.clone(),
        expires: lease.expires,
        state: lease.state,
    }
}
