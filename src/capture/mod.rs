//! Packets seen on a running lab's interfaces: what was captured (`frame`),
//! how it is captured, written and read back, and what it means in a
//! networking course's words. Sits beside `services` and `agent`: it enters
//! the lab's namespaces through `net` and reads the lab's `plan`; `checks`,
//! `ops` and the web view stand on it.

pub mod decode;
pub mod frame;
pub mod sequence;
