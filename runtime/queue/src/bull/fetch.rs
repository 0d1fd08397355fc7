//! Taking jobs from wait (spec A4).
//!
//! While the last fetch found a job, the next one pops inside the
//! moveToActive script (RPOPLPUSH). Once wait looked empty ("drained"), the
//! fetcher blocks with `BRPOPLPUSH wait active <drain delay>` on its own
//! connection, then locks the popped id with moveToActive. Between the two an
//! id sits in active unlocked, exactly as with bull's Node worker; the stalled
//! check covers a crash there.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisResult};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::health::{Health, is_transient};
use super::keys::Keys;
use super::record::Record;
use super::store::{Fetched, Store};

/// The fetching half of a worker; owned by the fetch loop.
pub(crate) struct Fetcher {
    client: Client,
    store: Store,
    wait: String,
    active: String,
    /// BRPOPLPUSH timeout, whole seconds (at least 1).
    drain_secs: u64,
    /// The dedicated blocking connection and its `CLIENT ID`, made on demand
    /// and dropped after any error.
    blocking: Option<(MultiplexedConnection, Option<i64>)>,
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
    pub fn new(client: Client, store: Store, keys: &Keys, drain_delay: Duration) -> Self {
        Self {
            client,
            store,
            wait: keys.wait.clone(),
            active: keys.active.clone(),
            drain_secs: drain_delay.as_secs().max(1),
            blocking: None,
            drained: false,
        }
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
        let Some(id) = self.pop_reconnecting(shutdown, hard_stop).await? else {
            return Ok(if shutdown.is_cancelled() { Fetch::Stopped } else { Fetch::Idle });
        };
        self.drained = false;
        // Safe to repeat: locking an id we already locked just renews it.
        let locked = health.persist(hard_stop, || self.store.move_to_active(Some(&id))).await;
        Ok(locked.map_or(Fetch::Idle, found))
    }

    /// Blocks for the next id. On shutdown it unblocks the pop, and gives
    /// back an id that arrived meanwhile, so no job waits for stalled recovery.
    async fn blocking_pop(
        &mut self,
        shutdown: &CancellationToken,
        hard_stop: &CancellationToken,
    ) -> RedisResult<Option<String>> {
        if shutdown.is_cancelled() {
            return Ok(None);
        }
        let (mut con, client_id) = self.blocking_connection().await?;
        let mut command = redis::cmd("BRPOPLPUSH");
        command.arg(&self.wait).arg(&self.active).arg(self.drain_secs);
        let pop = command.query_async::<Option<String>>(&mut con);
        tokio::pin!(pop);
        let popped = tokio::select! {
            // Polling the pop first sends it before any unblock is sent.
            biased;
            popped = &mut pop => popped,
            _ = shutdown.cancelled() => {
                if let Some(client_id) = client_id {
                    // Best effort: without it the pop just ends at its timeout.
                    let _ = self.store.unblock(client_id).await;
                }
                let late = tokio::select! {
                    late = pop => late,
                    _ = hard_stop.cancelled() => return Ok(None),
                };
                if let Ok(Some(id)) = late {
                    self.give_back(&id).await;
                }
                return Ok(None);
            }
        };
        if popped.is_err() {
            self.blocking = None;
        }
        popped
    }

    /// Like `blocking_pop`, but a kept connection that turns out dead (Redis
    /// dropped it while idle) is replaced at once instead of reported.
    async fn pop_reconnecting(
        &mut self,
        shutdown: &CancellationToken,
        hard_stop: &CancellationToken,
    ) -> RedisResult<Option<String>> {
        let reused = self.blocking.is_some();
        match self.blocking_pop(shutdown, hard_stop).await {
            Err(err) if reused && is_transient(&err) => {
                debug!(error = %err, "blocking connection dropped; reconnecting");
                self.blocking_pop(shutdown, hard_stop).await
            }
            popped => popped,
        }
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

    async fn blocking_connection(&mut self) -> RedisResult<(MultiplexedConnection, Option<i64>)> {
        if let Some(existing) = &self.blocking {
            return Ok(existing.clone());
        }
        // The client-side timeout must outlast the server-side block.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(self.drain_secs + 2)));
        let mut con = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        let client_id = redis::cmd("CLIENT").arg("ID").query_async::<i64>(&mut con).await.ok();
        self.blocking = Some((con.clone(), client_id));
        Ok((con, client_id))
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
