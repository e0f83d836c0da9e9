//! Re-convergence: the lab daemon routes a running lab the way a routing
//! protocol would. It listens for link events in every router's and
//! switch's namespace (a `labctl link … down`, an `ip link set eth0 down`
//! inside a router, a cable cut between two switches), reads which
//! interfaces carry traffic, recomputes every router's routes over the
//! links that are up (`lab::plan_routing`, the computation a fresh build
//! uses) and puts them in the kernels, logging what changed
//! ("r1: 192.168.2.0/24 now via r3 (10.0.13.2), was via r2").
//! Static routes stay as written and come back with their interface.
//! It also carries out `labctl link` (both ends of a cable, then at once
//! the new routes), so the command can say what moved.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use ipnet::Ipv4Net;
use rtnetlink::Handle;

use crate::lab::model::NodeKind;
use crate::lab::plan::{Plan, PlanEnd, PlanRoute, RouteOrigin};
use crate::lab::plan_routing::{self, Carrier};
use crate::net::inspect::inspect;
use crate::net::links;

/// Link events that come together (both ends of a cable, a bridge port
/// following its peer) are handled as one after this pause.
const SETTLE: Duration = Duration::from_millis(20);
/// A route that cannot be added yet (the kernel adds the connected route
/// of an interface that came up a moment later) is tried again after this.
const RETRY: Duration = Duration::from_millis(200);
const RETRIES: u32 = 5;

pub struct Convergence {
    plan: Arc<Plan>,
    /// Netlink handles of routers and switches (whose interfaces decide the
    /// paths), by node; others are opened when a cable to them is cut.
    handles: std::sync::Mutex<HashMap<usize, Handle>>,
    /// Every subnet `routing: auto` may route to: routes to anything else
    /// (one a student added by hand) are never touched.
    lab_subnets: BTreeSet<Ipv4Net>,
    /// Each router's routes as last set (the plan's at first), so the log
    /// says what changed; held while a change is under way.
    last: tokio::sync::Mutex<Vec<Vec<PlanRoute>>>,
    runtime: tokio::runtime::Handle,
}

/// Starts watching the lab's routers and switches (a lab without routers
/// has nothing to route: `labctl link` only sets its cables).
pub fn start(plan: Arc<Plan>, runtime: &tokio::runtime::Handle) -> Result<Arc<Convergence>> {
    let routed = plan.nodes.iter().any(|n| n.kind == NodeKind::Router);
    let mut handles = HashMap::new();
    let mut events = Vec::new();
    for (n, node) in plan.nodes.iter().enumerate() {
        if routed && matches!(node.kind, NodeKind::Router | NodeKind::Switch) {
            let (handle, watch) = links::netlink_in(&node.namespace, runtime, true)?;
            handles.insert(n, handle);
            events.push(watch);
        }
    }
    let up = plan_routing::all_up(&plan);
    let graph = plan_routing::graph(&plan, &up);
    let lab_subnets = graph.segments.iter().filter_map(|s| s.subnet).collect();
    let convergence = Arc::new(Convergence {
        last: tokio::sync::Mutex::new(plan.nodes.iter().map(|n| n.routes.clone()).collect()),
        plan,
        handles: std::sync::Mutex::new(handles),
        lab_subnets,
        runtime: runtime.clone(),
    });
    if !routed {
        return Ok(convergence);
    }
    let watcher = convergence.clone();
    runtime.spawn(async move {
        let mut events = futures::stream::select_all(events);
        // Once at start: a daemon restarted after a cable was cut finds
        // the lab as it is.
        watcher.settle().await;
        while events.next().await.is_some() {
            tokio::time::sleep(SETTLE).await;
            // Whatever else came meanwhile is covered by this look.
            while let Some(Some(_)) = futures::FutureExt::now_or_never(events.next()) {}
            watcher.settle().await;
        }
    });
    Ok(convergence)
}

impl Convergence {
    /// Re-converges, trying again a few times while routes cannot be added.
    async fn settle(&self) {
        for attempt in 0..=RETRIES {
            match self.reconverge().await {
                Ok(_) => return,
                Err(e) if attempt == RETRIES => {
                    tracing::warn!("re-convergence failed: {e:#}");
                }
                Err(_) => tokio::time::sleep(RETRY).await,
            }
        }
    }

    /// Sets both ends of a cable down or up, then re-converges at once;
    /// returns what changed in the routers' tables.
    pub async fn set_cable(&self, ends: [PlanEnd; 2], up: bool) -> Result<Vec<String>> {
        // Held throughout, so the link events this causes wait, and the
        // changes are told here rather than found done by the watcher.
        let mut last = self.last.lock().await;
        for end in ends {
            let handle = self.handle(end.node)?;
            links::set_admin(&handle, self.plan.iface(end).index, up)
                .await
                .with_context(|| format!("on {}", self.end_name(end)))?;
        }
        let mut changes = Vec::new();
        for attempt in 0..=RETRIES {
            match self.reconverge_holding(&mut last).await {
                Ok(done) => {
                    changes.extend(done);
                    break;
                }
                Err(e) if attempt == RETRIES => return Err(e),
                Err(_) => tokio::time::sleep(RETRY).await,
            }
        }
        Ok(changes)
    }

    fn handle(&self, node: usize) -> Result<Handle> {
        let mut handles = self.handles.lock().expect("lock");
        if let Some(handle) = handles.get(&node) {
            return Ok(handle.clone());
        }
        let (handle, _) =
            links::netlink_in(&self.plan.nodes[node].namespace, &self.runtime, false)?;
        handles.insert(node, handle.clone());
        Ok(handle)
    }

