//! labctl: real network labs from a YAML file.

mod agent;
mod checks;
mod cli;
mod daemon;
mod lab;
mod lifecycle;
mod net;
mod plural;
mod printable;
mod progress;
#[cfg(test)]
mod random_input;
mod services;
mod state;

fn main() -> std::process::ExitCode {
    // Die quietly on a closed pipe (`labctl status | head`), as CLI tools do.
    // SAFETY: called first thing, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    cli::main()
}
