//! The lab daemon: one background process per running lab, started by `up`
//! and stopped by `down`. It hosts the lab's services (each node's services
//! run inside that node's namespace) and answers on its control socket.
//! Its log is `daemon.log` in the lab's state dir.

pub mod control;
pub mod dns;
pub mod lock;
pub mod mail;
pub mod node;
pub mod pidfile;
pub mod services;
pub mod state;
pub mod web;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};

use crate::net::netns;
use crate::services::node_log::NodeLog;
use crate::state::{LabDir, LabRecord};
use control::{Reply, Request, ServerReport};
use node::{NodeContext, Phase};
use pidfile::ProcessId;
use state::Shared;

pub fn run(lab: &str) -> Result<ExitCode> {
    let dir = LabDir::of(lab)?;
    // Everything the daemon writes (mail, queue, leases, logs, its pid and
    // socket) is root's alone: it holds the lab's mail and logins.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    // Before anything else: a second daemon must not touch the first one's
    // pid file, socket or ports.
    let _lock = lock::acquire(&dir)?;
    let record = dir.read_record()?;
    for node in &record.plan.nodes {
        if !netns::exists(&node.namespace) {
            anyhow::bail!(
                "namespace {} of node {} is missing",
                node.namespace,
                node.name
            );
        }
    }
    ProcessId::current()?.write(&dir.pid_path())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let shared = Arc::new(Shared::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (threads, logs) = start_services(&dir, &record, &shared, &stopped)?;
    let served = runtime.block_on(serve(&dir, &shared));
    let _ = stop.send(true);
    for thread in threads {
        let _ = thread.join();
    }
    for log in logs.values() {
        log.sync();
    }
    served?;
    log(&format!("lab {lab}: daemon stopped"));
    Ok(ExitCode::SUCCESS)
}

type NodeThread = std::thread::JoinHandle<Result<()>>;

/// Opens the node logs and starts every node's services: servers and
/// relays first, then clients.
fn start_services(
    dir: &LabDir,
    record: &LabRecord,
    shared: &Arc<Shared>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<(Vec<NodeThread>, BTreeMap<String, NodeLog>)> {
    let mut threads = Vec::new();
    let mut logs = BTreeMap::new();
    for node in record.plan.nodes.iter().filter(|n| node::keeps_log(n)) {
        let path = node::log_path(&dir.dir, &node.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let log = NodeLog::open(&path)
            .with_context(|| format!("cannot open the log {}", path.display()))?;
        logs.insert(node.name.clone(), log);
    }
    for phase in [Phase::Infrastructure, Phase::Clients] {
        for node in &record.plan.nodes {
            let wanted = match phase {
                Phase::Infrastructure => {
                    node.dhcp_server.is_some()
                        || node.dns_server.is_some()
                        || node.mail.is_some()
                        || node.interfaces.iter().any(|i| i.dhcp_relay.is_some())
                        || node.agents.web.is_some()
                }
                Phase::Clients => node.interfaces.iter().any(|i| i.dhcp),
            };
            if wanted {
                let context = NodeContext {
                    node: node.clone(),
                    state_dir: dir.dir.clone(),
                    shared: shared.clone(),
                    stop: stop.clone(),
                    log: logs
                        .get(&node.name)
                        .cloned()
                        .unwrap_or_else(NodeLog::discard),
                };
                threads.push(node::start(context, phase)?);
            }
        }
    }
    Ok((threads, logs))
}

fn log(line: &str) {
    eprintln!("{} {line}", humantime_now());
}

/// Seconds since the epoch, for log lines (the log is for reading, not parsing).
fn humantime_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("[{}.{:03}]", now.as_secs(), now.subsec_millis())
}

/// How long one control request may take, reading included.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn serve(dir: &LabDir, shared: &Shared) -> Result<()> {
    let socket = dir.socket_path();
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let started = Instant::now();
    log(&format!(
        "lab {}: daemon ready (pid {})",
        dir.name,
        std::process::id()
    ));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                // A client that connects and says nothing must not hold the
                // daemon: it gets ANSWER_TIMEOUT, then is dropped.
                let answered = tokio::time::timeout(ANSWER_TIMEOUT, answer(stream, &dir.name, started, shared)).await;
                if answered == Ok(true) {
                    log("stop requested");
                    break;
                }
            }
            _ = terminate.recv() => { log("SIGTERM"); break; }
            _ = interrupt.recv() => { log("SIGINT"); break; }
        }
    }
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

/// Answers one request; true when it asks the daemon to stop.
async fn answer(stream: UnixStream, lab: &str, started: Instant, shared: &Shared) -> bool {
    let (reader, mut writer) = stream.into_split();
    let mut line = String::new();
    if BufReader::new(reader).read_line(&mut line).await.is_err() {
        return false;
    }
    let request: Result<Request, _> = serde_json::from_str(&line);
    let reply = Reply {
        ok: request.is_ok(),
        lab: lab.to_string(),
        pid: std::process::id(),
        uptime_seconds: started.elapsed().as_secs(),
        dhcp_clients: shared.client_reports(),
        dhcp_servers: shared
            .dhcp_servers
            .lock()
            .expect("lock")
            .iter()
            .map(|(node, server)| {
                let server = server.lock().expect("lock");
                let report = ServerReport {
                    leases: server.leases(SystemTime::now()),
                    stats: server.stats(),
                };
                (node.clone(), report)
            })
            .collect(),
    };
    let mut text = serde_json::to_string(&reply).unwrap_or_default();
    text.push('\n');
    let _ = writer.write_all(text.as_bytes()).await;
    matches!(request, Ok(Request::Stop))
}
