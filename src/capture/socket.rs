//! One tap's packet socket: `AF_PACKET`/`SOCK_RAW` opened inside the node's
//! namespace (it stays there for life), bound to one interface, with the
//! capture filter attached in the kernel and a `TPACKET_V3` receive ring
//! (`ring`) that the kernel writes frames into, each with its timestamp on
//! the real-time clock. Reading walks the blocks the kernel has handed
//! over and copies each frame out; `poll` says when there are some.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};

use super::bpf::Filter;
use super::frame::{Direction, Frame};
use super::ring::{Ring, RingFrame};
use crate::net::packet;

/// The kernel's counters for one socket since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCounts {
    /// Frames that matched the filter (delivered or dropped).
    pub seen: u64,
    /// Frames dropped because the ring was full.
    pub dropped: u64,
}

/// The shape of a socket's ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RingShape {
    /// Bytes per block (a multiple of the page size); the largest frame
    /// kept whole is a little smaller.
    pub block_size: usize,
    pub blocks: usize,
    /// A block holding frames is handed over after at most this long,
    /// full or not (live views see a frame within it).
    pub retire_ms: u32,
}

impl RingShape {
    pub(super) fn bytes(&self) -> usize {
        self.block_size * self.blocks
    }
}

/// The fanout group a socket joins. Every tap's first socket starts a
/// group of its own in rollover mode: the kernel hands each frame to one
/// socket of the group, the one it used last while that one has room, else
/// the next with room. A busy tap's second socket, with a bigger ring,
/// joins the group: frames go on to it once the first ring is full, and
/// none is seen twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Group {
    New,
    Join(u16),
}

pub(super) struct PacketSocket {
    // Unmapped before the socket closes (field order).
    ring: Ring,
    fd: OwnedFd,
    /// The index of the tap this socket reads.
    tap: usize,
    /// The fanout group's id (None: the kernel refused one; the socket
    /// then works alone).
    group: Option<u16>,
    counts: KernelCounts,
}

/// Classic BPF that keeps no frame (`ret #0`): in place while the socket
/// is bound and joins its group.
const DROP_ALL: [libc::sock_filter; 1] = [libc::sock_filter {
    code: 0x06,
    jt: 0,
    jf: 0,
    k: 0,
}];

fn attach_filter(fd: RawFd, program: &[libc::sock_filter]) -> Result<()> {
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    set_option(
        fd,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        &fprog,
        "cannot attach the capture filter",
    )
}

fn check(ret: libc::c_int, what: &str) -> Result<()> {
    if ret < 0 {
        return Err(io::Error::last_os_error()).with_context(|| what.to_string());
    }
    Ok(())
}

fn set_option<T>(fd: RawFd, level: i32, name: i32, value: &T, what: &str) -> Result<()> {
    // SAFETY: `value` is a live T and its size is passed with it.
    let ret = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    check(ret, what)
}

/// `tp_frame_size` of the request: with `TPACKET_V3` frames are packed
/// by their real size and this only has to divide the block size.
const FRAME_SIZE: usize = 2048;

