//! A node's services inside the daemon: one OS thread per node and phase
//! that has any, which enters the node's namespace once, starts the
//! planned services there (each binds its sockets and spawns its tasks)
//! and runs a current-thread tokio runtime until they have all ended: on
//! the daemon's stop signal, after draining their open sessions. The
//! services themselves only see bound sockets.

use anyhow::{Context, Result, anyhow};
use tokio::sync::oneshot;

use super::context::{NodeContext, Tasks};
use super::services::Kind;
use crate::net::netns;

/// A node thread; joining it waits until its services have stopped.
pub type NodeThread = std::thread::JoinHandle<Result<()>>;

/// Starts `kinds` of the node on their own thread; returns once their
/// sockets are bound (or binding failed, with the node's name in front).
pub fn start(context: NodeContext, kinds: Vec<Kind>) -> Result<NodeThread> {
    let (ready_tx, ready_rx) = oneshot::channel::<Result<()>>();
    let name = context.node.name.clone();
    let namespace = context.node.namespace.clone();
    let handle = netns::spawn_in(&namespace, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(run(context, &kinds, ready_tx));
        // A command still running on the blocking pool (a long IMAP
        // SEARCH) must not hold the daemon past `down`'s grace period.
        runtime.shutdown_timeout(crate::services::listener::DRAIN_LIMIT);
        Ok(())
    })?;
    match ready_rx.blocking_recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => Err(e.context(name)),
        // The thread ended before saying: it could not enter the namespace
        // or build its runtime.
        Err(_) => match handle.join() {
            Ok(Err(e)) => Err(e.context(format!("{name}: services failed to start"))),
            _ => Err(anyhow!("{name}: services failed to start")),
        },
    }
}

async fn run(context: NodeContext, kinds: &[Kind], ready: oneshot::Sender<Result<()>>) {
    let mut tasks = Tasks::new();
    let started = kinds.iter().try_for_each(|kind| {
        kind.start(&context, &mut tasks)
            .with_context(|| format!("cannot start its {} service", kind.short_name()))
    });
    let failed = started.is_err();
    let _ = ready.send(started);
    if failed {
        // Dropping `tasks` stops what had started.
        return;
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(Err(e)) = done {
            tracing::warn!("{}: a service stopped: {e:#}", context.node.name);
        }
    }
}
