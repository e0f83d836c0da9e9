//! What the probes know about the running lab: its plan, the DHCP leases
//! its daemon reports, and how to run a step inside a node (a fresh thread
//! that entered the node's namespace, with a current-thread runtime).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::OnceLock;

use anyhow::Result;

use super::outcome::{Diagnosis, Step};
use super::probes::lease_path::lease_blocker;
use super::probes::network::{Live, live_network, read_live};
use super::probes::trace::round_trip;
use super::probes::zones::{bad_glue, zone_for, zones_of};
use super::target::Target;
use crate::agent::resolver;
use crate::capture::decode::AddressBook;
use crate::daemon::control::{self, Request};
use crate::daemon::state::{ClientReport, ClientStatus};
use crate::lab::network::Network;
use crate::lab::plan::{Plan, PlanNode};
use crate::net::netns;
use crate::services::dns::client::QueryError;
use crate::services::dns::query_log::rcode_name;
use crate::state::LabDir;
use hickory_proto::op::ResponseCode;
use tokio_rustls::TlsConnector;

pub struct LabContext {
    pub lab: String,
    /// Where the lab's state (and so the labctl that runs it) lives.
    pub plan: Plan,
    /// The daemon's DHCP clients by `node/iface`.
    pub leases: BTreeMap<String, ClientReport>,
    /// Servers stopped with `labctl service`, as `node/service`.
    pub stopped: Vec<String>,
    /// A TLS client that trusts the lab's CA (and nothing else); None
    /// when no service of the lab offers TLS.
    pub lab_ca: Option<TlsConnector>,
    /// Every node's addresses, routes and forwarding switch, read from the
    /// kernels the first time a diagnosis needs them (then shared).
    live: OnceLock<Option<Vec<Option<Live>>>>,
}

impl LabContext {
    /// The running lab `lab`: its plan and what its daemon reports now.
    pub fn load(lab: &str) -> Result<LabContext> {
        let dir = LabDir::of(lab)?;
        let record = dir.read_record()?;
        let (leases, stopped) = control::call(&dir.socket_path(), &Request::Ping)
            .map(|reply| (reply.dhcp_clients, reply.stopped))
            .map_err(|e| anyhow::anyhow!("the daemon of lab {lab} does not answer ({e}): run `labctl down {lab}` and `labctl up` again"))?;
        Ok(LabContext {
            lab: lab.to_string(),
            plan: record.plan,
            leases,
            stopped,
            lab_ca: crate::daemon::tls::lab_connector(&dir.dir)?,
            live: OnceLock::new(),
        })
    }

