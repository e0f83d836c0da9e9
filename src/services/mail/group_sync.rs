//! Group commit of a directory: many deliveries rename into the same `new/`
//! at once, and each must not be acknowledged before the directory is
//! synced. One fsync covers every rename made before it started, so a
//! delivery takes a ticket after its rename; if a sync that started after
//! that rename is already running it waits for it, otherwise it starts its
//! own at once (syncs run side by side: the kernel merges them into one
//! journal commit). Under load, one fsync serves a whole batch.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Condvar, Mutex};

#[derive(Default)]
pub struct GroupSync {
    state: Mutex<State>,
    finished: Condvar,
}

#[derive(Default)]
struct State {
    /// Tickets handed out (renames done).
    taken: u64,
    /// The highest ticket a running or finished sync covers.
    started: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
}

impl GroupSync {
    /// A ticket for a rename that has just completed.
    pub fn ticket(&self) -> u64 {
        let mut state = self.state.lock().expect("sync lock");
        state.taken += 1;
        state.taken
    }

    /// Returns once `dir` was synced after the rename of `ticket`.
    pub fn wait(&self, dir: &Path, ticket: u64) -> io::Result<()> {
        let mut state = self.state.lock().expect("sync lock");
        loop {
            if state.synced >= ticket {
                return Ok(());
            }
            if state.started >= ticket {
                state = self.finished.wait(state).expect("sync lock");
                continue;
            }
            let covers = state.taken;
            state.started = covers;
            drop(state);
            let synced = File::open(dir).and_then(|d| d.sync_all());
            state = self.state.lock().expect("sync lock");
            match synced {
                Ok(()) => state.synced = state.synced.max(covers),
                // Waiters for this sync must try for themselves.
                Err(_) => state.started = state.synced,
            }
            self.finished.notify_all();
            synced?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_waiter_returns_after_a_sync() {
        let sync = Arc::new(GroupSync::default());
        let dir = std::env::temp_dir();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let sync = sync.clone();
                let dir = dir.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let ticket = sync.ticket();
                        sync.wait(&dir, ticket).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let state = sync.state.lock().unwrap();
        assert_eq!((state.taken, state.synced), (160, 160));
    }

    #[test]
    fn a_failed_sync_is_reported() {
        let sync = GroupSync::default();
        let ticket = sync.ticket();
        assert!(sync.wait(Path::new("/nonexistent/labctl"), ticket).is_err());
    }
}
