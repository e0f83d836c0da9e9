//! `capture`: record a running lab's interfaces — into a pcapng file, onto
//! standard output as pcapng (for a live Wireshark), or decoded as it
//! happens (one line per event, or a sequence diagram at the end) — until a
//! duration, a frame count or a cancel ends it; `replay`, the same view of
//! a pcapng file; and `Recording`, the whole-lab capture `check` and `test`
//! keep beside their report. The capturing itself is `capture::session`,
//! the decoding `capture::decode`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::admin::require_admin;
use super::cancel::Cancel;
use super::target::{lab_name, looks_like_file};
use crate::capture::bpf::Filter;
use crate::capture::decode::{self, AddressBook, Decoder, Event};
use crate::capture::frame::Frame;
use crate::capture::pcapng::{self, PcapngSink};
use crate::capture::session::{Capture, Closing, Options, Stats};
use crate::capture::{now_ns, sequence, taps};
use crate::checks::context::LabContext;
use crate::checks::report::CaptureNote;
use crate::lab::plan::Plan;
use crate::state::LabDir;

/// Where the frames go.
pub enum Output {
    /// A pcapng file (created, or truncated).
    File(PathBuf),
    /// pcapng on standard output, flushed as frames come.
    Stdout,
    /// Decoded, as `View` says, each line handed to the printer (already
    /// escaped).
    Decoded(View, Box<dyn FnMut(&str) + Send>),
}

/// How decoded events are shown: which, and as lines or as a diagram.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// `--proto`, `--node`.
    pub filter: decode::Filter,
    /// A Mermaid sequence diagram of the dialogue, once the capture ends,
    /// instead of a line per event as it happens.
    pub sequence: bool,
}

/// A decoder and what it has shown: events in, lines out.
struct Viewer {
    decoder: Decoder,
    view: View,
    /// Kept for the diagram.
    kept: Vec<Event>,
    print: Box<dyn FnMut(&str) + Send>,
}

impl Viewer {
    fn new(decoder: Decoder, view: View, print: Box<dyn FnMut(&str) + Send>) -> Viewer {
        Viewer {
            decoder,
            view,
            kept: Vec::new(),
            print,
        }
    }

    fn feed(&mut self, frame: &Frame) {
        let events = self.decoder.feed(frame);
        self.show(events);
    }

    /// Time has passed with no frames: shows what the hop window let go.
    fn tick(&mut self, now_ns: u64) {
        let events = self.decoder.tick(now_ns);
        self.show(events);
    }

    fn show(&mut self, events: Vec<Event>) {
        for event in events {
            if !self.view.filter.matches(&event, self.decoder.taps()) {
                continue;
            }
            if self.view.sequence {
                self.kept.push(event);
            } else {
                // `render` escapes everything that came from a packet.
                let line = event.render(self.decoder.taps());
                (self.print)(&line);
            }
        }
    }

    /// The capture ended: what the decoder still held, then the diagram.
    fn finish(mut self) {
        let events = self.decoder.finish();
        self.show(events);
        if self.view.sequence {
            let diagram = sequence::mermaid(&self.kept);
            (self.print)(diagram.trim_end());
        }
    }
}

/// What `labctl capture` was asked for.
pub struct Request {
    /// A lab name or its lab file.
    pub lab: String,
    /// `NODE` or `NODE:IFACE`; none means every interface.
    pub taps: Vec<String>,
    /// A tcpdump-style filter expression.
    pub filter: Option<String>,
    pub duration: Option<Duration>,
    pub count: Option<u64>,
}

/// A capture about to start: everything checked, nothing opened yet.
pub struct Prepared {
    pub lab: String,
    pub taps: Vec<crate::capture::frame::Tap>,
    pub options: Options,
    /// Who is who on the wire now (the plan's addresses, the current leases).
    pub book: AddressBook,
    /// Every node of the lab (what `--node` may name).
    pub nodes: Vec<String>,
}

impl Prepared {
    /// An error naming the lab's nodes when `view` filters on one it lacks.
    pub fn check_view(&self, view: &View) -> Result<()> {
        if let Some(unknown) = view.filter.nodes.iter().find(|n| !self.nodes.contains(n)) {
            anyhow::bail!(
                "lab {} has no node `{unknown}` (in --node)\n  its nodes: {}",
                self.lab,
                self.nodes.join(", ")
            );
        }
        Ok(())
    }
}

/// Checks the request against the running lab — the lab, every tap, the
/// filter — before anything is opened.
pub fn prepare(request: &Request) -> Result<Prepared> {
    require_admin("capture")?;
    let lab = lab_name(&request.lab)?;
    let plan = running_plan(&lab)?;
    let taps = taps::select(&plan, &request.taps)?;
    let filter = request.filter.as_deref().map(Filter::compile).transpose()?;
    Ok(Prepared {
        book: address_book(&lab, &plan),
        nodes: plan.nodes.iter().map(|n| n.name.clone()).collect(),
        lab,
        taps,
        options: Options {
            filter,
            count: request.count,
        },
    })
}

fn running_plan(lab: &str) -> Result<Plan> {
    Ok(LabDir::of(lab)?.read_record()?.plan)
}

/// The lab's nodes by address: its plan's, and the leases its daemon
/// reports (a PC that got its address before the capture began is named
/// too); the plan's alone when the daemon does not answer.
fn address_book(lab: &str, plan: &Plan) -> AddressBook {
    LabContext::load(lab)
        .map(|ctx| ctx.address_book())
        .unwrap_or_else(|_| AddressBook::from_plan(plan))
}

