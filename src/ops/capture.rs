//! `capture`: record a running lab's interfaces — into a pcapng file, onto
//! standard output as pcapng (for a live Wireshark), or as one line per
//! frame — until a duration, a frame count or a cancel ends it; and
//! `Recording`, the whole-lab capture `check` and `test` keep beside their
//! report. The capturing itself is `capture::session`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::admin::require_admin;
use super::cancel::Cancel;
use super::target::lab_name;
use crate::capture::bpf::Filter;
use crate::capture::frame::{Frame, Tap};
use crate::capture::pcapng::PcapngSink;
use crate::capture::session::{Capture, Flow, Options, Sink, Stats};
use crate::capture::summary::summary;
use crate::capture::taps;
use crate::checks::report::CaptureNote;
use crate::lab::plan::Plan;
use crate::state::LabDir;

/// Where the frames go.
pub enum Output {
    /// A pcapng file (created, or truncated).
    File(PathBuf),
    /// pcapng on standard output, flushed as frames come.
    Stdout,
    /// One line per frame, handed to this function (already escaped).
    Lines(Box<dyn FnMut(&str) + Send>),
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
    pub taps: Vec<Tap>,
    pub options: Options,
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

/// Captures until `duration` has passed, `count` frames were taken, or
/// `cancel` fires (Ctrl-C); the file is complete either way.
pub fn run(
    prepared: Prepared,
    duration: Option<Duration>,
    output: Output,
    cancel: &Cancel,
) -> Result<Stats> {
    let sink: Box<dyn Sink> = match output {
        Output::File(path) => Box::new(PcapngSink::new(create(&path)?)),
        Output::Stdout => Box::new(PcapngSink::new(std::io::stdout())),
        Output::Lines(print) => Box::new(LineSink {
            taps: prepared.taps.clone(),
            print,
        }),
    };
    let capture = Capture::start(&prepared.lab, prepared.taps, &prepared.options, sink)?;
    let deadline = duration.map(|d| Instant::now() + d);
    loop {
        if cancel.reason().is_some() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if capture.wait(Duration::from_millis(50)) {
            break;
        }
    }
    capture.stop()
}

fn create(path: &Path) -> Result<File> {
    File::create(path).with_context(|| format!("cannot create the capture file {}", path.display()))
}

/// Each frame as one summary line.
struct LineSink {
    taps: Vec<Tap>,
    print: Box<dyn FnMut(&str) + Send>,
}

impl Sink for LineSink {
    fn frames(&mut self, frames: &mut Vec<Frame>) -> Result<Flow> {
        for frame in frames.iter() {
            let line = summary(&self.taps[frame.tap], frame);
            (self.print)(&crate::printable::line(&line));
        }
        Ok(Flow::Continue)
    }
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
        let file = self.file;
        self.capture
            .stop()
            .with_context(|| format!("the capture into {} failed", file.display()))
    }
}
