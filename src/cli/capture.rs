//! `labctl capture LAB [NODE[:IFACE]…] [-w FILE|-] [-f BPF] [--for D|--count N]
//! [--proto LIST] [--node NODE] [--sequence] [-r FILE]`: records a running
//! lab's interfaces (`ops::capture`) into pcapng, or prints what happens
//! (a line per event, or a sequence diagram at the end), then a summary
//! per interface on stderr; `-r` shows a pcapng file instead. Exit codes:
//! 0 done, 1 the capture failed while running, 2 nothing could be started
//! (lab not up, unknown interface or node, invalid filter, unreadable file).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use super::EXIT_INVALID;
use super::signals::cancel_on_stop_signals;
use crate::capture::decode::{Filter, Proto};
use crate::capture::session::Stats;
use crate::ops::capture::{Output, Request, View, prepare, replay, run as capture};
use crate::plural::count;

pub struct Args {
    pub request: Request,
    pub write: Option<PathBuf>,
    pub read: Option<PathBuf>,
    pub view: View,
}

/// One protocol of a `--proto` list (clap's parser).
pub fn parse_proto(text: &str) -> Result<Proto, String> {
    Filter::parse_protos(text)?
        .into_iter()
        .next()
        .ok_or_else(|| "an empty protocol name in --proto".to_string())
}

/// Each line on standard output; a closed pipe (`| head`) is not worth a panic.
fn stdout_lines() -> Box<dyn FnMut(&str) + Send> {
    Box::new(|line| {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    })
}

/// `10s`, `500ms`, `2m` (clap's parser for `--for`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::checks::target::parse_duration(text)
        .ok_or_else(|| format!("`{text}` is not a duration: write e.g. 10s, 500ms or 2m"))
}

fn error(e: &anyhow::Error, code: u8) -> ExitCode {
    eprintln!("error: {}", crate::printable::lines(&format!("{e:#}")));
    ExitCode::from(code)
}

pub fn run(args: Args) -> Result<ExitCode> {
    if let Some(file) = &args.read {
        return Ok(
            match replay(&args.request.lab, file, args.view, stdout_lines()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => error(&e, EXIT_INVALID),
            },
        );
    }
    let prepared = match prepare(&args.request).and_then(|p| p.check_view(&args.view).map(|()| p)) {
        Ok(prepared) => prepared,
        Err(e) => return Ok(error(&e, EXIT_INVALID)),
    };
    let cancel = match cancel_on_stop_signals() {
        Ok(cancel) => cancel,
        Err(e) => return Ok(error(&e, EXIT_INVALID)),
    };
    let output = match &args.write {
        Some(path) if path.as_os_str() == "-" => Output::Stdout,
        Some(path) => Output::File(path.clone()),
        None => Output::Decoded(args.view, stdout_lines()),
    };
    let target = match &args.write {
        Some(path) if path.as_os_str() == "-" => " to standard output".to_string(),
        Some(path) => format!(" into {}", path.display()),
        None => String::new(),
    };
    // Said once every socket is open: from then on nothing is missed.
    let announce = format!(
        "capturing on {} of lab {}{target}{} (Ctrl-C to stop)",
        count(prepared.taps.len(), "interface"),
        prepared.lab,
        prepared
            .options
            .filter
            .as_ref()
            .map(|f| format!(", filter `{}`", f.expression))
            .unwrap_or_default(),
    );
    match capture(prepared, args.request.duration, output, &cancel, || {
        eprintln!("{announce}")
    }) {
        Ok(stats) => {
            eprint!("{}", report(&stats));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(error(&e, 1)),
    }
}

/// Frames and drops per interface that saw anything, then the totals.
fn report(stats: &Stats) -> String {
    let mut text = String::new();
    for tap in stats
        .taps
        .iter()
        .filter(|t| t.captured > 0 || t.dropped > 0)
    {
        text.push_str(&format!(
            "  {}: {}{}\n",
            tap.tap,
            count(tap.captured as usize, "frame"),
            if tap.dropped > 0 {
                format!(", {} dropped by the kernel", tap.dropped)
            } else {
                String::new()
            }
        ));
    }
    let seconds = stats.ended_ns.saturating_sub(stats.started_ns) as f64 / 1e9;
    text.push_str(&format!(
        "{} on {} in {seconds:.1} s, {} dropped\n",
        count(stats.captured() as usize, "frame"),
        count(stats.taps.len(), "interface"),
        stats.dropped()
    ));
    text
}
