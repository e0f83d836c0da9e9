//! One tap's packet socket: `AF_PACKET`/`SOCK_RAW` opened inside the node's
//! namespace (it stays there for life), bound to one interface, with the
//! capture filter attached in the kernel, a large receive buffer, and
//! kernel timestamps on the real-time clock. Frames are read many at a time
//! with `recvmmsg` into a reused batch of 128 KiB slots, so a 64 KiB frame
//! from a veth with offloads is never cut.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};

use super::bpf::Filter;
use super::frame::{Direction, Frame};

/// The largest frame kept whole: a 64 KiB GSO frame plus headers fits.
const SLOT: usize = 128 * 1024;
/// Frames read by one `recvmmsg`.
pub(super) const BATCH: usize = 32;
/// Room for one `SCM_TIMESTAMPNS` control message.
const CONTROL: usize = 64;

/// The kernel's counters for one socket since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCounts {
    /// Frames that matched the filter (delivered or dropped).
    pub seen: u64,
    /// Frames dropped because the receive buffer was full.
    pub dropped: u64,
}

pub(super) struct PacketSocket {
    fd: OwnedFd,
    counts: KernelCounts,
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

impl PacketSocket {
    /// Opens a socket on interface `iface` of the calling thread's
    /// namespace. The filter is attached before the socket is bound, so no
    /// unfiltered frame is ever queued.
    pub(super) fn open(
        iface: &str,
        filter: Option<&Filter>,
        receive_buffer: usize,
    ) -> Result<Self> {
        let name = std::ffi::CString::new(iface)
            .with_context(|| format!("`{iface}` is not an interface name"))?;
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("there is no interface {iface}"));
        }
        // SAFETY: plain socket(2); the fd is owned right after.
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
        if let Some(filter) = filter {
            let program = filter.instructions();
            let fprog = libc::sock_fprog {
                len: program.len() as u16,
                filter: program.as_ptr().cast_mut(),
            };
            set_option(
                raw,
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                &fprog,
                "cannot attach the capture filter",
            )?;
        }
        let size = receive_buffer.min(i32::MAX as usize) as libc::c_int;
        // As root the buffer may exceed net.core.rmem_max.
        if set_option(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &size, "").is_err() {
            set_option(
                raw,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                &size,
                "cannot size the receive buffer",
            )?;
        }
        let on: libc::c_int = 1;
        set_option(
            raw,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            &on,
            "cannot ask for timestamps",
        )?;
        // SAFETY: an all-zero sockaddr_ll is valid; the fields are set below.
        let mut address: libc::sockaddr_ll = unsafe { zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        address.sll_ifindex = index as i32;
        // SAFETY: `address` is a valid sockaddr_ll of the size given.
        let ret = unsafe {
            libc::bind(
                raw,
                (&address as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        check(ret, &format!("cannot bind a packet socket to {iface}"))?;
        Ok(PacketSocket {
            fd,
            counts: KernelCounts::default(),
        })
    }

    /// Lets the kernel queue up to `size` bytes for this socket (as root,
    /// beyond net.core.rmem_max): a busy tap gets more room than an idle one.
    pub(super) fn set_buffer(&self, size: usize) -> Result<()> {
        let size = size.min(i32::MAX as usize) as libc::c_int;
        set_option(
            self.fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &size,
            "cannot grow the receive buffer",
        )
    }

    pub(super) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads what is queued, at most one batch; each frame goes to `out`
    /// tagged with `tap`. Returns how many were read (0: nothing queued).
    pub(super) fn read_batch(
        &self,
        batch: &mut Batch,
        tap: usize,
        out: &mut Vec<Frame>,
    ) -> Result<usize> {
        batch.reset();
        // SAFETY: every header points into `batch`, which outlives the call.
        let n = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                batch.headers.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                // The interface went away (lab torn down): nothing more to read.
                _ if error.raw_os_error() == Some(libc::ENETDOWN) => Ok(0),
                _ => Err(error).context("cannot read from a packet socket"),
            };
        }
        for i in 0..n as usize {
            let wire_len = batch.headers[i].msg_len as usize;
            let kept = wire_len.min(SLOT);
            let direction = if batch.addresses[i].sll_pkttype == libc::PACKET_OUTGOING {
                Direction::Out
            } else {
                Direction::In
            };
            out.push(Frame {
                tap,
                at_ns: batch.timestamp(i).unwrap_or_else(now_ns),
                direction,
                wire_len: wire_len as u32,
                data: batch.slots[i * SLOT..i * SLOT + kept].to_vec(),
            });
        }
        Ok(n as usize)
    }

    /// The kernel's counters (read and reset by the kernel on each call,
    /// so they are added up here).
    pub(super) fn counts(&mut self) -> Result<KernelCounts> {
        // SAFETY: zeroed tpacket_stats is valid; its size is passed.
        let mut stats: libc::tpacket_stats = unsafe { zeroed() };
        let mut len = size_of::<libc::tpacket_stats>() as libc::socklen_t;
        let ret = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats).cast(),
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

/// Now, in nanoseconds since the Unix epoch (the clock every tap shares).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Buffers for one `recvmmsg`, reused for every read of every socket.
/// Not `Send`: it lives on the thread that reads.
pub(super) struct Batch {
    slots: Vec<u8>,
    iovecs: Vec<libc::iovec>,
    addresses: Vec<libc::sockaddr_ll>,
    controls: Vec<[u8; CONTROL]>,
    headers: Vec<libc::mmsghdr>,
}

impl Batch {
    pub(super) fn new() -> Batch {
        let mut batch = Batch {
            slots: vec![0; SLOT * BATCH],
            iovecs: Vec::with_capacity(BATCH),
            // SAFETY: all-zero sockaddr_ll and mmsghdr are valid values.
            addresses: vec![unsafe { zeroed() }; BATCH],
            controls: vec![[0; CONTROL]; BATCH],
            headers: Vec::with_capacity(BATCH),
        };
        for i in 0..BATCH {
            batch.iovecs.push(libc::iovec {
                iov_base: batch.slots[i * SLOT..].as_mut_ptr().cast(),
                iov_len: SLOT,
            });
        }
        for _ in 0..BATCH {
            batch.headers.push(unsafe { zeroed() });
        }
        batch
    }

    /// Points every header at its buffers again (the kernel rewrites the
    /// lengths on each call).
    fn reset(&mut self) {
        for i in 0..BATCH {
            let header = &mut self.headers[i].msg_hdr;
            header.msg_name = (&mut self.addresses[i] as *mut libc::sockaddr_ll).cast();
            header.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            header.msg_iov = &mut self.iovecs[i];
            header.msg_iovlen = 1;
            header.msg_control = self.controls[i].as_mut_ptr().cast();
            header.msg_controllen = CONTROL;
            header.msg_flags = 0;
            self.headers[i].msg_len = 0;
        }
    }

    /// The kernel's receive time of frame `i`, from its `SCM_TIMESTAMPNS`.
    fn timestamp(&self, i: usize) -> Option<u64> {
        let header = &self.headers[i].msg_hdr;
        // SAFETY: the control buffer was filled by the kernel; the CMSG
        // macros stay within msg_controllen.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(header);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET
                    && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
                {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    if ts.tv_sec <= 0 {
                        return None;
                    }
                    return Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
                }
                cmsg = libc::CMSG_NXTHDR(header, cmsg);
            }
        }
        None
    }
}
