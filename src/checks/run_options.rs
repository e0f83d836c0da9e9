//! How a run of checks behaves, as `labctl check`, `test` and `grade` ask
//! (kept apart from the runner so a check kind can read it without leaning
//! on the runner that dispatches to it).

/// How checks run, as `labctl check`, `test` and `grade` ask.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Leave the messages mail checks send in the mailboxes (by default a
    /// check removes its message, and any bounce of it, once verified).
    pub keep_mail: bool,
}
