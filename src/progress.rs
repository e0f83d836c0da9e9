//! Progress of long steps: bars on a terminal, plain lines otherwise (logs, CI).

use std::io::IsTerminal;
use std::io::Write;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bars: Option<MultiProgress>,
}

/// One step with a known number of items.
#[derive(Clone)]
pub struct Phase {
    bar: Option<ProgressBar>,
    name: &'static str,
    total: usize,
    started: Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Bars when stderr is a terminal, plain lines when it is not.
    pub fn new() -> Self {
        let bars = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { bars }
    }

    /// Shows nothing: for the steps of one of many jobs running at once
    /// (`grade`), whose caller reports progress its own way.
    pub fn silent() -> Self {
        Progress {
            bars: Some(MultiProgress::with_draw_target(ProgressDrawTarget::hidden())),
        }
    }

    pub fn phase(&self, name: &'static str, total: usize) -> Phase {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(total as u64));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} {elapsed}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(name);
            bar
        });
        Phase {
            bar,
            name,
            total,
            started: Instant::now(),
        }
    }

    /// A line of text above the bars (or on its own without them).
    pub fn println(&self, line: &str) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(line);
            }
            // Never panics: a closed stderr must not stop a build half-way.
            None => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }
}

impl Phase {
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        let seconds = self.started.elapsed().as_secs_f64();
        match &self.bar {
            Some(bar) => bar.finish(),
            None => {
                let _ = writeln!(
                    std::io::stderr(),
                    "  {:<22} {:>5} in {seconds:.2} s",
                    self.name,
                    self.total
                );
            }
        }
    }
}
