//! UDP for the DNS server in batches: a dedicated thread per socket takes
//! every waiting query with one `recvmmsg`, answers what the zones answer at
//! once, and sends those replies with one `sendmmsg` — two system calls per
//! batch instead of two per query, as Knot and NSD do. Questions for the
//! resolver go to the tokio runtime, which sends their replies on the same
//! socket when they are ready.
//!
//! Raw libc rather than nix's `recvmmsg`/`sendmmsg`, on purpose. A nix
//! version was written and measured (bench/dns.sh, same machine, load ~6,
//! A/B interleaved): labctl/Knot queries/s 1.06 and 0.86 with libc, 0.83,
//! 0.95 and 0.85 with nix; server CPU per query 6.8 and 6.4 µs with libc,
//! 6.6, 6.9 and 7.1 µs with nix. Run-to-run noise (±10%) is larger than the
//! 5% a change of this hot loop may cost, so the cost could not be shown
//! to be below it. nix 0.31's `recvmmsg` also leaves each header's address
//! length at the previous sender's (the kernel shortens it), which is only
//! right while every peer address has the same length; the loop below
//! resets it for every batch.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::handler::{Handler, Pending, Prepared};

/// Queries taken per `recvmmsg`.
const BATCH: usize = 64;
/// Room per query: more than any EDNS size a client may use.
const QUERY_ROOM: usize = 4096;
/// How often a thread waiting for queries looks at the stop flag (`wake`
/// ends the wait at once when the server stops).
const STOP_CHECK: Duration = Duration::from_millis(200);

/// A question for the resolver and who asked it.
pub type ToResolve = (Box<Pending>, SocketAddr);

/// Runs until `stop` is set: receive, answer, send, in batches.
pub fn run(
    socket: Arc<UdpSocket>,
    handler: Arc<Handler>,
    to_resolve: mpsc::Sender<ToResolve>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(STOP_CHECK))?;
    let fd = socket.as_raw_fd();
    let mut buffers = vec![[0u8; QUERY_ROOM]; BATCH];
    // SAFETY: plain C structs, all-zero is a valid value for each.
    let mut peers: Vec<libc::sockaddr_storage> = vec![unsafe { zeroed() }; BATCH];
    let mut iovecs: Vec<libc::iovec> = vec![unsafe { zeroed() }; BATCH];
    let mut headers: Vec<libc::mmsghdr> = vec![unsafe { zeroed() }; BATCH];
    let mut replies: Vec<(Vec<u8>, usize)> = Vec::with_capacity(BATCH);
    while !stop.load(Ordering::Relaxed) {
        for i in 0..BATCH {
            iovecs[i] = libc::iovec {
                iov_base: buffers[i].as_mut_ptr().cast(),
                iov_len: QUERY_ROOM,
            };
            headers[i].msg_hdr.msg_name = (&mut peers[i] as *mut libc::sockaddr_storage).cast();
            headers[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
            headers[i].msg_hdr.msg_iov = &mut iovecs[i];
            headers[i].msg_hdr.msg_iovlen = 1;
            headers[i].msg_hdr.msg_control = std::ptr::null_mut();
            headers[i].msg_hdr.msg_controllen = 0;
            headers[i].msg_hdr.msg_flags = 0;
            headers[i].msg_len = 0;
        }
        // SAFETY: every header points at live buffers of the stated sizes.
        let received = unsafe {
            libc::recvmmsg(
                fd,
                headers.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            let error = io::Error::last_os_error();
            match error.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => continue,
                // ICMP errors from earlier replies surface here; keep serving.
                io::ErrorKind::ConnectionRefused => continue,
                _ => return Err(error),
            }
        }
        replies.clear();
        for i in 0..received as usize {
            if headers[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                continue; // longer than any real query
            }
            let len = headers[i].msg_len as usize;
            match handler.prepare(&buffers[i][..len], true) {
                Prepared::Ignore => {}
                Prepared::Reply(reply) => {
                    if handler.log.admit()
                        && let Some(peer) = socket_addr(&peers[i])
                    {
                        handler.log.record("udp", peer, &reply);
                    }
                    replies.push((reply, i));
                }
                Prepared::Resolve(pending) => {
                    if let Some(peer) = socket_addr(&peers[i]) {
                        // When the resolver is overloaded the query is dropped; the client retries.
                        let _ = to_resolve.try_send((pending, peer));
                    }
                }
            }
        }
        send_all(fd, &replies, &mut peers, &headers);
    }
    Ok(())
}

/// Ends a batching thread's wait for queries at once (once its stop flag is
/// set): no more datagrams are read from `socket` (`shutdown(SHUT_RD)`,
/// which wakes a blocked `recvmmsg` with nothing; Linux says ENOTCONN for
/// an unconnected socket but shuts it all the same).
pub fn wake(socket: &UdpSocket) {
    // SAFETY: plain shutdown(2) on a descriptor the socket owns.
    unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_RD) };
}

/// One `sendmmsg` for the batch's replies, each to the peer it came from.
fn send_all(
    fd: i32,
    replies: &[(Vec<u8>, usize)],
    peers: &mut [libc::sockaddr_storage],
    received: &[libc::mmsghdr],
) {
    if replies.is_empty() {
        return;
    }
    let mut iovecs: Vec<libc::iovec> = replies
        .iter()
        .map(|(reply, _)| libc::iovec {
            iov_base: reply.as_ptr() as *mut libc::c_void,
            iov_len: reply.len(),
        })
        .collect();
    let mut headers: Vec<libc::mmsghdr> = Vec::with_capacity(replies.len());
    for (n, (_, i)) in replies.iter().enumerate() {
        // SAFETY: all-zero is a valid mmsghdr; the pointers set below stay
        // alive until sendmmsg returns.
        let mut header: libc::mmsghdr = unsafe { zeroed() };
        header.msg_hdr.msg_name = (&mut peers[*i] as *mut libc::sockaddr_storage).cast();
        header.msg_hdr.msg_namelen = received[*i].msg_hdr.msg_namelen;
        header.msg_hdr.msg_iov = &mut iovecs[n];
        header.msg_hdr.msg_iovlen = 1;
        headers.push(header);
    }
    let mut sent = 0;
    while sent < headers.len() {
        // SAFETY: as above.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                headers[sent..].as_mut_ptr(),
                (headers.len() - sent) as u32,
                0,
            )
        };
        if n <= 0 {
            // A full buffer or an unreachable peer: skip that reply, as a lost datagram.
            sent += 1;
        } else {
            sent += n as usize;
        }
    }
}

fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let v4 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
                u16::from_be(v4.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let v6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod wake_tests {
    use super::*;

    #[test]
    fn wake_ends_a_blocked_read_with_nothing_rather_than_its_timeout() {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let reader = socket.clone();
        let blocked = std::thread::spawn(move || reader.recv(&mut [0u8; 64]));
        std::thread::sleep(Duration::from_millis(50));
        wake(&socket);
        // Woken: the read gives 0 bytes. Not woken, it would end after
        // 30 s with a timeout error instead.
        assert_eq!(blocked.join().unwrap().unwrap(), 0);
    }
}
