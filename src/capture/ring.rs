//! A packet socket's receive ring (`TPACKET_V3`), mapped into our memory:
//! the kernel writes frames straight into it, so reading costs no system
//! call and no copy in the kernel.
//!
//! The layout, as the kernel sets it up (`PACKET_RX_RING` with a
//! `tpacket_req3`): `blocks` blocks of `block_size` bytes each, shown back
//! to back by one `mmap` of the socket.
//!
//! ```text
//! block 0                     block 1                     …  block n-1
//! ┌──────────────────────────┬──────────────────────────┬───┬─────────┐
//! │tpacket_block_desc│frames │tpacket_block_desc│frames │ … │         │
//! └──────────────────────────┴──────────────────────────┴───┴─────────┘
//! tpacket_block_desc: block_status, num_pkts, offset_to_first_pkt, …
//! each frame: tpacket3_hdr │ sockaddr_ll │ … │ the frame, at tp_mac
//!             (tp_next_offset leads to the next frame's header)
//! ```
//!
//! A block belongs to the kernel while its status is `TP_STATUS_KERNEL`:
//! the kernel fills the blocks in order (0, 1, …, n-1, 0, …) and hands one
//! over (`TP_STATUS_USER`) when the next frame does not fit, or when the
//! retire timeout passes with at least one frame in it; each hand-over
//! wakes `poll`. We read them in the same order and give each back by
//! writing `TP_STATUS_KERNEL` to its status. When the block the kernel
//! wants next is still ours, it drops frames (counted in
//! `PACKET_STATISTICS`) until we give it back. The status word is the only
//! thing both sides write, so it is read with acquire and written with
//! release ordering; everything else in a block is read only while it is
//! ours.

use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

/// `tpacket3_hdr` padded to `TPACKET_ALIGNMENT`: where `sockaddr_ll` starts.
const SOCKADDR_OFFSET: usize = (size_of::<libc::tpacket3_hdr>() + libc::TPACKET_ALIGNMENT - 1)
    & !(libc::TPACKET_ALIGNMENT - 1);

/// Frames in a block start at multiples of this (the kernel's
/// `V3_ALIGNMENT`).
const FRAME_ALIGNMENT: usize = 8;

/// One frame as the ring holds it; `data` borrows the ring until the block
/// is given back.
pub(super) struct RingFrame<'a> {
    /// Kernel timestamp (real-time clock), 0 when the kernel gave none.
    pub sec: u32,
    pub nsec: u32,
    /// Length on the wire; `data` may be shorter (filter snaplen).
    pub wire_len: u32,
    pub data: &'a [u8],
    /// `sll_pkttype` (PACKET_OUTGOING for a frame the interface sent).
    pub packet_type: u8,
    /// The 802.1Q tag the kernel took out of the frame (TPID, TCI).
    pub vlan: Option<(u16, u16)>,
}

/// The mapping of one socket's ring.
pub(super) struct Ring {
    base: *mut u8,
    block_size: usize,
    blocks: usize,
    /// The block to read next (the kernel hands them over in order).
    next: usize,
    /// Blocks read so far.
    read: u64,
    /// Whether a block filled up within `BUSY_FILL_NS` (read since the
    /// last `take_busy`).
    busy: bool,
}

/// A block that fills up faster than this marks its ring as busy.
const BUSY_FILL_NS: u64 = 50_000_000;

// SAFETY: the mapping is owned by this value alone; the kernel side only
// touches blocks whose status says they are its own.
unsafe impl Send for Ring {}

