//! A busy tap's second socket. Rings are memory the kernel allocates when
//! a capture starts, so a tap's share is small when a lab has thousands;
//! a tap whose blocks fill up fast gets a second socket with a ring of
//! `GROWN_RING` in its first socket's fanout group (the kernel moves on to
//! it once the first ring is full). It is opened in the node's namespace
//! on a thread of its own, since setting up a ring waits for an RCU grace
//! period and the reader must not.

use std::thread::JoinHandle;

use anyhow::{Context, Result};

use super::bpf::Filter;
use super::frame::Tap;
use super::socket::{Group, PacketSocket, RingShape};
use crate::lab::plan::namespace_name;
use crate::net::netns;

/// A busy tap's second ring: 128 blocks, some 45,000 small frames.
const GROWN_RING: usize = 8 << 20;
/// Memory for second rings, all taps together: 32 busy taps.
const GROW_BUDGET: usize = 256 << 20;

pub(super) struct Growth {
    lab: String,
    taps: Vec<Tap>,
    filter: Option<Filter>,
    shape: RingShape,
    budget_left: usize,
    /// Taps that have (or are getting) a second socket.
    grown: Vec<bool>,
    opening: Vec<JoinHandle<Result<PacketSocket>>>,
}

impl Growth {
    /// Growth for the taps of lab `lab`, whose rings have `shape`.
    pub(super) fn new(lab: &str, taps: &[Tap], filter: Option<Filter>, shape: RingShape) -> Growth {
        Growth {
            lab: lab.to_string(),
            taps: taps.to_vec(),
            filter,
            shape: RingShape {
                blocks: (GROWN_RING / shape.block_size).max(shape.blocks),
                ..shape
            },
            budget_left: GROW_BUDGET,
            grown: vec![false; taps.len()],
            opening: Vec::new(),
        }
    }

    /// Starts opening a second socket for `socket`'s tap if it has been
    /// busy since the last look, has none yet, and the budget allows.
    pub(super) fn consider(&mut self, socket: &mut PacketSocket) {
        if !socket.take_busy() {
            return;
        }
        let tap = socket.tap();
        let (Some(group), false) = (socket.group(), self.grown[tap]) else {
            return;
        };
        let bytes = self.shape.bytes();
        if self.budget_left < bytes {
            return;
        }
        self.budget_left -= bytes;
        self.grown[tap] = true;
        let namespace = namespace_name(&self.lab, &self.taps[tap].node);
        let iface = self.taps[tap].iface.clone();
        let (filter, shape) = (self.filter.clone(), self.shape);
        let opening = std::thread::Builder::new()
            .name("capture-grow".into())
            .spawn(move || {
                let mut opened = netns::run_in_each(vec![namespace], move |_, _| {
                    PacketSocket::open(tap, &iface, filter.as_ref(), shape, Group::Join(group))
                })?;
                opened.pop().context("no socket was opened")
            });
        // Best effort: without a thread the tap keeps its one ring.
        if let Ok(opening) = opening {
            self.opening.push(opening);
        }
    }

    /// Whether sockets are being opened.
    pub(super) fn pending(&self) -> bool {
        !self.opening.is_empty()
    }

    /// The second sockets opened since the last call; with `wait`, all of
    /// those being opened (at the stop: a socket in a group may already
    /// hold frames). One that failed to open is left out: its tap keeps
    /// the ring it has.
    pub(super) fn ready(&mut self, wait: bool) -> Vec<PacketSocket> {
        let (done, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.opening)
            .into_iter()
            .partition(|opening| wait || opening.is_finished());
        self.opening = still;
        done.into_iter()
            .filter_map(|opening| opening.join().ok()?.ok())
            .collect()
    }
}
