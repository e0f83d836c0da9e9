//! Packets seen on a running lab's interfaces: what was captured (`frame`),
//! how it is captured (`session`: a packet socket per tap in its node's
//! namespace with a mapped ring, `socket`, `ring`, `grow`, `order`; `bpf`
//! filters in the kernel), written and read back
//! (`pcapng`), what it means (`decode`, `sequence`), and which interfaces
//! a capture means (`taps`). Sits beside `services` and `agent`: it enters the lab's
//! namespaces through `net` and reads the lab's `plan`; `checks`, `ops` and
//! the web view stand on it.

pub mod bpf;
pub mod decode;
pub mod frame;
mod grow;
mod order;
pub mod pcapng;
mod ring;
pub mod sequence;
pub mod session;
mod socket;
pub mod taps;

pub use socket::now_ns;
