//! Keeping running jobs' locks alive, for either protocol.
//!
//! One task per worker renews the lock of every job the worker is running,
//! every half lock duration, in one round ([`Renew`]: bull checks each lock
//! against the worker's token, bullmq renews them all in one script call). It runs apart from the jobs' tasks, so a
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
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::RedisResult;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::health::{Backoff, Health};

/// A held job's lock: its id and the token it was locked with.
#[derive(Debug, Clone)]
pub(crate) struct Lock {
    pub id: String,
    pub token: Arc<str>,
}

/// How a protocol renews locks.
pub(crate) trait Renew: Send + Sync + 'static {
    /// Renews every lock in `locks`; for each, whether it is still this
    /// worker's (false: it expired or another worker took the job).
    fn renew(&self, locks: &[Lock]) -> impl Future<Output = RedisResult<Vec<bool>>> + Send;
}

/// The jobs whose locks this worker renews.
#[derive(Debug, Default)]
pub(crate) struct Locks {
    /// Job id → the hold's number and lock token. The number makes sure a
    /// renewal's verdict on an earlier run of the same job (retried, and
    /// taken again by this worker) never touches the later run's hold.
    held: Mutex<HashMap<String, (u64, Arc<str>)>>,
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
        store: impl Renew,
        health: Arc<Health>,
        every: Duration,
        hard_stop: CancellationToken,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let locks = Arc::new(Self::default());
        let task = tokio::spawn(renew(Arc::clone(&locks), store, health, every, hard_stop));
        (locks, task)
    }

    /// Renews job `id`'s lock, taken with `token`, until the returned hold
    /// is dropped.
    pub fn hold(self: &Arc<Self>, id: &str, token: &Arc<str>) -> Held {
        let number = self.next_hold.fetch_add(1, Ordering::Relaxed);
        self.held().insert(id.to_owned(), (number, Arc::clone(token)));
        Held { locks: Arc::clone(self), id: id.to_owned(), number }
    }

    /// Forgets hold `number` of job `id`, unless a later hold replaced it.
    fn release(&self, id: &str, number: u64) -> bool {
        let mut held = self.held();
        let current = held.get(id).is_some_and(|(n, _)| *n == number);
        if current {
            held.remove(id);
        }
        current
    }

    fn snapshot(&self) -> Vec<(Lock, u64)> {
        let held = self.held();
        held.iter().map(|(id, (n, token))| (Lock { id: id.clone(), token: Arc::clone(token) }, *n)).collect()
    }

    /// The map; no code panics while holding it, and a poisoned map is still
    /// the right one: renewal must go on for every other job.
    fn held(&self) -> MutexGuard<'_, HashMap<String, (u64, Arc<str>)>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn renew(locks: Arc<Locks>, store: impl Renew, health: Arc<Health>, every: Duration, stop: CancellationToken) {
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
        let (held, numbers): (Vec<Lock>, Vec<u64>) = jobs.into_iter().unzip();
        let renewed = tokio::select! {
            _ = stop.cancelled() => return,
            renewed = store.renew(&held) => renewed,
        };
        match renewed {
            Ok(verdicts) => {
                for ((lock, number), ours) in held.iter().zip(numbers).zip(verdicts) {
                    // Still held: the lock expired or another worker took the job.
                    // No longer held: the job finished meanwhile, nothing lost.
                    if !ours && locks.release(&lock.id, number) {
                        warn!(job.id = %lock.id, "job lock lost; another worker may run this job, its result will be discarded");
                    }
                }
                health.ok();
                backoff.reset();
                warned = false;
            }
            Err(err) => {
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
        let token: Arc<str> = Arc::from("token");
        let first = locks.hold("7", &token);
        let first_number = first.number;
        // The job was retried and taken again before the first hold ended.
        let second = locks.hold("7", &token);
        drop(first);
        let held: Vec<_> = locks.snapshot().into_iter().map(|(lock, n)| (lock.id, n)).collect();
        assert_eq!(held, vec![("7".to_string(), second.number)]);
        // A renewal's verdict on the first run leaves the second alone.
        assert!(!locks.release("7", first_number));
        assert_eq!(locks.snapshot().len(), 1);
        drop(second);
        assert!(locks.snapshot().is_empty());
    }
}
