//! Cables' impairments, put on by the lab daemon: the lab file's at start,
//! `labctl link … --delay …` while the lab runs. On each end of the cable
//! the kernel's netem does the work (`net::netem`); on a kernel without
//! netem the daemon carries delay, jitter, loss, duplication and
//! corruption itself on a userspace wire (`net::wire`, `wire.rs`), and the
//! rate stays a tbf queue in the kernel, after the wire.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

use anyhow::{Context, Result};

use super::wire::{self, Relay};
use crate::lab::netem::Netem;
use crate::lab::plan::{Plan, PlanEnd, PlanLink};
use crate::net::links;
use crate::net::netem::{self, NoNetem};
use crate::net::wire as kernel_wire;

pub struct Impairments {
    plan: Arc<Plan>,
    runtime: tokio::runtime::Handle,
    /// The ends whose cable the daemon carries, by (node, iface).
    relays: Mutex<HashMap<(usize, usize), Relay>>,
}

/// Said when the daemon carries a cable (`labctl link` prints it).
pub const CARRIED: &str = "this kernel has no netem (sch_netem): the lab daemon carries the delay, loss, duplication and corruption";

impl Impairments {
    pub fn new(plan: Arc<Plan>, runtime: &tokio::runtime::Handle) -> Impairments {
        Impairments {
            plan,
            runtime: runtime.clone(),
            relays: Mutex::new(HashMap::new()),
        }
    }

    /// Puts the lab file's impairments on their cables.
    pub async fn apply_planned(&self) -> Result<()> {
        for impaired in &self.plan.impairments {
            let link = self.plan.links[impaired.link];
            self.set(link, &impaired.netem).await?;
        }
        Ok(())
    }

    /// Puts `netem` on both ends of `link` (each direction gets it),
    /// replacing what the cable had; a clear `netem` takes all off. Says
    /// how it was done when that is worth saying. Half a change is worse
    /// than none: on an error the cable is left clear.
    pub async fn set(&self, link: PlanLink, netem: &Netem) -> Result<Vec<String>> {
        match self.set_ends(link, netem).await {
            Ok(notes) => Ok(notes),
            Err(e) => {
                let _ = self.set_ends(link, &Netem::default()).await;
                Err(e)
            }
        }
    }

    async fn set_ends(&self, link: PlanLink, netem: &Netem) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        for end in [link.a, link.b] {
            let name = format!(
                "{}:{}",
                self.plan.nodes[end.node].name,
                self.plan.iface(end).name
            );
            if self
                .set_end(end, netem)
                .await
                .with_context(|| format!("on {name}"))?
            {
                notes = vec![CARRIED.to_string()];
            }
        }
        Ok(notes)
    }

    /// One end; true when the daemon carries it.
    async fn set_end(&self, end: PlanEnd, netem: &Netem) -> Result<bool> {
        // The old relay stops first: its tap is about to go.
        self.relays
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(end.node, end.iface));
        let node = &self.plan.nodes[end.node];
        let iface = self.plan.iface(end);
        let (handle, _) = links::netlink_in(&node.namespace, &self.runtime, false)?;
        kernel_wire::detach(&handle, iface.index).await?;
        match netem::set(&handle, iface.index, netem).await {
            Ok(()) => Ok(false),
            Err(e) if e.is::<NoNetem>() => {
                // The rate alone stays the kernel's.
                let rate = Netem {
                    rate_bytes: netem.rate_bytes,
                    ..Netem::default()
                };
                netem::set(&handle, iface.index, &rate).await?;
                let (tap, _) = kernel_wire::attach(&handle, iface.index).await?;
                let relay = wire::start(&node.namespace, &tap, &iface.name, netem)?;
                self.relays
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((end.node, end.iface), relay);
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }
}
