//! The accept loop of every TCP service (SMTP, POP3, IMAP, HTTP, DNS over
//! TCP): one task per connection, a cap on connections at once and a
//! smaller cap per client address, so one machine cannot take every slot
//! and lock the others out. A connection past a cap gets the protocol's
//! "busy" reply and is closed; nobody else notices. Accept errors (out of
//! descriptors, mostly) back off instead of spinning, and the loop ends on
//! the daemon's stop signal.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

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

/// Runs `session` for every admitted connection until `stop` turns true
/// (or its sender is gone).
pub async fn serve<F, Fut>(
    listener: TcpListener,
    gate: Gate,
    busy: Busy,
    mut stop: watch::Receiver<bool>,
    session: F,
) -> anyhow::Result<()>
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let mut backoff = ACCEPT_BACKOFF_FIRST;
    loop {
        let (stream, peer) = tokio::select! {
            () = stopped(&mut stop) => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff = ACCEPT_BACKOFF_FIRST;
                    accepted
                }
                Err(e) => {
                    // Out of descriptors, most likely: sessions must end
                    // before another accept can succeed.
                    eprintln!("{}: accept failed: {e}; waiting {backoff:?}", busy.service);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_LONGEST);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        match gate.admit(peer.ip()) {
            Ok(slot) => {
                let running = session(stream, peer);
                tokio::spawn(async move {
                    running.await;
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
}

/// Returns when `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
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

    /// The loop ends when the stop signal turns true, even when it already
    /// was before the loop started.
    #[tokio::test]
    async fn stops_on_the_stop_signal() {
        let limits = Limits {
            max_connections: 1,
            max_per_client: 1,
        };
        let busy = Busy {
            service: "test",
            server_full: "",
            client_full: "",
        };
        let (stop, stopped) = watch::channel(false);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = tokio::spawn(serve(
            listener,
            Gate::new(limits),
            busy,
            stopped,
            |_, _| async {},
        ));
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("stopped in time")
            .unwrap()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let already = serve(
            listener,
            Gate::new(limits),
            busy,
            stop.subscribe(),
            |_, _| async {},
        );
        tokio::time::timeout(Duration::from_secs(5), already)
            .await
            .expect("stopped at once")
            .unwrap();
    }
}
