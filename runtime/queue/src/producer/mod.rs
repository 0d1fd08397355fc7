//! The producer side, for `lingo gateway`: add a job exactly as the
//! configured library's producer would (same keys, same options defaults, so
//! a Node worker could take it too), and wait for its outcome.
//!
//! Many concurrent waiters share one listener — bull's pub/sub channels or
//! bullmq's events stream — not one Redis connection each. A waiter registers
//! before it checks the finished sets, so an outcome published between the
//! add and the registration is never missed.

pub(crate) mod waiters;

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::{Protocol, QueueError, QueueSettings};
use waiters::Waiters;

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished {
    /// Completed with this return value.
    Completed(serde_json::Value),
    /// Failed for good with this reason.
    Failed(String),
}

/// Adds jobs to one queue and waits for them.
pub struct Producer {
    side: Side,
    con: ConnectionManager,
    base: String,
    waiters: Waiters,
}

enum Side {
    Bull(crate::bull::BullProducer),
    BullMq(Box<crate::bullmq::BullMqProducer>),
}

impl Producer {
    /// Connects to the queue's Redis and starts the shared listener.
    pub async fn connect(settings: &QueueSettings, protocol: Protocol) -> Result<Self, QueueError> {
        let client = redis::Client::open(settings.redis_url.as_str())
            .map_err(|source| QueueError::InvalidUrl { url: crate::error::redact_url(&settings.redis_url), source })?;
        let connect = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        let con = ConnectionManager::new_with_config(client.clone(), connect)
            .await
            .map_err(|source| QueueError::Connect { url: crate::error::redact_url(&settings.redis_url), source })?;
        let waiters = Waiters::default();
        let side = match protocol {
            Protocol::Bull => {
                Side::Bull(crate::bull::BullProducer::start(client, con.clone(), settings, waiters.clone()))
            }
            Protocol::BullMq => {
                Side::BullMq(Box::new(crate::bullmq::BullMqProducer::start(settings, waiters.clone()).await?))
            }
        };
        Ok(Self { side, con, base: settings.key_prefix(), waiters })
    }

    /// Adds a job with `data`; returns its id.
    pub async fn add(&self, data: &serde_json::Value) -> Result<String, QueueError> {
        match &self.side {
            Side::Bull(bull) => bull.add(data).await,
            Side::BullMq(bullmq) => bullmq.add(data).await,
        }
    }

    /// Waits up to `timeout` for job `id` to finish; `None` if it did not.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Option<Finished>, QueueError> {
        let outcome = self.waiters.register(id);
        if let Some(finished) = self.finished(id).await? {
            self.waiters.forget(id);
            return Ok(Some(finished));
        }
        match tokio::time::timeout(timeout, outcome).await {
            Ok(Ok(finished)) => Ok(Some(finished)),
            _ => {
                self.waiters.forget(id);
                Ok(None)
            }
        }
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> Result<(), QueueError> {
        let _: String = redis::cmd("PING").query_async(&mut self.con.clone()).await?;
        Ok(())
    }

    /// The outcome recorded in the job hash, if the job already finished.
    async fn finished(&self, id: &str) -> Result<Option<Finished>, QueueError> {
        finished(&mut self.con.clone(), &self.base, id).await.map_err(QueueError::from)
    }
}

/// Reads a finished job's outcome from the completed/failed sets and its
/// hash (the same layout in both libraries).
pub(crate) async fn finished(
    con: &mut ConnectionManager,
    base: &str,
    id: &str,
) -> redis::RedisResult<Option<Finished>> {
    let job = format!("{base}{id}");
    let completed: Option<f64> = con.zscore(format!("{base}completed"), id).await?;
    if completed.is_some() {
        let value: Option<String> = con.hget(&job, "returnvalue").await?;
        let value = value.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or(serde_json::Value::Null);
        return Ok(Some(Finished::Completed(value)));
    }
    let failed: Option<f64> = con.zscore(format!("{base}failed"), id).await?;
    if failed.is_some() {
        let reason: Option<String> = con.hget(&job, "failedReason").await?;
        return Ok(Some(Finished::Failed(reason.unwrap_or_default())));
    }
    Ok(None)
}
