//! A running capture: a packet socket per tap with a `TPACKET_V3` ring,
//! opened inside each node's namespace (on many threads), and one reader
//! thread that waits on all of them with epoll (a 1000-host lab has over
//! 2000 taps: a thread each would not do); a busy tap gets a second ring
//! (`grow`). Frames go to a `Sink` in time order (`order`), a little
//! behind the clock — the pcapng writer, a terminal printer, a channel for
//! other code — until `stop`, or until the sink says it has had enough.
//! `stop` reads the kernel's drop counters and hands them to the sink (the
//! pcapng writer's statistics blocks) and back.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use super::bpf::Filter;
use super::frame::{Frame, Tap};
use super::grow::Growth;
use super::order::Reorder;
use super::socket::{Batch, Group, KernelCounts, PacketSocket, RingShape, now_ns};
use crate::lab::plan::namespace_name;
use crate::net::netns;

/// Ring memory for all taps together: each tap gets its share, between
/// the bounds below. Rings are allocated (and zeroed by the kernel) when
/// the capture starts, so the budget is kept modest.
const RING_BUDGET: usize = 256 << 20;
/// Fewer than four blocks drop frames now and then even on a quiet tap
/// (measured: two blocks of a 2,020-tap capture lost 1-4 frames on taps
/// with 1,000 frames/s and a reader never away for 30 ms; four, none).
const RING_MIN_BLOCKS: usize = 4;
const RING_MAX: usize = 1 << 20;
/// A block holds one 64 KiB frame from a veth with offloads (up to 65,406
/// bytes whole: TCP's largest, 65,226, fits), or some 350 small ones.
const BLOCK_SIZE: usize = 64 << 10;
/// Each ring has a kernel timer that fires every retire timeout, frames or
/// not (Linux 6.18: an hrtimer each, ~6 µs a firing in a VM): the timeout
/// grows with the number of taps so that all of them together fire at most
/// this often (~3 % of a core here).
const RETIRES_PER_SECOND: usize = 5_000;
/// The bounds of the retire timeout: how long a block with frames may wait
/// before the kernel hands it over (what a quiet tap adds to a live view's
/// latency, and what `stop` may wait for the last frames).
const RETIRE_MIN_MS: usize = 8;
const RETIRE_MAX_MS: usize = 1_000;
/// Blocks read from one socket before the others get their turn.
const TURN: usize = 4;
/// How often the reader looks for a busy tap's second socket while one is
/// being opened.
const GROWTH_POLL_MS: i32 = 5;

/// What to capture besides the taps.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Attached in the kernel to every socket.
    pub filter: Option<Filter>,
    /// End after this many frames (over all taps).
    pub count: Option<u64>,
}

/// Whether the capture goes on after a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Where a capture's frames go. Every method runs on the reader thread.
pub trait Sink: Send {
    /// Before the first frame, with the taps the frames' `tap` indexes.
    fn start(&mut self, _taps: &[Tap], _started_ns: u64) -> Result<()> {
        Ok(())
    }
    /// The frames read in one round, oldest first; the sink may take them.
    fn frames(&mut self, frames: &mut Vec<Frame>) -> Result<Flow>;
    /// Once, after the last frame, with the final counts.
    fn finish(&mut self, _stats: &Stats) -> Result<()> {
        Ok(())
    }
}

/// What one tap saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapStats {
    pub tap: Tap,
    /// Frames handed to the sink.
    pub captured: u64,
    /// Frames the kernel queued for the socket, dropped ones included.
    pub seen: u64,
    /// Frames the kernel dropped because the reader fell behind.
    pub dropped: u64,
}

/// What a capture saw, per tap, and when it ran (ns since the epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub taps: Vec<TapStats>,
    pub started_ns: u64,
    pub ended_ns: u64,
}

impl Stats {
    pub fn captured(&self) -> u64 {
        self.taps.iter().map(|t| t.captured).sum()
    }
    pub fn dropped(&self) -> u64 {
        self.taps.iter().map(|t| t.dropped).sum()
    }
}

