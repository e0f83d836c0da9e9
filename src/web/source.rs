//! Where the web view's frames come from: a live capture of every
//! interface of the running lab (`capture::session`, the same code as
//! `labctl capture`), handed over through a bounded queue so a flood
//! cannot grow the view's memory, or a pcapng file written by `labctl
//! capture -w`, replayed whole. Either way the frames go through a `Feed`
//! and each event out of it to every page (`broadcast`).

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::broadcast;

use super::feed::{DISPLAY_PER_SECOND, Feed};
use crate::capture::decode::AddressBook;
use crate::capture::frame::Frame;
use crate::capture::now_ns;
use crate::capture::pcapng;
use crate::capture::session::{Capture, Flow, Options, Sink};
use crate::capture::taps;
use crate::lab::plan::Plan;

/// Batches of frames waiting for the decoder, at most.
const QUEUED_BATCHES: usize = 256;
/// How often the decoder looks at the clock when no frame comes.
const TICK: Duration = Duration::from_millis(50);

/// The shared stream: its state and the channel every page listens on.
pub struct Stream {
    pub feed: Mutex<Feed>,
    pub pages: broadcast::Sender<Arc<str>>,
    /// Live capture, or the file replayed.
    pub replay: Option<String>,
}

impl Stream {
    fn send_all(&self, events: Vec<Arc<str>>) {
        for event in events {
            // No page listening is fine: the event is kept for later pages.
            let _ = self.pages.send(event);
        }
    }
}

/// Starts capturing every interface of running lab `lab` into a new
/// stream; the capture runs until the process ends. `leased` are the
/// addresses nodes have now that the plan does not know (DHCP leases
/// granted before the capture began), so events name those nodes too.
pub fn live(lab: &str, plan: &Plan, leased: &[(Ipv4Addr, String)]) -> Result<Arc<Stream>> {
    let mut book = AddressBook::from_plan(plan);
    for (ip, node) in leased {
        book.add(*ip, node);
    }
    let all = taps::all(plan);
    let (tx, rx) = mpsc::sync_channel::<Vec<Frame>>(QUEUED_BATCHES);
    let stream = Arc::new(Stream {
        feed: Mutex::new(Feed::new(&all, book, Some(DISPLAY_PER_SECOND))),
        pages: broadcast::channel(1024).0,
        replay: None,
    });
    let dropped = Arc::new(Mutex::new(0u64));
    let sink = BoundedSink {
        tx,
        dropped: dropped.clone(),
    };
    let capture = Capture::start(lab, all, &Options::default(), Box::new(sink))
        .with_context(|| format!("cannot capture lab {lab}'s interfaces for the web view"))?;
    let decoding = stream.clone();
    let delay_ns = capture.delay_ns();
    std::thread::Builder::new()
        .name("web-feed".into())
        .spawn(move || {
            // The capture lives as long as this thread.
            let _capture = capture;
            loop {
                let batch = match rx.recv_timeout(TICK) {
                    Ok(batch) => Some(batch),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                let lost = std::mem::take(&mut *dropped.lock().unwrap_or_else(|e| e.into_inner()));
                // Frames arrive in time order, the capture's delay behind
                // the clock: the feed's clock runs as far behind, so an
                // event's hop window closes only once its frames are in.
                let clock = now_ns().saturating_sub(delay_ns);
                let events = {
                    let mut feed = decoding.feed.lock().unwrap_or_else(|e| e.into_inner());
                    feed.frames_dropped(lost);
                    match batch {
                        Some(frames) => feed.frames(&frames, clock),
                        None => feed.tick(clock),
                    }
                };
                decoding.send_all(events);
            }
        })
        .context("cannot start the web view's decoder thread")?;
    Ok(stream)
}

/// Decodes pcapng file `file` whole into a new stream (every event kept
/// up to `feed::KEEP`, none dropped for display).
pub fn replay(file: &Path, plan: &Plan) -> Result<Arc<Stream>> {
    let recording = pcapng::read_file(file)?;
    let mut feed = Feed::new(&recording.taps, AddressBook::from_plan(plan), None);
    let now = now_ns();
    feed.frames(&recording.frames, now);
    feed.finish(now);
    Ok(Arc::new(Stream {
        feed: Mutex::new(feed),
        pages: broadcast::channel(16).0,
        replay: Some(file.display().to_string()),
    }))
}

/// Hands batches to the decoder thread without ever waiting: a full queue
/// drops the batch and counts its frames.
struct BoundedSink {
    tx: SyncSender<Vec<Frame>>,
    dropped: Arc<Mutex<u64>>,
}

impl Sink for BoundedSink {
    fn frames(&mut self, frames: &mut Vec<Frame>) -> Result<Flow> {
        match self.tx.try_send(std::mem::take(frames)) {
            Ok(()) => Ok(Flow::Continue),
            Err(TrySendError::Full(batch)) => {
                *self.dropped.lock().unwrap_or_else(|e| e.into_inner()) += batch.len() as u64;
                Ok(Flow::Continue)
            }
            Err(TrySendError::Disconnected(_)) => Ok(Flow::Stop),
        }
    }
}
