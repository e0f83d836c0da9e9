//! Puts a DHCP lease on an interface (address and default route) and takes
//! it back, through the netlink socket of the interface's namespace.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result};
use futures::TryStreamExt;
use rtnetlink::Handle;
use rtnetlink::packet_route::address::AddressAttribute;

use crate::services::dhcp::client::Lease;

pub async fn put(netlink: &Handle, index: u32, lease: &Lease) -> Result<()> {
    netlink
        .address()
        .add(index, lease.address.addr.into(), lease.address.prefix)
        .replace()
        .execute()
        .await
        .with_context(|| format!("cannot add {} to interface {index}", lease.address))?;
    if let Some(gateway) = lease.gateway {
        let route = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(Ipv4Addr::UNSPECIFIED, 0)
            .gateway(gateway)
            .build();
        netlink
            .route()
            .add(route)
            .replace()
            .execute()
            .await
            .with_context(|| format!("cannot add the default route via {gateway}"))?;
    }
    Ok(())
}

/// Removes the lease's address (the kernel drops routes through it).
pub async fn take_back(netlink: &Handle, index: u32, lease: &Lease) {
    let mut addresses = netlink
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    while let Ok(Some(message)) = addresses.try_next().await {
        let ours = message.attributes.iter().any(
            |a| matches!(a, AddressAttribute::Local(IpAddr::V4(ip)) if *ip == lease.address.addr),
        );
        if ours {
            let _ = netlink.address().del(message).execute().await;
        }
    }
}
