//! User agents a lab host runs for its user, always from inside the host's
//! namespace and with its own settings: ping, TCP, a web client, the stub
//! resolver that reads the host's resolv.conf, the mail client, and webmail
//! (the mail client served over HTTP to a browser).

pub mod http;
pub mod http_response;
pub mod icmp;
pub mod mail;
pub mod resolver;
pub mod tcp;
pub mod webmail;
