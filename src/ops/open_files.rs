//! Building a lab holds file descriptors in proportion to its size
//! (`net::build::descriptors_needed`): this raises the process's open-file
//! limit to fit, as far as it may, or says so before anything is built.

use anyhow::{Context, Result, bail};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Room for everything else (the state dir, the runtime, logs).
const MARGIN: u64 = 256;

/// Makes room for `held` descriptors besides the usual ones.
pub fn allow_for(held: usize) -> Result<()> {
    let needed = held as u64 + MARGIN;
    let (soft, hard) =
        getrlimit(Resource::RLIMIT_NOFILE).context("cannot read the open-file limit")?;
    if soft >= needed {
        return Ok(());
    }
    // Root may raise the hard limit as well (up to the kernel's fs.nr_open);
    // anyone may raise the soft one up to the hard.
    if setrlimit(Resource::RLIMIT_NOFILE, needed, hard.max(needed)).is_ok() {
        return Ok(());
    }
    bail!(
        "this lab needs about {needed} open files while it is built, \
         and this process may open {hard} at most\n  \
         fix: raise the limit (`ulimit -n {needed}` as root, or `LimitNOFILE=` for a service), or split the lab"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_lab_fits_in_the_usual_limit() {
        // 1024 is the usual soft limit.
        allow_for(400).unwrap();
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert!(soft >= 400 + MARGIN);
    }

    #[test]
    fn past_the_hard_limit_it_is_raised_or_the_error_says_how() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let held = hard as usize + 1;
        match allow_for(held) {
            Ok(()) => {
                let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
                assert!(soft >= held as u64 + MARGIN);
            }
            // Without CAP_SYS_RESOURCE (root in a container too).
            Err(e) => assert!(format!("{e:#}").contains("ulimit -n"), "{e:#}"),
        }
    }
}
