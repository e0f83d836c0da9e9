//! The accept loop of every TCP service (SMTP, POP3, IMAP, HTTP, DNS over
//! TCP): one task per connection, a cap on connections at once and a
//! smaller cap per client address, so one machine cannot take every slot
//! and lock the others out. A connection past a cap gets the protocol's
//! "busy" reply and is closed; nobody else notices. Accept errors (out of
//! descriptors, mostly) back off instead of spinning. On the daemon's stop
//! signal the loop stops accepting and ends every open session's input
//! (`shutdown(SHUT_RD)`): a session waiting for its client's next command
//! reads the end of the stream and closes at once, while one in the middle
//! of a command finishes it and writes its reply. Sessions get at most
//! `DRAIN_LIMIT` for that; what is left is then dropped. With no session
//! open it returns at once.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::shutdown::Shutdown;

/// How many connections a service takes at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections at once, from everyone.
    pub max_connections: usize,
    /// Connections at once from one client address.
    pub max_per_client: usize,
}

/// What a refused client is told before the connection closes (empty for a
/// protocol without a greeting: the connection just closes).
#[derive(Clone, Copy, Debug)]
pub struct Busy {
    /// The service's name in the daemon log.
    pub service: &'static str,
    /// When the service has `max_connections` already.
    pub server_full: &'static str,
    /// When this client has `max_per_client` already.
    pub client_full: &'static str,
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    ServerFull,
    ClientFull,
}

/// The connection counts behind the caps; one gate may cover several
/// listeners (DNS listens on each of a node's addresses).
#[derive(Clone)]
pub struct Gate {
    limits: Limits,
    counts: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// A connection's place under the caps, given back when dropped.
pub struct Slot {
    client: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Gate {
    pub fn new(limits: Limits) -> Gate {
        Gate {
            limits,
            counts: Arc::default(),
        }
    }

    /// A slot for a new connection from `client`, unless a cap is reached.
    /// The per-client cap is checked first, so a client over it is told so
    /// even when the server is full too.
    pub fn admit(&self, client: IpAddr) -> Result<Slot, Refused> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let from_client = counts.by_client.get(&client).copied().unwrap_or(0);
        if from_client >= self.limits.max_per_client {
            return Err(Refused::ClientFull);
        }
        if counts.total >= self.limits.max_connections {
            return Err(Refused::ServerFull);
        }
        counts.total += 1;
        counts.by_client.insert(client, from_client + 1);
        Ok(Slot {
            client,
            counts: self.counts.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total -= 1;
        if let Some(n) = counts.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                counts.by_client.remove(&self.client);
            }
        }
    }
}

/// Refused connections being told so at once; past this they are closed
/// without a word, so a flood cannot pile up tasks.
const MAX_REFUSING: usize = 64;
/// How long a refused connection is kept to deliver the busy reply.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);
/// The first and longest wait after a failed accept (doubling in between).
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_LONGEST: Duration = Duration::from_secs(1);
/// How long open sessions get to finish once the daemon stops. Shorter
/// than the grace `down` gives the daemon after SIGTERM (2 s), so the
/// drain ends before the daemon could be killed.
pub const DRAIN_LIMIT: Duration = Duration::from_millis(1500);

/// Runs `session` for every admitted connection until `shutdown` fires,
/// then drains: no more accepts, open sessions get `DRAIN_LIMIT` to end.
pub async fn serve<F, Fut>(
    listener: TcpListener,
    gate: Gate,
    busy: Busy,
    shutdown: Shutdown,
    session: F,
) -> anyhow::Result<()>
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    serve_draining(listener, gate, busy, shutdown, DRAIN_LIMIT, session).await
}

