//! Puts a DHCP lease on an interface (address and default route) and takes
//! it back, through the netlink socket of the interface's namespace. It
//! takes the lease's plain values, so the kernel layer knows no service.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result};
use futures::TryStreamExt;
use ipnet::Ipv4Net;
use rtnetlink::Handle;
use rtnetlink::packet_route::address::AddressAttribute;

/// Adds `address` to interface `index` and, when there is a `gateway`, the
/// default route through it (both replacing what is there).
pub async fn put(
    netlink: &Handle,
    index: u32,
    address: Ipv4Net,
    gateway: Option<Ipv4Addr>,
) -> Result<()> {
    netlink
        .address()
        .add(index, address.addr().into(), address.prefix_len())
        .replace()
        .execute()
        .await
        .with_context(|| format!("cannot add {address} to interface {index}"))?;
    if let Some(gateway) = gateway {
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

/// Removes `address` from interface `index` (the kernel drops routes
/// through it).
pub async fn take_back(netlink: &Handle, index: u32, address: Ipv4Addr) {
    let mut addresses = netlink
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    while let Ok(Some(message)) = addresses.try_next().await {
        let ours = message
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Local(IpAddr::V4(ip)) if *ip == address));
        if ours {
            let _ = netlink.address().del(message).execute().await;
        }
    }
}
