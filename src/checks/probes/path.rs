//! Why a packet from a node does not get through: the path traced hop by
//! hop through every node's routing table, there and back (`trace`), names
//! the node that breaks it; when the tables are right, a gateway that does
//! not answer, or a destination that is silent. Used by every probe whose
//! destination stayed silent.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::agent::icmp::{PingOutcome, ping};
use crate::checks::context::LabContext;
use crate::checks::outcome::Diagnosis;
use crate::checks::probes::trace::round_trip;
use crate::net::inspect::inspect;

/// The diagnosis for `from` getting no answer from `to` (`what` says what
/// was tried, e.g. "ping 192.168.2.10").
pub fn explain_silence(ctx: &LabContext, from: &str, to: Ipv4Addr, what: &str) -> Diagnosis {
    let target = ctx
        .owner_of(to)
        .map(|n| format!("{to} ({})", n.name))
        .unwrap_or_else(|| to.to_string());
    if let Some(net) = ctx.network()
        && let Some(source) = net.index_of(from)
        && let Err(broken) = round_trip(&net, source, to)
    {
        return broken.diagnosis(&net, from, &target, what);
    }
    let view = ctx.in_node(from, || async {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(connection);
        inspect(&handle).await
    });
    let routes = match view {
        Ok(Ok(view)) => view.routes,
        _ => {
            return Diagnosis::new(
                "route",
                format!("{from}: {what}: no answer"),
                "check the addresses, gateways and routes on the way",
            );
        }
    };
    let best = routes
        .iter()
        .filter(|r| r.to.contains(&to))
        .max_by_key(|r| r.to.prefix_len());
    match best {
        None => Diagnosis::new(
            "route",
            format!("{from} has no route to {target}"),
            format!(
                "give {from} a default gateway (the router's address on its network), or a route to {to}'s network"
            ),
        ),
        Some(route) => match route.via {
            None => Diagnosis::new(
                "arp",
                format!("{target} is on {from}'s own network, but does not answer ({what})"),
                format!("is {to} up, on the same switch, with an address in this subnet?"),
            ),
            Some(gateway) => {
                let heard = ctx.in_node(from, move || async move {
                    ping(
                        gateway,
                        2,
                        Duration::from_millis(200),
                        Duration::from_millis(600),
                    )
                    .await
                });
                match heard {
                    Ok(Ok(PingOutcome::Reply { .. })) => Diagnosis::new(
                        "route",
                        format!(
                            "{from}'s gateway {gateway} answers, but {target} does not ({what})"
                        ),
                        format!(
                            "look further along: the routers' routes to {to}'s network and back to {from}'s, and whether {to} is up"
                        ),
                    ),
                    _ => Diagnosis::new(
                        "gateway",
                        format!("{from}'s gateway {gateway} does not answer"),
                        format!(
                            "the gateway must be the router's address on {from}'s network: check {from}'s `gateway` (or the DHCP pool's `gateway`)"
                        ),
                    )
                    .with_cause(format!("gateway {from}")),
                }
            }
        },
    }
}

/// How long a probe waits for a silent destination before saying so.
pub const SILENCE: Duration = Duration::from_millis(1500);