/// Captures until `duration` has passed, `count` frames were taken, or
/// `cancel` fires (Ctrl-C); the file is complete either way.
/// `started` is called once every socket is open.
pub fn run(
    prepared: Prepared,
    duration: Option<Duration>,
    output: Output,
    cancel: &Cancel,
    started: impl FnOnce(),
) -> Result<Stats> {
    let deadline = duration.map(|d| Instant::now() + d);
    let ended = || cancel.reason().is_some() || deadline.is_some_and(|d| Instant::now() >= d);
    let (view, print) = match output {
        Output::File(path) => {
            return record(prepared, PcapngSink::new(create(&path)?), ended, started);
        }
        Output::Stdout => {
            return record(prepared, PcapngSink::new(std::io::stdout()), ended, started);
        }
        Output::Decoded(view, print) => (view, print),
    };
    let decoder = Decoder::new(&prepared.taps, prepared.book);
    let mut viewer = Viewer::new(decoder, view, print);
    let (capture, frames) = Capture::channel(&prepared.lab, prepared.taps, &prepared.options)?;
    started();
    // Decoded here, not on the reader thread: time moves the decoder on
    // (an event waits out its hop window) even when no frame comes.
    while !ended() {
        match frames.recv_timeout(Duration::from_millis(50)) {
            Ok(frame) => viewer.feed(&frame),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The capture ended by itself (--count).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // A frame still on its way (the capture hands frames on in time
        // order, a little behind the clock) may belong to an event of the
        // last hop window: wait that long and one more window for it.
        viewer.tick(now_ns().saturating_sub(capture.delay_ns() + decode::HOP_WINDOW_NS));
    }
    let stats = capture.stop();
    for frame in frames.try_iter() {
        viewer.feed(&frame);
    }
    viewer.finish();
    stats
}

/// Captures into a pcapng writer until `ended` or the capture stops itself.
fn record<W: std::io::Write + Send + 'static>(
    prepared: Prepared,
    sink: PcapngSink<W>,
    ended: impl Fn() -> bool,
    started: impl FnOnce(),
) -> Result<Stats> {
    let capture = Capture::start(
        &prepared.lab,
        prepared.taps,
        &prepared.options,
        Box::new(sink),
    )?;
    started();
    while !ended() {
        if capture.wait(Duration::from_millis(50)) {
            break;
        }
    }
    capture.stop()
}

/// A pcapng file (`-`: standard input) shown as a live capture would be:
/// its events, or its diagram. Nodes are named from the running lab's plan
/// and leases, else from `target`'s lab file when it is one (its static
/// addresses and MACs), else only from what the file shows (DHCP ACKs).
pub fn replay(
    target: &str,
    file: &Path,
    view: View,
    print: Box<dyn FnMut(&str) + Send>,
) -> Result<()> {
    let lab = lab_name(target)?;
    let book = match running_plan(&lab) {
        Ok(plan) => address_book(&lab, &plan),
        Err(_) if looks_like_file(target) => crate::lab::load::read_file(Path::new(target))
            .ok()
            .and_then(|stages| stages.finish().plan)
            .map(|plan| AddressBook::from_plan(&plan))
            .unwrap_or_default(),
        Err(_) => AddressBook::default(),
    };
    let mut recording = pcapng::read_file(file)?;
    // One clock for every tap, but blocks may come in any order.
    recording.frames.sort_by_key(|f| f.at_ns);
    let mut viewer = Viewer::new(Decoder::new(&recording.taps, book), view, print);
    for frame in &recording.frames {
        viewer.feed(frame);
    }
    viewer.finish();
    Ok(())
}

fn create(path: &Path) -> Result<File> {
    File::create(path).with_context(|| format!("cannot create the capture file {}", path.display()))
}

/// A whole-lab capture into a pcapng file while checks run.
pub struct Recording {
    pub file: PathBuf,
    /// When the capture began (ns since the epoch): a check's failure time
    /// minus this is where to look in the file.
    pub started_ns: u64,
    capture: Capture,
}

impl Recording {
    /// Starts capturing every interface of running lab `lab` into `file`.
    pub fn start(lab: &str, file: &Path) -> Result<Recording> {
        let plan = running_plan(lab)?;
        let sink = Box::new(PcapngSink::new(create(file)?));
        let capture = Capture::start(lab, taps::all(&plan), &Options::default(), sink)
            .with_context(|| format!("cannot record lab {lab} into {}", file.display()))?;
        Ok(Recording {
            file: file.to_path_buf(),
            started_ns: capture.started_ns(),
            capture,
        })
    }

    /// What a report says about this recording.
    pub fn note(&self) -> CaptureNote {
        CaptureNote {
            file: self.file.display().to_string(),
            started: std::time::UNIX_EPOCH + Duration::from_nanos(self.started_ns),
        }
    }

    /// Ends the capture; the file is complete once this returns.
    pub fn finish(self) -> Result<Stats> {
        let (stats, closing) = self.finish_closing_later();
        drop(closing);
        stats
    }

    /// As `finish`, the file complete, but the sockets close while the
    /// caller goes on (until it drops the `Closing`).
    pub fn finish_closing_later(self) -> (Result<Stats>, Closing) {
        let file = self.file;
        let (stats, closing) = self.capture.stop_closing_later();
        let stats = stats.with_context(|| format!("the capture into {} failed", file.display()));
        (stats, closing)
    }
}