/// A capture running on its reader thread.
pub struct Capture {
    taps: Vec<Tap>,
    started_ns: u64,
    delay_ns: u64,
    wake: OwnedFd,
    /// Reads, then closes the sockets once the outcome is sent.
    reader: Option<JoinHandle<()>>,
    outcome: mpsc::Receiver<Result<Stats>>,
    ended: mpsc::Receiver<()>,
}

/// Sockets of a stopped capture still closing (each waits for RCU grace
/// periods, ~30 ms): dropping this waits for them. Held across other work
/// (`test` tears its lab down meanwhile), the wait costs nothing.
#[must_use = "dropping it waits for the sockets to close"]
pub struct Closing(Option<JoinHandle<()>>);

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(reader) = self.0.take() {
            let _ = reader.join();
        }
    }
}

impl Capture {
    /// Opens a socket on every tap of running lab `lab` (all of them, or
    /// an error naming the first that cannot be opened) and starts reading.
    pub fn start(
        lab: &str,
        taps: Vec<Tap>,
        options: &Options,
        mut sink: Box<dyn Sink>,
    ) -> Result<Capture> {
        if taps.is_empty() {
            return Err(anyhow!("nothing to capture on: no interfaces were chosen"));
        }
        let shape = ring_shape(taps.len());
        let rings = Rings {
            sockets: open_sockets(lab, &taps, options.filter.as_ref(), shape)?,
            growth: Growth::new(lab, &taps, options.filter.clone(), shape),
            shape,
        };
        let count = options.count;
        let started_ns = now_ns();
        sink.start(&taps, started_ns)?;
        // SAFETY: eventfd(2); the fd is owned right after.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("cannot make an eventfd");
        }
        let wake = unsafe { OwnedFd::from_raw_fd(raw) };
        let wake_reader = wake.try_clone().context("cannot share the eventfd")?;
        let (ended_tx, ended) = mpsc::channel();
        let (outcome_tx, outcome) = mpsc::channel();
        let reader_taps = taps.clone();
        let reader = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || {
                raise_priority();
                let mut sockets = Vec::new();
                let result = read_until_stopped(
                    rings,
                    &mut sockets,
                    &reader_taps,
                    started_ns,
                    count,
                    wake_reader,
                    sink.as_mut(),
                );
                let _ = outcome_tx.send(result);
                let _ = ended_tx.send(());
                close_all(sockets);
            })
            .context("cannot start the capture thread")?;
        Ok(Capture {
            taps,
            started_ns,
            delay_ns: reorder_delay_ns(&shape),
            wake,
            reader: Some(reader),
            outcome,
            ended,
        })
    }

    /// Starts a capture whose frames arrive on the returned channel (it
    /// ends by itself once the receiver is dropped).
    pub fn channel(
        lab: &str,
        taps: Vec<Tap>,
        options: &Options,
    ) -> Result<(Capture, mpsc::Receiver<Frame>)> {
        let (tx, rx) = mpsc::channel();
        let capture = Capture::start(lab, taps, options, Box::new(ChannelSink(tx)))?;
        Ok((capture, rx))
    }

    pub fn taps(&self) -> &[Tap] {
        &self.taps
    }

    /// When the sockets were ready (ns since the epoch).
    pub fn started_ns(&self) -> u64 {
        self.started_ns
    }

    /// How far behind the clock frames reach the sink (they wait to be
    /// handed on in time order): a live view's clock runs that much behind.
    pub fn delay_ns(&self) -> u64 {
        self.delay_ns
    }

    /// Waits up to `timeout` for the capture to end by itself (the sink
    /// stopped it, or reading failed); true if it has.
    pub fn wait(&self, timeout: Duration) -> bool {
        !matches!(
            self.ended.recv_timeout(timeout),
            Err(mpsc::RecvTimeoutError::Timeout)
        )
    }

    /// Stops reading (what is queued is read first), closes the sockets
    /// and returns what each tap saw; an error if reading or the sink failed.
    pub fn stop(self) -> Result<Stats> {
        let (stats, closing) = self.stop_closing_later();
        drop(closing);
        stats
    }

    /// Stops like `stop`, but returns once the sink is finished: the
    /// sockets close meanwhile, until the `Closing` is dropped.
    pub fn stop_closing_later(mut self) -> (Result<Stats>, Closing) {
        let stats = self.stop_reader();
        (stats, Closing(self.reader.take()))
    }

    fn stop_reader(&mut self) -> Result<Stats> {
        if self.reader.is_none() {
            return Err(anyhow!("the capture was already stopped"));
        }
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
        self.outcome
            .recv()
            .unwrap_or_else(|_| Err(anyhow!("the capture thread panicked")))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.stop_reader();
            drop(Closing(self.reader.take()));
        }
    }
}

