//! A host's stub resolver: the DNS servers in the node's own resolv.conf
//! (`/etc/netns/LAB.NODE/resolv.conf`, from the lab file's `dns:` or from
//! DHCP), asked with labctl's DNS client from inside the node. Never the
//! host machine's resolver.

use std::net::{IpAddr, Ipv4Addr};

use hickory_proto::rr::RecordType;

use crate::net::etc::node_etc_dir;
use crate::services::dns::client::{self, QueryError, Response};

/// The name servers listed in a node's resolv.conf, in order.
pub fn name_servers(namespace: &str) -> Vec<Ipv4Addr> {
    let path = node_etc_dir(namespace).join("resolv.conf");
    parse_resolv_conf(&std::fs::read_to_string(path).unwrap_or_default())
}

pub fn parse_resolv_conf(text: &str) -> Vec<Ipv4Addr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next()?.parse().ok())
                .flatten()
        })
        .collect()
}

/// Looks `name` up through `servers` (the node's resolver).
pub async fn lookup(
    servers: &[Ipv4Addr],
    name: &str,
    rtype: RecordType,
) -> Result<Response, QueryError> {
    let servers: Vec<IpAddr> = servers.iter().copied().map(IpAddr::V4).collect();
    client::lookup(&servers, name, rtype).await
}

/// The IPv4 addresses of `name`, or what kept it from resolving.
pub async fn addresses(servers: &[Ipv4Addr], name: &str) -> Result<Vec<Ipv4Addr>, QueryError> {
    let reply = lookup(servers, name, RecordType::A).await?;
    reply.require(name, RecordType::A)?;
    Ok(reply.ipv4())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_name_servers_in_order() {
        let text = "# labctl\nsearch cbrc.com\nnameserver 192.168.1.2\nnameserver  10.0.0.53 \nnameserver fe80::1\nnameserver\n";
        assert_eq!(
            super::parse_resolv_conf(text),
            [
                "192.168.1.2".parse::<std::net::Ipv4Addr>().unwrap(),
                "10.0.0.53".parse().unwrap()
            ]
        );
    }
}
