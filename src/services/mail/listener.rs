//! The accept loop the mail protocols share: one task per connection and a
//! cap on sessions at once (a connection past it gets the protocol's "busy"
//! line and is closed), until the daemon stops.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// Runs `session` for every connection until `stop`.
pub async fn serve<F, Fut>(
    listener: TcpListener,
    max_sessions: usize,
    busy: &'static str,
    mut stop: watch::Receiver<bool>,
    session: F,
) -> anyhow::Result<()>
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let sessions = Arc::new(Semaphore::new(max_sessions));
    loop {
        let (mut stream, peer) = tokio::select! {
            _ = stop.changed() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, most likely: wait for sessions to end.
                    eprintln!("mail: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = sessions.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let _ = stream.write_all(format!("{busy}\r\n").as_bytes()).await;
            });
            continue;
        };
        let running = session(stream, peer);
        tokio::spawn(async move {
            running.await;
            drop(permit);
        });
    }
}