/// How much more CPU the reader thread asks for than the lab's processes.
const READER_NICE: libc::c_int = -10;

/// The reader competes for the same cores with the traffic it records (a
/// ping flood is as busy as a core lets it be): at the default priority it
/// got ~1/10 of a core under 20 floods and the kernel dropped what it could
/// not read. Best effort: without the right (not root), it stays as it is.
fn raise_priority() {
    // SAFETY: gettid and setpriority on this thread only (Linux: a thread
    // is a task of its own, with its own nice value).
    unsafe {
        let thread = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, READER_NICE);
    }
}

/// Frames to a channel, one by one.
struct ChannelSink(mpsc::Sender<Frame>);

impl Sink for ChannelSink {
    fn frames(&mut self, frames: &mut Vec<Frame>) -> Result<Flow> {
        for frame in frames.drain(..) {
            if self.0.send(frame).is_err() {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }
}

/// Each tap's ring: its share of the budget in whole blocks, and a
/// retire timeout that keeps the timers of all taps within their budget.
fn ring_shape(taps: usize) -> RingShape {
    let taps = taps.max(1);
    let blocks = (RING_BUDGET / taps).min(RING_MAX) / BLOCK_SIZE;
    let retire_ms = (taps * 1000)
        .div_ceil(RETIRES_PER_SECOND)
        .clamp(RETIRE_MIN_MS, RETIRE_MAX_MS);
    RingShape {
        block_size: BLOCK_SIZE,
        blocks: blocks.max(RING_MIN_BLOCKS),
        retire_ms: retire_ms as u32,
    }
}

/// How long frames wait to be handed on in time order: a ring holds a
/// frame for up to two retire timeouts (the kernel retires a block on the
/// second tick after it opened), plus a little for the reader to wake.
fn reorder_delay_ns(shape: &RingShape) -> u64 {
    (2 * u64::from(shape.retire_ms) + 2) * 1_000_000
}

/// Threads that open (and close) sockets at once: setting up a ring waits
/// for an RCU grace period (~8 ms here) and closing a socket with one for
/// two (~30 ms), and waits on several threads share grace periods.
const OPENERS: usize = 128;

/// A socket per tap, opened inside its node's namespace: the taps are
/// dealt out to up to `OPENERS` threads, each going through its share node
/// by node.
fn open_sockets(
    lab: &str,
    taps: &[Tap],
    filter: Option<&Filter>,
    shape: RingShape,
) -> Result<Vec<PacketSocket>> {
    let opened: Vec<Result<Vec<(usize, PacketSocket)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = deal_out(taps)
            .into_iter()
            .map(|share| scope.spawn(move || open_share(lab, share, filter.cloned(), shape)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a thread opening packet sockets panicked")))
            })
            .collect()
    });
    let mut sockets: Vec<Option<PacketSocket>> = (0..taps.len()).map(|_| None).collect();
    let mut failed = None;
    for share in opened {
        match share {
            Ok(share) => {
                for (i, socket) in share {
                    sockets[i] = Some(socket);
                }
            }
            Err(error) => failed = failed.or(Some(error)),
        }
    }
    if let Some(error) = failed {
        // What did open is closed as it opened: on many threads.
        close_all(sockets.into_iter().flatten().collect());
        return Err(error)
            .with_context(|| format!("cannot start a capture in lab {lab} (is it up?)"));
    }
    sockets
        .into_iter()
        .map(|s| s.ok_or_else(|| anyhow!("a tap was left without a socket")))
        .collect()
}

