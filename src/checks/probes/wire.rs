//! The lab's traffic while checks run, for the `wire` checks: every
//! interface captured into memory (bounded), then decoded once into the
//! events a networking course names (`capture::decode`), with the time
//! window each check ran in.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::capture::decode::{AddressBook, Decoder, Event};
use crate::capture::frame::{Frame, Tap};
use crate::capture::session::{Capture, Flow, Options, Sink};
use crate::capture::{now_ns, taps};
use crate::checks::context::LabContext;

/// Frame bytes kept in memory at most; later frames are counted, not kept.
const MEMORY_BUDGET: usize = 256 << 20;

/// When one check ran (ns since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Window {
    /// From now until `end` is called.
    pub fn open() -> Window {
        let now = now_ns();
        Window {
            start_ns: now,
            end_ns: now,
        }
    }

    pub fn close(mut self) -> Window {
        self.end_ns = now_ns();
        self
    }
}

/// What crossed the lab's interfaces during a run.
#[derive(Debug, Default)]
pub struct Observed {
    pub taps: Vec<Tap>,
    /// In time order.
    pub frames: Vec<Frame>,
    /// Decoded, in time order.
    pub events: Vec<Event>,
    /// When the capture began: times are told from here.
    pub started_ns: u64,
    /// Frames the kernel dropped.
    pub dropped: u64,
    /// Frames that did not fit in memory.
    pub missed: u64,
}

impl Observed {
    /// `0.42 s`: a time since the capture began.
    pub fn offset(&self, at_ns: u64) -> String {
        format!(
            "{:.2} s",
            at_ns.saturating_sub(self.started_ns) as f64 / 1e9
        )
    }
}

/// A capture of every interface into memory, running.
pub struct Recorder {
    capture: Capture,
    kept: Arc<Mutex<Kept>>,
    book: AddressBook,
}

#[derive(Default)]
struct Kept {
    frames: Vec<Frame>,
    bytes: usize,
    missed: u64,
}

/// Keeps frames until the memory budget is spent.
struct KeepSink(Arc<Mutex<Kept>>);

impl Sink for KeepSink {
    fn frames(&mut self, frames: &mut Vec<Frame>) -> Result<Flow> {
        let mut kept = self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("a capture lock was poisoned"))?;
        for frame in frames.drain(..) {
            if kept.bytes + frame.data.len() > MEMORY_BUDGET {
                kept.missed += 1;
                continue;
            }
            kept.bytes += frame.data.len();
            kept.frames.push(frame);
        }
        Ok(Flow::Continue)
    }
}

impl Recorder {
    /// Starts capturing every interface of the lab.
    pub fn start(ctx: &LabContext) -> Result<Recorder> {
        let kept = Arc::new(Mutex::new(Kept::default()));
        let capture = Capture::start(
            &ctx.lab,
            taps::all(&ctx.plan),
            &Options::default(),
            Box::new(KeepSink(kept.clone())),
        )
        .with_context(|| {
            format!(
                "cannot capture lab {}'s traffic for the wire checks",
                ctx.lab
            )
        })?;
        Ok(Recorder {
            capture,
            kept,
            book: ctx.address_book(),
        })
    }

    /// Stops capturing and decodes what was seen.
    pub fn finish(self) -> Result<Observed> {
        let taps = self.capture.taps().to_vec();
        let stats = self.capture.stop()?;
        let kept = std::mem::take(
            &mut *self
                .kept
                .lock()
                .map_err(|_| anyhow::anyhow!("a capture lock was poisoned"))?,
        );
        let mut frames = kept.frames;
        frames.sort_by_key(|f| f.at_ns);
        let mut decoder = Decoder::new(&taps, self.book);
        let mut events = Vec::new();
        for frame in &frames {
            events.extend(decoder.feed(frame));
        }
        events.extend(decoder.finish());
        Ok(Observed {
            taps,
            frames,
            events,
            started_ns: stats.started_ns,
            dropped: stats.dropped(),
            missed: kept.missed,
        })
    }
}
