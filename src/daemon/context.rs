//! What every service of a node is started from: the node's plan, the lab's
//! state dir, what the daemon shares with its control socket, the stop
//! signal and the node's service log. One value per node thread.

use std::path::PathBuf;
use std::sync::Arc;

use super::state::Shared;
use crate::lab::plan::PlanNode;
use crate::services::node_log::NodeLog;
use crate::services::shutdown::Shutdown;

/// The tasks of a node's services; the node thread runs until all ended.
pub type Tasks = tokio::task::JoinSet<anyhow::Result<()>>;

/// What a node thread, and each service on it, needs.
pub struct NodeContext {
    pub node: PlanNode,
    pub state_dir: PathBuf,
    pub shared: Arc<Shared>,
    /// Fires when the daemon stops; serve functions return once drained.
    pub shutdown: Shutdown,
    /// The node's service log (`labctl logs LAB NODE`).
    pub log: NodeLog,
}
