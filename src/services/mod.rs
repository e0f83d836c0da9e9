//! The services a lab daemon runs inside nodes. A service takes sockets that
//! are already bound (the daemon binds them inside the node's namespace) and
//! never deals with namespaces itself, so each is tested on 127.0.0.1.

pub mod dhcp;
pub mod dns;
pub mod http;
pub mod listener;
pub mod mail;
pub mod node_log;
pub mod shutdown;
#[cfg(test)]
pub(crate) mod test_thread;
pub mod tls;
