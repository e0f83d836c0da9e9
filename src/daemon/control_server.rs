//! The daemon's side of the control socket (`control.rs` has the protocol
//! and the client): answers one request per connection until a `stop`
//! request, SIGTERM or SIGINT; each request gets `ANSWER_TIMEOUT`, reading
//! included, so an idle client cannot hold the daemon.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};

use super::control::{Reply, Request, ServerReport};
use super::state::Shared;
use crate::state::LabDir;

/// How long one control request may take, reading included.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves the control socket until the daemon is asked to stop.
pub async fn serve(dir: &LabDir, shared: &Arc<Shared>) -> Result<()> {
    let socket = dir.socket_path();
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let started = Instant::now();
    tracing::info!(
        "lab {}: daemon ready (pid {})",
        dir.name,
        std::process::id()
    );
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let answered = tokio::time::timeout(ANSWER_TIMEOUT, answer(stream, dir, started, shared)).await;
                if answered == Ok(true) {
                    tracing::info!("stop requested");
                    break;
                }
            }
            _ = terminate.recv() => { tracing::info!("SIGTERM"); break; }
            _ = interrupt.recv() => { tracing::info!("SIGINT"); break; }
        }
    }
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

/// Answers one request; true when it asks the daemon to stop.
async fn answer(stream: UnixStream, dir: &LabDir, started: Instant, shared: &Shared) -> bool {
    let lab = dir.name.as_str();
    let (reader, mut writer) = stream.into_split();
    let mut line = String::new();
    if BufReader::new(reader).read_line(&mut line).await.is_err() {
        return false;
    }
    let request: Result<Request, _> = serde_json::from_str(&line);
    let (changes, error) = match &request {
        Ok(Request::Link { ends, up }) => match shared.convergence.get() {
            Some(convergence) => match convergence.set_cable(*ends, *up).await {
                Ok(changes) => (changes, None),
                Err(e) => (Vec::new(), Some(format!("{e:#}"))),
            },
            None => (Vec::new(), Some("the daemon is still starting".to_string())),
        },
        Ok(Request::Impair { ends, netem }) => match shared.impairments.get() {
            Some(impairments) => {
                let link = crate::lab::plan::PlanLink {
                    a: ends[0],
                    b: ends[1],
                };
                match impairments.set(link, netem).await {
                    Ok(notes) => (notes, None),
                    Err(e) => (Vec::new(), Some(format!("{e:#}"))),
                }
            }
            None => (Vec::new(), Some("the daemon is still starting".to_string())),
        },
        Ok(Request::Service {
            node,
            service,
            start,
        }) => match shared.switchable.get().cloned() {
            Some(switchable) => {
                let (node, service, start) = (node.clone(), service.clone(), *start);
                // Stopping waits for the server's drain: off the runtime.
                let done = tokio::task::spawn_blocking(move || {
                    if start {
                        switchable.start_again(&node, &service)
                    } else {
                        switchable.stop(&node, &service)
                    }
                })
                .await;
                match done {
                    Ok(Ok(true)) => (vec!["changed".to_string()], None),
                    Ok(Ok(false)) => (Vec::new(), None),
                    Ok(Err(e)) => (Vec::new(), Some(format!("{e:#}"))),
                    Err(e) => (Vec::new(), Some(e.to_string())),
                }
            }
            None => (Vec::new(), Some("the daemon is still starting".to_string())),
        },
        Ok(Request::Reload { node, service }) => match shared.switchable.get().cloned() {
            Some(switchable) => {
                let (node, service) = ((**node).clone(), service.clone());
                let done =
                    tokio::task::spawn_blocking(move || switchable.reload(node, &service)).await;
                match done {
                    Ok(Ok(())) => (vec!["changed".to_string()], None),
                    Ok(Err(e)) => (Vec::new(), Some(format!("{e:#}"))),
                    Err(e) => (Vec::new(), Some(e.to_string())),
                }
            }
            None => (Vec::new(), Some("the daemon is still starting".to_string())),
        },
        Ok(Request::MailUsers { node, mail }) => {
            match super::apply::mail_users(&dir.dir, shared, node, mail) {
                Ok(()) => (vec!["changed".to_string()], None),
                Err(e) => (Vec::new(), Some(format!("{e:#}"))),
            }
        }
        _ => (Vec::new(), None),
    };
    let reply = Reply {
        ok: request.is_ok() && error.is_none(),
        changes,
        error,
        stopped: shared
            .switchable
            .get()
            .map(|s| s.stopped())
            .unwrap_or_default(),
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
        mail_fate: match &request {
            Ok(Request::MailFate { node, id }) => shared
                .mail_fates
                .lock()
                .expect("lock")
                .get(node)
                .and_then(|fates| fates.of(id)),
            _ => None,
        },
    };
    let mut text = serde_json::to_string(&reply).unwrap_or_default();
    text.push('\n');
    let _ = writer.write_all(text.as_bytes()).await;
    matches!(request, Ok(Request::Stop))
}
