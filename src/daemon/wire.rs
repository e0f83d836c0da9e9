//! A userspace wire: the lab daemon carrying one direction of a cable's
//! delay, jitter, loss, duplication and corruption when the kernel has no
//! netem. The kernel side (`net::wire`) steals the frames a node sends on
//! an interface and hands them to a tap; here one thread in the node's
//! namespace reads the tap, drops, duplicates or corrupts each frame with
//! the cable's probabilities, holds it for the delay (± jitter, uniform,
//! as netem without a distribution table) and sends it on the interface
//! with the wire's mark, which the interface's filter lets pass to its
//! queue (and to captures) instead of stealing it again. Like netem, it
//! holds at most `LIMIT` frames; more are dropped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use anyhow::{Context, Result};
use rand::RngExt;
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

use crate::lab::netem::Netem;
use crate::net::packet::{self, interface_index};
use crate::net::{netns, wire};

/// Frames held at once (netem's default limit).
const LIMIT: usize = 1000;

/// One direction of a cable carried by the daemon; dropping it stops the
/// thread (the frames it held are lost, as when a cable is replugged).
pub struct Relay {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts carrying frames from `tap` to `iface` in `namespace` with
/// `netem`'s delay, jitter, loss, duplication and corruption (not its rate:
/// that is the tap's queue). Returns once both sockets are open.
pub fn start(namespace: &str, tap: &str, iface: &str, netem: &Netem) -> Result<Relay> {
    let (stop_tx, stop_rx) = oneshot::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (tap, iface, netem) = (tap.to_string(), iface.to_string(), netem.clone());
    let thread = netns::spawn_in(namespace, move || {
        let opened = open(&tap, &iface);
        let (from, to, own) = match opened {
            Ok(sockets) => {
                let _ = ready_tx.send(Ok(()));
                sockets
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return Ok(());
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(carry(from, to, own, netem, stop_rx))
    })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(Relay {
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(anyhow::anyhow!("the wire's thread ended before it started")),
    }
}

fn check(ret: libc::c_int, what: &str) -> Result<()> {
    if ret < 0 {
        return Err(io::Error::last_os_error()).context(what.to_string());
    }
    Ok(())
}

/// A packet socket bound to interface `index`, receiving `protocol`
/// (ETH_P_ALL, or 0 for none).
fn packet_socket(index: u32, protocol: u16) -> Result<OwnedFd> {
    // SAFETY: plain socket(2); owned at once.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(protocol.to_be()),
        )
    };
    check(raw, "cannot open a packet socket")?;
    // SAFETY: `raw` is a fresh fd nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    packet::bind(raw, index, protocol).context("cannot bind a packet socket")?;
    Ok(fd)
}

/// The tap's reading socket, the interface's sending socket, and the
/// tap's own address (frames from it are the tap's own, not the node's).
fn open(tap: &str, iface: &str) -> Result<(OwnedFd, OwnedFd, [u8; 6])> {
    wire::whole_frames(tap)?;
    let from = packet_socket(interface_index(tap)?, libc::ETH_P_ALL as u16)?;
    let own = wire::hardware_address(tap)?;
    let to = packet_socket(interface_index(iface)?, 0)?;
    let mark = wire::MARK;
    // SAFETY: `mark` is a u32 of the size given.
    check(
        unsafe {
            libc::setsockopt(
                to.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_MARK,
                (&mark as *const u32).cast(),
                size_of::<u32>() as libc::socklen_t,
            )
        },
        "cannot mark the wire's frames",
    )?;
    Ok((from, to, own))
}

/// What happens to one frame read from the tap: the copies to send, each
/// with its delay (none when lost).
pub fn fate(netem: &Netem, rng: &mut impl rand::Rng) -> Vec<Duration> {
    if netem.loss > 0.0 && rng.random_bool((netem.loss / 100.0).min(1.0)) {
        return Vec::new();
    }
    let copies = if netem.duplicate > 0.0 && rng.random_bool((netem.duplicate / 100.0).min(1.0)) {
        2
    } else {
        1
    };
    (0..copies)
        .map(|_| {
            let jitter = netem.jitter_ns.min(netem.delay_ns);
            let delay = if jitter > 0 {
                rng.random_range(netem.delay_ns - jitter..=netem.delay_ns + jitter)
            } else {
                netem.delay_ns
            };
            Duration::from_nanos(delay)
        })
        .collect()
}

/// Flips one random bit of `frame` past its Ethernet header (netem
/// corrupts the packet, not the addresses the switch reads).
pub fn corrupt(frame: &mut [u8], rng: &mut impl rand::Rng) {
    if frame.len() > 14 {
        let at = rng.random_range(14..frame.len());
        frame[at] ^= 1 << rng.random_range(0..8);
    }
}

/// Now on the monotonic clock, nanoseconds.
fn now_ns() -> u64 {
    // SAFETY: an all-zero timespec is valid and filled by the call.
    let mut now: libc::timespec = unsafe { zeroed() };
    // SAFETY: `now` is a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// A timerfd on the monotonic clock (tokio's timers round to the
/// millisecond, which would add up to 1 ms to every delay).
fn timer() -> Result<OwnedFd> {
    // SAFETY: plain timerfd_create(2); owned at once.
    let raw = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    check(raw, "cannot create a timer")?;
    // SAFETY: `raw` is a fresh fd nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Sets `timer` to fire at `at` (monotonic ns), or never (0).
fn arm(timer: RawFd, at: u64) {
    // SAFETY: an all-zero itimerspec is valid (and disarms).
    let mut spec: libc::itimerspec = unsafe { zeroed() };
    spec.it_value.tv_sec = (at / 1_000_000_000) as libc::time_t;
    spec.it_value.tv_nsec = (at % 1_000_000_000) as libc::c_long;
    // SAFETY: `spec` is a valid itimerspec; the old value is not asked for.
    unsafe { libc::timerfd_settime(timer, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
}

async fn carry(
    from: OwnedFd,
    to: OwnedFd,
    own: [u8; 6],
    netem: Netem,
    mut stop: oneshot::Receiver<()>,
) -> Result<()> {
    // SAFETY (both): the AsyncFd owns the descriptor, which stays open and
    // the same for as long as it holds it.
    let from = unsafe { AsyncFd::register(from) }?;
    let timer = unsafe { AsyncFd::register(timer()?) }?;
    let mut rng = rand::rng();
    let mut held: BinaryHeap<Reverse<(u64, u64, Vec<u8>)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut buffer = vec![0u8; 65536];
    loop {
        let now = now_ns();
        while let Some(Reverse((due, _, _))) = held.peek() {
            if *due > now {
                break;
            }
            let Some(Reverse((_, _, frame))) = held.pop() else {
                break;
            };
            // SAFETY: `frame` is valid for its length. A frame the
            // interface refuses (it is down) is lost, as on a cut cable.
            unsafe { libc::send(to.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        }
        arm(
            timer.get_ref().as_raw_fd(),
            held.peek().map_or(0, |Reverse((due, _, _))| *due),
        );
        tokio::select! {
            _ = &mut stop => return Ok(()),
            ready = timer.readable() => {
                let mut guard = ready?;
                let mut expirations = [0u8; 8];
                // SAFETY: reads at most 8 bytes into `expirations`.
                unsafe { libc::read(timer.get_ref().as_raw_fd(), expirations.as_mut_ptr().cast(), 8) };
                guard.clear_ready();
            }
            ready = from.readable() => {
                let mut guard = ready?;
                loop {
                    // SAFETY: an all-zero sockaddr_ll is valid; filled by the call.
                    let mut source: libc::sockaddr_ll = unsafe { zeroed() };
                    let mut length = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                    // SAFETY: `buffer` and `source` are valid for their lengths.
                    let n = unsafe {
                        libc::recvfrom(
                            from.get_ref().as_raw_fd(),
                            buffer.as_mut_ptr().cast(),
                            buffer.len(),
                            0,
                            (&mut source as *mut libc::sockaddr_ll).cast(),
                            &mut length,
                        )
                    };
                    if n < 0 {
                        let e = io::Error::last_os_error();
                        if e.kind() == io::ErrorKind::WouldBlock {
                            guard.clear_ready();
                            break;
                        }
                        return Err(e).context("reading the wire's tap");
                    }
                    let frame = &buffer[..n as usize];
                    // Only what the node sent: not what the tap's peer or
                    // the tap itself say (IPv6 of their own).
                    if source.sll_pkttype != libc::PACKET_OUTGOING
                        || frame.len() < 14
                        || frame[6..12] == own
                    {
                        continue;
                    }
                    let now = now_ns();
                    for delay in fate(&netem, &mut rng) {
                        if held.len() >= LIMIT {
                            break;
                        }
                        let mut frame = frame.to_vec();
                        if netem.corrupt > 0.0 && rng.random_bool((netem.corrupt / 100.0).min(1.0)) {
                            corrupt(&mut frame, &mut rng);
                        }
                        order += 1;
                        held.push(Reverse((now + delay.as_nanos() as u64, order, frame)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> impl rand::Rng {
        use rand::SeedableRng;
        rand::rngs::StdRng::seed_from_u64(7)
    }

    #[test]
    fn loss_drops_about_the_share_asked() {
        let netem = Netem {
            loss: 25.0,
            ..Netem::default()
        };
        let mut rng = rng();
        let lost = (0..10_000)
            .filter(|_| fate(&netem, &mut rng).is_empty())
            .count();
        assert!((2_200..2_800).contains(&lost), "{lost} of 10,000 lost");
    }

    #[test]
    fn duplicates_are_two_copies_and_delays_stay_within_the_jitter() {
        let netem = Netem {
            delay_ns: 100_000_000,
            jitter_ns: 20_000_000,
            duplicate: 50.0,
            ..Netem::default()
        };
        let mut rng = rng();
        let fates: Vec<_> = (0..4_000).map(|_| fate(&netem, &mut rng)).collect();
        let twice = fates.iter().filter(|f| f.len() == 2).count();
        assert!((1_800..2_200).contains(&twice), "{twice} of 4,000 twice");
        let delays: Vec<_> = fates.iter().flatten().collect();
        assert!(
            delays
                .iter()
                .all(|d| { (Duration::from_millis(80)..=Duration::from_millis(120)).contains(*d) })
        );
        assert!(delays.iter().any(|d| **d < Duration::from_millis(90)));
        assert!(delays.iter().any(|d| **d > Duration::from_millis(110)));
    }

    #[test]
    fn a_clear_cable_passes_every_frame_at_once() {
        let mut rng = rng();
        for _ in 0..100 {
            assert_eq!(fate(&Netem::default(), &mut rng), vec![Duration::ZERO]);
        }
    }

    #[test]
    fn corruption_flips_one_bit_past_the_ethernet_header() {
        let mut rng = rng();
        for _ in 0..100 {
            let mut frame = vec![0u8; 60];
            corrupt(&mut frame, &mut rng);
            assert_eq!(frame[..14], [0u8; 14]);
            let bits: u32 = frame.iter().map(|b| b.count_ones()).sum();
            assert_eq!(bits, 1);
        }
    }
}