    /// The lab's network as the kernels have it now (read once); None when
    /// it cannot be read.
    pub fn network(&self) -> Option<Network<'_>> {
        let live = self
            .live
            .get_or_init(|| read_live(&self.plan).ok())
            .as_ref()?;
        Some(live_network(&self.plan, live))
    }

    /// Why `node/iface` has no lease: the reason no lease can come there
    /// when the lab's own state says so (no server or relay on its network,
    /// a relay that cannot reach its server…), else what its client reports.
    pub fn no_lease(&self, node: &str, iface: &str) -> Diagnosis {
        let key = format!("{node}/{iface}");
        let blocker = self.network().and_then(|net| {
            let n = net.index_of(node)?;
            lease_blocker(&net, (n, net.iface_index(n, iface)?))
        });
        let mut hint =
            "is a DHCP server on this network (or a router relaying to one) with a pool for it?"
                .to_string();
        let mut cause = format!("lease {key}");
        let message = match (blocker, self.leases.get(&key)) {
            (Some(blocker), _) => {
                hint = blocker.hint;
                cause = blocker.cause;
                format!("{key} has no DHCP lease: {}", blocker.reason)
            }
            (None, Some(lease)) => format!(
                "{key} has no DHCP lease ({}{})",
                lease.state,
                lease
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            (None, None) => format!("{key} has no DHCP client running"),
        };
        Diagnosis::new("lease", message, hint).with_cause(cause)
    }

    pub fn node(&self, name: &str) -> &PlanNode {
        self.plan
            .node(name)
            .expect("checks are resolved against this plan")
    }

    /// The node's address: its first static one, or its DHCP lease.
    pub fn address_of(&self, name: &str) -> Step<Ipv4Addr> {
        let node = self.node(name);
        if let Some(ip) = node.static_addresses().next() {
            return Ok(ip);
        }
        for iface in node.interfaces.iter().filter(|i| i.dhcp) {
            let key = format!("{name}/{}", iface.name);
            match self.leases.get(&key) {
                Some(lease) if lease.state == ClientStatus::Bound => {
                    if let Some(ip) = lease.leased_address() {
                        return Ok(ip);
                    }
                }
                Some(_) => return Err(self.no_lease(name, &iface.name)),
                None => {}
            }
        }
        Err(Diagnosis::new(
            "address",
            format!("{name} has no address"),
            format!("give {name} an address (`eth0: 192.168.1.10/24`) or `eth0: dhcp`"),
        ))
    }

    /// Who is who on the wire: the plan's addresses and MACs, and the
    /// leases the daemon reports (for decoding a capture).
    pub fn address_book(&self) -> AddressBook {
        let mut book = AddressBook::from_plan(&self.plan);
        for (key, lease) in &self.leases {
            if let (Some((node, _)), Some(ip)) = (key.split_once('/'), lease.leased_address()) {
                book.add(ip, node);
            }
        }
        book
    }

    /// The node that has `ip` (static or leased), if any.
    pub fn owner_of(&self, ip: Ipv4Addr) -> Option<&PlanNode> {
        self.plan.owner_of(ip).or_else(|| {
            let (key, _) = self
                .leases
                .iter()
                .find(|(_, lease)| lease.leased_address() == Some(ip))?;
            self.plan.node(key.split('/').next()?)
        })
    }

    /// The name servers `node` uses now (its resolv.conf).
    pub fn name_servers(&self, node: &str) -> Vec<Ipv4Addr> {
        resolver::name_servers(&self.node(node).namespace)
    }

    /// The address of `target` as `from` would find it: a node's address,
    /// an address as is, or a DNS lookup through `from`'s own resolver.
    pub fn resolve(&self, from: &str, target: &Target) -> Step<Ipv4Addr> {
        match target {
            Target::Ip(ip) => Ok(*ip),
            Target::Node(node) => self.address_of(node),
            Target::Name(name) => {
                let servers = self.name_servers(from);
                if servers.is_empty() {
                    return Err(Diagnosis::new(
                        "dns",
                        format!("{from} could not look up {name}: it has no DNS server"),
                        format!("give {from} `dns: [SERVER]`, or a DHCP pool with `dns:`"),
                    ));
                }
                let name_owned = name.clone();
                let found = self.in_node(from, move || async move {
                    resolver::addresses(&servers, &name_owned).await
                })?;
                match found {
                    Ok(addresses) if !addresses.is_empty() => Ok(addresses[0]),
                    Ok(_) => Err(dns_failure(from, name, "it has no A record")),
                    Err(e) => Err(self.dns_failure(from, name, "A", &e)),
                }
            }
        }
    }

    /// The server on `node` that would listen on `port` when the plan says
    /// it runs there but `labctl service` stopped it.
    pub fn stopped_server(&self, node: &str, port: u16) -> Option<StoppedServer> {
        let planned = self.plan.node(node)?;
        let kind = crate::daemon::services::planned(planned)
            .into_iter()
            .find(|k| k.ports(planned).iter().any(|p| p.port == port))?;
        let name = kind.service_name()?;
        self.stopped
            .contains(&format!("{node}/{name}"))
            .then(|| StoppedServer {
                lab: self.lab.clone(),
                node: node.to_string(),
                service: name,
                label: kind.short_name(),
            })
    }

    /// A failed lookup, told apart by what the lab's state says about the
    /// server: unreachable (the trace names where), reachable but running
    /// no DNS (nothing on port 53), or answering but refusing the name (its
    /// zones named, and who holds the name's zone); a SERVFAIL on the way
    /// down the hierarchy names the glue record that points astray.
    pub fn dns_failure(
        &self,
        from: &str,
        name: &str,
        record_type: &str,
        error: &QueryError,
    ) -> Diagnosis {
        let plain = dns_diagnosis(from, name, record_type, error);
        let Some(net) = self.network() else {
            return plain;
        };
        let server = match error {
            QueryError::Timeout { server, .. }
            | QueryError::Io { server, .. }
            | QueryError::Failed { server, .. } => match server.ip() {
                std::net::IpAddr::V4(ip) => ip,
                std::net::IpAddr::V6(_) => return plain,
            },
            _ => return plain,
        };
        let owner = net.owner(server).map(|(n, _)| n);
        let shown = match owner {
            Some(n) => format!("{server} ({})", net.node(n).name),
            None => server.to_string(),
        };
        if let Some(stopped) = owner.and_then(|n| self.stopped_server(&net.node(n).name, 53)) {
            return stopped.about(&format!("{from} could not resolve {name}"));
        }
        let from_the = self.dns_setting_source(from);
        let holders = |net: &Network| match zone_for(net, name) {
            Some((zone, servers)) if !servers.is_empty() => {
                let names: Vec<String> = servers
                    .iter()
                    .map(|&n| {
                        let ip = net
                            .node_addresses(n)
                            .next()
                            .map(|a| a.to_string())
                            .unwrap_or_default();
                        format!("{} ({ip})", net.node(n).name)
                    })
                    .collect();
                format!(" ({zone} is on {})", names.join(", "))
            }
            _ => String::new(),
        };
        let refused = |rcode: &str| {
            let zones = owner.map(|n| zones_of(&net, n)).unwrap_or_default();
            let holds = if zones.is_empty() {
                "holds no zones".to_string()
            } else {
                format!("holds only {}", zones.join(", "))
            };
            Diagnosis::new(
                "dns",
                format!(
                    "{from} could not resolve {name}: DNS server {shown} answers, but refuses it ({rcode}): it {holds} and does not resolve other names"
                ),
                format!(
                    "{from}'s DNS server{} should be one that serves or resolves {name}{}",
                    from_the,
                    holders(&net)
                ),
            )
        };
        match error {
            QueryError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                let runs = owner.is_some_and(|n| net.node(n).dns_server.is_some());
                Diagnosis::new(
                    "dns",
                    format!(
                        "{from} could not resolve {name}: {shown} is reachable, but nothing answers on port 53 (no DNS server runs there)"
                    ),
                    if runs {
                        format!("the lab plans a DNS server on {shown}: is the lab's daemon running? (`labctl status`)")
                    } else {
                        format!(
                            "{shown} runs no DNS service: {from}'s DNS server{from_the} should be the DNS server's address{}",
                            holders(&net)
                        )
                    },
                )
                .with_cause(format!("dns-server {server}"))
            }
            QueryError::Failed { rcode, .. }
                if matches!(rcode, ResponseCode::Refused | ResponseCode::NotAuth) =>
            {
                refused(&rcode_name(*rcode))
            }
            QueryError::Failed { .. } | QueryError::Timeout { .. } | QueryError::Io { .. } => {
                if let Some(source) = net.index_of(from)
                    && let Err(broken) = round_trip(&net, source, server)
                {
                    return Diagnosis::new(
                        "dns",
                        format!(
                            "{from} could not resolve {name}: DNS server {shown} is unreachable: {}",
                            broken.phrase(&net)
                        ),
                        broken.hint(&net),
                    )
                    .with_cause(broken.cause(&net));
                }
                if let Some(glue) = bad_glue(&net, name) {
                    return Diagnosis::new(
                        "dns",
                        format!("{from} could not resolve {name}: {glue}"),
                        "a glue record must give the address of the server the zone is delegated to",
                    )
                    .with_cause(format!("glue {name}"));
                }
                plain
            }
            _ => plain,
        }
    }

    /// Where `from`'s DNS setting comes from, as a clause: " (handed out by
    /// the DHCP pool of server0)" or " (its `dns:`)".
    fn dns_setting_source(&self, from: &str) -> String {
        let leased = self
            .leases
            .iter()
            .find(|(key, lease)| key.split('/').next() == Some(from) && !lease.dns.is_empty());
        match leased {
            Some((_, lease)) => {
                let server = lease
                    .server
                    .as_deref()
                    .and_then(|s| s.parse().ok())
                    .and_then(|ip| self.owner_of(ip))
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| "its DHCP server".into());
                format!(" (handed out by the DHCP pool of {server})")
            }
            None => " (its `dns:`)".to_string(),
        }
    }

    /// Runs `step` inside `node`'s namespace on a fresh thread with its own
    /// current-thread runtime, and waits for it.
    pub fn in_node<T, F, Fut>(&self, node: &str, step: F) -> Step<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
    {
        let namespace = self.node(node).namespace.clone();
        netns::run_in(&namespace, move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            Ok(runtime.block_on(step()))
        })
        .map_err(|e| {
            Diagnosis::new(
                "lab",
                format!("cannot run inside {node}: {e:#}"),
                "is the lab up? (`labctl status`)",
            )
        })
    }
}

