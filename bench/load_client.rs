//! What the load clients under bench/ share (`#[path]`-included: each is a
//! cargo example of its own): running one async session and printing its
//! line, and the CPU time of the client's thread.

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

/// Runs `session` on a current-thread runtime; prints the line it returns
/// (success) or `NAME: error` (failure).
pub fn run_and_print(
    name: &str,
    session: impl Future<Output = anyhow::Result<String>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(session) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// CPU time of this thread (all the client's work runs on it), from the
/// scheduler's statistics; zero where they are missing.
pub fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}
