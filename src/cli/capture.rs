//! `labctl capture LAB [NODE[:IFACE]…] [-w FILE|-] [-f BPF] [--for D|--count N]`:
//! records a running lab's interfaces (`ops::capture`) into pcapng, or
//! prints a line per frame, then a summary per interface on stderr.
//! Exit codes: 0 done, 1 the capture failed while running, 2 nothing
//! could be started (lab not up, unknown interface, invalid filter).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use super::EXIT_INVALID;
use super::signals::cancel_on_stop_signals;
use crate::capture::session::Stats;
use crate::ops::capture::{Output, Request, prepare, run as capture};
use crate::plural::count;

pub struct Args {
    pub request: Request,
    pub write: Option<PathBuf>,
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
    let prepared = match prepare(&args.request) {
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
        None => Output::Lines(Box::new(|line| {
            // A closed pipe (`| head`) is not worth a panic.
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        })),
    };
    let target = match &args.write {
        Some(path) if path.as_os_str() == "-" => " to standard output".to_string(),
        Some(path) => format!(" into {}", path.display()),
        None => String::new(),
    };
    eprintln!(
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
    match capture(prepared, args.request.duration, output, &cancel) {
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
