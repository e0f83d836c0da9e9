//! The `labctl` binary: everything is in the library (`src/lib.rs`).

fn main() -> std::process::ExitCode {
    // Die quietly on a closed pipe (`labctl status | head`), as CLI tools do.
    // SAFETY: called first thing, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    labctl::cli::main()
}