async fn serve_draining<F, Fut>(
    listener: TcpListener,
    gate: Gate,
    busy: Busy,
    mut shutdown: Shutdown,
    drain_limit: Duration,
    session: F,
) -> anyhow::Result<()>
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let mut sessions = JoinSet::new();
    let inputs = OpenInputs::default();
    let mut backoff = ACCEPT_BACKOFF_FIRST;
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.fired() => break,
            // Reap finished sessions as they end, so the set holds only
            // open ones.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff = ACCEPT_BACKOFF_FIRST;
                    accepted
                }
                Err(e) => {
                    // Out of descriptors, most likely: sessions must end
                    // before another accept can succeed.
                    tracing::warn!("{}: accept failed: {e}; waiting {backoff:?}", busy.service);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_LONGEST);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        match gate.admit(peer.ip()) {
            Ok(slot) => {
                let input = inputs.add(&stream);
                let running = session(stream, peer);
                let inputs = inputs.clone();
                sessions.spawn(async move {
                    running.await;
                    inputs.remove(input);
                    drop(slot);
                });
            }
            Err(why) => {
                let reply = match why {
                    Refused::ServerFull => busy.server_full,
                    Refused::ClientFull => busy.client_full,
                };
                if let Ok(permit) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(REFUSAL_LINGER, refuse(stream, reply)).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    // Stop accepting first: from here new connections are refused by the
    // kernel instead of waiting in the backlog.
    drop(listener);
    inputs.end_all();
    drain(sessions, drain_limit, busy.service).await;
    Ok(())
}

/// A duplicate of each open session's socket, so the loop can end its
/// input at shutdown while the session owns the stream. The duplicate is
/// dropped the moment the session ends, so it never keeps a connection
/// open, and a descriptor number reused elsewhere is never touched.
#[derive(Clone, Default)]
struct OpenInputs(Arc<Mutex<(u64, HashMap<u64, OwnedFd>)>>);

impl OpenInputs {
    /// Remembers `stream`'s socket; `None` if it cannot be duplicated (out
    /// of descriptors), in which case the drain limit still closes it.
    fn add(&self, stream: &TcpStream) -> Option<u64> {
        let socket = stream.as_fd().try_clone_to_owned().ok()?;
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        open.0 += 1;
        let id = open.0;
        open.1.insert(id, socket);
        Some(id)
    }

    fn remove(&self, id: Option<u64>) {
        if let Some(id) = id {
            let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
            open.1.remove(&id);
        }
    }

    /// Ends every open session's input: its next read sees the end of
    /// the stream; what it writes still goes out.
    fn end_all(&self) {
        let open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for socket in open.1.values() {
            let _ = socket2::SockRef::from(socket).shutdown(std::net::Shutdown::Read);
        }
    }
}

/// Waits for open sessions to end, at most `limit`; then drops (closes)
/// the ones still open. Returns at once when none is open.
async fn drain(mut sessions: JoinSet<()>, limit: Duration, service: &str) {
    if sessions.is_empty() {
        return;
    }
    let all_ended = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(limit, all_ended).await.is_err() {
        tracing::info!(
            "{service}: stopping: {} still open after {limit:?}, closing them",
            crate::plural::count(sessions.len(), "session")
        );
        sessions.shutdown().await;
    }
}

/// Sends the busy reply and closes. What the client already sent is read
/// and dropped first, so the close is a FIN after the reply and not a
/// reset that could destroy it (an HTTP client sends before it reads).
async fn refuse(mut stream: TcpStream, reply: &str) -> std::io::Result<()> {
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await?;
    let mut sink = [0u8; 4096];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::shutdown::ShutdownTrigger;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn the_per_client_cap_counts_each_address_on_its_own() {
        let gate = Gate::new(Limits {
            max_connections: 5,
            max_per_client: 2,
        });
        let a1 = gate.admit(ip(1)).unwrap();
        let _a2 = gate.admit(ip(1)).unwrap();
        assert_eq!(gate.admit(ip(1)).err(), Some(Refused::ClientFull));
        let _b1 = gate.admit(ip(2)).unwrap();
        let _b2 = gate.admit(ip(2)).unwrap();
        drop(a1);
        let _a3 = gate.admit(ip(1)).unwrap();
        let _c1 = gate.admit(ip(3)).unwrap();
        assert_eq!(gate.admit(ip(4)).err(), Some(Refused::ServerFull));
        assert_eq!(
            gate.admit(ip(1)).err(),
            Some(Refused::ClientFull),
            "a client over its own cap is told so first"
        );
    }

    #[test]
    fn slots_are_given_back() {
        let gate = Gate::new(Limits {
            max_connections: 2,
            max_per_client: 1,
        });
        for _ in 0..3 {
            let a = gate.admit(ip(1)).unwrap();
            let b = gate.admit(ip(2)).unwrap();
            drop((a, b));
        }
        let counts = gate.counts.lock().unwrap();
        assert_eq!(counts.total, 0);
        assert!(counts.by_client.is_empty(), "no entry left per client");
    }

    fn test_busy() -> Busy {
        Busy {
            service: "test",
            server_full: "",
            client_full: "",
        }
    }

    const ROOMY: Limits = Limits {
        max_connections: 8,
        max_per_client: 8,
    };

    /// The loop ends when the signal fires, even when it already had before
    /// the loop started; with no session open it does not wait.
    #[tokio::test]
    async fn stops_on_the_stop_signal() {
        let trigger = ShutdownTrigger::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let running = tokio::spawn(serve(
            listener,
            Gate::new(ROOMY),
            test_busy(),
            trigger.subscribe(),
            |_, _| async {},
        ));
        // One session that has ended by the time the signal fires.
        let mut client = TcpStream::connect(address).await.unwrap();
        let mut sink = Vec::new();
        client.read_to_end(&mut sink).await.unwrap();
        let asked = std::time::Instant::now();
        trigger.fire();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("stopped in time")
            .unwrap()
            .unwrap();
        assert!(
            asked.elapsed() < DRAIN_LIMIT,
            "no open session, no wait: {:?}",
            asked.elapsed()
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let already = serve(
            listener,
            Gate::new(ROOMY),
            test_busy(),
            trigger.subscribe(),
            |_, _| async {},
        );
        tokio::time::timeout(Duration::from_secs(5), already)
            .await
            .expect("stopped at once")
            .unwrap();
    }

    /// A session open when the signal fires finishes its work (here: a
    /// reply written after a pause) before `serve` returns, and nobody new
    /// gets in meanwhile.
    #[tokio::test]
    async fn open_sessions_finish_before_serve_returns() {
        let trigger = ShutdownTrigger::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let finished_in_session = finished.clone();
        let running = tokio::spawn(serve(
            listener,
            Gate::new(ROOMY),
            test_busy(),
            trigger.subscribe(),
            move |mut stream, _| {
                let started = started_tx.clone();
                let finished = finished_in_session.clone();
                async move {
                    let _ = started.send(());
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let _ = stream.write_all(b"bye\n").await;
                    finished.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            },
        ));
        let mut client = TcpStream::connect(address).await.unwrap();
        started.recv().await.unwrap();
        trigger.fire();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("drained in time")
            .unwrap()
            .unwrap();
        assert!(
            finished.load(std::sync::atomic::Ordering::SeqCst),
            "serve returned before its open session had finished"
        );
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"bye\n");
        assert!(
            TcpStream::connect(address).await.is_err(),
            "no longer accepting"
        );
    }

    /// A session waiting for its client's next command ends at shutdown,
    /// not at the drain limit: its read sees the end of the stream, and it
    /// can still say goodbye.
    #[tokio::test]
    async fn an_idle_session_ends_at_once_and_can_still_reply() {
        let trigger = ShutdownTrigger::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let running = tokio::spawn(serve_draining(
            listener,
            Gate::new(ROOMY),
            test_busy(),
            trigger.subscribe(),
            // Far longer than the test allows: only the ended input can
            // make the session return in time.
            Duration::from_secs(30),
            move |mut stream, _| {
                let started = started_tx.clone();
                async move {
                    let _ = started.send(());
                    let mut next = [0u8; 16];
                    if let Ok(0) = stream.read(&mut next).await {
                        let _ = stream.write_all(b"* BYE shutting down\n").await;
                    }
                }
            },
        ));
        let mut client = TcpStream::connect(address).await.unwrap();
        started.recv().await.unwrap();
        trigger.fire();
        tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .expect("the idle session ended at shutdown, not at the drain limit")
            .unwrap()
            .unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"* BYE shutting down\n");
    }

    /// A session that would never end is closed once the drain limit has
    /// passed: the client reads the end of the stream.
    #[tokio::test]
    async fn sessions_still_open_after_the_limit_are_closed() {
        let trigger = ShutdownTrigger::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let limit = Duration::from_millis(200);
        let running = tokio::spawn(serve_draining(
            listener,
            Gate::new(ROOMY),
            test_busy(),
            trigger.subscribe(),
            limit,
            move |stream, _| {
                let started = started_tx.clone();
                async move {
                    let _ = started.send(());
                    // A command that never finishes (reading is not it: a
                    // waiting read ends at shutdown), holding the stream.
                    std::future::pending::<()>().await;
                    drop(stream);
                }
            },
        ));
        let mut client = TcpStream::connect(address).await.unwrap();
        started.recv().await.unwrap();
        let asked = std::time::Instant::now();
        trigger.fire();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("gave up on the session in time")
            .unwrap()
            .unwrap();
        assert!(asked.elapsed() >= limit, "waited {:?}", asked.elapsed());
        let mut rest = Vec::new();
        // Ends with a FIN or a reset; either way the read returns.
        let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest))
            .await
            .expect("the session was closed");
    }
}
