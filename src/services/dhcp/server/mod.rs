//! The DHCP server (RFC 2131/2132): pools of addresses for the subnets it
//! serves, directly or through relays, and the DISCOVER/OFFER/REQUEST/ACK
//! exchange, renewals, RELEASE, DECLINE and INFORM. `Server::handle` turns
//! one datagram into at most one reply; `serve` runs it on sockets the
//! caller has bound.
//!
//! By job: `request` reads a client's message, `answer` decides what to do
//! about it (the lease decisions), `reply` builds the message sent back,
//! `socket` is the receive loop; this module holds the server's state, the
//! counters and the dispatch between them.

mod answer;
mod reply;
mod request;
mod socket;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::journal::{Journal, JournalError};
use super::leases::Leases;
use crate::services::node_log::{FROM_CLIENT, FROM_SERVER, NOTE, NodeLog};
use answer::Answer;
use request::Request;

pub use super::lease_info::LeaseInfo;
pub use super::pool::{Pool, PoolError};
pub use reply::Reply;
pub use socket::serve;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    LeaseFile(#[from] JournalError),
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

impl Server {
    /// A server with the leases of `config.lease_file`, if it exists.
    pub fn new(config: ServerConfig, now: SystemTime) -> Result<Server, SetupError> {
        for pool in &config.pools {
            pool.check()?;
        }
        let mut pools: Vec<Leases> = config.pools.into_iter().map(Leases::new).collect();
        let journal = match &config.lease_file {
            Some(path) => {
                for record in Journal::load(path)? {
                    if let Some(leases) = pools
                        .iter_mut()
                        .find(|l| l.pool.subnet.contains(&record.address))
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
            let what = format!("dropped a malformed datagram via {}", arrival.local.addr());
            tracing::info!("dhcp: {what}");
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
            tracing::info!("dhcp: {request} via {via} -> dropped: no pool for that subnet");
            self.log
                .line(&tag, NOTE, "dropped: no pool for that subnet");
            return None;
        };
        let answer = self.answer(&request, pool, arrival.local.addr(), unix_seconds(now));
        tracing::info!("dhcp: {request} via {via} -> {answer}");
        match &answer {
            Answer::Silent(what) => self.log.line(&tag, NOTE, what),
            _ => self.log.line(
                &tag,
                FROM_SERVER,
                &format!("{answer} to {}{route}", request.mac),
            ),
        }
        self.reply(&request, pool, &answer, arrival.local.addr())
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
            .unwrap_or(arrival.local.addr());
        self.pools.iter().position(|l| l.pool.subnet.contains(&key))
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
            tracing::warn!("dhcp: cannot save leases: {:#}", anyhow::Error::new(e));
        }
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