impl PacketSocket {
    /// Opens a socket for tap `tap` on interface `iface` of the calling
    /// thread's namespace. It keeps nothing until it is bound and in its
    /// fanout group; then the capture filter takes over from one that
    /// drops everything, so no unfiltered frame is ever kept and, joining
    /// a group, none is seen twice.
    pub(super) fn open(
        tap: usize,
        iface: &str,
        filter: Option<&Filter>,
        shape: RingShape,
        group: Group,
    ) -> Result<Self> {
        let index = packet::interface_index(iface)?;
        // SAFETY: plain socket(2); the fd is owned right after. Protocol 0:
        // nothing is received until bind names one.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        check(raw, "cannot open a packet socket (capturing needs root)")?;
        // SAFETY: `raw` is a fresh fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        attach_filter(raw, &DROP_ALL)?;
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        set_option(
            raw,
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            &version,
            "cannot ask for TPACKET_V3 (Linux 3.2 or later)",
        )?;
        let request = libc::tpacket_req3 {
            tp_block_size: shape.block_size as u32,
            tp_block_nr: shape.blocks as u32,
            tp_frame_size: FRAME_SIZE as u32,
            tp_frame_nr: (shape.block_size / FRAME_SIZE * shape.blocks) as u32,
            tp_retire_blk_tov: shape.retire_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        set_option(
            raw,
            libc::SOL_PACKET,
            libc::PACKET_RX_RING,
            &request,
            &format!("cannot set up a {} KiB packet ring", shape.bytes() / 1024),
        )?;
        let ring = Ring::map(raw, shape.block_size, shape.blocks)?;
        packet::bind(raw, index, libc::ETH_P_ALL as u16)
            .with_context(|| format!("cannot bind a packet socket to {iface}"))?;
        let group = join_group(raw, group)?;
        match filter {
            Some(filter) => attach_filter(raw, filter.instructions())?,
            None => {
                let none: libc::c_int = 0;
                set_option(
                    raw,
                    libc::SOL_SOCKET,
                    libc::SO_DETACH_FILTER,
                    &none,
                    "cannot remove the socket's start-up filter",
                )?
            }
        }
        Ok(PacketSocket {
            ring,
            fd,
            tap,
            group,
            counts: KernelCounts::default(),
        })
    }

    /// The tap this socket reads.
    pub(super) fn tap(&self) -> usize {
        self.tap
    }

    /// The socket's fanout group, for a second socket to join.
    pub(super) fn group(&self) -> Option<u16> {
        self.group
    }

    /// Whether a block filled up fast since the last call (see
    /// `Ring::take_busy`).
    pub(super) fn take_busy(&mut self) -> bool {
        self.ring.take_busy()
    }

    pub(super) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads at most `max_blocks` of the blocks the kernel has handed
    /// over; each frame goes to `batch` tagged with the tap. Returns how many
    /// frames were read (0: none is ready).
    pub(super) fn read(&mut self, max_blocks: usize, batch: &mut Batch) -> Result<usize> {
        let tap = self.tap;
        self.ring
            .read(max_blocks, |frame| batch.copy(tap, &frame))
            .context("cannot read a packet ring")
    }

    /// Blocks read since the socket was opened.
    pub(super) fn blocks_read(&self) -> u64 {
        self.ring.blocks_read()
    }

    /// Whether the kernel holds frames it has not handed over yet (it
    /// will within the retire timeout).
    pub(super) fn holds_frames(&self) -> bool {
        self.ring.frames_in_open_block()
    }

    /// The kernel's counters (read and reset by the kernel on each call,
    /// so they are added up here).
    pub(super) fn counts(&mut self) -> Result<KernelCounts> {
        // SAFETY: zeroed tpacket_stats_v3 is valid; its size is passed.
        let mut stats: libc::tpacket_stats_v3 = unsafe { zeroed() };
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        let ret = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        check(ret, "cannot read the packet socket's counters")?;
        // tp_packets already includes tp_drops.
        self.counts.seen += u64::from(stats.tp_packets);
        self.counts.dropped += u64::from(stats.tp_drops);
        Ok(self.counts)
    }
}

/// Joins the fanout group (a new one, or `Join`'s), rollover mode; returns
/// its id. A kernel without unique group ids (before 4.9) leaves a new
/// socket alone: it works, it only cannot grow.
fn join_group(fd: RawFd, group: Group) -> Result<Option<u16>> {
    let mode = libc::PACKET_FANOUT_ROLLOVER as libc::c_int;
    let request = match group {
        Group::New => (mode | libc::PACKET_FANOUT_FLAG_UNIQUEID as libc::c_int) << 16,
        Group::Join(id) => mode << 16 | libc::c_int::from(id),
    };
    let joined = set_option(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_FANOUT,
        &request,
        "cannot join the tap's fanout group",
    );
    match (joined, group) {
        (Ok(()), _) => {}
        (Err(_), Group::New) => return Ok(None),
        (Err(error), Group::Join(_)) => return Err(error),
    }
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: reads one int into `value`, whose size is passed.
    let ret = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_FANOUT,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    check(ret, "cannot read the fanout group's id")?;
    Ok(Some((value & 0xffff) as u16))
}

/// Frames copied out of the rings, and buffers to copy the next ones
/// into: a frame's buffer comes back once the sink is done with it, so in
/// a steady flow frames are read without allocating.
#[derive(Default)]
pub(super) struct Batch {
    pub frames: Vec<Frame>,
    spare: Vec<Vec<u8>>,
}

/// Buffers kept for reuse, and the largest kept (a 64 KiB frame's buffer
/// is left to the allocator).
const SPARE_BUFFERS: usize = 1 << 16;
const SPARE_CAPACITY: usize = 4096;

impl Batch {
    /// Takes back the buffers of frames the sink has finished with.
    pub(super) fn recycle(&mut self, done: &mut Vec<Frame>) {
        for frame in done.drain(..) {
            if self.spare.len() < SPARE_BUFFERS && frame.data.capacity() <= SPARE_CAPACITY {
                self.spare.push(frame.data);
            }
        }
    }

    /// A frame copied out of the ring, with the 802.1Q tag the kernel
    /// took out put back where it was (after the MAC addresses).
    fn copy(&mut self, tap: usize, frame: &RingFrame<'_>) {
        let at_ns = if frame.sec == 0 {
            now_ns()
        } else {
            u64::from(frame.sec) * 1_000_000_000 + u64::from(frame.nsec)
        };
        let direction = if frame.packet_type == libc::PACKET_OUTGOING {
            Direction::Out
        } else {
            Direction::In
        };
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        let mut wire_len = frame.wire_len;
        match frame.vlan {
            Some((tpid, tci)) if frame.data.len() >= 12 => {
                data.extend_from_slice(&frame.data[..12]);
                data.extend_from_slice(&tpid.to_be_bytes());
                data.extend_from_slice(&tci.to_be_bytes());
                data.extend_from_slice(&frame.data[12..]);
                wire_len += 4;
            }
            _ => data.extend_from_slice(frame.data),
        }
        self.frames.push(Frame {
            tap,
            at_ns,
            direction,
            wire_len,
            data,
        });
    }
}

/// Now, in nanoseconds since the Unix epoch (the clock every tap shares).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
