//! `dhcp-client`: labctl's own DHCP client, once, in the current network
//! namespace — to try it by hand or against another server (`labctl exec
//! LAB NODE -- labctl dhcp-client eth0`). It puts the lease on the
//! interface. Refused outside a lab node, so it never touches the host's
//! network.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::TryStreamExt;
use rtnetlink::packet_route::link::LinkAttribute;

use crate::daemon::dhcp::{DHCP_CLIENT_PORT, DHCP_SERVER_PORT};
use crate::lab::addr::Mac;
use crate::net::{lease, netns, udp::udp_socket};
use crate::services::dhcp::client::{Client, Lease};
use crate::state::{LabDir, all_labs};

/// Gets a lease for `iface` of this thread's namespace, which must be a
/// node of a running lab, and puts it on the interface.
pub fn acquire(iface: &str) -> Result<Lease> {
    if !inside_a_lab_node() {
        bail!(
            "labctl dhcp-client runs only inside a lab node, never on the host's network: \
             labctl exec LAB NODE -- labctl dhcp-client {iface}"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (connection, netlink, _) =
            rtnetlink::new_connection().context("cannot open a netlink socket")?;
        tokio::spawn(connection);
        let link = netlink
            .link()
            .get()
            .match_name(iface.to_string())
            .execute()
            .try_next()
            .await
            .with_context(|| format!("no interface {iface} here"))?
            .with_context(|| format!("no interface {iface} here"))?;
        let mac = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::Address(bytes) if bytes.len() == 6 => Some(Mac([
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5],
            ])),
            _ => None,
        });
        let Some(mac) = mac else {
            bail!("{iface} has no Ethernet address")
        };
        let client = Client {
            mac,
            hostname: nix::unistd::gethostname()?.to_string_lossy().into_owned(),
            servers: SocketAddrV4::new(Ipv4Addr::BROADCAST, DHCP_SERVER_PORT),
            attempts: 4,
            first_wait: Duration::from_millis(500),
        };
        let socket = udp_socket(
            Some(iface),
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_CLIENT_PORT),
        )?;
        let granted = client
            .acquire(&socket)
            .await
            .map_err(|e| anyhow::anyhow!("{iface}: {e}"))?;
        lease::put(
            &netlink,
            link.header.index,
            granted.address,
            granted.gateway,
        )
        .await?;
        Ok(granted)
    })
}

/// Whether this thread's network namespace is a node of a running lab.
fn inside_a_lab_node() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(here) = std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino()) else {
        return false;
    };
    all_labs()
        .iter()
        .filter_map(|name| LabDir::of(name).ok()?.read_record().ok())
        .flat_map(|record| record.plan.nodes)
        .any(|node| netns::inode(&node.namespace) == Some(here))
}
