//! The nodes' service logs (`STATE/logs/NODE.log`, printed by `labctl logs
//! LAB NODE`): where they live, which nodes keep one, and opening them all
//! when the daemon starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::services::{Kind, planned};
use crate::lab::plan::{Plan, PlanNode};
use crate::services::node_log::NodeLog;

/// The node's service log, printed by `labctl logs LAB NODE`.
pub fn log_path(state_dir: &Path, node: &str) -> PathBuf {
    state_dir.join("logs").join(format!("{node}.log"))
}

/// Whether `node` runs a service that writes to its log.
pub fn keeps_log(node: &PlanNode) -> bool {
    planned(node)
        .into_iter()
        .any(|kind| kind != Kind::WebServer)
}

/// Opens the log of every node that keeps one, by node name.
pub fn open_all(state_dir: &Path, plan: &Plan) -> Result<BTreeMap<String, NodeLog>> {
    let mut logs = BTreeMap::new();
    for node in plan.nodes.iter().filter(|n| keeps_log(n)) {
        let path = log_path(state_dir, &node.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let log = NodeLog::open(&path)
            .with_context(|| format!("cannot open the log {}", path.display()))?;
        logs.insert(node.name.clone(), log);
    }
    Ok(logs)
}
