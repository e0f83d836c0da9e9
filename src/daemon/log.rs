//! The daemon's own log, `daemon.log` in the lab's state dir: `up` points
//! the daemon's stderr at it, and every `tracing` event of labctl's code
//! (daemon and services) becomes one plain line there, as
//! `[UNIX_SECONDS.MILLIS] message`: no colours, no levels or module paths,
//! so the file reads like the lines `eprintln!` wrote before. Events of
//! other crates (hickory's resolver is chatty) are left out, as before.

use std::fmt;

use tracing::{Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Sends this process's log events to stderr, one line each. Called once,
/// first thing in the daemon; a second call changes nothing.
pub fn init() {
    let _ = subscriber(std::io::stderr).try_init();
}

/// labctl's events at INFO and above, as plain lines into `writer`.
fn subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_level(false)
        .with_target(false)
        .with_timer(EpochSeconds);
    let ours = Targets::new().with_target(env!("CARGO_CRATE_NAME"), Level::INFO);
    tracing_subscriber::registry().with(lines).with(ours)
}

/// `[1700000000.123]`: seconds since the epoch (the log is for reading and
/// for lining up with other logs, not for parsing).
struct EpochSeconds;

impl FormatTime for EpochSeconds {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        write!(w, "[{}.{:03}]", now.as_secs(), now.subsec_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_is_a_timestamp_and_the_message_only() {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing::subscriber::with_default(subscriber(move || writer.clone()), || {
            tracing::info!("pc0: DNS on port 53: 2 zones");
            tracing::warn!("smtp: accept failed");
            tracing::debug!("not at INFO");
            tracing::info!(target: "hickory_resolver", "another crate's chatter");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for (line, message) in lines
            .iter()
            .zip(["pc0: DNS on port 53: 2 zones", "smtp: accept failed"])
        {
            let (stamp, rest) = line.split_once("] ").expect("a timestamp first");
            let (seconds, millis) = stamp.trim_start_matches('[').split_once('.').unwrap();
            assert!(seconds.parse::<u64>().unwrap() > 1_600_000_000, "{line}");
            assert!(millis.len() == 3 && millis.parse::<u16>().is_ok(), "{line}");
            assert_eq!(rest, message, "no level, module or colour: {line:?}");
        }
    }
}
