//! The only code that talks to the kernel: namespaces, links, bridges,
//! addresses, routes, sysctls, the per-node files under /etc/netns, and the
//! user namespaces of rootless labs.

pub mod build;
pub mod etc;
pub mod inspect;
pub mod lease;
pub mod links;
pub mod netem;
pub mod netns;
pub mod packet;
pub mod subid;
pub mod tcp;
pub mod udp;
pub mod userns;
pub mod wire;
