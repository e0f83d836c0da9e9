//! TLS for the lab's servers and labctl's own clients: the lab's
//! certificate authority and the certificates it issues (`authority`),
//! rustls settings from PEM (`config`), why a client's handshake failed
//! (`failure`), and a connection that can switch
//! to TLS mid-session for STARTTLS/STLS (`transport`). Servers get a
//! `ServerTls` and stay ignorant of files and namespaces.

pub mod authority;
pub mod config;
pub mod failure;
pub mod transport;

use tokio_rustls::TlsAcceptor;

/// What a server does about TLS, from the lab file's `tls:` key (a server
/// with `tls: off` gets no `ServerTls` at all).
#[derive(Clone)]
pub struct ServerTls {
    pub acceptor: TlsAcceptor,
    /// `tls: required`: no login (and no mail) before the switch.
    pub required: bool,
}
