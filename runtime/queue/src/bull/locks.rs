//! Keeping a running job's lock alive (spec A5).
//!
//! Each job gets its own renewal task, apart from the processor's task, so a
//! processor that keeps its thread busy cannot starve the renewal and lose
//! the job to another worker's stalled check. The task renews every half
//! lock duration with a compare-and-set on this worker's token, and retries
//! a failed renewal within ~100 ms (a dropped connection is replaced at once).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::health::{Backoff, Health};
use super::store::Store;

/// A running renewal task; stop it before finishing the job, so a renewal
/// never races the script that releases the lock.
#[derive(Debug)]
pub(crate) struct Renewal {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Renewal {
    /// Starts renewing job `id`'s lock every `every`. `hard_stop` also ends
    /// it (shutdown grace is over: the job is left for stalled recovery).
    pub fn spawn(
        store: Store,
        health: Arc<Health>,
        id: String,
        every: Duration,
        hard_stop: &CancellationToken,
    ) -> Self {
        let stop = hard_stop.child_token();
        let task = tokio::spawn(renew(store, health, id, every, stop.clone()));
        Self { stop, task }
    }

    /// Stops renewing and waits until no renewal is in flight.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn renew(store: Store, health: Arc<Health>, id: String, every: Duration, stop: CancellationToken) {
    let mut warned = false;
    let mut backoff = Backoff::default();
    let mut wait = every;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        // After a failure, retry soon: waiting a full half lock duration
        // again would let the lock expire.
        wait = every;
        match store.extend_lock(&id).await {
            Ok(true) => {
                health.ok();
                backoff.reset();
            }
            Ok(false) => {
                warn!(job.id = %id, "job lock lost; another worker may run this job, its result will be discarded");
                return;
            }
            Err(err) => {
                health.failed(&err);
                wait = backoff.next_delay().min(every);
                if !warned {
                    warn!(job.id = %id, error = %err, "could not renew job lock; retrying");
                    warned = true;
                }
            }
        }
    }
}
