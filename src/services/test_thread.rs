//! For tests: a server on 127.0.0.1 (an ephemeral port) on its own thread
//! and current-thread runtime, as on a node, so a blocking test client can
//! talk to it from the test's thread.

use std::future::Future;
use std::net::SocketAddr;

/// Binds 127.0.0.1:0, runs `serve` on the listener on a new thread, and
/// returns the bound address (connections wait in the backlog until the
/// server accepts them).
pub(crate) fn serve_on_own_thread<Serve, Served>(serve: Serve) -> SocketAddr
where
    Serve: FnOnce(tokio::net::TcpListener) -> Served + Send + 'static,
    Served: Future<Output = ()>,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            serve(listener).await;
        });
    });
    address
}
