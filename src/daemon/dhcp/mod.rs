//! A node's DHCP roles inside the daemon: the server (`server.rs`), the
//! relays of a router (`relay.rs`) and the clients of a host's `dhcp`
//! interfaces (`client.rs`). Each binds its sockets in the node's
//! namespace and hands them to `services::dhcp`.

pub mod client;
pub mod relay;
pub mod server;

pub const DHCP_SERVER_PORT: u16 = 67;
pub const DHCP_CLIENT_PORT: u16 = 68;
