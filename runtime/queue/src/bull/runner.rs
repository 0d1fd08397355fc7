//! One job from lock to outcome: renew its lock while the processor runs,
//! then write the outcome with one script, retrying that write through Redis
//! outages until it lands or the shutdown grace ends. A job whose outcome
//! could not be written stays in active and is re-run by stalled recovery;
//! it is never silently dropped.
//!
//! A completion may take the queue's next job in the same script (bull's
//! fetch-next); the task then runs it in the same slot, for as long as the
//! slot would go back to this tenant anyway and the worker is not stopping.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use crate::fair::Slot;
use crate::job::waiting_reason;
use crate::{JobError, Processor};

use super::store::{Fetched, Store, code};
use crate::shared::health::Health;
use crate::shared::locks::Locks;
use crate::shared::now_ms;
use crate::shared::opts::Backoff;
use crate::shared::outcome::{self, Next, Plan};
use crate::shared::record::{Record, run_processor};

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
    /// Tells the delayed-promotion loop about jobs this worker delayed.
    pub delayed: mpsc::Sender<u64>,
}

/// Runs `record` on `processor` in `slot` and records the outcome; then the
/// next jobs its completions took, in the same slot.
pub(crate) async fn run_job<P: Processor>(ctx: JobContext, processor: Arc<P>, mut record: Record, slot: Slot) {
    loop {
        let held = ctx.locks.hold(&record.job.id, ctx.store.token());
        let result = run_processor(&*processor, &record, slot.index()).await;
        drop(held);
        let lines = record.job.log.take();
        let write_outcome = async {
            match result {
                Ok(value) => {
                    let fetch_next = !ctx.shutdown.is_cancelled() && slot.may_keep();
                    complete(&ctx, &record, &value, fetch_next).await
                }
                Err(err) => (handle_error(&ctx, &record, &err).await, None),
            }
        };
        // Joined, the log's command is sent first and shares the outcome's
        // round trip: it lands before a script that may remove the job.
        let ((), (written, next)) = tokio::join!(ctx.store.append_log(&record, &lines), write_outcome);
        report(&record.job.id, written);
        match next {
            Some(Fetched::Job(taken)) => record = taken,
            Some(Fetched::Missing(id)) => {
                debug!(job.id = %id, "next job was removed before it could be locked; skipped");
                break;
            }
            Some(Fetched::Empty) | None => break,
        }
    }
    drop(slot);
}

/// The written code, and the next job if one was taken. A retried write
/// asks again; should an earlier try have taken a job whose reply was lost,
/// that job waits, locked, for stalled recovery, as with bull's own worker.
async fn complete(
    ctx: &JobContext,
    record: &Record,
    value: &serde_json::Value,
    fetch_next: bool,
) -> (Option<i64>, Option<Fetched>) {
    match ctx.health.persist(&ctx.hard_stop, || ctx.store.complete(record, value, fetch_next)).await {
        Some(completed) => (Some(completed.code), completed.next),
        None => (None, None),
    }
}

async fn handle_error(ctx: &JobContext, record: &Record, err: &JobError) -> Option<i64> {
    let id = &record.job.id;
    match outcome::plan(record, err, Backoff::bull_delay_ms) {
        Plan::RateLimited(after) => {
            debug!(job.id = %id, retry_after_ms = after.as_millis() as u64, reason = %err, "job rate limited; delayed");
            let due = now_ms().saturating_add(after.as_millis() as u64);
            let reason = waiting_reason(&err.to_string(), after);
            let written = ctx.health.persist(&ctx.hard_stop, || ctx.store.delay(record, due, &reason)).await;
            notify_delayed(ctx, written, due);
            written
        }
        Plan::Attempt(attempt) => {
            let now = now_ms();
            match attempt.next {
                Next::Fail => {
                    warn!(job.id = %id, attempts_made = attempt.attempts_made, reason = %err, "job failed")
                }
                next => {
                    debug!(job.id = %id, attempts_made = attempt.attempts_made, ?next, reason = %err, "job failed; will retry")
                }
            }
            let written = ctx.health.persist(&ctx.hard_stop, || ctx.store.fail(record, &attempt, now)).await;
            if let Next::Delay(ms) = attempt.next {
                notify_delayed(ctx, written, now.saturating_add(ms));
            }
            written
        }
    }
}

fn notify_delayed(ctx: &JobContext, written: Option<i64>, due_ms: u64) {
    if written == Some(code::OK) {
        // A full channel only means promotion runs on its 5 s guard instead.
        let _ = ctx.delayed.try_send(due_ms);
    }
}

/// Logs a script's verdict on a job this worker thought it held.
fn report(id: &str, written: Option<i64>) {
    match written {
        Some(code::OK) => {}
        Some(code::MISSING_JOB) => {
            debug!(job.id = %id, "job was removed while running; outcome dropped")
        }
        Some(code::MISSING_LOCK | code::LOCK_MISMATCH) => {
            warn!(job.id = %id, "job lock lost; another worker owns the job, outcome discarded")
        }
        Some(code::NOT_ACTIVE) => {
            warn!(job.id = %id, "job was no longer active; outcome discarded")
        }
        Some(other) => error!(job.id = %id, code = other, "unexpected reply finishing job"),
        None => {
            warn!(job.id = %id, "could not record job outcome; left in active for stalled recovery")
        }
    }
}
