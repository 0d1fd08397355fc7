//! bull v4 worker: takes jobs that npm `bull` producers put in Redis and
//! finishes them so that the producers' `job.finished()` settles, speaking
//! bull's Redis protocol with Lua scripts written here from the protocol as
//! observed on a real Redis (the "spec A…" references name the sections of
//! `docs/PROTOCOL.md`).
//!
//! Map: [`Worker`] connects and runs the loops. `fetch` takes jobs, `runner` runs one job and
//! writes its outcome (decided by [`crate::shared::outcome`], from `opts`), and takes the
//! next job in the completing script (bull's fetch-next); `maintenance` promotes delayed
//! jobs and recovers stalled ones, `events` listens for delayed announcements; lock renewal,
//! outage health and slots come from [`crate::shared`] and [`crate::fair`]. `store` is the
//! only place the worker calls the scripts (`scripts/*.lua`; the producer runs
//! its add script); `keys` names the keys.
//!
//! Not here (optional in bull): rate limiter keys, repeatable jobs, progress, metrics,
//! the `timeout` option, and custom backoff strategies (an unknown backoff type retries
//! at once). A job's log is written (`shared::log`), with its outcome.

mod clock;
mod events;
mod fetch;
mod keys;
mod maintenance;
mod producer;
mod runner;
mod scripts;
mod store;

pub(crate) use producer::BullProducer;

use std::sync::Arc;

use redis::Client;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::info;

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

/// How many delayed announcements may wait for the promotion loop.
const DELAYED_BACKLOG: usize = 1024;

/// A bull v4 worker over one queue.
pub struct Worker {
    settings: QueueSettings,
    /// For the connections that are not the command connection: the
    /// blocking fetch and the `delayed` subscription.
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
        let token = uuid::Uuid::new_v4().to_string();
        let lock_ms = u64::try_from(settings.lock_duration.as_millis()).unwrap_or(u64::MAX);
        let store = Store::new(con, Arc::clone(&keys), token, lock_ms);
        let health = Arc::new(Health::new(url));
        Ok(Self { settings, client, keys, store, health })
    }

    /// Takes jobs and runs `processor` on them in `settings.concurrency` slots until `shutdown`
    /// is cancelled; then stops fetching, lets in-flight jobs finish within `settings.shutdown_grace`
    /// (renewing their locks meanwhile), and returns. Jobs not finished are left in `active` for
    /// stalled recovery (do not fail or move them).
    pub async fn run<P: Processor>(&self, processor: Arc<P>, shutdown: CancellationToken) -> Result<(), QueueError> {
        let s = &self.settings;
        info!(protocol = "bull", queue = %s.queue, prefix = %s.prefix, "Starting Bull-compatible worker");
        info!("Concurrency: {} workers", s.concurrency);
        let hard_stop = CancellationToken::new();
        let grace = spawn_grace_timer(shutdown.clone(), hard_stop.clone(), s.shutdown_grace);
        let (delayed_tx, delayed_rx) = mpsc::channel(DELAYED_BACKLOG);
        let housekeeping = self.spawn_maintenance(delayed_tx.clone(), delayed_rx, shutdown.child_token());
        let (locks, renewal) =
            Locks::start(self.store.clone(), Arc::clone(&self.health), s.lock_duration / 2, hard_stop.clone());
        let ctx = JobContext {
            store: self.store.clone(),
            health: Arc::clone(&self.health),
            locks,
            shutdown: shutdown.clone(),
            hard_stop: hard_stop.clone(),
            delayed: delayed_tx,
        };
        let mut jobs = JoinSet::new();
        self.fetch_loop(&ctx, &processor, &mut jobs, &shutdown).await;
        finish_in_flight(&mut jobs, &hard_stop).await;
        hard_stop.cancel();
        grace.abort();
        log_join("lock renewal task", renewal.await);
        for task in housekeeping {
            let _ = task.await;
        }
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
        let name = worker_name(&self.settings.prefix, &self.settings.queue);
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
            match fetcher.next(&self.health, shutdown, &ctx.hard_stop).await {
                Ok(Fetch::Job(record)) => {
                    backoff.reset();
                    self.health.ok();
                    slots.set_backlogged(true);
                    let slot = slot.take().expect("a slot is held while fetching");
                    jobs.spawn(runner::run_job(ctx.clone(), Arc::clone(processor), record, slot));
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

    fn spawn_maintenance(
        &self,
        delayed_tx: mpsc::Sender<u64>,
        delayed_rx: mpsc::Receiver<u64>,
        stop: CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        let s = &self.settings;
        let health = &self.health;
        vec![
            tokio::spawn(maintenance::promote_delayed(
                self.store.clone(),
                Arc::clone(health),
                delayed_rx,
                stop.clone(),
            )),
            tokio::spawn(maintenance::check_stalled(
                self.store.clone(),
                Arc::clone(health),
                s.stalled_interval,
                s.max_stalled_count,
                stop.clone(),
            )),
            tokio::spawn(events::forward_delayed(self.client.clone(), self.keys.delayed.clone(), delayed_tx, stop)),
        ]
    }
}
