//! The process's stop signals while `up` or `test` runs: Ctrl-C, SIGTERM,
//! a closed terminal (SIGHUP) and a closed output pipe (SIGPIPE: `labctl
//! test … | head`) cancel the verb — which then rolls back or tears down —
//! instead of killing labctl half-way.

use anyhow::{Context, Result};
use tokio::signal::unix::{SignalKind, signal};

use crate::ops::cancel::Cancel;

/// Catches the stop signals from now on (before anything is built) and
/// turns the first into a cancel, with the reason the verb's error gives:
/// "interrupted", "terminated" or "the terminal went away".
pub fn cancel_on_stop_signals() -> Result<Cancel> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (mut interrupt, mut terminate, mut hangup, mut pipe) = {
        let _inside = runtime.enter();
        let catch = |kind| signal(kind).context("cannot catch the stop signals");
        (
            catch(SignalKind::interrupt())?,
            catch(SignalKind::terminate())?,
            catch(SignalKind::hangup())?,
            catch(SignalKind::pipe())?,
        )
    };
    let cancel = Cancel::new();
    let on_signal = cancel.clone();
    std::thread::Builder::new()
        .name("stop signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                let why = tokio::select! {
                    _ = interrupt.recv() => "interrupted",
                    _ = terminate.recv() => "terminated",
                    _ = hangup.recv() => "the terminal went away",
                    _ = pipe.recv() => "the output went away",
                };
                on_signal.cancel(why);
            })
        })
        .context("cannot start the thread that catches stop signals")?;
    Ok(cancel)
}
