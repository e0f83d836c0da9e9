//! A running lab's cables and routes changed in place, through rtnetlink
//! in the nodes' namespaces: an interface set down or up (a cable cut is
//! both of its ends), a route replaced or removed, and a netlink handle
//! opened inside a namespace (optionally listening for link events).

use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use futures::channel::mpsc::UnboundedReceiver;
use ipnet::Ipv4Net;
use rtnetlink::packet_core::NetlinkMessage;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::SocketAddr;
use rtnetlink::{Handle, LinkUnspec, MulticastGroup, RouteMessageBuilder};

use super::netns;

/// Link events of a namespace (any message means: look again).
pub type Events = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// A netlink handle whose socket lives in namespace `namespace`; its
/// connection runs on `runtime`. With `watch_links` the socket also gets
/// the namespace's link events (RTNLGRP_LINK).
pub fn netlink_in(
    namespace: &str,
    runtime: &tokio::runtime::Handle,
    watch_links: bool,
) -> Result<(Handle, Events)> {
    let runtime = runtime.clone();
    netns::run_in(namespace, move || {
        let _entered = runtime.enter();
        let (connection, handle, events) = if watch_links {
            rtnetlink::new_multicast_connection(&[MulticastGroup::Link])
        } else {
            rtnetlink::new_connection()
        }
        .context("cannot open a netlink socket")?;
        runtime.spawn(connection);
        Ok((handle, events))
    })
    .with_context(|| format!("in namespace {namespace}"))
}

/// Sets interface `index` administratively up or down (`ip link set … up|down`).
pub async fn set_admin(netlink: &Handle, index: u32, up: bool) -> Result<()> {
    let message = if up {
        LinkUnspec::new_with_index(index).up().build()
    } else {
        LinkUnspec::new_with_index(index).down().build()
    };
    netlink
        .link()
        .set(message)
        .execute()
        .await
        .with_context(|| {
            format!(
                "cannot set interface {index} {}",
                if up { "up" } else { "down" }
            )
        })
}

/// Adds the route `to via`, replacing any route to `to` there was.
pub async fn replace_route(netlink: &Handle, to: Ipv4Net, via: Ipv4Addr) -> Result<()> {
    let message = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(to.addr(), to.prefix_len())
        .gateway(via)
        .build();
    netlink
        .route()
        .add(message)
        .replace()
        .execute()
        .await
        .with_context(|| format!("cannot add route to {to} via {via}"))
}

/// Removes the route `to via`.
pub async fn delete_route(netlink: &Handle, to: Ipv4Net, via: Ipv4Addr) -> Result<()> {
    let message = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(to.addr(), to.prefix_len())
        .gateway(via)
        .build();
    netlink
        .route()
        .del(message)
        .execute()
        .await
        .with_context(|| format!("cannot remove route to {to} via {via}"))
}
