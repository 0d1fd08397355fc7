//! A job as both protocols hand it to the processor, and what the processor
//! may answer.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
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
    /// Lines the processor keeps as this run's log.
    pub log: JobLog,
}

/// The lines a run of a job leaves as the job's log: appended to
/// `<prefix>:<queue>:<id>:logs` with its outcome, where each library's
/// `job.log()` writes and Bull Board's "Logs" tab reads. A run that adds no
/// line writes nothing. Cheap to clone: clones share the lines.
#[derive(Debug, Clone, Default)]
pub struct JobLog(Arc<Mutex<Vec<String>>>);

impl JobLog {
    /// Adds a line.
    pub fn push(&self, line: impl Into<String>) {
        self.lines().push(line.into());
    }

    /// The lines so far, leaving none.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines())
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
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

/// The wait a rate limit may ask for is clamped to this range: a backend's
/// `Retry-After: 0` must not spin a job hundreds of times a second, and a
/// huge one must not park it in delayed for ever.
pub const RATE_LIMIT_WAIT: std::ops::RangeInclusive<Duration> = Duration::from_millis(500)..=Duration::from_secs(300);

/// Rate-limited runs a job gets without spending an attempt; from the next
/// one on, a rate limit counts as a failed attempt, so a backend that never
/// stops refusing ends in the job's own `attempts` instead of a loop.
pub const FREE_RATE_LIMITS: u32 = 20;

/// The job hash field where lingo counts a job's rate-limited runs (both
/// protocols' Node workers ignore fields they do not know).
pub(crate) const RATE_LIMITED_FIELD: &str = "lingoRateLimited";

/// `retry_after`, within [`RATE_LIMIT_WAIT`].
pub(crate) fn clamp_wait(retry_after: Duration) -> Duration {
    retry_after.clamp(*RATE_LIMIT_WAIT.start(), *RATE_LIMIT_WAIT.end())
}

/// Why a rate-limited job waits in delayed, written as its `failedReason`
/// so a dashboard shows it.
pub(crate) fn waiting_reason(message: &str, wait: Duration) -> String {
    format!("rate limited; runs again in {:.1} s: {message}", wait.as_secs_f64())
}

/// The failed attempt's reason a rate limit becomes once the job has had
/// its free ones.
pub(crate) fn rate_limits_spent(message: &str) -> String {
    format!(
        "{message} (rate limited more than {FREE_RATE_LIMITS} times: each rate limit now counts as a failed attempt)"
    )
}

/// Runs one job. Implemented by the worker glue; the queue adapters call it
/// once per job, concurrently up to their slot count.
pub trait Processor: Send + Sync + 'static {
    /// Processes `job`; `slot` is the concurrency slot running it (for logs).
    fn process(&self, job: &Job, slot: usize) -> impl Future<Output = Result<serde_json::Value, JobError>> + Send;
}

/// Why stored job data cannot be handed to a processor: missing, or not
/// UTF-8 text. `None` when it is text (whether it is good JSON is the
/// processor's to say).
pub(crate) fn undecodable(raw: Option<&[u8]>) -> Option<String> {
    let Some(raw) = raw else {
        return Some("the job has no `data` field (its hash was written without one)".into());
    };
    match std::str::from_utf8(raw) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "job data is not UTF-8 text: byte {} of {} is not valid UTF-8 (the producer wrote raw bytes)",
            e.valid_up_to(),
            raw.len()
        )),
    }
}
