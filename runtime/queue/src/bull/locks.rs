//! Keeping running jobs' locks alive (spec A5).
//!
//! One task per worker renews the lock of every job the worker is running,
//! every half lock duration. It runs apart from the jobs' tasks, so a
//! processor that keeps its thread busy cannot starve the renewal and lose
//! its job to another worker's stalled check. Each renewal is a
//! compare-and-set on this worker's token; a round that failed is retried
//! within ~100 ms (a dropped connection is replaced at once). One loop costs a
//! job an entry in a map, where a task of its own cost a spawn, a timer, a
//! cancellation token and a join.
//!
//! A job leaves the map before its outcome is written, and a renewal may
//! still be on its way. Whichever order Redis sees, nothing is lost: before
//! the outcome script, the renewal extends a lock the script then deletes;
//! after it, the renewal finds no lock of this worker's and does nothing; if
//! this worker has meanwhile taken the job again (a retry), the renewal
//! extends the new run's lock, which is ours too. A renewal's verdict is
//! matched to the hold it was sent for, so a stale "lost" never stops the
//! renewal of a later run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::future::join_all;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::health::{Backoff, Health};
use super::store::Store;

/// The jobs whose locks this worker renews.
#[derive(Debug, Default)]
pub(crate) struct Locks {
    /// Job id → the hold's number, so that a renewal's verdict on an earlier
    /// run of the same job (retried, and taken again by this worker) never
    /// touches the later run's hold.
    held: Mutex<HashMap<String, u64>>,
    next_hold: AtomicU64,
}

/// A job's lock being renewed; dropping it stops the renewal.
#[derive(Debug)]
pub(crate) struct Held {
    locks: Arc<Locks>,
    id: String,
    number: u64,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.locks.release(&self.id, self.number);
    }
}

impl Locks {
    /// Starts the task that renews the held jobs' locks every `every`.
    /// `hard_stop` ends it, at once, even mid-round: the shutdown grace is
    /// over and the jobs still running are left for stalled recovery.
    pub fn start(
        store: Store,
        health: Arc<Health>,
        every: Duration,
        hard_stop: CancellationToken,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let locks = Arc::new(Self::default());
        let task = tokio::spawn(renew(Arc::clone(&locks), store, health, every, hard_stop));
        (locks, task)
    }

    /// Renews job `id`'s lock until the returned hold is dropped.
    pub fn hold(self: &Arc<Self>, id: &str) -> Held {
        let number = self.next_hold.fetch_add(1, Ordering::Relaxed);
        self.held().insert(id.to_owned(), number);
        Held { locks: Arc::clone(self), id: id.to_owned(), number }
    }

    /// Forgets hold `number` of job `id`, unless a later hold replaced it.
    fn release(&self, id: &str, number: u64) -> bool {
        let mut held = self.held();
        let current = held.get(id) == Some(&number);
        if current {
            held.remove(id);
        }
        current
    }

    fn snapshot(&self) -> Vec<(String, u64)> {
        self.held().iter().map(|(id, &n)| (id.clone(), n)).collect()
    }

    /// The map; no code panics while holding it, and a poisoned map is still
    /// the right one: renewal must go on for every other job.
    fn held(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn renew(locks: Arc<Locks>, store: Store, health: Arc<Health>, every: Duration, stop: CancellationToken) {
    let mut warned = false;
    let mut backoff = Backoff::default();
    let mut wait = every;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        // After a failure, retry soon: waiting a full half lock duration
        // again would let the locks expire.
        wait = every;
        let jobs = locks.snapshot();
        if jobs.is_empty() {
            continue;
        }
        let renewals = tokio::select! {
            _ = stop.cancelled() => return,
            renewals = join_all(jobs.iter().map(|(id, _)| store.extend_lock(id))) => renewals,
        };
        let mut failure = None;
        for ((id, number), renewed) in jobs.into_iter().zip(renewals) {
            match renewed {
                Ok(true) => {}
                // Still held: the lock expired or another worker took the job.
                // No longer held: the job finished meanwhile, nothing lost.
                Ok(false) => {
                    if locks.release(&id, number) {
                        warn!(job.id = %id, "job lock lost; another worker may run this job, its result will be discarded");
                    }
                }
                Err(err) => failure = Some(err),
            }
        }
        match failure {
            None => {
                health.ok();
                backoff.reset();
                warned = false;
            }
            Some(err) => {
                health.failed(&err);
                wait = backoff.next_delay().min(every);
                if !warned {
                    warn!(error = %err, "could not renew job locks; retrying");
                    warned = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Locks;

    #[test]
    fn a_later_hold_of_the_same_job_outlives_the_earlier_one() {
        let locks = Arc::new(Locks::default());
        let first = locks.hold("7");
        let first_number = first.number;
        // The job was retried and taken again before the first hold ended.
        let second = locks.hold("7");
        drop(first);
        assert_eq!(locks.snapshot(), vec![("7".to_string(), second.number)]);
        // A renewal's verdict on the first run leaves the second alone.
        assert!(!locks.release("7", first_number));
        assert_eq!(locks.snapshot().len(), 1);
        drop(second);
        assert!(locks.snapshot().is_empty());
    }
}
