//! bullmq (v5+) worker: takes jobs that npm `bullmq` producers put in Redis
//! and finishes them so that `waitUntilFinished`, `QueueEvents` and Bull
//! Board see what a Node worker would show. It runs BullMQ's own Lua scripts
//! (`scripts/`, copied byte for byte from the pinned npm package) in lingo's
//! own loop, the same loop as [`crate::bull`]'s.
//!
//! Map: [`Worker`] connects and runs the loops. `fetch` takes jobs, only when
//! a slot is granted; `runner` runs one job and writes its outcome (decided
//! by [`crate::shared::outcome`], from the job's `opts`), retrying the write
//! through Redis outages, and takes the next job in the completing script;
//! one task renews every running job's lock ([`crate::shared::locks`]) and
//! one runs the stalled check. `store` is the only place the worker calls
//! the scripts (the producer side is `producer`); `keys` names the keys; `pack` encodes their MessagePack
//! arguments. Delayed jobs need no loop of their own: every fetch promotes
//! the due ones, and an idle fetch blocks no longer than the next is due.
//!
//! Not here: flows (parent/child jobs), repeatable jobs, the queue-level
//! rate limiter's manual form, job progress, metrics collection, and the
//! backoff's `jitter` (retries wait the full delay). A job's log is written
//! (`shared::log`), with its outcome.

mod fetch;
mod keys;
mod pack;
mod producer;
mod runner;
mod scripts;
mod store;

pub(crate) use producer::BullMqProducer;

use std::sync::Arc;
use std::time::Duration;

use redis::Client;
use redis::aio::ConnectionManager;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::error::redact_url;
use crate::shared::blocking::worker_name;
use crate::shared::health::{Backoff, Health};
use crate::shared::lifecycle::{check_settings, finish_in_flight, log_join, manager_config, reap, spawn_grace_timer};
use crate::shared::locks::Locks;
use crate::{Processor, QueueError, QueueSettings};

use fetch::{Fetch, Fetcher};
use keys::Keys;
use runner::JobContext;
use store::Store;

/// A bullmq worker over one queue.
pub struct Worker {
    settings: QueueSettings,
    /// For the blocking fetch's own connection.
    client: Client,
    keys: Arc<Keys>,
    store: Store,
    health: Arc<Health>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("queue", &self.keys.base).finish_non_exhaustive()
    }
}

impl Worker {
    /// Connects (fails fast with a clear error if Redis is unreachable at start).
    pub async fn connect(settings: QueueSettings) -> Result<Self, QueueError> {
        check_settings(&settings)?;
        let url = redact_url(&settings.redis_url);
        let client = Client::open(settings.redis_url.as_str())
            .map_err(|source| QueueError::InvalidUrl { url: url.clone(), source })?;
        let con = ConnectionManager::new_with_config(client.clone(), manager_config())
            .await
            .map_err(|source| QueueError::Connect { url: url.clone(), source })?;
        let keys = Arc::new(Keys::new(settings.key_prefix()));
        let lock_ms = u64::try_from(settings.lock_duration.as_millis()).unwrap_or(u64::MAX);
        let store = Store::new(con, Arc::clone(&keys), lock_ms);
        let health = Arc::new(Health::new(url));
        Ok(Self { settings, client, keys, store, health })
    }

    /// Takes jobs and runs `processor` on them in `settings.concurrency` slots until `shutdown`
    /// is cancelled; then stops fetching, lets in-flight jobs finish within `settings.shutdown_grace`
    /// (renewing their locks meanwhile), and returns. Jobs not finished are left in `active` for
    /// stalled recovery.
    pub async fn run<P: Processor>(&self, processor: Arc<P>, shutdown: CancellationToken) -> Result<(), QueueError> {
        let s = &self.settings;
        info!(protocol = "bullmq", queue = %s.queue, prefix = %s.prefix, "Starting Bull-compatible worker");
        info!("Concurrency: {} workers", s.concurrency);
        let hard_stop = CancellationToken::new();
        let grace = spawn_grace_timer(shutdown.clone(), hard_stop.clone(), s.shutdown_grace);
        let stalled = self.spawn_stalled_check(shutdown.child_token());
        let (locks, renewal) =
            Locks::start(self.store.clone(), Arc::clone(&self.health), s.lock_duration / 2, hard_stop.clone());
        let ctx = JobContext {
            store: self.store.clone(),
            health: Arc::clone(&self.health),
            locks,
            shutdown: shutdown.clone(),
            hard_stop: hard_stop.clone(),
        };
        let mut jobs = JoinSet::new();
        self.fetch_loop(&ctx, &processor, &mut jobs, &shutdown).await;
        finish_in_flight(&mut jobs, &hard_stop).await;
        hard_stop.cancel();
        grace.abort();
        log_join("lock renewal task", renewal.await);
        log_join("stalled check task", stalled.await);
        info!(queue = %s.queue, "Bull-compatible worker stopped");
        Ok(())
    }

    /// Fetches while a slot is free, until shutdown; each job runs on its own
    /// task holding its slot.
    async fn fetch_loop<P: Processor>(
        &self,
        ctx: &JobContext,
        processor: &Arc<P>,
        jobs: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) {
        let slots = self.settings.tenant_slots();
        // What a Node worker named "lingo" is called.
        let name = format!("{}:w:lingo", worker_name(&self.settings.prefix, &self.settings.queue));
        let mut fetcher =
            Fetcher::new(self.client.clone(), self.store.clone(), &self.keys, self.settings.drain_delay, name);
        fetcher.announce().await;
        let mut backoff = Backoff::default();
        let mut slot = None;
        while !shutdown.is_cancelled() {
            reap(jobs);
            if slot.is_none() {
                slot = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    slot = slots.acquire() => Some(slot),
                };
            }
            match fetcher.next(shutdown, &ctx.hard_stop).await {
                Ok(Fetch::Job(taken)) => {
                    backoff.reset();
                    self.health.ok();
                    slots.set_backlogged(true);
                    let slot = slot.take().expect("a slot is held while fetching");
                    jobs.spawn(runner::run_job(ctx.clone(), Arc::clone(processor), taken, slot));
                }
                Ok(Fetch::Idle) => {
                    backoff.reset();
                    self.health.ok();
                    slots.set_backlogged(false);
                }
                Ok(Fetch::Stopped) => break,
                Err(err) => {
                    self.health.failed(&err);
                    slots.set_backlogged(false);
                    backoff.sleep(shutdown).await;
                }
            }
        }
        slots.set_backlogged(false);
    }

    /// The stalled check, at start and every `stalled_interval` until `stop`
    /// (throttled across the queue's workers by its `stalled-check` key).
    fn spawn_stalled_check(&self, stop: CancellationToken) -> JoinHandle<()> {
        let (store, health) = (self.store.clone(), Arc::clone(&self.health));
        let (interval, max_stalled) = (self.settings.stalled_interval, self.settings.max_stalled_count);
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        tokio::spawn(async move {
            loop {
                match store.check_stalled(max_stalled, interval_ms).await {
                    Ok(recovered) => {
                        health.ok();
                        for id in recovered {
                            warn!(job.id = %id, "stalled job moved back to wait");
                        }
                    }
                    Err(err) => health.failed(&err),
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(interval.max(Duration::from_millis(1))) => {}
                }
            }
        })
    }
}
