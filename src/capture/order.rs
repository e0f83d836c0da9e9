//! Frames from many rings put back in time order. Each ring hands over its
//! frames in order, but not when they arrive: a busy tap's block is handed
//! over as soon as it fills, a quiet tap's only when its retire timeout
//! passes. So frames wait here, one queue per ring, until they are older
//! than the delay (the longest a ring may hold a frame); then the queues
//! are merged by time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::frame::Frame;

/// Frames read but not handed on yet.
pub(super) struct Reorder {
    delay_ns: u64,
    /// Each ring's frames, oldest first.
    queues: Vec<VecDeque<Frame>>,
    /// The time of the first frame of every queue that has one.
    heads: BinaryHeap<Reverse<(u64, usize)>>,
}

impl Reorder {
    pub(super) fn new(taps: usize, delay_ns: u64) -> Reorder {
        Reorder {
            delay_ns,
            queues: (0..taps).map(|_| VecDeque::new()).collect(),
            heads: BinaryHeap::new(),
        }
    }

    /// One more queue (a socket opened since), numbered after the others.
    pub(super) fn add_queue(&mut self) {
        self.queues.push(VecDeque::new());
    }

    /// Frames just read from ring `queue`, queued behind its earlier ones.
    pub(super) fn add(&mut self, queue: usize, fresh: &mut Vec<Frame>) {
        for frame in fresh.drain(..) {
            let waiting = &mut self.queues[queue];
            if waiting.is_empty() {
                self.heads.push(Reverse((frame.at_ns, queue)));
            }
            waiting.push_back(frame);
        }
    }

    /// Milliseconds until the oldest frame is due (None: nothing waits).
    pub(super) fn due_in_ms(&self, now_ns: u64) -> Option<i32> {
        let Reverse((oldest, _)) = self.heads.peek()?;
        let due = oldest.saturating_add(self.delay_ns).saturating_sub(now_ns);
        Some(due.div_ceil(1_000_000).min(1000) as i32)
    }

    /// The frames older than the delay, oldest first.
    pub(super) fn take_due(&mut self, now_ns: u64) -> Vec<Frame> {
        self.take_until(now_ns.saturating_sub(self.delay_ns))
    }

    /// Every frame, oldest first.
    pub(super) fn take_all(&mut self) -> Vec<Frame> {
        self.take_until(u64::MAX)
    }

    fn take_until(&mut self, cut_ns: u64) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(&Reverse((at_ns, ring))) = self.heads.peek() {
            if at_ns > cut_ns {
                break;
            }
            self.heads.pop();
            let queue = &mut self.queues[ring];
            // A ring's frames are in order, give or take the nanoseconds
            // between two CPUs stamping frames for the same socket: take
            // every frame of this queue up to the next queue's head.
            let next = self
                .heads
                .peek()
                .map_or(cut_ns, |Reverse((t, _))| (*t).min(cut_ns));
            while let Some(frame) = queue.front() {
                if frame.at_ns > next {
                    break;
                }
                out.extend(queue.pop_front());
            }
            if let Some(frame) = queue.front() {
                self.heads.push(Reverse((frame.at_ns, ring)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::frame::Direction;

    fn frame(tap: usize, at_ns: u64) -> Frame {
        Frame {
            tap,
            at_ns,
            direction: Direction::In,
            wire_len: 60,
            data: vec![0; 60],
        }
    }

    fn times(frames: &[Frame]) -> Vec<(usize, u64)> {
        frames.iter().map(|f| (f.tap, f.at_ns)).collect()
    }

    #[test]
    fn a_quiet_taps_late_frames_come_out_before_a_busy_taps_newer_ones() {
        let mut order = Reorder::new(2, 10);
        // The busy tap's block filled first; the quiet tap's was handed
        // over later, by its timeout, with older frames.
        order.add(0, &mut vec![frame(0, 100), frame(0, 105), frame(0, 120)]);
        order.add(1, &mut vec![frame(1, 101), frame(1, 110)]);
        assert_eq!(times(&order.take_due(112)), [(0, 100), (1, 101)]);
        assert_eq!(times(&order.take_due(200)), [(0, 105), (1, 110), (0, 120)]);
        assert!(order.take_all().is_empty());
        assert_eq!(order.due_in_ms(0), None);
    }

    #[test]
    fn nothing_is_handed_on_before_the_delay_and_everything_at_the_end() {
        let mut order = Reorder::new(3, 5_000_000);
        order.add(2, &mut vec![frame(2, 10_000_000), frame(2, 11_000_000)]);
        assert!(order.take_due(14_000_000).is_empty());
        assert_eq!(order.due_in_ms(14_000_000), Some(1));
        assert_eq!(times(&order.take_due(15_000_000)), [(2, 10_000_000)]);
        order.add(0, &mut vec![frame(0, 12_000_000)]);
        assert_eq!(times(&order.take_all()), [(2, 11_000_000), (0, 12_000_000)]);
    }

    #[test]
    fn a_ring_slightly_out_of_order_keeps_its_own_order() {
        // Two CPUs stamped frames for one socket a few ns apart: they come
        // out in the ring's order, nothing is lost or repeated.
        let mut order = Reorder::new(2, 0);
        order.add(0, &mut vec![frame(0, 50), frame(0, 49), frame(0, 60)]);
        order.add(1, &mut vec![frame(1, 55)]);
        let out = order.take_all();
        assert_eq!(times(&out), [(0, 50), (0, 49), (1, 55), (0, 60)]);
    }
}
