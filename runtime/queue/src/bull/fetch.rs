//! Taking jobs from wait (spec A4).
//!
//! While the last fetch found a job, the next one pops inside the
//! moveToActive script (RPOPLPUSH). Once wait looked empty ("drained"), the
//! fetcher blocks with `BRPOPLPUSH wait active <drain delay>` on its own
//! connection, then locks the popped id with moveToActive. Between the two an
//! id sits in active unlocked, exactly as with bull's Node worker; the stalled
//! check covers a crash there.

use std::time::Duration;

use redis::{Client, Cmd, RedisResult};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::keys::Keys;
use super::store::{Fetched, Store};
use crate::shared::blocking::{Blocked, Blocking};
use crate::shared::health::Health;
use crate::shared::record::Record;

/// The fetching half of a worker; owned by the fetch loop.
pub(crate) struct Fetcher {
    store: Store,
    blocking: Blocking,
    /// `BRPOPLPUSH wait active <drain secs>`.
    pop: Cmd,
    /// Whether the last fetch found wait empty.
    drained: bool,
}

/// What one fetch produced.
#[derive(Debug)]
// One per job, moved once into its task: boxing the record would add an
// allocation per job to spare a few hundred bytes on the stack.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Fetch {
    /// A locked job.
    Job(Record),
    /// Nothing yet; fetch again.
    Idle,
    /// Shutdown began while blocked; stop fetching.
    Stopped,
}

impl Fetcher {
    /// `name` is the blocking connection's name in `CLIENT LIST`.
    pub fn new(client: Client, store: Store, keys: &Keys, drain_delay: Duration, name: String) -> Self {
        // BRPOPLPUSH takes whole seconds, at least 1.
        let drain_secs = drain_delay.as_secs().max(1);
        let mut pop = redis::cmd("BRPOPLPUSH");
        pop.arg(&keys.wait).arg(&keys.active).arg(drain_secs);
        let blocking = Blocking::new(client, store.connection(), Duration::from_secs(drain_secs), name);
        Self { store, blocking, pop, drained: false }
    }

    /// Opens the blocking connection, which names this worker in `CLIENT LIST`.
    pub async fn announce(&mut self) {
        self.blocking.open().await;
    }

    /// Fetches once. `hard_stop` bounds how long a blocked fetch may linger
    /// after `shutdown`; `health` retries locking a popped id through outages.
    pub async fn next(
        &mut self,
        health: &Health,
        shutdown: &CancellationToken,
        hard_stop: &CancellationToken,
    ) -> RedisResult<Fetch> {
        if !self.drained {
            let fetched = self.store.move_to_active(None).await?;
            self.drained = matches!(fetched, Fetched::Empty);
            return Ok(found(fetched));
        }
        let id = match self.blocking.run::<Option<String>>(&self.pop, shutdown, hard_stop).await? {
            Blocked::Reply(Some(id)) => id,
            Blocked::Reply(None) => return Ok(Fetch::Idle),
            Blocked::Stopped(late) => {
                // An id popped as shutdown began goes back, so no job waits
                // for stalled recovery.
                if let Some(id) = late.flatten() {
                    self.give_back(&id).await;
                }
                return Ok(Fetch::Stopped);
            }
        };
        self.drained = false;
        // Safe to repeat: locking an id we already locked just renews it.
        let locked = health.persist(hard_stop, || self.store.move_to_active(Some(&id))).await;
        Ok(locked.map_or(Fetch::Idle, found))
    }

    async fn give_back(&self, id: &str) {
        match self.store.requeue(id).await {
            Ok(true) => debug!(job.id = %id, "job popped during shutdown given back to wait"),
            Ok(false) => {}
            Err(err) => {
                info!(job.id = %id, error = %err, "could not give back job popped during shutdown; stalled recovery will")
            }
        }
    }
}

fn found(fetched: Fetched) -> Fetch {
    match fetched {
        Fetched::Job(record) => Fetch::Job(record),
        Fetched::Empty => Fetch::Idle,
        Fetched::Missing(id) => {
            debug!(job.id = %id, "popped job has no hash (removed meanwhile); dropped");
            Fetch::Idle
        }
    }
}
