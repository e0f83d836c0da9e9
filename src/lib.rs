//! labctl: real network labs from a YAML file.
//!
//! The library holds all of labctl; `src/main.rs` is a thin binary over
//! [`cli::main`]. The fuzz targets link the library, so they use
//! the parsers exactly as the servers do. The modules are layers that only
//! point down (docs/architecture.md draws them; `tests/layers.rs` keeps it
//! so):
//!
//! - `cli` parses arguments and prints;
//! - `web`: the `labctl web` page and its server (it calls `ops`);
//! - `ops`: what each verb does, returning data (for the CLI and the web view);
//! - `checks`, `daemon`: grading; the per-lab supervisor and its services;
//! - `services`, `agent`, `capture`: the servers a lab runs, the clients a PC
//!   runs, and the packets seen on its interfaces;
//! - `net`, `state`: the kernel and the state dir;
//! - `lab`: the lab file, its validation and the plan;
//! - `plural`, `printable`, `progress`, `rootless`: small helpers every layer
//!   may use (`rootless`: root or rootless mode, and where a lab's files go).

pub mod agent;
pub mod capture;
pub mod checks;
pub mod cli;
pub mod daemon;
pub mod lab;
pub mod net;
pub mod ops;
pub mod plural;
pub mod printable;
pub mod progress;
#[cfg(test)]
mod random_input;
pub mod rootless;
pub mod services;
pub mod state;
pub mod web;