impl Ring {
    /// Maps the ring of `fd`, which `PACKET_RX_RING` gave `blocks` blocks
    /// of `block_size` bytes.
    pub(super) fn map(fd: RawFd, block_size: usize, blocks: usize) -> Result<Ring> {
        let len = block_size * blocks;
        // SAFETY: a fresh shared mapping of the socket's ring, of the size
        // the kernel allocated; unmapped in Drop.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error()).context("cannot map the packet ring");
        }
        Ok(Ring {
            base: base.cast(),
            block_size,
            blocks,
            next: 0,
            read: 0,
            busy: false,
        })
    }

    fn block(&self, index: usize) -> *mut u8 {
        // SAFETY: index < blocks, so the offset stays inside the mapping.
        unsafe { self.base.add(index * self.block_size) }
    }

    fn status(&self, index: usize) -> &AtomicU32 {
        let desc = self.block(index).cast::<libc::tpacket_block_desc>();
        // SAFETY: the block descriptor starts the block; its status word
        // is 4-byte aligned (blocks are page-aligned) and lives as long
        // as the mapping. Both sides access it atomically.
        unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*desc).hdr.bh1.block_status)) }
    }

    /// Whether a block filled up within 50 ms since the last call: the
    /// ring's tap is busy (a 64 KiB block in 50 ms: some 7,000 small
    /// frames a second).
    pub(super) fn take_busy(&mut self) -> bool {
        std::mem::take(&mut self.busy)
    }

    /// Blocks read since the ring was mapped.
    pub(super) fn blocks_read(&self) -> u64 {
        self.read
    }

    /// Whether the block the kernel is filling already holds frames (it
    /// will hand it over within the retire timeout). A hint read while the
    /// kernel writes: only used to decide whether to wait for it.
    pub(super) fn frames_in_open_block(&self) -> bool {
        if self.status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0 {
            return false;
        }
        let desc = self.block(self.next).cast::<libc::tpacket_block_desc>();
        // SAFETY: as in `status`; num_pkts is another aligned u32 the
        // kernel updates under its lock, read atomically here.
        let count =
            unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*desc).hdr.bh1.num_pkts)) };
        count.load(Ordering::Relaxed) > 0
    }

    /// Reads at most `max_blocks` blocks the kernel has handed over,
    /// calling `each` for every frame in them, and gives each block back.
    /// Returns the number of frames.
    pub(super) fn read(
        &mut self,
        max_blocks: usize,
        mut each: impl FnMut(RingFrame<'_>),
    ) -> Result<usize> {
        let mut frames = 0;
        for _ in 0..max_blocks {
            let status = self.status(self.next);
            let handed = status.load(Ordering::Acquire);
            if handed & libc::TP_STATUS_USER == 0 {
                break;
            }
            let walked = self.walk(self.next, &mut each);
            let filled_fast =
                handed & libc::TP_STATUS_BLK_TMO == 0 && self.fill_ns(self.next) < BUSY_FILL_NS;
            // The block goes back even if it was malformed: keeping it
            // would stop the ring for good.
            status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.busy |= filled_fast;
            self.next = (self.next + 1) % self.blocks;
            self.read += 1;
            frames += walked?;
        }
        Ok(frames)
    }

    /// How long block `index`, which is ours, took from opening to its
    /// last frame.
    fn fill_ns(&self, index: usize) -> u64 {
        // SAFETY: the descriptor is at the start of the block, aligned.
        let desc = unsafe { std::ptr::read(self.block(index).cast::<libc::tpacket_block_desc>()) };
        // SAFETY: TPACKET_V3 rings use the v1 block header; its stamps
        // are seconds and nanoseconds (the field is named for V2's µs).
        let header = unsafe { desc.hdr.bh1 };
        let ns =
            |t: libc::tpacket_bd_ts| u64::from(t.ts_sec) * 1_000_000_000 + u64::from(t.ts_usec);
        ns(header.ts_last_pkt).saturating_sub(ns(header.ts_first_pkt))
    }

    /// The frames of block `index`, which is ours.
    fn walk(&self, index: usize, each: &mut impl FnMut(RingFrame<'_>)) -> Result<usize> {
        let block = self.block(index);
        // SAFETY: the block is ours (status USER, read with acquire), so
        // the kernel has finished writing it; it spans block_size bytes.
        let bytes = unsafe { std::slice::from_raw_parts(block.cast_const(), self.block_size) };
        // SAFETY: the descriptor is at the start of the block, aligned.
        let desc = unsafe { std::ptr::read(block.cast::<libc::tpacket_block_desc>()) };
        // SAFETY: TPACKET_V3 rings use the v1 block header.
        let header = unsafe { desc.hdr.bh1 };
        let mut offset = header.offset_to_first_pkt as usize;
        for n in 0..header.num_pkts {
            let Some(end) = offset.checked_add(SOCKADDR_OFFSET + size_of::<libc::sockaddr_ll>())
            else {
                bail!("a packet ring block is malformed");
            };
            if end > self.block_size || !offset.is_multiple_of(FRAME_ALIGNMENT) {
                bail!("a packet ring block is malformed (frame {n} at {offset})");
            }
            // SAFETY: in bounds and 8-byte aligned (checked above).
            let frame = unsafe { std::ptr::read(block.add(offset).cast::<libc::tpacket3_hdr>()) };
            // SAFETY: in bounds (checked above); sockaddr_ll is 4-aligned
            // and SOCKADDR_OFFSET is a multiple of 16.
            let address = unsafe {
                std::ptr::read(
                    block
                        .add(offset + SOCKADDR_OFFSET)
                        .cast::<libc::sockaddr_ll>(),
                )
            };
            let start = offset + frame.tp_mac as usize;
            let Some(data) = bytes.get(start..start + frame.tp_snaplen as usize) else {
                bail!("a packet ring frame runs past its block");
            };
            let vlan = (frame.tp_status & libc::TP_STATUS_VLAN_VALID != 0).then(|| {
                let tpid = if frame.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                    frame.hv1.tp_vlan_tpid
                } else {
                    libc::ETH_P_8021Q as u16
                };
                (tpid, frame.hv1.tp_vlan_tci as u16)
            });
            each(RingFrame {
                sec: frame.tp_sec,
                nsec: frame.tp_nsec,
                wire_len: frame.tp_len,
                data,
                packet_type: address.sll_pkttype,
                vlan,
            });
            if frame.tp_next_offset == 0 {
                return Ok(n as usize + 1);
            }
            offset += frame.tp_next_offset as usize;
        }
        Ok(header.num_pkts as usize)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `map` mapped; nothing borrows it now.
        unsafe { libc::munmap(self.base.cast(), self.block_size * self.blocks) };
    }
}
