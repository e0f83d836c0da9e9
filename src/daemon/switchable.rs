//! Servers that `labctl service LAB NODE SERVICE stop|start` can switch
//! off and on while the lab runs (DHCP, DNS, mail, web): each runs on a
//! node thread of its own with a stop signal of its own, so stopping one
//! drains just it (its sockets close, so a client is refused as by a
//! crashed server) and starting it binds them again. Mailboxes, queue and
//! leases are on disk or in `Shared` and stay.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use anyhow::{Result, bail};

use super::context::NodeContext;
use super::node::{self, NodeThread};
use super::services::Kind;
use super::state::Shared;
use crate::lab::plan::PlanNode;
use crate::services::node_log::NodeLog;
use crate::services::shutdown::ShutdownTrigger;

struct Running {
    trigger: ShutdownTrigger,
    thread: NodeThread,
}

/// Every switchable server of the lab, by (node, service name).
pub struct Switchable {
    state_dir: PathBuf,
    shared: Weak<Shared>,
    logs: BTreeMap<String, NodeLog>,
    nodes: Mutex<BTreeMap<String, PlanNode>>,
    running: Mutex<BTreeMap<(String, &'static str), Running>>,
    stopped: Mutex<BTreeMap<(String, &'static str), Kind>>,
}

impl Switchable {
    pub fn new(
        state_dir: PathBuf,
        shared: &Arc<Shared>,
        logs: BTreeMap<String, NodeLog>,
    ) -> Switchable {
        Switchable {
            state_dir,
            shared: Arc::downgrade(shared),
            logs,
            nodes: Mutex::new(BTreeMap::new()),
            running: Mutex::new(BTreeMap::new()),
            stopped: Mutex::new(BTreeMap::new()),
        }
    }

    /// Starts `kind` of `node` on a thread of its own.
    pub fn start(&mut self, node: &PlanNode, kind: Kind) -> Result<()> {
        self.nodes
            .lock()
            .expect("lock")
            .insert(node.name.clone(), node.clone());
        self.launch(node.name.clone(), kind)
    }

    fn launch(&self, node: String, kind: Kind) -> Result<()> {
        let Some(name) = kind.service_name() else {
            bail!(
                "{} cannot be stopped or started on its own",
                kind.short_name()
            );
        };
        let Some(shared) = self.shared.upgrade() else {
            bail!("the daemon is stopping");
        };
        let trigger = ShutdownTrigger::new();
        let context = NodeContext {
            node: self.nodes.lock().expect("lock")[&node].clone(),
            state_dir: self.state_dir.clone(),
            shared,
            shutdown: trigger.subscribe(),
            log: self
                .logs
                .get(&node)
                .cloned()
                .unwrap_or_else(NodeLog::discard),
        };
        let thread = node::start(context, vec![kind])?;
        self.running
            .lock()
            .expect("lock")
            .insert((node, name), Running { trigger, thread });
        Ok(())
    }

    /// The planned server `service` of `node`, running or stopped.
    fn kind_of(&self, node: &str, service: &str) -> Result<Kind> {
        let nodes = self.nodes.lock().expect("lock");
        let Some(planned) = nodes.get(node) else {
            bail!("{node} runs no DHCP, DNS, mail or web server");
        };
        let kinds = super::services::planned(planned);
        match kinds
            .into_iter()
            .find(|k| k.service_name() == Some(service))
        {
            Some(kind) => Ok(kind),
            None => {
                let names: Vec<&str> = super::services::planned(planned)
                    .into_iter()
                    .filter_map(Kind::service_name)
                    .collect();
                bail!(
                    "{node} runs no {service} server (it runs: {})",
                    names.join(", ")
                )
            }
        }
    }

    /// Stops one server and waits until it has drained; Ok(false) when it
    /// was stopped already.
    pub fn stop(&self, node: &str, service: &str) -> Result<bool> {
        let kind = self.kind_of(node, service)?;
        let key = (node.to_string(), kind.service_name().unwrap_or_default());
        let Some(running) = self.running.lock().expect("lock").remove(&key) else {
            return Ok(false);
        };
        running.trigger.fire();
        let _ = running.thread.join();
        tracing::info!("{node}: {service} server stopped (labctl service)");
        self.stopped.lock().expect("lock").insert(key, kind);
        Ok(true)
    }

    /// Starts a stopped server again; Ok(false) when it was running.
    pub fn start_again(&self, node: &str, service: &str) -> Result<bool> {
        let kind = self.kind_of(node, service)?;
        let key = (node.to_string(), kind.service_name().unwrap_or_default());
        if self.stopped.lock().expect("lock").remove(&key).is_none() {
            return Ok(false);
        }
        self.launch(node.to_string(), kind)?;
        tracing::info!("{node}: {service} server started again (labctl service)");
        Ok(true)
    }

    /// A mail server started again after `labctl apply` gets the users
    /// applied, not those it first started with.
    pub fn update_mail(&self, node: &str, mail: crate::lab::topology::MailPlan) {
        if let Some(planned) = self.nodes.lock().expect("lock").get_mut(node) {
            planned.mail = Some(mail);
        }
    }

    /// Starts `service` of `node` again from `planned`, the node's edited
    /// plan (`labctl apply`); a stopped server stays stopped.
    pub fn reload(&self, planned: PlanNode, service: &str) -> Result<()> {
        let name = planned.name.clone();
        self.kind_of(&name, service)?;
        self.nodes
            .lock()
            .expect("lock")
            .insert(name.clone(), planned);
        let kind = self.kind_of(&name, service)?;
        let key = (name.clone(), kind.service_name().unwrap_or_default());
        let Some(running) = self.running.lock().expect("lock").remove(&key) else {
            return Ok(());
        };
        running.trigger.fire();
        let _ = running.thread.join();
        self.launch(name.clone(), kind)?;
        tracing::info!(
            "{name}: {service} server started again with the edited lab file (labctl apply)"
        );
        Ok(())
    }

    /// `node/service` of every server stopped now.
    pub fn stopped(&self) -> Vec<String> {
        self.stopped
            .lock()
            .expect("lock")
            .keys()
            .map(|(node, service)| format!("{node}/{service}"))
            .collect()
    }

    /// Stops them all (the daemon is stopping) and waits for their drain.
    pub fn stop_all(&self) {
        let running = std::mem::take(&mut *self.running.lock().expect("lock"));
        for r in running.values() {
            r.trigger.fire();
        }
        for (_, r) in running {
            let _ = r.thread.join();
        }
    }
}
