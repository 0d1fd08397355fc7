//! `log`: a stage's messages become tracing events tagged with its job,
//! stage and tenant, so they read like the host's own logs.
//!
//! One call may write `limits.max_log_lines` lines and `limits.max_log_bytes`
//! bytes; the rest are dropped, never waited for, and counted: one line at
//! the end of the call says how many went, and `/metrics` counts them per
//! tenant.

use std::sync::Arc;

use crate::bindings::lingo::pipeline::log::{Host, Level};
use crate::cpu::metered;
use crate::state::StageState;
use crate::wall::{Limit, Wall};

/// Longest message kept; a runaway guest cannot flood the log.
const MAX_MESSAGE: usize = 4096;

/// The log handle of one stage call.
pub struct Log {
    /// The job the call serves.
    pub job_id: Arc<str>,
    /// The stage's name.
    pub stage: Arc<str>,
    wall: Wall,
    lines_left: usize,
    bytes_left: usize,
    dropped_lines: u64,
    dropped_bytes: u64,
}

impl Log {
    /// The log of one call of `stage` for `job_id`, within `wall`'s limits.
    pub fn new(job_id: &str, stage: Arc<str>, wall: &Wall) -> Self {
        Self {
            job_id: job_id.into(),
            stage,
            lines_left: wall.limits.max_log_lines,
            bytes_left: wall.limits.max_log_bytes,
            wall: wall.clone(),
            dropped_lines: 0,
            dropped_bytes: 0,
        }
    }

    /// Says how much this call's log dropped, once, at the end of the call,
    /// and counts it for the tenant.
    pub fn report_dropped(&self) {
        if self.dropped_lines == 0 {
            return;
        }
        let limit = if self.lines_left == 0 { Limit::LogLines } else { Limit::LogBytes };
        self.wall.hit(limit, self.dropped_lines);
        let (job, stage, tenant) = (&*self.job_id, &*self.stage, &*self.wall.tenant);
        tracing::warn!(
            job.id = job,
            stage,
            tenant,
            dropped_lines = self.dropped_lines,
            dropped_bytes = self.dropped_bytes,
            "stage `{stage}` wrote more log than limits.max_log_lines/max_log_bytes allow; {} lines dropped",
            self.dropped_lines
        );
    }

    fn write(&mut self, level: Level, message: &str) {
        let message = truncate(message, MAX_MESSAGE);
        if self.lines_left == 0 || self.bytes_left < message.len() {
            self.dropped_lines += 1;
            self.dropped_bytes += message.len() as u64;
            return;
        }
        self.lines_left -= 1;
        self.bytes_left -= message.len();
        let tenant = self.wall.tenant.clone();
        let (job, stage, tenant) = (&*self.job_id, &*self.stage, &*tenant);
        match level {
            Level::Trace => tracing::trace!(job.id = job, stage, tenant, "{message}"),
            Level::Debug => tracing::debug!(job.id = job, stage, tenant, "{message}"),
            Level::Info => tracing::info!(job.id = job, stage, tenant, "{message}"),
            Level::Warn => tracing::warn!(job.id = job, stage, tenant, "{message}"),
            Level::Error => tracing::error!(job.id = job, stage, tenant, "{message}"),
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    &text[..text.floor_char_boundary(max)]
}

impl Host for StageState {
    async fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let (_, spent) = metered(self.counts_cpu(), async { self.log.write(level, &message) }).await;
        self.add_host_cpu(spent);
        Ok(())
    }
}
