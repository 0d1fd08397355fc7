//! `log`: a stage's messages become tracing events tagged with its job,
//! stage and tenant, so they read like the host's own logs.

use std::sync::Arc;

use crate::bindings::lingo::pipeline::log::{Host, Level};
use crate::cpu::metered;
use crate::state::StageState;

/// Longest message kept; a runaway guest cannot flood the log.
const MAX_MESSAGE: usize = 4096;

/// The log handle of one stage call.
#[derive(Clone)]
pub struct Log {
    /// The job the call serves.
    pub job_id: Arc<str>,
    /// The stage's name.
    pub stage: Arc<str>,
    /// The tenant the stage runs for.
    pub tenant: Arc<str>,
}

impl Log {
    fn write(&self, level: Level, message: &str) {
        let message = truncate(message, MAX_MESSAGE);
        let (job, stage, tenant) = (&*self.job_id, &*self.stage, &*self.tenant);
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
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Host for StageState {
    async fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let (_, spent) = metered(self.counts_cpu(), async { self.log.write(level, &message) }).await;
        self.add_host_cpu(spent);
        Ok(())
    }
}
