//! Progress on the terminal: a bar per scenario (its runs) and one per run
//! (its jobs). Without a terminal the bars are hidden and each finished run
//! is a plain line on stderr instead.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

pub struct Progress {
    multi: MultiProgress,
}

impl Progress {
    pub fn new() -> Self {
        Self { multi: MultiProgress::new() }
    }

    /// A bar over a scenario's `runs`.
    pub fn scenario(&self, name: &str, runs: usize) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(runs as u64));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} runs {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar
    }

    /// A bar over one run's `jobs`.
    pub fn run(&self, jobs: u64) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(jobs));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} jobs {per_sec} {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_prefix("run");
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// A line above the bars (or on stderr when there are none).
    pub fn line(&self, text: impl AsRef<str>) {
        if self.multi.is_hidden() {
            eprintln!("{}", text.as_ref());
        } else {
            let _ = self.multi.println(text.as_ref());
        }
    }
}
