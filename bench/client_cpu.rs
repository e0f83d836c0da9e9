//! The CPU time of a benchmark client's thread, shared by the load clients
//! under bench/ (`#[path]`-included: each is a cargo example of its own).

use std::time::Duration;

/// CPU time of this thread (all the client's work runs on it), from the
/// scheduler's statistics; zero where they are missing.
pub fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}
