//! Reads a namespace's interfaces, addresses and routes back from the kernel
//! (the kernel is the source of truth for `labctl status`).

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result};
use futures::TryStreamExt;
use ipnet::Ipv4Net;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, State};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::{Handle, RouteMessageBuilder};

use super::netns;
use crate::lab::addr::Mac;
use crate::lab::plan::Plan;

#[derive(Debug, Clone)]
pub struct LinkView {
    pub index: u32,
    pub name: String,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Up with a carrier (IFF_LOWER_UP): the cable works at both ends.
    pub carrier: bool,
    /// Operational state: "up", "down", "lowerlayerdown", "unknown", …
    pub oper: String,
    pub mac: Option<String>,
    /// Index of the bridge this interface is a port of.
    pub controller: Option<u32>,
    pub addresses: Vec<Ipv4Net>,
}

#[derive(Debug, Clone)]
pub struct RouteView {
    pub to: Ipv4Net,
    pub via: Option<Ipv4Addr>,
    pub dev: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NamespaceView {
    pub links: Vec<LinkView>,
    pub routes: Vec<RouteView>,
}

/// Every node of a running lab as the kernel has it now, in plan order;
/// None for a node whose namespace has gone missing. Needs root.
pub fn inspect_plan(plan: &Plan) -> Result<Vec<Option<NamespaceView>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut views = Vec::new();
    for node in &plan.nodes {
        if !netns::exists(&node.namespace) {
            views.push(None);
            continue;
        }
        let handle = runtime.handle().clone();
        let netlink = netns::run_in(&node.namespace, move || {
            let _entered = handle.enter();
            let (connection, netlink, _) = rtnetlink::new_connection()?;
            handle.spawn(connection);
            Ok(netlink)
        })?;
        let view = runtime
            .block_on(inspect(&netlink))
            .with_context(|| format!("reading node {}", node.name))?;
        views.push(Some(view));
    }
    Ok(views)
}

/// Main routing table number.
const MAIN_TABLE: u32 = 254;

pub async fn inspect(netlink: &Handle) -> Result<NamespaceView> {
    let mut links: Vec<LinkView> = Vec::new();
    let mut stream = netlink.link().get().execute();
    while let Some(message) = stream.try_next().await.context("cannot list interfaces")? {
        let mut view = LinkView {
            index: message.header.index,
            name: String::new(),
            up: message.header.flags.contains(LinkFlags::Up),
            carrier: message.header.flags.contains(LinkFlags::Up)
                && message.header.flags.contains(LinkFlags::LowerUp),
            oper: "unknown".into(),
            mac: None,
            controller: None,
            addresses: Vec::new(),
        };
        for attribute in message.attributes {
            match attribute {
                LinkAttribute::IfName(name) => view.name = name,
                LinkAttribute::OperState(state) => view.oper = oper_name(state),
                LinkAttribute::Address(bytes) if bytes.len() == 6 => {
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(&bytes);
                    view.mac = Some(Mac(mac).to_string());
                }
                LinkAttribute::Controller(index) => view.controller = Some(index),
                _ => {}
            }
        }
        links.push(view);
    }
    let mut addresses = netlink.address().get().execute();
    while let Some(message) = addresses
        .try_next()
        .await
        .context("cannot list addresses")?
    {
        let local = message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(IpAddr::V4(ip)) | AddressAttribute::Address(IpAddr::V4(ip)) => {
                Some(*ip)
            }
            _ => None,
        });
        // The kernel gives an IPv4 address a prefix of at most 32.
        let address = local.and_then(|ip| Ipv4Net::new(ip, message.header.prefix_len).ok());
        if let (Some(address), Some(link)) = (
            address,
            links.iter_mut().find(|l| l.index == message.header.index),
        ) {
            link.addresses.push(address);
        }
    }
    let mut routes = Vec::new();
    let mut stream = netlink
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute();
    while let Some(message) = stream.try_next().await.context("cannot list routes")? {
        let mut table = u32::from(message.header.table);
        // No destination attribute: the default route.
        let mut destination = Ipv4Addr::UNSPECIFIED;
        let mut via = None;
        let mut dev = None;
        for attribute in &message.attributes {
            match attribute {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Destination(RouteAddress::Inet(ip)) => destination = *ip,
                RouteAttribute::Gateway(RouteAddress::Inet(ip)) => via = Some(*ip),
                RouteAttribute::Oif(index) => {
                    dev = links
                        .iter()
                        .find(|l| l.index == *index)
                        .map(|l| l.name.clone());
                }
                _ => {}
            }
        }
        // The kernel gives an IPv4 route a prefix of at most 32.
        let to = Ipv4Net::new(destination, message.header.destination_prefix_length);
        if let (MAIN_TABLE, Ok(to)) = (table, to) {
            routes.push(RouteView { to, via, dev });
        }
    }
    Ok(NamespaceView { links, routes })
}

/// RFC 2863 operational states, named as `ip link` names them.
fn oper_name(state: State) -> String {
    match state {
        State::Up => "up",
        State::Down => "down",
        State::LowerLayerDown => "lowerlayerdown",
        State::Testing => "testing",
        State::Dormant => "dormant",
        State::NotPresent => "notpresent",
        _ => "unknown",
    }
    .to_string()
}
