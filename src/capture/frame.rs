//! One captured frame and the interface it was seen on. Every part of
//! capture speaks these two types: the capture itself produces them, the
//! pcapng writer and reader turn them into files and back, the decoders
//! and the hop-by-hop merge read them.

/// An interface a capture listens on: `node:iface` of the lab.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tap {
    pub node: String,
    pub iface: String,
}

impl std::fmt::Display for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.node, self.iface)
    }
}

/// Which way a frame crossed its interface, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received by the interface.
    In,
    /// Sent by the interface.
    Out,
}

/// One Ethernet frame as seen on one tap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Index of the tap in the capture's list of taps.
    pub tap: usize,
    /// When it was seen: nanoseconds since the Unix epoch, on one clock
    /// for every tap of a capture.
    pub at_ns: u64,
    pub direction: Direction,
    /// The frame's length on the wire (`data` may be cut shorter).
    pub wire_len: u32,
    /// The frame from the Ethernet header on.
    pub data: Vec<u8>,
}
