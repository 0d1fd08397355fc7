//! Taking jobs, as BullMQ's Node worker does: while the last fetch found a
//! job, `moveToActive` again at once; once the queue looked empty, block on
//! the queue's marker (`BZPOPMIN`, on a connection of its own) until a
//! producer or a script marks new work, the next delayed job is due, or the
//! drain delay passes; then `moveToActive`. An idle worker sends one fetch
//! per drain delay, and shutdown unblocks it at once.

use std::time::Duration;

use redis::{Client, RedisResult};
use tokio_util::sync::CancellationToken;

use super::keys::Keys;
use super::store::{Fetched, Store, Taken};
use crate::shared::blocking::{Blocked, Blocking};
use crate::shared::now_ms;

/// The shortest block: `BZPOPMIN` reads a timeout of 0 as "for ever".
const MIN_BLOCK: Duration = Duration::from_millis(1);

/// The fetching half of a worker; owned by the fetch loop.
pub(crate) struct Fetcher {
    store: Store,
    blocking: Blocking,
    marker: String,
    drain_delay: Duration,
    /// Set when the last fetch found nothing: block before the next.
    idle: Option<Idle>,
}

/// Why the last fetch found nothing.
#[derive(Debug, Clone, Copy)]
struct Idle {
    delayed_until: Option<u64>,
    rate_limited_ms: u64,
}

/// What one fetch produced.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Fetch {
    /// A locked job.
    Job(Taken),
    /// Nothing yet; fetch again.
    Idle,
    /// Shutdown began; stop fetching.
    Stopped,
}

impl Fetcher {
    /// `name` is the blocking connection's name in `CLIENT LIST`.
    pub fn new(client: Client, store: Store, keys: &Keys, drain_delay: Duration, name: String) -> Self {
        let blocking = Blocking::new(client, store.connection(), drain_delay, name);
        Self { store, blocking, marker: keys.marker.clone(), drain_delay, idle: None }
    }

    /// Opens the blocking connection, which names this worker in `CLIENT LIST`.
    pub async fn announce(&mut self) {
        self.blocking.open().await;
    }

    /// Fetches once; while the queue is empty this first waits for work.
    pub async fn next(&mut self, shutdown: &CancellationToken, hard_stop: &CancellationToken) -> RedisResult<Fetch> {
        if let Some(idle) = self.idle {
            if self.wait_for_work(idle, shutdown, hard_stop).await? {
                return Ok(Fetch::Stopped);
            }
            self.idle = None;
        }
        Ok(match self.store.move_to_active().await? {
            Fetched::Job(taken) => Fetch::Job(taken),
            Fetched::Empty { delayed_until, rate_limited_ms } => {
                self.idle = Some(Idle { delayed_until, rate_limited_ms });
                Fetch::Idle
            }
        })
    }

    /// Waits until there may be work; true if shutdown began meanwhile.
    async fn wait_for_work(
        &mut self,
        idle: Idle,
        shutdown: &CancellationToken,
        hard_stop: &CancellationToken,
    ) -> RedisResult<bool> {
        if idle.rate_limited_ms > 0 {
            // The queue's rate limit: no job may start before it ends.
            return Ok(tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = tokio::time::sleep(Duration::from_millis(idle.rate_limited_ms)) => false,
            });
        }
        let until_delayed = idle.delayed_until.map(|due| Duration::from_millis(due.saturating_sub(now_ms())));
        let block = until_delayed.map_or(self.drain_delay, |d| d.min(self.drain_delay)).max(MIN_BLOCK);
        let mut pop = redis::cmd("BZPOPMIN");
        pop.arg(&self.marker).arg(block.as_secs_f64());
        // The marker itself says nothing the next fetch will not find out.
        let popped = self.blocking.run::<redis::Value>(&pop, shutdown, hard_stop).await?;
        Ok(matches!(popped, Blocked::Stopped(_)))
    }
}