/// A node's taps: their indexes and interface names.
type NodeTaps = (String, Vec<(usize, String)>);

/// The taps dealt out round-robin to up to `OPENERS` shares, each grouped
/// by node (one namespace switch per node and share).
fn deal_out(taps: &[Tap]) -> Vec<Vec<NodeTaps>> {
    let openers = taps.len().clamp(1, OPENERS);
    let mut shares: Vec<BTreeMap<&str, Vec<(usize, String)>>> = vec![BTreeMap::new(); openers];
    for (i, tap) in taps.iter().enumerate() {
        shares[i % openers]
            .entry(&tap.node)
            .or_default()
            .push((i, tap.iface.clone()));
    }
    shares
        .into_iter()
        .map(|share| {
            share
                .into_iter()
                .map(|(node, ifaces)| (node.to_string(), ifaces))
                .collect()
        })
        .collect()
}

/// Opens one share's sockets, node by node in each node's namespace.
fn open_share(
    lab: &str,
    share: Vec<NodeTaps>,
    filter: Option<Filter>,
    shape: RingShape,
) -> Result<Vec<(usize, PacketSocket)>> {
    let namespaces = share
        .iter()
        .map(|(node, _)| namespace_name(lab, node))
        .collect();
    let opened = netns::run_in_each(namespaces, move |n, _| {
        let (node, ifaces) = &share[n];
        ifaces
            .iter()
            .map(|(i, iface)| {
                PacketSocket::open(*i, iface, filter.as_ref(), shape, Group::New)
                    .map(|socket| (*i, socket))
                    .with_context(|| format!("cannot capture on {node}:{iface}"))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    Ok(opened.into_iter().flatten().collect())
}

/// The capture's sockets, the shape of their rings, and the second
/// sockets busy taps get.
struct Rings {
    sockets: Vec<PacketSocket>,
    growth: Growth,
    shape: RingShape,
}

/// The reader thread: epoll over every socket and the stop eventfd. The
/// sockets move into `sockets` (busy taps' second ones join them), left
/// for the caller to close whatever happens.
fn read_until_stopped(
    rings: Rings,
    sockets: &mut Vec<PacketSocket>,
    taps: &[Tap],
    started_ns: u64,
    mut count: Option<u64>,
    wake: OwnedFd,
    sink: &mut dyn Sink,
) -> Result<Stats> {
    let Rings {
        sockets: opened,
        mut growth,
        shape,
    } = rings;
    *sockets = opened;
    // SAFETY: epoll_create1; the fd is owned right after.
    let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error()).context("cannot make an epoll instance");
    }
    let epoll = unsafe { OwnedFd::from_raw_fd(raw) };
    let watch = |fd: i32, key: u64| -> Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: key,
        };
        // SAFETY: registers a live fd with a live epoll instance.
        if unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error()).context("cannot watch a packet socket");
        }
        Ok(())
    };
    for (i, socket) in sockets.iter().enumerate() {
        watch(socket.raw_fd(), i as u64)?;
    }
    const STOP: u64 = u64::MAX;
    watch(wake.as_raw_fd(), STOP)?;
    let mut captured = vec![0u64; taps.len()];
    let mut waiting = Reorder::new(sockets.len(), reorder_delay_ns(&shape));
    let mut batch = Batch::default();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut stopping = false;
    while !stopping {
        let mut timeout_ms = waiting.due_in_ms(now_ns()).unwrap_or(1000);
        if growth.pending() {
            timeout_ms = timeout_ms.min(GROWTH_POLL_MS);
        }
        // SAFETY: `events` has room for the count given.
        let n = unsafe {
            libc::epoll_wait(
                epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                timeout_ms,
            )
        };
        if n < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error).context("epoll_wait failed");
        }
        for event in &events[..n as usize] {
            let key = event.u64;
            if key == STOP {
                stopping = true;
                continue;
            }
            let i = key as usize;
            sockets[i].read(TURN, &mut batch)?;
            waiting.add(i, &mut batch.frames);
            growth.consider(&mut sockets[i]);
        }
        for socket in growth.ready(stopping) {
            watch(socket.raw_fd(), sockets.len() as u64)?;
            waiting.add_queue();
            sockets.push(socket);
        }
        if stopping {
            read_last_frames(sockets, &shape, &mut batch, &mut waiting)?;
        }
        let mut frames = if stopping {
            waiting.take_all()
        } else {
            waiting.take_due(now_ns())
        };
        if frames.is_empty() {
            continue;
        }
        if let Some(left) = count.as_mut() {
            let take = frames.len().min(*left as usize);
            frames.truncate(take);
            *left -= take as u64;
            if *left == 0 {
                stopping = true;
            }
        }
        for frame in &frames {
            captured[frame.tap] += 1;
        }
        if sink.frames(&mut frames)? == Flow::Stop {
            stopping = true;
        }
        batch.recycle(&mut frames);
    }
    // A socket still being opened may hold frames of its group by now.
    sockets.extend(growth.ready(true));
    let mut stats = Stats {
        taps: taps
            .iter()
            .zip(captured)
            .map(|(tap, captured)| TapStats {
                tap: tap.clone(),
                captured,
                seen: 0,
                dropped: 0,
            })
            .collect(),
        started_ns,
        ended_ns: now_ns(),
    };
    for socket in sockets.iter_mut() {
        let KernelCounts { seen, dropped } = socket.counts().unwrap_or_default();
        let tap = &mut stats.taps[socket.tap()];
        tap.seen += seen;
        tap.dropped += dropped;
    }
    sink.finish(&stats)?;
    Ok(stats)
}

