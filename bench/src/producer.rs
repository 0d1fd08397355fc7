//! The producer side, through the real npm libraries (`bench/peers/node/produce.js`):
//! fill a queue (paused first, so that a run's window starts at `resume`),
//! resume it, or add jobs at a fixed rate in an open loop.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use serde::Deserialize;

use crate::setup::{Paths, run};
use crate::workers::Protocol;

/// produce.js for one Redis.
pub struct Producer {
    script: std::path::PathBuf,
    redis_url: String,
}

/// What an open-loop producer reports when done.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RateReport {
    pub sent: u64,
    pub seconds: f64,
}

impl Producer {
    pub fn new(paths: &Paths, redis_url: &str) -> Self {
        Self { script: paths.node.join("produce.js"), redis_url: redis_url.to_string() }
    }

    fn command(&self, verb: &str, protocol: Protocol, queue: &str) -> Command {
        let mut command = Command::new("node");
        command.arg(&self.script).arg(verb);
        command.args(["--protocol", protocol.id(), "--redis", &self.redis_url, "--queue", queue]);
        command
    }

    /// Adds `count` jobs with texts from `lines`, the queue paused first.
    pub fn fill_paused(&self, protocol: Protocol, queue: &str, lines: &Path, count: usize) -> anyhow::Result<()> {
        let mut command = self.command("fill", protocol, queue);
        command.arg("--lines").arg(lines).args(["--count", &count.to_string(), "--paused", "1"]);
        run(&mut command)
    }

    pub fn resume(&self, protocol: Protocol, queue: &str) -> anyhow::Result<()> {
        run(&mut self.command("resume", protocol, queue))
    }

    /// Starts adding `rate` jobs/s for `seconds`; see [`finish_rate`].
    pub fn start_rate(
        &self,
        protocol: Protocol,
        queue: &str,
        lines: &Path,
        rate: u64,
        seconds: u64,
    ) -> anyhow::Result<Child> {
        let mut command = self.command("rate", protocol, queue);
        command.arg("--lines").arg(lines).args(["--rate", &rate.to_string(), "--seconds", &seconds.to_string()]);
        command.stdout(Stdio::piped()).spawn().context("starting produce.js rate")
    }
}

/// Waits for an open-loop producer and reads its report.
pub fn finish_rate(child: Child) -> anyhow::Result<RateReport> {
    let out = child.wait_with_output()?;
    anyhow::ensure!(out.status.success(), "produce.js rate failed ({})", out.status);
    serde_json::from_slice(&out.stdout).context("reading produce.js rate's report")
}