fn dns_failure(from: &str, name: &str, why: &str) -> Diagnosis {
    Diagnosis::new(
        "dns",
        format!("{from} could not resolve {name}: {why}"),
        format!("is there an A record for {name}?"),
    )
}

/// "an A record", "a TXT record".
fn article(record_type: &str) -> &'static str {
    if ["A", "AAAA", "MX", "NS", "SRV"].contains(&record_type) {
        "an"
    } else {
        "a"
    }
}

/// A failed lookup in a student's words, with what to check.
pub fn dns_diagnosis(from: &str, name: &str, record_type: &str, error: &QueryError) -> Diagnosis {
    let (message, hint) = match error {
        QueryError::NxDomain { server, .. } => (
            format!(
                "{from} could not resolve {name}: DNS server {} answered NXDOMAIN",
                server.ip()
            ),
            format!(
                "is there {} {record_type} record for {name} in the zone on {}?",
                article(record_type),
                server.ip()
            ),
        ),
        QueryError::NoData { rtype, server, .. } => (
            format!(
                "{from} could not resolve {name}: DNS server {} has no {rtype} record for it",
                server.ip()
            ),
            format!(
                "add {} {rtype} record for {name}",
                article(&rtype.to_string())
            ),
        ),
        QueryError::Timeout { server, .. } => (
            format!(
                "{from} could not resolve {name}: no answer from DNS server {}",
                server.ip()
            ),
            format!(
                "is {} the right DNS server, reachable from {from}, and running DNS?",
                server.ip()
            ),
        ),
        QueryError::Io { server, .. } => (
            format!("{from} could not resolve {name}: {error}"),
            format!(
                "can {from} reach {}? check its gateway and the routes",
                server.ip()
            ),
        ),
        QueryError::NoServers => (
            format!("{from} could not resolve {name}: it has no DNS server"),
            format!("give {from} `dns: [SERVER]`, or a DHCP pool with `dns:`"),
        ),
        QueryError::Failed { rcode, server, .. } => (
            format!(
                "{from} could not resolve {name}: DNS server {} answered {rcode}",
                server.ip()
            ),
            "does that server hold the zone, or forward names it does not hold?".to_string(),
        ),
        other => (
            format!("{from} could not resolve {name}: {other}"),
            String::new(),
        ),
    };
    Diagnosis::new("dns", message, hint)
}

/// A server the plan runs but `labctl service` stopped.
pub struct StoppedServer {
    lab: String,
    node: String,
    service: &'static str,
    label: &'static str,
}

impl StoppedServer {
    /// "WHAT: the DNS server on ns is stopped", with how to start it.
    pub fn about(&self, what: &str) -> Diagnosis {
        Diagnosis::new(
            "stopped",
            format!(
                "{what}: the {} server on {} is stopped",
                self.label, self.node
            ),
            format!(
                "it was stopped with `labctl service`; `labctl service {} {} {} start` starts it again",
                self.lab, self.node, self.service
            ),
        )
    }
}