/// At the stop: what the kernel holds still belongs to the capture. Reads
/// every ring, then waits for each block that held frames at the stop to
/// be handed over (the retire timeout, bounded) and reads it.
fn read_last_frames(
    sockets: &mut [PacketSocket],
    shape: &RingShape,
    batch: &mut Batch,
    waiting: &mut Reorder,
) -> Result<()> {
    for (i, socket) in sockets.iter_mut().enumerate() {
        while socket.read(usize::MAX, batch)? > 0 {
            waiting.add(i, &mut batch.frames);
        }
    }
    let mut open: Vec<(usize, u64)> = sockets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.holds_frames())
        .map(|(i, s)| (i, s.blocks_read()))
        .collect();
    let deadline =
        std::time::Instant::now() + Duration::from_millis(3 * u64::from(shape.retire_ms) + 20);
    while !open.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
        for &(i, _) in &open {
            sockets[i].read(usize::MAX, batch)?;
            waiting.add(i, &mut batch.frames);
        }
        open.retain(|&(i, before)| sockets[i].blocks_read() == before);
    }
    Ok(())
}

/// Closes the sockets on up to `OPENERS` threads at once: closing a
/// packet socket with a ring waits for two RCU grace periods, which one
/// socket after another would add 0.8 s to a 26-tap `test --capture`.
fn close_all(sockets: Vec<PacketSocket>) {
    let per_thread = sockets.len().div_ceil(OPENERS).max(1);
    let mut sockets = sockets;
    std::thread::scope(|scope| {
        while !sockets.is_empty() {
            let chunk: Vec<PacketSocket> = sockets.drain(..per_thread.min(sockets.len())).collect();
            scope.spawn(move || drop(chunk));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_lab_gets_big_rings_and_a_short_timeout() {
        let shape = ring_shape(26);
        assert_eq!((shape.bytes(), shape.retire_ms), (RING_MAX, 8));
        assert_eq!(reorder_delay_ns(&shape), 18_000_000);
    }

    #[test]
    fn a_big_lab_stays_within_the_timer_budget_with_four_blocks_a_tap() {
        let shape = ring_shape(2020);
        assert_eq!(shape.blocks, RING_MIN_BLOCKS);
        assert_eq!(shape.retire_ms, 404);
        // Every ring's timer fires once a timeout: 2,020 of them together
        // no more often than the budget.
        assert!(2020 * 1000 / shape.retire_ms as usize <= RETIRES_PER_SECOND);
        assert_eq!(ring_shape(1_000_000).retire_ms, RETIRE_MAX_MS as u32);
    }
}
