//! What each verb does, callable from the command line and from any other
//! front end (the coming web view): functions that take a loaded lab or a
//! lab's name and return data — a report, a status model, a diagram —
//! never printing or choosing exit codes (`src/cli/` does that). Long verbs
//! show their steps through `progress` and stop when their `Cancel` fires.

pub mod admin;
pub mod apply;
pub mod cancel;
pub mod capture;
pub mod check;
pub mod dhcp_client;
pub mod down;
pub mod exec;
pub mod grade;
pub mod graph;
pub mod lifecycle;
pub mod link;
pub mod logs;
pub mod mail;
pub mod open_files;
pub mod restart;
pub mod rootless;
pub mod service;
pub mod status;
pub mod target;
pub mod test;
pub mod tls;
pub mod up;
