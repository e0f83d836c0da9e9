//! A running capture: a packet socket per tap, opened inside each node's
//! namespace, and one reader thread that waits on all of them with epoll
//! (a 1000-host lab has over 2000 taps: a thread each would not do). Frames
//! go to a `Sink` in batches sorted by time — the pcapng writer, a
//! terminal printer, a channel for other code — until `stop`, or until the
//! sink says it has had enough. `stop` reads the kernel's drop counters and
//! hands them to the sink (the pcapng writer's statistics blocks) and back.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use super::bpf::Filter;
use super::frame::{Frame, Tap};
use super::socket::{Batch, KernelCounts, PacketSocket, now_ns};
use crate::lab::plan::namespace_name;
use crate::net::netns;

/// Receive buffer memory for all taps together; each tap gets its share,
/// between the bounds below. It is a limit, not an allocation: an idle tap
/// costs nothing.
const BUFFER_BUDGET: usize = 2 << 30;
const BUFFER_MIN: usize = 4 << 20;
const BUFFER_MAX: usize = 64 << 20;
/// A tap that fills a whole batch is busy: its buffer grows to
/// `BUFFER_MAX`, for as many busy taps as this much more memory allows (a
/// 1000-host lab's share is 4 MiB a tap, a few thousand small frames: too
/// little for a flooded link while the reader waits for a shared core).
const BUSY_BUDGET: usize = 2 << 30;
/// Batches read from one socket before the others get their turn.
const TURN: usize = 4;

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
    wake: OwnedFd,
    reader: Option<JoinHandle<Result<Stats>>>,
    ended: mpsc::Receiver<()>,
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
        let sockets = open_sockets(lab, &taps, options.filter.as_ref())?;
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
        let reader_taps = taps.clone();
        let reader = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || {
                raise_priority();
                let result = read_until_stopped(
                    sockets,
                    &reader_taps,
                    started_ns,
                    count,
                    wake_reader,
                    sink.as_mut(),
                );
                let _ = ended_tx.send(());
                result
            })
            .context("cannot start the capture thread")?;
        Ok(Capture {
            taps,
            started_ns,
            wake,
            reader: Some(reader),
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
    pub fn stop(mut self) -> Result<Stats> {
        self.stop_reader()
    }

    fn stop_reader(&mut self) -> Result<Stats> {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
        let reader = self
            .reader
            .take()
            .ok_or_else(|| anyhow!("the capture was already stopped"))?;
        reader
            .join()
            .map_err(|_| anyhow!("the capture thread panicked"))?
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.stop_reader();
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

/// Each tap's receive buffer at the start.
fn buffer_share(taps: usize) -> usize {
    (BUFFER_BUDGET / taps.max(1)).clamp(BUFFER_MIN, BUFFER_MAX)
}

/// A socket per tap, opened node by node inside each node's namespace.
fn open_sockets(lab: &str, taps: &[Tap], filter: Option<&Filter>) -> Result<Vec<PacketSocket>> {
    let buffer = buffer_share(taps.len());
    let mut by_node: BTreeMap<&str, Vec<(usize, String)>> = BTreeMap::new();
    for (i, tap) in taps.iter().enumerate() {
        by_node
            .entry(&tap.node)
            .or_default()
            .push((i, tap.iface.clone()));
    }
    let namespaces: Vec<String> = by_node
        .keys()
        .map(|node| namespace_name(lab, node))
        .collect();
    let nodes: Vec<(String, Vec<(usize, String)>)> = by_node
        .into_iter()
        .map(|(node, ifaces)| (node.to_string(), ifaces))
        .collect();
    let filter = filter.cloned();
    let opened = netns::run_in_each(namespaces, move |n, _| {
        let (node, ifaces) = &nodes[n];
        ifaces
            .iter()
            .map(|(i, iface)| {
                PacketSocket::open(iface, filter.as_ref(), buffer)
                    .map(|socket| (*i, socket))
                    .with_context(|| format!("cannot capture on {node}:{iface}"))
            })
            .collect::<Result<Vec<_>>>()
    })
    .with_context(|| format!("cannot start a capture in lab {lab} (is it up?)"))?;
    let mut sockets: Vec<Option<PacketSocket>> = (0..taps.len()).map(|_| None).collect();
    for (i, socket) in opened.into_iter().flatten() {
        sockets[i] = Some(socket);
    }
    sockets
        .into_iter()
        .map(|s| s.ok_or_else(|| anyhow!("a tap was left without a socket")))
        .collect()
}

/// The reader thread: epoll over every socket and the stop eventfd.
fn read_until_stopped(
    mut sockets: Vec<PacketSocket>,
    taps: &[Tap],
    started_ns: u64,
    mut count: Option<u64>,
    wake: OwnedFd,
    sink: &mut dyn Sink,
) -> Result<Stats> {
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
    let mut batch = Batch::new();
    let mut captured = vec![0u64; sockets.len()];
    let share = buffer_share(sockets.len());
    let mut grown = vec![share >= BUFFER_MAX; sockets.len()];
    let mut busy_left = BUSY_BUDGET;
    let mut frames = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut stopping = false;
    while !stopping {
        // SAFETY: `events` has room for the count given.
        let n = unsafe {
            libc::epoll_wait(
                epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                1000,
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
            for _ in 0..TURN {
                if sockets[i].read_batch(&mut batch, i, &mut frames)? < super::socket::BATCH {
                    break;
                }
                if !grown[i] && busy_left >= BUFFER_MAX {
                    grown[i] = true;
                    busy_left -= BUFFER_MAX;
                    // Best effort: the tap keeps its share if this fails.
                    let _ = sockets[i].set_buffer(BUFFER_MAX);
                }
            }
        }
        if stopping {
            // What the kernel queued before the stop still belongs to the capture.
            for (i, socket) in sockets.iter().enumerate() {
                while socket.read_batch(&mut batch, i, &mut frames)? > 0 {}
            }
        }
        if frames.is_empty() {
            continue;
        }
        frames.sort_by_key(|f| f.at_ns);
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
        frames.clear();
    }
    let mut stats = Stats {
        taps: Vec::with_capacity(sockets.len()),
        started_ns,
        ended_ns: now_ns(),
    };
    for (i, socket) in sockets.iter_mut().enumerate() {
        let KernelCounts { seen, dropped } = socket.counts().unwrap_or_default();
        stats.taps.push(TapStats {
            tap: taps[i].clone(),
            captured: captured[i],
            seen,
            dropped,
        });
    }
    close_all(sockets);
    sink.finish(&stats)?;
    Ok(stats)
}

/// Closes the sockets on up to 32 threads at once: closing a packet
/// socket waits for an RCU grace period (~10 ms), which one after another
/// added 0.28 s to a 26-tap `test --capture`.
fn close_all(sockets: Vec<PacketSocket>) {
    let per_thread = sockets.len().div_ceil(32).max(1);
    let mut sockets = sockets;
    std::thread::scope(|scope| {
        while !sockets.is_empty() {
            let chunk: Vec<PacketSocket> = sockets.drain(..per_thread.min(sockets.len())).collect();
            scope.spawn(move || drop(chunk));
        }
    });
}
