//! A job as both protocols hand it to the processor, and what the processor
//! may answer.

use std::future::Future;
use std::time::Duration;

/// A job taken from the queue, locked by this worker.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job id, always a string (counter ids look numeric).
    pub id: String,
    /// The job name the producer gave (`__default__` in bull when none).
    pub name: String,
    /// The job's `data` field: JSON text exactly as the producer stored it.
    pub data: String,
    /// Attempts already made before this one (0 on the first run).
    pub attempts_made: u32,
    /// When the producer created the job, in ms since the epoch.
    pub timestamp: u64,
}

/// Why a job did not complete. The variant decides what the queue does next,
/// never the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Might work later: retried by the job's own `attempts`/`backoff` options.
    #[error("{0}")]
    Retryable(String),
    /// Will never work (bad job data, a plugin fault that cannot heal): the job
    /// fails at once, whatever its `attempts`.
    #[error("{0}")]
    Fatal(String),
    /// A backend asked us to slow down: the job goes back to `delayed` for
    /// `retry_after` without using up an attempt.
    #[error("{message}")]
    RateLimited {
        /// What the backend said.
        message: String,
        /// How long to wait before the job runs again.
        retry_after: Duration,
    },
}

/// Runs one job. Implemented by the worker glue; the queue adapters call it
/// once per job, concurrently up to their slot count.
pub trait Processor: Send + Sync + 'static {
    /// Processes `job`; `slot` is the concurrency slot running it (for logs).
    fn process(&self, job: &Job, slot: usize) -> impl Future<Output = Result<serde_json::Value, JobError>> + Send;
}
