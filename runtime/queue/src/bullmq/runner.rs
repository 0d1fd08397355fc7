//! One job from lock to outcome: renew its lock while the processor runs,
//! then write the outcome with one of BullMQ's scripts, retrying that write
//! through Redis outages until it lands or the shutdown grace ends. A job
//! whose outcome could not be written stays in active and is re-run by
//! stalled recovery; it is never silently dropped.
//!
//! A completion (or final failure) may take the queue's next job in the same
//! script, as BullMQ's Node worker does; the task then runs it in the same
//! slot, for as long as the slot would go back to this tenant anyway and the
//! worker is not stopping.

use std::sync::Arc;

use redis::RedisResult;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use super::store::{Failure, Fetched, Finished, Store, Taken, code};
use crate::fair::Slot;
use crate::job::waiting_reason;
use crate::shared::health::Health;
use crate::shared::locks::Locks;
use crate::shared::opts::Backoff;
use crate::shared::outcome::{self, Next, Plan};
use crate::shared::record::run_processor;
use crate::{JobError, Processor};

/// What every job task shares.
#[derive(Debug, Clone)]
pub(crate) struct JobContext {
    pub store: Store,
    pub health: Arc<Health>,
    /// Renews the locks of the jobs running.
    pub locks: Arc<Locks>,
    /// Cancelled when shutdown begins: take no new job.
    pub shutdown: CancellationToken,
    /// Cancelled when the shutdown grace is over: stop renewing and writing.
    pub hard_stop: CancellationToken,
}

/// Runs `taken` on `processor` in `slot` and records the outcome; then the
/// next jobs its completions took, in the same slot.
pub(crate) async fn run_job<P: Processor>(ctx: JobContext, processor: Arc<P>, mut taken: Taken, slot: Slot) {
    loop {
        let held = ctx.locks.hold(&taken.record.job.id, &taken.token);
        let result = run_processor(&*processor, &taken.record, slot.index()).await;
        drop(held);
        let lines = taken.record.job.log.take();
        let fetch_next = !ctx.shutdown.is_cancelled() && slot.may_keep();
        let write_outcome = async {
            match result {
                Ok(value) => ctx.persist(|| ctx.store.complete(&taken, &value, fetch_next)).await,
                Err(err) => handle_error(&ctx, &taken, &err, fetch_next).await,
            }
        };
        // Joined, the log's command is sent first and shares the outcome's
        // round trip: it lands before a script that may remove the job.
        let ((), finished) = tokio::join!(ctx.store.append_log(&taken.record, &lines), write_outcome);
        report(&taken.record.job.id, finished.as_ref().map(|f| f.code));
        match finished.and_then(|f| f.next) {
            Some(Fetched::Job(next)) => taken = next,
            Some(Fetched::Empty { .. }) | None => break,
        }
    }
    drop(slot);
}

impl JobContext {
    /// Runs a write until it lands, through outages; None if it never did.
    async fn persist<F, Fut>(&self, op: F) -> Option<Finished>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = RedisResult<Finished>>,
    {
        self.health.persist(&self.hard_stop, op).await
    }
}

async fn handle_error(ctx: &JobContext, taken: &Taken, err: &JobError, fetch_next: bool) -> Option<Finished> {
    let id = &taken.record.job.id;
    match outcome::plan(&taken.record, err, Backoff::bullmq_delay_ms) {
        Plan::RateLimited(after) => {
            debug!(job.id = %id, retry_after_ms = after.as_millis() as u64, reason = %err, "job rate limited; delayed");
            // bullmq's delay script does not count these runs; a count lost to
            // an outage only gives the job one more free run.
            let _ = ctx.store.count_rate_limit(id).await;
            let reason = waiting_reason(&err.to_string(), after);
            ctx.persist(|| ctx.store.delay(taken, after.as_millis() as u64, &reason)).await
        }
        Plan::Attempt(attempt) => {
            let failure = match attempt.next {
                Next::Fail => {
                    warn!(job.id = %id, attempts_made = attempt.attempts_made, reason = %err, "job failed");
                    Failure::Fail
                }
                Next::Retry => Failure::Retry,
                Next::Delay(ms) => Failure::Delay(ms),
            };
            if !matches!(failure, Failure::Fail) {
                debug!(job.id = %id, attempts_made = attempt.attempts_made, ?failure, reason = %err, "job failed; will retry");
            }
            let fetch_next = fetch_next && matches!(failure, Failure::Fail);
            ctx.persist(|| ctx.store.fail(taken, &attempt, failure, fetch_next)).await
        }
    }
}

/// Logs a script's verdict on a job this worker thought it held.
fn report(id: &str, written: Option<i64>) {
    match written {
        Some(code::OK) => {}
        Some(code::MISSING_JOB) => debug!(job.id = %id, "job was removed while running; outcome dropped"),
        Some(code::MISSING_LOCK | code::LOCK_MISMATCH) => {
            warn!(job.id = %id, "job lock lost; another worker owns the job, outcome discarded")
        }
        Some(code::NOT_ACTIVE) => warn!(job.id = %id, "job was no longer active; outcome discarded"),
        Some(other) => error!(job.id = %id, code = other, "unexpected reply finishing job"),
        None => warn!(job.id = %id, "could not record job outcome; left in active for stalled recovery"),
    }
}