    fn end_name(&self, end: PlanEnd) -> String {
        format!(
            "{}:{}",
            self.plan.nodes[end.node].name,
            self.plan.iface(end).name
        )
    }

    /// Reads the interfaces, recomputes every router's routes and sets
    /// those that differ; returns (and logs) what changed. Errors after
    /// doing all it could.
    pub async fn reconverge(&self) -> Result<Vec<String>> {
        let mut last = self.last.lock().await;
        self.reconverge_holding(&mut last).await
    }

    async fn reconverge_holding(&self, last: &mut [Vec<PlanRoute>]) -> Result<Vec<String>> {
        let mut watched: Vec<(usize, Handle)> = self
            .handles
            .lock()
            .expect("lock")
            .iter()
            .filter(|(n, _)| {
                matches!(
                    self.plan.nodes[**n].kind,
                    NodeKind::Router | NodeKind::Switch
                )
            })
            .map(|(n, h)| (*n, h.clone()))
            .collect();
        watched.sort_by_key(|(n, _)| *n);
        let mut up: Carrier = plan_routing::all_up(&self.plan);
        let mut kernel_routes = HashMap::new();
        for (n, handle) in &watched {
            let view = inspect(handle)
                .await
                .with_context(|| format!("reading {}", self.plan.nodes[*n].name))?;
            for (i, iface) in self.plan.nodes[*n].interfaces.iter().enumerate() {
                up[*n][i] = view
                    .links
                    .iter()
                    .find(|l| l.index == iface.index)
                    .is_some_and(|l| l.carrier);
            }
            kernel_routes.insert(*n, view.routes);
        }
        let graph = plan_routing::graph(&self.plan, &up);
        let mut changes = Vec::new();
        let mut failed = None;
        for (n, handle) in &watched {
            if self.plan.nodes[*n].kind != NodeKind::Router {
                continue;
            }
            let wanted = plan_routing::converged_routes(&self.plan, &graph, &up, *n);
            // Destinations `routing: auto` owns: set to the shortest path,
            // removed when there is none. Static routes as written are only
            // put back when their destination has no route at all (after
            // `ip link set … down` and `up`), so a route a student changed
            // by hand is theirs.
            let written = |to: &Ipv4Net| {
                self.plan.nodes[*n]
                    .routes
                    .iter()
                    .any(|r| r.origin != RouteOrigin::Auto && r.to == *to)
            };
            let automatic = |to: &Ipv4Net| {
                plan_routing::routes_automatically(&self.plan, *n)
                    && self.lab_subnets.contains(to)
                    && !written(to)
            };
            let present: Vec<(Ipv4Net, Ipv4Addr)> = kernel_routes[n]
                .iter()
                .filter_map(|r| r.via.map(|via| (r.to, via)))
                .collect();
            for route in &wanted {
                let missing = if route.origin == RouteOrigin::Auto {
                    !present.contains(&(route.to, route.via))
                } else {
                    !present.iter().any(|(to, _)| *to == route.to)
                };
                if missing && let Err(e) = links::replace_route(handle, route.to, route.via).await {
                    failed.get_or_insert(e.context(self.plan.nodes[*n].name.clone()));
                }
            }
            for &(to, via) in &present {
                if automatic(&to)
                    && !wanted.iter().any(|r| r.to == to)
                    && let Err(e) = links::delete_route(handle, to, via).await
                {
                    failed.get_or_insert(e.context(self.plan.nodes[*n].name.clone()));
                }
            }
            changes.extend(self.describe(*n, &last[*n], &wanted));
            last[*n] = wanted;
        }
        for line in &changes {
            tracing::info!("{line}");
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(changes),
        }
    }

    /// "r1: 192.168.2.0/24 now via r3 (10.0.13.2), was via r2", one line per
    /// destination whose route changed.
    fn describe(&self, node: usize, before: &[PlanRoute], after: &[PlanRoute]) -> Vec<String> {
        let name = &self.plan.nodes[node].name;
        let mut lines = Vec::new();
        let destinations: BTreeSet<Ipv4Net> = before.iter().chain(after).map(|r| r.to).collect();
        for to in destinations {
            let was = before.iter().find(|r| r.to == to).map(|r| r.via);
            let now = after.iter().find(|r| r.to == to).map(|r| r.via);
            match (was, now) {
                (Some(a), Some(b)) if a == b => {}
                (Some(a), Some(b)) => lines.push(format!(
                    "{name}: {to} now via {}, was via {}",
                    self.gateway_name(b),
                    self.router_of(a)
                )),
                (None, Some(b)) => {
                    lines.push(format!("{name}: {to} now via {}", self.gateway_name(b)))
                }
                (Some(a), None) => lines.push(format!(
                    "{name}: {to} unreachable (was via {}; no path left)",
                    self.router_of(a)
                )),
                (None, None) => {}
            }
        }
        lines
    }

    /// The node an address belongs to, or the address.
    fn router_of(&self, address: Ipv4Addr) -> String {
        self.plan
            .nodes
            .iter()
            .find(|n| {
                n.interfaces
                    .iter()
                    .any(|i| i.address.is_some_and(|a| a.addr() == address))
            })
            .map_or_else(|| address.to_string(), |n| n.name.clone())
    }

    fn gateway_name(&self, address: Ipv4Addr) -> String {
        format!("{} ({address})", self.router_of(address))
    }
}
